/**
 * A flow sample → the packet path's DecodedPacket, so that sFlow samples are attributed
 * and aggregated exactly like mirrored packets. Hot path: fills the caller's reused
 * packet, allocates nothing.
 *
 * - A raw packet header record (format 1) is authoritative: an Ethernet header goes
 *   through decodeFrame with the header bytes as the capture and frame_length − stripped
 *   as the wire length (stripped covers the FCS, which pcap and mirror input never count,
 *   so bytes agree with a capture of the same traffic); an IPv4/IPv6 header (protocols
 *   11, 12) through the IP and L4 decoders.
 * - Without one, the Ethernet (2), IPv4 (3) and IPv6 (4) records fill the same fields.
 *   Records 3/4 carry no MACs: the MACs stay 0 (never a pod's) so attribution goes by IP;
 *   the frame's length is then the IP length + 14 (an untagged Ethernet header).
 * - Extended switch data (1001) gives the VLAN when the header carried no tag (switches
 *   sample after stripping the access tag): the pod's tenant context.
 *
 * A sample whose packet carries no L2 bit would be attributed MALFORMED; the IP-only
 * forms set the Ethernet bit so the IP lookup runs (MAC 0 matches no endpoint).
 */
import { LinkType } from '../capture/types.js';
import { decodeFrame } from '../decode/frame.js';
import { decodeIpv4 } from '../decode/ipv4.js';
import { decodeIpv6 } from '../decode/ipv6.js';
import { decodeIcmp, decodeIcmpv6, decodeTcp, decodeUdp } from '../decode/l4.js';
import { type DecodeConfig, type DecodedPacket, DecodeStatus, Layer } from '../decode/packet.js';
import { FlowRecordBit, type FlowSample } from './types.js';

/** sampled_header protocols this path decodes */
export const HeaderProtocol = { ETHERNET: 1, IPV4: 11, IPV6: 12 } as const;

/** Extra DecodeStatus-like outcome: the sample had nothing decodable (an unknown header protocol and no 2/3/4 record). */
export const NOTHING_DECODABLE = -1;

/** Fills `p` from the sample; returns the DecodeStatus, or NOTHING_DECODABLE. */
export function samplePacket(s: FlowSample, buf: Uint8Array, p: DecodedPacket, cfg: DecodeConfig): number {
  const rec = s.records;
  let status: number = NOTHING_DECODABLE;
  const proto = s.headerProtocol;
  if ((rec & FlowRecordBit.HEADER) !== 0 && proto === HeaderProtocol.ETHERNET) {
    const wire = s.frameLength > s.stripped ? s.frameLength - s.stripped : s.headerLength;
    status = decodeFrame(buf, s.headerOffset, s.headerLength, wire, LinkType.ETHERNET, p, cfg);
  } else if (
    (rec & FlowRecordBit.HEADER) !== 0 &&
    (proto === HeaderProtocol.IPV4 || proto === HeaderProtocol.IPV6)
  ) {
    status = decodeRawIp(buf, s.headerOffset, s.headerOffset + s.headerLength, p, proto);
    const ipLen = s.frameLength > s.stripped ? s.frameLength - s.stripped : s.headerLength;
    p.innerLength = ipLen + 14;
  } else if ((rec & (FlowRecordBit.ETHERNET | FlowRecordBit.IPV4 | FlowRecordBit.IPV6)) !== 0) {
    status = fromRecords(s, p);
  } else {
    p.reset();
  }
  // the switch's VLAN is the tenant context when the sampled frame carried no tag
  if ((rec & FlowRecordBit.SWITCH) !== 0 && p.vlanCount === 0) {
    const v = s.srcVlan;
    if (v > 0 && v < 4095) {
      if (p.tunnelDepth === 0) p.vlan = v;
      if (p.outerVlan === 0) p.outerVlan = v;
    }
  }
  return status;
}

/** Records 2/3/4 into the packet (no raw header to decode). */
function fromRecords(s: FlowSample, p: DecodedPacket): number {
  p.reset();
  const rec = s.records;
  p.layers = Layer.ETHERNET;
  if ((rec & FlowRecordBit.ETHERNET) !== 0) {
    p.srcMac = s.ethSrc;
    p.dstMac = s.ethDst;
    p.etherType = s.ethType;
    // the record's length includes the FCS
    p.innerLength = s.ethLength > 4 ? s.ethLength - 4 : s.ethLength;
  }
  const v4 = (rec & FlowRecordBit.IPV4) !== 0;
  if (v4 || (rec & FlowRecordBit.IPV6) !== 0) {
    if (v4) {
      p.ipVersion = 4;
      p.layers |= Layer.IPV4;
      p.src4 = s.src4;
      p.dst4 = s.dst4;
      if ((rec & FlowRecordBit.ETHERNET) === 0) p.etherType = 0x0800;
    } else {
      p.ipVersion = 6;
      p.layers |= Layer.IPV6;
      p.src6.set(s.src6);
      p.dst6.set(s.dst6);
      if ((rec & FlowRecordBit.ETHERNET) === 0) p.etherType = 0x86dd;
    }
    p.protocol = s.ipProtocol & 0xff;
    p.ipLength = s.ipLength;
    if ((rec & FlowRecordBit.ETHERNET) === 0) p.innerLength = s.ipLength + 14;
    if (p.protocol === 6 || p.protocol === 17) {
      p.layers |= p.protocol === 6 ? Layer.TCP : Layer.UDP;
      p.srcPort = s.srcPort & 0xffff;
      p.dstPort = s.dstPort & 0xffff;
      if (p.protocol === 6) p.tcpFlags = s.tcpFlags & 0xff;
    }
  }
  p.status = DecodeStatus.OK;
  return p.status;
}

/** A raw IPv4/IPv6 header (sampled_header protocol 11 or 12) and its L4 header. */
export function decodeRawIp(
  buf: Uint8Array,
  o: number,
  end: number,
  p: DecodedPacket,
  proto: number,
): number {
  p.reset();
  p.layers = Layer.ETHERNET;
  p.etherType = proto === HeaderProtocol.IPV4 ? 0x0800 : 0x86dd;
  let q = proto === HeaderProtocol.IPV4 ? decodeIpv4(buf, o, end, p) : decodeIpv6(buf, o, end, p);
  if (q >= 0) {
    const l4 = p.protocol;
    if (l4 === 6) q = decodeTcp(buf, q, end, p);
    else if (l4 === 17) q = decodeUdp(buf, q, end, p);
    else if (l4 === 1) q = decodeIcmp(buf, q, end, p);
    else if (l4 === 58) q = decodeIcmpv6(buf, q, end, p);
  }
  if (q < 0) p.status = ~q;
  return p.status;
}
