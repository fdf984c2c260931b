/**
 * bench:packets — read + decode + attribute + aggregate on one core (the npm script pins
 * the process with taskset), over a generated 1M-packet mixed pcap (25% 802.1Q, 5% QinQ,
 * 40% VXLAN, 5% VXLAN in VLAN, 5% VXLAN with inner IPv6, 15% IPv6, 5% VLAN+IPv6) against
 * an inventory covering ~95% of its endpoints. Traffic is heavy-tailed and bursty (see generate). In the same run it times
 * `tcpdump -n -r FILE > /dev/null` and prints both and the ratio. Then the whole process, as
 * a user runs it (every core, not pinned): `podwire flows --pcap FILE --inventory INV >
 * /dev/null` (startup, inventory, a cold JIT, the jsonl output; median of 5) against tcpdump
 * run the same way (median of 3, interleaved), the ratio on a line of its own
 * (`whole-process ratio podwire flows/tcpdump: Nx`; target >= 6x).
 * Last line: `packets/s: N` (median of 7 runs after 2 warm-up runs). Target: >= 4,000,000, peak RSS <= 200 MB.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { loadInventory } from '../collector/attribution/inventory.js';
import { pcapFileHeader, pcapRecord } from '../collector/capture/pcap-writer.js';
import { readCaptureFile } from '../collector/capture/reader.js';
import { decodeConfig } from '../collector/decode/packet.js';
import { FlowTable } from '../collector/flows/flow-table.js';
import { PacketPath } from '../collector/packet-path.js';
import { drawCdf, Prng, zipfCdf } from '../collector/synth/prng.js';
import { MIX, mixedTraffic } from '../collector/synth/scenario.js';
import { requireTools } from './tools.js';

const PACKETS = Number(process.env.BENCH_PACKETS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const WARMUP = 2;
const dir = new URL('../../.bench/', import.meta.url).pathname;
const pcapPath = `${dir}mixed-v3-${PACKETS}.pcap`;
const invPath = `${dir}mixed-${PACKETS}.inventory.json`;

const ZIPF_S = 0.9;
const TRAIN_MEAN = 8;
const TRAINS = 16;
/** seconds of traffic in the file: three 10 s flow windows (about 33k packets/s) */
const SPAN_SECONDS = 30;

