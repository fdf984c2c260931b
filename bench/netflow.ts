/**
 * bench:netflow — IPFIX decode + attribute + aggregate on one core (the npm script pins
 * the process with taskset), in process (no kernel: the datagrams are replayed from
 * memory, as a listener would hand them over).
 *
 * Input: a synthetic IPFIX export of the bench:packets traffic mix (802.1Q, QinQ, VXLAN,
 * IPv6; 4000 pods, ~95% in the inventory) built with collector/netflow/encode.ts, as 8
 * exporters (one observation domain each) would send it: flow records of the pods' frames
 * (Zipf 0.9 over 40k distinct flows, as in bench:packets) with addresses, ports,
 * protocol, TCP flags, interfaces, 64-bit counters, millisecond times, MACs, dot1q VLANs
 * (243/245), layer2SegmentId (351) for the VXLAN ones, and a samplerId whose 1-in-1000
 * rate comes as options data; four templates per exporter (IPv4/IPv6 × with/without VNI),
 * ~1.4 KB datagrams, templates and options re-sent every 50 datagrams. Generated once into
 * .bench/ as a pcap (the reference tools read the same export).
 *
 * In the same run: tshark decoding the capture (`-T fields`, one IPFIX field), and nfdump's
 * nfcapd collecting the export over loopback (its CPU time, from /proc) and nfdump reading
 * what nfcapd stored (`-o csv`, CPU time). Last line: `records/s: N` (median of 7 runs after
 * 2 warm-up runs). Target: >= 1,000,000.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { loadInventory } from '../collector/attribution/inventory.js';
import { pcapFileHeader, pcapRecord } from '../collector/capture/pcap-writer.js';
import { DecodedPacket, decodeConfig } from '../collector/decode/packet.js';
import { FlowTable } from '../collector/flows/flow-table.js';
import { encodeIpfix, type SetDef, type Value } from '../collector/netflow/encode.js';
import { NetflowIntake } from '../collector/netflow/intake.js';
import { type CapturedExport, readNetflowCapture } from '../collector/netflow/replay.js';
import { ethernet, IpProtocol, ipv4, udp } from '../collector/synth/frames.js';
import { drawCdf, Prng, zipfCdf } from '../collector/synth/prng.js';
import { mixedTraffic } from '../collector/synth/scenario.js';
import { OPTIONS, recordBytes, recordOf, TEMPLATES } from './ipfix-records.js';
import { requireTools } from './tools.js';

const DATAGRAMS = Number(process.env.BENCH_DATAGRAMS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const WARMUP = 2;
const PORT = 4739;
const EXPORTERS = 8;
const MAX_DATAGRAM = 1400;
const SPAN_SECONDS = 30;
const ZIPF_S = 0.9;
const RATE = 1000;
const REFRESH = 50;

const root = new URL('../../', import.meta.url).pathname;
const dir = `${root}.bench/`;
const pcapPath = `${dir}ipfix-export-v1-${DATAGRAMS}.pcap`;
const invPath = `${dir}ipfix-${DATAGRAMS}.inventory.json`;

async function generate(): Promise<void> {
  await mkdir(dir, { recursive: true });
  process.stderr.write(`generating ${pcapPath} (once) …\n`);
  const { inventory, frames, t0 } = mixedTraffic();
  const rng = new Prng(4739);
  const byExporter: number[][] = Array.from({ length: EXPORTERS }, () => []);
  for (let j = 0; j < frames.length; j++) byExporter[j % EXPORTERS].push(j);
  for (const list of byExporter) {
    for (let k = list.length - 1; k > 0; k--) {
      const m = rng.int(0, k);
      [list[k], list[m]] = [list[m], list[k]];
    }
  }
  const cdfs = byExporter.map((list) => zipfCdf(list.length, ZIPF_S));
  const p = new DecodedPacket();
  const records = new Map<number, ReturnType<typeof recordOf>>();
  const seq = new Array(EXPORTERS).fill(0);
  const sent = new Array(EXPORTERS).fill(0);
  const parts: Buffer[] = [pcapFileHeader()];
  for (let i = 0; i < DATAGRAMS; i++) {
    const a = i % EXPORTERS;
    const exporter = `10.254.0.${a + 1}`;
    const t = t0 + (SPAN_SECONDS * i) / DATAGRAMS;
    const ms = Math.floor(t * 1000);
    const sets: SetDef[] = [];
    let size = 16;
    if (sent[a] % REFRESH === 0) {
      sets.push({ kind: 'templates', templates: TEMPLATES });
      sets.push({ kind: 'options-templates', templates: [OPTIONS] });
      sets.push({ kind: 'data', template: OPTIONS, records: [[1, 2, RATE]] });
      size += 4 + TEMPLATES.reduce((s, x) => s + 4 + 4 * x.fields.length, 0) + 4 + 6 + 12 + 4 + 6;
    }
    const byTemplate: Value[][][] = TEMPLATES.map(() => []);
    let n = 0;
    for (;;) {
      const j = byExporter[a][drawCdf(cdfs[a], rng.next())];
      let r = records.get(j);
      if (r === undefined) {
        r = recordOf(frames[j].frame, p);
        records.set(j, r);
      }
      const add = recordBytes[r.t] + (byTemplate[r.t].length === 0 ? 4 : 0);
      if (n > 0 && size + add > MAX_DATAGRAM) break;
      const packets = rng.int(1, 40);
      const v = r.values(packets);
      v[10] = ms - rng.int(1000, 20_000);
      v[11] = ms - rng.int(0, 999);
      byTemplate[r.t].push(v);
      size += add;
      n++;
    }
    byTemplate.forEach((recs, k) => {
      if (recs.length > 0) sets.push({ kind: 'data', template: TEMPLATES[k], records: recs });
    });
    const msg = encodeIpfix({ exportSecs: Math.floor(t), sequence: seq[a], domain: a + 1, sets });
    seq[a] += n + (sent[a] % REFRESH === 0 ? 1 : 0);
    sent[a]++;
    const frame = ethernet({
      src: '52:54:00:00:fe:01',
      dst: '52:54:00:00:fe:02',
      payload: ipv4({
        src: exporter,
        dst: '10.254.255.10',
        proto: IpProtocol.UDP,
        payload: udp({ sport: 40000 + a, dport: PORT, payload: msg }),
      }),
    });
    const sec = Math.floor(t);
    parts.push(pcapRecord({ tsSec: sec, tsNsec: Math.round((t - sec) * 1e6) * 1000, data: frame }));
  }
  const tmp = `${pcapPath}.tmp`;
  await writeFile(tmp, Buffer.concat(parts));
  await writeFile(invPath, JSON.stringify(inventory));
  await rename(tmp, pcapPath);
}

interface RunResult {
  secs: number;
  records: number;
  flows: number;
  attributed: number;
  datagrams: number;
}

/** decode + attribute + aggregate of the datagrams, `repeat` times over (fresh tables). */
function runPodwire(index: EndpointIndex, datagrams: CapturedExport[], repeat: number): RunResult {
  let flows = 0;
  const counters = new AttributionCounters();
  const table = new FlowTable({ index, counters, onFlows: (b) => (flows += b.count) });
  const intake = new NetflowIntake({ index, decode: decodeConfig(), flows: table, counters });
  const span = datagrams.length > 0 ? datagrams[datagrams.length - 1].tUs - datagrams[0].tUs + 1e6 : 0;
  const t = performance.now();
  for (let r = 0; r < repeat; r++) {
    const shift = r * span;
    for (let i = 0; i < datagrams.length; i++) {
      const d = datagrams[i];
      intake.receive(d.data, 0, d.data.length, d.exporter, d.tUs + shift);
    }
  }
  table.flush();
  const secs = (performance.now() - t) / 1000;
  const st = intake.decodeStats;
  if (st.malformedDatagrams > 0)
    throw new Error(`malformed datagrams in the bench input: ${st.malformedDatagrams}`);
  const s = intake.summary();
  return { secs, records: s.records, flows, attributed: counters.attributed, datagrams: st.datagrams };
}

