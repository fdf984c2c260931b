/**
 * Writes pcapng blocks (SHB, IDB with options, EPB, SPB, any other block), either byte
 * order. Used to generate test and sample captures; not a hot path (timestamps use BigInt).
 */
import { LinkType } from './types.js';

export interface PcapngWriterOptions {
  bigEndian?: boolean;
}

/** A block option: code and raw value (padded to 4 bytes on write). */
export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

export interface PcapngInterface {
  linkType?: number;
  /** 0 = no limit */
  snaplen?: number;
  /**
   * if_tsresol byte: n (bit 7 clear) = 10^-n s units, 0x80 | n = 2^-n s units. Omitted: no
   * option written, which means 10^-6.
   */
  tsresol?: number;
  /** if_tsoffset in seconds (written when set) */
  tsoffset?: number;
  /** if_name (written when set) */
  name?: string;
  /** further options, written as given */
  options?: PcapngOption[];
}

export interface PcapngPacket {
  interfaceId?: number;
  /** seconds since the epoch (before if_tsoffset is subtracted) */
  tsSec: number;
  /** nanoseconds within the second; stored rounded down to the interface's resolution */
  tsNsec: number;
  data: Uint8Array;
  /** wire length; defaults to data.length */
  wireLength?: number;
  options?: PcapngOption[];
}

const SHB = 0x0a0d0d0a;
const IDB = 1;
const SPB = 3;
const EPB = 6;

const pad4 = (n: number) => (n + 3) & ~3;

class Out {
  constructor(
    readonly buf: Buffer,
    readonly be: boolean,
  ) {}
  u16(v: number, o: number) {
    if (this.be) this.buf.writeUInt16BE(v, o);
    else this.buf.writeUInt16LE(v, o);
  }
  u32(v: number, o: number) {
    if (this.be) this.buf.writeUInt32BE(v >>> 0, o);
    else this.buf.writeUInt32LE(v >>> 0, o);
  }
  u64(v: bigint, o: number) {
    if (this.be) this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), o);
    else this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), o);
  }
}

function optionsLength(options: readonly PcapngOption[]): number {
  if (options.length === 0) return 0;
  return options.reduce((n, o) => n + 4 + pad4(o.value.length), 0) + 4; // + opt_endofopt
}

function writeOptions(out: Out, o: number, options: readonly PcapngOption[]): number {
  if (options.length === 0) return o;
  for (const opt of options) {
    out.u16(opt.code, o);
    out.u16(opt.value.length, o + 2);
    out.buf.set(opt.value, o + 4);
    o += 4 + pad4(opt.value.length);
  }
  out.u32(0, o); // opt_endofopt
  return o + 4;
}

/**
 * Any block: type, total length, `body` (padded to 4 bytes), total length. Body bytes are
 * written as given (the caller encodes them in the chosen byte order).
 */
export function pcapngBlock(type: number, body: Uint8Array, opts: PcapngWriterOptions = {}): Buffer {
  const total = 12 + pad4(body.length);
  const out = new Out(Buffer.alloc(total), opts.bigEndian === true);
  out.u32(type, 0);
  out.u32(total, 4);
  out.buf.set(body, 8);
  out.u32(total, total - 4);
  return out.buf;
}

/** Section Header Block, version 1.0, section length -1 (unknown). */
export function sectionHeaderBlock(opts: PcapngWriterOptions & { options?: PcapngOption[] } = {}): Buffer {
  const options = opts.options ?? [];
  const total = 28 + optionsLength(options);
  const out = new Out(Buffer.alloc(total), opts.bigEndian === true);
  out.u32(SHB, 0);
  out.u32(total, 4);
  out.u32(0x1a2b3c4d, 8);
  out.u16(1, 12);
  out.u16(0, 14);
  out.u64(-1n, 16);
  writeOptions(out, 24, options);
  out.u32(total, total - 4);
  return out.buf;
}

