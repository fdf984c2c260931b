/**
 * Builds synthetic frames byte by byte: tests, the benchmark generator and the demo mirror
 * all use it. Each builder returns a Buffer holding its header followed by its payload, so
 * they compose inside out:
 *
 *   ethernet({ src: '02:00:00:00:01:01', dst: '02:00:00:00:01:02', vlans: [{ vid: 100 }],
 *     payload: ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6,
 *       payload: tcp({ sport: 40000, dport: 80, flags: TcpFlags.SYN }) }) })
 *
 * Lengths and checksums are filled in (IPv4 header, ICMP, and the TCP/UDP/ICMPv6
 * pseudo-header checksums of unfragmented packets) so that tshark reports nothing. The
 * `*Override` style fields (`ihl`, `totalLength`, `dataOffset`, `version`, `length`...)
 * exist to build malformed frames on purpose. Not for the hot path: it allocates freely.
 */
import { parseIpv4, parseIpv6, parseMac } from '../decode/addr.js';

export type MacLike = string | number;
export type Ipv4Like = string | number;
export type Ipv6Like = string | Uint8Array;

export const TcpFlags = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;
export const IpProtocol = {
  HOPOPT: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
} as const;

const EMPTY = Buffer.alloc(0);

function mac(m: MacLike): number {
  return typeof m === 'number' ? m : parseMac(m);
}
function ip4(a: Ipv4Like): number {
  return typeof a === 'number' ? a >>> 0 : parseIpv4(a);
}
function ip6(a: Ipv6Like): Uint8Array {
  if (typeof a !== 'string') {
    if (a.length !== 16) throw new RangeError(`IPv6 address must be 16 bytes, got ${a.length}`);
    return a;
  }
  return parseIpv6(a);
}
function writeMac(b: Buffer, o: number, m: number): void {
  b.writeUInt16BE(Math.floor(m / 4294967296), o);
  b.writeUInt32BE(m >>> 0, o + 2);
}

/** Internet checksum (RFC 1071) of the given byte ranges, as if concatenated. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = false;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      sum += odd ? p[i] : p[i] << 8;
      odd = !odd;
    }
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------- L2

export interface VlanTag {
  vid: number;
  /** 0x8100 (default), 0x88a8 or 0x9100 */
  tpid?: number;
  pcp?: number;
  dei?: boolean;
}

export interface EthernetOptions {
  src: MacLike;
  dst: MacLike;
  /** outermost first */
  vlans?: readonly VlanTag[];
  /** defaults from the payload's first nibble: 4 → IPv4, 6 → IPv6 */
  etherType?: number;
  payload: Uint8Array;
  /** pad the frame with zeros to this length (60 is what a NIC puts on the wire) */
  padTo?: number;
}

function inferEtherType(payload: Uint8Array): number {
  const v = payload.length > 0 ? payload[0] >> 4 : -1;
  if (v === 4) return 0x0800;
  if (v === 6) return 0x86dd;
  throw new Error('ethernet(): etherType not given and the payload is neither IPv4 nor IPv6');
}

function tagBytes(vlans: readonly VlanTag[] | undefined, etherType: number): Buffer {
  const tags = vlans ?? [];
  const b = Buffer.alloc(tags.length * 4 + 2);
  let o = 0;
  for (const t of tags) {
    if (!Number.isInteger(t.vid) || t.vid < 0 || t.vid > 4095)
      throw new RangeError(`VLAN ID ${t.vid} is not 0..4095`);
    b.writeUInt16BE(t.tpid ?? 0x8100, o);
    b.writeUInt16BE((((t.pcp ?? 0) & 7) << 13) | (t.dei ? 0x1000 : 0) | t.vid, o + 2);
    o += 4;
  }
  b.writeUInt16BE(etherType, o);
  return b;
}

