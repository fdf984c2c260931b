/**
 * An sFlow v5 encoder: datagrams built from plain descriptions, for tests, the benchmark
 * and anyone who needs an exporter without a switch. Every structure of the decoder has
 * its encoding here, plus `raw` samples/records to build unknown formats and `*Override`
 * fields to build lying counts on purpose. Not for the hot path: it allocates freely.
 */
import { parseIpv4, parseIpv6, parseMac } from '../decode/addr.js';
import { CounterRecordFormat } from './counters.js';
import { SampleFormat } from './datagram.js';
import { FlowRecordFormat } from './records.js';
import type { EthernetCounters, GenericInterfaceCounters, VlanCounters } from './types.js';

export type FlowRecordSpec =
  | {
      type: 'header';
      /** the sampled frame (or IP packet for protocol 11/12); cut to `maxHeader` bytes */
      frame: Uint8Array;
      /** default 1 (Ethernet) */
      protocol?: number;
      /** default frame.length + 4 (the FCS) */
      frameLength?: number;
      /** default 4 (the FCS) */
      stripped?: number;
      /** default 128 */
      maxHeader?: number;
    }
  | { type: 'ethernet'; length: number; src: string; dst: string; etherType: number }
  | {
      type: 'ipv4' | 'ipv6';
      length: number;
      protocol: number;
      src: string;
      dst: string;
      srcPort: number;
      dstPort: number;
      tcpFlags?: number;
      tos?: number;
    }
  | { type: 'switch'; srcVlan: number; srcPriority?: number; dstVlan?: number; dstPriority?: number }
  | { type: 'router'; nextHop: string | null; srcMaskLen: number; dstMaskLen: number }
  | RawSpec;

export interface RawSpec {
  type: 'raw';
  enterprise?: number;
  format: number;
  data: Uint8Array;
  /** a length field that lies */
  lengthOverride?: number;
}

export interface FlowSampleSpec {
  kind: 'flow';
  expanded?: boolean;
  sequence: number;
  sourceType?: number;
  sourceIndex: number;
  samplingRate: number;
  samplePool: number;
  drops?: number;
  input?: number;
  output?: number;
  records: FlowRecordSpec[];
  recordCountOverride?: number;
}

export type CounterRecordSpec =
  | ({ type: 'generic' } & Partial<GenericInterfaceCounters>)
  | ({ type: 'ethernet' } & Partial<EthernetCounters>)
  | ({ type: 'vlan' } & Partial<VlanCounters>)
  | RawSpec;

export interface CounterSampleSpec {
  kind: 'counters';
  expanded?: boolean;
  sequence: number;
  sourceType?: number;
  sourceIndex: number;
  records: CounterRecordSpec[];
  recordCountOverride?: number;
}

export type SampleSpec = FlowSampleSpec | CounterSampleSpec | (Omit<RawSpec, 'type'> & { kind: 'raw' });

export interface DatagramSpec {
  /** IPv4 or IPv6 address */
  agent: string;
  subAgent?: number;
  sequence: number;
  uptimeMs?: number;
  samples: SampleSpec[];
  sampleCountOverride?: number;
  version?: number;
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.floor(v)));
  return b;
};
const padded = (data: Uint8Array): Buffer => {
  const b = Buffer.alloc((data.length + 3) & ~3);
  b.set(data);
  return b;
};
const opaque = (data: Uint8Array): Buffer => Buffer.concat([u32(data.length), padded(data)]);
const mac8 = (m: string): Buffer => {
  const b = Buffer.alloc(8);
  const n = parseMac(m);
  b.writeUInt16BE(Math.floor(n / 4294967296), 0);
  b.writeUInt32BE(n >>> 0, 2);
  return b;
};
const address = (a: string | null): Buffer => {
  if (a === null) return u32(0);
  if (a.includes(':')) return Buffer.concat([u32(2), Buffer.from(parseIpv6(a))]);
  return Buffer.concat([u32(1), u32(parseIpv4(a))]);
};
/** data_format + length + data */
const tlv = (enterprise: number, format: number, data: Buffer, lengthOverride?: number): Buffer =>
  Buffer.concat([u32((enterprise << 12) | format), u32(lengthOverride ?? data.length), data]);

function flowRecord(r: FlowRecordSpec): Buffer {
  switch (r.type) {
    case 'header': {
      const h = r.frame.subarray(0, r.maxHeader ?? 128);
      const data = Buffer.concat([
        u32(r.protocol ?? 1),
        u32(r.frameLength ?? r.frame.length + 4),
        u32(r.stripped ?? 4),
        opaque(h),
      ]);
      return tlv(0, FlowRecordFormat.SAMPLED_HEADER, data);
    }
    case 'ethernet':
      return tlv(
        0,
        FlowRecordFormat.SAMPLED_ETHERNET,
        Buffer.concat([u32(r.length), mac8(r.src), mac8(r.dst), u32(r.etherType)]),
      );
    case 'ipv4':
    case 'ipv6': {
      const v6 = r.type === 'ipv6';
      const ip = (a: string) => (v6 ? Buffer.from(parseIpv6(a)) : u32(parseIpv4(a)));
      return tlv(
        0,
        v6 ? FlowRecordFormat.SAMPLED_IPV6 : FlowRecordFormat.SAMPLED_IPV4,
        Buffer.concat([
          u32(r.length),
          u32(r.protocol),
          ip(r.src),
          ip(r.dst),
          u32(r.srcPort),
          u32(r.dstPort),
          u32(r.tcpFlags ?? 0),
          u32(r.tos ?? 0),
        ]),
      );
    }
    case 'switch':
      return tlv(
        0,
        FlowRecordFormat.EXTENDED_SWITCH,
        Buffer.concat([
          u32(r.srcVlan),
          u32(r.srcPriority ?? 0),
          u32(r.dstVlan ?? 0),
          u32(r.dstPriority ?? 0),
        ]),
      );
    case 'router':
      return tlv(
        0,
        FlowRecordFormat.EXTENDED_ROUTER,
        Buffer.concat([address(r.nextHop), u32(r.srcMaskLen), u32(r.dstMaskLen)]),
      );
    case 'raw':
      return tlv(r.enterprise ?? 0, r.format, padded(r.data), r.lengthOverride);
  }
}

