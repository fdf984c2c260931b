/**
 * Embedded chDB in a worker thread of its own, at a lower CPU priority than the event loop.
 *
 * Why: `podwire all` serves /metrics, the API and the packet path on one event loop, and on
 * a 2-core machine the engine's insert and merge threads (two rollup views per flow insert)
 * competed with it: bench:ingest measured event-loop lag p99 ~110 ms with chDB in the main
 * thread. Here the worker opens the session and runs every statement synchronously on its
 * own thread, which it first renices (nice 10 by default): every thread the engine starts
 * from it inherits that priority, so the loop wins the CPU whenever it has work, and
 * ingest takes what is left. Batches travel to the worker as transferred bytes (no copy),
 * and the worker writes them to the file the engine reads (chDB's client path would turn a
 * binary body into a string).
 *
 * The main side is a `Connection` for @clickhouse/client (queries and commands as a server
 * connection would run them) plus `insertFile`, the batch insert. Statements run one at a
 * time, in order, as they did on the single chDB session before.
 */
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type {
  ConnBaseQueryParams,
  ConnCommandResult,
  ConnExecParams,
  ConnExecResult,
  Connection,
  ConnInsertParams,
  ConnInsertResult,
  ConnPingResult,
  ConnQueryResult,
} from '@clickhouse/client-common';
import { parseError } from '@clickhouse/client-common';

/** What the worker is asked to do (see engineWorker). */
type Request =
  | { op: 'sql'; sql: string; params?: Record<string, unknown>; format: string }
  | { op: 'insert'; insert: InsertData }
  | { op: 'close' };

/**
 * Rows to insert: `INSERT INTO target (columns) [SETTINGS settings] SELECT … FROM file()`.
 * chDB reads standard input for any `INSERT … FORMAT` (inline data or not) when stdin has
 * data — `podwire flows --pcap -` gives it a capture there — so data never follows FORMAT:
 * the worker writes it to a file the engine reads, typed by the table's own columns.
 */
export interface InsertData {
  /** database.table */
  target: string;
  columns: readonly string[];
  /** `name = value, …` (ours, never user input) */
  settings?: string;
  format: string;
  body: Uint8Array;
}

type Reply = { id: number; ok: true; text: string } | { id: number; ok: false; message: string };

/**
 * The worker's code. It is run from its source text (`eval`), so it works the same from
 * the compiled service and from the test sources: it must use nothing but its argument.
 */
function engineWorker(req: NodeJS.Require): void {
  const { parentPort, workerData } = req('node:worker_threads');
  const fs = req('node:fs');
  const os = req('node:os');
  const data = workerData as { path: string; tmp: string; nice: number; chdb: string };
  // /proc/thread-self is this thread: renice it before the engine starts any thread
  try {
    os.setPriority(Number(String(fs.readlinkSync('/proc/thread-self')).split('/').pop()), data.nice);
  } catch {
    // not Linux, or not allowed: the engine runs at the loop's priority
  }
  const reply = (m: unknown) => parentPort.postMessage(m);
  let session: {
    query(q: string, f: string): string;
    queryBind(q: string, a: object, f: string): string;
    close(): void;
  };
  try {
    session = new (req(data.chdb).Session)(data.path);
    session.query('SELECT 1', 'CSV');
  } catch (err) {
    reply({ id: 0, ok: false, message: (err as Error).message });
    return;
  }
  reply({ id: 0, ok: true, text: '' });
  let files = 0;
  /** `a UInt8, b DateTime(\'UTC\')`: the table's types of these columns, for file() */
  const structure = (target: string, columns: readonly string[]): string => {
    const [database, table] = target.split('.');
    const rows = session
      .queryBind(
        'SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String}',
        { d: database, t: table },
        'JSONEachRow',
      )
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { name: string; type: string });
    const types = new Map(rows.map((c) => [c.name, c.type]));
    return columns
      .map((c) => {
        const type = types.get(c);
        if (type === undefined) throw new Error(`${target} has no column ${c}`);
        return `${c} ${type.replaceAll("'", "\\'")}`;
      })
      .join(', ');
  };
  const insertFromFile = (d: InsertData): void => {
    const file = `${data.tmp}/insert-${process.pid}-${++files}.${d.format}`;
    fs.writeFileSync(file, d.body);
    try {
      const cols = d.columns.join(', ');
      // Arrow carries its own schema; a text format is read with the table's types
      const typed = d.format === 'ArrowStream' ? '' : `, '${structure(d.target, d.columns)}'`;
      session.query(
        `INSERT INTO ${d.target} (${cols})${d.settings ? ` SETTINGS ${d.settings}` : ''} ` +
          `SELECT ${cols} FROM file('${file}', '${d.format}'${typed})`,
        'CSV',
      );
    } finally {
      fs.rmSync(file, { force: true });
    }
  };
  parentPort.on('message', (m: { id: number; req: Request }) => {
    const r = m.req;
    try {
      if (r.op === 'close') {
        session.close();
        reply({ id: m.id, ok: true, text: '' });
        parentPort.close();
        return;
      }
      if (r.op === 'insert') {
        insertFromFile(r.insert);
        reply({ id: m.id, ok: true, text: '' });
        return;
      }
      const text = r.params ? session.queryBind(r.sql, r.params, r.format) : session.query(r.sql, r.format);
      reply({ id: m.id, ok: true, text });
    } catch (err) {
      reply({ id: m.id, ok: false, message: (err as Error).message });
    }
  });
}

