/**
 * Output records of the CLI: one JSON object per packet or flow (jsonl), or an aligned
 * table for people. Field names are snake_case and stable: scripts depend on them.
 */
import { type Attribution, matchedByName, unattributedName } from '../collector/attribution/attribute.js';
import type { Endpoint, EndpointIndex } from '../collector/attribution/endpoint-index.js';
import type { CapturedPacket } from '../collector/capture/types.js';
import { ipv4ToString, ipv6ToString, macToString } from '../collector/decode/addr.js';
import { type DecodedPacket, decodeStatusName, Layer } from '../collector/decode/packet.js';
import type { FlowBatch, FlowRecord } from '../collector/flows/flow-table.js';
import type { LineWriter } from './output.js';

const PROTO_NAMES: Record<number, string> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  58: 'icmpv6',
  132: 'sctp',
};

export function protoName(proto: number): string | null {
  if (proto < 0) return null;
  return PROTO_NAMES[proto] ?? `ip-${proto}`;
}

/** ISO 8601 UTC with 6 (µs) or 9 (ns) fraction digits. */
export function isoTime(tsSec: number, tsNsec: number, digits: 6 | 9): string {
  const base = new Date(tsSec * 1000).toISOString().slice(0, 19);
  const frac =
    digits === 9 ? String(tsNsec).padStart(9, '0') : String(Math.floor(tsNsec / 1000)).padStart(6, '0');
  return `${base}.${frac}Z`;
}

export interface EndpointJson {
  namespace: string;
  pod: string;
  node: string;
  interface: string;
  network: string;
  tier: string;
  by: string;
}

export function endpointJson(ep: Endpoint | null, by: number | string): EndpointJson | null {
  if (ep === null) return null;
  return {
    namespace: ep.namespace,
    pod: ep.pod,
    node: ep.node,
    interface: ep.interface,
    network: ep.network,
    tier: ep.tier,
    by: typeof by === 'string' ? by : (matchedByName[by] ?? 'none'),
  };
}

function ipStrings(p: DecodedPacket): [string | null, string | null] {
  if (p.ipVersion === 4) return [ipv4ToString(p.src4), ipv4ToString(p.dst4)];
  if (p.ipVersion === 6) return [ipv6ToString(p.src6), ipv6ToString(p.dst6)];
  return [null, null];
}

const hasL4 = (p: DecodedPacket) => (p.layers & (Layer.TCP | Layer.UDP)) !== 0;

/** The jsonl record of one traced packet. */
export function packetJson(
  c: CapturedPacket,
  p: DecodedPacket,
  a: Attribution,
  index: EndpointIndex,
  tsDigits: 6 | 9,
) {
  const [srcIp, dstIp] = ipStrings(p);
  const l2 = (p.layers & Layer.ETHERNET) !== 0;
  const rec: Record<string, unknown> = {
    frame: c.frame,
    ts: isoTime(c.tsSec, c.tsNsec, tsDigits),
    length: c.wireLength,
    inner_length: p.innerLength,
    vlan: l2 ? p.vlan : null,
    vni: p.vni >= 0 ? p.vni : null,
    src_mac: l2 ? macToString(p.srcMac) : null,
    dst_mac: l2 ? macToString(p.dstMac) : null,
    src_ip: srcIp,
    dst_ip: dstIp,
    proto: protoName(p.protocol),
    src_port: hasL4(p) ? p.srcPort : null,
    dst_port: hasL4(p) ? p.dstPort : null,
    src: endpointJson(a.src, a.srcBy),
    dst: endpointJson(a.dst, a.dstBy),
  };
  if (p.vlanCount > 1) rec.vlans = Array.from(p.vlans.subarray(0, p.vlanCount));
  if (p.layers & Layer.TCP) rec.tcp_flags = p.tcpFlags;
  if (p.layers & (Layer.ICMP | Layer.ICMPV6)) {
    rec.icmp_type = p.icmpType;
    rec.icmp_code = p.icmpCode;
  }
  if (p.layers & Layer.FRAGMENT) rec.fragment_offset = p.fragOffset;
  if (p.tunnelIpVersion !== 0) {
    const v4 = p.tunnelIpVersion === 4;
    rec.tunnel = {
      src_ip: v4 ? ipv4ToString(p.tunnelSrc4) : ipv6ToString(p.tunnelSrc6),
      dst_ip: v4 ? ipv4ToString(p.tunnelDst4) : ipv6ToString(p.tunnelDst6),
      src_node: v4 ? index.vtepNode4(p.tunnelSrc4) : index.vtepNode6(p.tunnelSrc6),
      dst_node: v4 ? index.vtepNode4(p.tunnelDst4) : index.vtepNode6(p.tunnelDst6),
      outer_vlan: p.outerVlan,
    };
  }
  if (p.erspanSession >= 0) rec.erspan = { session: p.erspanSession, type: p.erspanType };
  if (p.status !== 0) rec.status = decodeStatusName[p.status];
  if (a.src === null) rec.src_unattributed = unattributedName[a.srcReason];
  if (a.dst === null) rec.dst_unattributed = unattributedName[a.dstReason];
  return rec;
}