/** Ethernet II frame (no FCS), with optional 802.1Q/802.1ad/0x9100 tags. */
export function ethernet(o: EthernetOptions): Buffer {
  const et = o.etherType ?? inferEtherType(o.payload);
  const tags = tagBytes(o.vlans, et);
  const h = Buffer.alloc(12);
  writeMac(h, 0, mac(o.dst));
  writeMac(h, 6, mac(o.src));
  const f = Buffer.concat([h, tags, o.payload]);
  if (o.padTo !== undefined && f.length < o.padTo)
    return Buffer.concat([f, Buffer.alloc(o.padTo - f.length)]);
  return f;
}

export interface SllOptions {
  /** sender's MAC (6-byte link-layer address) */
  address: MacLike;
  /** 0 to us, 1 broadcast, 2 multicast, 3 other host, 4 outgoing */
  packetType?: number;
  /** ARPHRD type, 1 (Ethernet) by default */
  hatype?: number;
  /** defaults like ethernet() */
  protocol?: number;
  /** VLAN tags re-inserted after the cooked header, outermost first */
  vlans?: readonly VlanTag[];
  payload: Uint8Array;
}

/** Linux cooked capture v1 header (link type 113) + payload. */
export function sll(o: SllOptions): Buffer {
  const proto = o.protocol ?? inferEtherType(o.payload);
  const h = Buffer.alloc(14);
  h.writeUInt16BE(o.packetType ?? 0, 0);
  h.writeUInt16BE(o.hatype ?? 1, 2);
  h.writeUInt16BE(6, 4);
  writeMac(h, 6, mac(o.address));
  return Buffer.concat([h, tagBytes(o.vlans, proto), o.payload]);
}

export interface Sll2Options extends SllOptions {
  ifindex?: number;
}

/** Linux cooked capture v2 header (link type 276) + payload. */
export function sll2(o: Sll2Options): Buffer {
  const proto = o.protocol ?? inferEtherType(o.payload);
  const tags = tagBytes(o.vlans, proto);
  const h = Buffer.alloc(20);
  // SLL2 puts the protocol first: the first tag's TPID (or the protocol) goes there
  h.writeUInt16BE(tags.readUInt16BE(0), 0);
  h.writeUInt32BE(o.ifindex ?? 1, 4);
  h.writeUInt16BE(o.hatype ?? 1, 8);
  h.writeUInt8(o.packetType ?? 0, 10);
  h.writeUInt8(6, 11);
  writeMac(h, 12, mac(o.address));
  return Buffer.concat([h, tags.subarray(2), o.payload]);
}

// ---------------------------------------------------------------- L3

export interface Ipv4Options {
  src: Ipv4Like;
  dst: Ipv4Like;
  proto: number;
  payload?: Uint8Array;
  ttl?: number;
  id?: number;
  tos?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** fragment offset in bytes (a multiple of 8) */
  fragOffset?: number;
  /** raw option bytes, padded with zeros (end of options) to a multiple of 4 */
  options?: Uint8Array;
  /** fill the TCP/UDP checksum of an unfragmented packet (default true) */
  l4Checksum?: boolean;
  /** overrides for malformed frames */
  version?: number;
  ihl?: number;
  totalLength?: number;
}

function pad4(b: Uint8Array): Buffer {
  const n = (4 - (b.length % 4)) % 4;
  return Buffer.concat([b, Buffer.alloc(n)]);
}

/** Writes the pseudo-header checksum of a TCP/UDP/ICMPv6 segment in place (a copy). */
function withL4Checksum(proto: number, payload: Uint8Array, pseudo: Buffer): Uint8Array {
  const at = proto === 6 ? 16 : proto === 17 ? 6 : proto === 58 ? 2 : -1;
  if (at < 0 || payload.length < at + 2) return payload;
  const seg = Buffer.from(payload);
  seg.writeUInt16BE(0, at);
  let c = internetChecksum(pseudo, seg);
  if (proto === 17 && c === 0) c = 0xffff;
  seg.writeUInt16BE(c, at);
  return seg;
}

