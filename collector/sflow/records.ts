/**
 * sFlow v5 flow records (enterprise 0): each decoder reads one record's data at
 * buf[o, end) into the reused FlowSample and returns Malformed.OK or a reason. Hot path:
 * indexed reads, no allocation (the raw header stays in the datagram buffer; the sample
 * keeps its offset). Lengths are checked against `end`, the record's own end, which the
 * caller has checked against the sample and the datagram. `v` is a DataView over the
 * same bytes as `b` (offsets are the same).
 */
import { FlowRecordBit, type FlowSample, Malformed } from './types.js';
import { pad4 } from './xdr.js';

/** No frame on a wire is longer (jumbo frames are ~9 KB; an IPv4/IPv6 packet at most 64 KiB + headers). */
export const MAX_FRAME_LENGTH = 65536 + 64;

export const FlowRecordFormat = {
  SAMPLED_HEADER: 1,
  SAMPLED_ETHERNET: 2,
  SAMPLED_IPV4: 3,
  SAMPLED_IPV6: 4,
  EXTENDED_SWITCH: 1001,
  EXTENDED_ROUTER: 1002,
} as const;

/**
 * Decodes the record of `format` at [o, end). Returns -1 for a format this decoder does
 * not know (the caller skips it by its length and counts it), else a Malformed code.
 */
export function decodeFlowRecord(
  format: number,
  b: Uint8Array,
  v: DataView,
  o: number,
  end: number,
  s: FlowSample,
): number {
  switch (format) {
    case FlowRecordFormat.SAMPLED_HEADER: {
      // header_protocol, frame_length, stripped, header<> (length + bytes, padded)
      if (end - o < 16) return Malformed.RECORD_TOO_SHORT;
      const len = v.getUint32(o + 12);
      if (len > end - o - 16) return Malformed.RECORD_TOO_SHORT;
      const frameLength = v.getUint32(o + 4);
      const stripped = v.getUint32(o + 8);
      // the header is the frame's first bytes after `stripped` were removed
      if (frameLength > MAX_FRAME_LENGTH || len + stripped > frameLength) return Malformed.BAD_FRAME_LENGTH;
      s.headerProtocol = v.getUint32(o);
      s.frameLength = frameLength;
      s.stripped = stripped;
      s.headerOffset = o + 16;
      s.headerLength = len;
      s.records |= FlowRecordBit.HEADER;
      return Malformed.OK;
    }
    case FlowRecordFormat.SAMPLED_ETHERNET: {
      // length, src mac (opaque[6] padded to 8), dst mac, type
      if (end - o < 24) return Malformed.RECORD_TOO_SHORT;
      s.ethLength = v.getUint32(o);
      s.ethSrc = v.getUint16(o + 4) * 4294967296 + v.getUint32(o + 6);
      s.ethDst = v.getUint16(o + 12) * 4294967296 + v.getUint32(o + 14);
      s.ethType = v.getUint32(o + 20);
      s.records |= FlowRecordBit.ETHERNET;
      return Malformed.OK;
    }
    case FlowRecordFormat.SAMPLED_IPV4: {
      // length, protocol, src, dst, src_port, dst_port, tcp_flags, tos
      if (end - o < 32) return Malformed.RECORD_TOO_SHORT;
      s.ipLength = v.getUint32(o);
      s.ipProtocol = v.getUint32(o + 4);
      s.src4 = v.getUint32(o + 8);
      s.dst4 = v.getUint32(o + 12);
      s.srcPort = v.getUint32(o + 16);
      s.dstPort = v.getUint32(o + 20);
      s.tcpFlags = v.getUint32(o + 24);
      s.tos = v.getUint32(o + 28);
      s.records |= FlowRecordBit.IPV4;
      return Malformed.OK;
    }
    case FlowRecordFormat.SAMPLED_IPV6: {
      // length, protocol, src[16], dst[16], src_port, dst_port, tcp_flags, priority
      if (end - o < 56) return Malformed.RECORD_TOO_SHORT;
      s.ipLength = v.getUint32(o);
      s.ipProtocol = v.getUint32(o + 4);
      for (let i = 0; i < 16; i++) {
        s.src6[i] = b[o + 8 + i];
        s.dst6[i] = b[o + 24 + i];
      }
      s.srcPort = v.getUint32(o + 40);
      s.dstPort = v.getUint32(o + 44);
      s.tcpFlags = v.getUint32(o + 48);
      s.tos = v.getUint32(o + 52);
      s.records |= FlowRecordBit.IPV6;
      return Malformed.OK;
    }
    case FlowRecordFormat.EXTENDED_SWITCH: {
      if (end - o < 16) return Malformed.RECORD_TOO_SHORT;
      s.srcVlan = v.getUint32(o);
      s.srcPriority = v.getUint32(o + 4);
      s.dstVlan = v.getUint32(o + 8);
      s.dstPriority = v.getUint32(o + 12);
      s.records |= FlowRecordBit.SWITCH;
      return Malformed.OK;
    }
    case FlowRecordFormat.EXTENDED_ROUTER: {
      // next_hop (address: type + 4 or 16 bytes), src_mask_len, dst_mask_len
      if (end - o < 4) return Malformed.RECORD_TOO_SHORT;
      const type = v.getUint32(o);
      const alen = type === 1 ? 4 : type === 2 ? 16 : type === 0 ? 0 : -1;
      if (alen < 0 || end - o < 4 + alen + 8) return Malformed.RECORD_TOO_SHORT;
      s.nextHopType = type;
      if (type === 1) s.nextHop4 = v.getUint32(o + 4);
      else if (type === 2) for (let i = 0; i < 16; i++) s.nextHop6[i] = b[o + 4 + i];
      s.srcMaskLen = v.getUint32(o + 4 + alen);
      s.dstMaskLen = v.getUint32(o + 8 + alen);
      s.records |= FlowRecordBit.ROUTER;
      return Malformed.OK;
    }
    default:
      return -1;
  }
}

/** Bytes a sampled_header record takes for `headerLength` header bytes (for encoders). */
export function sampledHeaderSize(headerLength: number): number {
  return 16 + pad4(headerLength);
}
