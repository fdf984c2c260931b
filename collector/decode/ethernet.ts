/**
 * Ethernet II with up to MAX_VLAN_TAGS 802.1Q / 802.1ad / 0x9100 tags.
 *
 * Hand-written for measured speed, like every decoder in this folder: direct byte indexing
 * (`buf[o] << 8 | buf[o + 1]`) on the caller's buffer, no DataView, no allocation; results
 * go into the caller's DecodedPacket. Every read is bounds-checked against `end` first.
 *
 * Return convention (shared by all decoders here): the offset of the header that follows
 * (>= 0), or `~status` (< 0) to stop — `~DecodeStatus.OK` when there is nothing further to
 * decode, otherwise the reason. frame.ts turns it back into `out.status`.
 */
import { type DecodedPacket, DecodeStatus, Layer, MAX_VLAN_TAGS } from './packet.js';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPV6: 0x86dd,
  QINQ: 0x88a8,
  QINQ_OLD: 0x9100,
  TEB: 0x6558,
  ERSPAN_II: 0x88be,
  ERSPAN_III: 0x22eb,
} as const;

export const ETHERNET_HEADER_LENGTH = 14;

/** Ethernet header at `o`: MACs, tags, EtherType. Returns the L3 offset or ~status. */
export function decodeEthernet(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 14 > end) return ~DecodeStatus.TRUNCATED;
  out.l2Offset = o;
  // 48-bit MACs as (16-bit high) * 2^32 + (32-bit low): exact in a double
  out.dstMac =
    ((buf[o] << 8) | buf[o + 1]) * 4294967296 +
    (((buf[o + 2] << 24) | (buf[o + 3] << 16) | (buf[o + 4] << 8) | buf[o + 5]) >>> 0);
  out.srcMac =
    ((buf[o + 6] << 8) | buf[o + 7]) * 4294967296 +
    (((buf[o + 8] << 24) | (buf[o + 9] << 16) | (buf[o + 10] << 8) | buf[o + 11]) >>> 0);
  out.layers |= Layer.ETHERNET;
  return decodeVlanTags(buf, o + 14, end, (buf[o + 12] << 8) | buf[o + 13], out);
}

/**
 * VLAN tags starting at `o`, where `etherType` is the type field just read. Fills vlans,
 * vlanTpids, vlanCount, vlan (innermost VID so far) and etherType (the type after the last
 * tag; left 0 when the tags are cut short). Returns the L3 offset or ~status.
 */
export function decodeVlanTags(
  buf: Uint8Array,
  o: number,
  end: number,
  etherType: number,
  out: DecodedPacket,
): number {
  if (etherType !== 0x8100 && etherType !== 0x88a8 && etherType !== 0x9100) {
    out.etherType = etherType;
    return o;
  }
  const vlans = out.vlans;
  const tpids = out.vlanTpids;
  let n = 0;
  let vid = 0;
  let next = o;
  do {
    if (n === MAX_VLAN_TAGS) {
      next = ~DecodeStatus.TOO_MANY_VLAN_TAGS;
      break;
    }
    if (o + 4 > end) {
      next = ~DecodeStatus.TRUNCATED;
      break;
    }
    vid = ((buf[o] & 0x0f) << 8) | buf[o + 1];
    vlans[n] = vid;
    tpids[n] = etherType;
    n++;
    etherType = (buf[o + 2] << 8) | buf[o + 3];
    o += 4;
    next = o;
  } while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100);
  if (n !== 0) {
    out.vlanCount = n;
    out.vlan = vid;
    out.layers |= Layer.VLAN;
  }
  if (next >= 0) out.etherType = etherType;
  return next;
}
