/**
 * Information elements → record fields. A template is compiled once into a list of field
 * kinds and lengths; a data record is then read by one loop over that list with a switch
 * per field, over byte offsets, filling the reused NetflowRecord. IE numbers are IANA's
 * (IPFIX) and, below 128, the same as NetFlow v9's field types. Enterprise-specific fields
 * and the elements podwire has no use for are skipped by their length.
 */
import { Has, type NetflowRecord } from './types.js';

/** What the reader does with a field. */
export const Kind = {
  SKIP: 0,
  OCTETS: 1,
  PACKETS: 2,
  OCTETS_TOTAL: 3,
  PACKETS_TOTAL: 4,
  PROTOCOL: 5,
  TOS: 6,
  TCP_FLAGS: 7,
  SRC_PORT: 8,
  SRC4: 9,
  IN_IF: 10,
  DST_PORT: 11,
  DST4: 12,
  OUT_IF: 13,
  SRC6: 14,
  DST6: 15,
  END_UPTIME: 16,
  START_UPTIME: 17,
  SAMPLING_INTERVAL: 18,
  SAMPLER_ID: 19,
  RANDOM_INTERVAL: 20,
  SRC_MAC: 21,
  POST_DST_MAC: 22,
  VLAN: 23,
  POST_VLAN: 24,
  DST_MAC: 25,
  POST_SRC_MAC: 26,
  START_S: 27,
  END_S: 28,
  START_MS: 29,
  END_MS: 30,
  START_US: 31,
  END_US: 32,
  START_NS: 33,
  END_NS: 34,
  SYSTEM_INIT: 35,
  DOT1Q_VLAN: 36,
  DOT1Q_CUSTOMER_VLAN: 37,
  POST_DOT1Q_VLAN: 38,
  SELECTOR_ID: 39,
  PACKET_INTERVAL: 40,
  PACKET_SPACE: 41,
  IP_HEADER_SECTION: 42,
  FRAME_SECTION: 43,
  VNI: 44,
  FRAME_SIZE: 45,
  /** an enterprise-specific field: skipped, counted */
  ENTERPRISE: 46,
} as const;

/** IANA IE number → Kind (absent: SKIP). */
const BY_IE = new Map<number, number>([
  [1, Kind.OCTETS],
  [2, Kind.PACKETS],
  [4, Kind.PROTOCOL],
  [5, Kind.TOS],
  [6, Kind.TCP_FLAGS],
  [7, Kind.SRC_PORT],
  [8, Kind.SRC4],
  [10, Kind.IN_IF],
  [11, Kind.DST_PORT],
  [12, Kind.DST4],
  [14, Kind.OUT_IF],
  [21, Kind.END_UPTIME],
  [22, Kind.START_UPTIME],
  [27, Kind.SRC6],
  [28, Kind.DST6],
  [34, Kind.SAMPLING_INTERVAL],
  [48, Kind.SAMPLER_ID],
  [50, Kind.RANDOM_INTERVAL],
  [56, Kind.SRC_MAC],
  [57, Kind.POST_DST_MAC],
  [58, Kind.VLAN],
  [59, Kind.POST_VLAN],
  [80, Kind.DST_MAC],
  [81, Kind.POST_SRC_MAC],
  [85, Kind.OCTETS_TOTAL],
  [86, Kind.PACKETS_TOTAL],
  [150, Kind.START_S],
  [151, Kind.END_S],
  [152, Kind.START_MS],
  [153, Kind.END_MS],
  [154, Kind.START_US],
  [155, Kind.END_US],
  [156, Kind.START_NS],
  [157, Kind.END_NS],
  [160, Kind.SYSTEM_INIT],
  [243, Kind.DOT1Q_VLAN],
  [245, Kind.DOT1Q_CUSTOMER_VLAN],
  [254, Kind.POST_DOT1Q_VLAN],
  [302, Kind.SELECTOR_ID],
  [305, Kind.PACKET_INTERVAL],
  [306, Kind.PACKET_SPACE],
  [312, Kind.FRAME_SIZE],
  [313, Kind.IP_HEADER_SECTION],
  [315, Kind.FRAME_SECTION],
  [351, Kind.VNI],
]);

/** Fixed lengths an element must have to be read as its kind (else it is skipped). */
function lengthFits(kind: number, len: number): boolean {
  switch (kind) {
    case Kind.SRC4:
    case Kind.DST4:
      return len === 4;
    case Kind.SRC6:
    case Kind.DST6:
      return len === 16;
    case Kind.SRC_MAC:
    case Kind.DST_MAC:
    case Kind.POST_SRC_MAC:
    case Kind.POST_DST_MAC:
      return len === 6;
    case Kind.START_US:
    case Kind.END_US:
    case Kind.START_NS:
    case Kind.END_NS:
      return len === 8;
    case Kind.FRAME_SECTION:
    case Kind.IP_HEADER_SECTION:
      return true;
    default:
      // unsigned integers, reduced-size encoding allowed (RFC 7011 6.2); variable: read as such
      return (len >= 1 && len <= 8) || len === VARIABLE;
  }
}

