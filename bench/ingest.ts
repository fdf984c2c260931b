/**
 * bench:ingest — 10M flow rows into embedded chDB through the batching writer (Arrow
 * batches of 50k rows), with the producer generating realistic rows (500 pods in 7
 * namespaces, 32 VLANs, a few VNIs) in the same process. Prints sustained rows/s,
 * event-loop lag p99 during ingest, and top-talkers latency over the whole range from raw
 * flows and from the 1-hour rollup. Last line: `rows/s: N`.
 * Targets: >= 500,000 rows/s, lag p99 < 50 ms, top talkers < 100 ms (1 h rollup) and
 * < 500 ms (raw).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ArrowBatchBuilder } from '../ingest/arrow-batch.js';
import type { FlowRow } from '../ingest/flow-rows.js';
import { migrate } from '../ingest/migrations.js';
import { topTalkers } from '../ingest/queries.js';
import { DEFAULT_RETENTION, flows } from '../ingest/schema.js';
import { openStore } from '../ingest/store.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50_000);
/** one day of 10 s windows */
const T0 = Date.parse('2026-11-25T00:00:00Z') / 1000;
const SPAN = 86_400;

const dir = mkdtempSync(join(tmpdir(), 'podwire-bench-ingest-'));
const store = await openStore({ dataDir: join(dir, 'ch'), database: 'bench' });
await migrate(store.client, {
  database: store.database,
  retention: { ...DEFAULT_RETENTION, flows: 3650, flows_1m: 3650, flows_1h: 3650 },
});

const pods = Array.from({ length: 500 }, (_, i) => ({
  namespace: `tenant-${i % 7}`,
  pod: `pod-${i}`,
  node: `node-${i % 32}`,
  interface: i % 5 === 0 ? 'net1' : 'eth0',
  network: i % 5 === 0 ? 'overlay-1' : `vlan-${100 + (i % 32)}`,
  tier: ['high', 'standard', 'best-effort'][i % 3],
  vlan: 100 + (i % 32),
  vni: i % 5 === 0 ? 5001 + (i % 4) : -1,
  ip: `10.${100 + (i % 32)}.${i >> 8}.${i & 255}`,
}));

let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};

/** each pod talks to a few services, as pods do (not to every other pod) */
const peers = pods.map((_, i) => Array.from({ length: 4 }, (_, k) => pods[(i * 31 + k * 97 + 7) % 500]));

function row(i: number): FlowRow {
  const si = (rand() * rand() * 500) | 0; // skewed: a few pods talk most
  const s = pods[si];
  const d = peers[si][(rand() * 4) | 0];
  const packets = 1 + ((rand() * 200) | 0);
  return {
    window_start: T0 + Math.floor(((i / ROWS) * SPAN) / 10) * 10,
    window_seconds: 10,
    observation: 'bench',
    vlan: s.vni >= 0 ? 0 : s.vlan,
    vni: s.vni,
    src_mac: 0x020000000000 + (s.vlan << 12),
    dst_mac: 0x020000000000 + (d.vlan << 12),
    src_ip: s.ip,
    dst_ip: d.ip,
    src_port: 1024 + ((rand() * 60000) | 0),
    dst_port: [80, 443, 5432, 8080][i & 3],
    protocol: 6,
    tcp_flags: 0x18,
    src_namespace: s.namespace,
    src_pod: s.pod,
    src_node: s.node,
    src_interface: s.interface,
    src_network: s.network,
    src_tier: s.tier,
    dst_namespace: d.namespace,
    dst_pod: d.pod,
    dst_node: d.node,
    dst_interface: d.interface,
    dst_network: d.network,
    dst_tier: d.tier,
    bytes: packets * (64 + ((rand() * 1400) | 0)),
    packets,
    samples: packets,
    sampling_rate: 1,
  };
}

if (process.env.BENCH_NO_MV === '1') {
  for (const v of ['flows_1m_mv', 'flows_1h_mv'])
    await store.client.command({ query: `DROP VIEW IF EXISTS bench.${v}` });
}
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
const t0 = performance.now();
let inflight: Promise<void> = Promise.resolve();
let written = 0;
for (let b = 0; b * BATCH < ROWS; b++) {
  const builder = new ArrowBatchBuilder(flows, BATCH);
  const n = Math.min(BATCH, ROWS - b * BATCH);
  for (let i = 0; i < n; i++) {
    builder.add(row(b * BATCH + i));
    // a producer yields now and then, as the packet path does between capture chunks
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
  const batch = builder.finish();
  await inflight; // one insert in flight while the next batch is built: bounded memory
  inflight = store.insertBatch('flows', batch, `bench-${b}`);
  written += n;
  if (b % 20 === 0) process.stderr.write(`\r${written.toLocaleString('en')} rows`);
  // let the event loop breathe between batches, as a service would
  await new Promise((r) => setImmediate(r));
}
await inflight;
const secs = (performance.now() - t0) / 1000;
lag.disable();
process.stderr.write('\n');

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
const range = { from: T0, to: T0 + SPAN };
const rollupMs = await timed(() => topTalkers(ctx, { ...range, by: 'pod', limit: 10 }));
const rawMs = await timed(() => topTalkers(ctx, { ...range, by: 'pod', limit: 10, table: 'flows' }));
const rs = await store.client.query({ query: 'SELECT count() AS n FROM bench.flows', format: 'JSONEachRow' });
const stored = Number(((await rs.json()) as { n: string }[])[0].n);
await store.close();
rmSync(dir, { recursive: true, force: true });

if (stored !== ROWS) throw new Error(`stored ${stored} rows, expected ${ROWS}`);
console.log(
  `rows: ${ROWS.toLocaleString('en')} in ${secs.toFixed(1)} s (Arrow batches of ${BATCH.toLocaleString('en')})`,
);
console.log(
  `event-loop lag p99: ${(lag.percentile(99) / 1e6).toFixed(1)} ms (max ${(lag.max / 1e6).toFixed(1)} ms)`,
);
console.log(
  `top talkers over ${SPAN / 3600} h from flows_1h: ${rollupMs.toFixed(0)} ms, from raw flows: ${rawMs.toFixed(0)} ms`,
);
console.log(`rows/s: ${Math.round(ROWS / secs)}`);