/**
 * chDB's error as the client's ClickHouseError (`code`, `type`), keeping the engine's own
 * text ("Code: 676. DB::Exception: …"), which says more in a log than the bare message.
 */
function engineError(message: string): Error {
  const text = message.replace(/^Query failed: /, '');
  const err = parseError(text) as Error;
  err.message = text;
  return err;
}

/** Settings of the HTTP layer that the engine does not know (the client sends some). */
const HTTP_ONLY = new Set([
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_response_buffer_size',
  'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms',
  'enable_http_compression',
  'http_zlib_compression_level',
]);

/** The statement with its settings as SET statements before it (a session keeps them). */
function withSettings(
  sql: string,
  settings: Record<string, unknown> | undefined,
): { sql: string; format: string } {
  let format = 'CSV';
  const sets: string[] = [];
  for (const [k, v] of Object.entries(settings ?? {})) {
    if (v === undefined || HTTP_ONLY.has(k)) continue;
    if (k === 'default_format') {
      format = String(v);
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid setting name ${JSON.stringify(k)}`);
    const value =
      typeof v === 'number'
        ? String(v)
        : typeof v === 'boolean'
          ? v
            ? '1'
            : '0'
          : `'${String(v).replaceAll("'", "''")}'`;
    sets.push(`SET ${k} = ${value}`);
  }
  return { sql: sets.length === 0 ? sql : `${sets.join('; ')}; ${sql}`, format };
}

async function bodyText(values: unknown): Promise<string> {
  if (typeof values === 'string') return values;
  let s = '';
  for await (const chunk of values as AsyncIterable<string | Uint8Array>)
    s += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  return s;
}

function readable(text: string): Readable {
  const r = Readable.from([Buffer.from(text)], { objectMode: false });
  // a result set closed before it is read destroys its stream with an error: absorb it
  r.on('error', () => {});
  return r;
}

const base = (query_id: string | undefined) => ({
  query_id: query_id ?? crypto.randomUUID(),
  response_headers: {},
  http_status_code: 200,
});

const NO_SUMMARY = {
  read_rows: '0',
  read_bytes: '0',
  written_rows: '0',
  written_bytes: '0',
  result_rows: '0',
  result_bytes: '0',
  total_rows_to_read: '0',
  elapsed_ns: '0',
};

export interface EngineOptions {
  /** the data directory (one process owns it) */
  path: string;
  /** where insert files are written (the engine reads them) */
  tmpDir: string;
  /** the engine thread's nice value, 0..19 (default 10: below the event loop) */
  nice?: number;
}

export class EmbeddedEngine implements Connection<Readable> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.text);
      else p.reject(engineError(m.message));
    });
    worker.on('exit', () => this.failAll(new Error('the embedded ClickHouse worker has stopped')));
    worker.on('error', (err) => this.failAll(err));
  }

  /** Starts the worker and opens the session; rejects with chDB's message if it cannot. */
  static async open(o: EngineOptions): Promise<EmbeddedEngine> {
    // The addon must be loaded by the main thread too: loaded only by a worker, it is
    // unloaded when the worker ends and the process then crashes at exit (seen here).
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const chdb = require.resolve('chdb');
    require(chdb);
    const worker = new Worker(`(${engineWorker.toString()})(require)`, {
      eval: true,
      workerData: { path: o.path, tmp: o.tmpDir, nice: o.nice ?? 10, chdb },
    });
    const engine = new EmbeddedEngine(worker);
    try {
      await engine.call(0, undefined);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return engine;
  }

  private call(id: number, req: Request | undefined, transfer: ArrayBuffer[] = []): Promise<string> {
    if (this.closed && id !== 0) return Promise.reject(new Error('the embedded ClickHouse engine is closed'));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (req) this.worker.postMessage({ id, req }, transfer);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Runs one statement (settings as SET before it); resolves with its text output. */
  run(
    sql: string,
    o: { settings?: Record<string, unknown>; params?: Record<string, unknown> } = {},
  ): Promise<string> {
    const s = withSettings(sql, o.settings);
    const params = o.params && Object.keys(o.params).length > 0 ? o.params : undefined;
    return this.call(this.nextId++, { op: 'sql', sql: s.sql, params, format: s.format });
  }

  /**
   * Inserts rows (see InsertData). Bytes in a SharedArrayBuffer (the flow sink's pooled
   * bodies) reach the worker as they are; others are copied by postMessage. Nothing is
   * transferred: the caller keeps its batch (the writer spools it if the insert fails).
   */
  insertData(insert: InsertData): Promise<void> {
    return this.call(this.nextId++, { op: 'insert', insert }).then(() => {});
  }

  async query(p: ConnBaseQueryParams): Promise<ConnQueryResult<Readable>> {
    const text = await this.run(p.query, { settings: p.clickhouse_settings, params: p.query_params });
    return { stream: readable(text), ...base(p.query_id) };
  }

  async exec(p: ConnExecParams<Readable>): Promise<ConnExecResult<Readable>> {
    if (p.values !== undefined) {
      await this.insertStatement(p.query, Buffer.from(await bodyText(p.values)));
      return { stream: readable(''), ...base(p.query_id), summary: NO_SUMMARY };
    }
    const text = await this.run(p.query, { settings: p.clickhouse_settings, params: p.query_params });
    return { stream: readable(text), ...base(p.query_id), summary: NO_SUMMARY };
  }

  async command(p: ConnBaseQueryParams): Promise<ConnCommandResult> {
    await this.run(p.query, { settings: p.clickhouse_settings, params: p.query_params });
    return { ...base(p.query_id), summary: NO_SUMMARY };
  }

  async insert(p: ConnInsertParams<Readable>): Promise<ConnInsertResult> {
    await this.insertStatement(p.query, Buffer.from(await bodyText(p.values)));
    return { ...base(p.query_id), summary: NO_SUMMARY };
  }

  /**
   * The client's `INSERT INTO t [(cols)] FORMAT F` with its rows, in any format, binary
   * included (see InsertData); `settings` as InsertData takes them.
   */
  async insertStatement(query: string, body: Uint8Array, settings?: string): Promise<void> {
    if (body.every((b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d)) return;
    const m = /^\s*INSERT INTO\s+(\S+?)\s*(?:\(([^)]*)\))?\s*FORMAT\s+(\w+)\s*$/is.exec(query);
    if (!m) throw new Error(`embedded engine: cannot take this insert: ${query.slice(0, 120)}`);
    const listed = m[2]?.split(',').map((c) => c.trim().replaceAll('`', ''));
    // without a column list, the columns the rows name (JSONEachRow: the first row's keys)
    const firstRow = () => {
      const nl = body.indexOf(0x0a);
      return Buffer.from(body.buffer, body.byteOffset, nl < 0 ? body.length : nl).toString('utf8');
    };
    const columns = listed ?? (m[3] === 'JSONEachRow' ? Object.keys(JSON.parse(firstRow())) : undefined);
    if (!columns) throw new Error(`embedded engine: an insert in ${m[3]} needs a column list`);
    await this.insertData({ target: m[1].replaceAll('`', ''), columns, format: m[3], body, settings });
  }

  async ping(): Promise<ConnPingResult> {
    try {
      await this.run('SELECT 1');
      return { success: true };
    } catch (error) {
      return { success: false, error: error as Error };
    }
  }

  /** Closes the session (after the statements queued before) and ends the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    const done = this.call(this.nextId++, { op: 'close' });
    this.closed = true;
    await done.catch(() => {});
    await new Promise<void>((r) => {
      this.worker.once('exit', () => r());
      setTimeout(() => void this.worker.terminate().then(() => r()), 5000).unref();
    });
  }
}
