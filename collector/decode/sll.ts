/**
 * Linux cooked capture headers (`tcpdump -i any`): SLL (link type 113, 16 bytes) and SLL2
 * (link type 276, 20 bytes). Hand-written for measured speed (see ethernet.ts).
 *
 * A cooked header carries only the sender's link-layer address, so for an Ethernet device
 * (ARPHRD_ETHER with a 6-byte address) srcMac is that address, dstMac stays 0, and the
 * ETHERNET layer bit is set; for other devices no MAC is known and the bit stays clear.
 * libpcap re-inserts stripped VLAN tags after the cooked header (protocol 0x8100), so
 * tags are decoded as for Ethernet.
 */
import { decodeVlanTags } from './ethernet.js';
import { type DecodedPacket, DecodeStatus, Layer } from './packet.js';

export const SLL_HEADER_LENGTH = 16;
export const SLL2_HEADER_LENGTH = 20;
const ARPHRD_ETHER = 1;

/** SLL (v1): pkttype(2) hatype(2) halen(2) addr(8) protocol(2). Returns the L3 offset or ~status. */
export function decodeSll(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 16 > end) return ~DecodeStatus.TRUNCATED;
  out.l2Offset = o;
  if (((buf[o + 2] << 8) | buf[o + 3]) === ARPHRD_ETHER && ((buf[o + 4] << 8) | buf[o + 5]) === 6) {
    out.srcMac =
      ((buf[o + 6] << 8) | buf[o + 7]) * 4294967296 +
      (((buf[o + 8] << 24) | (buf[o + 9] << 16) | (buf[o + 10] << 8) | buf[o + 11]) >>> 0);
    out.layers |= Layer.ETHERNET;
  }
  return decodeVlanTags(buf, o + 16, end, (buf[o + 14] << 8) | buf[o + 15], out);
}

/** SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8). */
export function decodeSll2(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 20 > end) return ~DecodeStatus.TRUNCATED;
  out.l2Offset = o;
  if (((buf[o + 8] << 8) | buf[o + 9]) === ARPHRD_ETHER && buf[o + 11] === 6) {
    out.srcMac =
      ((buf[o + 12] << 8) | buf[o + 13]) * 4294967296 +
      (((buf[o + 14] << 24) | (buf[o + 15] << 16) | (buf[o + 16] << 8) | buf[o + 17]) >>> 0);
    out.layers |= Layer.ETHERNET;
  }
  return decodeVlanTags(buf, o + 20, end, (buf[o] << 8) | buf[o + 1], out);
}
