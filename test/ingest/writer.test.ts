/**
 * The batching writer (ingest/writer.ts) on the real embedded chDB store: batching by rows
 * and by age, backpressure, the spool on a store that fails and recovers (fault-injected
 * wrappers of the real store), dedup of a retried batch, rejected data, a failing spool
 * disk, and real processes: SIGKILL while spooling, SIGTERM with the store up and with it
 * hanging. Last, a real ClickHouse 18.16 server stopped mid-stream and started again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrowBatchBuilder, type EncodedBatch } from '../../ingest/arrow-batch.js';
import { c } from '../../ingest/columns.js';
import { rowEncoder } from '../../ingest/encode.js';
import { migrate } from '../../ingest/migrations.js';
import { DEFAULT_RETENTION, flows, type RowOf, type TableDef, vf_counters } from '../../ingest/schema.js';
import { readSpoolFile } from '../../ingest/spool.js';
import { openStore, type Store } from '../../ingest/store.js';
import { BatchWriter, WriterClosedError, type WriterOptions } from '../../ingest/writer.js';
import { type ClickHouseServer, startClickHouseServer } from '../helpers/clickhouse-server.js';
import { type Faults, sleep, until, faultStore as wrapFaults } from './fixtures/fault-store.js';
import { vfRow } from './fixtures/vf-rows.mjs';
import { flowRow } from './rows.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = join(ROOT, 'test', 'ingest', 'fixtures', 'writer-child.mjs');
const root = mkdtempSync(join(tmpdir(), 'podwire-writer-'));
let n = 0;
const freshDir = () => join(root, `w${++n}`);

let store: Store;

const row = (tag: string, id: number, srcIp: string) => flowRow(tag, { srcPort: 40000 + id, srcIp });

/** vf_counters rows from..to-1 as one pre-built batch: Arrow, or TSV lines. */
function vfBatch(
  tag: string,
  from: number,
  to: number,
  format: EncodedBatch['format'] = 'ArrowStream',
): EncodedBatch {
  if (format === 'TabSeparated') {
    const enc = rowEncoder(vf_counters);
    let text = '';
    for (let i = from; i < to; i++) text += enc.line(vfRow(tag, i));
    return { format, columns: enc.columns, rows: to - from, body: Buffer.from(text) };
  }
  const b = new ArrowBatchBuilder(vf_counters, Math.max(1, to - from));
  for (let i = from; i < to; i++) b.add(vfRow(tag, i));
  return b.finish();
}

const spoolFilesOf = (dir: string) =>
  readdirSync(dir)
    .filter((x) => /^\d+\.spool$/.test(x))
    .sort()
    .map((x) => join(dir, x));

