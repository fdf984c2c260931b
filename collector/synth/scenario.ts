/**
 * Synthetic clusters and their traffic: an endpoint inventory plus frames consistent with
 * it. `demoScenario` is the small, hand-shaped capture that `npm start` traces (every
 * encapsulation, IP reuse, overlapping tenants, unknown traffic); `mixedTraffic` is the
 * benchmark's large mix. Both are seeded: the same seed gives the same bytes.
 */
import type { PcapRecord } from '../capture/pcap-writer.js';
import { macToString } from '../decode/addr.js';
import {
  erspanII,
  erspanIII,
  ethernet,
  IpProtocol,
  icmp,
  icmpv6,
  ipv4,
  ipv6,
  TcpFlags,
  tcp,
  udp,
  type VlanTag,
  vxlan,
} from './frames.js';
import { Prng } from './prng.js';

export interface InventoryJson {
  version: 1;
  nodes: { name: string; vteps: string[] }[];
  endpoints: Record<string, unknown>[];
}

/** A pod's leg as the traffic generator needs it. */
export interface Leg {
  mac: string;
  ip: string;
  vlan?: number;
  vni?: number;
  node: string;
}

const DEMO_T0 = Date.parse('2026-11-26T10:00:00Z') / 1000;

interface L4Spec {
  proto: 'tcp' | 'udp' | 'icmp';
  sport: number;
  dport: number;
  flags?: number;
  size?: number;
}

function l4v4(s: L4Spec, src: string, dst: string): Buffer {
  const payload = Buffer.alloc(s.size ?? 0, 0x61);
  if (s.proto === 'icmp')
    return ipv4({ src, dst, proto: IpProtocol.ICMP, payload: icmp({ type: 8, rest: 0x00010001, payload }) });
  const l4 =
    s.proto === 'tcp'
      ? tcp({ sport: s.sport, dport: s.dport, flags: s.flags ?? TcpFlags.ACK, payload })
      : udp({ sport: s.sport, dport: s.dport, payload });
  return ipv4({ src, dst, proto: s.proto === 'tcp' ? IpProtocol.TCP : IpProtocol.UDP, payload: l4 });
}

function l4v6(s: L4Spec, src: string, dst: string): Buffer {
  const payload = Buffer.alloc(s.size ?? 0, 0x61);
  if (s.proto === 'icmp') {
    return ipv6({
      src,
      dst,
      nextHeader: IpProtocol.ICMPV6,
      payload: icmpv6({ type: 128, rest: 0x00010001, payload }),
    });
  }
  const l4 =
    s.proto === 'tcp'
      ? tcp({ sport: s.sport, dport: s.dport, flags: s.flags ?? TcpFlags.ACK, payload })
      : udp({ sport: s.sport, dport: s.dport, payload });
  return ipv6({ src, dst, nextHeader: s.proto === 'tcp' ? IpProtocol.TCP : IpProtocol.UDP, payload: l4 });
}

/** The pod's own frame between two legs (IPv4 or IPv6 by the address), optionally tagged. */
export function podFrame(a: Leg, b: Leg, s: L4Spec, vlans?: VlanTag[]): Buffer {
  const payload = a.ip.includes(':') ? l4v6(s, a.ip, b.ip) : l4v4(s, a.ip, b.ip);
  return ethernet({ src: a.mac, dst: b.mac, vlans, payload, padTo: 60 });
}

/** A pod frame carried between two VTEPs in VXLAN (outer frame optionally tagged). */
export function vxlanFrame(
  inner: Uint8Array,
  vni: number,
  vtepA: string,
  vtepB: string,
  sport: number,
  outerVlans?: VlanTag[],
): Buffer {
  const v6 = vtepA.includes(':');
  const payload = udp({ sport, dport: 4789, payload: vxlan({ vni, frame: inner }) });
  const ip = v6
    ? ipv6({ src: vtepA, dst: vtepB, nextHeader: IpProtocol.UDP, payload })
    : ipv4({ src: vtepA, dst: vtepB, proto: IpProtocol.UDP, payload });
  return ethernet({ src: '52:54:00:00:00:01', dst: '52:54:00:00:00:02', vlans: outerVlans, payload: ip });
}

