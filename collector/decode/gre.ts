/**
 * GRE (RFC 2784/2890) and the ERSPAN mirror encapsulations carried in it. Hand-written for
 * measured speed (see ethernet.ts).
 *
 * - GRE version 0: the header is 4 bytes plus 4 for each of the checksum (C), key (K) and
 *   sequence (S) present bits. The deprecated routing bit (R), strict source route (s) and
 *   recursion control bits must be zero (RFC 2784 says to discard otherwise): BAD_GRE.
 *   Version 1 is accepted only as PPTP's enhanced GRE (K set, protocol 0x880B) and stops
 *   there; any other version is BAD_GRE.
 * - 0x6558 transparent Ethernet bridging → the inner Ethernet frame.
 * - 0x88BE with S set → ERSPAN type II: 8-byte header (version 1), 10-bit session ID.
 *   0x88BE without S → ERSPAN type I: no ERSPAN header at all, session reported as 0.
 * - 0x22EB → ERSPAN type III: 12-byte header (version 2), plus an 8-byte platform-specific
 *   subheader when the O bit is set. Only frame type 0 (Ethernet) is supported; the
 *   IP-only frame type is reported as BAD_ERSPAN.
 * - Any other protocol: decoding stops at GRE with status OK.
 *
 * greProtocol is that of the outermost GRE header; erspanType/erspanSession/erspanVlan
 * those of the innermost ERSPAN (erspanVlan is the header's original-VLAN field, -1 for
 * type I). Entering the mirrored frame resets the pod-frame fields.
 */
import { type DecodedPacket, DecodeStatus, Layer, MAX_TUNNEL_DEPTH } from './packet.js';

export const GreProtocol = { TEB: 0x6558, ERSPAN_II: 0x88be, ERSPAN_III: 0x22eb, PPP: 0x880b } as const;
export const GreFlag = {
  CHECKSUM: 0x8000,
  ROUTING: 0x4000,
  KEY: 0x2000,
  SEQUENCE: 0x1000,
  STRICT: 0x0800,
} as const;

/** GRE header at `o`. Returns the offset of the carried Ethernet frame, or ~status. */
export function decodeGre(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 4 > end) return ~DecodeStatus.TRUNCATED;
  const fv = (buf[o] << 8) | buf[o + 1];
  const proto = (buf[o + 2] << 8) | buf[o + 3];
  if ((fv & 0x0007) !== 0) {
    if ((fv & 0x0007) === 1 && proto === 0x880b && (fv & 0x2000) !== 0 && (fv & 0x4f00) === 0) {
      if ((out.layers & Layer.GRE) === 0) out.greProtocol = proto;
      out.layers |= Layer.GRE;
      return ~DecodeStatus.OK;
    }
    return ~DecodeStatus.BAD_GRE;
  }
  if ((fv & 0x4f00) !== 0) return ~DecodeStatus.BAD_GRE;
  if ((out.layers & Layer.GRE) === 0) out.greProtocol = proto;
  out.layers |= Layer.GRE;
  let p = o + 4;
  if ((fv & 0x8000) !== 0) p += 4;
  if ((fv & 0x2000) !== 0) p += 4;
  if ((fv & 0x1000) !== 0) p += 4;
  if (p > end) return ~DecodeStatus.TRUNCATED;

  let type: number;
  let session = 0;
  let vlan = -1;
  if (proto === 0x6558) {
    type = 0;
  } else if (proto === 0x88be) {
    if ((fv & 0x1000) !== 0) {
      if (p + 8 > end) return ~DecodeStatus.TRUNCATED;
      if (buf[p] >> 4 !== 1) return ~DecodeStatus.BAD_ERSPAN;
      session = ((buf[p + 2] & 0x03) << 8) | buf[p + 3];
      vlan = ((buf[p] & 0x0f) << 8) | buf[p + 1];
      type = 2;
      p += 8;
    } else {
      type = 1;
    }
  } else if (proto === 0x22eb) {
    if (p + 12 > end) return ~DecodeStatus.TRUNCATED;
    if (buf[p] >> 4 !== 2) return ~DecodeStatus.BAD_ERSPAN;
    if (((buf[p + 10] >> 2) & 0x1f) !== 0) return ~DecodeStatus.BAD_ERSPAN;
    session = ((buf[p + 2] & 0x03) << 8) | buf[p + 3];
    vlan = ((buf[p] & 0x0f) << 8) | buf[p + 1];
    type = 3;
    p += (buf[p + 11] & 0x01) !== 0 ? 20 : 12;
    if (p > end) return ~DecodeStatus.TRUNCATED;
  } else {
    return ~DecodeStatus.OK;
  }
  if (out.tunnelDepth >= MAX_TUNNEL_DEPTH) return ~DecodeStatus.TOO_DEEP;
  out.tunnelDepth++;
  out.resetFrame();
  if (type !== 0) {
    out.erspanType = type;
    out.erspanSession = session;
    out.erspanVlan = vlan;
    out.layers |= Layer.ERSPAN;
  }
  return p;
}
