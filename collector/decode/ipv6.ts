/**
 * IPv6 and its extension headers: hop-by-hop (0), routing (43), fragment (44), destination
 * options (60) and AH (51) are skipped by their length fields; `protocol` ends up as the
 * upper-layer protocol. Hand-written for measured speed (see ethernet.ts).
 *
 * A fragment header with a nonzero offset means no L4 header follows: FRAGMENT is set,
 * `protocol` is the fragment header's next header, and decoding stops. At most
 * MAX_IPV6_EXTENSIONS extension headers are followed; a longer chain is BAD_IPV6_EXTENSION.
 * The chain is bounded by the payload length (or the capture when it is 0: jumbogram/TSO).
 */
import { type DecodedPacket, DecodeStatus, Layer } from './packet.js';

export const IPV6_HEADER_LENGTH = 40;
export const MAX_IPV6_EXTENSIONS = 8;

/** IPv6 header at `o`. Returns the L4 offset, or ~status (~OK for a non-first fragment). */
export function decodeIpv6(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 40 > end) return ~DecodeStatus.TRUNCATED;
  if (buf[o] >> 4 !== 6) return ~DecodeStatus.BAD_IP_VERSION;
  const plen = (buf[o + 4] << 8) | buf[o + 5];
  out.ipVersion = 6;
  out.ipLength = plen + 40;
  out.ttl = buf[o + 7];
  copy16(buf, o + 8, out.src6);
  copy16(buf, o + 24, out.dst6);
  out.layers |= Layer.IPV6;
  let nh = buf[o + 6];
  out.protocol = nh;
  let p = o + 40;
  let limit = end;
  if (plen !== 0 && o + 40 + plen < limit) limit = o + 40 + plen;
  for (let n = 0; ; n++) {
    if (nh !== 0 && nh !== 43 && nh !== 60 && nh !== 44 && nh !== 51) return p;
    if (n === MAX_IPV6_EXTENSIONS) return ~DecodeStatus.BAD_IPV6_EXTENSION;
    if (p + 8 > limit) return ~DecodeStatus.TRUNCATED;
    let len: number;
    if (nh === 44) {
      const fragOffset = ((buf[p + 2] << 8) | buf[p + 3]) & 0xfff8;
      out.layers |= Layer.FRAGMENT;
      out.fragOffset = fragOffset;
      if (fragOffset !== 0) {
        out.protocol = buf[p];
        return ~DecodeStatus.OK;
      }
      len = 8;
    } else if (nh === 51) {
      // AH: length in 4-octet units minus 2; the fixed part alone is 12 bytes
      len = (buf[p + 1] + 2) << 2;
      if (len < 12) return ~DecodeStatus.BAD_IPV6_EXTENSION;
    } else {
      len = (buf[p + 1] + 1) << 3;
    }
    if (p + len > limit) return ~DecodeStatus.TRUNCATED;
    nh = buf[p];
    out.protocol = nh;
    p += len;
  }
}

/**
 * Copies 16 bytes from buf[o..] to dst. Unrolled on purpose: measured about twice as fast
 * as the equivalent loop, and far faster than `set(subarray())`, which allocates.
 */
export function copy16(buf: Uint8Array, o: number, dst: Uint8Array): void {
  dst[0] = buf[o];
  dst[1] = buf[o + 1];
  dst[2] = buf[o + 2];
  dst[3] = buf[o + 3];
  dst[4] = buf[o + 4];
  dst[5] = buf[o + 5];
  dst[6] = buf[o + 6];
  dst[7] = buf[o + 7];
  dst[8] = buf[o + 8];
  dst[9] = buf[o + 9];
  dst[10] = buf[o + 10];
  dst[11] = buf[o + 11];
  dst[12] = buf[o + 12];
  dst[13] = buf[o + 13];
  dst[14] = buf[o + 14];
  dst[15] = buf[o + 15];
}
