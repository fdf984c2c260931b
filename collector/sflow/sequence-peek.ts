/**
 * An sFlow datagram's stream and number for the reorder stage (collector/udp/reorder.ts):
 * the agent address and sub-agent of its header (what loss.ts counts datagram loss by),
 * its datagram sequence number (one a datagram) and the agent's uptime when sent.
 */

import type { SeqInfo } from '../udp/reorder.js';
import { u32 } from './xdr.js';

export function sflowSequence(
  u8: Uint8Array,
  o: number,
  length: number,
  _sender: string,
  out: SeqInfo,
): boolean {
  if (length < 28 || u32(u8, o) !== 5) return false;
  const type = u32(u8, o + 4);
  const alen = type === 1 ? 4 : type === 2 ? 16 : -1;
  if (alen < 0 || length < 8 + alen + 16) return false;
  const a = o + 8;
  if (alen === 4) {
    out.outer = u32(u8, a);
  } else {
    // IPv6 agents (few): their address as text of the four words
    out.outer = `${u32(u8, a).toString(16)}:${u32(u8, a + 4).toString(16)}:${u32(u8, a + 8).toString(16)}:${u32(u8, a + 12).toString(16)}`;
  }
  const h = a + alen;
  out.inner = u32(u8, h);
  out.seq = u32(u8, h + 4);
  out.sentMs = u32(u8, h + 8);
  out.count = 1;
  return true;
}
