/**
 * The real tools of the sFlow suites: pmacct's pmacctd with the sfprobe plugin as the
 * exporter (it reads a pcap and exports every packet as an sFlow flow sample), tcpdump
 * capturing the export on loopback, and tshark as the independent decoder of both the
 * pods' pcap (ground truth) and the export (cross-check of podwire's decoder).
 * A missing tool fails the suite (setup-tools.sh installs them); nothing is skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PcapRecord, pcapFileHeader, pcapRecord } from '../../collector/capture/pcap-writer.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { tshark } from '../cli/helpers.js';
import { waitForOutput } from '../helpers/netns.js';

/** Debian installs the pmacct daemons in /usr/sbin, which a non-root PATH may lack. */
export const PMACCTD = '/usr/sbin/pmacctd';
export const SFACCTD = '/usr/sbin/sfacctd';

export async function writePcap(path: string, records: PcapRecord[]): Promise<void> {
  await writeFile(path, Buffer.concat([pcapFileHeader(), ...records.map((r) => pcapRecord(r))]));
}

/**
 * Runs pmacctd over `pcap` with the sfprobe plugin exporting to 127.0.0.1:port at
 * sampling rate 1, until `until()` resolves; then kills it and resolves with its log.
 *
 * pmacct 1.7.7 quirks this works around (seen with tshark on the export):
 * - pmacctd waits 2 s before it plays a savefile;
 * - its core hands packets to the plugin in buffers, so the last few packets of a file
 *   leave only when the daemon stops — and a clean stop (SIGINT, or the end of the file)
 *   then also sends a burst of stale samples (packets already exported, again). So the
 *   caller appends filler frames (FILLER_VLAN) that push every real packet out, keeps the
 *   daemon running (pcap_savefile_wait), and it is stopped with SIGKILL (core and plugin,
 *   by pid), which sends nothing more.
 */