function counterRecord(r: CounterRecordSpec): Buffer {
  switch (r.type) {
    case 'generic':
      return tlv(
        0,
        CounterRecordFormat.GENERIC,
        Buffer.concat([
          u32(r.ifIndex ?? 0),
          u32(r.ifType ?? 6),
          u64(r.ifSpeed ?? 0),
          u32(r.ifDirection ?? 1),
          u32(r.ifStatus ?? 3),
          u64(r.ifInOctets ?? 0),
          u32(r.ifInUcastPkts ?? 0),
          u32(r.ifInMulticastPkts ?? 0),
          u32(r.ifInBroadcastPkts ?? 0),
          u32(r.ifInDiscards ?? 0),
          u32(r.ifInErrors ?? 0),
          u32(r.ifInUnknownProtos ?? 0),
          u64(r.ifOutOctets ?? 0),
          u32(r.ifOutUcastPkts ?? 0),
          u32(r.ifOutMulticastPkts ?? 0),
          u32(r.ifOutBroadcastPkts ?? 0),
          u32(r.ifOutDiscards ?? 0),
          u32(r.ifOutErrors ?? 0),
          u32(r.ifPromiscuousMode ?? 0),
        ]),
      );
    case 'ethernet': {
      const names: (keyof EthernetCounters)[] = [
        'alignmentErrors',
        'fcsErrors',
        'singleCollisionFrames',
        'multipleCollisionFrames',
        'sqeTestErrors',
        'deferredTransmissions',
        'lateCollisions',
        'excessiveCollisions',
        'internalMacTransmitErrors',
        'carrierSenseErrors',
        'frameTooLongs',
        'internalMacReceiveErrors',
        'symbolErrors',
      ];
      return tlv(0, CounterRecordFormat.ETHERNET, Buffer.concat(names.map((n) => u32(r[n] ?? 0))));
    }
    case 'vlan':
      return tlv(
        0,
        CounterRecordFormat.VLAN,
        Buffer.concat([
          u32(r.vlanId ?? 0),
          u64(r.octets ?? 0),
          u32(r.ucastPkts ?? 0),
          u32(r.multicastPkts ?? 0),
          u32(r.broadcastPkts ?? 0),
          u32(r.discards ?? 0),
        ]),
      );
    case 'raw':
      return tlv(r.enterprise ?? 0, r.format, padded(r.data), r.lengthOverride);
  }
}

function sample(s: SampleSpec): Buffer {
  if (s.kind === 'raw') return tlv(s.enterprise ?? 0, s.format, padded(s.data), s.lengthOverride);
  const source = (s.sourceType ?? 0) * 16777216 + s.sourceIndex;
  if (s.kind === 'flow') {
    const recs = s.records.map(flowRecord);
    const count = u32(s.recordCountOverride ?? recs.length);
    const head = s.expanded
      ? [
          u32(s.sequence),
          u32(s.sourceType ?? 0),
          u32(s.sourceIndex),
          u32(s.samplingRate),
          u32(s.samplePool),
          u32(s.drops ?? 0),
          u32(0),
          u32(s.input ?? 0),
          u32(0),
          u32(s.output ?? 0),
        ]
      : [
          u32(s.sequence),
          u32(source),
          u32(s.samplingRate),
          u32(s.samplePool),
          u32(s.drops ?? 0),
          u32(s.input ?? 0),
          u32(s.output ?? 0),
        ];
    const data = Buffer.concat([...head, count, ...recs]);
    return tlv(0, s.expanded ? SampleFormat.EXPANDED_FLOW : SampleFormat.FLOW, data);
  }
  const recs = s.records.map(counterRecord);
  const count = u32(s.recordCountOverride ?? recs.length);
  const head = s.expanded
    ? [u32(s.sequence), u32(s.sourceType ?? 0), u32(s.sourceIndex)]
    : [u32(s.sequence), u32(source)];
  return tlv(
    0,
    s.expanded ? SampleFormat.EXPANDED_COUNTERS : SampleFormat.COUNTERS,
    Buffer.concat([...head, count, ...recs]),
  );
}

export function encodeDatagram(d: DatagramSpec): Buffer {
  const samples = d.samples.map(sample);
  return Buffer.concat([
    u32(d.version ?? 5),
    address(d.agent),
    u32(d.subAgent ?? 0),
    u32(d.sequence),
    u32(d.uptimeMs ?? 0),
    u32(d.sampleCountOverride ?? samples.length),
    ...samples,
  ]);
}
