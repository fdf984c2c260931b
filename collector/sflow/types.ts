/**
 * The reused views the sFlow v5 decoder fills (sflow.org sflow_version_5.txt). One
 * instance of each per decoder: the hot path overwrites them for every datagram and sample
 * and allocates nothing. Numbers are the wire's unsigned 32-bit values; 64-bit counters
 * are doubles (exact up to 2^53).
 */

/** Why a datagram was stopped or a sample skipped (index into `SflowStats.malformed`). */
export const Malformed = {
  OK: 0,
  /** the datagram is shorter than its own header */
  SHORT_DATAGRAM: 1,
  /** version is not 5 */
  BAD_VERSION: 2,
  /** agent address type neither 1 (IPv4) nor 2 (IPv6) */
  BAD_AGENT_ADDRESS: 3,
  /** a sample's length runs past the end of the datagram (the rest of the datagram is dropped) */
  SAMPLE_LENGTH: 4,
  /** the datagram holds fewer or more samples than its header says (or bytes after the last) */
  SAMPLE_COUNT: 5,
  /** a record's length runs past the end of its sample (the sample is dropped) */
  RECORD_LENGTH: 6,
  /** a sample holds fewer or more records than it says (or bytes after the last), or is too short for its fixed fields */
  RECORD_COUNT: 7,
  /** a record is shorter than its fixed fields, or its inner length (header, address) lies */
  RECORD_TOO_SHORT: 8,
  /** a flow sample with sampling rate 0 (the sample is dropped: it cannot be scaled) */
  BAD_SAMPLING_RATE: 9,
  /**
   * a raw header's frame_length is shorter than the header plus what was stripped, or
   * longer than any frame (64 KiB): it would scale into nonsense bytes (the sample is dropped)
   */
  BAD_FRAME_LENGTH: 10,
} as const;

export const malformedName: readonly string[] = [
  'ok',
  'short_datagram',
  'bad_version',
  'bad_agent_address',
  'sample_length',
  'sample_count',
  'record_length',
  'record_count',
  'record_too_short',
  'bad_sampling_rate',
  'bad_frame_length',
];

/** Bits of FlowSample.records: which flow records the sample carried. */
export const FlowRecordBit = {
  HEADER: 1 << 0,
  ETHERNET: 1 << 1,
  IPV4: 1 << 2,
  IPV6: 1 << 3,
  SWITCH: 1 << 4,
  ROUTER: 1 << 5,
} as const;

/** The datagram header. */
export class DatagramHeader {
  version = 0;
  /** 1 IPv4, 2 IPv6 */
  agentType = 0;
  /** IPv4 agent address as an unsigned 32-bit number */
  agent4 = 0;
  readonly agent6 = new Uint8Array(16);
  subAgent = 0;
  sequence = 0;
  uptimeMs = 0;
  sampleCount = 0;
}

/** One flow sample (format 1 or expanded format 3) and the flow records it carried. */
export class FlowSample {
  expanded = false;
  sequence = 0;
  /** data source class: 0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry */
  sourceType = 0;
  sourceIndex = 0;
  samplingRate = 0;
  samplePool = 0;
  drops = 0;
  /** interface formats: 0 ifIndex, 1 discard reason, 2 multiple (output) */
  inputFormat = 0;
  input = 0;
  outputFormat = 0;
  output = 0;
  /** FlowRecordBit of the records present */
  records = 0;

  // sampled_header (format 1)
  headerProtocol = 0;
  frameLength = 0;
  stripped = 0;
  /** offset and length of the header bytes in the datagram buffer */
  headerOffset = 0;
  headerLength = 0;

  // sampled_ethernet (2)
  ethLength = 0;
  ethSrc = 0;
  ethDst = 0;
  ethType = 0;

  // sampled_ipv4 (3) / sampled_ipv6 (4)
  ipLength = 0;
  ipProtocol = 0;
  src4 = 0;
  dst4 = 0;
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  /** IPv4 ToS or IPv6 priority */
  tos = 0;

  // extended_switch (1001)
  srcVlan = 0;
  srcPriority = 0;
  dstVlan = 0;
  dstPriority = 0;

  // extended_router (1002)
  /** next hop address type: 1 IPv4, 2 IPv6, 0 none */
  nextHopType = 0;
  nextHop4 = 0;
  readonly nextHop6 = new Uint8Array(16);
  srcMaskLen = 0;
  dstMaskLen = 0;

  reset(): void {
    this.records = 0;
    this.headerLength = 0;
  }
}

/** Generic interface counters (counter record format 1). */
export interface GenericInterfaceCounters {
  ifIndex: number;
  ifType: number;
  /** bits per second */
  ifSpeed: number;
  /** 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out */
  ifDirection: number;
  /** bit 0 admin up, bit 1 oper up */
  ifStatus: number;
  ifInOctets: number;
  ifInUcastPkts: number;
  ifInMulticastPkts: number;
  ifInBroadcastPkts: number;
  ifInDiscards: number;
  ifInErrors: number;
  ifInUnknownProtos: number;
  ifOutOctets: number;
  ifOutUcastPkts: number;
  ifOutMulticastPkts: number;
  ifOutBroadcastPkts: number;
  ifOutDiscards: number;
  ifOutErrors: number;
  ifPromiscuousMode: number;
}

/** Ethernet interface counters (counter record format 2, dot3StatsEntry). */
export interface EthernetCounters {
  alignmentErrors: number;
  fcsErrors: number;
  singleCollisionFrames: number;
  multipleCollisionFrames: number;
  sqeTestErrors: number;
  deferredTransmissions: number;
  lateCollisions: number;
  excessiveCollisions: number;
  internalMacTransmitErrors: number;
  carrierSenseErrors: number;
  frameTooLongs: number;
  internalMacReceiveErrors: number;
  symbolErrors: number;
}

/** VLAN counters (counter record format 5). */
export interface VlanCounters {
  vlanId: number;
  octets: number;
  ucastPkts: number;
  multicastPkts: number;
  broadcastPkts: number;
  discards: number;
}

/**
 * One counter sample (format 2 or expanded 4) as a typed per-interface record. Counter
 * samples are rare (one per interface every 20-30 s), so each is a fresh object the
 * consumer may keep.
 */
export interface InterfaceCounters {
  /** the agent's address as text */
  agent: string;
  subAgent: number;
  /** µs since the epoch: when the datagram was received */
  timeUs: number;
  /** the agent's uptime when it sent the datagram, ms */
  uptimeMs: number;
  sequence: number;
  sourceType: number;
  sourceIndex: number;
  /** the generic record's ifIndex, else the data source index */
  ifIndex: number;
  generic: GenericInterfaceCounters | null;
  ethernet: EthernetCounters | null;
  vlan: VlanCounters | null;
  /** records of unknown formats, skipped by their length */
  unknownRecords: number;
}
