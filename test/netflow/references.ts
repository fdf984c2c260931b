/**
 * The reference decoders of a NetFlow/IPFIX export capture: nfdump (the datagrams replayed
 * to a real `nfcapd` on 127.0.0.1, its file read back with `nfdump -o json`) and tshark's
 * cflow dissector (`-T json`). Both give the same normalized records, so a test compares
 * them with each other, with the pcap's ground truth and with podwire field by field.
 *
 * Normalizing: the destination MAC is whichever of destinationMacAddress 80 (pmacct) and
 * postDestinationMacAddress 57 (softflowd) the exporter sent. ICMP flows have no ports in
 * the key: the exporters disagree on where type and code go (pmacct's v9 sends
 * L4_DST_PORT 2048 for an echo request and ICMP_TYPE 32 as 0, and nfdump believes the
 * latter), so a key with them would compare the tools' quirks, not the flows.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { run } from '../cli/helpers.js';
import { freeUdpPort } from '../helpers/ports.js';
import { type FlowKey, keyOf } from './truth.js';
import { tsharkSlow as tshark } from './tshark.js';

export interface ExportedFlow extends FlowKey {
  /** as exported (not scaled by any sampling rate) */
  packets: number;
  bytes: number;
}

/** Sums records of the same key (an exporter may split a flow; the truth does not). */
export function sumByKey(flows: readonly ExportedFlow[], withL2 = true): Map<string, ExportedFlow> {
  const m = new Map<string, ExportedFlow>();
  for (const f of flows) {
    const k = keyOf(f, withL2);
    const t = m.get(k);
    if (t === undefined) m.set(k, { ...f });
    else {
      t.packets += f.packets;
      t.bytes += f.bytes;
    }
  }
  return m;
}

const ZERO_MAC = '00:00:00:00:00:00';
const mac = (...candidates: (string | undefined)[]) =>
  candidates.find((m) => m !== undefined && m !== ZERO_MAC) ?? ZERO_MAC;

// ------------------------------------------------------------------ nfdump

interface NfdumpRecord {
  type: string;
  in_packets: number;
  in_bytes: number;
  proto: number;
  src_port?: number;
  dst_port?: number;
  src4_addr?: string;
  dst4_addr?: string;
  src6_addr?: string;
  dst6_addr?: string;
  src_vlan?: number;
  in_src_mac?: string;
  in_dst_mac?: string;
  out_dst_mac?: string;
  sampled?: number;
}

export interface NfdumpResult {
  flows: ExportedFlow[];
  /** nfcapd's closing line: flows, packets, bytes, sequence errors, bad packets */
  stats: string;
}

/**
 * Replays the export's datagrams (UDP to `port` in the capture) to an nfcapd on 127.0.0.1
 * and reads its file back. nfcapd stores packets and bytes as the exporter sent them
 * unless told a sampling rate (-s), which is not done here.
 */
export async function nfdumpRead(capture: string, port: number): Promise<NfdumpResult> {
  const datagrams = await readSflowCapture(capture, port);
  const dir = await mkdtemp(join(tmpdir(), 'podwire-nfcapd-'));
  try {
    const listen = await freeUdpPort();
    const nfcapd = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(listen), '-w', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    nfcapd.stdout.on('data', (b: Buffer) => (log += b));
    nfcapd.stderr.on('data', (b: Buffer) => (log += b));
    const exited = once(nfcapd, 'exit');
    // ready once its socket is bound (what it prints depends on a terminal)
    await waitFor(async () => nfcapd.exitCode !== null || (await udpQueue(listen)) >= 0, 5000);
    if (nfcapd.exitCode !== null || (await udpQueue(listen)) < 0)
      throw new Error(`nfcapd did not start: ${log}`);
    // it binds before it has set up its flow sources and file: what comes sooner is lost
    await new Promise((r) => setTimeout(r, 500));
    const sock = createSocket('udp4');
    try {
      for (const d of datagrams) {
        await new Promise<void>((r, j) => sock.send(d.data, listen, '127.0.0.1', (e) => (e ? j(e) : r())));
        // nfcapd reads one socket at its own pace: do not outrun a 200 KiB default buffer
        await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      sock.close();
    }
    // nfcapd says nothing per datagram: stop it once its socket's queue is empty
    await waitFor(async () => (await udpQueue(listen)) === 0, 5000);
    await new Promise((r) => setTimeout(r, 500));
    nfcapd.kill('SIGINT');
    await exited;
    const files = (await readdir(dir)).filter((f) => f.startsWith('nfcapd.') && !f.includes('current'));
    if (files.length !== 1) throw new Error(`nfcapd wrote ${files.join(', ') || 'no file'}: ${log}`);
    const r = await run('nfdump', ['-r', join(dir, files[0]), '-o', 'json'], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`nfdump failed (${r.code}): ${r.stderr}`);
    const records = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout) as NfdumpRecord[];
    const stats = /Ident: .*$/m.exec(log)?.[0] ?? log;
    return { flows: records.filter((x) => x.type === 'FLOW').map(fromNfdump), stats };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes waiting in the receive queue of the IPv4 UDP socket bound to `port` (/proc/net/udp). */
async function udpQueue(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of (await readFile('/proc/net/udp', 'utf8')).split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1]?.endsWith(`:${hex}`)) return Number.parseInt(cols[4].split(':')[1], 16);
  }
  return -1;
}

