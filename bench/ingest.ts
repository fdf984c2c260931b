/**
 * bench:ingest — 10M flow rows into embedded chDB, as the service stores them: closed
 * windows of flow-table rows (FlowBatches) go through the flow sink, which cuts them into
 * 50k-row Arrow batches straight from the rows (ingest/flow-arrow.ts), a slice at a time,
 * and hands them to the batching writer (backpressure, spool, dedup tokens), which inserts
 * them into chDB (both rollup views included). The flows are made once, before the clock
 * starts, by the real flow table from synthetic packets (500 pods in 7 namespaces talking to
 * their services, on 32 VLANs; 100k flows per 10 s window, 10 distinct windows) and replayed
 * window after window, each later in time: what is timed is storing, not aggregating
 * (bench:packets measures the packet path and its flow table). Prints sustained rows/s,
 * event-loop lag p99 during ingest, and top-talkers latency over the whole range from raw
 * flows and from the 1-hour rollup. Before that, in the same run, the engine's own limit:
 * the same Arrow bytes (one 250k-row flow batch, the size the sink grows to) inserted by
 * chDB itself, INSERT … FROM file() in a loop with nothing of podwire around it, into a
 * fresh database with the same schema; podwire's ratio to it is printed.
 * Last line: `rows/s: N`.
 * Targets: >= 500,000 rows/s, lag p99 < 50 ms, top talkers < 100 ms (1 h rollup) and
 * < 500 ms (raw).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { parseInventory } from '../collector/attribution/inventory.js';
import { parseIpv4 } from '../collector/decode/addr.js';
import { DecodedPacket, IpProto, Layer } from '../collector/decode/packet.js';
import { type FlowBatch, FlowTable } from '../collector/flows/flow-table.js';
import { FlowArrowBuilder } from '../ingest/flow-arrow.js';
import { FlowSink } from '../ingest/flow-sink.js';
import { migrate } from '../ingest/migrations.js';
import { topTalkers } from '../ingest/queries.js';
import { DEFAULT_RETENTION, flows } from '../ingest/schema.js';
import { openStore } from '../ingest/store.js';
import { BatchWriter } from '../ingest/writer.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50_000);
/** flows per 10 s window: the time range grows with ROWS (10M rows: ~2.8 h) */
const PER_WINDOW = 100_000;
const T0 = Date.parse('2026-11-25T00:00:00Z') / 1000;

const dir = mkdtempSync(join(tmpdir(), 'podwire-bench-ingest-'));
const store = await openStore({ dataDir: join(dir, 'ch'), database: 'bench' });
await migrate(store.client, { database: store.database, retention: DEFAULT_RETENTION });

// diagnostic: BENCH_NO_MV=1 measures raw inserts without the rollup views
if (process.env.BENCH_NO_MV === '1') {
  for (const v of ['flows_1m_mv', 'flows_1h_mv'])
    await store.client.command({ query: `DROP VIEW bench.${v}` });
}

const PODS = 500;
const from = new Date((T0 - 3600) * 1000).toISOString();
const pods = Array.from({ length: PODS }, (_, i) => ({
  namespace: `tenant-${i % 7}`,
  pod: `pod-${i}`,
  node: `node-${i % 32}`,
  mode: 'l2',
  interface: 'eth0',
  network: `vlan-${100 + (i % 32)}`,
  tier: ['high', 'standard', 'best-effort'][i % 3],
  vlan: 100 + (i % 32),
  mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
  ips: [`10.${100 + (i % 32)}.${i >> 8}.${i & 255}`],
  from,
}));
const index = EndpointIndex.fromInventory(parseInventory({ version: 1, endpoints: pods }));
/** each pod talks to a few services, as pods do; all on the pod's own VLAN here */
const peers = pods.map((p, i) =>
  pods.flatMap((q, j) => (j !== i && q.vlan === p.vlan ? [j] : [])).slice(0, 4),
);

let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};

// ── the flows, made once by the real flow table (untimed) ───────────────────────────────
const DISTINCT = 10;
const made: FlowBatch[] = [];
const table = new FlowTable({ index, counters: new AttributionCounters(), onFlows: (b) => made.push(b) });
const p = new DecodedPacket();
p.layers = Layer.ETHERNET | Layer.IPV4 | Layer.TCP;
p.ipVersion = 4;
p.protocol = IpProto.TCP;
p.tcpFlags = 0x18;
const macs = pods.map((x) => Number.parseInt(x.mac.replaceAll(':', ''), 16));
const ips = pods.map((x) => parseIpv4(x.ips[0]));
for (let i = 0; i < DISTINCT * PER_WINDOW; i++) {
  const si = (rand() * rand() * PODS) | 0; // skewed: a few pods talk most
  const di = peers[si][(rand() * 4) | 0];
  p.vlan = pods[si].vlan;
  p.srcMac = macs[si];
  p.dstMac = macs[di];
  p.src4 = ips[si];
  p.dst4 = ips[di];
  p.srcPort = 1024 + (i % 60000); // every packet a new flow
  p.dstPort = 443 + (i % 61);
  p.innerLength = 64 + ((rand() * 1400) | 0);
  const sec = T0 + Math.floor(i / PER_WINDOW) * 10;
  table.add(p, sec, sec * 1e6, -1, 1);
}
table.flush();
const span = DISTINCT * 10;

