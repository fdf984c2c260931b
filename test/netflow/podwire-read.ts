/**
 * podwire's reading of an export capture, in the references' normalized form
 * (references.ts): each datagram through a NetflowIntake (from 127.0.0.1, the address the
 * exporters sent from), each flow record as its attributed packet shows it, with packets
 * and bytes as exported and the sampling rate podwire applied.
 */
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { parseInventory } from '../../collector/attribution/inventory.js';
import { ipv4ToString, ipv6ToString, macToString } from '../../collector/decode/addr.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { type FlowRecord, FlowTable } from '../../collector/flows/flow-table.js';
import { NetflowIntake } from '../../collector/netflow/intake.js';
import { recordBytes, recordPackets } from '../../collector/netflow/record-packet.js';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { demoInventory } from './exporter-traffic.js';
import type { ExportedFlow } from './references.js';

export interface PodwireFlow extends ExportedFlow {
  rate: number;
  srcPod: string | null;
  dstPod: string | null;
}

export interface PodwireRead {
  records: PodwireFlow[];
  /** the flow table's flows (scaled by the rate, attributed) */
  flows: FlowRecord[];
  summary: Record<string, number>;
}

export async function podwireRead(
  capture: string,
  port: number,
  samplingRate?: number,
): Promise<PodwireRead> {
  const index = EndpointIndex.fromInventory(parseInventory(demoInventory()));
  const counters = new AttributionCounters();
  const flows: FlowRecord[] = [];
  const table = new FlowTable({ index, counters, onFlows: (b) => flows.push(...b.records()) });
  const records: PodwireFlow[] = [];
  const intake = new NetflowIntake({
    index,
    decode: decodeConfig(),
    flows: table,
    counters,
    samplingRate,
    onRecord: (_exporter, r, p, a, _obs, rate) => {
      const v4 = p.ipVersion === 4;
      const icmp = p.protocol === 1 || p.protocol === 58;
      records.push({
        srcMac: macToString(p.srcMac),
        dstMac: macToString(p.dstMac),
        vlan: p.vlan,
        src: v4 ? ipv4ToString(p.src4) : ipv6ToString(p.src6),
        dst: v4 ? ipv4ToString(p.dst4) : ipv6ToString(p.dst6),
        proto: p.protocol,
        sport: icmp ? 0 : p.srcPort,
        dport: icmp ? 0 : p.dstPort,
        packets: recordPackets(r),
        bytes: recordBytes(r),
        rate,
        srcPod: a.src?.pod ?? null,
        dstPod: a.dst?.pod ?? null,
      });
    },
  });
  for (const d of await readSflowCapture(capture, port)) {
    intake.receive(d.data, 0, d.data.length, '127.0.0.1', d.tUs);
  }
  intake.finish();
  table.flush();
  return { records, flows, summary: intake.summary() };
}
