/**
 * The one decoded-record structure of the packet path. The hot path allocates nothing per
 * packet: a caller creates one DecodedPacket and `decodeFrame` overwrites it for every frame.
 *
 * Addresses are numbers where they fit: a MAC is a 48-bit integer (exact in a double), an
 * IPv4 address an unsigned 32-bit integer. IPv6 addresses are copied into fixed 16-byte
 * arrays owned by the record. Fields of a layer are only meaningful when its bit is set in
 * `layers`; `reset()` restores every field to its "absent" value.
 */

/** Bits of DecodedPacket.layers: which layers of the pod's (innermost) frame were decoded. */
export const Layer = {
  ETHERNET: 1 << 0,
  VLAN: 1 << 1,
  IPV4: 1 << 2,
  IPV6: 1 << 3,
  TCP: 1 << 4,
  UDP: 1 << 5,
  ICMP: 1 << 6,
  ICMPV6: 1 << 7,
  /** the pod frame was carried inside a VXLAN tunnel (vni is set) */
  VXLAN: 1 << 8,
  /** the frame was carried in GRE (transparent Ethernet bridging or ERSPAN) */
  GRE: 1 << 9,
  /** the frame was an ERSPAN mirror copy (erspanSession is set) */
  ERSPAN: 1 << 10,
  /** the pod's IP packet is a fragment (fragOffset > 0 means no L4 header in it) */
  FRAGMENT: 1 << 11,
} as const;

/**
 * Why a frame could not be decoded completely. OK means every header present was decoded.
 * TRUNCATED means the capture ended inside a header (short snaplen, sFlow header sample):
 * the layers before it are valid. The others mean a header is malformed.
 */
export const DecodeStatus = {
  OK: 0,
  TRUNCATED: 1,
  BAD_IP_VERSION: 2,
  BAD_IP_HEADER_LENGTH: 3,
  BAD_IPV6_EXTENSION: 4,
  BAD_TCP_HEADER_LENGTH: 5,
  TOO_MANY_VLAN_TAGS: 6,
  TOO_DEEP: 7,
  BAD_GRE: 8,
  BAD_ERSPAN: 9,
  BAD_VXLAN: 10,
  UNSUPPORTED_LINK_TYPE: 11,
} as const;
export type DecodeStatusCode = (typeof DecodeStatus)[keyof typeof DecodeStatus];

/** Names for DecodeStatus codes, used in metrics labels and error messages. */
export const decodeStatusName: readonly string[] = [
  'ok',
  'truncated',
  'bad_ip_version',
  'bad_ip_header_length',
  'bad_ipv6_extension',
  'bad_tcp_header_length',
  'too_many_vlan_tags',
  'too_deep',
  'bad_gre',
  'bad_erspan',
  'bad_vxlan',
  'unsupported_link_type',
];

export const MAX_VLAN_TAGS = 4;
/** Tunnels (VXLAN, GRE/ERSPAN) one frame may nest before it is rejected as TOO_DEEP. */
export const MAX_TUNNEL_DEPTH = 4;

export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, GRE: 47, ICMPV6: 58 } as const;

export class DecodedPacket {
  status: number = DecodeStatus.OK;
  layers = 0;

  // ---- the pod's own (innermost) Ethernet frame ----
  /** byte offset of the innermost Ethernet header in the captured buffer */
  l2Offset = 0;
  /** wire bytes of the innermost frame: original frame length minus encapsulation */
  innerLength = 0;
  dstMac = 0;
  srcMac = 0;
  /** VLAN IDs of the innermost frame's tags, outermost first; vlanCount of them are valid */
  readonly vlans = new Int32Array(MAX_VLAN_TAGS);
  /** TPIDs (0x8100, 0x88a8, 0x9100) matching `vlans` */
  readonly vlanTpids = new Int32Array(MAX_VLAN_TAGS);
  vlanCount = 0;
  /** innermost tag's VLAN ID; 0 when untagged (the tenant context of untagged traffic) */
  vlan = 0;
  /** EtherType after the tags */
  etherType = 0;

