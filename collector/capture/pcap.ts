/**
 * Classic pcap (libpcap savefile) parser: a push state machine fed chunks of any size.
 *
 * Format: a 24-byte file header (magic, version 2.x, thiszone, sigfigs, snaplen, link type)
 * then records of a 16-byte header (ts_sec, ts_frac, incl_len, orig_len) and incl_len bytes.
 * Both byte orders; magic 0xa1b2c3d4 = microsecond, 0xa1b23c4d = nanosecond timestamps.
 *
 * Lengths are checked the way libpcap does: a record whose captured length exceeds
 * max(snaplen, 262144) is a lying length (a damaged file, or not a pcap at all), and so is
 * anything above 256 MiB whatever the snaplen says. A captured length larger than the
 * original length is passed through as written (some writers do that; it is not fatal).
 */
import { RecordParser, viewOf } from './record-parser.js';
import type { PacketHandler } from './types.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Kuznetzov's "modified" pcap (extra fields per record): recognised only to name it. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;

const FILE_HEADER = 24;
const RECORD_HEADER = 16;
/** libpcap's MAXIMUM_SNAPLEN: the largest captured length of a sane record for most link types. */
export const PCAP_MAX_SNAPLEN = 262144;
/** Hard cap on one record, whatever the file header's snaplen says (bounds the stitch buffer). */
export const PCAP_MAX_RECORD = 256 * 1024 * 1024;

