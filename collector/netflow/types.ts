/**
 * The reused views the NetFlow v5 / v9 (RFC 3954) / IPFIX (RFC 7011) decoder fills. One
 * record per decoder: the hot path overwrites it for every data record and allocates
 * nothing. Numbers are unsigned; 64-bit counters are doubles (exact up to 2^53).
 */

/** Why a datagram, set or record was stopped (index into `NetflowDecodeStats.malformed`). */
export const Malformed = {
  OK: 0,
  /** the datagram is shorter than its header */
  SHORT_DATAGRAM: 1,
  /** version neither 5, 9 nor 10 */
  BAD_VERSION: 2,
  /** IPFIX: the message length field disagrees with the datagram */
  MESSAGE_LENGTH: 3,
  /** v5: the datagram is shorter than its record count says (or count > 30) */
  RECORD_COUNT: 4,
  /** a set (flowset) header is cut, or its length < 4 or runs past the end (the rest of the datagram is dropped) */
  SET_LENGTH: 5,
  /** a template record is cut, has a field of length 0, or a scope count that lies (the rest of its set is dropped) */
  BAD_TEMPLATE: 6,
  /** a data record's variable-length field runs past its set (the rest of the set is dropped) */
  RECORD_LENGTH: 7,
  /** a template so long that no record could fit a datagram (> 65535 bytes), or too many fields */
  TEMPLATE_TOO_LONG: 8,
  /** a set id reserved by the protocol (v9: 2..255, IPFIX: 4..255) */
  RESERVED_SET: 9,
} as const;

export const malformedName: readonly string[] = [
  'ok',
  'short_datagram',
  'bad_version',
  'message_length',
  'record_count',
  'set_length',
  'bad_template',
  'record_length',
  'template_too_long',
  'reserved_set',
];

/** Bits of NetflowRecord.has: which fields the record carried. */
export const Has = {
  BYTES: 1 << 0,
  PACKETS: 1 << 1,
  BYTES_TOTAL: 1 << 2,
  PACKETS_TOTAL: 1 << 3,
  IPV4: 1 << 4,
  IPV6: 1 << 5,
  SRC_MAC: 1 << 6,
  DST_MAC: 1 << 7,
  POST_SRC_MAC: 1 << 8,
  POST_DST_MAC: 1 << 9,
  VLAN: 1 << 10,
  POST_VLAN: 1 << 11,
  DOT1Q_VLAN: 1 << 12,
  DOT1Q_CUSTOMER_VLAN: 1 << 13,
  POST_DOT1Q_VLAN: 1 << 14,
  VNI: 1 << 15,
  START: 1 << 16,
  END: 1 << 17,
  START_UPTIME: 1 << 18,
  END_UPTIME: 1 << 19,
  SYSTEM_INIT: 1 << 20,
  SAMPLING_INTERVAL: 1 << 21,
  SAMPLER_ID: 1 << 22,
  RANDOM_INTERVAL: 1 << 23,
  SELECTOR_ID: 1 << 24,
  PACKET_INTERVAL: 1 << 25,
  PACKET_SPACE: 1 << 26,
  FRAME_SECTION: 1 << 27,
  IP_HEADER_SECTION: 1 << 28,
  FRAME_SIZE: 1 << 29,
  PORTS: 1 << 30,
} as const;

/** One data record (a flow, a PSAMP packet report or an options record), reused. */
export class NetflowRecord {
  /** 5, 9 or 10 */
  version = 0;
  /** IPFIX observation domain / v9 source id (0 for v5) */
  domain = 0;
  templateId = 0;
  /** Has bits */
  has = 0;
  bytes = 0;
  packets = 0;
  bytesTotal = 0;
  packetsTotal = 0;
  /** 0, 4 or 6 */
  ipVersion = 0;
  src4 = 0;
  dst4 = 0;
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);
  /** -1 when absent */
  protocol = -1;
  tos = 0;
  tcpFlags = 0;
  srcPort = 0;
  dstPort = 0;
  inIf = 0;
  outIf = 0;
  /** 48-bit numbers */
  srcMac = 0;
  dstMac = 0;
  postSrcMac = 0;
  postDstMac = 0;
  vlan = 0;
  postVlan = 0;
  dot1qVlan = 0;
  dot1qCustomerVlan = 0;
  postDot1qVlan = 0;
  /** layer2SegmentId's low 24 bits (the VXLAN VNI) */
  vni = 0;
  /** flow start / end, ms since the epoch (absolute fields 150-157; 21/22 resolved by the walker) */
  startMs = 0;
  endMs = 0;
  /** sysUpTime-relative start / end (21, 22), ms */
  startUptime = 0;
  endUptime = 0;
  /** systemInitTimeMilliseconds (160) */
  systemInitMs = 0;
  samplingInterval = 0;
  samplerId = 0;
  randomInterval = 0;
  selectorId = 0;
  packetInterval = 0;
  packetSpace = 0;
  /** dataLinkFrameSection (315) / ipHeaderPacketSection (313): offset and length in the datagram */
  frameOffset = 0;
  frameLength = 0;
  ipHeaderOffset = 0;
  ipHeaderLength = 0;
  /** dataLinkFrameSize (312) */
  frameSize = 0;
  /** enterprise-specific fields skipped (by their length) in this record */
  enterpriseFields = 0;

  reset(): void {
    this.has = 0;
    this.ipVersion = 0;
    this.protocol = -1;
    this.tos = 0;
    this.tcpFlags = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.inIf = 0;
    this.outIf = 0;
    this.enterpriseFields = 0;
  }
}
