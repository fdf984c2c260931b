/**
 * pcapng parser (draft-ietf-opsawg-pcapng): a push state machine fed chunks of any size.
 *
 * Blocks: type u32, total length u32, body, total length u32 again. Understood:
 *   - Section Header Block (SHB, 0x0A0D0D0A): starts a section, sets its byte order (from the
 *     byte-order magic, so a new section may switch it) and forgets the previous interfaces.
 *   - Interface Description Block (IDB, 1): link type, snaplen, options if_tsresol (9; 10^-n
 *     or 2^-n units per second, default 10^-6) and if_tsoffset (14; seconds added).
 *   - Enhanced Packet Block (EPB, 6), obsolete Packet Block (2), Simple Packet Block (SPB, 3:
 *     interface 0, timestamp 0, captured length = min(original length, IF 0 snaplen, body)).
 * Every other block (NRB, ISB, DSB, custom, systemd journal, ...) is skipped by its length.
 *
 * A block is rejected (CaptureError) when its total length is below 12 or below the
 * minimum for its type, not a multiple of 4, above 256 MiB, or differs from its trailing
 * copy; when a packet's captured length overruns its block; when a packet names an interface
 * the section has not described; when an IDB option overruns the block.
 *
 * Timestamps are 64-bit unit counts. They are split into seconds + nanoseconds with exact
 * integer arithmetic on doubles (no BigInt: nothing is allocated per packet), which limits
 * if_tsresol to at most 2^36 units per second (10^-0..10^-10, 2^-0..2^-36).
 */
import { RecordParser, viewOf } from './record-parser.js';
import type { PacketHandler } from './types.js';

export const BlockType = {
  SHB: 0x0a0d0d0a,
  IDB: 1,
  PACKET: 2,
  SPB: 3,
  NRB: 4,
  ISB: 5,
  EPB: 6,
} as const;