async function scalars(s: Store, query: string): Promise<Record<string, number>> {
  const rs = await s.client.query({ query, format: 'JSONEachRow' });
  const row = ((await rs.json()) as Record<string, string>[])[0];
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/**
 * The tag's rows on the old server are exactly ids 0..n-1, each once: count, distinct ids,
 * sum and a checksum equal those of numbers(n). Returns the tag's figures.
 */
async function expectIdsOnce(s: Store, tag: string, n: number): Promise<Record<string, number>> {
  const got = await scalars(
    s,
    `SELECT count() AS n, uniqExact(id) AS ids, sum(id) AS s, sum(cityHash64(id, tag)) % 1000000007 AS h
     FROM podwire.writer_events WHERE tag = '${tag}'`,
  );
  const want = await scalars(
    s,
    `SELECT count() AS n, uniqExact(number) AS ids, sum(number) AS s,
       sum(cityHash64(number, '${tag}')) % 1000000007 AS h
     FROM numbers(${n})`,
  );
  expect(got).toEqual(want);
  return got;
}

/** count, distinct ids, and the sum/min/max of the id column of a tag's rows. */
const summary = (tag: string) =>
  scalars(
    store,
    `SELECT count() AS n, uniqExact(rx_bytes) AS ids, sum(rx_bytes) AS s, min(rx_bytes) AS lo, max(rx_bytes) AS hi
     FROM podwire.vf_counters WHERE node = '${tag}'`,
  );
/** what summary() must say when ids 0..n-1 are each present once */
const exactlyOnce = (n: number) => ({ n, ids: n, s: (n * (n - 1)) / 2, lo: 0, hi: n - 1 });

/** The real store (this suite's chDB by default) behind the fault-injecting wrapper. */
const faultStore = (f: Faults, inner: () => Store = () => store) => wrapFaults(f, inner);

const seqOf = (token: string) => Number(token.slice(token.lastIndexOf(':') + 1));

function open<T extends TableDef>(
  o: Partial<WriterOptions<T>> & { store: Store; table: T },
  logs: string[] = [],
): Promise<BatchWriter<T>> {
  return BatchWriter.open({
    spoolDir: freshDir(),
    retryMinMs: 20,
    retryMaxMs: 200,
    spool: { fsync: 'never' },
    log: (level, m) => logs.push(`${level}: ${m}`),
    ...o,
  });
}

/** Builds the ingest modules into dist/ for the child processes (only when stale). */
async function buildIngest(): Promise<void> {
  const names = [
    'writer',
    'spool',
    'store',
    'arrow-batch',
    'encode',
    'schema',
    'columns',
    'migrations',
    'ddl',
    'stop-signals',
    'quarantine',
    'split-batch',
  ];
  const stale = () =>
    names.filter((name) => {
      const src = join(ROOT, 'ingest', `${name}.ts`);
      const out = join(ROOT, 'dist', 'ingest', `${name}.js`);
      return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
    });
  if (stale().length === 0) return;
  // the modules and what they import, with the project's compiler options (npm test's
  // pretest builds everything; this keeps the suite runnable on its own)
  const r = await runNode(
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      ...['--outDir', 'dist', '--rootDir', '.', '--module', 'NodeNext', '--moduleResolution', 'NodeNext'],
      ...['--target', 'ES2022', '--lib', 'ES2023', '--types', 'node', '--strict', '--skipLibCheck'],
      ...['--esModuleInterop', '--resolveJsonModule', '--verbatimModuleSyntax', '--sourceMap'],
      'ingest/writer.ts',
      'ingest/store.ts',
      'ingest/migrations.ts',
      'ingest/stop-signals.ts',
    ],
    60_000,
  );
  if (stale().length > 0) throw new Error(`building dist/ingest failed: ${r.stdout}${r.stderr}`);
}

interface Proc {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startNode(args: string[]): Proc {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('close', (code, signal) => res({ code, signal })),
  );
  return { child, lines, stderr: () => err, exited };
}

async function runNode(args: string[], timeoutMs = 30_000) {
  const p = startNode(args);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const r = await p.exited;
  clearTimeout(timer);
  return { ...r, stdout: p.lines.join('\n'), stderr: p.stderr() };
}

beforeAll(async () => {
  store = await openStore({ dataDir: join(root, 'ch') });
  await migrate(store.client, { database: store.database, retention: DEFAULT_RETENTION });
});

