/**
 * A NetFlow/IPFIX datagram's stream and number for the reorder stage
 * (collector/udp/reorder.ts), as sequence.ts counts them: per exporter (the sender's
 * address: NetFlow headers do not name it), version and observation domain / source id
 * (v5: engine type and id). v9 numbers export packets (one a datagram); v5 numbers flow
 * records (the header's count); IPFIX numbers data records, known only once the sets are
 * decoded (count -1: the stage asks the intake). Sent time: v5/v9 sysUptime (ms), IPFIX
 * export time (s, as ms).
 */
import { u32 } from '../sflow/xdr.js';
import type { SeqInfo } from '../udp/reorder.js';

export function netflowSequence(
  u8: Uint8Array,
  o: number,
  length: number,
  sender: string,
  out: SeqInfo,
): boolean {
  if (length < 16) return false;
  const version = (u8[o] << 8) | u8[o + 1];
  out.outer = sender;
  if (version === 10) {
    out.inner = u32(u8, o + 12) * 4 + 2;
    out.seq = u32(u8, o + 8);
    out.count = -1;
    out.sentMs = (u32(u8, o + 4) * 1000) % 2 ** 32;
    return true;
  }
  if (version === 9 && length >= 20) {
    out.inner = u32(u8, o + 16) * 4 + 1;
    out.seq = u32(u8, o + 12);
    out.count = 1;
    out.sentMs = u32(u8, o + 4);
    return true;
  }
  if (version === 5 && length >= 24) {
    out.inner = ((u8[o + 20] << 8) | u8[o + 21]) * 4;
    out.seq = u32(u8, o + 16);
    out.count = (u8[o + 2] << 8) | u8[o + 3];
    out.sentMs = u32(u8, o + 4);
    return true;
  }
  return false;
}
