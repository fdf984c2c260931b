/**
 * Shared by the sFlow suites: a small cluster of pods (inventory + frames consistent with
 * it), an intake wired to a flow table that collects flows, and flow totals keyed the
 * way tests compare them.
 */
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { parseInventory } from '../../collector/attribution/inventory.js';
import type { PcapRecord } from '../../collector/capture/pcap-writer.js';
import { ipv6ToString, parseIpv6 } from '../../collector/decode/addr.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { type FlowRecord, FlowTable } from '../../collector/flows/flow-table.js';
import { SflowIntake, type SflowIntakeOptions } from '../../collector/sflow/intake.js';
import type { InterfaceCounters } from '../../collector/sflow/types.js';
import { Prng } from '../../collector/synth/prng.js';
import { type InventoryJson, type Leg, podFrame } from '../../collector/synth/scenario.js';
import type { TsharkSample } from './tools.js';

export const T0 = Date.parse('2026-11-26T10:00:00Z') / 1000;

const ep = (namespace: string, pod: string, l: Leg) => ({
  namespace,
  pod,
  node: l.node,
  interface: 'eth0',
  network: `vlan-${l.vlan}`,
  mode: 'l2',
  vlan: l.vlan,
  mac: l.mac,
  ips: [l.ip, l.ip.includes(':') ? undefined : `fd00:${l.vlan}::${l.mac.slice(-2)}`].filter(
    (x): x is string => x !== undefined,
  ),
  tier: 'standard',
  static: false,
  from: '2026-01-01T00:00:00Z',
  to: null,
});

/** Six pods: three on VLAN 100 (tenant shop), two on VLAN 101 (bank), one untagged pair member. */
export const PODS: { ns: string; pod: string; leg: Leg }[] = [
  {
    ns: 'shop',
    pod: 'web-1',
    leg: { mac: '02:00:00:00:01:01', ip: '10.10.0.11', vlan: 100, node: 'node-a' },
  },
  {
    ns: 'shop',
    pod: 'web-2',
    leg: { mac: '02:00:00:00:01:02', ip: '10.10.0.12', vlan: 100, node: 'node-b' },
  },
  { ns: 'shop', pod: 'db-0', leg: { mac: '02:00:00:00:01:03', ip: '10.10.0.13', vlan: 100, node: 'node-b' } },
  {
    ns: 'bank',
    pod: 'teller',
    leg: { mac: '02:00:00:00:02:01', ip: '10.20.0.21', vlan: 101, node: 'node-a' },
  },
  {
    ns: 'bank',
    pod: 'vault',
    leg: { mac: '02:00:00:00:02:02', ip: '10.20.0.22', vlan: 101, node: 'node-c' },
  },
  { ns: 'plain', pod: 'edge', leg: { mac: '02:00:00:00:00:05', ip: '10.0.0.5', vlan: 0, node: 'node-c' } },
  { ns: 'plain', pod: 'probe', leg: { mac: '02:00:00:00:00:06', ip: '10.0.0.6', vlan: 0, node: 'node-a' } },
];

export function inventory(): InventoryJson {
  return {
    version: 1,
    nodes: [
      { name: 'node-a', vteps: [] },
      { name: 'node-b', vteps: [] },
      { name: 'node-c', vteps: [] },
    ],
    endpoints: PODS.map((p) => ep(p.ns, p.pod, p.leg)),
  };
}

export function endpointIndex(): EndpointIndex {
  return EndpointIndex.fromInventory(parseInventory(inventory()));
}

const v6 = (l: Leg): Leg => ({ ...l, ip: `fd00:${l.vlan}::${l.mac.slice(-2)}` });

/**
 * `n` frames between pods of the same VLAN (tagged, except VLAN 0), TCP/UDP over IPv4
 * and IPv6, sizes 0..1400 bytes of payload, 1 ms apart from T0. Seeded.
 */