const hasPorts = (proto: string | null) => proto === 'tcp' || proto === 'udp' || proto === 'sctp';

/**
 * The jsonl record of one flow. `observationPoint` (sFlow input: `sflow:AGENT:IFINDEX`)
 * names the observation number, which alone means nothing outside this run.
 */
export function flowJson(f: FlowRecord, observationPoint?: string) {
  return {
    window_start: new Date(f.windowStart * 1000).toISOString(),
    window_seconds: f.windowSeconds,
    observation: f.observation,
    ...(observationPoint === undefined ? {} : { observation_point: observationPoint }),
    vlan: f.vlan,
    vni: f.vni >= 0 ? f.vni : null,
    src_mac: f.srcMac,
    dst_mac: f.dstMac,
    src_ip: f.srcIp || null,
    dst_ip: f.dstIp || null,
    proto: protoName(f.protocol),
    src_port: hasPorts(protoName(f.protocol)) ? f.srcPort : null,
    dst_port: hasPorts(protoName(f.protocol)) ? f.dstPort : null,
    tcp_flags: f.tcpFlags,
    bytes: f.bytes,
    packets: f.packets,
    samples: f.samples,
    sampling_rate: f.samplingRate,
    src: endpointJson(f.src, f.srcBy),
    dst: endpointJson(f.dst, f.dstBy),
    first_seen: new Date(f.firstSeenUs / 1000).toISOString(),
    last_seen: new Date(f.lastSeenUs / 1000).toISOString(),
  };
}

/**
 * The jsonl line of flow `i` of a batch: exactly `JSON.stringify(flowJson(batch.record(i),
 * observationPoint))` (test/flows/json-line.test.ts), written from the rows without the
 * record and its object (that was ~12 µs a flow, most of a whole `podwire flows` run).
 */
export function flowJsonLine(b: FlowBatch, i: number, observationPoint?: string): string {
  const parts: (string | number)[] = [];
  pushFlowJson(parts, b, i, observationPoint);
  return parts.join('');
}

/** Every flow of a batch as jsonl lines, by window then first packet, into `out`. */
export function writeFlowLines(out: LineWriter, b: FlowBatch, point?: (observation: number) => string): void {
  for (const i of b.order()) {
    const parts = out.pieces();
    if (parts === null) return;
    pushFlowJson(parts, b, i, point?.(b.observation(i)));
    out.endLine(FLOW_LINE_LENGTH);
  }
}

/** about the length of a flow's line with both sides attributed */
const FLOW_LINE_LENGTH = 600;

/** The pieces of flow `i`'s jsonl line (no newline), pushed without making the line. */
function pushFlowJson(p: (string | number)[], b: FlowBatch, i: number, observationPoint?: string): void {
  const vni = b.vni(i);
  const srcIp = b.srcIp(i);
  const dstIp = b.dstIp(i);
  const proto = protoName(b.protocol(i));
  const ports = hasPorts(proto);
  const src = b.srcEndpoint(i);
  const dst = b.dstEndpoint(i);
  p.push('{"window_start":"', isoSeconds(b.windowStart(i)), '","window_seconds":', b.windowSeconds);
  p.push(',"observation":', b.observation(i));
  if (observationPoint !== undefined) p.push(',"observation_point":', JSON.stringify(observationPoint));
  p.push(',"vlan":', b.vlan(i), ',"vni":', vni >= 0 ? vni : 'null');
  p.push(',"src_mac":"', macToString(b.srcMac(i)), '","dst_mac":"', macToString(b.dstMac(i)), '"');
  p.push(
    ',"src_ip":',
    srcIp === '' ? 'null' : `"${srcIp}"`,
    ',"dst_ip":',
    dstIp === '' ? 'null' : `"${dstIp}"`,
  );
  p.push(',"proto":', proto === null ? 'null' : JSON.stringify(proto));
  p.push(',"src_port":', ports ? b.srcPort(i) : 'null', ',"dst_port":', ports ? b.dstPort(i) : 'null');
  p.push(',"tcp_flags":', b.tcpFlags(i), ',"bytes":', num(b.bytes(i)), ',"packets":', num(b.packets(i)));
  p.push(',"samples":', num(b.packets(i) / b.samplingRate(i)), ',"sampling_rate":', b.samplingRate(i));
  p.push(',"src":');
  if (src < 0) p.push('null');
  else p.push(endpointHead(b.endpointList[src]), b.srcBy(i), '"}');
  p.push(',"dst":');
  if (dst < 0) p.push('null');
  else p.push(endpointHead(b.endpointList[dst]), b.dstBy(i), '"}');
  p.push(',"first_seen":"', firstSeenIso.format(b.firstSeenUs(i)), '","last_seen":"');
  p.push(lastSeenIso.format(b.lastSeenUs(i)), '"}');
}

