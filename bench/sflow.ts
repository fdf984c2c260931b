/**
 * bench:sflow — sFlow v5 decode + attribute + aggregate on one core (the npm script pins
 * the process with taskset), in process (no kernel: the datagrams are replayed from
 * memory, as the listener would hand them over).
 *
 * Input: a synthetic export of the bench:packets traffic mix (802.1Q, QinQ, VXLAN, IPv6;
 * 4000 pods, ~95% in the inventory) built with collector/sflow/encode.ts, as 8 switches
 * with 48 ports each would send it at 1-in-1024 sampling (each flow enters at one port;
 * heavy flows are sampled more: Zipf 0.9 over the 40k distinct frames, as in
 * bench:packets; about one flow per 3 samples over 30 s): ~1.3 KB datagrams of flow
 * samples — 70% compact with a raw header (half with extended switch data), 20% expanded
 * with header, switch and router records, 10% without a header (Ethernet + IPv4/IPv6
 * records) — and a counter sample (generic + Ethernet) in every 10th datagram. Generated
 * once into .bench/ as a pcap (the reference tools read the same file).
 *
 * In the same run: tshark decoding the capture (`-T fields`, one sFlow field) and pmacct's
 * sfacctd collecting it (print plugin, 5-tuple + VLAN aggregation; CPU time, since it
 * sleeps 2 s before reading a savefile), the pmacct export fixture replayed, and the UDP
 * listener over loopback fed by a sender on the other core.
 * Last line: `samples/s: N` (median of 7 runs after 2 warm-up runs). Target: >= 1,000,000.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { loadInventory } from '../collector/attribution/inventory.js';
import { pcapFileHeader, pcapRecord } from '../collector/capture/pcap-writer.js';
import { ipv4ToString, ipv6ToString, macToString } from '../collector/decode/addr.js';
import { decodeFrame } from '../collector/decode/frame.js';
import { DecodedPacket, decodeConfig } from '../collector/decode/packet.js';
import { FlowTable } from '../collector/flows/flow-table.js';
import { encodeDatagram, type FlowRecordSpec, type SampleSpec } from '../collector/sflow/encode.js';
import { SflowIntake } from '../collector/sflow/intake.js';
import { SflowListener } from '../collector/sflow/listener.js';
import { type CapturedDatagram, readSflowCapture } from '../collector/sflow/replay.js';
import { ethernet, IpProtocol, ipv4, udp } from '../collector/synth/frames.js';
import { drawCdf, Prng, zipfCdf } from '../collector/synth/prng.js';
import { mixedTraffic } from '../collector/synth/scenario.js';
import { requireTools } from './tools.js';

const DATAGRAMS = Number(process.env.BENCH_DATAGRAMS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const WARMUP = 2;
const PORT = 6343;
const AGENTS = 8;
const PORTS_PER_AGENT = 48;
const MAX_DATAGRAM = 1300;
const SPAN_SECONDS = 30;
const ZIPF_S = 0.9;

const root = new URL('../../', import.meta.url).pathname;
const dir = `${root}.bench/`;
const pcapPath = `${dir}sflow-export-v2-${DATAGRAMS}.pcap`;
const invPath = `${dir}sflow-${DATAGRAMS}.inventory.json`;
const FIXTURE = `${root}test/fixtures/sflow/`;

/** The IP records (3/4) and Ethernet record (2) of a frame, as a switch without header export sends them. */
function recordsOf(frame: Buffer, p: DecodedPacket): FlowRecordSpec[] {
  decodeFrame(frame, 0, frame.length, frame.length, 1, p, decodeConfig());
  const recs: FlowRecordSpec[] = [
    {
      type: 'ethernet',
      length: frame.length + 4,
      src: macToString(p.srcMac),
      dst: macToString(p.dstMac),
      etherType: p.etherType,
    },
  ];
  if (p.ipVersion === 4 || p.ipVersion === 6) {
    recs.push({
      type: p.ipVersion === 4 ? 'ipv4' : 'ipv6',
      length: p.ipLength,
      protocol: p.protocol,
      src: p.ipVersion === 4 ? ipv4ToString(p.src4) : ipv6ToString(p.src6),
      dst: p.ipVersion === 4 ? ipv4ToString(p.dst4) : ipv6ToString(p.dst6),
      srcPort: p.srcPort,
      dstPort: p.dstPort,
      tcpFlags: p.tcpFlags,
    });
  }
  return recs;
}

