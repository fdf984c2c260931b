/**
 * What the live stream reads from the running service, in its own shapes: a rates reading
 * (the NIC collector's per-pod and per-node rates with each pod's VLANs and VNIs, for the
 * filters) and a packet sample row as the `sample` message. Pure functions.
 */
import type { EndpointRecord } from '../../collector/attribution/inventory.js';
import { macToString } from '../../collector/decode/addr.js';
import type { PacketSampleRow } from '../../ingest/sample-rows.js';
import type { NodeRate, PodRate } from '../pods.js';
import type { LivePod, LiveSample, RatesReading } from './messages.js';

export function ratesReading(
  t: number,
  rates: { pods: readonly PodRate[]; nodes: readonly NodeRate[] },
  current: readonly EndpointRecord[],
  capacityBps: number,
): RatesReading {
  const nets = new Map<string, { vlans: number[]; vnis: number[] }>();
  for (const r of current) {
    const key = `${r.namespace}/${r.pod}`;
    let n = nets.get(key);
    if (n === undefined) {
      n = { vlans: [], vnis: [] };
      nets.set(key, n);
    }
    if (r.mode === 'l2') n.vlans.push(r.vlan);
    else n.vnis.push(r.vni);
  }
  const pods: LivePod[] = rates.pods.map((p) => {
    const n = nets.get(`${p.namespace}/${p.pod}`);
    return { ...p, vlans: n?.vlans ?? [], vnis: n?.vnis ?? [] };
  });
  pods.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod));
  const nodes = rates.nodes.map((n) => ({ ...n, capacityBps }));
  nodes.sort((a, b) => a.node.localeCompare(b.node));
  return { t, pods, nodes };
}

const mac = (v: number | string) => (typeof v === 'number' ? macToString(v) : v);

/** A stored packet sample row as the stream's `sample` message. */
export function liveSampleOf(r: PacketSampleRow): LiveSample {
  return {
    type: 'sample',
    t: Math.floor(Number(r.time) / 1000),
    vlan: r.vlan,
    vni: r.vni,
    srcMac: mac(r.src_mac as number | string),
    dstMac: mac(r.dst_mac as number | string),
    srcIp: r.src_ip,
    dstIp: r.dst_ip,
    protocol: r.protocol,
    srcPort: r.src_port,
    dstPort: r.dst_port,
    length: r.frame_length,
    src: { namespace: r.src_namespace, pod: r.src_pod, node: r.src_node, tier: r.src_tier },
    dst: { namespace: r.dst_namespace, pod: r.dst_pod, node: r.dst_node, tier: r.dst_tier },
  };
}