afterAll(async () => {
  await store?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('BatchWriter on embedded chDB', () => {
  it('batches by rows: a batch closes at maxRows; flush() sends the open one', async () => {
    const s = faultStore({});
    const w = await open({ store: s, table: vf_counters, maxRows: 1000, maxAgeMs: 60_000 });
    expect(w.format).toBe('ArrowStream');
    for (let i = 0; i < 2500; i++) expect(w.write(vfRow('by-rows', i))).toBe(true);
    await until(() => s.calls.length === 2);
    expect(s.calls.map((x) => x.rows)).toEqual([1000, 1000]);
    expect(s.calls.map((x) => x.format)).toEqual(['ArrowStream', 'ArrowStream']);
    expect(w.stats().openRows).toBe(500);
    await w.flush();
    expect(s.calls.map((x) => x.rows)).toEqual([1000, 1000, 500]);
    expect(await summary('by-rows')).toEqual(exactlyOnce(2500));
    expect(w.stats()).toMatchObject({ accepted: 2500, written: 2500, spooled: 0, dropped: 0 });
    await w.close();
  });

  it('batches by age: a batch closes maxAgeMs after its first row', async () => {
    const s = faultStore({});
    const w = await open({ store: s, table: vf_counters, maxAgeMs: 150 });
    const t0 = Date.now();
    w.writeMany([0, 1, 2, 3, 4].map((i) => vfRow('by-age', i)));
    await sleep(50);
    w.writeMany([5, 6, 7, 8, 9].map((i) => vfRow('by-age', i)));
    await until(() => s.calls.length === 1 && s.calls[0].stored);
    expect(s.calls[0].at - t0).toBeGreaterThanOrEqual(140);
    expect(s.calls[0].at - t0).toBeLessThan(1000);
    expect(s.calls[0].rows).toBe(10);
    w.write(vfRow('by-age', 10));
    await until(() => s.calls.length === 2 && s.calls[1].stored);
    expect(await summary('by-age')).toEqual(exactlyOnce(11));
    await w.close();
  });

  it('backpressure: with a slow store (fault-injected) producers are made to wait and memory stays bounded', async () => {
    const s = faultStore({ delayMs: 25 });
    const w = await open({ store: s, table: vf_counters, maxRows: 100, maxAgeMs: 60_000, queueBatches: 2 });
    let waits = 0;
    let maxQueued = 0;
    let maxBytes = 0;
    const t0 = Date.now();
    for (let i = 0; i < 2000; i++) {
      const r = w.write(vfRow('backpressure', i));
      if (r !== true) {
        waits++;
        await r;
      }
      const st = w.stats();
      maxQueued = Math.max(maxQueued, st.queuedBatches);
      maxBytes = Math.max(maxBytes, st.queuedBytes);
    }
    await w.flush();
    const elapsed = Date.now() - t0;
    // 20 batches through a 25 ms store: the producer was held to the store's pace
    expect(waits).toBeGreaterThan(10);
    expect(elapsed).toBeGreaterThan(17 * 25);
    // two queued + the one in flight, never more
    expect(maxQueued).toBeLessThanOrEqual(3);
    expect(maxBytes).toBeLessThanOrEqual(3 * Math.max(...s.calls.map((x) => x.bytes)));
    expect(await summary('backpressure')).toEqual(exactlyOnce(2000));
    expect(w.stats().spooled).toBe(0);
    await w.close();
  });

  it('fault-injected store down → batches spool → store back → replay in order, every row exactly once', async () => {
    const f: Faults = { down: true };
    const s = faultStore(f);
    const logs: string[] = [];
    const w = await open({ store: s, table: vf_counters, maxRows: 500, maxAgeMs: 50 }, logs);
    let id = 0;
    const writeN = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const r = w.write(vfRow('down-up', id++));
        if (r !== true) await r;
      }
    };
    await writeN(3000);
    await w.flush();
    expect(w.stats()).toMatchObject({
      accepted: 3000,
      spooled: 3000,
      written: 0,
      spooling: true,
      storeUp: false,
    });
    expect(w.stats().spoolBytes).toBeGreaterThan(3000 * 50);
    let metrics = await w.registry.metrics();
    expect(metrics).toContain('podwire_ingest_spooling{table="vf_counters"} 1');
    expect(metrics).toMatch(/podwire_ingest_spool_bytes\{table="vf_counters"\} [1-9]\d+/);
    // still down: more batches queue up behind on disk, producers are not held up
    await writeN(1000);
    await w.flush();
    expect(w.stats().spooled).toBe(4000);
    // back: the spool replays while new rows keep coming
    f.down = false;
    await writeN(3000);
    await w.drain();

    expect(await summary('down-up')).toEqual(exactlyOnce(7000));
    const st = w.stats();
    expect(st).toMatchObject({ accepted: 7000, written: 7000, dropped: 0, spooling: false, spoolBytes: 0 });
    expect(st.replayed).toBeGreaterThanOrEqual(4000);
    // in order: the stored batches are 1, 2, 3, … each once
    const stored = s.calls.filter((x) => x.stored).map((x) => seqOf(x.token));
    expect(stored).toEqual(stored.map((_, i) => i + 1));
    expect(logs.join('\n')).toMatch(/insert into .* failed \(connect ECONNREFUSED .*\): spooling to /);
    expect(logs.join('\n')).toContain('spool replayed: direct sends resume');
    metrics = await w.registry.metrics();
    for (const line of [
      'podwire_ingest_rows_accepted_total{table="vf_counters"} 7000',
      'podwire_ingest_rows_written_total{table="vf_counters"} 7000',
      `podwire_ingest_rows_spooled_total{table="vf_counters"} ${st.spooled}`,
      `podwire_ingest_rows_replayed_total{table="vf_counters"} ${st.replayed}`,
      'podwire_ingest_spool_bytes{table="vf_counters"} 0',
      'podwire_ingest_spooling{table="vf_counters"} 0',
    ]) {
      expect(metrics).toContain(line);
    }
    expect(metrics).toMatch(
      /podwire_ingest_batch_duration_seconds_count\{table="vf_counters",path="replay"\} [1-9]/,
    );
    expect(metrics).toMatch(/podwire_ingest_insert_errors_total\{table="vf_counters"\} [1-9]/);
    await w.close();
  });

  it('dedup: batches whose answer was lost (fault-injected) are retried and stored once — rollup too', async () => {
    const f: Faults = { lostAcks: 3 };
    const s = faultStore(f);
    const w = await open({ store: s, table: vf_counters, maxRows: 500, maxAgeMs: 60_000 });
    for (let i = 0; i < 3000; i++) w.write(vfRow('lost-ack', i));
    await w.drain();
    const stored = s.calls.filter((x) => x.stored).map((x) => x.token);
    // the same batch really went in more than once …
    expect(stored.length).toBe(6 + 3);
    expect(new Set(stored).size).toBe(6);
    // … and is there once: insert_deduplication_token
    expect(await summary('lost-ack')).toEqual(exactlyOnce(3000));
    // the materialized view's blocks are deduplicated too
    expect(
      await scalars(store, `SELECT sum(samples) AS n FROM podwire.vf_counters_1h WHERE node = 'lost-ack'`),
    ).toEqual({ n: 3000 });
    expect(w.stats()).toMatchObject({ written: 3000, dropped: 0 });
    await w.close();
  });

  it('a batch the store refuses as bad data is set aside in the quarantine and counted, and does not block what follows', async () => {
    const logs: string[] = [];
    const w = await open({ store, table: flows, maxAgeMs: 60_000 }, logs);
    w.write(row('rejected', 0, 'not-an-address'));
    await w.flush();
    for (let i = 1; i <= 10; i++) w.write(row('rejected', i, '::ffff:10.0.0.1'));
    await w.drain();
    expect(w.stats()).toMatchObject({ accepted: 11, written: 10, dropped: 1, spooled: 0, spooling: false });
    expect(
      await scalars(store, `SELECT count() AS n FROM podwire.flows WHERE observation = 'rejected'`),
    ).toEqual({ n: 10 });
    expect(await w.registry.metrics()).toContain(
      'podwire_ingest_rows_dropped_total{table="flows",reason="rejected"} 1',
    );
    const kept = readdirSync(w.quarantine.dir).filter((f) => f.endsWith('.tsv'));
    expect(kept.map((f) => readFileSync(join(w.quarantine.dir, f), 'utf8'))).toEqual([
      expect.stringContaining('\tnot-an-address\t'),
    ]);
    expect(logs.join('\n')).toMatch(
      /1 of 1 rows refused by the store as bad data \(CANNOT_PARSE_IPV6\).*Code: 676\..*IPv6/,
    );
    await w.close();
  });

  it('a failing spool disk: rows are counted as dropped (spool_error, spool_full), never silently', async () => {
    const f: Faults = { down: true };
    const logs: string[] = [];
    const spoolDir = freshDir();
    const w = await open({ store: faultStore(f), table: vf_counters, spoolDir, maxRows: 500 }, logs);
    // the table's spool directory is gone and a file sits in its place
    rmSync(join(spoolDir, 'vf_counters'), { recursive: true });
    writeFileSync(join(spoolDir, 'vf_counters'), 'not a directory');
    for (let i = 0; i < 1000; i++) w.write(vfRow('spool-broken', i));
    await w.flush();
    expect(w.stats()).toMatchObject({ accepted: 1000, spooled: 0, written: 0, dropped: 1000 });
    expect(await w.registry.metrics()).toContain(
      'podwire_ingest_rows_dropped_total{table="vf_counters",reason="spool_error"} 1000',
    );
    expect(logs.join('\n')).toMatch(/500 rows dropped \(spool_error\): cannot append to the spool .*ENOTDIR/);
    await w.close();

    // a spool at its size limit
    const f2: Faults = { down: true };
    const w2 = await open({
      store: faultStore(f2),
      table: vf_counters,
      maxRows: 100,
      spool: { fsync: 'never', maxBytes: 40_000 },
    });
    for (let i = 0; i < 1000; i++) w2.write(vfRow('spool-full', i));
    await w2.flush();
    const st = w2.stats();
    expect(st.dropped).toBeGreaterThan(0);
    expect(st.spooled).toBeGreaterThan(0);
    expect(st.spooled + st.dropped).toBe(1000);
    expect(await w2.registry.metrics()).toContain(
      `podwire_ingest_rows_dropped_total{table="vf_counters",reason="spool_full"} ${st.dropped}`,
    );
    f2.down = false;
    await w2.drain();
    expect((await summary('spool-full')).n).toBe(st.spooled);
    await w2.close();
  });

  for (const format of ['arrow', 'tsv'] as const) {
    it(`a row that cannot be encoded throws a clear error, is counted as dropped (invalid) and leaves nothing in the batch (${format})`, async () => {
      const tag = `invalid-${format}`;
      const w = await open({ store, table: vf_counters, maxAgeMs: 60_000, format });
      expect(w.format).toBe(format === 'arrow' ? 'ArrowStream' : 'TabSeparated');
      w.write(vfRow(tag, 0));
      // missing half-way through the row (the columns before it are fine)
      const bad = { ...vfRow(tag, 1), pod: undefined } as unknown as RowOf<typeof vf_counters>;
      expect(() => w.writeMany([vfRow(tag, 1), bad, vfRow(tag, 2)])).toThrow(
        `vf_counters.pod: missing value`,
      );
      w.write(vfRow(tag, 2));
      if (format === 'arrow') {
        // of the wrong type, half-way through the row: a TypeError too, not a broken batch
        const wrong = { ...vfRow(tag, 3), tier: 7 } as unknown as RowOf<typeof vf_counters>;
        expect(() => w.write(wrong)).toThrow(/^vf_counters\.tier: not a string/);
        const big = { ...vfRow(tag, 3), rx_bytes: 3n } as unknown as RowOf<typeof vf_counters>;
        expect(() => w.write(big)).toThrow(TypeError);
      }
      w.write(vfRow(tag, 3));
      await w.close();
      // the rows before it were taken, the bad ones counted; each row whole (not shifted)
      const bad_rows = format === 'arrow' ? 3 : 1;
      const sum = await summary(tag);
      expect(sum).toEqual(exactlyOnce(4));
      expect(
        await scalars(
          store,
          `SELECT count() AS n FROM podwire.vf_counters WHERE node = '${tag}' AND (pod != concat('pod-', toString(rx_bytes % 97))
             OR namespace != concat('ns-', toString(rx_bytes % 5)) OR vf != rx_bytes % 64 OR tx_bytes != rx_bytes * 3)`,
        ),
      ).toEqual({ n: 0 });
      expect(w.stats()).toMatchObject({ accepted: 4, written: 4, dropped: bad_rows });
      expect(await w.registry.metrics()).toContain(
        `podwire_ingest_rows_dropped_total{table="vf_counters",reason="invalid"} ${bad_rows}`,
      );
    });
  }

  it('close() stores the open batch; write() after close throws', async () => {
    const w = await open({ store, table: vf_counters, maxAgeMs: 60_000 });
    for (let i = 0; i < 10; i++) w.write(vfRow('close', i));
    await w.close();
    expect(await summary('close')).toEqual(exactlyOnce(10));
    expect(() => w.write(vfRow('close', 10))).toThrow(WriterClosedError);
  });
  it('writeEncoded: a pre-built batch goes as one batch of its own, after the open batch (order kept); its rows are counted', async () => {
    const s = faultStore({});
    const tag = 'encoded';
    const w = await open({ store: s, table: vf_counters, maxRows: 1000, maxAgeMs: 60_000 });
    for (let i = 0; i < 10; i++) w.write(vfRow(tag, i));
    // larger than maxRows: still one batch
    expect(w.writeEncoded(vfBatch(tag, 10, 2510))).toBe(true);
    w.writeMany(Array.from({ length: 10 }, (_, k) => vfRow(tag, 2510 + k)));
    expect(w.writeEncoded(vfBatch(tag, 2520, 2620, 'TabSeparated'))).toBe(true);
    // an empty batch: nothing to send, the open batch (none) stays as it is
    expect(w.writeEncoded(vfBatch(tag, 2620, 2620))).toBe(true);
    expect(w.stats()).toMatchObject({ accepted: 2620, openRows: 0 });
    w.write(vfRow(tag, 2620));
    await w.flush();
    expect(s.calls.map((x) => [seqOf(x.token), x.format, x.rows])).toEqual([
      [1, 'ArrowStream', 10],
      [2, 'ArrowStream', 2500],
      [3, 'ArrowStream', 10],
      [4, 'TabSeparated', 100],
      [5, 'ArrowStream', 1],
    ]);
    expect(await summary(tag)).toEqual(exactlyOnce(2621));
    expect(w.stats()).toMatchObject({ accepted: 2621, written: 2621, dropped: 0 });
    expect(await w.registry.metrics()).toContain(
      'podwire_ingest_rows_accepted_total{table="vf_counters"} 2621',
    );

    // a batch of another table (other columns): refused, its rows counted as dropped
    const other = new ArrowBatchBuilder(flows);
    other.add(row(tag, 0, '::ffff:10.0.0.1'));
    other.add(row(tag, 1, '::ffff:10.0.0.1'));
    expect(() => w.writeEncoded(other.finish())).toThrow(/writeEncoded takes a vf_counters batch/);
    const shuffled = vfBatch(tag, 0, 3);
    expect(() => w.writeEncoded({ ...shuffled, columns: [...shuffled.columns].reverse() })).toThrow(
      TypeError,
    );
    expect(w.stats()).toMatchObject({ accepted: 2621, dropped: 5 });
    expect(await w.registry.metrics()).toContain(
      'podwire_ingest_rows_dropped_total{table="vf_counters",reason="invalid"} 5',
    );
    await w.close();
    expect(() => w.writeEncoded(vfBatch(tag, 0, 1))).toThrow(WriterClosedError);
  });

  it('writeEncoded: the same backpressure contract (a slow store, fault-injected)', async () => {
    const s = faultStore({ delayMs: 30 });
    const w = await open({ store: s, table: vf_counters, queueBatches: 2, maxAgeMs: 60_000 });
    let waits = 0;
    let maxQueued = 0;
    for (let b = 0; b < 12; b++) {
      const r = w.writeEncoded(vfBatch('encoded-bp', b * 100, b * 100 + 100));
      if (r !== true) {
        waits++;
        await r;
      }
      maxQueued = Math.max(maxQueued, w.stats().queuedBatches);
    }
    await w.flush();
    expect(waits).toBeGreaterThan(5);
    expect(maxQueued).toBeLessThanOrEqual(3);
    expect(s.calls.map((x) => x.rows)).toEqual(Array(12).fill(100));
    expect(await summary('encoded-bp')).toEqual(exactlyOnce(1200));
    await w.close();
  });

  it('maxBatchBytes bounds Arrow batches too (estimated from the bytes a row took)', async () => {
    const s = faultStore({});
    const w = await open({
      store: s,
      table: vf_counters,
      maxRows: 100_000,
      maxBatchBytes: 200_000,
      maxAgeMs: 60_000,
    });
    for (let i = 0; i < 20_000; i++) w.write(vfRow('arrow-bytes', i));
    await w.flush();
    expect(s.calls.length).toBeGreaterThanOrEqual(9);
    expect(Math.max(...s.calls.map((x) => x.bytes))).toBeLessThanOrEqual(200_000 * 1.1);
    expect(await summary('arrow-bytes')).toEqual(exactlyOnce(20_000));
    await w.close();
  });

  it('a spool of Arrow batches (after TSV records of an earlier run) replays into chDB exactly once, and again only once', async () => {
    const spoolDir = freshDir();
    const tag = 'arrow-spool';
    // an earlier run sent TSV, a later one Arrow (and a pre-built batch); the store was down for both
    const tsvRun = await open({
      store: faultStore({ down: true }),
      table: vf_counters,
      spoolDir,
      format: 'tsv',
      maxRows: 400,
      maxAgeMs: 60_000,
    });
    for (let i = 0; i < 1000; i++) tsvRun.write(vfRow(tag, i));
    await tsvRun.flush();
    await tsvRun.close();
    const arrowRun = await open({
      store: faultStore({ down: true }),
      table: vf_counters,
      spoolDir,
      maxRows: 500,
      maxAgeMs: 60_000,
    });
    for (let i = 1000; i < 3000; i++) arrowRun.write(vfRow(tag, i));
    arrowRun.writeEncoded(vfBatch(tag, 3000, 4000));
    await arrowRun.flush();
    await arrowRun.close();
    expect(tsvRun.stats()).toMatchObject({ spooled: 1000, dropped: 0 });
    expect(arrowRun.stats()).toMatchObject({ spooled: 3000, dropped: 0 });
    const tableDir = join(spoolDir, 'vf_counters');
    const records = (await Promise.all(spoolFilesOf(tableDir).map(readSpoolFile))).flatMap((f) => f.records);
    expect(records.map((r) => [r.format, r.rows])).toEqual([
      ['TabSeparated', 400],
      ['TabSeparated', 400],
      ['TabSeparated', 200],
      ['ArrowStream', 500],
      ['ArrowStream', 500],
      ['ArrowStream', 500],
      ['ArrowStream', 500],
      ['ArrowStream', 1000],
    ]);
    // the Arrow records hold the rows (id = rx_bytes) they say
    const ids = records
      .filter((r) => r.format === 'ArrowStream')
      .flatMap((r) => [...(tableFromIPC(r.body).getChild('rx_bytes')?.toArray() ?? [])]);
    expect(ids).toEqual(Array.from({ length: 3000 }, (_, i) => 1000 + i));
    // a copy of the spool, to replay a second time below (as if replay.pos were lost)
    const again = freshDir();
    cpSync(spoolDir, again, { recursive: true });

    const w = await open({ store, table: vf_counters, spoolDir });
    await w.drain();
    await w.close();
    expect(w.stats()).toMatchObject({ replayed: 4000, written: 4000, dropped: 0, spooling: false });
    expect(await summary(tag)).toEqual(exactlyOnce(4000));
    expect(spoolFilesOf(tableDir)).toEqual([]);

    const w2 = await open({ store, table: vf_counters, spoolDir: again });
    await w2.drain();
    await w2.close();
    expect(w2.stats()).toMatchObject({ replayed: 4000, dropped: 0 });
    // every batch's dedup token was seen: stored once, the rollup too
    expect(await summary(tag)).toEqual(exactlyOnce(4000));
    expect(
      await scalars(store, `SELECT sum(samples) AS n FROM podwire.vf_counters_1h WHERE node = '${tag}'`),
    ).toEqual({ n: 4000 });
  });
});