async function generate(): Promise<void> {
  await mkdir(dir, { recursive: true });
  process.stderr.write(`generating ${pcapPath} (once) …\n`);
  const { inventory, frames, t0 } = mixedTraffic();
  const rng = new Prng(6343);
  // A flow enters the fabric at one switch port: frame j is sampled by agent j % AGENTS on
  // one ifIndex. Within an agent, sampling picks packets, so heavy flows are picked more:
  // Zipf(ZIPF_S) over the agent's frames in random order (bench:packets' traffic model).
  const byAgent: number[][] = Array.from({ length: AGENTS }, () => []);
  for (let j = 0; j < frames.length; j++) byAgent[j % AGENTS].push(j);
  for (const list of byAgent) {
    for (let k = list.length - 1; k > 0; k--) {
      const m = rng.int(0, k);
      [list[k], list[m]] = [list[m], list[k]];
    }
  }
  const cdfs = byAgent.map((list) => zipfCdf(list.length, ZIPF_S));
  const portOf = (j: number) => (Math.floor(j / AGENTS) % PORTS_PER_AGENT) + 1;
  const p = new DecodedPacket();
  const seq = new Array(AGENTS).fill(0);
  const sampleSeq = new Map<string, number>();
  const parts: Buffer[] = [pcapFileHeader()];
  for (let i = 0; i < DATAGRAMS; i++) {
    const a = i % AGENTS;
    const agent = `10.255.0.${a + 1}`;
    const samples: SampleSpec[] = [];
    let size = 28;
    if (i % 10 === 0) {
      const ifIndex = rng.int(1, PORTS_PER_AGENT);
      samples.push({
        kind: 'counters',
        sequence: i / 10 + 1,
        sourceIndex: ifIndex,
        records: [
          { type: 'generic', ifIndex, ifSpeed: 25e9, ifInOctets: i * 1e6, ifOutOctets: i * 9e5 },
          { type: 'ethernet' },
        ],
      });
      size += 8 + 12 + 96 + 60;
    }
    for (;;) {
      const j = byAgent[a][drawCdf(cdfs[a], rng.next())];
      const { frame, kind } = frames[j];
      const ifIndex = portOf(j);
      const key = `${a}/${ifIndex}`;
      const s = (sampleSeq.get(key) ?? 0) + 1;
      const r = rng.next();
      // the switch's VLAN: what an untagged frame's port is on (the VTEPs' transport VLAN
      // for VXLAN; untagged pods are VLAN 0), 0 when the frame carries its own tag
      const vlan = kind.startsWith('vxlan') && kind !== 'vxlan-in-vlan' ? 4000 : 0;
      const records: FlowRecordSpec[] =
        r < 0.7
          ? [{ type: 'header', frame }, ...(r < 0.35 ? [{ type: 'switch' as const, srcVlan: vlan }] : [])]
          : r < 0.9
            ? [
                { type: 'header', frame },
                { type: 'switch', srcVlan: vlan, dstVlan: vlan },
                { type: 'router', nextHop: '10.255.255.1', srcMaskLen: 24, dstMaskLen: 24 },
              ]
            : recordsOf(frame, p);
      const spec: SampleSpec = {
        kind: 'flow',
        expanded: r >= 0.7 && r < 0.9,
        sequence: s,
        sourceIndex: ifIndex,
        samplingRate: 1024,
        samplePool: s * 1024,
        input: ifIndex,
        output: rng.int(1, PORTS_PER_AGENT),
        records,
      };
      const bytes = encodeDatagram({ agent, sequence: 1, samples: [spec] }).length - 28;
      if (samples.length > 0 && size + bytes > MAX_DATAGRAM) break;
      sampleSeq.set(key, s);
      samples.push(spec);
      size += bytes;
    }
    const dgram = encodeDatagram({ agent, sequence: ++seq[a], uptimeMs: i, samples });
    const frame = ethernet({
      src: '52:54:00:00:ff:01',
      dst: '52:54:00:00:ff:02',
      payload: ipv4({
        src: agent,
        dst: '10.255.255.10',
        proto: IpProtocol.UDP,
        payload: udp({ sport: 50000 + a, dport: PORT, payload: dgram }),
      }),
    });
    const t = t0 + (SPAN_SECONDS * i) / DATAGRAMS;
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
  samples: number;
  flows: number;
  attributed: number;
  datagrams: number;
}

/** decode + attribute + aggregate of the datagrams, `repeat` times over (fresh tables). */
function runPodwire(index: EndpointIndex, datagrams: CapturedDatagram[], repeat: number): RunResult {
  let flows = 0;
  const counters = new AttributionCounters();
  const table = new FlowTable({ index, counters, onFlows: (b) => (flows += b.count) });
  const intake = new SflowIntake({ index, decode: decodeConfig(), flows: table, counters });
  const span = datagrams.length > 0 ? datagrams[datagrams.length - 1].tUs - datagrams[0].tUs + 1e6 : 0;
  const t = performance.now();
  for (let r = 0; r < repeat; r++) {
    // each repeat later in time, as a longer export would be
    const shift = r * span;
    for (let i = 0; i < datagrams.length; i++) {
      const d = datagrams[i];
      intake.receive(d.data, 0, d.data.length, d.tUs + shift);
    }
  }
  table.flush();
  const secs = (performance.now() - t) / 1000;
  const st = intake.decodeStats;
  if (st.malformedDatagrams > 0)
    throw new Error(`malformed datagrams in the bench input: ${st.malformedDatagrams}`);
  return {
    secs,
    samples: st.flowSamples,
    flows,
    attributed: counters.attributed,
    datagrams: st.datagrams,
  };
}

/** Wall and CPU seconds of a command (bash's `time`, children included); its output discarded. */
async function timed(cmd: string): Promise<{ real: number; cpu: number }> {
  const log = `${dir}reference.log`;
  const p = spawn('bash', ['-c', `TIMEFORMAT='%3R %3U %3S'; time (${cmd} >/dev/null 2>${log})`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (b: Buffer) => (err += b));
  const [code] = await once(p, 'exit');
  if (code !== 0) throw new Error(`${cmd} exited ${code} (see ${log}): ${err}`);
  const [real, user, sys] = err.trim().split('\n').at(-1)!.split(' ').map(Number);
  if (![real, user, sys].every(Number.isFinite)) throw new Error(`cannot read the time of ${cmd}: ${err}`);
  return { real, cpu: user + sys };
}

/** The listener over loopback: a sender process on another core sends the datagrams `rounds` times. */
async function runListener(datagrams: CapturedDatagram[], index: EndpointIndex, rounds: number) {
  const counters = new AttributionCounters();
  const table = new FlowTable({ index, counters, onFlows: () => {} });
  const intake = new SflowIntake({ index, decode: decodeConfig(), flows: table, counters });
  const listener = await SflowListener.open({
    host: '127.0.0.1',
    port: 0,
    onDatagram: (m, tUs) => intake.receive(m, 0, m.length, tUs),
  });
  const payloads = `${dir}sflow-payloads-${DATAGRAMS}.bin`;
  // length-prefixed payloads for the sender
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
    const s = dgram.createSocket('udp4'); let i = 0; const total = msgs.length * ${rounds};
    const t0 = process.hrtime.bigint();
    function next() {
      // a burst of 64, then yield: as fast as one sender core goes
      for (let k = 0; k < 64 && i < total; k++, i++) s.send(msgs[i % msgs.length], ${listener.port}, '127.0.0.1');
      if (i < total) setImmediate(next); else s.close(() => console.log(Number(process.hrtime.bigint() - t0) / 1e9));
    }
    next();`;
  const t = performance.now();
  const child = spawn('taskset', ['-c', '1', process.execPath, '-e', sender], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b));
  await once(child, 'exit');
  await listener.drain();
  const secs = (performance.now() - t) / 1000;
  const drops = await listener.kernelDrops();
  await listener.close();
  table.flush();
  return {
    sent: datagrams.length * rounds,
    received: listener.stats.datagrams,
    samples: intake.decodeStats.flowSamples,
    secs,
    sendSecs: Number(out.trim()),
    drops,
    buffer: listener.recvBufferSize,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en');

// BENCH_REFERENCE=0 leaves the references out
if (process.env.BENCH_REFERENCE !== '0') {
  requireTools(
    'bench:sflow',
    [
      { cmd: 'tshark', pkg: 'tshark', why: 'decodes the same export, the first reference' },
      { cmd: '/usr/sbin/sfacctd', pkg: 'pmacct', why: "pmacct's sFlow collector, the second reference" },
    ],
    'or leave the references out: BENCH_REFERENCE=0 npm run bench:sflow',
  );
}
if (!existsSync(pcapPath) || !existsSync(invPath)) await generate();
const index = EndpointIndex.fromInventory(await loadInventory(invPath));
const datagrams = await readSflowCapture(pcapPath, PORT);
const once1 = runPodwire(index, datagrams, 1);
console.log(
  `input: ${fmt(datagrams.length)} datagrams, ${fmt(once1.samples)} flow samples (+ counter samples), ` +
    `${AGENTS} agents × ${PORTS_PER_AGENT} ports, ${index.endpoints.length} endpoints; each run replays it ${REPEAT}×`,
);

const rates: number[] = [];
let last = once1;
// the first runs include JIT compilation: reported, not counted (steady state is the figure)
for (let i = -WARMUP; i < RUNS; i++) {
  last = runPodwire(index, datagrams, REPEAT);
  if (i >= 0) rates.push(last.samples / last.secs);
  const label = i < 0 ? `warm-up ${i + WARMUP + 1}` : `run ${i + 1}`;
  console.log(
    `podwire ${label}: ${last.secs.toFixed(3)} s, ${fmt(last.samples / last.secs)} samples/s, ` +
      `${((last.secs / last.datagrams) * 1e6).toFixed(2)} µs/datagram`,
  );
}
const rate = median(rates);
console.log(
  `attributed: ${((100 * last.attributed) / last.samples).toFixed(1)}% of samples, flows emitted: ${fmt(last.flows)} ` +
    `(${(last.samples / last.flows).toFixed(1)} samples per flow)`,
);

// the pmacct export fixture (real exporter bytes), replayed the same way
const fixturePort = (JSON.parse(await readFile(`${FIXTURE}fixture.json`, 'utf8')) as { port: number }).port;
const fixtureDgs = await readSflowCapture(`${FIXTURE}pmacct-export.pcap`, fixturePort);
const fixtureIndex = EndpointIndex.fromInventory(await loadInventory(`${FIXTURE}inventory.json`));
const fixtureRates: number[] = [];
for (let i = 0; i < 5; i++) {
  const r = runPodwire(fixtureIndex, fixtureDgs, 200);
  if (i > 0) fixtureRates.push(r.samples / r.secs);
}
console.log(
  `pmacct export fixture (${fixtureDgs.length} datagrams × 200): ${fmt(median(fixtureRates))} samples/s`,
);

if (process.env.BENCH_REFERENCE !== '0') {
  const samples = once1.samples;
  const ts = await timed(
    `tshark -r ${pcapPath} -d udp.port==${PORT},sflow -T fields -e sflow.flow_sample.sequence_number`,
  );
  console.log(
    `tshark -T fields (decode only, 1 field): ${ts.real.toFixed(2)} s wall, ${fmt(samples / ts.real)} samples/s`,
  );
  const conf = `${dir}sfacctd.conf`;
  await writeFile(
    conf,
    [
      `pcap_savefile: ${pcapPath}`,
      'plugins: print',
      'aggregate: src_host, dst_host, src_port, dst_port, proto, vlan',
      'print_output: csv',
      '',
    ].join('\n'),
  );
  const sf = await timed(`/usr/sbin/sfacctd -f ${conf}`);
  console.log(
    `pmacct sfacctd (print plugin, 5-tuple + VLAN): ${sf.cpu.toFixed(2)} s CPU (${sf.real.toFixed(2)} s wall incl. its 2 s start delay), ` +
      `${fmt(samples / sf.cpu)} samples per CPU second`,
  );
  console.log(
    `ratio podwire/tshark: ${(rate / (samples / ts.real)).toFixed(1)}x, podwire/sfacctd (CPU): ${(rate / (samples / sf.cpu)).toFixed(1)}x`,
  );
}
console.log(
  'published: GoFlow 10-40k samples/s per core (its maintainers), Akvorado ~9.5 µs per sFlow datagram ' +
    `(podwire here: ${((1e6 * last.secs) / last.datagrams).toFixed(2)} µs per datagram of ~${(last.samples / last.datagrams).toFixed(1)} samples)`,
);
if (process.env.BENCH_LISTENER !== '0') {
  const l = await runListener(datagrams, index, 5);
  console.log(
    `listener over loopback (sender on core 1, receive buffer ${l.buffer} B): sent ${fmt(l.sent)} in ${l.sendSecs.toFixed(2)} s, ` +
      `received ${fmt(l.received)} (${fmt(l.received / l.secs)} datagrams/s, ${fmt(l.samples / l.secs)} samples/s), ` +
      `kernel drops ${l.drops ?? 'unknown'}`,
  );
}
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
console.log(`samples/s: ${Math.round(rate)}`);