  // ---- the pod's IP packet ----
  /** 0 (none), 4 or 6 */
  ipVersion = 0;
  src4 = 0;
  dst4 = 0;
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);
  /** final upper-layer protocol (after IPv6 extension headers); -1 when no IP */
  protocol = -1;
  ttl = 0;
  /** IPv4 total length / IPv6 payload length + 40, as the header states */
  ipLength = 0;
  /** fragment offset in bytes (0 for a first fragment or an unfragmented packet) */
  fragOffset = 0;

  // ---- L4 ----
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128) */
  tcpFlags = 0;
  icmpType = -1;
  icmpCode = -1;

  // ---- tunnels (outer layers) ----
  /** VXLAN Network Identifier of the innermost VXLAN, -1 when none */
  vni = -1;
  /** outer IP version of the innermost VXLAN tunnel (the VTEPs), 0 when none */
  tunnelIpVersion = 0;
  tunnelSrc4 = 0;
  tunnelDst4 = 0;
  readonly tunnelSrc6 = new Uint8Array(16);
  readonly tunnelDst6 = new Uint8Array(16);
  /** outermost frame's innermost VLAN (the transport VLAN of a tunnel), 0 when untagged */
  outerVlan = 0;
  /** ERSPAN session ID, -1 when the frame was not an ERSPAN copy (0 for type I, which carries none) */
  erspanSession = -1;
  /** ERSPAN type: 1 (type I: GRE without sequence number, no ERSPAN header), 2 (type II) or 3 (type III); 0 when none */
  erspanType = 0;
  /**
   * VLAN field of the innermost ERSPAN type II/III header (the mirrored frame's original
   * VLAN: switches that strip the tag before mirroring put it here), -1 when none
   */
  erspanVlan = -1;
  /** GRE protocol type of the outermost GRE header, 0 when none */
  greProtocol = 0;
  /** number of tunnels (VXLAN, GRE) crossed to reach the innermost frame */
  tunnelDepth = 0;

  reset(): void {
    this.status = DecodeStatus.OK;
    this.layers = 0;
    this.resetFrame();
    this.vni = -1;
    this.tunnelIpVersion = 0;
    this.tunnelSrc4 = 0;
    this.tunnelDst4 = 0;
    this.outerVlan = 0;
    this.erspanSession = -1;
    this.erspanType = 0;
    this.erspanVlan = -1;
    this.greProtocol = 0;
    this.tunnelDepth = 0;
  }

  /**
   * Restores the pod-frame fields (L2, IP, L4 and their layer bits) and keeps the tunnel
   * fields: the decoder calls it when it enters a tunnel, so that the fields describe the
   * inner frame only. Keep it in step with the field list above.
   */
  resetFrame(): void {
    this.layers &= Layer.VXLAN | Layer.GRE | Layer.ERSPAN;
    this.l2Offset = 0;
    this.innerLength = 0;
    this.dstMac = 0;
    this.srcMac = 0;
    this.vlanCount = 0;
    this.vlan = 0;
    this.etherType = 0;
    this.ipVersion = 0;
    this.src4 = 0;
    this.dst4 = 0;
    this.protocol = -1;
    this.ttl = 0;
    this.ipLength = 0;
    this.fragOffset = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
  }
}

/** Decoder settings. Build once with `decodeConfig()`; lookups are by index, not Set.has. */
export interface DecodeConfig {
  /** vxlanPorts[p] === 1 when UDP destination port p carries VXLAN (4789 always) */
  readonly vxlanPorts: Uint8Array;
}

export function decodeConfig(extraVxlanPorts: readonly number[] = []): DecodeConfig {
  const vxlanPorts = new Uint8Array(65536);
  vxlanPorts[4789] = 1;
  for (const p of extraVxlanPorts) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`VXLAN port ${p} is not 1..65535`);
    vxlanPorts[p] = 1;
  }
  return { vxlanPorts };
}