describe('writer processes', () => {
  beforeAll(buildIngest, 120_000);

  it('SIGKILL while spooling → the next start replays every complete batch exactly once; a torn tail is truncated', async () => {
    const spoolDir = freshDir();
    const p = startNode([CHILD, 'spool', spoolDir, 'sigkill']);
    let reported = 0;
    await until(() => {
      const last = p.lines.at(-1);
      reported = last ? Number(last.split(' ')[1]) : 0;
      return reported >= 20_000 || p.child.exitCode !== null;
    }, 20_000);
    p.child.kill('SIGKILL');
    expect((await p.exited).signal, p.stderr()).toBe('SIGKILL');

    // the crash tore the last append of the newest file (simulated: a SIGKILL between
    // two writes; one writev per record makes whole records the rule)
    const tableDir = join(spoolDir, 'vf_counters');
    const files = readdirSync(tableDir)
      .filter((x) => x.endsWith('.spool'))
      .sort()
      .map((x) => join(tableDir, x))
      .filter((x) => statSync(x).size > 0);
    expect(files.length).toBeGreaterThan(1);
    const newest = files.at(-1)!;
    const { records } = await readSpoolFile(newest);
    // the child's writer sent Arrow (its store took it): the spool holds Arrow batches
    expect(new Set(records.map((r) => r.format))).toEqual(new Set(['ArrowStream']));
    const last = records.at(-1)!;
    truncateSync(newest, last.offset + 100);

    const logs: string[] = [];
    const w = await open({ store, table: vf_counters, spoolDir }, logs);
    await w.drain();
    await w.close();
    const got = await summary('sigkill');
    // a prefix of the rows, ids 0..M-1 each exactly once: every complete batch
    expect(got).toEqual(exactlyOnce(got.n));
    expect(got.n).toBeGreaterThanOrEqual(reported - last.rows);
    expect(got.n % 1000).toBe(0);
    expect(logs.join('\n')).toContain(`spool ${newest}: torn last record at offset ${last.offset}`);
    const metrics = await w.registry.metrics();
    expect(metrics).toContain('podwire_ingest_spool_torn_tails_total{table="vf_counters"} 1');
    expect(metrics).toContain('podwire_ingest_spool_quarantined_files_total{table="vf_counters"} 0');
    expect(readdirSync(tableDir).filter((x) => x.includes('.spool'))).toEqual([]);
  });

  it('SIGTERM with the store up: close() stores every accepted row, exit 0', async () => {
    const spoolDir = freshDir();
    const dataDir = join(freshDir(), 'ch');
    const p = startNode([CHILD, 'sigterm-up', spoolDir, dataDir, 'sigterm-up', '5500']);
    await until(() => p.lines.some((l) => l.startsWith('ready')) || p.child.exitCode !== null, 20_000);
    expect(p.lines, p.stderr()).toContain('ready 5500');
    p.child.kill('SIGTERM');
    expect(await p.exited, p.stderr()).toEqual({ code: 0, signal: null });
    // the child's data directory, read by another process (one chDB data dir per process)
    const counted = await runNode([CHILD, 'count', dataDir, 'sigterm-up']);
    expect(JSON.parse(counted.stdout), counted.stderr).toEqual(exactlyOnce(5500));
    expect(readdirSync(join(spoolDir, 'vf_counters')).filter((x) => x.endsWith('.spool'))).toEqual([]);
  });

  it('SIGTERM with a hanging store: close() spools what it cannot send by its deadline; the next start replays it', async () => {
    const spoolDir = freshDir();
    const p = startNode([CHILD, 'sigterm-hang', spoolDir, 'sigterm-hang', '5500']);
    await until(() => p.lines.some((l) => l.startsWith('ready')) || p.child.exitCode !== null, 20_000);
    expect(p.lines, p.stderr()).toContain('ready 5500');
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    expect(await p.exited, p.stderr()).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    const w = await open({ store, table: vf_counters, spoolDir });
    await w.drain();
    await w.close();
    expect(await summary('sigterm-hang')).toEqual(exactlyOnce(5500));
    expect(w.stats().replayed).toBe(5500);
  });
});

