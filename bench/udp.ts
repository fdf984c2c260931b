/**
 * bench:udp — how many datagrams/s one podwire instance receives over loopback without
 * kernel drops: `podwire flows --sflow` (the built CLI, flows to /dev/null) fed by
 * separate sender processes at a controlled total rate (default 120,000/s for 10 s).
 *
 * Input: real sFlow v5 datagrams from collector/sflow/encode.ts — 16 agents, ~1.1 KB
 * datagrams of 5 flow samples with raw headers of the bench:packets traffic mix (its
 * inventory is given to podwire, so attribution runs as in service). Each sender owns
 * some agents and loops over their datagrams, renumbering datagram and sample sequences
 * each round, so podwire's loss counting stays meaningful (`lost_datagrams` must be the
 * kernel's drops, nothing else).
 *
 * kernel_drops: the socket's (/proc/net/udp) plus the loopback backlog's
 * (/proc/net/softnet_stat: a busy CPU's softirq falls behind the senders before any socket
 * sees the datagrams; machine-wide, other loopback traffic counts too).
 *
 * Warm-up (BENCH_WARMUP seconds, default 2, at BENCH_WARMUP_RATE, default 20,000/s): the
 * senders start slow, as a fabric's exporters come one by one, then go to RATE without a
 * break in their numbering. Why: podwire's JavaScript is compiled while it runs; cold, at
 * full rate from the first datagram, the decoding and V8's compiler threads want more than
 * the 2 cores for the first second, and ~20–50k of the first 120k datagrams were lost
 * (counted: overload or kernel drops). After it, 120,000/s ran for 10 s with none lost.
 * Everything the warm-up sends counts too: datagrams/s is (received − sent in the warm-up)
 * / the RATE phase's seconds, and a datagram lost in the warm-up is in the drops.
 * BENCH_WARMUP=0 measures the cold start.
 *
 * Each configuration in BENCH_CONFIGS (`readers/workers`, comma-separated; default
 * `0/0,1/2,1/1`: the in-thread dgram listener, then one reader thread feeding two and one
 * decoding workers) runs once; a line each; the last line is the last configuration's
 * `datagrams/s: N kernel_drops: M`. The machine's 2 cores also run the senders: figures
 * taken while other work runs are indicative only.
 *
 * Senders (BENCH_SENDER): `c` (default) — bench/udp-sender.c, compiled here with cc, one
 * process per sender sending with sendmmsg() in 1 ms steps; `node` — Node processes, one
 * send() each. At 120,000/s the Node senders took most of a core of the two, which the
 * receiver then lacked; the C sender takes a fraction. Either way podwire receives the same
 * datagrams, renumbered the same way.
 *
 * IPFIX (BENCH_PROTOCOL=ipfix): `podwire flows --netflow` through the same readers
 * (`--netflow-readers`; NetFlow decodes in the main thread, so a configuration's workers
 * number is ignored and printed as 0). The datagrams come from collector/netflow/encode.ts:
 * 16 exporters — each its own source address, 127.0.1.N, since NetFlow names the exporter
 * by it — sending data messages of BENCH_RECORDS flow records (default 5, as the sFlow
 * datagrams carry 5 samples) of the same traffic mix (bench/ipfix-records.ts: bench:netflow's
 * fields), the four templates, options template and sampler rate in every 50th message, as
 * exporters re-send them. Each round renumbers the message sequence (records before it),
 * so `lost_records` must be the kernel's drops and nothing else.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { DecodedPacket } from '../collector/decode/packet.js';
import { encodeIpfix, type SetDef, type Value } from '../collector/netflow/encode.js';
import { encodeDatagram, type SampleSpec } from '../collector/sflow/encode.js';
import { mixedTraffic } from '../collector/synth/scenario.js';
import { OPTIONS, recordOf, TEMPLATES } from './ipfix-records.js';

const RATE = Number(process.env.BENCH_RATE ?? 120_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 2);
const CONFIGS = (process.env.BENCH_CONFIGS ?? '0/0,1/2,1/1').split(',').map((c) => c.split('/').map(Number));
const AGENTS = 16;
const PER_AGENT = 250;
const SAMPLES = 5;
const PROTOCOL = process.env.BENCH_PROTOCOL ?? 'sflow';
const RECORDS = Number(process.env.BENCH_RECORDS ?? 5);
const TEMPLATE_EVERY = 50;
const SENDER_KIND = process.env.BENCH_SENDER ?? 'c';
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const WARMUP_RATE = Number(process.env.BENCH_WARMUP_RATE ?? 20_000);
/** `PODWIRE_CPUS:SENDER_CPUS` (taskset lists, e.g. `0:1`): podwire and the senders kept apart */
const PIN = process.env.BENCH_PIN?.split(':');
const pinned = (cpus: string | undefined, cmd: string, args: string[]): [string, string[]] =>
  cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];

