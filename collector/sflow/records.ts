/**
 * sFlow v5 flow records (enterprise 0): each decoder reads one record's data at
 * buf[o, end) into the reused FlowSample and returns Malformed.OK or a reason. Hot path:
 * indexed reads, no allocation (the raw header stays in the datagram buffer; the sample
 * keeps its offset). Lengths are checked against `end`, the record's own end, which the
 * caller has checked against the sample and the datagram.
 */
import { FlowRecordBit, type FlowSample, Malformed } from './types.js';
import { mac48, pad4, u32 } from './xdr.js';

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
  o: number,
  end: number,
  s: FlowSample,
): number {
  switch (format) {
    case FlowRecordFormat.SAMPLED_HEADER: {
      // header_protocol, frame_length, stripped, header<> (length + bytes, padded)
      if (end - o < 16) return Malformed.RECORD_TOO_SHORT;
      const len = u32(b, o + 12);
      if (len > end - o - 16) return Malformed.RECORD_TOO_SHORT;
      s.headerProtocol = u32(b, o);
      s.frameLength = u32(b, o + 4);
      s.stripped = u32(b, o + 8);
      s.headerOffset = o + 16;
      s.headerLength = len;
      s.records |= FlowRecordBit.HEADER;
      return Malformed.OK;
    }
    case FlowRecordFormat.SAMPLED_ETHERNET: {
      // length, src mac (opaque[6] padded to 8), dst mac, type
      if (end - o < 24) return Malformed.RECORD_TOO_SHORT;
      s.ethLength = u32(b, o);
      s.ethSrc = mac48(b, o + 4);
      s.ethDst = mac48(b, o + 12);
      s.ethType = u32(b, o + 20);
      s.records |= FlowRecordBit.ETHERNET;
      return Malformed.OK;
    }
    case FlowRecordFormat.SAMPLED_IPV4: {
      // length, protocol, src, dst, src_port, dst_port, tcp_flags, tos
      if (end - o < 32) return Malformed.RECORD_TOO_SHORT;
      s.ipLength = u32(b, o);
      s.ipProtocol = u32(b, o + 4);
      s.src4 = u32(b, o + 8);
      s.dst4 = u32(b, o + 12);
      s.srcPort = u32(b, o + 16);
      s.dstPort = u32(b, o + 20);
      s.tcpFlags = u32(b, o + 24);
      s.tos = u32(b, o + 28);
      s.records |= FlowRecordBit.IPV4;
      return Malformed.OK;
    }
    case FlowRecordFormat.SAMPLED_IPV6: {
      // length, protocol, src[16], dst[16], src_port, dst_port, tcp_flags, priority
      if (end - o < 56) return Malformed.RECORD_TOO_SHORT;
      s.ipLength = u32(b, o);
      s.ipProtocol = u32(b, o + 4);
      for (let i = 0; i < 16; i++) {
        s.src6[i] = b[o + 8 + i];
        s.dst6[i] = b[o + 24 + i];
      }
      s.srcPort = u32(b, o + 40);
      s.dstPort = u32(b, o + 44);
      s.tcpFlags = u32(b, o + 48);
      s.tos = u32(b, o + 52);
      s.records |= FlowRecordBit.IPV6;
      return Malformed.OK;
    }
    case FlowRecordFormat.EXTENDED_SWITCH: {
      if (end - o < 16) return Malformed.RECORD_TOO_SHORT;
      s.srcVlan = u32(b, o);
      s.srcPriority = u32(b, o + 4);
      s.dstVlan = u32(b, o + 8);
      s.dstPriority = u32(b, o + 12);
      s.records |= FlowRecordBit.SWITCH;
      return Malformed.OK;
    }
    case FlowRecordFormat.EXTENDED_ROUTER: {
      // next_hop (address: type + 4 or 16 bytes), src_mask_len, dst_mask_len
      if (end - o < 4) return Malformed.RECORD_TOO_SHORT;
      const type = u32(b, o);
      const alen = type === 1 ? 4 : type === 2 ? 16 : type === 0 ? 0 : -1;
      if (alen < 0 || end - o < 4 + alen + 8) return Malformed.RECORD_TOO_SHORT;
      s.nextHopType = type;
      if (type === 1) s.nextHop4 = u32(b, o + 4);
      else if (type === 2) for (let i = 0; i < 16; i++) s.nextHop6[i] = b[o + 4 + i];
      s.srcMaskLen = u32(b, o + 4 + alen);
      s.dstMaskLen = u32(b, o + 8 + alen);
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