/** A mirrored frame as a TOR switch sends it to a collector in ERSPAN (type II or III). */
export function erspanCopy(mirrored: Uint8Array, session: number, seq: number, type: 2 | 3): Buffer {
  const payload =
    type === 2 ? erspanII({ session, frame: mirrored, seq }) : erspanIII({ session, frame: mirrored, seq });
  return ethernet({
    src: '52:54:00:aa:00:01',
    dst: '52:54:00:aa:00:02',
    payload: ipv4({ src: '192.0.2.1', dst: '192.0.2.100', proto: IpProtocol.GRE, payload }),
  });
}

const l2 = (o: Record<string, unknown>) => ({ mode: 'l2', interface: 'eth0', static: false, to: null, ...o });
const overlay = (o: Record<string, unknown>) => ({
  mode: 'overlay',
  interface: 'net1',
  static: false,
  to: null,
  ...o,
});

/**
 * The demo: three nodes; shop (VLAN 100) and bank (VLAN 101) reuse the same MAC and IP;
 * a lab tenant behind QinQ (S-tag 300, C-tag 102); an overlay on VNI 5001 with a
 * multi-homed gateway; an IP reused by another pod half way; ERSPAN II and III copies;
 * IPv6; and traffic to hosts the inventory does not know.
 */
export function demoScenario(
  /** the capture's first second (whole seconds since the epoch): tests shift it in time */
  start = DEMO_T0,
): { inventory: InventoryJson; packets: PcapRecord[] } {
  const t0 = new Date(start * 1000).toISOString();
  const tReuse = new Date((start + 30) * 1000).toISOString();
  const nodes = [
    { name: 'node-a', vteps: ['192.168.50.1'] },
    { name: 'node-b', vteps: ['192.168.50.2'] },
    { name: 'node-c', vteps: ['192.168.50.3'] },
  ];
  const web1: Leg = { mac: '02:00:00:00:01:01', ip: '10.10.0.11', vlan: 100, node: 'node-a' };
  const web2: Leg = { mac: '02:00:00:00:01:02', ip: '10.10.0.12', vlan: 100, node: 'node-b' };
  const web2v6: Leg = { ...web2, ip: 'fd00:10::12' };
  const web1v6: Leg = { ...web1, ip: 'fd00:10::11' };
  const teller: Leg = { mac: '02:00:00:00:01:01', ip: '10.10.0.11', vlan: 101, node: 'node-c' };
  const vault: Leg = { mac: '02:00:00:00:02:07', ip: '10.10.0.17', vlan: 101, node: 'node-a' };
  const labA: Leg = { mac: '02:00:00:00:03:01', ip: '10.30.0.1', vlan: 102, node: 'node-b' };
  const labB: Leg = { mac: '02:00:00:00:03:02', ip: '10.30.0.2', vlan: 102, node: 'node-c' };
  const api1: Leg = { mac: '0a:58:ac:10:01:05', ip: '172.16.1.5', vni: 5001, node: 'node-b' };
  const api2: Leg = { mac: '0a:58:ac:10:01:06', ip: '172.16.1.6', vni: 5001, node: 'node-c' };
  const gwL2: Leg = { mac: '02:00:00:00:01:fe', ip: '10.10.0.254', vlan: 100, node: 'node-a' };
  const gwOv: Leg = { mac: '0a:58:ac:10:01:fe', ip: '172.16.1.254', vni: 5001, node: 'node-a' };
  const batch7: Leg = { mac: '02:00:00:00:01:37', ip: '10.10.0.70', vlan: 100, node: 'node-b' };
  const router: Leg = { mac: '02:00:00:00:ff:01', ip: '198.51.100.7', vlan: 100, node: '' };
  const stranger: Leg = { mac: '02:00:00:00:ee:01', ip: '10.99.0.1', vlan: 999, node: '' };

  const endpoints = [
    l2({
      namespace: 'shop',
      pod: 'web-1',
      node: 'node-a',
      network: 'blue',
      vlan: 100,
      mac: web1.mac,
      ips: [web1.ip, web1v6.ip],
      vf: { pf: 'ens1f0', index: 3 },
      tier: 'high',
      from: t0,
    }),
    l2({
      namespace: 'shop',
      pod: 'web-2',
      node: 'node-b',
      network: 'blue',
      vlan: 100,
      mac: web2.mac,
      ips: [web2.ip, web2v6.ip],
      vf: { pf: 'ens1f0', index: 4 },
      tier: 'high',
      from: t0,
    }),
    l2({
      namespace: 'shop',
      pod: 'gateway-0',
      node: 'node-a',
      network: 'blue',
      vlan: 100,
      mac: gwL2.mac,
      ips: [gwL2.ip],
      vf: { pf: 'ens1f0', index: 9 },
      tier: 'standard',
      from: t0,
    }),
    overlay({
      namespace: 'shop',
      pod: 'gateway-0',
      node: 'node-a',
      network: 'overlay-1',
      vni: 5001,
      mac: gwOv.mac,
      ips: [gwOv.ip],
      tier: 'standard',
      from: t0,
    }),
    l2({
      namespace: 'shop',
      pod: 'batch-7',
      node: 'node-b',
      network: 'blue',
      vlan: 100,
      mac: batch7.mac,
      ips: [batch7.ip],
      tier: 'best-effort',
      from: t0,
      to: tReuse,
    }),
    l2({
      namespace: 'shop',
      pod: 'batch-8',
      node: 'node-c',
      network: 'blue',
      vlan: 100,
      mac: '02:00:00:00:01:38',
      ips: [batch7.ip],
      tier: 'best-effort',
      from: tReuse,
    }),
    l2({
      namespace: 'bank',
      pod: 'teller-1',
      node: 'node-c',
      network: 'green',
      vlan: 101,
      mac: teller.mac,
      ips: [teller.ip],
      vf: { pf: 'ens1f1', index: 0 },
      tier: 'high',
      from: t0,
    }),
    l2({
      namespace: 'bank',
      pod: 'vault-0',
      node: 'node-a',
      network: 'green',
      vlan: 101,
      mac: vault.mac,
      ips: [vault.ip],
      vf: { pf: 'ens1f1', index: 1 },
      tier: 'high',
      static: true,
      from: t0,
    }),
    l2({
      namespace: 'lab',
      pod: 'probe-a',
      node: 'node-b',
      network: 'lab',
      vlan: 102,
      mac: labA.mac,
      ips: [labA.ip],
      tier: 'best-effort',
      from: t0,
    }),
    l2({
      namespace: 'lab',
      pod: 'probe-b',
      node: 'node-c',
      network: 'lab',
      vlan: 102,
      mac: labB.mac,
      ips: [labB.ip],
      tier: 'best-effort',
      from: t0,
    }),
    overlay({
      namespace: 'shop',
      pod: 'api-1',
      node: 'node-b',
      network: 'overlay-1',
      vni: 5001,
      mac: api1.mac,
      ips: [api1.ip],
      tier: 'best-effort',
      from: t0,
    }),
    overlay({
      namespace: 'shop',
      pod: 'api-2',
      node: 'node-c',
      network: 'overlay-1',
      vni: 5001,
      mac: api2.mac,
      ips: [api2.ip],
      tier: 'best-effort',
      from: t0,
    }),
  ];

  const rng = new Prng(2026);
  const frames: { t: number; frame: Buffer }[] = [];
  const at = (t: number, frame: Buffer) => frames.push({ t, frame });
  const tag = (l: Leg): VlanTag[] => [{ vid: l.vlan ?? 0 }];
  const vtep = (node: string) => nodes.find((n) => n.name === node)!.vteps[0];
  let seq = 0;

  for (let s = 0; s < 60; s++) {
    const t = start + s + rng.next() * 0.9;
    // shop web tier over VLAN 100: a TCP conversation
    at(
      t,
      podFrame(
        web1,
        web2,
        {
          proto: 'tcp',
          sport: 41000,
          dport: 8080,
          flags: s === 0 ? TcpFlags.SYN : TcpFlags.ACK | TcpFlags.PSH,
          size: 300,
        },
        tag(web1),
      ),
    );
    at(t + 0.001, podFrame(web2, web1, { proto: 'tcp', sport: 8080, dport: 41000, size: 1200 }, tag(web2)));
    // bank on VLAN 101 uses the same MAC and IP as web-1: another tenant, another pod
    if (s % 2 === 0)
      at(
        t + 0.002,
        podFrame(teller, vault, { proto: 'tcp', sport: 52000, dport: 5432, size: 200 }, tag(teller)),
      );
    // lab tenant behind QinQ
    if (s % 3 === 0) {
      at(
        t + 0.003,
        podFrame(labA, labB, { proto: 'udp', sport: 9000, dport: 9001, size: 64 }, [
          { vid: 300, tpid: 0x88a8 },
          { vid: 102 },
        ]),
      );
    }
    // overlay VNI 5001 between nodes b and c, and the gateway's overlay leg
    const inner = podFrame(api1, api2, { proto: 'tcp', sport: 43000, dport: 9090, size: 400 });
    at(t + 0.004, vxlanFrame(inner, 5001, vtep('node-b'), vtep('node-c'), 50000 + s));
    if (s % 4 === 0) {
      const gw = podFrame(gwOv, api1, { proto: 'icmp', sport: 0, dport: 0, size: 56 });
      at(t + 0.005, vxlanFrame(gw, 5001, vtep('node-a'), vtep('node-b'), 50100, [{ vid: 4000 }]));
      at(t + 0.006, podFrame(web1, gwL2, { proto: 'icmp', sport: 0, dport: 0, size: 56 }, tag(web1)));
    }
    // IPv6 between the web pods
    if (s % 5 === 0)
      at(
        t + 0.007,
        podFrame(web1v6, web2v6, { proto: 'udp', sport: 5353, dport: 5353, size: 80 }, tag(web1)),
      );
    // 10.10.0.70 belongs to batch-7 until +30 s, then to batch-8; seen past a router (both
    // MACs are routers'), so only the IP, at the packet's time, says which pod sent it
    if (s % 3 === 1) {
      const routed: Leg = { ...batch7, mac: '02:00:00:00:ff:02' };
      at(
        t + 0.008,
        podFrame(routed, router, { proto: 'udp', sport: 33000 + s, dport: 53, size: 90 }, tag(router)),
      );
    }
    // a TOR mirror of web traffic as ERSPAN II, and of the overlay as ERSPAN III
    if (s % 6 === 0) {
      at(
        t + 0.009,
        erspanCopy(
          podFrame(web1, web2, { proto: 'tcp', sport: 41000, dport: 8080, size: 300 }, tag(web1)),
          7,
          seq++,
          2,
        ),
      );
      at(
        t + 0.01,
        erspanCopy(vxlanFrame(inner, 5001, vtep('node-b'), vtep('node-c'), 50000 + s), 8, seq++, 3),
      );
    }
    // traffic nobody in the inventory owns: an unknown VLAN, and the internet via the router
    if (s % 10 === 0) {
      at(
        t + 0.011,
        podFrame(
          stranger,
          { ...stranger, mac: '02:00:00:00:ee:02', ip: '10.99.0.2' },
          { proto: 'udp', sport: 1, dport: 2, size: 10 },
          [{ vid: 999 }],
        ),
      );
      at(
        t + 0.012,
        podFrame(router, web2, { proto: 'tcp', sport: 443, dport: 41001, size: 500 }, tag(router)),
      );
    }
  }
  frames.sort((a, b) => a.t - b.t);
  const packets = frames.map(({ t, frame }) => ({
    tsSec: Math.floor(t),
    tsNsec: Math.round((t - Math.floor(t)) * 1e6) * 1000,
    data: frame,
  }));
  return { inventory: { version: 1, nodes, endpoints }, packets };
}