async function generate(): Promise<void> {
  await mkdir(dir, { recursive: true });
  process.stderr.write(`generating ${pcapPath} (once) …\n`);
  const { inventory, frames, t0 } = mixedTraffic();
  // Real traffic is heavy-tailed and bursty: a few elephant flows and many mice, and a
  // TCP sender puts a window of packets on the wire back to back. So packets come in trains:
  // a train's frame is drawn with Zipf(s = ZIPF_S) over its kind's distinct frames (each
  // frame is one 5-tuple), its length is geometric (mean TRAIN_MEAN), and TRAINS trains
  // are interleaved at a time. Kinds hold their shares by packet count.
  const byKind = new Map<string, Buffer[]>();
  for (const f of frames) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f.frame]);
  const cdfs = new Map([...byKind].map(([k, list]) => [k, zipfCdf(list.length, ZIPF_S)]));
  const rng = new Prng(11);
  const newTrain = () => {
    const r = rng.next();
    let acc = 0;
    let kind: string = MIX[0][0];
    for (const [k, share] of MIX) {
      acc += share;
      if (r < acc) {
        kind = k;
        break;
      }
    }
    const frame = byKind.get(kind)![drawCdf(cdfs.get(kind)!, rng.next())];
    return { frame, left: 1 + Math.floor(Math.log(1 - rng.next()) / Math.log(1 - 1 / TRAIN_MEAN)) };
  };
  const trains = Array.from({ length: TRAINS }, newTrain);
  const tmp = `${pcapPath}.tmp`;
  const out = createWriteStream(tmp);
  out.write(pcapFileHeader());
  for (let i = 0; i < PACKETS; i++) {
    const j = Math.floor(rng.next() * TRAINS);
    const train = trains[j];
    const t = t0 + (SPAN_SECONDS * i) / PACKETS;
    const sec = Math.floor(t);
    const rec = pcapRecord({ tsSec: sec, tsNsec: Math.round((t - sec) * 1e6) * 1000, data: train.frame });
    if (--train.left <= 0) trains[j] = newTrain();
    if (!out.write(rec)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await writeFile(invPath, JSON.stringify(inventory));
  await rename(tmp, pcapPath);
}

async function runPodwire(
  index: EndpointIndex,
): Promise<{ secs: number; flows: number; attributed: number }> {
  let flows = 0;
  const counters = new AttributionCounters();
  const table = new FlowTable({ index, counters, onFlows: (batch) => (flows += batch.count) });
  const path = new PacketPath({ index, decode: decodeConfig(), flows: table, counters });
  const t = performance.now();
  const stats = await readCaptureFile(pcapPath, path.handle);
  table.flush();
  const secs = (performance.now() - t) / 1000;
  if (stats.packets !== PACKETS) throw new Error(`read ${stats.packets} packets, expected ${PACKETS}`);
  return { secs, flows, attributed: path.counters.attributed };
}

async function runTcpdump(user = false): Promise<number> {
  const t = performance.now();
  const [cmd, args] = user ? asUser('tcpdump', ['-n', '-r', pcapPath]) : ['tcpdump', ['-n', '-r', pcapPath]];
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const [code] = await once(p, 'exit');
  if (code !== 0) throw new Error(`tcpdump exited ${code}`);
  return (performance.now() - t) / 1000;
}

const BIN = new URL('../../bin/podwire.js', import.meta.url).pathname;
const WHOLE_RUNS = 5;

/**
 * A command on every core, as a user runs it: the npm script pins this process to one core
 * (for steady in-process figures) and a child would inherit that; a whole `podwire flows`
 * also runs Node's loader, GC helper and file-read threads, which a user's machine runs
 * beside it.
 */
function asUser(cmd: string, args: string[]): [string, string[]] {
  return ['taskset', ['-c', `0-${cpus().length - 1}`, cmd, ...args]];
}

/** `podwire flows` as its own process, as a user runs it (the flows to /dev/null): seconds. */
async function runWholeProcess(): Promise<number> {
  const t = performance.now();
  const [cmd, args] = asUser(process.execPath, [BIN, 'flows', '--pcap', pcapPath, '--inventory', invPath]);
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (b: Buffer) => (stderr += b));
  const [code] = await once(p, 'exit');
  const secs = (performance.now() - t) / 1000;
  if (code !== 0) throw new Error(`podwire flows exited ${code}: ${stderr}`);
  if (!stderr.includes(`packets=${PACKETS} `))
    throw new Error(`podwire flows did not read every packet: ${stderr}`);
  return secs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// BENCH_REFERENCE=0 skips tcpdump (for profiling podwire alone)
const reference = process.env.BENCH_REFERENCE !== '0';
if (reference) {
  requireTools(
    'bench:packets',
    [{ cmd: 'tcpdump', pkg: 'tcpdump', why: 'the reference reader the figure is compared against' }],
    'or leave the comparison out: BENCH_REFERENCE=0 npm run bench:packets',
  );
}

if (!existsSync(pcapPath) || !existsSync(invPath)) await generate();
const size = (await stat(pcapPath)).size;
const index = EndpointIndex.fromInventory(await loadInventory(invPath));
console.log(
  `input: ${PACKETS.toLocaleString('en')} packets, ${(size / 1e6).toFixed(0)} MB, ${index.endpoints.length} endpoints`,
);

const rates: number[] = [];
let last = { secs: 0, flows: 0, attributed: 0 };
// the first runs include JIT compilation: reported, not counted (steady state is the figure)
for (let i = -WARMUP; i < RUNS; i++) {
  last = await runPodwire(index);
  if (i >= 0) rates.push(PACKETS / last.secs);
  const label = i < 0 ? `warm-up ${i + WARMUP + 1}` : `run ${i + 1}`;
  console.log(
    `podwire ${label}: ${last.secs.toFixed(3)} s, ${Math.round(PACKETS / last.secs).toLocaleString('en')} packets/s`,
  );
}
const tcpdumpSecs = reference
  ? median([await runTcpdump(), await runTcpdump(), await runTcpdump()])
  : Number.NaN;
const podwireRate = median(rates);
const tcpdumpRate = PACKETS / tcpdumpSecs;
const rssMb = process.resourceUsage().maxRSS / 1024;
console.log(
  `attributed: ${((100 * last.attributed) / PACKETS).toFixed(1)}% of packets, flows emitted: ${last.flows.toLocaleString('en')}`,
);
console.log(
  `tcpdump -n -r: ${tcpdumpSecs.toFixed(3)} s, ${Math.round(tcpdumpRate).toLocaleString('en')} packets/s`,
);
console.log(`ratio podwire/tcpdump: ${(podwireRate / tcpdumpRate).toFixed(1)}x`);
// the whole process against tcpdump run the same way (every core), interleaved
const whole: number[] = [];
const tcpdumpAsUser: number[] = [];
for (let i = 0; i < WHOLE_RUNS; i++) {
  whole.push(await runWholeProcess());
  if (reference && i % 2 === 0) tcpdumpAsUser.push(await runTcpdump(true));
}
const wholeSecs = median(whole);
const tcpdumpUserSecs = reference ? median(tcpdumpAsUser) : Number.NaN;
console.log(
  `podwire flows, whole process (as a user runs it, every core): ${wholeSecs.toFixed(3)} s (median of ${WHOLE_RUNS}; runs ${whole.map((s) => s.toFixed(2)).join(' ')}), ${Math.round(PACKETS / wholeSecs).toLocaleString('en')} packets/s`,
);
console.log(
  `tcpdump -n -r, the same way: ${tcpdumpUserSecs.toFixed(3)} s (median of ${tcpdumpAsUser.length})`,
);
console.log(`whole-process ratio podwire flows/tcpdump: ${(tcpdumpUserSecs / wholeSecs).toFixed(1)}x`);
console.log(`peak RSS: ${rssMb.toFixed(0)} MB`);
console.log(`packets/s: ${Math.round(podwireRate)}`);