/** IPv4 header (with header checksum) + payload. */
export function ipv4(o: Ipv4Options): Buffer {
  let payload = o.payload ?? EMPTY;
  const opts = o.options ? pad4(o.options) : EMPTY;
  const hl = 20 + opts.length;
  if (hl > 60) throw new RangeError(`IPv4 options too long (${opts.length} bytes, max 40)`);
  const fragOffset = o.fragOffset ?? 0;
  if (fragOffset % 8 !== 0 || fragOffset < 0 || fragOffset > 0xffff) {
    throw new RangeError(`IPv4 fragment offset ${fragOffset} is not a multiple of 8 in 0..65528`);
  }
  const src = ip4(o.src);
  const dst = ip4(o.dst);
  if (o.l4Checksum !== false && fragOffset === 0 && !o.moreFragments) {
    const pseudo = Buffer.alloc(12);
    pseudo.writeUInt32BE(src, 0);
    pseudo.writeUInt32BE(dst, 4);
    pseudo.writeUInt8(o.proto, 9);
    pseudo.writeUInt16BE(payload.length, 10);
    if (o.proto === 6 || o.proto === 17) payload = withL4Checksum(o.proto, payload, pseudo);
  }
  const h = Buffer.alloc(20);
  h.writeUInt8((((o.version ?? 4) & 0xf) << 4) | ((o.ihl ?? hl / 4) & 0xf), 0);
  h.writeUInt8(o.tos ?? 0, 1);
  h.writeUInt16BE(o.totalLength ?? hl + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0, 4);
  h.writeUInt16BE((o.dontFragment ? 0x4000 : 0) | (o.moreFragments ? 0x2000 : 0) | (fragOffset >> 3), 6);
  h.writeUInt8(o.ttl ?? 64, 8);
  h.writeUInt8(o.proto, 9);
  h.writeUInt32BE(src, 12);
  h.writeUInt32BE(dst, 16);
  const header = Buffer.concat([h, opts]);
  header.writeUInt16BE(internetChecksum(header), 10);
  return Buffer.concat([header, payload]);
}

export type Ipv6Extension =
  | { type: 'hop-by-hop' | 'destination'; options?: Uint8Array }
  | { type: 'routing'; routingType?: number; segmentsLeft?: number; data?: Uint8Array }
  | { type: 'fragment'; offset?: number; more?: boolean; id?: number }
  | { type: 'ah'; spi?: number; seq?: number; icv?: Uint8Array }
  /** any bytes as an extension header of protocol number `nh` (first byte overwritten) */
  | { type: 'raw'; nh: number; bytes: Uint8Array };

export interface Ipv6Options {
  src: Ipv6Like;
  dst: Ipv6Like;
  /** the upper-layer protocol (after the extension headers) */
  nextHeader: number;
  payload?: Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  extensions?: readonly Ipv6Extension[];
  /** fill the TCP/UDP/ICMPv6 checksum of an unfragmented packet (default true) */
  l4Checksum?: boolean;
  /** overrides for malformed frames */
  version?: number;
  payloadLength?: number;
}

const EXT_NUMBER = { 'hop-by-hop': 0, routing: 43, fragment: 44, ah: 51, destination: 60 } as const;

/** Pads TLV options with Pad1/PadN so that 2 + length is a multiple of 8 (at least 8). */
function padOptions(opts: Uint8Array): Buffer {
  const n = (8 - ((2 + opts.length) % 8)) % 8;
  const pad =
    n === 0
      ? EMPTY
      : n === 1
        ? Buffer.from([0])
        : Buffer.concat([Buffer.from([1, n - 2]), Buffer.alloc(n - 2)]);
  return Buffer.concat([opts, pad]);
}

