/**
 * The batching writer: one `BatchWriter` per table. Rows go into the open batch as they
 * are written: an Arrow batch (arrow-batch.ts: column by column into typed arrays; chDB
 * loads a 29-column flow batch ~5x faster than the same rows as TSV), or TabSeparated
 * lines (the table's `rowEncoder`) with `format: 'tsv'` or where the store takes no Arrow
 * (`store.insertFormats`: a ClickHouse server before ~20.x, such as 18.16). A batch closes
 * at `maxRows` rows (50 000), `maxAgeMs` after its first row (1 s) or at about
 * `maxBatchBytes` (TSV: exact; Arrow: estimated, rows × the bytes a row took in the last
 * batch of 1000 rows or more, or the schema's fixed widths before there is one). Closed
 * batches wait in a bounded queue for the ONE sender, which stores them in order
 * (`store.insertBatch`).
 *
 * Backpressure contract: `write(row)` / `writeMany(rows)` always accept the rows, and
 * return `true` when the producer may go on, or a Promise (the same one for every caller
 * while the queue is full) that the producer should await before writing more:
 *
 *     const r = writer.write(row);
 *     if (r !== true) await r;
 *
 * No promise is made on the fast path. Memory stays bounded (about queueBytes + two
 * batches) as long as producers honour it; and whatever they do, the queue holds at most
 * `maxQueueBatches`/`maxQueueBytes` (twice the above by default): a batch closed beyond
 * that goes to the disk spool instead (counted in `podwire_ingest_rows_overflowed_total`;
 * a producer that cannot wait, like the packet path, is bounded by the disk), and while
 * such overflow is still being written (at most `queueBytes` of it) further batches are
 * dropped (reason "overload") rather than held. `writeEncoded(batch)` takes a batch a hot
 * producer built itself (an Arrow batch from columnar data, see arrow-batch.ts) as one
 * batch of its own, after the open batch (closed first, so order is kept), under the same
 * contract. The writer keeps what it was given until the batch is stored: a row's
 * Uint8Array values and an encoded batch's body must not be changed afterwards.
 *
 * Failures: when an insert fails (the store down, an error, no answer within
 * `insertTimeoutMs`) the batch goes to the disk spool (spool.ts) and the writer spools:
 * every later batch is appended to the spool too (so order is kept and producers are not
 * held up by an outage), while the sender probes the store (`ping`, then the oldest
 * spooled batch) with backoff from `retryMinMs` (0.5 s) to `retryMaxMs` (10 s). Once the
 * store answers, the spool replays oldest first, alternating with spooling the batches
 * that keep arriving, and when it is empty direct sends resume. Every batch carries a dedup
 * token `${writerId}:${runId}:${table}:${seq}` (writerId kept in the spool directory,
 * runId random per start): a batch retried after a lost acknowledgement, or replayed again
 * after a crash, is stored once (insert_deduplication_token; a ClickHouse server older than
 * 22.2 ignores tokens, see store.ts).
 *
 * Bad rows never cost good ones: a batch the store refuses as bad data (a parse error, a
 * value the column cannot hold: retrying cannot help) is split in halves and each half
 * inserted again, down to the rows the store refuses alone (at most `maxSplitInserts`
 * inserts per batch; past them the parts still refused are set aside whole). The refused
 * rows go to the quarantine (quarantine.ts: `<quarantineDir>/<table>/`, TabSeparated rows
 * with the store's reason, bounded in size) and are counted as dropped (reason
 * "rejected"; by the store's error name in `podwire_ingest_rows_rejected_total`); halves
 * carry the batch's dedup token with `.1`/`.2` appended. Should the store fail otherwise
 * half-way (down, a timeout), the halves not yet stored are spooled. The same holds for a
 * spooled batch refused when it is replayed.
 *
 * Nothing is dropped silently: rows are dropped only when the spool itself fails (disk
 * full or broken: reason "spool_error"; over its size limit: "spool_full"), the store
 * refuses them alone ("rejected": kept in the quarantine while it has room), a spool
 * record is found corrupt ("corrupt"), or a row cannot be encoded ("invalid", and `write`
 * throws: a missing value or one of the wrong type; the row leaves nothing in the open
 * batch); each is counted and logged. Spooled batches
 * keep their format; an Arrow batch bound for a store that takes no Arrow (replayed into
 * an old server, or given to `writeEncoded`) is converted to TSV when it is sent.
 *
 * Metrics (all labelled by table), in the Registry passed in:
 *   podwire_ingest_rows_accepted_total   rows taken by write()/writeMany()/writeEncoded()
 *   podwire_ingest_rows_written_total    rows stored in ClickHouse (directly or by replay)
 *   podwire_ingest_rows_spooled_total    rows appended to the spool
 *   podwire_ingest_rows_overflowed_total rows of them spooled because the queue was full
 *   podwire_ingest_rows_replayed_total   rows stored from the spool (part of written)
 *   podwire_ingest_rows_dropped_total{reason}
 *   podwire_ingest_rows_rejected_total{error}   rows the store refused, by its error name
 *   podwire_ingest_quarantine_bytes      bytes of the table's quarantine folder
 *   podwire_ingest_batch_duration_seconds{path="direct"|"replay"}  insert latency
 *   podwire_ingest_spool_bytes           bytes of spool files waiting on disk
 *   podwire_ingest_spool_rows            rows in them (what waits; rows_spooled counts what ever went there)
 *   podwire_ingest_spool_quarantined_files_total, podwire_ingest_spool_torn_tails_total
 *   podwire_ingest_insert_errors_total, podwire_ingest_spooling (1 while the spool holds batches)
 * so that accepted = (written − replayed) + spooled + dropped + what is still in memory,
 * less the rows dropped after they were spooled (a corrupt record, rows refused on replay)
 * — those count as spooled and as dropped.
 */

import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tableFromIPC } from 'apache-arrow';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ArrowBatchBuilder, type EncodedBatch } from './arrow-batch.js';
import { type ArrowKind, type Column, TimeRangeError } from './columns.js';
import { type RowEncoder, rowEncoder } from './encode.js';
import { Quarantine, type RefusedRows } from './quarantine.js';
import type { RowOf, TableDef } from './schema.js';
import { splitBatch } from './split-batch.js';
import {
  type IngestLog,
  Spool,
  type SpoolBatch,
  SpoolError,
  SpoolFullError,
  type SpoolOptions,
  type SpoolRecord,
  stderrLog,
} from './spool.js';
import type { Store } from './store.js';

export const WRITER_DEFAULTS = {
  format: 'arrow' as 'arrow' | 'tsv',
  spoolDir: 'data/spool',
  maxRows: 50_000,
  maxAgeMs: 1000,
  maxBatchBytes: 32 * 1024 * 1024,
  queueBatches: 8,
  queueBytes: 64 * 1024 * 1024,
  /** 0: twice queueBatches / queueBytes */
  maxQueueBatches: 0,
  maxQueueBytes: 0,
  insertTimeoutMs: 10_000,
  retryMinMs: 500,
  retryMaxMs: 10_000,
  closeTimeoutMs: 5000,
  maxSplitInserts: 1000,
};