async function waitFor(done: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

function fromNfdump(r: NfdumpRecord): ExportedFlow {
  const icmp = r.proto === 1 || r.proto === 58;
  return {
    srcMac: mac(r.in_src_mac),
    dstMac: mac(r.in_dst_mac, r.out_dst_mac),
    vlan: r.src_vlan ?? 0,
    src: r.src4_addr ?? r.src6_addr ?? '',
    dst: r.dst4_addr ?? r.dst6_addr ?? '',
    proto: r.proto,
    sport: icmp ? 0 : (r.src_port ?? 0),
    dport: icmp ? 0 : (r.dst_port ?? 0),
    packets: r.in_packets,
    bytes: r.in_bytes,
  };
}

// ------------------------------------------------------------------ tshark cflow

export interface TsharkExport {
  flows: ExportedFlow[];
  /** data records that are not flows (options: sampling parameters; psamp: packet sections), field → value */
  other: Record<string, string>[];
  /** per datagram: version, sequence, observation domain / source id */
  headers: { version: number; sequence: number; domain: number }[];
}

type Json = { [k: string]: Json } | string;

/** Every "Flow N" object under a cflow layer (data records of any set). */
function flowObjects(o: Json, out: Record<string, Json>[]): void {
  if (typeof o === 'string') return;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') continue;
    if (/^Flow \d+$/.test(k)) out.push(v as Record<string, Json>);
    else flowObjects(v, out);
  }
}

const str = (o: Record<string, Json>, k: string): string | undefined =>
  typeof o[k] === 'string' ? (o[k] as string) : undefined;

export async function tsharkRead(capture: string, port: number): Promise<TsharkExport> {
  const out = await tshark(['-r', capture, '-d', `udp.port==${port},cflow`, '-T', 'json', '-J', 'cflow']);
  const packets = JSON.parse(out) as { _source: { layers: { cflow?: Record<string, Json> } } }[];
  const res: TsharkExport = { flows: [], other: [], headers: [] };
  for (const p of packets) {
    const c = p._source.layers.cflow;
    if (c === undefined) continue;
    res.headers.push({
      version: Number(str(c, 'cflow.version')),
      sequence: Number(str(c, 'cflow.sequence')),
      domain: Number(str(c, 'cflow.od_id') ?? str(c, 'cflow.source_id') ?? 0),
    });
    const recs: Record<string, Json>[] = [];
    flowObjects(c, recs);
    for (const r of recs) {
      const packetsText = str(r, 'cflow.packets');
      if (packetsText === undefined) {
        res.other.push(
          Object.fromEntries(
            Object.entries(r).filter((e): e is [string, string] => typeof e[1] === 'string'),
          ),
        );
        continue;
      }
      res.flows.push(fromTshark(r));
    }
  }
  return res;
}

function fromTshark(r: Record<string, Json>): ExportedFlow {
  const proto = Number(str(r, 'cflow.protocol'));
  const icmp = proto === 1 || proto === 58;
  return {
    srcMac: mac(str(r, 'cflow.srcmac')),
    dstMac: mac(str(r, 'cflow.dstmac'), str(r, 'cflow.post_dstmac')),
    vlan: Number(str(r, 'cflow.vlanid') ?? 0),
    src: str(r, 'cflow.srcaddr') ?? str(r, 'cflow.srcaddrv6') ?? '',
    dst: str(r, 'cflow.dstaddr') ?? str(r, 'cflow.dstaddrv6') ?? '',
    proto,
    sport: icmp ? 0 : Number(str(r, 'cflow.srcport') ?? 0),
    dport: icmp ? 0 : Number(str(r, 'cflow.dstport') ?? 0),
    packets: Number(str(r, 'cflow.packets')),
    bytes: Number(str(r, 'cflow.octets')),
  };
}