export class PcapParser extends RecordParser {
  private headerDone = false;
  private le = true;
  /** ns per unit of the record's fractional timestamp: 1000 (µs file) or 1 (ns file) */
  private nsPerFrac = 1000;
  /** units per second of the fractional timestamp */
  private fracPerSec = 1_000_000;
  private linkType = 0;
  private snaplen = 0;
  /** largest acceptable incl_len */
  private maxCapLen = PCAP_MAX_SNAPLEN;

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
    if (this.partLen > 0 || !this.headerDone) {
      pos = this.completePartial(chunk);
      if (pos === len || this.stopped) {
        this.consumed += len;
        return;
      }
    }
    // Hot loop, hand-written for speed: header fields are read through one DataView per
    // chunk (much faster than Buffer#readUInt32LE here), the one CapturedPacket is overwritten
    // in place (data = the chunk itself plus an offset), nothing is allocated per packet.
    const view = viewOf(chunk);
    const pkt = this.packet;
    const onPacket = this.onPacket;
    const le = this.le;
    const maxCapLen = this.maxCapLen;
    const nsPerFrac = this.nsPerFrac;
    const fracPerSec = this.fracPerSec;
    const linkType = this.linkType;
    const base = this.consumed;
    while (pos + RECORD_HEADER <= len) {
      const capLen = view.getUint32(pos + 8, le);
      if (capLen > maxCapLen) throw this.lyingLength(capLen, base + pos);
      const next = pos + RECORD_HEADER + capLen;
      if (next > len) break;
      let sec = view.getUint32(pos, le);
      let frac = view.getUint32(pos + 4, le);
      if (frac >= fracPerSec) {
        // out-of-range fraction (some writers emit 1000000 µs): carry it into the seconds
        sec += Math.floor(frac / fracPerSec);
        frac %= fracPerSec;
      }
      pkt.tsSec = sec;
      pkt.tsNsec = frac * nsPerFrac;
      pkt.wireLength = view.getUint32(pos + 12, le);
      pkt.data = chunk;
      pkt.offset = pos + RECORD_HEADER;
      pkt.capLength = capLen;
      pkt.linkType = linkType;
      pkt.interfaceId = 0;
      pkt.fileOffset = base + pos;
      pkt.frame = ++this.packets;
      this.bytes += capLen;
      onPacket(pkt);
      pos = next;
      if (this.stopped) break;
    }
    if (pos < len && !this.stopped) this.keep(chunk, pos);
    this.consumed += len;
  }

  end(): void {
    if (!this.headerDone) {
      throw this.fail(`truncated pcap file header: ${this.partLen} of ${FILE_HEADER} bytes`, 0);
    }
    if (this.partLen === 0 || this.stopped) return;
    if (this.partLen < RECORD_HEADER) {
      throw this.fail(
        `truncated pcap record header: stream ended after ${this.partLen} of ${RECORD_HEADER} bytes`,
        this.partStart,
      );
    }
    const capLen = this.recordLength(this.partView, 0, this.partStart) - RECORD_HEADER;
    throw this.fail(
      `truncated pcap record: header says ${capLen} captured bytes, stream ended after ${this.partLen - RECORD_HEADER}`,
      this.partStart,
    );
  }

  protected headerSize(): number {
    return this.headerDone ? RECORD_HEADER : FILE_HEADER;
  }

  protected recordLength(view: DataView, off: number, at: number): number {
    if (!this.headerDone) return FILE_HEADER;
    const capLen = view.getUint32(off + 8, this.le);
    if (capLen > this.maxCapLen) throw this.lyingLength(capLen, at);
    return RECORD_HEADER + capLen;
  }

  /** A record from the stitch buffer (or the file header): the slow path. */
  protected record(buf: Buffer, view: DataView, off: number, len: number, at: number): void {
    if (!this.headerDone) {
      this.fileHeader(view, off);
      return;
    }
    const le = this.le;
    let sec = view.getUint32(off, le);
    let frac = view.getUint32(off + 4, le);
    if (frac >= this.fracPerSec) {
      sec += Math.floor(frac / this.fracPerSec);
      frac %= this.fracPerSec;
    }
    const pkt = this.packet;
    pkt.tsSec = sec;
    pkt.tsNsec = frac * this.nsPerFrac;
    pkt.wireLength = view.getUint32(off + 12, le);
    pkt.data = buf;
    pkt.offset = off + RECORD_HEADER;
    pkt.capLength = len - RECORD_HEADER;
    pkt.linkType = this.linkType;
    pkt.interfaceId = 0;
    pkt.fileOffset = at;
    pkt.frame = ++this.packets;
    this.bytes += len - RECORD_HEADER;
    this.onPacket(pkt);
  }

  private fileHeader(view: DataView, off: number): void {
    const magicLE = view.getUint32(off, true);
    const magicBE = view.getUint32(off, false);
    let ns: boolean;
    if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
      this.le = true;
      ns = magicLE === PCAP_MAGIC_NS;
    } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
      this.le = false;
      ns = magicBE === PCAP_MAGIC_NS;
    } else if (magicLE === PCAP_MAGIC_MODIFIED || magicBE === PCAP_MAGIC_MODIFIED) {
      throw this.fail('unsupported pcap variant: modified (Kuznetzov) pcap, magic 0xa1b2cd34', 0);
    } else {
      throw this.fail(`bad pcap magic 0x${magicBE.toString(16).padStart(8, '0')}`, 0);
    }
    const le = this.le;
    const major = view.getUint16(off + 4, le);
    const minor = view.getUint16(off + 6, le);
    if (major !== 2) throw this.fail(`unsupported pcap version ${major}.${minor} (only 2.x is defined)`, 4);
    this.snaplen = view.getUint32(off + 16, le);
    // the upper 16 bits of the link-type field carry FCS information, not the link type
    this.linkType = view.getUint32(off + 20, le) & 0xffff;
    this.maxCapLen = Math.min(Math.max(this.snaplen, PCAP_MAX_SNAPLEN), PCAP_MAX_RECORD);
    this.nsPerFrac = ns ? 1 : 1000;
    this.packet.tsDigits = ns ? 9 : 6;
    this.fracPerSec = ns ? 1_000_000_000 : 1_000_000;
    this.info = {
      format: 'pcap',
      byteOrder: le ? 'le' : 'be',
      resolution: ns ? 'ns' : 'us',
      snaplen: this.snaplen,
      linkType: this.linkType,
    };
    this.headerDone = true;
  }

  private lyingLength(capLen: number, at: number) {
    return this.fail(
      `pcap record captured length ${capLen} exceeds the maximum ${this.maxCapLen} (file snaplen ${this.snaplen})`,
      at,
    );
  }
}
