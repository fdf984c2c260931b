/**
 * Entry point of the packet decoders: one captured frame → the caller's DecodedPacket.
 *
 * The decoders (ethernet.ts, sll.ts, ipv4.ts, ipv6.ts, l4.ts, vxlan.ts, gre.ts) are
 * hand-written for measured speed: this is the hot path of read+decode+attribute+aggregate,
 * which must sustain > 4M packets/s on one core. They index the buffer directly (no
 * DataView, no subarray), allocate nothing, bounds-check every read against the end of the
 * capture, and return either the next header's offset or `~status`. This file chains them
 * in a loop (no recursion): L2 → IP → L4, and on VXLAN / GRE-TEB / ERSPAN back to L2 for
 * the carried frame, until the innermost (the pod's) frame is decoded or something stops it.
 */
import { LinkType } from '../capture/types.js';
import { decodeEthernet } from './ethernet.js';
import { decodeGre } from './gre.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { decodeIcmp, decodeIcmpv6, decodeTcp, decodeUdp } from './l4.js';
import { type DecodeConfig, type DecodedPacket, DecodeStatus } from './packet.js';
import { decodeSll, decodeSll2 } from './sll.js';
import { decodeVxlan } from './vxlan.js';

/**
 * Decodes the frame at buf[offset, offset + capLength) into `out` (reset first) and returns
 * out.status. `wireLength` is the frame's length on the wire (for innerLength); `linkType`
 * is the capture's link type: Ethernet (1), Linux SLL (113) or SLL2 (276).
 *
 * The fields describe the innermost frame; `outerVlan` and the tunnel fields the
 * encapsulation. On TRUNCATED or a malformed status, the layers whose bits are set are
 * valid. Never throws for any bytes.
 */
export function decodeFrame(
  buf: Uint8Array,
  offset: number,
  capLength: number,
  wireLength: number,
  linkType: number,
  out: DecodedPacket,
  cfg: DecodeConfig,
): number {
  out.reset();
  let end = offset + capLength;
  if (end > buf.length) end = buf.length;
  let p: number;
  if (linkType === LinkType.ETHERNET) {
    p = decodeEthernet(buf, offset, end, out);
    out.innerLength = wireLength;
  } else if (linkType === LinkType.LINUX_SLL) {
    p = decodeSll(buf, offset, end, out);
    // the length of the Ethernet frame this was: the 16-byte cooked header replaced 14
    out.innerLength = wireLength > 16 ? wireLength - 2 : 0;
  } else if (linkType === LinkType.LINUX_SLL2) {
    p = decodeSll2(buf, offset, end, out);
    out.innerLength = wireLength > 20 ? wireLength - 6 : 0;
  } else {
    out.status = DecodeStatus.UNSUPPORTED_LINK_TYPE;
    return out.status;
  }
  out.outerVlan = out.vlan;
  const vxlanPorts = cfg.vxlanPorts;

  // each pass decodes one frame's L3 and L4 (p is the L3 offset after the L2 header)
  while (p >= 0) {
    const ipStart = p;
    const etherType = out.etherType;
    if (etherType === 0x0800) p = decodeIpv4(buf, p, end, out);
    else if (etherType === 0x86dd) p = decodeIpv6(buf, p, end, out);
    else break;
    if (p < 0) break;

    // the IP packet's own length bounds L4 (Ethernet padding is not payload); a length
    // of 0 (TSO) or one running past the capture leaves the capture end as the bound
    let ipEnd = end;
    const ipLength = out.ipLength;
    if (out.ipVersion === 4 ? ipLength !== 0 : ipLength > 40) {
      if (ipStart + ipLength < ipEnd) ipEnd = ipStart + ipLength;
    }

    const proto = out.protocol;
    if (proto === 6) {
      p = decodeTcp(buf, p, ipEnd, out);
    } else if (proto === 17) {
      const udpStart = p;
      p = decodeUdp(buf, p, ipEnd, out);
      if (p < 0 || vxlanPorts[out.dstPort] === 0) break;
      const udpLength = (buf[udpStart + 4] << 8) | buf[udpStart + 5];
      if (udpLength >= 8 && udpStart + udpLength < ipEnd) ipEnd = udpStart + udpLength;
      p = decodeVxlan(buf, p, ipEnd, out);
      if (p < 0) break;
      end = ipEnd;
      p = enterFrame(buf, p, end, offset, wireLength, out);
      continue;
    } else if (proto === 47) {
      p = decodeGre(buf, p, ipEnd, out);
      if (p < 0) break;
      end = ipEnd;
      p = enterFrame(buf, p, end, offset, wireLength, out);
      continue;
    } else if (proto === 1) {
      p = decodeIcmp(buf, p, ipEnd, out);
    } else if (proto === 58) {
      p = decodeIcmpv6(buf, p, ipEnd, out);
    }
    break;
  }
  if (p < 0) out.status = ~p;
  return out.status;
}

/** Starts on a tunnelled Ethernet frame at `p`: its innerLength, then its L2 header. */
function enterFrame(
  buf: Uint8Array,
  p: number,
  end: number,
  offset: number,
  wireLength: number,
  out: DecodedPacket,
): number {
  const inner = wireLength - (p - offset);
  out.innerLength = Math.max(inner, 0);
  return decodeEthernet(buf, p, end, out);
}