export interface WriterOptions<T extends TableDef> {
  store: Store;
  table: T;
  /**
   * 'arrow' (default): Arrow batches where the store takes them (`store.insertFormats`),
   * else TabSeparated (logged); 'tsv': always TabSeparated
   */
  format?: 'arrow' | 'tsv';
  /** the spool directory (default `data/spool`, i.e. `<dataDir>/spool`); this table's files go in `<spoolDir>/<table>/` */
  spoolDir?: string;
  /** a batch closes at this many rows (50 000) */
  maxRows?: number;
  /** … or this long after its first row (1000 ms) */
  maxAgeMs?: number;
  /** … or at about this many bytes (32 MiB; estimated for Arrow batches, see above) */
  maxBatchBytes?: number;
  /** closed batches waiting for the sender before producers are asked to wait (8) */
  queueBatches?: number;
  /** … or bytes of them (64 MiB) */
  queueBytes?: number;
  /** the most batches (and bytes) the queue holds whatever producers do; beyond, batches are spooled (2 × queueBatches, 2 × queueBytes) */
  maxQueueBatches?: number;
  maxQueueBytes?: number;
  /** an insert with no answer by then counts as failed: the batch is spooled (10 s) */
  insertTimeoutMs?: number;
  /** first retry after a failure (500 ms), doubling up to retryMaxMs (10 s) */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** how long close() keeps sending before it spools what is left (5 s) */
  closeTimeoutMs?: number;
  spool?: Pick<SpoolOptions, 'fsync' | 'maxFileBytes' | 'maxBytes'>;
  /** where refused rows are kept (default `quarantine` next to the spool directory); the table's in `<dir>/<table>/` */
  quarantineDir?: string;
  quarantine?: { maxBytes?: number };
  /** a refused batch is split with at most this many inserts (1000), then what is still refused is set aside whole */
  maxSplitInserts?: number;
  /** where the self-metrics go (default: a new Registry, see `writer.registry`) */
  registry?: Registry;
  log?: IngestLog;
}

export interface WriterStats {
  accepted: number;
  written: number;
  spooled: number;
  /** of the spooled rows, those spooled because the queue was full (producers that did not wait) */
  overflowed: number;
  replayed: number;
  dropped: number;
  /** dropped rows by reason */
  droppedBy: Record<string, number>;
  /** rows the store refused as bad data (in `dropped`), by its error name */
  rejected: number;
  rejectedBy: Record<string, number>;
  /** of the rejected rows, those kept in the quarantine */
  quarantined: number;
  /** rows in the open batch */
  openRows: number;
  /** closed batches not yet stored or spooled (queued, and the one in flight) */
  queuedBatches: number;
  /** batches beyond the queue's bound on their way to the spool */
  overflowBatches: number;
  queuedBytes: number;
  spoolBytes: number;
  /** rows in the spool waiting for replay (`spooled` counts every row that ever went there) */
  spoolRows: number;
  /** the spool holds batches: new batches are spooled behind them */
  spooling: boolean;
  /** the last insert or probe succeeded */
  storeUp: boolean;
}

export class WriterClosedError extends Error {
  constructor(table: string) {
    super(`the ${table} writer is closed`);
    this.name = 'WriterClosedError';
  }
}

class InsertTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'InsertTimeoutError';
  }
}

/**
 * ClickHouse errors that say the data itself is bad (parse errors, type mismatches, an
 * unknown column): the same batch will fail every time, so it must not block the spool.
 * Anything else (unreachable, timeouts, too many parts, memory, an unknown table before
 * migrations ran…) is retried.
 */
const DATA_ERROR_CODES = new Set([
  6, 16, 25, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321, 376, 467, 675, 676,
]);

export function clickhouseCode(err: unknown): number | undefined {
  const e = err as { clickhouseCode?: unknown; code?: unknown; message?: unknown } | null;
  if (!e) return undefined;
  if (typeof e.clickhouseCode === 'number') return e.clickhouseCode;
  if (typeof e.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  if (typeof e.message === 'string') {
    // "Code: 676. DB::Exception: …" (current), "Code: 27, e.displayText() = …" (18.16)
    const m = /\bCode: (\d+)[.,]/.exec(e.message);
    if (m) return Number(m[1]);
  }
  return undefined;
}

export function isDataError(err: unknown): boolean {
  const code = clickhouseCode(err);
  return code !== undefined && DATA_ERROR_CODES.has(code);
}

/** ClickHouse's names of the data errors (its ErrorCodes), for logs and metric labels. */
const DATA_ERROR_NAMES: Record<number, string> = {
  6: 'CANNOT_PARSE_TEXT',
  16: 'NO_SUCH_COLUMN_IN_TABLE',
  25: 'CANNOT_PARSE_ESCAPE_SEQUENCE',
  26: 'CANNOT_PARSE_QUOTED_STRING',
  27: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  38: 'CANNOT_PARSE_DATE',
  41: 'CANNOT_PARSE_DATETIME',
  53: 'TYPE_MISMATCH',
  69: 'ARGUMENT_OUT_OF_BOUND',
  70: 'CANNOT_CONVERT_TYPE',
  72: 'CANNOT_PARSE_NUMBER',
  117: 'INCORRECT_DATA',
  131: 'TOO_LARGE_STRING_SIZE',
  321: 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  376: 'CANNOT_PARSE_UUID',
  467: 'CANNOT_PARSE_BOOL',
  675: 'CANNOT_PARSE_IPV4',
  676: 'CANNOT_PARSE_IPV6',
};

/** Why the store refused a batch, as a bounded name: its data error's name. */
function refusalName(err: Error): string {
  if (err instanceof UnconvertibleBatchError) return 'UNCONVERTIBLE';
  const code = clickhouseCode(err);
  return code === undefined ? 'UNKNOWN' : (DATA_ERROR_NAMES[code] ?? `CODE_${code}`);
}

/** An Arrow batch that cannot be made TabSeparated for a store that takes no Arrow. */
class UnconvertibleBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnconvertibleBatchError';
  }
}

export interface IngestMetrics {
  accepted: Counter<'table'>;
  written: Counter<'table'>;
  spooled: Counter<'table'>;
  overflowed: Counter<'table'>;
  replayed: Counter<'table'>;
  dropped: Counter<'table' | 'reason'>;
  rejected: Counter<'table' | 'error'>;
  quarantineBytes: Gauge<'table'>;
  batchDuration: Histogram<'table' | 'path'>;
  spoolBytes: Gauge<'table'>;
  spoolRows: Gauge<'table'>;
  quarantined: Counter<'table'>;
  tornTails: Counter<'table'>;
  insertErrors: Counter<'table'>;
  spooling: Gauge<'table'>;
}

interface MetricsEntry {
  metrics: IngestMetrics;
  writers: Set<BatchWriter<TableDef>>;
}

const metricsByRegistry = new WeakMap<Registry, MetricsEntry>();

/** The ingest metrics in a registry (made once per registry, shared by its writers). */
export function ingestMetrics(registry: Registry): IngestMetrics {
  return metricsEntry(registry).metrics;
}