export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Largest block accepted (Wireshark's limit too): bounds the stitch buffer. */
export const PCAPNG_MAX_BLOCK = 256 * 1024 * 1024;
/** Interfaces one section may describe: a guard against a file made of millions of IDBs. */
export const PCAPNG_MAX_INTERFACES = 65536;

const BLOCK_HEADER = 12; // type, length, and the 4 bytes after (SHB: byte-order magic)
const MIN_SHB = 28;
const MIN_IDB = 20;
const MIN_EPB = 32;
const MIN_PACKET = 32;
const MIN_SPB = 16;
const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const TWO32 = 4294967296;
/** Largest units-per-second the exact timestamp arithmetic supports. */
const MAX_UNITS_PER_SEC = 2 ** 36;

interface Interface {
  linkType: number;
  snaplen: number;
  /** timestamp units per second */
  unitsPerSec: number;
  /** ns per unit when that is an integer (10^-n with n <= 9, 2^-n with n <= 9), else 0 */
  nsPerUnit: number;
  /** if_tsoffset: seconds added to every timestamp */
  tsOffset: number;
  /** 'us', 'ns', '10^-n' or '2^-n' */
  resolution: string;
}

export class PcapngParser extends RecordParser {
  private le = true;
  private inSection = false;
  private ifaces: Interface[] = [];
  private firstInterfaceSeen = false;

  constructor(onPacket: PacketHandler) {
    super(onPacket);
  }

  push(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    if (this.stopped) {
      this.consumed += len;
      return;
    }
    if (this.partLen > 0) {
      pos = this.completePartial(chunk);
      if (pos === len || this.stopped) {
        this.consumed += len;
        return;
      }
    }
    // Hot loop: blocks wholly inside the chunk are parsed in place, nothing is allocated.
    // Every block is at least 12 bytes, so fewer than 12 left means "wait for more".
    const view = viewOf(chunk);
    const base = this.consumed;
    while (pos + BLOCK_HEADER <= len) {
      const total = this.recordLength(view, pos, base + pos);
      const next = pos + total;
      if (next > len) break;
      this.record(chunk, view, pos, total, base + pos);
      pos = next;
      if (this.stopped) break;
    }
    if (pos < len && !this.stopped) this.keep(chunk, pos);
    this.consumed += len;
  }

  end(): void {
    if (this.partLen === 0 || this.stopped) return;
    if (this.partLen < BLOCK_HEADER) {
      throw this.fail(
        `truncated pcapng block header: stream ended after ${this.partLen} of ${BLOCK_HEADER} bytes`,
        this.partStart,
      );
    }
    const total = this.recordLength(this.partView, 0, this.partStart);
    throw this.fail(
      `truncated pcapng block: total length ${total}, stream ended after ${this.partLen} bytes`,
      this.partStart,
    );
  }

  protected headerSize(): number {
    return BLOCK_HEADER;
  }

  protected recordLength(view: DataView, off: number, at: number): number {
    const type = view.getUint32(off, this.le); // an SHB's type reads the same in both byte orders
    if (type === BlockType.SHB) {
      const bom = view.getUint32(off + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else throw this.fail(`bad pcapng byte-order magic 0x${hex32(view.getUint32(off + 8, false))}`, at);
    } else if (!this.inSection) {
      throw this.fail(`pcapng must start with a section header block, found block type 0x${hex32(type)}`, at);
    }
    const total = view.getUint32(off + 4, this.le);
    if (total < BLOCK_HEADER || (total & 3) !== 0 || total > PCAPNG_MAX_BLOCK) {
      const why =
        total > PCAPNG_MAX_BLOCK
          ? `above the maximum ${PCAPNG_MAX_BLOCK}`
          : total < BLOCK_HEADER
            ? `below the minimum ${BLOCK_HEADER}`
            : 'not a multiple of 4';
      throw this.fail(`pcapng block type 0x${hex32(type)} has total length ${total}: ${why}`, at);
    }
    return total;
  }

  protected record(buf: Buffer, view: DataView, off: number, total: number, at: number): void {
    const type = view.getUint32(off, this.le);
    const trailer = view.getUint32(off + total - 4, this.le);
    if (trailer !== total) {
      throw this.fail(
        `pcapng block type 0x${hex32(type)}: total length ${total} does not match its trailing copy ${trailer}`,
        at,
      );
    }
    switch (type) {
      case BlockType.EPB:
        this.enhancedPacket(buf, view, off, total, at);
        break;
      case BlockType.SPB:
        this.simplePacket(buf, view, off, total, at);
        break;
      case BlockType.IDB:
        this.interfaceDescription(view, off, total, at);
        break;
      case BlockType.SHB:
        this.sectionHeader(view, off, total, at);
        break;
      case BlockType.PACKET:
        this.obsoletePacket(buf, view, off, total, at);
        break;
      default:
        // NRB, ISB, DSB, custom and unknown blocks: skipped by their length
        break;
    }
  }

  private tooSmall(name: string, total: number, min: number, at: number) {
    return this.fail(`pcapng ${name} block total length ${total} is below its minimum ${min}`, at);
  }

  private enhancedPacket(buf: Buffer, view: DataView, off: number, total: number, at: number): void {
    this.packetBlock('enhanced packet', view.getUint32(off + 8, this.le), MIN_EPB, buf, view, off, total, at);
  }

  /** The obsolete Packet Block (type 2): as an EPB, with a 16-bit interface ID. */
  private obsoletePacket(buf: Buffer, view: DataView, off: number, total: number, at: number): void {
    this.packetBlock('packet', view.getUint16(off + 8, this.le), MIN_PACKET, buf, view, off, total, at);
  }

  private packetBlock(
    name: string,
    ifId: number,
    min: number,
    buf: Buffer,
    view: DataView,
    off: number,
    total: number,
    at: number,
  ): void {
    if (total < min) throw this.tooSmall(name, total, min, at);
    const capLen = view.getUint32(off + 20, this.le);
    if (capLen > total - min) {
      throw this.fail(
        `pcapng ${name} block: captured length ${capLen} overruns the block (total length ${total})`,
        at,
      );
    }
    const tsHigh = view.getUint32(off + 12, this.le);
    const tsLow = view.getUint32(off + 16, this.le);
    this.deliver(buf, view, off + 28, ifId, tsHigh, tsLow, capLen, off, at);
  }

  /** EPB / Packet Block: fields at the same offsets after the interface ID. */
  private deliver(
    buf: Buffer,
    view: DataView,
    dataOff: number,
    ifId: number,
    tsHigh: number,
    tsLow: number,
    capLen: number,
    off: number,
    at: number,
  ): void {
    const iface = this.ifaces[ifId];
    if (iface === undefined) {
      throw this.fail(
        `pcapng packet for interface ${ifId}, but the section describes ${this.ifaces.length} interface${this.ifaces.length === 1 ? '' : 's'}`,
        at,
      );
    }
    const pkt = this.packet;
    splitTimestamp(pkt, iface, tsHigh, tsLow);
    pkt.wireLength = view.getUint32(off + 24, this.le);
    pkt.data = buf;
    pkt.offset = dataOff;
    pkt.capLength = capLen;
    pkt.linkType = iface.linkType;
    pkt.tsDigits = iface.unitsPerSec > 1_000_000 ? 9 : 6;
    pkt.interfaceId = ifId;
    pkt.fileOffset = at;
    pkt.frame = ++this.packets;
    this.bytes += capLen;
    this.onPacket(pkt);
  }

  private simplePacket(buf: Buffer, view: DataView, off: number, total: number, at: number): void {
    if (total < MIN_SPB) throw this.tooSmall('simple packet', total, MIN_SPB, at);
    const iface = this.ifaces[0];
    if (iface === undefined) {
      throw this.fail('pcapng simple packet block, but the section describes no interface', at);
    }
    const wireLen = view.getUint32(off + 8, this.le);
    let capLen = wireLen;
    if (iface.snaplen !== 0 && capLen > iface.snaplen) capLen = iface.snaplen;
    if (capLen > total - MIN_SPB) capLen = total - MIN_SPB;
    const pkt = this.packet;
    pkt.tsSec = 0;
    pkt.tsNsec = 0;
    pkt.wireLength = wireLen;
    pkt.data = buf;
    pkt.offset = off + 12;
    pkt.capLength = capLen;
    pkt.linkType = iface.linkType;
    pkt.interfaceId = 0;
    pkt.fileOffset = at;
    pkt.frame = ++this.packets;
    this.bytes += capLen;
    this.onPacket(pkt);
  }

  private sectionHeader(view: DataView, off: number, total: number, at: number): void {
    if (total < MIN_SHB) throw this.tooSmall('section header', total, MIN_SHB, at);
    const major = view.getUint16(off + 12, this.le);
    const minor = view.getUint16(off + 14, this.le);
    if (major !== 1)
      throw this.fail(`unsupported pcapng version ${major}.${minor} (only 1.x is defined)`, at);
    this.inSection = true;
    this.ifaces = [];
    if (this.info === null) {
      this.info = {
        format: 'pcapng',
        byteOrder: this.le ? 'le' : 'be',
        resolution: 'us',
        snaplen: 0,
        linkType: 0,
      };
    }
  }

  private interfaceDescription(view: DataView, off: number, total: number, at: number): void {
    if (total < MIN_IDB) throw this.tooSmall('interface description', total, MIN_IDB, at);
    if (this.ifaces.length >= PCAPNG_MAX_INTERFACES) {
      throw this.fail(`more than ${PCAPNG_MAX_INTERFACES} interfaces in one pcapng section`, at);
    }
    const iface: Interface = {
      linkType: view.getUint16(off + 8, this.le),
      snaplen: view.getUint32(off + 12, this.le),
      unitsPerSec: 1_000_000,
      nsPerUnit: 1000,
      tsOffset: 0,
      resolution: 'us',
    };
    // options: code u16, length u16, value padded to 4 bytes; until opt_endofopt or the end
    const end = off + total - 4;
    let o = off + 16;
    while (o + 4 <= end) {
      const code = view.getUint16(o, this.le);
      const optLen = view.getUint16(o + 2, this.le);
      if (code === OPT_ENDOFOPT) break;
      if (o + 4 + optLen > end) {
        throw this.fail(
          `pcapng interface description block: option ${code} of length ${optLen} overruns the block (option at byte offset ${at + (o - off)})`,
          at,
        );
      }
      if (code === OPT_IF_TSRESOL && optLen >= 1) {
        this.setResolution(iface, view.getUint8(o + 4), at);
      } else if (code === OPT_IF_TSOFFSET && optLen === 8) {
        // signed 64-bit seconds; read as two halves (exact for any sane offset)
        const hi = view.getInt32(this.le ? o + 8 : o + 4, this.le);
        const lo = view.getUint32(this.le ? o + 4 : o + 8, this.le);
        iface.tsOffset = hi * TWO32 + lo;
      }
      o += 4 + ((optLen + 3) & ~3);
    }
    this.ifaces.push(iface);
    if (!this.firstInterfaceSeen && this.info !== null) {
      // CaptureInfo describes the first interface of the capture
      this.firstInterfaceSeen = true;
      this.info.linkType = iface.linkType;
      this.info.snaplen = iface.snaplen;
      this.info.resolution = iface.resolution;
    }
  }

  private setResolution(iface: Interface, tsresol: number, at: number): void {
    const exp = tsresol & 0x7f;
    const pow2 = (tsresol & 0x80) !== 0;
    const unitsPerSec = pow2 ? 2 ** exp : 10 ** exp;
    if (unitsPerSec > MAX_UNITS_PER_SEC) {
      throw this.fail(
        `pcapng if_tsresol ${pow2 ? '2' : '10'}^-${exp} is finer than supported (at most ${MAX_UNITS_PER_SEC} units per second)`,
        at,
      );
    }
    iface.unitsPerSec = unitsPerSec;
    const ns = 1e9 / unitsPerSec;
    iface.nsPerUnit = Number.isInteger(ns) ? ns : 0;
    iface.resolution = !pow2 && exp === 6 ? 'us' : !pow2 && exp === 9 ? 'ns' : `${pow2 ? '2' : '10'}^-${exp}`;
  }
}

/**
 * Sets pkt.tsSec / pkt.tsNsec from a 64-bit unit count (tsHigh * 2^32 + tsLow). Exact: every
 * intermediate value stays below 2^53, so doubles hold it exactly, and Math.floor(a / b) of
 * integers with a + b <= 2^53 is the exact integer quotient (the rounding error of the
 * division is smaller than the distance to the next integer). Hand-written for speed (no
 * BigInt, no allocation).
 */
function splitTimestamp(
  pkt: { tsSec: number; tsNsec: number },
  iface: Interface,
  tsHigh: number,
  tsLow: number,
): void {
  const d = iface.unitsPerSec;
  let sec: number;
  let frac: number;
  if (tsHigh < 0x1ffff0) {
    // the whole count is below 2^53 - 2^36 (µs timestamps until the year 2255): one division
    const units = tsHigh * TWO32 + tsLow;
    sec = Math.floor(units / d);
    frac = units - sec * d;
  } else {
    // long division of the count by d in 16-bit limbs: each partial dividend < d * 2^16 <= 2^52
    const qh = Math.floor(tsHigh / d);
    let r = tsHigh - qh * d;
    let cur = r * 65536 + (tsLow >>> 16);
    const q1 = Math.floor(cur / d);
    r = cur - q1 * d;
    cur = r * 65536 + (tsLow & 0xffff);
    const q0 = Math.floor(cur / d);
    frac = cur - q0 * d;
    sec = qh * TWO32 + q1 * 65536 + q0;
  }
  pkt.tsSec = sec + iface.tsOffset;
  pkt.tsNsec = iface.nsPerUnit !== 0 ? frac * iface.nsPerUnit : fracToNs(frac, d);
}

/** floor(frac * 1e9 / d) exactly, for frac < d <= 2^36 (resolutions finer than 1 ns or odd powers of 2). */
function fracToNs(frac: number, d: number): number {
  const fh = Math.floor(frac / 65536);
  const fl = frac - fh * 65536;
  const a = fh * 1e9; // < 2^20 * 2^30
  const q1 = Math.floor(a / d);
  const cur = (a - q1 * d) * 65536 + fl * 1e9; // < 2^52 + 2^46
  return q1 * 65536 + Math.floor(cur / d);
}

function hex32(v: number): string {
  return v.toString(16).padStart(8, '0');
}
