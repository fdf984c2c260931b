/**
 * A NetFlow/IPFIX data record → the packet path's DecodedPacket, so records are
 * attributed and aggregated like mirrored packets and sFlow samples. Hot path: fills the
 * caller's reused packet, allocates nothing.
 *
 * - dataLinkFrameSection (315) is authoritative: the frame goes through decodeFrame (a
 *   VXLAN frame's inner pod frame, its VNI and tags, as in a mirror), with
 *   dataLinkFrameSize (312) as its wire length.
 * - ipHeaderPacketSection (313): through the IP and L4 decoders, the record's MACs and
 *   VLANs around it.
 * - Otherwise the fields: MACs (56/80, else the post-MACs 81/57), VLANs (the innermost tag
 *   — dot1qCustomerVlanId 245, else dot1qVlanId 243, else vlanId 58 — is the tenant
 *   context; 243 or 58 the outer), layer2SegmentId 351 as the VNI, addresses, ports.
 * p.innerLength is the record's bytes (all its packets: the flow table takes the count).
 */
import { LinkType } from '../capture/types.js';
import { decodeFrame } from '../decode/frame.js';
import { type DecodeConfig, type DecodedPacket, DecodeStatus, Layer } from '../decode/packet.js';
import { decodeRawIp } from '../sflow/sample-packet.js';
import { Has, type NetflowRecord } from './types.js';

/** The record's packet count (a packet report without one stands for one packet). */
export function recordPackets(r: NetflowRecord): number {
  if ((r.has & Has.PACKETS) !== 0) return r.packets;
  if ((r.has & Has.PACKETS_TOTAL) !== 0) return r.packetsTotal;
  return 1;
}

/** The record's bytes; 0 when it states none (a packet report: its frame says). */
export function recordBytes(r: NetflowRecord): number {
  if ((r.has & Has.BYTES) !== 0) return r.bytes;
  if ((r.has & Has.BYTES_TOTAL) !== 0) return r.bytesTotal;
  if ((r.has & Has.FRAME_SIZE) !== 0) return r.frameSize;
  return 0;
}

/** Fills `p` from the record; returns its DecodeStatus. */
export function recordPacket(r: NetflowRecord, buf: Uint8Array, p: DecodedPacket, cfg: DecodeConfig): number {
  const h = r.has;
  if ((h & Has.FRAME_SECTION) !== 0 && r.frameLength > 0) {
    const wire = (h & Has.FRAME_SIZE) !== 0 && r.frameSize >= r.frameLength ? r.frameSize : r.frameLength;
    decodeFrame(buf, r.frameOffset, r.frameLength, wire, LinkType.ETHERNET, p, cfg);
    const n = recordPackets(r);
    // a packet report's bytes are its frame's (the pod frame's, inside a tunnel)
    if ((h & (Has.BYTES | Has.BYTES_TOTAL)) === 0 || p.tunnelDepth > 0) p.innerLength *= n;
    else p.innerLength = recordBytes(r);
    if (p.vlanCount === 0) applyVlans(r, p);
    return p.status;
  }
  if ((h & Has.IP_HEADER_SECTION) !== 0 && r.ipHeaderLength > 0) {
    decodeRawIp(buf, r.ipHeaderOffset, r.ipHeaderOffset + r.ipHeaderLength, p, p4or6(buf, r.ipHeaderOffset));
  } else {
    p.reset();
    p.layers = Layer.ETHERNET;
    fromFields(r, p);
  }
  applyL2(r, p);
  const bytes = recordBytes(r);
  p.innerLength = bytes > 0 ? bytes : p.ipLength > 0 ? (p.ipLength + 14) * recordPackets(r) : 0;
  return p.status;
}

/** sFlow's header protocol numbers decodeRawIp takes: 11 IPv4, 12 IPv6 (by the version nibble). */
function p4or6(buf: Uint8Array, o: number): number {
  return buf[o] >> 4 === 6 ? 12 : 11;
}

function fromFields(r: NetflowRecord, p: DecodedPacket): void {
  if (r.ipVersion === 4) {
    p.ipVersion = 4;
    p.layers |= Layer.IPV4;
    p.etherType = 0x0800;
    p.src4 = r.src4;
    p.dst4 = r.dst4;
  } else if (r.ipVersion === 6) {
    p.ipVersion = 6;
    p.layers |= Layer.IPV6;
    p.etherType = 0x86dd;
    p.src6.set(r.src6);
    p.dst6.set(r.dst6);
  }
  if (r.protocol >= 0) p.protocol = r.protocol;
  if ((r.has & Has.PORTS) !== 0) {
    p.srcPort = r.srcPort;
    p.dstPort = r.dstPort;
  }
  if (r.protocol === 6) {
    p.layers |= Layer.TCP;
    p.tcpFlags = r.tcpFlags;
  } else if (r.protocol === 17) p.layers |= Layer.UDP;
  p.status = DecodeStatus.OK;
}

/** The record's MACs, VLANs and VNI onto a packet decoded from an IP header or fields. */
function applyL2(r: NetflowRecord, p: DecodedPacket): void {
  const h = r.has;
  if ((h & Has.SRC_MAC) !== 0) p.srcMac = r.srcMac;
  else if ((h & Has.POST_SRC_MAC) !== 0) p.srcMac = r.postSrcMac;
  if ((h & Has.DST_MAC) !== 0) p.dstMac = r.dstMac;
  else if ((h & Has.POST_DST_MAC) !== 0) p.dstMac = r.postDstMac;
  applyVlans(r, p);
  if ((h & Has.VNI) !== 0) {
    p.vni = r.vni;
    p.layers |= Layer.VXLAN;
    p.tunnelDepth = 1;
  }
}

function applyVlans(r: NetflowRecord, p: DecodedPacket): void {
  const h = r.has;
  // VLAN id 0 is no tag: a QinQ-capable template sends customer VLAN 0 for a single-tagged frame
  const outer =
    (h & Has.DOT1Q_VLAN) !== 0 && r.dot1qVlan !== 0 ? r.dot1qVlan : (h & Has.VLAN) !== 0 ? r.vlan : 0;
  const inner =
    (h & Has.DOT1Q_CUSTOMER_VLAN) !== 0 && r.dot1qCustomerVlan !== 0 ? r.dot1qCustomerVlan : outer;
  if (outer === 0 && inner === 0) return;
  if (p.tunnelDepth > 0) {
    // a tunnelled frame's own tags (none here) are the pod's: the record's VLAN is the transport's
    if (p.outerVlan === 0) p.outerVlan = outer !== 0 ? outer : inner;
    return;
  }
  p.layers |= Layer.VLAN;
  if (outer !== 0 && inner !== outer) {
    p.vlans[0] = outer;
    p.vlans[1] = inner;
    p.vlanCount = 2;
  } else {
    p.vlans[0] = inner;
    p.vlanCount = 1;
  }
  p.vlan = inner;
  if (p.outerVlan === 0) p.outerVlan = outer !== 0 ? outer : inner;
}
