/** Flows of the packet path as rows of the `flows` table. */
import type { Endpoint } from '../collector/attribution/endpoint-index.js';
import type { FlowRecord } from '../collector/flows/flow-table.js';
import type { flows, RowOf } from './schema.js';

export type FlowRow = RowOf<typeof flows>;

/** Observation point names: what `observation` numbers mean for one input. */
export type ObservationName = (observation: number) => string;

const NO_EP = { namespace: '', pod: '', node: '', interface: '', network: '', tier: '' } as const;

/** The src_/dst_ attribution columns shared by `flows` and `packet_samples` ('' when unattributed). */
export function attributionColumns(src: Endpoint | null, dst: Endpoint | null) {
  const s = src ?? NO_EP;
  const d = dst ?? NO_EP;
  return {
    src_namespace: s.namespace,
    src_pod: s.pod,
    src_node: s.node,
    src_interface: s.interface,
    src_network: s.network,
    src_tier: s.tier,
    dst_namespace: d.namespace,
    dst_pod: d.pod,
    dst_node: d.node,
    dst_interface: d.interface,
    dst_network: d.network,
    dst_tier: d.tier,
  };
}

export function flowRow(f: FlowRecord, observation: ObservationName): FlowRow {
  return {
    window_start: f.windowStart,
    window_seconds: f.windowSeconds,
    observation: observation(f.observation),
    vlan: f.vlan,
    vni: f.vni,
    src_mac: f.srcMacNum,
    dst_mac: f.dstMacNum,
    src_ip: f.srcIp,
    dst_ip: f.dstIp,
    src_port: f.srcPort,
    dst_port: f.dstPort,
    protocol: f.protocol < 0 ? 255 : f.protocol,
    tcp_flags: f.tcpFlags,
    ...attributionColumns(f.src, f.dst),
    bytes: f.bytes,
    packets: f.packets,
    samples: f.samples,
    sampling_rate: f.samplingRate,
  };
}