// ------------------------------------------------------------------ benchmark traffic

/** Shares of the benchmark mix (issue: 25/5/40/5/5/15/5 %). */
export const MIX = [
  ['vlan', 0.25],
  ['qinq', 0.05],
  ['vxlan', 0.4],
  ['vxlan-in-vlan', 0.05],
  ['vxlan-inner-v6', 0.05],
  ['ipv6', 0.15],
  ['vlan-ipv6', 0.05],
] as const;
export type MixKind = (typeof MIX)[number][0];

export interface MixedTraffic {
  inventory: InventoryJson;
  /** distinct frames to draw packets from, each with its kind */
  frames: { kind: MixKind; frame: Buffer }[];
  t0: number;
}

/**
 * A cluster of `pods` endpoints (L2 on VLANs 100..131, overlay on VNIs 5001..5016, a VTEP
 * per node) and `distinct` frames between them in the benchmark mix. `coverage` is the
 * share of endpoints the inventory knows (the rest stay unattributed, as in real life).
 */
export function mixedTraffic(
  opts: { pods?: number; distinct?: number; coverage?: number; seed?: number } = {},
): MixedTraffic {
  const pods = opts.pods ?? 4000;
  const distinct = opts.distinct ?? 40_000;
  const coverage = opts.coverage ?? 0.95;
  const rng = new Prng(opts.seed ?? 7);
  const t0 = DEMO_T0;
  const from = new Date((t0 - 3600) * 1000).toISOString();
  const nodeCount = 32;
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({
    name: `node-${i}`,
    vteps: [`192.168.${50 + (i >> 8)}.${(i & 255) + 1}`],
  }));

  const kinds = ['vlan', 'v6', 'untagged-v6', 'overlay', 'overlay-v6'] as const;
  const legs: Record<(typeof kinds)[number], Leg[]> = {
    vlan: [],
    v6: [],
    'untagged-v6': [],
    overlay: [],
    'overlay-v6': [],
  };
  const endpoints: Record<string, unknown>[] = [];
  for (let i = 0; i < pods; i++) {
    const kind = kinds[i % kinds.length];
    const node = `node-${rng.int(0, nodeCount - 1)}`;
    const mac = macToString(0x020000000000 + i + 1);
    const hi = (i >> 8) & 255;
    const lo = i & 255;
    const leg: Leg =
      kind === 'vlan'
        ? { mac, ip: `10.${100 + (i % 32)}.${hi}.${lo}`, vlan: 100 + (i % 32), node }
        : kind === 'v6'
          ? { mac, ip: `fd00:${100 + (i % 32)}::${i.toString(16)}`, vlan: 100 + (i % 32), node }
          : kind === 'untagged-v6'
            ? { mac, ip: `fd00:0::${i.toString(16)}`, vlan: 0, node }
            : kind === 'overlay'
              ? { mac, ip: `172.16.${hi}.${lo}`, vni: 5001 + (i % 16), node }
              : { mac, ip: `fd01::${i.toString(16)}`, vni: 5001 + (i % 16), node };
    legs[kind].push(leg);
    if (rng.next() >= coverage) continue;
    const base = {
      namespace: `tenant-${i % 7}`,
      pod: `pod-${i}`,
      node,
      mac,
      ips: [leg.ip],
      tier: ['high', 'standard', 'best-effort'][i % 3],
      from,
    };
    endpoints.push(
      leg.vni === undefined
        ? l2({ ...base, network: `vlan-${leg.vlan}`, vlan: leg.vlan })
        : overlay({ ...base, network: `vni-${leg.vni}`, vni: leg.vni }),
    );
  }

  const peer = (list: Leg[], a: Leg) => {
    const same = list.filter((l) => l.vlan === a.vlan && l.vni === a.vni);
    return rng.pick(same.length > 1 ? same : list);
  };
  const spec = (): L4Spec => {
    const r = rng.next();
    const size = rng.int(0, 200);
    if (r < 0.6)
      return {
        proto: 'tcp',
        sport: rng.int(1024, 65535),
        dport: rng.pick([80, 443, 5432, 8080, 9090]),
        size,
      };
    if (r < 0.95)
      return { proto: 'udp', sport: rng.int(1024, 65535), dport: rng.pick([53, 123, 5353, 8125]), size };
    return { proto: 'icmp', sport: 0, dport: 0, size };
  };
  const vtep = (l: Leg) => nodes[Number(l.node.slice(5))].vteps[0];

  const frames: { kind: MixKind; frame: Buffer }[] = [];
  for (const [kind, share] of MIX) {
    const n = Math.round(distinct * share);
    for (let i = 0; i < n; i++) {
      let frame: Buffer;
      if (kind === 'vlan' || kind === 'qinq') {
        const a = rng.pick(legs.vlan);
        const b = peer(legs.vlan, a);
        const tags: VlanTag[] =
          kind === 'qinq'
            ? [{ vid: 2000 + (a.vlan ?? 0), tpid: 0x88a8 }, { vid: a.vlan! }]
            : [{ vid: a.vlan! }];
        frame = podFrame(a, b, spec(), tags);
      } else if (kind === 'ipv6' || kind === 'vlan-ipv6') {
        const list = kind === 'ipv6' ? legs['untagged-v6'] : legs.v6;
        const a = rng.pick(list);
        const b = peer(list, a);
        frame = podFrame(a, b, spec(), kind === 'ipv6' ? undefined : [{ vid: a.vlan! }]);
      } else {
        const list = kind === 'vxlan-inner-v6' ? legs['overlay-v6'] : legs.overlay;
        const a = rng.pick(list);
        const b = peer(list, a);
        const inner = podFrame(a, b, spec());
        frame = vxlanFrame(
          inner,
          a.vni!,
          vtep(a),
          vtep(b),
          rng.int(49152, 65535),
          kind === 'vxlan-in-vlan' ? [{ vid: 4000 }] : undefined,
        );
      }
      frames.push({ kind, frame });
    }
  }
  return { inventory: { version: 1, nodes, endpoints }, frames, t0 };
}