/** Wall and CPU seconds of a command (bash's `time`, children included); its output discarded. */
async function timed(cmd: string): Promise<{ real: number; cpu: number; out: string }> {
  const out = `${dir}reference.out`;
  const p = spawn('bash', ['-c', `TIMEFORMAT='%3R %3U %3S'; time (${cmd} >${out} 2>/dev/null)`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (b: Buffer) => (err += b));
  const [code] = await once(p, 'exit');
  if (code !== 0) throw new Error(`${cmd} exited ${code}: ${err}`);
  const [real, user, sys] = err.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { real, cpu: user + sys, out };
}

/** CPU seconds a process has used (utime + stime from /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** nfcapd receiving the export over loopback (paced so its socket keeps up), then nfdump reading it. */
async function runNfdump(datagrams: CapturedExport[]) {
  const work = await mkdtemp(`${dir}nfcapd-`);
  const port = 47390;
  const nfcapd = spawn(
    'taskset',
    ['-c', '0', 'nfcapd', '-b', '127.0.0.1', '-p', String(port), '-w', work, '-t', '3600', '-B', '16777216'],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  await new Promise((r) => setTimeout(r, 1000));
  const pid = (
    await readFile(`/proc/${nfcapd.pid}/task/${nfcapd.pid}/children`, 'utf8').catch(() => '')
  ).trim();
  const nfPid = pid === '' ? nfcapd.pid! : Number(pid.split(' ')[0]);
  const cpu0 = await cpuSeconds(nfPid);
  const payloads = `${dir}ipfix-payloads-${DATAGRAMS}.bin`;
  const parts: Buffer[] = [];
  for (const d of datagrams) {
    const h = Buffer.alloc(2);
    h.writeUInt16BE(d.data.length);
    parts.push(h, d.data);
  }
  await writeFile(payloads, Buffer.concat(parts));
  const sender = `
    const fs = require('node:fs'); const dgram = require('node:dgram');
    const b = fs.readFileSync(${JSON.stringify(payloads)}); const msgs = [];
    for (let o = 0; o < b.length; ) { const n = b.readUInt16BE(o); msgs.push(b.subarray(o + 2, o + 2 + n)); o += 2 + n; }
    const s = dgram.createSocket('udp4'); let i = 0;
    function next() {
      for (let k = 0; k < 16 && i < msgs.length; k++, i++) s.send(msgs[i], ${port}, '127.0.0.1');
      if (i < msgs.length) setTimeout(next, 1); else s.close();
    }
    next();`;
  const child = spawn('taskset', ['-c', '1', process.execPath, '-e', sender], { stdio: 'ignore' });
  await once(child, 'exit');
  await new Promise((r) => setTimeout(r, 1000));
  const cpu1 = await cpuSeconds(nfPid);
  nfcapd.kill('SIGTERM');
  await once(nfcapd, 'exit');
  const files = (await readdir(work)).filter((n) => n.startsWith('nfcapd.'));
  const nd = await timed(`nfdump -R ${work} -q -o csv`);
  const lines = (await readFile(nd.out, 'utf8')).split('\n').filter((l) => /^\d{4}-/.test(l)).length;
  await rm(work, { recursive: true, force: true });
  return { collectCpu: cpu1 - cpu0, readCpu: nd.cpu, flows: lines, files: files.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en');

if (process.env.BENCH_REFERENCE !== '0') {
  requireTools(
    'bench:netflow',
    [
      { cmd: 'tshark', pkg: 'tshark', why: 'decodes the same export, the first reference' },
      { cmd: 'nfcapd', pkg: 'nfdump', why: "nfdump's collector, the second reference" },
      { cmd: 'nfdump', pkg: 'nfdump', why: 'reads what nfcapd stored' },
    ],
    'or leave the references out: BENCH_REFERENCE=0 npm run bench:netflow',
  );
}
if (!existsSync(pcapPath) || !existsSync(invPath)) await generate();
const index = EndpointIndex.fromInventory(await loadInventory(invPath));
const datagrams = await readNetflowCapture(pcapPath, PORT);
const once1 = runPodwire(index, datagrams, 1);
console.log(
  `input: ${fmt(datagrams.length)} datagrams, ${fmt(once1.records)} IPFIX flow records, ${EXPORTERS} exporters, ` +
    `${index.endpoints.length} endpoints; each run replays it ${REPEAT}×`,
);
const rates: number[] = [];
let last = once1;
for (let i = -WARMUP; i < RUNS; i++) {
  last = runPodwire(index, datagrams, REPEAT);
  if (i >= 0) rates.push(last.records / last.secs);
  const label = i < 0 ? `warm-up ${i + WARMUP + 1}` : `run ${i + 1}`;
  console.log(
    `podwire ${label}: ${last.secs.toFixed(3)} s, ${fmt(last.records / last.secs)} records/s, ` +
      `${((last.secs / last.datagrams) * 1e6).toFixed(2)} µs/datagram`,
  );
}
const rate = median(rates);
console.log(
  `attributed: ${((100 * last.attributed) / last.records).toFixed(1)}% of records, flows emitted: ${fmt(last.flows)} ` +
    `(${(last.records / last.flows).toFixed(1)} records per flow)`,
);
if (process.env.BENCH_REFERENCE !== '0') {
  const records = once1.records;
  const ts = await timed(`tshark -r ${pcapPath} -d udp.port==${PORT},cflow -T fields -e cflow.od_id`);
  console.log(
    `tshark -T fields (decode only, 1 field): ${ts.real.toFixed(2)} s wall, ${fmt(records / ts.real)} records/s`,
  );
  const nf = await runNfdump(datagrams);
  console.log(
    `nfdump: nfcapd collected ${fmt(nf.flows)} of ${fmt(records)} records over loopback (paced) in ${nf.collectCpu.toFixed(2)} s CPU ` +
      `(${fmt(nf.flows / nf.collectCpu)} records per CPU second, storing them); nfdump -o csv read them in ${nf.readCpu.toFixed(2)} s CPU ` +
      `(${fmt(nf.flows / nf.readCpu)} records/s)`,
  );
  console.log(
    `ratio podwire/tshark: ${(rate / (records / ts.real)).toFixed(1)}x, podwire/nfcapd (CPU): ${(rate / (nf.flows / nf.collectCpu)).toFixed(1)}x, ` +
      `podwire/nfdump-read (CPU): ${(rate / (nf.flows / nf.readCpu)).toFixed(1)}x`,
  );
}
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
console.log(`records/s: ${Math.round(rate)}`);