function extensionBytes(e: Ipv6Extension, next: number): Buffer {
  switch (e.type) {
    case 'hop-by-hop':
    case 'destination': {
      const body = padOptions(e.options ?? EMPTY);
      const b = Buffer.concat([Buffer.from([next, (body.length + 2) / 8 - 1]), body]);
      return b;
    }
    case 'routing': {
      const data = e.data ?? Buffer.alloc(4);
      const body = Buffer.concat([data, Buffer.alloc((8 - ((4 + data.length) % 8)) % 8)]);
      const b = Buffer.concat([
        Buffer.from([next, (body.length + 4) / 8 - 1, e.routingType ?? 253, e.segmentsLeft ?? 0]),
        body,
      ]);
      return b;
    }
    case 'fragment': {
      const b = Buffer.alloc(8);
      b.writeUInt8(next, 0);
      b.writeUInt16BE(((e.offset ?? 0) & 0xfff8) | (e.more ? 1 : 0), 2);
      b.writeUInt32BE(e.id ?? 0, 4);
      return b;
    }
    case 'ah': {
      const icv = e.icv ?? Buffer.alloc(12);
      const len = 12 + icv.length;
      if (len % 8 !== 0) throw new RangeError('IPv6 AH length must be a multiple of 8 bytes');
      const b = Buffer.alloc(12);
      b.writeUInt8(next, 0);
      b.writeUInt8(len / 4 - 2, 1);
      b.writeUInt32BE(e.spi ?? 0x100, 4);
      b.writeUInt32BE(e.seq ?? 1, 8);
      return Buffer.concat([b, icv]);
    }
    case 'raw': {
      const b = Buffer.from(e.bytes);
      b[0] = next;
      return b;
    }
  }
}

function extensionNumber(e: Ipv6Extension): number {
  return e.type === 'raw' ? e.nh : EXT_NUMBER[e.type];
}