function metricsEntry(registry: Registry): MetricsEntry {
  let e = metricsByRegistry.get(registry);
  if (e) return e;
  const writers = new Set<BatchWriter<TableDef>>();
  const registers = [registry];
  e = {
    writers,
    metrics: {
      accepted: new Counter({
        name: 'podwire_ingest_rows_accepted_total',
        help: 'Rows accepted by the ingest writers.',
        labelNames: ['table'],
        registers,
        // the hot path counts in a plain number; it is added here on scrape (and per batch)
        collect() {
          for (const w of writers) w.syncAccepted();
        },
      }),
      written: new Counter({
        name: 'podwire_ingest_rows_written_total',
        help: 'Rows stored in ClickHouse, directly or replayed from the spool.',
        labelNames: ['table'],
        registers,
      }),
      spooled: new Counter({
        name: 'podwire_ingest_rows_spooled_total',
        help: 'Rows appended to the disk spool while the store was down or failing.',
        labelNames: ['table'],
        registers,
      }),
      overflowed: new Counter({
        name: 'podwire_ingest_rows_overflowed_total',
        help: 'Rows spooled because the memory queue was full: a store slower than its input, producers that did not wait (part of rows_spooled).',
        labelNames: ['table'],
        registers,
      }),
      replayed: new Counter({
        name: 'podwire_ingest_rows_replayed_total',
        help: 'Rows stored in ClickHouse from the disk spool (included in rows_written).',
        labelNames: ['table'],
        registers,
      }),
      dropped: new Counter({
        name: 'podwire_ingest_rows_dropped_total',
        help: 'Rows lost: spool_error, spool_full, overload (the queue and its overflow to the spool both full), rejected (refused by the store as bad data, kept in the quarantine), corrupt (spool record), invalid (not encodable), time_out_of_range (a time its column cannot hold).',
        labelNames: ['table', 'reason'],
        registers,
      }),
      rejected: new Counter({
        name: 'podwire_ingest_rows_rejected_total',
        help: 'Rows the store refused as bad data (after splitting their batch), by its error name (CANNOT_PARSE_IPV6, …).',
        labelNames: ['table', 'error'],
        registers,
      }),
      quarantineBytes: new Gauge({
        name: 'podwire_ingest_quarantine_bytes',
        help: 'Bytes of files in the quarantine folder (refused rows and their reasons).',
        labelNames: ['table'],
        registers,
      }),
      batchDuration: new Histogram({
        name: 'podwire_ingest_batch_duration_seconds',
        help: 'Time to store one batch in ClickHouse (successful inserts).',
        labelNames: ['table', 'path'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
      spoolRows: new Gauge({
        name: 'podwire_ingest_spool_rows',
        help: 'Rows in the spool waiting for replay (what the next start replays if this one stops now).',
        labelNames: ['table'],
        registers,
      }),
      spoolBytes: new Gauge({
        name: 'podwire_ingest_spool_bytes',
        help: 'Bytes of spool files on disk waiting for replay.',
        labelNames: ['table'],
        registers,
      }),
      quarantined: new Counter({
        name: 'podwire_ingest_spool_quarantined_files_total',
        help: 'Spool files found corrupt and renamed *.corrupt.',
        labelNames: ['table'],
        registers,
      }),
      tornTails: new Counter({
        name: 'podwire_ingest_spool_torn_tails_total',
        help: 'Incomplete last records (an append cut short by a crash) discarded from spool files.',
        labelNames: ['table'],
        registers,
      }),
      insertErrors: new Counter({
        name: 'podwire_ingest_insert_errors_total',
        help: 'Failed inserts (each failed attempt).',
        labelNames: ['table'],
        registers,
      }),
      spooling: new Gauge({
        name: 'podwire_ingest_spooling',
        help: '1 while the table spools (its spool holds batches), else 0.',
        labelNames: ['table'],
        registers,
      }),
    },
  };
  metricsByRegistry.set(registry, e);
  return e;
}

interface Batch {
  seq: number;
  token: string;
  batch: EncodedBatch;
  closedAt: number;
}

/**
 * The open batch as TabSeparated lines, written line by line into a buffer (a string
 * built by += and converted at the end was measured 4x slower: flattening a 50k-line
 * rope). A row is encoded whole before any of it is written: a bad row leaves nothing.
 */
class TsvBatch<T extends TableDef> {
  rows = 0;
  bytes = 0;

  constructor(
    private readonly enc: RowEncoder<T>,
    private buf: Buffer,
  ) {}

  add(row: RowOf<T>): void {
    const line = this.enc.line(row);
    // a UTF-16 code unit is at most 3 UTF-8 bytes
    const need = this.bytes + line.length * 3;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.bytes);
      this.buf = next;
    }
    this.bytes += this.buf.write(line, this.bytes);
    this.rows++;
  }

  finish(): EncodedBatch {
    const size = this.bytes;
    // hand the buffer over; copy out only when much of it would sit empty in the queue
    const slack = this.buf.length - size;
    const body =
      slack > 1024 * 1024 && slack > size / 4
        ? Buffer.from(this.buf.subarray(0, size))
        : this.buf.subarray(0, size);
    return { format: 'TabSeparated', columns: this.enc.columns, rows: this.rows, body };
  }
}

/** Bytes an Arrow row takes, by column kind, before a batch has measured it (strings: their dictionary index). */
const ARROW_ROW_BYTES: Record<ArrowKind, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  i32: 4,
  f64: 8,
  dt64: 8,
  str: 4,
  bin: 4 + 256,
};

/**
 * An Arrow batch of `table` as TabSeparated, for a store that takes no Arrow (a spooled
 * Arrow batch replayed into an old server, or one given to writeEncoded). Slow (values
 * one by one through apache-arrow), and only needed on that path. Throws when the batch
 * cannot be read or has a column the table does not.
 */
export function arrowToTsv(table: TableDef, batch: EncodedBatch): EncodedBatch {
  if (batch.format === 'TabSeparated') return batch;
  const t = tableFromIPC(batch.body);
  const cols = batch.columns.map((name) => {
    const def = table.columns[name] as Column<unknown> | undefined;
    const v = t.getChild(name);
    if (!def) throw new Error(`${table.name}: the batch has a column ${name} the table does not`);
    if (!v) throw new Error(`${table.name}: column ${name} missing from the Arrow batch`);
    // apache-arrow reads timestamps as milliseconds (a float); the table wants µs
    const get: (i: number) => unknown =
      def.arrow === 'dt64' ? (i) => Math.round((v.get(i) as number) * 1000) : (i) => v.get(i);
    return { tsv: def.tsv as (v: unknown) => string, get };
  });
  const lines: string[] = [];
  for (let i = 0; i < t.numRows; i++) {
    let s = '';
    for (let c = 0; c < cols.length; c++) s += (c === 0 ? '' : '\t') + cols[c].tsv(cols[c].get(i));
    lines.push(`${s}\n`);
  }
  return {
    format: 'TabSeparated',
    columns: batch.columns,
    rows: t.numRows,
    body: Buffer.from(lines.join('')),
  };
}

/**
 * Refused parts of one reason as the quarantine keeps them: their rows as TabSeparated
 * (readable), in one file; a part that cannot be read back as rows, as it was sent.
 */