function interfaceOptions(iface: PcapngInterface, be: boolean): PcapngOption[] {
  const options: PcapngOption[] = [];
  if (iface.name !== undefined) options.push({ code: 2, value: Buffer.from(iface.name, 'utf8') });
  if (iface.tsresol !== undefined) options.push({ code: 9, value: Uint8Array.of(iface.tsresol) });
  if (iface.tsoffset !== undefined) {
    const v = Buffer.alloc(8);
    if (be) v.writeBigInt64BE(BigInt(iface.tsoffset));
    else v.writeBigInt64LE(BigInt(iface.tsoffset));
    options.push({ code: 14, value: v });
  }
  options.push(...(iface.options ?? []));
  return options;
}

export function interfaceDescriptionBlock(
  iface: PcapngInterface = {},
  opts: PcapngWriterOptions = {},
): Buffer {
  const be = opts.bigEndian === true;
  const options = interfaceOptions(iface, be);
  const total = 20 + optionsLength(options);
  const out = new Out(Buffer.alloc(total), be);
  out.u32(IDB, 0);
  out.u32(total, 4);
  out.u16(iface.linkType ?? LinkType.ETHERNET, 8);
  out.u16(0, 10);
  out.u32(iface.snaplen ?? 0, 12);
  writeOptions(out, 16, options);
  out.u32(total, total - 4);
  return out.buf;
}

/** Timestamp units per second of an if_tsresol byte (undefined = 10^-6). */
export function unitsPerSecond(tsresol: number | undefined): bigint {
  if (tsresol === undefined) return 1_000_000n;
  const exp = BigInt(tsresol & 0x7f);
  return (tsresol & 0x80) !== 0 ? 2n ** exp : 10n ** exp;
}

/** The 64-bit timestamp of a packet in the interface's units (rounded down). */
export function timestampUnits(iface: PcapngInterface, tsSec: number, tsNsec: number): bigint {
  const d = unitsPerSecond(iface.tsresol);
  const sec = BigInt(tsSec) - BigInt(iface.tsoffset ?? 0);
  return sec * d + (BigInt(tsNsec) * d) / 1_000_000_000n;
}

/** Enhanced Packet Block; `iface` is the packet's interface (for its resolution and offset). */
export function enhancedPacketBlock(
  pkt: PcapngPacket,
  iface: PcapngInterface = {},
  opts: PcapngWriterOptions = {},
): Buffer {
  const options = pkt.options ?? [];
  const total = 32 + pad4(pkt.data.length) + optionsLength(options);
  const out = new Out(Buffer.alloc(total), opts.bigEndian === true);
  const ts = timestampUnits(iface, pkt.tsSec, pkt.tsNsec);
  out.u32(EPB, 0);
  out.u32(total, 4);
  out.u32(pkt.interfaceId ?? 0, 8);
  out.u32(Number(ts >> 32n), 12);
  out.u32(Number(ts & 0xffffffffn), 16);
  out.u32(pkt.data.length, 20);
  out.u32(pkt.wireLength ?? pkt.data.length, 24);
  out.buf.set(pkt.data, 28);
  writeOptions(out, 28 + pad4(pkt.data.length), options);
  out.u32(total, total - 4);
  return out.buf;
}

/**
 * Simple Packet Block: the original length and the packet bytes (which a reader cuts to
 * interface 0's snaplen).
 */
export function simplePacketBlock(
  data: Uint8Array,
  wireLength?: number,
  opts: PcapngWriterOptions = {},
): Buffer {
  const total = 16 + pad4(data.length);
  const out = new Out(Buffer.alloc(total), opts.bigEndian === true);
  out.u32(SPB, 0);
  out.u32(total, 4);
  out.u32(wireLength ?? data.length, 8);
  out.buf.set(data, 12);
  out.u32(total, total - 4);
  return out.buf;
}

/** A one-section pcapng file in memory (small captures: tests, samples). */
export function pcapngFile(
  interfaces: readonly PcapngInterface[],
  packets: readonly PcapngPacket[],
  opts: PcapngWriterOptions = {},
): Buffer {
  const parts = [sectionHeaderBlock(opts), ...interfaces.map((i) => interfaceDescriptionBlock(i, opts))];
  for (const p of packets) {
    const iface = interfaces[p.interfaceId ?? 0];
    if (iface === undefined) throw new RangeError(`packet for undefined interface ${p.interfaceId}`);
    parts.push(enhancedPacketBlock(p, iface, opts));
  }
  return Buffer.concat(parts);
}