if (SENDER_KIND !== 'c' && SENDER_KIND !== 'node') {
  console.error(`bench:udp: BENCH_SENDER is c or node, not ${SENDER_KIND}`);
  process.exit(2);
}
if (PROTOCOL !== 'sflow' && PROTOCOL !== 'ipfix') {
  console.error(`bench:udp: BENCH_PROTOCOL is sflow or ipfix, not ${PROTOCOL}`);
  process.exit(2);
}
const ipfix = PROTOCOL === 'ipfix';
/** the source address of IPFIX exporter a (NetFlow names the exporter by it) */
const exporterAddress = (a: number) => `127.0.1.${a + 1}`;

const root = new URL('../../', import.meta.url).pathname;
const dir = `${root}.bench/`;
await mkdir(dir, { recursive: true });
const { inventory, frames } = mixedTraffic();
const invPath = `${dir}udp.inventory.json`;
await writeFile(invPath, JSON.stringify(inventory));

/** Datagrams of agent a (sequence 1..PER_AGENT), as length-prefixed bytes for its sender. */
function agentDatagrams(a: number): Buffer[] {
  const out: Buffer[] = [];
  let sample = 0;
  for (let i = 0; i < PER_AGENT; i++) {
    const samples: SampleSpec[] = [];
    for (let k = 0; k < SAMPLES; k++) {
      const f = frames[(a * 7919 + i * SAMPLES + k) % frames.length].frame;
      samples.push({
        kind: 'flow',
        sequence: ++sample,
        sourceIndex: 1,
        samplingRate: 1024,
        samplePool: sample * 1024,
        input: 1,
        output: 2,
        records: [{ type: 'header', frame: f.subarray(0, Math.min(f.length, 160)) }],
      });
    }
    out.push(encodeDatagram({ agent: `10.255.1.${a + 1}`, sequence: i + 1, uptimeMs: 1000, samples }));
  }
  return out;
}

const packet = new DecodedPacket();
const records = new Map<number, ReturnType<typeof recordOf>>();

/**
 * Messages of exporter a (IPFIX, sequence = data records before), as datagrams; templates,
 * options template and the sampler's rate in every TEMPLATE_EVERY-th.
 */
function exporterDatagrams(a: number): Buffer[] {
  const out: Buffer[] = [];
  let seq = 0;
  for (let i = 0; i < PER_AGENT; i++) {
    const sets: SetDef[] = [];
    if (i % TEMPLATE_EVERY === 0) {
      sets.push({ kind: 'templates', templates: TEMPLATES });
      sets.push({ kind: 'options-templates', templates: [OPTIONS] });
      sets.push({ kind: 'data', template: OPTIONS, records: [[1, 2, 1024]] });
    }
    const byTemplate: Value[][][] = TEMPLATES.map(() => []);
    for (let k = 0; k < RECORDS; k++) {
      const j = (a * 7919 + i * RECORDS + k) % frames.length;
      let r = records.get(j);
      if (r === undefined) {
        r = recordOf(frames[j].frame, packet);
        records.set(j, r);
      }
      byTemplate[r.t].push(r.values(1));
    }
    byTemplate.forEach((recs, t) => {
      if (recs.length > 0) sets.push({ kind: 'data', template: TEMPLATES[t], records: recs });
    });
    out.push(Buffer.from(encodeIpfix({ exportSecs: 1_700_000_000, sequence: seq, domain: 1, sets })));
    // IPFIX numbers every data record, the options data (the sampler's rate) included
    seq += RECORDS + (i % TEMPLATE_EVERY === 0 ? 1 : 0);
  }
  return out;
}

// each sender: its agents' (exporters') datagrams, interleaved, as one file both senders read
const files: string[] = [];
for (let s = 0; s < SENDERS; s++) {
  const mine = Array.from({ length: AGENTS }, (_, a) => a).filter((a) => a % SENDERS === s);
  const lists = mine.map(ipfix ? exporterDatagrams : agentDatagrams);
  // sFlow: one socket per sender (the agent is named in the datagram); IPFIX: one per exporter
  files.push(`${dir}udp-${PROTOCOL}-sender-${s}.bin`);
  await writeFile(files[s], senderFile(lists, ipfix ? mine.map(exporterAddress) : ['0.0.0.0']));
}

/**
 * A sender's file (the format bench/udp-sender.c describes): the exporters' source addresses
 * (0.0.0.0: any), then each datagram with the sequence fields a round renumbers — where,
 * from what, by how much a round.
 */
