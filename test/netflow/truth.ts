/**
 * Ground truth of a pcap as a flow exporter sees it, read by tshark (not by podwire): per
 * flow — outer MACs, the 802.1Q VLAN, the first IP header's addresses and protocol, and its
 * own ports (ICMP: type·256 + code as the destination port, as NetFlow carries it) — the
 * packets and two byte counts, since the exporters here define bytes differently:
 * softflowd counts the frame after its Ethernet header and one 802.1Q tag (`l2Bytes`, which
 * includes Ethernet padding), pmacct the IP total length (`ipBytes`). Frames that are not
 * IP after at most one 802.1Q tag (QinQ with an 0x88a8 S-tag) are flows to neither
 * exporter: counted in `nonIp`.
 */
import { tsharkSlow as tshark } from './tshark.js';

export interface FlowKey {
  srcMac: string;
  dstMac: string;
  vlan: number;
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
}

export interface TruthFlow extends FlowKey {
  packets: number;
  l2Bytes: number;
  ipBytes: number;
}

export interface Truth {
  flows: Map<string, TruthFlow>;
  nonIp: number;
  frames: number;
}

/** The flow key as text: every field the comparison holds equal. */
export function keyOf(k: FlowKey, withL2 = true): string {
  const l3 = `${k.proto} ${k.src}:${k.sport} > ${k.dst}:${k.dport}`;
  return withL2 ? `${k.vlan} ${k.srcMac} > ${k.dstMac} ${l3}` : l3;
}

const FIELDS = [
  'frame.len',
  'eth.src',
  'eth.dst',
  'eth.type',
  'vlan.id',
  'vlan.etype',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.len',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'ipv6.plen',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
] as const;

export async function groundTruth(pcap: string): Promise<Truth> {
  // -E occurrence=f: the first (outermost) occurrence of each field — a VXLAN or ERSPAN
  // frame's flow is its outer header's, as the exporters see it
  const out = await tshark([
    '-r',
    pcap,
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-E',
    'occurrence=f',
    ...FIELDS.flatMap((f) => ['-e', f]),
  ]);
  const flows = new Map<string, TruthFlow>();
  let nonIp = 0;
  let frames = 0;
  for (const line of out.split('\n')) {
    if (line === '') continue;
    frames++;
    const f = Object.fromEntries(line.split('|').map((v, i) => [FIELDS[i], v])) as Record<
      (typeof FIELDS)[number],
      string
    >;
    const tagged = Number(f['eth.type']) === 0x8100;
    const et = Number(tagged ? f['vlan.etype'] : f['eth.type']);
    if (et !== 0x0800 && et !== 0x86dd) {
      nonIp++;
      continue;
    }
    const v4 = et === 0x0800;
    const proto = Number(v4 ? f['ip.proto'] : f['ipv6.nxt']);
    let sport = 0;
    let dport = 0;
    if (proto === 6) [sport, dport] = [Number(f['tcp.srcport']), Number(f['tcp.dstport'])];
    else if (proto === 17) [sport, dport] = [Number(f['udp.srcport']), Number(f['udp.dstport'])];
    const key: FlowKey = {
      srcMac: f['eth.src'],
      dstMac: f['eth.dst'],
      vlan: tagged ? Number(f['vlan.id']) : 0,
      src: v4 ? f['ip.src'] : f['ipv6.src'],
      dst: v4 ? f['ip.dst'] : f['ipv6.dst'],
      proto,
      sport,
      dport,
    };
    const k = keyOf(key);
    const t = flows.get(k) ?? { ...key, packets: 0, l2Bytes: 0, ipBytes: 0 };
    t.packets++;
    t.l2Bytes += Number(f['frame.len']) - 14 - (tagged ? 4 : 0);
    t.ipBytes += v4 ? Number(f['ip.len']) : Number(f['ipv6.plen']) + 40;
    flows.set(k, t);
  }
  return { flows, nonIp, frames };
}

/** A frame's innermost addresses as tshark reads them (the pod's own frame inside VXLAN or ERSPAN). */
export interface InnerFrame {
  vlan: number;
  vni: number;
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
}

const INNER = [
  'vlan.id',
  'vxlan.vni',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'frame.protocols',
] as const;

/** Per frame of the pcap, in order: the last (innermost) occurrence of each field. */
export async function innermostFrames(pcap: string): Promise<InnerFrame[]> {
  const out = await tshark([
    '-r',
    pcap,
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-E',
    'occurrence=l',
    ...INNER.flatMap((f) => ['-e', f]),
  ]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const f = Object.fromEntries(line.split('|').map((v, i) => [INNER[i], v])) as Record<
        (typeof INNER)[number],
        string
      >;
      // the innermost network layer is the last ip/ipv6 in the protocol stack, its L4 what
      // follows it; a tag counts when it is on the innermost Ethernet frame
      const stack = f['frame.protocols'].split(':');
      const ipAt = Math.max(stack.lastIndexOf('ip'), stack.lastIndexOf('ipv6'));
      const v6 = stack[ipAt] === 'ipv6';
      const l4 = stack[ipAt + 1];
      const ports =
        l4 === 'tcp'
          ? [f['tcp.srcport'], f['tcp.dstport']]
          : l4 === 'udp'
            ? [f['udp.srcport'], f['udp.dstport']]
            : ['0', '0'];
      const tagged = stack.lastIndexOf('vlan') > stack.lastIndexOf('eth');
      return {
        vlan: tagged ? Number(f['vlan.id']) : 0,
        vni: f['vxlan.vni'] === '' ? 0 : Number(f['vxlan.vni']),
        src: v6 ? f['ipv6.src'] : f['ip.src'],
        dst: v6 ? f['ipv6.dst'] : f['ip.dst'],
        proto: Number(v6 ? f['ipv6.nxt'] : f['ip.proto']),
        sport: Number(ports[0]),
        dport: Number(ports[1]),
      };
    });
}