/** A template field length meaning "variable" (IPFIX: the length comes in the data). */
export const VARIABLE = 0xffff;

/** The Kind of field (enterprise bit, id) of length `len`. */
export function fieldKind(enterprise: boolean, id: number, len: number): number {
  if (enterprise) return Kind.ENTERPRISE;
  const k = BY_IE.get(id) ?? Kind.SKIP;
  return k !== Kind.SKIP && lengthFits(k, len) ? k : Kind.SKIP;
}

const NTP_EPOCH_OFFSET_S = 2208988800;
const TWO32 = 4294967296;

/** An unsigned big-endian integer of 1..8 bytes (longer: its first 8 bytes' worth, inexactly). */
export function uint(b: Uint8Array, o: number, len: number): number {
  switch (len) {
    case 1:
      return b[o];
    case 2:
      return (b[o] << 8) | b[o + 1];
    case 4:
      return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    case 6:
      // MAC addresses: two records' worth per flow, worth their own case
      return (
        ((b[o] << 8) | b[o + 1]) * TWO32 +
        (((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0)
      );
    case 8:
      return (
        (((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0) * TWO32 +
        (((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0)
      );
    default: {
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + b[o + i];
      return v;
    }
  }
}

/** An NTP timestamp (RFC 5905: seconds since 1900, 2^-32 fractions) → ms since the epoch. */
function ntpMs(b: Uint8Array, o: number): number {
  const s = uint(b, o, 4);
  const f = uint(b, o + 4, 4);
  return (s - NTP_EPOCH_OFFSET_S) * 1000 + (f / TWO32) * 1000;
}

/**
 * Reads one data record at [o, end) by the template's kinds and lengths into `r`.
 * Returns the offset after it, or -1 when a variable-length field runs past `end` (the
 * caller checked that the fixed part fits: `minLength`).
 */
export function readRecord(
  b: Uint8Array,
  o: number,
  end: number,
  kinds: Uint8Array,
  lens: Uint16Array,
  r: NetflowRecord,
): number {
  const n = kinds.length;
  for (let i = 0; i < n; i++) {
    let len = lens[i];
    if (len === VARIABLE) {
      // RFC 7011 7: one length byte, or 255 and two more
      if (o >= end) return -1;
      len = b[o++];
      if (len === 255) {
        if (end - o < 2) return -1;
        len = (b[o] << 8) | b[o + 1];
        o += 2;
      }
    }
    if (len > end - o) return -1;
    const k = kinds[i];
    // a variable-length integer longer than 8 bytes is no counter podwire can keep exactly
    // (IPv6 addresses are 16 bytes: lengthFits held them to exactly that)
    if (
      k !== Kind.SKIP &&
      (len <= 8 ||
        k === Kind.FRAME_SECTION ||
        k === Kind.IP_HEADER_SECTION ||
        k === Kind.SRC6 ||
        k === Kind.DST6)
    )
      readField(b, o, len, k, r);
    o += len;
  }
  return o;
}

function readField(b: Uint8Array, o: number, len: number, k: number, r: NetflowRecord): void {
  switch (k) {
    case Kind.OCTETS:
      r.bytes = uint(b, o, len);
      r.has |= Has.BYTES;
      return;
    case Kind.PACKETS:
      r.packets = uint(b, o, len);
      r.has |= Has.PACKETS;
      return;
    case Kind.OCTETS_TOTAL:
      r.bytesTotal = uint(b, o, len);
      r.has |= Has.BYTES_TOTAL;
      return;
    case Kind.PACKETS_TOTAL:
      r.packetsTotal = uint(b, o, len);
      r.has |= Has.PACKETS_TOTAL;
      return;
    case Kind.PROTOCOL:
      r.protocol = b[o + len - 1];
      return;
    case Kind.TOS:
      r.tos = b[o + len - 1];
      return;
    case Kind.TCP_FLAGS:
      // 2-byte form (RFC 7125) keeps the classic flags in its low byte
      r.tcpFlags = b[o + len - 1];
      return;
    case Kind.SRC_PORT:
      r.srcPort = uint(b, o, len) & 0xffff;
      r.has |= Has.PORTS;
      return;
    case Kind.DST_PORT:
      r.dstPort = uint(b, o, len) & 0xffff;
      r.has |= Has.PORTS;
      return;
    case Kind.SRC4:
      r.src4 = uint(b, o, 4);
      r.ipVersion = 4;
      r.has |= Has.IPV4;
      return;
    case Kind.DST4:
      r.dst4 = uint(b, o, 4);
      r.ipVersion = 4;
      r.has |= Has.IPV4;
      return;
    case Kind.SRC6:
      for (let i = 0; i < 16; i++) r.src6[i] = b[o + i];
      r.ipVersion = 6;
      r.has |= Has.IPV6;
      return;
    case Kind.DST6:
      for (let i = 0; i < 16; i++) r.dst6[i] = b[o + i];
      r.ipVersion = 6;
      r.has |= Has.IPV6;
      return;
    case Kind.IN_IF:
      r.inIf = uint(b, o, len);
      return;
    case Kind.OUT_IF:
      r.outIf = uint(b, o, len);
      return;
    case Kind.END_UPTIME:
      r.endUptime = uint(b, o, len);
      r.has |= Has.END_UPTIME;
      return;
    case Kind.START_UPTIME:
      r.startUptime = uint(b, o, len);
      r.has |= Has.START_UPTIME;
      return;
    case Kind.SAMPLING_INTERVAL:
      r.samplingInterval = uint(b, o, len);
      r.has |= Has.SAMPLING_INTERVAL;
      return;
    case Kind.SAMPLER_ID:
      r.samplerId = uint(b, o, len);
      r.has |= Has.SAMPLER_ID;
      return;
    case Kind.RANDOM_INTERVAL:
      r.randomInterval = uint(b, o, len);
      r.has |= Has.RANDOM_INTERVAL;
      return;
    case Kind.SRC_MAC:
      r.srcMac = uint(b, o, 6);
      r.has |= Has.SRC_MAC;
      return;
    case Kind.DST_MAC:
      r.dstMac = uint(b, o, 6);
      r.has |= Has.DST_MAC;
      return;
    case Kind.POST_SRC_MAC:
      r.postSrcMac = uint(b, o, 6);
      r.has |= Has.POST_SRC_MAC;
      return;
    case Kind.POST_DST_MAC:
      r.postDstMac = uint(b, o, 6);
      r.has |= Has.POST_DST_MAC;
      return;
    case Kind.VLAN:
      r.vlan = uint(b, o, len) & 0xfff;
      r.has |= Has.VLAN;
      return;
    case Kind.POST_VLAN:
      r.postVlan = uint(b, o, len) & 0xfff;
      r.has |= Has.POST_VLAN;
      return;
    case Kind.DOT1Q_VLAN:
      r.dot1qVlan = uint(b, o, len) & 0xfff;
      r.has |= Has.DOT1Q_VLAN;
      return;
    case Kind.DOT1Q_CUSTOMER_VLAN:
      r.dot1qCustomerVlan = uint(b, o, len) & 0xfff;
      r.has |= Has.DOT1Q_CUSTOMER_VLAN;
      return;
    case Kind.POST_DOT1Q_VLAN:
      r.postDot1qVlan = uint(b, o, len) & 0xfff;
      r.has |= Has.POST_DOT1Q_VLAN;
      return;
    case Kind.VNI:
      // layer2SegmentId: segment type in the top octet (0x01 VXLAN), the VNI in the low 24 bits
      {
        const n = Math.min(len, 3);
        r.vni = uint(b, o + len - n, n);
      }
      r.has |= Has.VNI;
      return;
    case Kind.START_S:
      r.startMs = uint(b, o, len) * 1000;
      r.has |= Has.START;
      return;
    case Kind.END_S:
      r.endMs = uint(b, o, len) * 1000;
      r.has |= Has.END;
      return;
    case Kind.START_MS:
      r.startMs = uint(b, o, len);
      r.has |= Has.START;
      return;
    case Kind.END_MS:
      r.endMs = uint(b, o, len);
      r.has |= Has.END;
      return;
    case Kind.START_US:
    case Kind.START_NS:
      r.startMs = ntpMs(b, o);
      r.has |= Has.START;
      return;
    case Kind.END_US:
    case Kind.END_NS:
      r.endMs = ntpMs(b, o);
      r.has |= Has.END;
      return;
    case Kind.SYSTEM_INIT:
      r.systemInitMs = uint(b, o, len);
      r.has |= Has.SYSTEM_INIT;
      return;
    case Kind.SELECTOR_ID:
      r.selectorId = uint(b, o, len);
      r.has |= Has.SELECTOR_ID;
      return;
    case Kind.PACKET_INTERVAL:
      r.packetInterval = uint(b, o, len);
      r.has |= Has.PACKET_INTERVAL;
      return;
    case Kind.PACKET_SPACE:
      r.packetSpace = uint(b, o, len);
      r.has |= Has.PACKET_SPACE;
      return;
    case Kind.FRAME_SIZE:
      r.frameSize = uint(b, o, len);
      r.has |= Has.FRAME_SIZE;
      return;
    case Kind.FRAME_SECTION:
      r.frameOffset = o;
      r.frameLength = len;
      r.has |= Has.FRAME_SECTION;
      return;
    case Kind.IP_HEADER_SECTION:
      r.ipHeaderOffset = o;
      r.ipHeaderLength = len;
      r.has |= Has.IP_HEADER_SECTION;
      return;
    case Kind.ENTERPRISE:
      r.enterpriseFields++;
      return;
  }
}