function senderFile(lists: Buffer[][], sources: string[]): Buffer {
  const head = Buffer.alloc(2 + 4 * sources.length);
  head.writeUInt16BE(sources.length);
  sources.forEach((a, i) => {
    head.writeUInt32BE(
      a.split('.').reduce((n, x) => n * 256 + Number(x), 0),
      2 + 4 * i,
    );
  });
  const parts: Buffer[] = [head];
  for (let i = 0; i < PER_AGENT; i++) {
    lists.forEach((l, x) => {
      const m = l[i];
      const fields = sequenceFields(m);
      const h = Buffer.alloc(4 + 10 * fields.length);
      h.writeUInt8(ipfix ? x : 0);
      h.writeUInt16BE(m.length, 1);
      h.writeUInt8(fields.length, 3);
      fields.forEach(([off, step], j) => {
        h.writeUInt16BE(off, 4 + 10 * j);
        h.writeUInt32BE(m.readUInt32BE(off), 6 + 10 * j);
        h.writeUInt32BE(step, 10 + 10 * j);
      });
      parts.push(h, m);
    });
  }
  return Buffer.concat(parts);
}

/**
 * [offset, per-round step] of each sequence number a datagram carries: each round over the
 * file goes on as the exporter would — sFlow adds the round's datagrams to the datagram
 * sequence (offset 16, IPv4 agent) and its samples to each flow sample's sequence (8 bytes
 * into the sample); IPFIX adds the round's data records to the message sequence (offset 8).
 */
function sequenceFields(m: Buffer): [number, number][] {
  if (ipfix) return [[8, PER_AGENT * RECORDS + Math.ceil(PER_AGENT / TEMPLATE_EVERY)]];
  const out: [number, number][] = [[16, PER_AGENT]];
  for (let o = 28, k = 0; k < m.readUInt32BE(24); k++) {
    out.push([o + 8, PER_AGENT * SAMPLES]);
    o += 8 + m.readUInt32BE(o + 4);
  }
  return out;
}

const cSender = `${dir}udp-sender`;
if (SENDER_KIND === 'c') {
  const cc = spawnSync('cc', ['-O2', '-o', cSender, `${root}bench/udp-sender.c`], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) {
    console.error(
      `bench:udp: cannot build the C sender (cc: ${cc.error?.message ?? cc.stderr}); install gcc, or run with BENCH_SENDER=node`,
    );
    process.exit(2);
  }
}

/**
 * The Node sender (BENCH_SENDER=node): the C sender's file and pacing (1 ms steps), one
 * send() a datagram; each exporter sends from its own address (a socket bound to it).
 */
const SENDER = `
const fs = require('node:fs'); const dgram = require('node:dgram');
const [file, port, rate, secs, wrate = '0', wsecs = '0'] = process.argv.slice(1); const b = fs.readFileSync(file);
const n = b.readUInt16BE(0); let o = 2; const socks = [];
for (let e = 0; e < n; e++, o += 4) {
  const a = b.readUInt32BE(o); const s = dgram.createSocket('udp4'); s.on('error', () => {});
  if (a !== 0) s.bind(0, [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'));
  socks.push(s);
}
const msgs = [];
while (o < b.length) {
  const e = b.readUInt8(o), len = b.readUInt16BE(o + 1), nf = b.readUInt8(o + 3); const fields = [];
  for (let j = 0; j < nf; j++) fields.push([b.readUInt16BE(o + 4 + 10 * j), b.readUInt32BE(o + 6 + 10 * j), b.readUInt32BE(o + 10 + 10 * j)]);
  o += 4 + 10 * nf; msgs.push({ e, m: Buffer.from(b.subarray(o, o + len)), fields }); o += len;
}
const warm = Math.floor(Number(wrate) * Number(wsecs)), total = warm + Number(rate) * Number(secs);
let i = 0; const t0 = performance.now();
function step() {
  const t = (performance.now() - t0) / 1000;
  const at = t < Number(wsecs) ? Math.floor(t * Number(wrate)) : warm + Math.floor((t - Number(wsecs)) * Number(rate));
  const due = Math.min(total, at);
  for (; i < due; i++) {
    const r = Math.floor(i / msgs.length), { e, m, fields } = msgs[i % msgs.length];
    for (const [off, base, by] of fields) m.writeUInt32BE((base + r * by) >>> 0, off);
    // a copy: a send Node had to queue must not see the next round's numbers
    socks[e].send(Buffer.from(m), Number(port), '127.0.0.1');
  }
  if (i < total) setTimeout(step, 1);
  else { let open = socks.length; for (const s of socks) s.close(() => { if (--open === 0) console.log(i, (performance.now() - t0) / 1000 - Number(wsecs), warm); }); }
}
setTimeout(step, 50);`;

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/**
 * Datagrams the kernel dropped before any socket: on loopback a sender's packets wait in
 * the per-CPU backlog (net.core.netdev_max_backlog long) for the softirq that delivers
 * them; when that CPU is busy they overflow it — the second column of
 * /proc/net/softnet_stat (hex, per CPU). Not a socket's drops, so /proc/net/udp misses them.
 */
