/**
 * Datagrams in transit between threads: packed one after another into an ArrayBuffer that
 * is transferred (not cloned) and handed back for reuse. Each record, 8-byte aligned:
 *
 *   0 u32 payload length     4 u16 sender port     6 u8 sender family (4, 6; 0 unknown)
 *   8 f64 arrival, µs since the epoch (the intake's clock)
 *  16 f64 arrival order: ns of the monotonic clock every thread shares (process.hrtime),
 *         what the merge orders datagrams of several readers by
 *  24 16 bytes sender address (IPv4 in the first 4)
 *  40 payload, padded to 8
 */
import { ipv6ToString } from '../decode/addr.js';

export const BATCH_BYTES = 256 * 1024;
export const RECORD_HEADER = 40;

/** The bytes a record of `length` payload bytes takes. */
export function recordSize(length: number): number {
  return RECORD_HEADER + ((length + 7) & ~7);
}

/** One record's place and fields (read with readRecord, reused). */
export class DatagramRecord {
  offset = 0;
  length = 0;
  port = 0;
  family = 0;
  tUs = 0;
  order = 0;
  /** the sender address's bytes: buf[offset + 24, + 4 or 16) */
  get addressOffset(): number {
    return this.offset + 24;
  }
  get payloadOffset(): number {
    return this.offset + RECORD_HEADER;
  }
}

export function readRecord(dv: DataView, o: number, r: DatagramRecord): number {
  r.offset = o;
  r.length = dv.getUint32(o);
  r.port = dv.getUint16(o + 4);
  r.family = dv.getUint8(o + 6);
  r.tUs = dv.getFloat64(o + 8);
  r.order = dv.getFloat64(o + 16);
  return o + recordSize(r.length);
}

/** The text form of an address of `family` (4, 6; else '') whose bytes start at u8[a]. */
export function addressText(u8: Uint8Array, a: number, family: number): string {
  if (family === 4) return `${u8[a]}.${u8[a + 1]}.${u8[a + 2]}.${u8[a + 3]}`;
  return family === 6 ? ipv6ToString(u8, a) : '';
}

/** The text form of a record's sender ('' when unknown). */
export function senderAddress(u8: Uint8Array, r: DatagramRecord): string {
  return addressText(u8, r.addressOffset, r.family);
}

/** A batch being filled for one destination, with its spare buffers and in-flight count. */
export class BatchWriter {
  buf: ArrayBuffer;
  private view: DataView;
  private u8: Uint8Array;
  used = 0;
  count = 0;
  /** batches sent and not yet handed back */
  inFlight = 0;
  private readonly spare: ArrayBuffer[] = [];

  constructor() {
    this.buf = new ArrayBuffer(BATCH_BYTES);
    this.view = new DataView(this.buf);
    this.u8 = new Uint8Array(this.buf);
  }

  /** Whether a payload of `length` bytes fits in what is left. */
  fits(length: number): boolean {
    return this.used + recordSize(length) <= BATCH_BYTES;
  }

  /** Appends one datagram (the caller checked `fits`); `addr` holds 4 or 16 bytes. */
  append(
    msg: Uint8Array,
    tUs: number,
    order: number,
    family: number,
    addr: Uint8Array | null,
    port: number,
  ): void {
    const o = this.used;
    this.view.setUint32(o, msg.length);
    this.view.setUint16(o + 4, port);
    this.view.setUint8(o + 6, family);
    this.view.setFloat64(o + 8, tUs);
    this.view.setFloat64(o + 16, order);
    if (addr !== null) this.u8.set(addr, o + 24);
    this.u8.set(msg, o + RECORD_HEADER);
    this.used += recordSize(msg.length);
    this.count++;
  }

  /** Takes the filled buffer out (to transfer) and starts a fresh one. */
  take(): { buf: ArrayBuffer; used: number; count: number } {
    const out = { buf: this.buf, used: this.used, count: this.count };
    this.buf = this.spare.pop() ?? new ArrayBuffer(BATCH_BYTES);
    this.view = new DataView(this.buf);
    this.u8 = new Uint8Array(this.buf);
    this.used = 0;
    this.count = 0;
    return out;
  }

  /** Empties the batch without sending it (its datagrams were counted as dropped). */
  discard(): void {
    this.used = 0;
    this.count = 0;
  }

  /** A buffer handed back by the receiver. */
  giveBack(buf: ArrayBuffer): void {
    this.inFlight--;
    if (this.spare.length < 4 && buf.byteLength === BATCH_BYTES) this.spare.push(buf);
  }
}

/** Messages on a reader → consumer channel. */
export type InputMessage =
  /** `at`: when it was sent (shared monotonic ns): the reader read nothing earlier that is not in it or before it */
  | { type: 'batch'; buf: ArrayBuffer; used: number; count: number; at: number }
  /** nothing read by `at` is still to come (sent when the reader has had nothing to send) */
  | { type: 'mark'; at: number }
  | { type: 'end' };
/** Messages on a consumer → reader channel. */
export type AckMessage = { type: 'ack'; buf: ArrayBuffer };
