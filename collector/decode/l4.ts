/**
 * TCP, UDP, ICMP and ICMPv6 headers. Hand-written for measured speed (see ethernet.ts).
 * A layer's bit is set only once its fixed header (TCP 20, UDP 8, ICMP/ICMPv6 8 bytes)
 * is inside the capture; TCP options cut by the snaplen leave TCP set and TRUNCATED.
 */
import { type DecodedPacket, DecodeStatus, Layer } from './packet.js';

export const TCP_MIN_HEADER_LENGTH = 20;
export const UDP_HEADER_LENGTH = 8;
export const ICMP_HEADER_LENGTH = 8;

/** TCP header at `o`: ports, flags. Returns the payload offset or ~status. */
export function decodeTcp(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 20 > end) return ~DecodeStatus.TRUNCATED;
  const hl = (buf[o + 12] >> 4) << 2;
  if (hl < 20) return ~DecodeStatus.BAD_TCP_HEADER_LENGTH;
  out.srcPort = (buf[o] << 8) | buf[o + 1];
  out.dstPort = (buf[o + 2] << 8) | buf[o + 3];
  out.tcpFlags = buf[o + 13];
  out.layers |= Layer.TCP;
  if (o + hl > end) return ~DecodeStatus.TRUNCATED;
  return o + hl;
}

/** UDP header at `o`: ports. Returns the payload offset or ~status. */
export function decodeUdp(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 8 > end) return ~DecodeStatus.TRUNCATED;
  out.srcPort = (buf[o] << 8) | buf[o + 1];
  out.dstPort = (buf[o + 2] << 8) | buf[o + 3];
  out.layers |= Layer.UDP;
  return o + 8;
}

/** ICMP header at `o`: type, code. Returns the offset after the 8-byte header or ~status. */
export function decodeIcmp(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 8 > end) return ~DecodeStatus.TRUNCATED;
  out.icmpType = buf[o];
  out.icmpCode = buf[o + 1];
  out.layers |= Layer.ICMP;
  return o + 8;
}

/** ICMPv6 header at `o`: type, code. Returns the offset after the 8-byte header or ~status. */
export function decodeIcmpv6(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 8 > end) return ~DecodeStatus.TRUNCATED;
  out.icmpType = buf[o];
  out.icmpCode = buf[o + 1];
  out.layers |= Layer.ICMPV6;
  return o + 8;
}
