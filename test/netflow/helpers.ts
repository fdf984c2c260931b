/**
 * Shared by the NetFlow suites: the sFlow suites' pods plus two overlay pods (VNI 5001),
 * an intake wired to a flow table that collects flows and the attributed records.
 */
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { parseInventory } from '../../collector/attribution/inventory.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { type FlowRecord, FlowTable } from '../../collector/flows/flow-table.js';
import { NetflowIntake, type NetflowIntakeOptions } from '../../collector/netflow/intake.js';
import type { Leg } from '../../collector/synth/scenario.js';
import { inventory, PODS, T0 } from '../sflow/helpers.js';

export { PODS, T0 };
export const T_US = T0 * 1e6;

/** Overlay pods: their frames travel in VXLAN VNI 5001 between two VTEPs. */
export const OVERLAY: { pod: string; leg: Leg }[] = [
  { pod: 'api-0', leg: { mac: '02:00:00:00:05:01', ip: '172.16.0.1', vlan: 0, node: 'node-a' } },
  { pod: 'api-1', leg: { mac: '02:00:00:00:05:02', ip: '172.16.0.2', vlan: 0, node: 'node-b' } },
];
export const VNI = 5001;

export function netflowIndex(): EndpointIndex {
  const inv = inventory();
  for (const o of OVERLAY) {
    inv.endpoints.push({
      namespace: 'mesh',
      pod: o.pod,
      node: o.leg.node,
      interface: 'eth0',
      network: 'vxlan-5001',
      mode: 'overlay',
      vni: VNI,
      mac: o.leg.mac,
      ips: [o.leg.ip],
      tier: 'standard',
      static: false,
      from: '2026-01-01T00:00:00Z',
      to: null,
    } as never);
  }
  return EndpointIndex.fromInventory(parseInventory(inv));
}

export interface Seen {
  exporter: string;
  src: string | null;
  dst: string | null;
  vlan: number;
  vni: number;
  srcPort: number;
  dstPort: number;
  innerLength: number;
  rate: number;
  obs: number;
  startMs: number;
  endMs: number;
  enterpriseFields: number;
}

/** An intake into a flow table; flows and the attributed records are collected. */
export function collecting(extra: Partial<NetflowIntakeOptions> = {}) {
  const index = netflowIndex();
  const counters = new AttributionCounters();
  const flows: FlowRecord[] = [];
  const seen: Seen[] = [];
  const table = new FlowTable({ index, counters, onFlows: (b) => flows.push(...b.records()) });
  const intake = new NetflowIntake({
    index,
    decode: decodeConfig(),
    flows: table,
    counters,
    onRecord: (exporter, r, p, a, obs, rate) =>
      seen.push({
        exporter,
        src: a.src?.pod ?? null,
        dst: a.dst?.pod ?? null,
        vlan: p.vlan,
        vni: p.vni,
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        innerLength: p.innerLength,
        rate,
        obs,
        startMs: r.startMs,
        endMs: r.endMs,
        enterpriseFields: r.enterpriseFields,
      }),
    ...extra,
  });
  const done = () => {
    intake.finish();
    table.flush();
    return flows;
  };
  return { intake, table, flows, seen, index, done };
}