function refusedRows(
  table: TableDef,
  parts: readonly Part[],
  reason: string,
  error: string,
  token: string,
): RefusedRows[] {
  const out: RefusedRows[] = [];
  const tsv: Buffer[] = [];
  let rows = 0;
  for (const p of parts) {
    let body: Buffer;
    try {
      body = arrowToTsv(table, p.batch).body;
    } catch {
      out.push({ batch: p.batch, reason, error, token: p.token });
      continue;
    }
    tsv.push(body);
    rows += p.batch.rows;
  }
  if (rows > 0) {
    const columns = parts[0].batch.columns;
    out.unshift({
      batch: { format: 'TabSeparated', columns, rows, body: Buffer.concat(tsv) },
      reason,
      error,
      token,
    });
  }
  return out;
}

type InsertResult = { ok: true } | { ok: false; rejected: boolean; error: Error };

/** A batch, or a part of one, and its dedup token. */
interface Part {
  batch: EncodedBatch;
  token: string;
}

const OK: InsertResult = { ok: true };

/** `p`, or an InsertTimeoutError after `ms` (or when `expire` is called first). */
function withTimeout<T>(p: Promise<T>, ms: number, onExpire?: (expire: () => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new InsertTimeoutError(ms)), ms);
    onExpire?.(() => {
      clearTimeout(t);
      reject(new InsertTimeoutError(ms));
    });
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

/** Wakes the sender: on a new batch, on close, or when a retry is due. */
class Waker {
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = false;

  wait(ms?: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      if (ms !== undefined) {
        // a retry alone does not keep the process alive: the spool waits on disk
        this.timer = setTimeout(() => this.wake(), Math.max(0, ms));
        this.timer.unref();
      }
    });
  }

  wake(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const r = this.resolve;
    this.resolve = undefined;
    if (r) r();
    else this.pending = true;
  }
}

export class BatchWriter<T extends TableDef = TableDef> {
  readonly table: string;
  readonly registry: Registry;
  readonly spool: Spool;
  /** where rows the store refuses are kept */
  readonly quarantine: Quarantine;
  /** the format of the batches write() makes: ArrowStream, or TabSeparated (see `format`) */
  readonly format: EncodedBatch['format'];
  private readonly tableDef: T;
  private readonly store: Store;
  /** what store.insertBatch takes; other batches are converted to TSV when sent */
  private readonly storeFormats: ReadonlySet<string>;
  private enc: RowEncoder<T> | undefined;
  private readonly columns: readonly string[];
  private readonly o: typeof WRITER_DEFAULTS;
  private readonly log: IngestLog;
  private readonly m: IngestMetrics;
  private readonly entry: MetricsEntry;
  private readonly tokenPrefix: string;

  /** the open batch */
  private open: ArrowBatchBuilder<T> | TsvBatch<T>;
  /** the open batch closes at this many rows: maxRows, or fewer where maxBatchBytes says so (Arrow) */
  private rowCap: number;
  private lastBatchRows = 0;
  private lastBatchBytes = 0;
  private ageTimer: NodeJS.Timeout | undefined;
  private readonly onAge = () => {
    this.ageTimer = undefined;
    this.closeBatch();
  };

  private seq = 0;
  private readonly queue: Batch[] = [];
  private queuedBytes = 0;
  private inFlight: Batch | undefined;
  /** batches beyond the queue's bound, on their way to the spool (the first one being written) */
  private readonly overflow: Batch[] = [];
  private overflowBytes = 0;
  private overflowTask: Promise<void> = Promise.resolve();
  /** spooling (and dropping) what the full queue cannot take: logged once until the queue has room */
  private overflowing = false;
  private overloaded = false;
  private drainWait: { promise: Promise<void>; resolve: () => void } | undefined;
  private flushWaiters: { seq: number; resolve: () => void }[] = [];
  private settleWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  private up = true;
  private backoffMs: number;
  private nextAttempt = 0;
  /** set by close(): sends (and replays, while the store answers) until then */
  private closingDeadline: number | undefined;
  private closePromise: Promise<void> | undefined;
  private expireInsert: (() => void) | undefined;
  private accepting = true;
  /** abandonSync() ran: nothing more is sent or spooled */
  private abandoned = false;
  private replayTurn = false;
  private wasSpooling = false;
  private readonly waker = new Waker();
  private readonly loop: Promise<void>;

  private pendingAccepted = 0;
  private readonly counts = { accepted: 0, written: 0, spooled: 0, overflowed: 0, replayed: 0, dropped: 0 };
  private readonly droppedBy: Record<string, number> = {};
  private readonly rejectedBy: Record<string, number> = {};
  private quarantined = 0;

  /** Opens the table's spool (replaying what an earlier run left there) and starts the sender. */
  static async open<T extends TableDef>(o: WriterOptions<T>): Promise<BatchWriter<T>> {
    const registry = o.registry ?? new Registry();
    const entry = metricsEntry(registry);
    const log = o.log ?? stderrLog;
    const table = o.table.name;
    const spool = await Spool.open({
      dir: o.spoolDir ?? WRITER_DEFAULTS.spoolDir,
      table,
      ...o.spool,
      log,
      hooks: {
        quarantined: () => entry.metrics.quarantined.inc({ table }),
        tornTail: () => entry.metrics.tornTails.inc({ table }),
        corruptRows: (rows) => {
          entry.metrics.dropped.inc({ table, reason: 'corrupt' }, rows);
          w.counts.dropped += rows;
        },
      },
    });
    const spoolDir = o.spoolDir ?? WRITER_DEFAULTS.spoolDir;
    const quarantine = new Quarantine({
      dir: o.quarantineDir ?? join(dirname(resolve(spoolDir)), 'quarantine'),
      table,
      database: o.store.database,
      maxBytes: o.quarantine?.maxBytes,
      fsync: (o.spool?.fsync ?? 'always') === 'always',
    });
    const w: BatchWriter<T> = new BatchWriter(o, registry, entry, spool, quarantine, log);
    return w;
  }