async function backlogDrops(): Promise<number> {
  const text = await readFile('/proc/net/softnet_stat', 'utf8');
  return text
    .trim()
    .split('\n')
    .reduce((n, l) => n + Number.parseInt(l.trim().split(/\s+/)[1] ?? '0', 16), 0);
}

/** The kernel's UDP counters (/proc/net/snmp `Udp:`), machine-wide: what was really sent. */
async function udpSnmp(): Promise<Record<string, number>> {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp: '));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

const field = (text: string, name: string) =>
  Number(new RegExp(` ${name}=(\\d+)`).exec(text)?.[1] ?? Number.NaN);
let last = '';
for (const [readers, workers] of CONFIGS) {
  const port = await freePort();
  const cli = spawn(
    ...pinned(PIN?.[0], process.execPath, [
      // BENCH_NODE_ARGS: flags for podwire's node (e.g. --cpu-prof to profile the threads)
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      `${root}bin/podwire.js`,
      'flows',
      ipfix ? '--netflow' : '--sflow',
      `127.0.0.1:${port}`,
      '--inventory',
      invPath,
      ...(ipfix
        ? ['--netflow-readers', String(readers)]
        : ['--sflow-readers', String(readers), '--sflow-workers', String(workers)]),
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  cli.stderr.on('data', (b: Buffer) => (err += b));
  while (!err.includes('listening')) {
    if (cli.exitCode !== null) throw new Error(`podwire exited: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const backlog0 = await backlogDrops();
  const snmp0 = await udpSnmp();
  const senders = files.map((f) => {
    const args = [f, String(port), String(RATE / SENDERS), String(SECONDS)];
    if (WARMUP > 0) args.push(String(WARMUP_RATE / SENDERS), String(WARMUP));
    const [cmd, argv] =
      SENDER_KIND === 'c'
        ? pinned(PIN?.[1], cSender, args)
        : pinned(PIN?.[1], process.execPath, ['-e', SENDER, ...args]);
    return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  });
  const outs = senders.map((p) => {
    let o = '';
    p.stdout.on('data', (b: Buffer) => (o += b));
    return once(p, 'close').then(() => o.trim().split(' ').map(Number));
  });
  const sent = await Promise.all(outs);
  // what is queued is read at SIGINT before the summary
  await new Promise((r) => setTimeout(r, 500));
  const exited = once(cli, 'exit');
  cli.kill('SIGINT');
  await exited;
  const total = sent.reduce((n, [c]) => n + c, 0);
  const sendSecs = Math.max(...sent.map(([, t]) => t));
  const datagrams = field(err, 'datagrams');
  // the socket's drops and the loopback backlog's (machine-wide: other traffic counts too)
  const socketDrops = field(err, 'kernel_drops');
  const backlog = (await backlogDrops()) - backlog0;
  const snmp1 = await udpSnmp();
  const kernel = (k: string) => snmp1[k] - snmp0[k];
  const drops = socketDrops + backlog;
  const warmSent = sent.reduce((n, [, , w]) => n + w, 0);
  const rate = Math.round((datagrams - warmSent) / sendSecs);
  console.log(
    `${PROTOCOL} readers=${readers} workers=${ipfix ? 0 : workers}: ${total} handed to ${SENDERS} senders' sockets ` +
      `(${warmSent} in a ${WARMUP} s warm-up, then ${total - warmSent} in ${sendSecs.toFixed(2)} s), ` +
      `${kernel('OutDatagrams')} left the kernel, ` +
      `received ${datagrams} (${rate}/s), kernel_drops ${drops} (socket ${socketDrops}, backlog ${backlog}), overload_drops ${field(err, 'overload_drops')}, ` +
      (ipfix
        ? `lost_records ${field(err, 'lost_records') || 0}, late_datagrams ${field(err, 'late_datagrams') || 0}, ` +
          `reordered ${field(err, 'reordered_datagrams') || 0}, records ${field(err, 'records')}, template_missing ${field(err, 'template_missing') || 0}`
        : `lost_datagrams ${field(err, 'lost_datagrams')}, late_datagrams ${field(err, 'late_datagrams') || 0}, ` +
          `reordered ${field(err, 'reordered_datagrams') || 0}, flow_samples ${field(err, 'flow_samples')}`),
  );
  // the senders count what they handed to Node (what a closing socket still queued is
  // lost there); the kernel what left and arrived (machine-wide)
  console.log(
    `  kernel, machine-wide: OutDatagrams ${kernel('OutDatagrams')}, InDatagrams ${kernel('InDatagrams')}, ` +
      `RcvbufErrors ${kernel('RcvbufErrors')}, SndbufErrors ${kernel('SndbufErrors')}, NoPorts ${kernel('NoPorts')}`,
  );
  last = `datagrams/s: ${rate} kernel_drops: ${drops}`;
}
console.log(last);