/** IPv6 header + extension headers (in the given order) + payload. */
export function ipv6(o: Ipv6Options): Buffer {
  let payload = o.payload ?? EMPTY;
  const exts = o.extensions ?? [];
  const src = ip6(o.src);
  const dst = ip6(o.dst);
  const fragmented = exts.some((e) => e.type === 'fragment' && ((e.offset ?? 0) !== 0 || e.more));
  if (o.l4Checksum !== false && !fragmented) {
    const pseudo = Buffer.alloc(40);
    pseudo.set(src, 0);
    pseudo.set(dst, 16);
    pseudo.writeUInt32BE(payload.length, 32);
    pseudo.writeUInt8(o.nextHeader, 39);
    payload = withL4Checksum(o.nextHeader, payload, pseudo);
  }
  const parts: Buffer[] = [];
  for (let i = 0; i < exts.length; i++) {
    const next = i + 1 < exts.length ? extensionNumber(exts[i + 1]) : o.nextHeader;
    parts.push(extensionBytes(exts[i], next));
  }
  const body = Buffer.concat([...parts, payload]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(
    ((((o.version ?? 6) & 0xf) << 28) |
      (((o.trafficClass ?? 0) & 0xff) << 20) |
      ((o.flowLabel ?? 0) & 0xfffff)) >>>
      0,
    0,
  );
  h.writeUInt16BE(o.payloadLength ?? body.length, 4);
  h.writeUInt8(exts.length > 0 ? extensionNumber(exts[0]) : o.nextHeader, 6);
  h.writeUInt8(o.hopLimit ?? 64, 7);
  h.set(src, 8);
  h.set(dst, 24);
  return Buffer.concat([h, body]);
}

// ---------------------------------------------------------------- L4

export interface TcpOptions {
  sport: number;
  dport: number;
  /** TcpFlags bits; ACK by default */
  flags?: number;
  seq?: number;
  ack?: number;
  window?: number;
  /** raw option bytes, padded with zeros to a multiple of 4 */
  options?: Uint8Array;
  payload?: Uint8Array;
  /** override of the data offset (in 32-bit words) for malformed frames */
  dataOffset?: number;
}

/** TCP header + payload; the checksum is filled by ipv4()/ipv6(). */
export function tcp(o: TcpOptions): Buffer {
  const opts = o.options ? pad4(o.options) : EMPTY;
  if (opts.length > 40) throw new RangeError(`TCP options too long (${opts.length} bytes, max 40)`);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE((o.seq ?? 1) >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  h.writeUInt8(((o.dataOffset ?? 5 + opts.length / 4) & 0xf) << 4, 12);
  h.writeUInt8((o.flags ?? TcpFlags.ACK) & 0xff, 13);
  h.writeUInt16BE(o.window ?? 65535, 14);
  return Buffer.concat([h, opts, o.payload ?? EMPTY]);
}

export interface UdpOptions {
  sport: number;
  dport: number;
  payload?: Uint8Array;
  /** override of the length field for malformed frames */
  length?: number;
}

/** UDP header + payload; the checksum is filled by ipv4()/ipv6(). */
export function udp(o: UdpOptions): Buffer {
  const payload = o.payload ?? EMPTY;
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt16BE(o.length ?? 8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export interface IcmpOptions {
  type: number;
  code?: number;
  /** the 4 bytes after the checksum (echo: id << 16 | seq) */
  rest?: number;
  payload?: Uint8Array;
}

/** ICMP (IPv4) message with its checksum. */
export function icmp(o: IcmpOptions): Buffer {
  const b = Buffer.concat([Buffer.alloc(8), o.payload ?? EMPTY]);
  b.writeUInt8(o.type, 0);
  b.writeUInt8(o.code ?? 0, 1);
  b.writeUInt32BE((o.rest ?? 0) >>> 0, 4);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** ICMPv6 message; its pseudo-header checksum is filled by ipv6(). */
export function icmpv6(o: IcmpOptions): Buffer {
  const b = Buffer.concat([Buffer.alloc(8), o.payload ?? EMPTY]);
  b.writeUInt8(o.type, 0);
  b.writeUInt8(o.code ?? 0, 1);
  b.writeUInt32BE((o.rest ?? 0) >>> 0, 4);
  return b;
}

// ---------------------------------------------------------------- tunnels

export interface VxlanOptions {
  vni: number;
  /** the inner Ethernet frame */
  frame: Uint8Array;
  /** flags byte, 0x08 (I) by default */
  flags?: number;
}

/** VXLAN header + inner frame: the payload of a UDP datagram to port 4789. */
export function vxlan(o: VxlanOptions): Buffer {
  if (!Number.isInteger(o.vni) || o.vni < 0 || o.vni > 0xffffff)
    throw new RangeError(`VNI ${o.vni} is not 24-bit`);
  const h = Buffer.alloc(8);
  h.writeUInt8(o.flags ?? 0x08, 0);
  h.writeUInt32BE((o.vni << 8) >>> 0, 4);
  return Buffer.concat([h, o.frame]);
}

export interface GreOptions {
  /** EtherType of the payload: 0x6558 TEB, 0x88be ERSPAN II, 0x22eb ERSPAN III, ... */
  protocol: number;
  payload: Uint8Array;
  /** add the checksum field (C bit) and fill it */
  checksum?: boolean;
  key?: number;
  seq?: number;
  /** overrides for malformed frames */
  version?: number;
  /** raw bits OR-ed into the flags/version word (e.g. 0x4000 routing) */
  extraFlags?: number;
}

/** GRE header (RFC 2784/2890) + payload: the payload of IP protocol 47. */
export function gre(o: GreOptions): Buffer {
  const c = o.checksum === true;
  const k = o.key !== undefined;
  const s = o.seq !== undefined;
  const h = Buffer.alloc(4 + (c ? 4 : 0) + (k ? 4 : 0) + (s ? 4 : 0));
  h.writeUInt16BE(
    (c ? 0x8000 : 0) | (k ? 0x2000 : 0) | (s ? 0x1000 : 0) | (o.extraFlags ?? 0) | ((o.version ?? 0) & 7),
    0,
  );
  h.writeUInt16BE(o.protocol, 2);
  let at = c ? 8 : 4;
  if (k) {
    h.writeUInt32BE(o.key! >>> 0, at);
    at += 4;
  }
  if (s) h.writeUInt32BE(o.seq! >>> 0, at);
  const b = Buffer.concat([h, o.payload]);
  if (c) b.writeUInt16BE(internetChecksum(b), 4);
  return b;
}

export interface ErspanIIOptions {
  /** 10-bit session ID */
  session: number;
  /** the mirrored Ethernet frame */
  frame: Uint8Array;
  /** GRE sequence number */
  seq: number;
  /** original VLAN field of the header */
  vlan?: number;
  cos?: number;
  /** En: 0 untagged, 1 ISL, 2 802.1Q (tag kept in frame), 3 VLAN preserved */
  encap?: number;
  truncated?: boolean;
  index?: number;
  /** override of the ERSPAN version (1 for type II) */
  version?: number;
}

function checkSession(s: number): void {
  if (!Number.isInteger(s) || s < 0 || s > 1023) throw new RangeError(`ERSPAN session ${s} is not 0..1023`);
}

/** GRE (S bit, protocol 0x88be) + ERSPAN type II header + mirrored frame. */
export function erspanII(o: ErspanIIOptions): Buffer {
  checkSession(o.session);
  const h = Buffer.alloc(8);
  h.writeUInt16BE((((o.version ?? 1) & 0xf) << 12) | ((o.vlan ?? 0) & 0xfff), 0);
  h.writeUInt16BE(
    (((o.cos ?? 0) & 7) << 13) | (((o.encap ?? 0) & 3) << 11) | (o.truncated ? 0x400 : 0) | o.session,
    2,
  );
  h.writeUInt32BE((o.index ?? 0) & 0xfffff, 4);
  return gre({ protocol: 0x88be, seq: o.seq, payload: Buffer.concat([h, o.frame]) });
}

export interface ErspanIIIOptions {
  session: number;
  frame: Uint8Array;
  /** GRE sequence number (type III is normally sent with one) */
  seq?: number;
  vlan?: number;
  cos?: number;
  /** BSO: bad/short/oversized */
  bso?: number;
  truncated?: boolean;
  timestamp?: number;
  sgt?: number;
  hwId?: number;
  /** timestamp granularity (2 bits) */
  granularity?: number;
  direction?: 'ingress' | 'egress';
  /** the 8-byte platform-specific subheader; its presence sets the O bit */
  platform?: Uint8Array;
  /** override of the frame type (0 Ethernet, 2 IP) */
  frameType?: number;
  /** override of the ERSPAN version (2 for type III) */
  version?: number;
}

/** GRE (protocol 0x22eb) + ERSPAN type III header (+ platform subheader) + mirrored frame. */
export function erspanIII(o: ErspanIIIOptions): Buffer {
  checkSession(o.session);
  const h = Buffer.alloc(12);
  h.writeUInt16BE((((o.version ?? 2) & 0xf) << 12) | ((o.vlan ?? 0) & 0xfff), 0);
  h.writeUInt16BE(
    (((o.cos ?? 0) & 7) << 13) | (((o.bso ?? 0) & 3) << 11) | (o.truncated ? 0x400 : 0) | o.session,
    2,
  );
  h.writeUInt32BE((o.timestamp ?? 0) >>> 0, 4);
  h.writeUInt16BE((o.sgt ?? 0) & 0xffff, 8);
  const platform = o.platform;
  if (platform && platform.length !== 8)
    throw new RangeError('ERSPAN III platform subheader must be 8 bytes');
  h.writeUInt16BE(
    (((o.frameType ?? 0) & 0x1f) << 10) |
      (((o.hwId ?? 0) & 0x3f) << 4) |
      (o.direction === 'egress' ? 8 : 0) |
      (((o.granularity ?? 0) & 3) << 1) |
      (platform ? 1 : 0),
    10,
  );
  return gre({
    protocol: 0x22eb,
    seq: o.seq,
    payload: Buffer.concat([h, platform ?? EMPTY, o.frame]),
  });
}