export function podTraffic(n: number, seed = 6343): PcapRecord[] {
  const rng = new Prng(seed);
  const out: PcapRecord[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.pick(PODS);
    const peers = PODS.filter((p) => p.leg.vlan === a.leg.vlan && p !== a);
    const b = rng.pick(peers);
    const ipv6 = rng.chance(0.25);
    const [la, lb] = ipv6 ? [v6(a.leg), v6(b.leg)] : [a.leg, b.leg];
    const tcp = rng.chance(0.6);
    const frame = podFrame(
      la,
      lb,
      {
        proto: tcp ? 'tcp' : 'udp',
        sport: 40000 + rng.int(0, 3),
        dport: tcp ? 8080 : 53,
        size: rng.pick([0, 64, 300, 1400, rng.int(0, 1400)]),
      },
      a.leg.vlan === 0 ? undefined : [{ vid: a.leg.vlan! }],
    );
    const t = T0 + i / 1000;
    out.push({ tsSec: Math.floor(t), tsNsec: Math.round((t - Math.floor(t)) * 1e6) * 1000, data: frame });
  }
  return out;
}

/** An intake into a flow table whose flows (and counter records) are collected. */
export function collectingIntake(extra: Partial<SflowIntakeOptions> = {}) {
  const index = endpointIndex();
  const counters = new AttributionCounters();
  const flows: FlowRecord[] = [];
  const counterRecords: InterfaceCounters[] = [];
  const table = new FlowTable({ index, counters, onFlows: (b) => flows.push(...b.records()) });
  const intake = new SflowIntake({
    index,
    decode: decodeConfig(),
    flows: table,
    counters,
    onCounters: (c) => counterRecords.push(c),
    ...extra,
  });
  return { intake, table, flows, counterRecords, index };
}

/** The key tests compare flows by (the fields a mirrored packet and its sample share). */
export function flowKey(f: {
  vlan: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
}): string {
  return `${f.vlan} ${f.srcIp}:${f.srcPort} > ${f.dstIp}:${f.dstPort}`;
}

/** Flows summed by flowKey across windows. */
export function totals(
  flows: FlowRecord[],
): Map<string, { packets: number; bytes: number; samples: number }> {
  const m = new Map<string, { packets: number; bytes: number; samples: number }>();
  for (const f of flows) {
    const k = flowKey(f);
    const t = m.get(k) ?? { packets: 0, bytes: 0, samples: 0 };
    t.packets += f.packets;
    t.bytes += f.bytes;
    t.samples += f.samples;
    m.set(k, t);
  }
  return m;
}

/** What podwire decoded of each flow sample, in the fields tshark gives (TsharkSample). */
export function podwireSamples(datagrams: { data: Buffer; tUs: number }[]) {
  const out: TsharkSample[] = [];
  let buf: Buffer = Buffer.alloc(0);
  const c = collectingIntake({
    onSample: (d, s) => {
      out.push({
        datagramSequence: d.sequence,
        agent: c.intake.agents.lookup(d).name,
        sequence: s.sequence,
        samplingRate: s.samplingRate,
        samplePool: s.samplePool,
        sourceIndex: s.sourceIndex,
        input: s.input,
        vlanIn: s.srcVlan,
        frameLength: s.frameLength,
        stripped: s.stripped,
        headerLength: s.headerLength,
        header: buf.subarray(s.headerOffset, s.headerOffset + s.headerLength).toString('hex'),
      });
    },
  });
  for (const d of datagrams) {
    buf = d.data;
    c.intake.receive(d.data, 0, d.data.length, d.tUs);
  }
  c.table.flush();
  return { samples: out, ...c };
}

/** The pod that holds `ip` in the test inventory (IPv4 or the IPv6 derived from its MAC). */
export function podOfIp(ip: string): string | undefined {
  const norm = (a: string) => (a.includes(':') ? ipv6ToString(parseIpv6(a)) : a);
  for (const p of PODS) {
    if (p.leg.ip === ip || norm(v6(p.leg).ip) === norm(ip)) return p.pod;
  }
  return undefined;
}

/** test/fixtures/sflow/fixture.json: how the export capture was made, and tshark's counts of the pcap. */
export interface SflowFixture {
  /** UDP port the export went to */
  port: number;
  agent: string;
  podPackets: number;
  fillerVlan: number;
  /** packets and bytes per flowKey() of the pods' pcap, as tshark counted them (filler left out) */
  truth: Record<string, { packets: number; bytes: number }>;
}