/** A number as JSON writes it (a non-finite one is null); join() writes it as `${n}` does. */
const num = (n: number): number | string => (Number.isFinite(n) ? n : 'null');

/** An endpoint's JSON up to its `by` value, made once per endpoint. */
const endpointHeads = new WeakMap<Endpoint, string>();

function endpointHead(ep: Endpoint): string {
  let head = endpointHeads.get(ep);
  if (head === undefined) {
    const json = JSON.stringify(endpointJson(ep, ''));
    head = json.slice(0, json.length - '"}'.length); // open at by's value
    endpointHeads.set(ep, head);
  }
  return head;
}

// The flows of a run share a few windows and seconds: their ISO texts are made once.
let lastWindow = Number.NaN;
let lastWindowText = '';

/** `new Date(seconds * 1000).toISOString()`, the last answer remembered. */
function isoSeconds(seconds: number): string {
  if (seconds !== lastWindow) {
    lastWindow = seconds;
    lastWindowText = new Date(seconds * 1000).toISOString();
  }
  return lastWindowText;
}

/**
 * `new Date(us / 1000).toISOString()`: the second's text remembered, the ms appended. One
 * per field: flows come by first packet, so first_seen seconds repeat; last_seen's do among
 * themselves, not with first_seen's.
 */
class IsoMicros {
  private second = Number.NaN;
  private text = '';

  format(us: number): string {
    const ms = Math.trunc(us / 1000); // what Date makes of a fraction of a ms
    if (!Number.isSafeInteger(ms) || Math.abs(ms) > 8.64e15) return new Date(us / 1000).toISOString();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      const iso = new Date(second * 1000).toISOString();
      this.text = iso.slice(0, iso.length - '000Z'.length);
    }
    return `${this.text}${String(ms - second * 1000).padStart(3, '0')}Z`;
  }
}
const firstSeenIso = new IsoMicros();
const lastSeenIso = new IsoMicros();

const podName = (e: EndpointJson | null) => (e === null ? '-' : `${e.namespace}/${e.pod}`);
const hostPort = (ip: unknown, port: unknown) =>
  ip === null
    ? ''
    : port === null
      ? String(ip)
      : String(ip).includes(':')
        ? `[${ip}]:${port}`
        : `${ip}:${port}`;

/** Fixed-width columns: readable in a terminal, stable enough for a quick grep. */
export function packetTableRow(r: ReturnType<typeof packetJson>): string {
  const src = r.src_ip === null ? String(r.src_mac ?? '') : hostPort(r.src_ip, r.src_port);
  const dst = r.dst_ip === null ? String(r.dst_mac ?? '') : hostPort(r.dst_ip, r.dst_port);
  const ctx = r.vni !== null ? `vni ${r.vni}` : `vlan ${r.vlan ?? '-'}`;
  return [
    String(r.frame).padStart(7),
    String(r.ts).slice(11, 26),
    ctx.padEnd(10),
    String(r.proto ?? '-').padEnd(6),
    `${src} > ${dst}`.padEnd(50),
    `${podName(r.src as EndpointJson | null)} > ${podName(r.dst as EndpointJson | null)}`,
  ].join('  ');
}

export const PACKET_TABLE_HEADER = `${'frame'.padStart(7)}  ${'time'.padEnd(15)}  ${'context'.padEnd(10)}  ${'proto'.padEnd(6)}  ${'addresses'.padEnd(50)}  pods`;

export function flowTableRow(r: ReturnType<typeof flowJson>): string {
  const ctx = r.vni !== null ? `vni ${r.vni}` : `vlan ${r.vlan}`;
  const src = r.src_ip === null ? r.src_mac : hostPort(r.src_ip, r.src_port);
  const dst = r.dst_ip === null ? r.dst_mac : hostPort(r.dst_ip, r.dst_port);
  return [
    r.window_start.slice(11, 19),
    (r.observation_point ?? (r.observation >= 0 ? `erspan ${r.observation}` : '-')).padEnd(10),
    ctx.padEnd(10),
    String(r.proto ?? '-').padEnd(6),
    `${src} > ${dst}`.padEnd(50),
    String(r.packets).padStart(9),
    String(r.bytes).padStart(12),
    `${podName(r.src)} > ${podName(r.dst)}`,
  ].join('  ');
}

export const FLOW_TABLE_HEADER = `${'window'.padEnd(8)}  ${'observed'.padEnd(10)}  ${'context'.padEnd(10)}  ${'proto'.padEnd(6)}  ${'addresses'.padEnd(50)}  ${'packets'.padStart(9)}  ${'bytes'.padStart(12)}  pods`;
