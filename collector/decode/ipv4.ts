/**
 * IPv4 with options (IHL) and fragments. Hand-written for measured speed (see ethernet.ts).
 *
 * Only a first fragment (offset 0) carries the L4 header: for a later fragment the
 * FRAGMENT bit is set, fragOffset > 0, `protocol` is still the header's protocol, and
 * decoding stops. A total length of 0 is accepted (TSO/GSO super-packets captured on the
 * sending host carry it): the payload then runs to the end of the capture.
 */
import { type DecodedPacket, DecodeStatus, Layer } from './packet.js';

export const IPV4_MIN_HEADER_LENGTH = 20;

/** IPv4 header at `o`. Returns the L4 offset, or ~status (~OK for a non-first fragment). */
export function decodeIpv4(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 20 > end) return ~DecodeStatus.TRUNCATED;
  const vihl = buf[o];
  if (vihl >> 4 !== 4) return ~DecodeStatus.BAD_IP_VERSION;
  const hl = (vihl & 0x0f) << 2;
  if (hl < 20) return ~DecodeStatus.BAD_IP_HEADER_LENGTH;
  const total = (buf[o + 2] << 8) | buf[o + 3];
  if (total !== 0 && total < hl) return ~DecodeStatus.BAD_IP_HEADER_LENGTH;
  out.ipVersion = 4;
  out.ipLength = total;
  out.ttl = buf[o + 8];
  out.protocol = buf[o + 9];
  out.src4 = ((buf[o + 12] << 24) | (buf[o + 13] << 16) | (buf[o + 14] << 8) | buf[o + 15]) >>> 0;
  out.dst4 = ((buf[o + 16] << 24) | (buf[o + 17] << 16) | (buf[o + 18] << 8) | buf[o + 19]) >>> 0;
  out.layers |= Layer.IPV4;
  const ff = (buf[o + 6] << 8) | buf[o + 7];
  const fragOffset = (ff & 0x1fff) << 3;
  if ((ff & 0x2000) !== 0 || fragOffset !== 0) {
    out.layers |= Layer.FRAGMENT;
    out.fragOffset = fragOffset;
  }
  if (o + hl > end) return ~DecodeStatus.TRUNCATED;
  if (fragOffset !== 0) return ~DecodeStatus.OK;
  return o + hl;
}
