/**
 * bench:exporter — the node exporter on one node with 64 VFs (L2 pods) and 500 overlay
 * endpoints (a veth and a tbf qdisc each), fed by the demo NIC, collecting every second.
 *
 * 1. Collection CPU: process CPU time (process.cpuUsage, all threads) per second of wall
 *    time over 30 s of 1 s collections (long enough to average over the GC cycles) with nobody scraping, as a percentage of one core,
 *    split between the NIC collector's round and the exporter's render; and the wall time
 *    of each collection (read, counter math, render). After a 12 s warm-up.
 * 2. Scrape latency: 200 GET /metrics over HTTP on loopback (keep-alive), one every 50 ms
 *    while the collections go on, request sent → body received; then 100 with gzip. The
 *    scraper is a process of its own (bench/scraper.ts), as Prometheus is: in this process
 *    its reading of each 1.4 MB body ran on the exporter's event loop and was counted as
 *    the exporter's latency.
 *
 * Targets: scrape p99 < 20 ms; collection < 2% of one core.
 * Last line: `scrape_p99_ms: N` (plain scrapes).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { createDemoSource, demoInventory } from '../collector/nic/demo.js';
import { NodeExporter } from '../node-exporter/exporter.js';
import { CollectorProvider, type NicState } from '../node-exporter/nic-state.js';

const VFS = Number(process.env.BENCH_VFS ?? 64);
const OVERLAY = Number(process.env.BENCH_OVERLAY ?? 500);
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 30);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 200);
const GZIP_SCRAPES = Number(process.env.BENCH_GZIP_SCRAPES ?? 100);
const SPACING_MS = 50;
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 12_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : Number.NaN;
};
const ms = (x: number) => x.toFixed(2);

const inventory = demoInventory({ nodes: 1, vfsPerNode: VFS, overlayPerNode: OVERLAY });
const demo = createDemoSource({ seed: 7, inventory, vfsPerPf: VFS });
const index = EndpointIndex.fromInventory(inventory);
const collections: number[] = [];
/** per collection: CPU ms in the NIC collector's round, and in the exporter's adapt + render */
const cpuCollector: number[] = [];
const cpuExporter: number[] = [];
let measuring = false;
let cpuMark = process.cpuUsage();
const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
// the provider NodeExporter builds from `sources`, wrapped to split CPU between the NIC
// collector (collector/nic/collector.ts: read, counter math, merge) and the exporter
const inner = new CollectorProvider({ sources: [demo], intervalMs: 1000 });
const provider = {
  async collect(): Promise<NicState> {
    const start = process.cpuUsage();
    const state = await inner.collect();
    if (measuring) cpuCollector.push(cpuMs(start));
    cpuMark = process.cpuUsage();
    return state;
  },
};
const exporter = new NodeExporter({
  provider,
  index,
  port: 0,
  intervalMs: 1000,
  onCollection: ({ seconds }) => {
    if (!measuring) return;
    collections.push(seconds * 1000);
    cpuExporter.push(cpuMs(cpuMark));
  },
});
const { url } = await exporter.start();
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const { port } = new URL(url);

function scrape(gzip: boolean): Promise<{ ms: number; bytes: number; text: string | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port: Number(port),
        path: '/metrics',
        agent,
        headers: gzip ? { 'accept-encoding': 'gzip' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const t = performance.now() - t0;
          if (res.statusCode !== 200) {
            reject(new Error(`GET /metrics: HTTP ${res.statusCode}`));
            return;
          }
          const body = Buffer.concat(chunks);
          resolve({ ms: t, bytes: body.length, text: gzip ? null : body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// warm up: collections and scrapes (JIT, gzip cache, connection), and V8's one-off
// post-startup heap shrinking (memory reducer), which would otherwise land in the window
await sleep(WARMUP_MS);
const first = await scrape(false);
await scrape(true);
const series = first.text!.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
console.log(
  `exporter: ${VFS} VFs + ${OVERLAY} overlay endpoints on one node: ${series} series,` +
    ` ${(first.bytes / 1024).toFixed(0)} KiB per scrape (${exporter.registry.series} from the NIC state)`,
);

// 1. collection CPU with nobody scraping
measuring = true;
const c0 = process.cpuUsage();
const w0 = performance.now();
await sleep(CPU_SECONDS * 1000);
const cpu = process.cpuUsage(c0);
const wall = (performance.now() - w0) / 1000;
measuring = false;
const cpuPct = ((cpu.user + cpu.system) / 1e6 / wall) * 100;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
console.log(
  `collection: ${collections.length} in ${wall.toFixed(1)} s; wall p50 ${ms(pct(collections, 50))} ms,` +
    ` p99 ${ms(pct(collections, 99))} ms; process CPU ${cpuPct.toFixed(2)}% of one core` +
    ` (user ${(cpu.user / 1e3 / wall).toFixed(1)} ms/s, system ${(cpu.system / 1e3 / wall).toFixed(1)} ms/s)`,
);
console.log(
  `  of which the NIC collector round ${(sum(cpuCollector) / wall).toFixed(1)} ms/s` +
    ` (p50 ${ms(pct(cpuCollector, 50))} ms CPU per round), the exporter (adapt + render)` +
    ` ${(sum(cpuExporter) / wall).toFixed(1)} ms/s (p50 ${ms(pct(cpuExporter, 50))} ms per render);` +
    ` process-wide CPU, GC threads included`,
);

/** Latencies of a static server holding `body`, scraped like the exporter. */
async function staticFloor(body: Buffer): Promise<number[]> {
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    return await scrapes(SCRAPES, false, `http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
  } finally {
    srv.close();
  }
}

// 2. scrape latency, collections going on, from a scraper process of its own
async function scrapes(count: number, gzip: boolean, from = url): Promise<number[]> {
  const script = fileURLToPath(new URL('./scraper.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [script, from, String(count), String(SPACING_MS), gzip ? 'gzip' : 'plain'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`the scraper failed (exit ${code})`);
  return JSON.parse(out) as number[];
}
const plain = await scrapes(SCRAPES, false);
const gz = await scrapes(GZIP_SCRAPES, true);
const gzBytes = (await scrape(true)).bytes;
// the floor, in the same run: plain node:http serving the same bytes, no exporter behind it
// (1.4 MB over loopback on 2 shared cores has a p99 of its own)
const floor = await staticFloor(Buffer.from(first.text!));
console.log(
  `scrape (${SCRAPES}, plain): p50 ${ms(pct(plain, 50))} ms, p99 ${ms(pct(plain, 99))} ms, max ${ms(pct(plain, 100))} ms`,
);
console.log(
  `scrape (${GZIP_SCRAPES}, gzip, ${(gzBytes / 1024).toFixed(0)} KiB): p50 ${ms(pct(gz, 50))} ms,` +
    ` p99 ${ms(pct(gz, 99))} ms (compressed once per collection in the thread pool; a scrape during it waits)`,
);
console.log(
  `reference: node:http serving the same ${(first.bytes / 1024).toFixed(0)} KiB, nothing else: p50 ${ms(pct(floor, 50))} ms, p99 ${ms(pct(floor, 99))} ms (the transport's floor)`,
);
console.log(`targets: scrape p99 < 20 ms; collection < 2% of one core`);
agent.destroy();
await exporter.stop();
console.log(`scrape_p99_ms: ${ms(pct(plain, 99))}`);
