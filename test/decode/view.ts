/**
 * A plain-object view of a DecodedPacket with only its meaningful fields (those whose layer
 * bit is set), addresses as strings: what tests compare and print.
 */
import { ipv4ToString, ipv6ToString, macToString } from '../../collector/decode/addr.js';
import { decodeFrame } from '../../collector/decode/frame.js';
import {
  type DecodeConfig,
  DecodedPacket,
  decodeConfig,
  decodeStatusName,
  Layer,
} from '../../collector/decode/packet.js';

export interface PacketView {
  status: string;
  layers: string[];
  l2Offset?: number;
  innerLength?: number;
  srcMac?: string;
  dstMac?: string;
  vlans?: number[];
  tpids?: number[];
  vlan: number;
  outerVlan: number;
  etherType?: number;
  ipVersion: number;
  src?: string;
  dst?: string;
  protocol?: number;
  ttl?: number;
  ipLength?: number;
  fragOffset?: number;
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  vni?: number;
  tunnelIpVersion?: number;
  tunnelSrc?: string;
  tunnelDst?: string;
  erspanType?: number;
  erspanSession?: number;
  erspanVlan?: number;
  greProtocol?: number;
  tunnelDepth: number;
}

export function layerNames(bits: number): string[] {
  return Object.entries(Layer)
    .filter(([, b]) => (bits & b) !== 0)
    .map(([n]) => n);
}

export function view(p: DecodedPacket): PacketView {
  const v: PacketView = {
    status: decodeStatusName[p.status] ?? `?${p.status}`,
    layers: layerNames(p.layers),
    vlan: p.vlan,
    outerVlan: p.outerVlan,
    ipVersion: p.ipVersion,
    tunnelDepth: p.tunnelDepth,
  };
  const has = (b: number) => (p.layers & b) !== 0;
  if (has(Layer.ETHERNET)) {
    v.l2Offset = p.l2Offset;
    v.innerLength = p.innerLength;
    v.srcMac = macToString(p.srcMac);
    v.dstMac = macToString(p.dstMac);
  }
  if (has(Layer.VLAN)) {
    v.vlans = Array.from(p.vlans.subarray(0, p.vlanCount));
    v.tpids = Array.from(p.vlanTpids.subarray(0, p.vlanCount));
  }
  if (p.etherType !== 0) v.etherType = p.etherType;
  if (has(Layer.IPV4)) {
    v.src = ipv4ToString(p.src4);
    v.dst = ipv4ToString(p.dst4);
  } else if (has(Layer.IPV6)) {
    v.src = ipv6ToString(p.src6);
    v.dst = ipv6ToString(p.dst6);
  }
  if (has(Layer.IPV4) || has(Layer.IPV6)) {
    v.protocol = p.protocol;
    v.ttl = p.ttl;
    v.ipLength = p.ipLength;
  }
  if (has(Layer.FRAGMENT)) v.fragOffset = p.fragOffset;
  if (has(Layer.TCP) || has(Layer.UDP)) {
    v.srcPort = p.srcPort;
    v.dstPort = p.dstPort;
  }
  if (has(Layer.TCP)) v.tcpFlags = p.tcpFlags;
  if (has(Layer.ICMP) || has(Layer.ICMPV6)) {
    v.icmpType = p.icmpType;
    v.icmpCode = p.icmpCode;
  }
  if (has(Layer.VXLAN)) {
    v.vni = p.vni;
    v.tunnelIpVersion = p.tunnelIpVersion;
    v.tunnelSrc = p.tunnelIpVersion === 4 ? ipv4ToString(p.tunnelSrc4) : ipv6ToString(p.tunnelSrc6);
    v.tunnelDst = p.tunnelIpVersion === 4 ? ipv4ToString(p.tunnelDst4) : ipv6ToString(p.tunnelDst6);
  }
  if (has(Layer.ERSPAN)) {
    v.erspanType = p.erspanType;
    v.erspanSession = p.erspanSession;
    v.erspanVlan = p.erspanVlan;
  }
  if (has(Layer.GRE)) v.greProtocol = p.greProtocol;
  return v;
}

const defaultConfig = decodeConfig();

export interface DecodeOptions {
  linkType?: number;
  /** captured bytes (default: all) */
  cap?: number;
  /** wire length (default: the frame's length) */
  wire?: number;
  cfg?: DecodeConfig;
  /** reuse this record (default: a fresh one) */
  into?: DecodedPacket;
}

/** Decodes a whole frame (or its first `cap` bytes) into a fresh DecodedPacket. */
export function decode(frame: Uint8Array, o: DecodeOptions = {}): DecodedPacket {
  const p = o.into ?? new DecodedPacket();
  decodeFrame(
    frame,
    0,
    o.cap ?? frame.length,
    o.wire ?? frame.length,
    o.linkType ?? 1,
    p,
    o.cfg ?? defaultConfig,
  );
  return p;
}

/** decode() then view(). */
export function decodeView(frame: Uint8Array, o: DecodeOptions = {}): PacketView {
  return view(decode(frame, o));
}
