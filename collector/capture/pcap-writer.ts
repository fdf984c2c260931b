/**
 * Writes classic pcap (microsecond or nanosecond resolution, either byte order). Used to
 * ship samples, generate test and benchmark captures, and by the demo mirror.
 */
import { LinkType } from './types.js';

export interface PcapWriterOptions {
  nanosecond?: boolean;
  bigEndian?: boolean;
  snaplen?: number;
  linkType?: number;
}

export interface PcapRecord {
  /** seconds since the epoch */
  tsSec: number;
  /** nanoseconds within the second; written as µs (truncated) in a microsecond file */
  tsNsec: number;
  data: Uint8Array;
  /** wire length; defaults to data.length */
  wireLength?: number;
}

export function pcapFileHeader(opts: PcapWriterOptions = {}): Buffer {
  const h = Buffer.alloc(24);
  const magic = opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4;
  const be = opts.bigEndian === true;
  const u32 = (v: number, o: number) => (be ? h.writeUInt32BE(v, o) : h.writeUInt32LE(v, o));
  const u16 = (v: number, o: number) => (be ? h.writeUInt16BE(v, o) : h.writeUInt16LE(v, o));
  u32(magic, 0);
  u16(2, 4);
  u16(4, 6);
  u32(0, 8);
  u32(0, 12);
  u32(opts.snaplen ?? 262144, 16);
  u32(opts.linkType ?? LinkType.ETHERNET, 20);
  return h;
}

export function pcapRecord(rec: PcapRecord, opts: PcapWriterOptions = {}): Buffer {
  const b = Buffer.alloc(16 + rec.data.length);
  const be = opts.bigEndian === true;
  const u32 = (v: number, o: number) => (be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  u32(rec.tsSec >>> 0, 0);
  u32(opts.nanosecond ? rec.tsNsec : Math.floor(rec.tsNsec / 1000), 4);
  u32(rec.data.length, 8);
  u32(rec.wireLength ?? rec.data.length, 12);
  b.set(rec.data, 16);
  return b;
}

/** A whole pcap file in memory (small captures: tests, samples). */
export function pcapFile(records: readonly PcapRecord[], opts: PcapWriterOptions = {}): Buffer {
  return Buffer.concat([pcapFileHeader(opts), ...records.map((r) => pcapRecord(r, opts))]);
}