  private constructor(
    o: WriterOptions<T>,
    registry: Registry,
    entry: MetricsEntry,
    spool: Spool,
    quarantine: Quarantine,
    log: IngestLog,
  ) {
    this.store = o.store;
    this.quarantine = quarantine;
    this.table = o.table.name;
    this.registry = registry;
    this.entry = entry;
    this.m = entry.metrics;
    this.spool = spool;
    this.log = log;
    const d = WRITER_DEFAULTS;
    this.o = {
      format: o.format ?? d.format,
      spoolDir: o.spoolDir ?? d.spoolDir,
      maxRows: o.maxRows ?? d.maxRows,
      maxAgeMs: o.maxAgeMs ?? d.maxAgeMs,
      maxBatchBytes: o.maxBatchBytes ?? d.maxBatchBytes,
      queueBatches: o.queueBatches ?? d.queueBatches,
      queueBytes: o.queueBytes ?? d.queueBytes,
      maxQueueBatches: o.maxQueueBatches ?? 2 * (o.queueBatches ?? d.queueBatches),
      maxQueueBytes: o.maxQueueBytes ?? 2 * (o.queueBytes ?? d.queueBytes),
      insertTimeoutMs: o.insertTimeoutMs ?? d.insertTimeoutMs,
      retryMinMs: o.retryMinMs ?? d.retryMinMs,
      retryMaxMs: o.retryMaxMs ?? d.retryMaxMs,
      closeTimeoutMs: o.closeTimeoutMs ?? d.closeTimeoutMs,
      maxSplitInserts: o.maxSplitInserts ?? d.maxSplitInserts,
    };
    this.backoffMs = this.o.retryMinMs;
    this.tableDef = o.table;
    this.columns = Object.keys(o.table.columns);
    this.storeFormats = new Set(o.store.insertFormats ?? ['ArrowStream', 'TabSeparated']);
    const arrow = this.o.format === 'arrow';
    this.format = arrow && this.storeFormats.has('ArrowStream') ? 'ArrowStream' : 'TabSeparated';
    if (arrow && this.format !== 'ArrowStream') {
      this.log(
        'info',
        `${this.table}: ${o.store.location} takes no ArrowStream inserts: sending TabSeparated batches`,
      );
    }
    // Arrow: until a batch has measured it, a row is taken for the schema's fixed widths
    // (TSV batches are bounded by their exact size instead)
    const rowBytes = this.columns.reduce(
      (n, c) => n + ARROW_ROW_BYTES[(o.table.columns[c] as Column<unknown>).arrow],
      0,
    );
    this.rowCap = this.format === 'ArrowStream' ? this.capFor(rowBytes) : this.o.maxRows;
    this.open = this.newOpen();
    this.tokenPrefix = `${spool.writerId}:${spool.runId}:${this.table}`;
    entry.writers.add(this as unknown as BatchWriter<TableDef>);
    // make the series exist from the start
    const m = this.m;
    for (const c of [
      m.accepted,
      m.written,
      m.spooled,
      m.overflowed,
      m.replayed,
      m.quarantined,
      m.tornTails,
      m.insertErrors,
    ]) {
      c.inc({ table: this.table }, 0);
    }
    this.m.dropped.inc({ table: this.table, reason: 'spool_error' }, 0);
    this.spoolGauges();
    this.m.quarantineBytes.set({ table: this.table }, quarantine.bytes);
    if (!spool.isEmpty()) {
      this.log(
        'info',
        `${this.table}: ${spool.bytes} bytes left in the spool ${spool.dir} by an earlier run: replaying them first`,
      );
    }
    this.updateSpooling();
    this.loop = this.run();
  }

  // ---- producers ---------------------------------------------------------------------

  /** Takes one row. `true`: go on; a Promise: the queue is full, await it before writing more. */
  write(row: RowOf<T>): true | Promise<void> {
    if (!this.accepting) throw new WriterClosedError(this.table);
    this.add(row);
    return this.full() ? this.drainPromise() : true;
  }

  /** Takes many rows (same contract as write). An unencodable row throws; the rows before it are taken. */
  writeMany(rows: readonly RowOf<T>[]): true | Promise<void> {
    if (!this.accepting) throw new WriterClosedError(this.table);
    for (let i = 0; i < rows.length; i++) this.add(rows[i]);
    return this.full() ? this.drainPromise() : true;
  }

  /**
   * Takes a batch built elsewhere (an Arrow batch from columnar data: arrow-batch.ts) as
   * one batch of its own, whatever its size: the open batch is closed first, so rows keep
   * the order they were given in. Its columns must be the table's, in order (else a
   * TypeError, and its rows count as dropped "invalid"). Same contract as write(); its
   * rows count as accepted. The batch is the writer's from now on: its body must not be
   * changed. An Arrow batch for a store that takes no Arrow is converted to TSV when sent.
   */
  writeEncoded(batch: EncodedBatch): true | Promise<void> {
    if (!this.accepting) throw new WriterClosedError(this.table);
    const { rows, columns } = batch;
    if (!Number.isInteger(rows) || rows < 0) throw new TypeError(`${this.table}: batch rows ${rows}`);
    if (
      (batch.format !== 'ArrowStream' && batch.format !== 'TabSeparated') ||
      !Buffer.isBuffer(batch.body) ||
      columns.length !== this.columns.length ||
      columns.some((c, i) => c !== this.columns[i])
    ) {
      this.drop('invalid', rows);
      throw new TypeError(
        `${this.table}: writeEncoded takes a ${this.table} batch (ArrowStream or TabSeparated, a Buffer body, ` +
          `columns ${this.columns.join(', ')}); got ${String(batch.format)} with columns ${columns.join(', ')}`,
      );
    }
    if (rows > 0) {
      this.closeBatch();
      this.pendingAccepted += rows;
      this.counts.accepted += rows;
      this.enqueue(batch);
    }
    return this.full() ? this.drainPromise() : true;
  }

  private add(row: RowOf<T>): void {
    const b = this.open;
    try {
      // throws on a missing value or one of the wrong type, adding nothing
      b.add(row);
    } catch (err) {
      this.drop(err instanceof TimeRangeError ? 'time_out_of_range' : 'invalid', 1);
      throw err;
    }
    this.pendingAccepted++;
    this.counts.accepted++;
    if (b.rows === 1) this.ageTimer = setTimeout(this.onAge, this.o.maxAgeMs);
    if (b.rows >= this.rowCap || (b instanceof TsvBatch && b.bytes >= this.o.maxBatchBytes))
      this.closeBatch();
  }

  /** Rows of `rowBytes` that make maxBatchBytes, within 1..maxRows. */
  private capFor(rowBytes: number): number {
    return Math.max(1, Math.min(this.o.maxRows, Math.floor(this.o.maxBatchBytes / Math.max(1, rowBytes))));
  }

  /** A new open batch, sized like the last one: a steady stream rarely grows one. */
  private newOpen(): ArrowBatchBuilder<T> | TsvBatch<T> {
    if (this.format === 'ArrowStream') {
      const capacity = Math.min(this.rowCap, Math.max(1024, Math.ceil(this.lastBatchRows * 1.1)));
      return new ArrowBatchBuilder(this.tableDef, capacity);
    }
    this.enc ??= rowEncoder(this.tableDef);
    return new TsvBatch(
      this.enc,
      Buffer.allocUnsafe(Math.max(64 * 1024, Math.ceil(this.lastBatchBytes * 1.1))),
    );
  }

  private full(): boolean {
    return this.queue.length >= this.o.queueBatches || this.queuedBytes >= this.o.queueBytes;
  }

