/**
 * Row builders for the tables the service fills besides `flows`: `packet_samples` (one
 * sampled packet: its first bytes, decoded fields and attribution, for "which pod sent
 * this") and `vf_counters` (per-VF counter deltas of one NIC collection, joined to the pod
 * that held the VF). Both are low-rate paths: plain objects through the generic Arrow
 * builder are fast enough here.
 */
import type { Attribution } from '../collector/attribution/attribute.js';
import type { Endpoint } from '../collector/attribution/endpoint-index.js';
import type { CapturedPacket } from '../collector/capture/types.js';
import { ipv4ToString, ipv6ToString } from '../collector/decode/addr.js';
import type { DecodedPacket } from '../collector/decode/packet.js';
import type { NicState } from '../collector/nic/collector.js';
import { attributionColumns } from './flow-rows.js';
import type { packet_samples, RowOf, vf_counters } from './schema.js';

export type PacketSampleRow = RowOf<typeof packet_samples>;
export type VfCounterRow = RowOf<typeof vf_counters>;

/** How much of each sampled frame is kept (the schema's `frame` column). */
export const SAMPLE_BYTES = 128;

/** The address of one side; `::` for a frame with no IP layer (ARP, LLDP…): the column is IPv6, and '' is no address to it. */
function ip(p: DecodedPacket, side: 0 | 1): string {
  if (p.ipVersion === 4) return ipv4ToString(side === 0 ? p.src4 : p.dst4);
  if (p.ipVersion === 6) return ipv6ToString(side === 0 ? p.src6 : p.dst6);
  return '::';
}

/** Where a sampled packet came from: its time and the frame as captured. */
export interface SampledFrame {
  /** µs since the epoch */
  timeUs: number;
  /** the frame's bytes as captured (the first SAMPLE_BYTES are copied) */
  bytes: Uint8Array;
  /** the frame's length on the wire */
  wireLength: number;
}

/** One sampled packet (copies its first SAMPLE_BYTES: capture buffers are reused). */
export function packetSampleRow(
  f: SampledFrame,
  p: DecodedPacket,
  a: Attribution,
  observation: string,
  samplingRate: number,
): PacketSampleRow {
  return {
    time: f.timeUs,
    observation,
    // a copy even of a Buffer (whose own slice() is a view of the reused capture buffer)
    frame: Uint8Array.prototype.slice.call(f.bytes, 0, SAMPLE_BYTES),
    frame_length: f.wireLength,
    vlan: p.vlan,
    vni: p.vni,
    src_mac: p.srcMac,
    dst_mac: p.dstMac,
    src_ip: ip(p, 0),
    dst_ip: ip(p, 1),
    src_port: p.srcPort,
    dst_port: p.dstPort,
    protocol: p.protocol < 0 ? 255 : p.protocol,
    tcp_flags: p.tcpFlags,
    ...attributionColumns(a.src, a.dst),
    sampling_rate: samplingRate,
    ethertype: p.etherType,
  };
}

/** A captured packet as a SampledFrame (a view: packetSampleRow copies what it keeps). */
export function capturedFrame(c: CapturedPacket): SampledFrame {
  return {
    timeUs: c.tsSec * 1e6 + Math.floor(c.tsNsec / 1000),
    bytes: c.data.subarray(c.offset, c.offset + c.capLength),
    wireLength: c.wireLength,
  };
}

/** A counter's increase in this collection: 0 unless its source read it in this round. */
const delta = (v: { delta: number } | undefined, measured: boolean | undefined): number =>
  v === undefined || measured !== true ? 0 : Math.round(v.delta);

/**
 * The counter deltas of one collection, a row per VF that moved (an idle, unbound VF
 * writes nothing). `pod` finds the endpoint that held the VF at the collection's instant.
 * A delta is written once, in the collection that measured it: while a source fails its
 * VFs keep their last delta (until they turn stale), which is not written again; the
 * source's next reading covers the whole gap.
 */
export function vfCounterRows(
  state: NicState,
  pod: (node: string, pf: string, vf: number) => Endpoint | null,
): VfCounterRow[] {
  const out: VfCounterRow[] = [];
  if (state.at === null) return out;
  const time = Math.floor(state.at / 1000);
  for (const v of state.vfs) {
    if (v.stale) continue;
    const c = v.counters;
    const m = v.measured;
    const row: VfCounterRow = {
      time,
      node: v.sample.node,
      pf: v.sample.pf,
      vf: v.sample.vf,
      namespace: '',
      pod: '',
      tier: '',
      rx_bytes: delta(c.rxBytes, m.rxBytes),
      rx_packets: delta(c.rxPackets, m.rxPackets),
      rx_dropped: delta(c.rxDropped, m.rxDropped),
      tx_bytes: delta(c.txBytes, m.txBytes),
      tx_packets: delta(c.txPackets, m.txPackets),
      tx_dropped: delta(c.txDropped, m.txDropped),
      qos_dropped: delta(c.qosDropped, m.qosDropped),
      min_rate: v.sample.minTxRate,
      max_rate: v.sample.maxTxRate,
    };
    if (row.rx_bytes + row.tx_bytes + row.rx_dropped + row.tx_dropped + row.qos_dropped === 0) continue;
    const ep = pod(v.sample.node, v.sample.pf, v.sample.vf);
    if (ep !== null) {
      row.namespace = ep.namespace;
      row.pod = ep.pod;
      row.tier = ep.tier;
    }
    out.push(row);
  }
  return out;
}