export async function pmacctExport(o: {
  pcap: string;
  port: number;
  dir: string;
  agentIp: string;
  until: () => Promise<void>;
  /** pmacctd's own (random) 1-in-N sampling; default 1 (every packet) */
  samplingRate?: number;
}): Promise<string> {
  const conf = join(o.dir, 'pmacctd.conf');
  await writeFile(
    conf,
    [
      `pcap_savefile: ${o.pcap}`,
      'pcap_savefile_wait: true',
      'plugins: sfprobe',
      `sfprobe_receiver: 127.0.0.1:${o.port}`,
      `sfprobe_agentip: ${o.agentIp}`,
      `sampling_rate: ${o.samplingRate ?? 1}`,
      'snaplen: 256',
      '',
    ].join('\n'),
  );
  const child = spawn(PMACCTD, ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (b: Buffer) => (log += b));
  child.stderr.on('data', (b: Buffer) => (log += b));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  try {
    await Promise.race([
      o.until(),
      exited.then(([code]) => {
        throw new Error(`pmacctd exited ${code} early: ${log}`);
      }),
    ]);
  } finally {
    if (child.exitCode === null && child.pid !== undefined) {
      for (const pid of await childPids(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
    }
  }
  await exited;
  if (/ERROR/.test(log)) throw new Error(`pmacctd reported an error: ${log}`);
  return log;
}

/** The pmacctd plugin processes: children of the core. */
async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** Filler frames' VLAN: traffic no test counts (see pmacctExport). */
export const FILLER_VLAN = 999;

/** `n` filler frames after `t` (seconds): UDP on FILLER_VLAN between hosts nobody owns. */
export function fillerFrames(n: number, t: number): PcapRecord[] {
  const frame = podFrame(
    { mac: '02:00:00:00:99:01', ip: '10.99.0.1', vlan: FILLER_VLAN, node: '' },
    { mac: '02:00:00:00:99:02', ip: '10.99.0.2', vlan: FILLER_VLAN, node: '' },
    { proto: 'udp', sport: 9, dport: 9, size: 10 },
    [{ vid: FILLER_VLAN }],
  );
  return Array.from({ length: n }, (_, i) => {
    const ts = t + (i + 1) / 1000;
    return { tsSec: Math.floor(ts), tsNsec: Math.round((ts - Math.floor(ts)) * 1e6) * 1000, data: frame };
  });
}

/** tcpdump on lo writing UDP to `port` into `path`; resolves once it is capturing. */
export async function captureLoopback(path: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    'tcpdump',
    // a 32 MiB capture buffer (pmacctd sends its export in one burst); packets as they
    // come, not in kernel blocks (a stop would lose the block not yet handed over)
    [
      '-i',
      'lo',
      '-U',
      '--immediate-mode',
      '-B',
      '32768',
      '-s',
      '0',
      '-w',
      path,
      'udp',
      'dst',
      'port',
      String(port),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await waitForOutput(child, 'stderr', /listening on/);
  return child;
}

/** Stops tcpdump; resolves with its closing report (packets captured, dropped by kernel). */
export async function stopCapture(child: ChildProcess): Promise<string> {
  let report = '';
  child.stderr?.on('data', (b: Buffer) => (report += b));
  if (child.exitCode !== null) return report;
  const exited = once(child, 'exit');
  child.kill('SIGINT');
  await exited;
  return report;
}

/** Packets and bytes per flow key (`VLAN SRC:SPORT > DST:DPORT`) of a pcap, as tshark reads it. */
export async function tsharkGroundTruth(
  pcap: string,
): Promise<Map<string, { packets: number; bytes: number; vlan: number }>> {
  const out = await tshark([
    '-r',
    pcap,
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-e',
    'frame.len',
    '-e',
    'vlan.id',
    '-e',
    'ip.src',
    '-e',
    'ip.dst',
    '-e',
    'ipv6.src',
    '-e',
    'ipv6.dst',
    '-e',
    'tcp.srcport',
    '-e',
    'tcp.dstport',
    '-e',
    'udp.srcport',
    '-e',
    'udp.dstport',
  ]);
  const m = new Map<string, { packets: number; bytes: number; vlan: number }>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [len, vlan, s4, d4, s6, d6, ts, td, us, ud] = line.split('|');
    const v = vlan === '' ? 0 : Number(vlan.split(',').at(-1));
    const key = `${v} ${s4 || s6}:${ts || us} > ${d4 || d6}:${td || ud}`;
    const t = m.get(key) ?? { packets: 0, bytes: 0, vlan: v };
    t.packets++;
    t.bytes += Number(len);
    m.set(key, t);
  }
  return m;
}

/** One flow sample as tshark decodes it from an export capture. */
export interface TsharkSample {
  datagramSequence: number;
  agent: string;
  sequence: number;
  samplingRate: number;
  samplePool: number;
  sourceIndex: number;
  input: number;
  vlanIn: number;
  frameLength: number;
  stripped: number;
  headerLength: number;
  header: string;
}

/**
 * tshark shows a sampled header with its XDR padding (to a multiple of 4 bytes): the
 * header is the first `length` bytes. (pmacctd fills the padding with whatever follows in
 * its buffer, so only its length is checked.)
 */
function headerBytes(hex: string, length: number): string {
  const padded = (length + 3) & ~3;
  if (hex.length !== padded * 2) {
    throw new Error(`tshark: header of ${hex.length / 2} bytes for header length ${length}`);
  }
  return hex.slice(0, length * 2);
}

/** The flow samples of an sFlow export capture, in order, as tshark decodes them. */
export async function tsharkSamples(capture: string, port: number): Promise<TsharkSample[]> {
  const fields = [
    'sflow_245.sequence_number',
    'sflow_245.agent',
    'sflow.flow_sample.sequence_number',
    'sflow.flow_sample.sampling_rate',
    'sflow.flow_sample.sample_pool',
    'sflow.flow_sample.index',
    'sflow.flow_sample.input_interface',
    'sflow_245.vlan.in',
    'sflow_245.header.frame_length',
    'sflow_245.header.payload_stripped',
    'sflow_245.header.sampled_header_length',
    'sflow_245.header',
  ];
  const out = await tshark([
    '-r',
    capture,
    '-d',
    `udp.port==${port},sflow`,
    '-T',
    'fields',
    '-E',
    'separator=|',
    ...fields.flatMap((f) => ['-e', f]),
  ]);
  const samples: TsharkSample[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [dseq, agent, ...cols] = line.split('|');
    const lists = cols.map((c) => (c === '' ? [] : c.split(',')));
    const n = lists[0].length;
    for (const [i, l] of lists.entries()) {
      if (l.length !== n)
        throw new Error(`tshark: field ${fields[i + 2]} has ${l.length} values for ${n} samples`);
    }
    for (let k = 0; k < n; k++) {
      const v = (i: number) => Number(lists[i][k]);
      samples.push({
        datagramSequence: Number(dseq),
        agent,
        sequence: v(0),
        samplingRate: v(1),
        samplePool: v(2),
        sourceIndex: v(3),
        input: v(4),
        vlanIn: v(5),
        frameLength: v(6),
        stripped: v(7),
        headerLength: v(8),
        header: headerBytes(lists[9][k], v(8)),
      });
    }
  }
  return samples;
}