  private drainPromise(): Promise<void> {
    if (!this.drainWait) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.drainWait = { promise, resolve };
    }
    return this.drainWait.promise;
  }

  private releaseProducers(force = false): void {
    if (this.drainWait && (force || !this.full())) {
      const d = this.drainWait;
      this.drainWait = undefined;
      d.resolve();
    }
  }

  private closeBatch(): void {
    const open = this.open;
    if (open.rows === 0) return;
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    let batch: EncodedBatch | undefined;
    try {
      batch = open.finish();
    } catch (err) {
      // rows are checked as they are added, so this is a bug: never lose them silently
      // (and never throw from the age timer)
      this.drop('invalid', open.rows);
      this.log(
        'error',
        `${this.table}: ${open.rows} rows dropped (invalid): encoding the batch failed: ${firstLine(err)}`,
      );
    }
    if (batch) {
      this.lastBatchRows = batch.rows;
      this.lastBatchBytes = batch.body.length;
      // Arrow: learn the bytes a row takes from a batch big enough for the schema and
      // dictionaries not to count much
      if (batch.format === 'ArrowStream' && batch.rows >= 1000)
        this.rowCap = this.capFor(batch.body.length / batch.rows);
    }
    this.open = this.newOpen();
    if (batch) this.enqueue(batch);
    else this.syncAccepted();
  }

  /**
   * Queues a closed batch for the sender; beyond the queue's bound, hands it to the spool
   * (or, while that overflow itself is beyond queueBytes, drops it: "overload").
   */
  private enqueue(batch: EncodedBatch): void {
    const seq = ++this.seq;
    const b: Batch = { seq, token: `${this.tokenPrefix}:${seq}`, batch, closedAt: Date.now() };
    const size = batch.body.length;
    this.syncAccepted();
    const fits =
      this.abandoned ||
      (this.queue.length < this.o.maxQueueBatches && this.queuedBytes + size <= this.o.maxQueueBytes);
    if (!this.full()) this.overflowing = this.overloaded = false;
    if (fits || this.queue.length === 0) {
      this.queue.push(b);
      this.queuedBytes += size;
      this.waker.wake();
    } else if (this.overflowBytes + size <= this.o.queueBytes || this.overflow.length === 0) {
      this.overflowToSpool(b);
    } else {
      this.drop('overload', batch.rows);
      if (!this.overloaded) {
        this.log(
          'error',
          `${this.table}: the queue is full and its overflow is still being written to the spool: dropping batches (overload) until it is not`,
        );
      }
      this.overloaded = true;
    }
  }

  /** A batch the full queue cannot take goes to the spool, behind any other overflow. */
  private overflowToSpool(b: Batch): void {
    if (!this.overflowing) {
      this.overflowing = true;
      this.log(
        'warn',
        `${this.table}: the queue is full (${this.queue.length} batches, ${this.queuedBytes} bytes: the store is slower than the input): spooling what does not fit to ${this.spool.dir}`,
      );
    }
    this.overflow.push(b);
    this.overflowBytes += b.batch.body.length;
    if (this.overflow.length > 1) return;
    this.overflowTask = (async () => {
      while (this.overflow.length > 0) {
        const next = this.overflow[0];
        if (await this.toSpool(next)) this.count('overflowed', next.batch.rows);
        this.overflow.shift();
        this.overflowBytes -= next.batch.body.length;
        this.batchDone();
      }
      // the spool now holds batches: the sender spools behind them and replays them
      this.waker.wake();
    })();
  }

  /** Adds the rows counted on the fast path to the accepted counter. */
  syncAccepted(): void {
    if (this.pendingAccepted > 0) {
      this.m.accepted.inc({ table: this.table }, this.pendingAccepted);
      this.pendingAccepted = 0;
    }
  }

  /** Resolves when every row accepted so far is stored or spooled (or counted as dropped). */
  flush(): Promise<void> {
    this.closeBatch();
    const target = this.seq;
    if (this.lowestPending() > target) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ seq: target, resolve }));
  }

  /** The lowest seq of a batch not yet stored, spooled or dropped (Infinity: none). */
  private lowestPending(): number {
    return Math.min(
      this.inFlight?.seq ?? Number.POSITIVE_INFINITY,
      this.queue[0]?.seq ?? Number.POSITIVE_INFINITY,
      this.overflow[0]?.seq ?? Number.POSITIVE_INFINITY,
    );
  }

  /**
   * Resolves when every row accepted so far is stored and the spool is empty: this waits
   * for the store to come back. Rejects when the writer closes first.
   */
  drain(): Promise<void> {
    this.closeBatch();
    if (this.settled()) return Promise.resolve();
    if (this.closePromise) return Promise.reject(new WriterClosedError(this.table));
    return new Promise((resolve, reject) => this.settleWaiters.push({ resolve, reject }));
  }

  /**
   * Stops accepting rows; sends what it can within `closeTimeoutMs` (and replays spooled
   * batches meanwhile while the store answers), spools the rest, closes the spool. The
   * store is the caller's to close.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.accepting = false;
    this.closeBatch();
    this.closingDeadline = Date.now() + this.o.closeTimeoutMs;
    this.waker.wake();
    const cut = setTimeout(() => this.expireInsert?.(), this.o.closeTimeoutMs);
    try {
      await this.loop;
      await this.overflowTask;
    } finally {
      clearTimeout(cut);
    }
    this.releaseProducers(true);
    this.syncAccepted();
    this.updateSpooling();
    await this.spool.close();
    this.entry.writers.delete(this as unknown as BatchWriter<TableDef>);
    if (!this.spool.isEmpty()) {
      this.log(
        'info',
        `${this.table}: closed with ${this.spool.bytes} bytes in the spool ${this.spool.dir}: they replay at the next start`,
      );
    }
    for (const w of this.settleWaiters.splice(0)) {
      if (this.settled()) w.resolve();
      else w.reject(new WriterClosedError(this.table));
    }
  }

  /** Rows taken and not yet stored, spooled or dropped (open, queued, in flight, overflowing). */
  unsettledRows(): number {
    let n = this.open.rows + (this.inFlight?.batch.rows ?? 0);
    for (const b of this.queue) n += b.batch.rows;
    for (const b of this.overflow) n += b.batch.rows;
    return n;
  }

  /**
   * Gives up storing, for a process about to exit with work left (a third stop signal):
   * spools, synchronously, every row not yet stored — the open batch, `extra` batches (a
   * producer's: they count as accepted), the batch in flight (should its insert still
   * land, its dedup token keeps the replay from storing it twice), the overflow and the
   * queue — and releases the spool. Rows it cannot spool are counted as dropped. Returns
   * what it spooled and dropped.
   */
  abandonSync(extra: readonly EncodedBatch[] = []): { spooled: number; dropped: number } {
    if (this.abandoned) return { spooled: 0, dropped: 0 };
    this.abandoned = true;
    this.accepting = false;
    this.closingDeadline = Date.now();
    this.closeBatch();
    for (const batch of extra) {
      if (batch.rows === 0) continue;
      this.pendingAccepted += batch.rows;
      this.counts.accepted += batch.rows;
      this.enqueue(batch);
    }
    const left = [...(this.inFlight ? [this.inFlight] : []), ...this.overflow, ...this.queue];
    this.inFlight = undefined;
    this.overflow.length = 0;
    this.queue.length = 0;
    this.queuedBytes = this.overflowBytes = 0;
    const r = this.spool.abandonSync(left.map((b) => this.spoolBatch(b)));
    let spooled = 0;
    let dropped = 0;
    left.forEach((b, i) => {
      if (i < r.written) spooled += b.batch.rows;
      else dropped += b.batch.rows;
    });
    this.count('spooled', spooled);
    if (dropped > 0) {
      const reason = r.error instanceof SpoolFullError ? 'spool_full' : 'spool_error';
      this.drop(reason, dropped);
      this.log('error', `${this.table}: ${dropped} rows dropped (${reason}): ${firstLine(r.error)}`);
    }
    this.syncAccepted();
    this.entry.writers.delete(this as unknown as BatchWriter<TableDef>);
    this.releaseProducers(true);
    this.waker.wake();
    return { spooled, dropped };
  }

  stats(): WriterStats {
    return {
      ...this.counts,
      droppedBy: { ...this.droppedBy },
      rejected: this.droppedBy.rejected ?? 0,
      rejectedBy: { ...this.rejectedBy },
      quarantined: this.quarantined,
      openRows: this.open.rows,
      queuedBatches: this.queue.length + (this.inFlight ? 1 : 0),
      overflowBatches: this.overflow.length,
      queuedBytes: this.queuedBytes + (this.inFlight ? this.inFlight.batch.body.length : 0),
      spoolBytes: this.spool.bytes,
      spoolRows: this.spool.rows,
      spooling: !this.spool.isEmpty(),
      storeUp: this.up,
    };
  }

  // ---- the sender ----------------------------------------------------------------------

  private settled(): boolean {
    return (
      this.open.rows === 0 &&
      this.queue.length === 0 &&
      !this.inFlight &&
      this.overflow.length === 0 &&
      this.spool.isEmpty()
    );
  }

  private async run(): Promise<void> {
    for (;;) {
      try {
        const now = Date.now();
        const closing = this.closingDeadline !== undefined;
        // closing: replay goes on while the store answers, until the deadline (a short run
        // still stores what an earlier one spooled)
        const replayDue =
          (!closing || (this.up && now < this.closingDeadline!)) &&
          !this.spool.isEmpty() &&
          now >= this.nextAttempt;
        // when both wait, alternate: replay is not starved by a steady stream of new batches
        if (replayDue && (this.queue.length === 0 || this.replayTurn)) {
          this.replayTurn = false;
          await this.replayOne();
          continue;
        }
        const b = this.queue.shift();
        if (b) {
          this.replayTurn = true;
          this.queuedBytes -= b.batch.body.length;
          this.inFlight = b;
          this.releaseProducers();
          await this.handle(b);
          this.inFlight = undefined;
          b.batch.lease?.release();
          this.batchDone();
          continue;
        }
        if (closing) {
          if (replayDue) continue;
          return;
        }
        if (this.settled()) for (const w of this.settleWaiters.splice(0)) w.resolve();
        await this.waker.wait(this.spool.isEmpty() ? undefined : this.nextAttempt - Date.now());
      } catch (err) {
        // an unexpected failure (a spool read error, a bug): never lose the batch silently,
        // never stop the sender
        const b = this.inFlight;
        this.inFlight = undefined;
        if (b) {
          this.drop('spool_error', b.batch.rows);
          b.batch.lease?.release();
          this.batchDone();
        }
        // a disk error is said in a line; anything else is a bug: its stack
        const e = err as NodeJS.ErrnoException;
        this.log(
          'error',
          `${this.table}: ${e instanceof SpoolError || e?.code ? firstLine(e) : (e?.stack ?? e)}`,
        );
        this.markDown(err as Error);
        if (this.closingDeadline === undefined) await this.waker.wait(this.backoffMs);
      }
    }
  }

  /** A batch was stored, spooled or dropped: resolves the flushes waiting for it. */
  private batchDone(): void {
    if (this.flushWaiters.length === 0) return;
    const low = this.lowestPending();
    this.flushWaiters = this.flushWaiters.filter((w) => {
      if (w.seq >= low) return true;
      w.resolve();
      return false;
    });
  }

  private canSendDirect(): boolean {
    if (!this.spool.isEmpty()) return false;
    const now = Date.now();
    if (this.closingDeadline !== undefined && now >= this.closingDeadline) return false;
    return this.up || now >= this.nextAttempt;
  }

  private async handle(b: Batch): Promise<void> {
    if (this.canSendDirect()) {
      const r = await this.insert(this.table, b.batch, b.token, 'direct');
      if (r.ok) {
        this.count('written', b.batch.rows);
        this.markUp();
        return;
      }
      if (r.rejected) {
        const s = await this.splitRefused(this.table, b, r.error, 'direct');
        this.count('written', s.stored);
        if (s.error === undefined) return;
        // the store failed half-way: what was not yet stored waits in the spool
        this.markDown(s.error);
        for (const p of s.left) await this.toSpool({ ...b, ...p });
        return;
      }
      this.markDown(r.error);
    }
    await this.toSpool(b);
  }

  private async insert(
    table: string,
    batch: EncodedBatch,
    token: string,
    path: 'direct' | 'replay',
  ): Promise<InsertResult> {
    if (!this.storeFormats.has(batch.format)) {
      // an Arrow batch for a store that takes no Arrow (spooled before, or writeEncoded)
      try {
        if (table !== this.table) throw new Error(`a ${table} batch in the ${this.table} spool`);
        batch = arrowToTsv(this.tableDef, batch);
      } catch (err) {
        const error = new UnconvertibleBatchError(
          `cannot convert the ${batch.format} batch to TabSeparated: ${firstLine(err)}`,
        );
        return { ok: false, rejected: true, error };
      }
    }
    let timeout = this.o.insertTimeoutMs;
    if (this.closingDeadline !== undefined) {
      timeout = Math.max(1, Math.min(timeout, this.closingDeadline - Date.now()));
    }
    const t0 = performance.now();
    try {
      // close() cuts an insert that runs past its deadline short: the batch is spooled
      // (should the insert still land, the dedup token keeps the replay from storing it twice)
      await withTimeout(this.store.insertBatch(table, batch, token), timeout, (expire) => {
        this.expireInsert = expire;
      });
      this.m.batchDuration.observe({ table: this.table, path }, (performance.now() - t0) / 1000);
      return OK;
    } catch (err) {
      this.m.insertErrors.inc({ table: this.table });
      const error = err instanceof Error ? err : new Error(String(err));
      return { ok: false, rejected: isDataError(err), error };
    } finally {
      this.expireInsert = undefined;
    }
  }

  private async ping(): Promise<boolean> {
    try {
      return await withTimeout(this.store.ping(), Math.min(this.o.insertTimeoutMs, 5000));
    } catch {
      return false;
    }
  }

  private spoolBatch(b: Batch): SpoolBatch {
    const { format, columns, rows, body } = b.batch;
    return { table: this.table, columns, token: b.token, rows, format, body, closedAt: b.closedAt };
  }

  /** Appends a batch to the spool; false (the rows counted as dropped) when it cannot. */
  private async toSpool(b: Batch): Promise<boolean> {
    // abandonSync() spooled it already (an insert that ended after it)
    if (this.abandoned) return false;
    const rows = b.batch.rows;
    let ok = true;
    try {
      await this.spool.append(this.spoolBatch(b));
      this.count('spooled', rows);
    } catch (err) {
      ok = false;
      const reason = err instanceof SpoolFullError ? 'spool_full' : 'spool_error';
      this.drop(reason, rows);
      this.log('error', `${this.table}: ${rows} rows dropped (${reason}): ${firstLine(err)}`);
    }
    this.spoolGauges();
    this.updateSpooling();
    return ok;
  }

  private async replayOne(): Promise<void> {
    if (!this.up && !(await this.ping())) {
      this.markDown(undefined);
      return;
    }
    let rec: SpoolRecord | null;
    try {
      rec = await this.spool.next();
    } finally {
      this.spoolGauges();
    }
    if (!rec) {
      this.updateSpooling();
      return;
    }
    const { format, columns, rows, body } = rec;
    const r = await this.insert(rec.table, { format, columns, rows, body }, rec.token, 'replay');
    if (r.ok) {
      await this.spool.ack();
      this.count('written', rec.rows);
      this.count('replayed', rec.rows);
      this.markUp();
    } else if (r.rejected) {
      const s = await this.splitRefused(
        rec.table,
        { batch: { format, columns, rows, body }, token: rec.token },
        r.error,
        'replay',
      );
      this.count('written', s.stored);
      this.count('replayed', s.stored);
      // the store failed half-way: the parts not yet stored go back into the spool
      for (const p of s.left) {
        await this.respool({ table: rec.table, token: p.token, closedAt: rec.closedAt, ...p.batch });
      }
      await this.spool.ack();
      if (s.error) this.markDown(s.error);
      else this.markUp();
    } else {
      this.markDown(r.error);
    }
    this.spoolGauges();
    this.updateSpooling();
  }

  /**
   * A batch the store refused as bad data: split in halves, each inserted again, down to
   * the rows refused alone, which are set aside (quarantined and counted). Resolves with
   * the rows stored; when the store failed otherwise half-way, with its error and the
   * parts not yet stored (in order), for the caller to spool.
   */
  private async splitRefused(
    table: string,
    first: Part,
    error: Error,
    path: 'direct' | 'replay',
  ): Promise<{ stored: number; left: Part[]; error?: Error }> {
    const refused: (Part & { error: Error })[] = [];
    const todo: Part[] = [];
    let inserts = 0;
    const split = (p: Part, err: Error) => {
      if (p.batch.rows < 2 || inserts >= this.o.maxSplitInserts || err instanceof UnconvertibleBatchError) {
        refused.push({ ...p, error: err });
        return;
      }
      try {
        const [a, b] = splitBatch(p.batch);
        todo.unshift({ batch: a, token: `${p.token}.1` }, { batch: b, token: `${p.token}.2` });
      } catch {
        // an Arrow body that cannot be read back: set aside as it is
        refused.push({ ...p, error: err });
      }
    };
    split(first, error);
    let stored = 0;
    let left: Part[] = [];
    let down: Error | undefined;
    while (todo.length > 0) {
      const p = todo.shift()!;
      inserts++;
      const r = await this.insert(table, p.batch, p.token, path);
      if (r.ok) stored += p.batch.rows;
      else if (r.rejected) split(p, r.error);
      else {
        left = [p, ...todo];
        down = r.error;
        break;
      }
    }
    if (stored > 0) this.markUp();
    await this.setAside(first, refused, stored, inserts);
    return { stored, left, error: down };
  }

  /** Counts the rows the store refused and keeps them in the quarantine, one file per reason. */
  private async setAside(
    first: Part,
    refused: readonly (Part & { error: Error })[],
    stored: number,
    inserts: number,
  ): Promise<void> {
    if (refused.length === 0) return;
    const byReason = new Map<string, { parts: Part[]; error: string }>();
    for (const p of refused) {
      const reason = refusalName(p.error);
      const rows = p.batch.rows;
      this.drop('rejected', rows);
      this.rejectedBy[reason] = (this.rejectedBy[reason] ?? 0) + rows;
      this.m.rejected.inc({ table: this.table, error: reason }, rows);
      const g = byReason.get(reason) ?? { parts: [], error: firstLine(p.error) };
      g.parts.push(p);
      byReason.set(reason, g);
    }
    const rows = refused.reduce((n, p) => n + p.batch.rows, 0);
    const whole = refused.filter((p) => p.batch.rows > 1).length;
    const kept: string[] = [];
    let notKept = 0;
    for (const [reason, g] of byReason) {
      for (const r of refusedRows(this.tableDef, g.parts, reason, g.error, first.token)) {
        let path: string | null;
        try {
          path = await this.quarantine.keep(r);
        } catch (err) {
          this.log(
            'error',
            `${this.table}: ${r.batch.rows} refused rows could not be kept in ${this.quarantine.dir}: ${firstLine(err)}`,
          );
          continue;
        }
        if (path === null) notKept += r.batch.rows;
        else {
          kept.push(path);
          this.quarantined += r.batch.rows;
        }
      }
    }
    this.m.quarantineBytes.set({ table: this.table }, this.quarantine.bytes);
    const errors = [...byReason.values()].map((g) => g.error).join('; ');
    this.log(
      'error',
      `${this.table}: ${rows} of ${first.batch.rows} rows refused by the store as bad data (${[...byReason.keys()].join(', ')}), ${stored} stored` +
        (whole > 0
          ? `; the split stopped after ${inserts} inserts: ${whole} parts set aside whole (they may hold good rows)`
          : '') +
        (kept.length > 0 ? `; kept in the quarantine: ${kept.join(', ')}` : '') +
        (notKept > 0
          ? `; the quarantine ${this.quarantine.dir} is full (${this.quarantine.bytes} bytes): ${notKept} refused rows not kept`
          : '') +
        `. The store said: ${errors}`,
    );
  }

  /** Puts a part of a replayed record back into the spool, behind what is there. */
  private async respool(b: SpoolBatch): Promise<void> {
    try {
      await this.spool.append(b);
    } catch (err) {
      const reason = err instanceof SpoolFullError ? 'spool_full' : 'spool_error';
      this.drop(reason, b.rows);
      this.log('error', `${this.table}: ${b.rows} rows dropped (${reason}): ${firstLine(err)}`);
    }
  }

  private markDown(err: Error | undefined): void {
    if (this.up) {
      this.up = false;
      this.backoffMs = this.o.retryMinMs;
      this.log(
        'warn',
        `${this.table}: insert into ${this.store.location} failed (${err ? firstLine(err) : 'no answer'}): spooling to ${this.spool.dir}, retrying from ${this.backoffMs} ms up to every ${this.o.retryMaxMs} ms`,
      );
    } else {
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.retryMaxMs);
    }
    this.nextAttempt = Date.now() + this.backoffMs;
  }

  private markUp(): void {
    if (!this.up) {
      this.up = true;
      this.log(
        'info',
        `${this.table}: the store answers again${this.spool.isEmpty() ? '' : `: replaying ${this.spool.bytes} spooled bytes`}`,
      );
    }
    this.backoffMs = this.o.retryMinMs;
    this.nextAttempt = 0;
  }

  private spoolGauges(): void {
    this.m.spoolBytes.set({ table: this.table }, this.spool.bytes);
    this.m.spoolRows.set({ table: this.table }, this.spool.rows);
  }

  private updateSpooling(): void {
    const spooling = !this.spool.isEmpty();
    if (this.wasSpooling && !spooling) {
      this.log('info', `${this.table}: spool replayed: direct sends resume`);
    }
    this.wasSpooling = spooling;
    this.m.spooling.set({ table: this.table }, spooling ? 1 : 0);
  }

  private count(what: 'written' | 'spooled' | 'overflowed' | 'replayed', rows: number): void {
    this.counts[what] += rows;
    this.m[what].inc({ table: this.table }, rows);
  }

  private drop(reason: string, rows: number): void {
    this.counts.dropped += rows;
    this.droppedBy[reason] = (this.droppedBy[reason] ?? 0) + rows;
    this.m.dropped.inc({ table: this.table, reason }, rows);
  }
}