describe('an old ClickHouse server (18.16), stopped mid-stream', () => {
  let server: ClickHouseServer;
  let old: Store;
  // a plain table the old server knows; no dedup tokens there (store.ts leaves them out)
  const events = {
    name: 'writer_events',
    columns: { id: c.uint64(), tag: c.string() },
    engine: 'MergeTree',
    orderBy: ['id'],
    shardBy: ['id'],
  } satisfies TableDef;

  beforeAll(async () => {
    server = await startClickHouseServer();
    old = await openStore({ url: server.url });
    await old.client.command({ query: 'CREATE DATABASE IF NOT EXISTS podwire' });
    await old.client.command({
      query: 'CREATE TABLE podwire.writer_events (id UInt64, tag String) ENGINE = MergeTree ORDER BY id',
    });
  }, 120_000);

  afterAll(async () => {
    await old?.close();
    await server?.destroy();
  });

  it('server stopped mid-stream → batches spool → server back → every row present exactly once (count and checksum)', async () => {
    const logs: string[] = [];
    const w = await open(
      { store: old, table: events, maxRows: 500, maxAgeMs: 50, retryMinMs: 100, retryMaxMs: 400 },
      logs,
    );
    const N = 12_000;
    let id = 0;
    const writeUntil = async (to: number) => {
      while (id < to) {
        for (let i = 0; i < 200 && id < to; i++) {
          const r = w.write({ id: id++, tag: 'stop-start' });
          if (r !== true) await r;
        }
        await sleep(10);
      }
    };
    await writeUntil(3000);
    const stopping = server.stop();
    await writeUntil(7000);
    await stopping;
    await writeUntil(8000);
    await until(() => w.stats().spooling);
    await server.start();
    await writeUntil(N);
    await w.drain();
    const st = w.stats();
    await w.close();
    expect(st.spooled).toBeGreaterThan(0);
    expect(st.replayed).toBe(st.spooled);
    expect(st).toMatchObject({ accepted: N, written: N, dropped: 0 });
    const got = await expectIdsOnce(old, 'stop-start', N);
    expect(got).toMatchObject({ n: N, ids: N, s: (N * (N - 1)) / 2 });
    expect(logs.join('\n')).toContain('spool replayed: direct sends resume');
  });

  it('takes no Arrow: the writer sends TSV, and Arrow batches (spooled earlier, or pre-built) are converted', async () => {
    expect(old.insertFormats).toEqual(['TabSeparated']);
    const tag = 'arrow-to-old';
    const spoolDir = freshDir();
    // an earlier run against a store that takes Arrow, down at the time, spooled Arrow batches
    const first = await open({ store: faultStore({ down: true }), table: events, spoolDir, maxRows: 500 });
    expect(first.format).toBe('ArrowStream');
    for (let id = 0; id < 2000; id++) first.write({ id, tag });
    await first.flush();
    await first.close();
    expect(first.stats()).toMatchObject({ spooled: 2000, dropped: 0 });

    const logs: string[] = [];
    const s = faultStore({}, () => old);
    const w = await open({ store: s, table: events, spoolDir, maxRows: 500, maxAgeMs: 60_000 }, logs);
    expect(w.format).toBe('TabSeparated');
    expect(logs.join('\n')).toContain('takes no ArrowStream inserts: sending TabSeparated batches');
    const pre = new ArrowBatchBuilder(events);
    for (let id = 2000; id < 3000; id++) pre.add({ id, tag });
    w.writeEncoded(pre.finish());
    for (let id = 3000; id < 3500; id++) w.write({ id, tag });
    await w.drain();
    await w.close();
    const st = w.stats();
    expect(st).toMatchObject({ accepted: 1500, written: 3500, dropped: 0 });
    // what came while the old spool replayed went behind it (spooled), so all of it replayed
    expect(st.replayed).toBe(2000 + st.spooled);
    // everything reached the server as TSV
    expect(new Set(s.calls.map((x) => x.format))).toEqual(new Set(['TabSeparated']));
    const N = 3500;
    const got = await expectIdsOnce(old, tag, N);
    expect(got).toMatchObject({ n: N, s: (N * (N - 1)) / 2 });
  });
});