// ── the engine's own limit: chDB inserting the same Arrow bytes, nothing of podwire around ──
const ENGINE_BATCH = 5 * BATCH;
const one = new FlowArrowBuilder(() => 'bench', ENGINE_BATCH);
for (const b of made) {
  if (one.rows >= ENGINE_BATCH) break;
  one.add(b, 0, Math.min(b.count, ENGINE_BATCH - one.rows));
}
const sample = one.finish();
const arrowFile = join(dir, 'engine-batch.arrows');
writeFileSync(arrowFile, sample.body);
await migrate(store.client, { database: 'bench_engine', retention: DEFAULT_RETENTION });
const cols = sample.columns.join(', ');
const te = performance.now();
let engineRows = 0;
for (let i = 0; engineRows < ROWS; i++) {
  await store.client.command({
    query: `INSERT INTO bench_engine.flows (${cols}) SETTINGS insert_deduplication_token = 'e${i}' SELECT ${cols} FROM file('${arrowFile}', 'ArrowStream')`,
  });
  engineRows += sample.rows;
}
const engineRate = engineRows / ((performance.now() - te) / 1000);
await store.client.command({ query: 'DROP DATABASE bench_engine SYNC' });

// ── storing them (timed) ─────────────────────────────────────────────────────────────────
const writer = await BatchWriter.open({ store, table: flows, spoolDir: join(dir, 'spool'), maxRows: BATCH });
let sent = 0;
let batches = 0;
const sink = new FlowSink({
  names: () => 'bench',
  batchRows: BATCH,
  send: (b) => {
    sent += b.rows;
    batches++;
    return writer.writeEncoded(b);
  },
  // as the service runs it: batches grow while the store is behind (ingest/flow-sink.ts)
  busy: () => writer.stats().queuedBatches > 0,
});

const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
const t0 = performance.now();
let queued = 0;
for (let round = 0; queued < ROWS; round++) {
  for (const b of made) {
    if (queued >= ROWS) break;
    const n = Math.min(b.count, ROWS - queued);
    // a window closing: the flow table hands the sink its batch, which encodes it in slices
    sink.onFlows(b.shifted(round * span, n));
    queued += n;
    while (sink.pending > 0) {
      await sink.pump();
      await new Promise((r) => setImmediate(r)); // the service's other work runs between slices
    }
  }
}
await sink.flush();
await writer.flush();
const secs = (performance.now() - t0) / 1000;
lag.disable();

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[2];
}
const ctx = { client: store.client, database: store.database };
const range = {
  from: T0 - (T0 % 3600),
  to: T0 - (T0 % 3600) + Math.ceil(((ROWS / PER_WINDOW) * 10) / 3600 + 1) * 3600,
};
const rollupMs = await timed(() => topTalkers(ctx, { ...range, by: 'pod', limit: 10 }));
const rawMs = await timed(() => topTalkers(ctx, { ...range, by: 'pod', limit: 10, table: 'flows' }));
const rs = await store.client.query({ query: 'SELECT count() AS n FROM bench.flows', format: 'JSONEachRow' });
const stored = Number(((await rs.json()) as { n: string }[])[0].n);
// bytes per stored row with the schema's codecs, after merging (what a disk holds for long)
await store.client.command({ query: 'OPTIMIZE TABLE bench.flows FINAL' });
const sizes = await store.client.query({
  query: `SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS packed, sum(data_uncompressed_bytes) AS plain
    FROM system.parts WHERE database = 'bench' AND active AND table IN ('flows', 'flows_1m', 'flows_1h')
    GROUP BY table ORDER BY table`,
  format: 'JSONEachRow',
});
const perRow = ((await sizes.json()) as { table: string; rows: string; packed: string; plain: string }[]).map(
  (r) =>
    `${r.table} ${(Number(r.packed) / Number(r.rows)).toFixed(1)} B/row (${(Number(r.plain) / Number(r.packed)).toFixed(1)}× compressed, ${Number(r.rows).toLocaleString('en')} rows)`,
);
const spooled = writer.stats();
await writer.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

if (stored !== ROWS || sent !== ROWS)
  throw new Error(`stored ${stored} rows (sent ${sent}), expected ${ROWS}`);
console.log(
  `rows: ${ROWS.toLocaleString('en')} flows in ${secs.toFixed(1)} s, ${batches} inserts (Arrow batches of ${BATCH.toLocaleString('en')} rows, up to ${(5 * BATCH).toLocaleString('en')} while the store is behind)`,
);
console.log(
  `writer: ${spooled.written.toLocaleString('en')} rows written, ${spooled.spooled} spooled, ${spooled.dropped} dropped`,
);
console.log(
  `event-loop lag p99: ${(lag.percentile(99) / 1e6).toFixed(1)} ms (max ${(lag.max / 1e6).toFixed(1)} ms)`,
);
console.log(
  `top talkers over ${((range.to - range.from) / 3600).toFixed(0)} h from flows_1h: ${rollupMs.toFixed(0)} ms, from raw flows: ${rawMs.toFixed(0)} ms`,
);
console.log(
  `engine limit (chDB inserting the same Arrow bytes, ${sample.rows.toLocaleString('en')}-row batches): ${Math.round(engineRate).toLocaleString('en')} rows/s; podwire at ${((100 * ROWS) / secs / engineRate).toFixed(0)}% of it`,
);
console.log(`stored size: ${perRow.join('; ')}`);
console.log(`rows/s: ${Math.round(ROWS / secs)}`);
