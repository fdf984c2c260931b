/**
 * VXLAN (RFC 7348): 8-byte header after UDP to a port in cfg.vxlanPorts, then the pod's
 * Ethernet frame. Hand-written for measured speed (see ethernet.ts).
 *
 * A header without the I flag (0x08) is BAD_VXLAN rather than plain UDP: the port was
 * configured as VXLAN, so a frame there that is not valid VXLAN is malformed input and is
 * counted as such instead of being attributed as if the VTEP-to-VTEP packet were the pod's.
 *
 * On success the packet's current IP addresses (the VTEPs) move to the tunnel fields, the
 * pod-frame fields are reset, and the returned offset is that of the inner Ethernet header.
 */
import { copy16 } from './ipv6.js';
import { type DecodedPacket, DecodeStatus, Layer, MAX_TUNNEL_DEPTH } from './packet.js';

export const VXLAN_HEADER_LENGTH = 8;
export const VXLAN_PORT = 4789;

/** VXLAN header at `o`. Returns the inner Ethernet offset or ~status. */
export function decodeVxlan(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 8 > end) return ~DecodeStatus.TRUNCATED;
  if ((buf[o] & 0x08) === 0) return ~DecodeStatus.BAD_VXLAN;
  if (out.tunnelDepth >= MAX_TUNNEL_DEPTH) return ~DecodeStatus.TOO_DEEP;
  const v = out.ipVersion;
  out.tunnelIpVersion = v;
  if (v === 4) {
    out.tunnelSrc4 = out.src4;
    out.tunnelDst4 = out.dst4;
  } else {
    out.tunnelSrc4 = 0;
    out.tunnelDst4 = 0;
    copy16(out.src6, 0, out.tunnelSrc6);
    copy16(out.dst6, 0, out.tunnelDst6);
  }
  out.vni = (buf[o + 4] << 16) | (buf[o + 5] << 8) | buf[o + 6];
  out.tunnelDepth++;
  out.resetFrame();
  out.layers |= Layer.VXLAN;
  return o + 8;
}
