/**
 * A per-exporter reorder stage in front of an intake's sequence counting: datagrams of one
 * numbered stream (an sFlow sub-agent, a NetFlow/IPFIX observation domain) are passed on
 * in the order of the protocol's own sequence numbers, not in the order they were read.
 *
 * Why: several reader threads take turns on one socket queue (readers.ts), and their
 * merge (merge.ts) orders by a stamp taken after the read, so datagrams microseconds
 * apart can swap, and a reader descheduled for long is not waited for. The sequence
 * counters behind (sflow/loss.ts, netflow/sequence.ts) take a number that comes behind a
 * higher one for late at best and for a restart at worst. Here a stream's datagram that
 * is not the one expected next is held (copied: the reader's batch goes back) until the
 * gap before it fills, until WINDOW datagrams of that stream are held, or until it has
 * been held HOLD_US; then held datagrams go on lowest number first, and the gap they skip
 * is left for the counter behind to count. What arrives after its number was passed over
 * is passed on at once and counted in `reordered` (the counter behind sees it as late,
 * not as loss). In order — one reader, no loss — nothing is held or copied.
 *
 * The stage knows a stream by what `peek` reads from the datagram's header: two keys (an
 * address, then a sub-agent or version/domain), the number, how many numbers the
 * datagram takes (sFlow and NetFlow v9: one; v5 and IPFIX: its data records — which
 * IPFIX only tells once decoded, so `deliver` returns it), and when the exporter sent it
 * (uptime or export time, ms): a number behind the last one passed on that was sent after
 * it, or more than MAX_LATE_MS before it, is a restart of the numbering, not a late
 * datagram. Streams are bounded (MAX_STREAMS; beyond, all are released and forgotten),
 * as is what one stream holds (REORDER_HOLD) and what all hold (MAX_HELD; beyond, a
 * stream's datagrams go on unheld, counted in `holdOverflows`).
 */

/** Datagrams one stream holds before the lowest goes on regardless of the gap before it. */
export const REORDER_HOLD = 64;
/** How long (µs of arrival time) a datagram is held waiting for the gap before it. */
export const REORDER_HOLD_US = 10_000;
/** A number further ahead than this, or further behind than REORDER_BEHIND, restarts the stream. */
export const MAX_AHEAD = 1 << 20;
export const REORDER_BEHIND = 4096;
/** A datagram sent this long before the last one passed on is from before a reboot. */
export const MAX_LATE_MS = 10_000;
export const MAX_STREAMS = 4096;
/** Datagrams held over all streams (~12 MiB of 1.5 KB datagrams); beyond, a stream is not held for. */
export const MAX_HELD = 8192;
/** Spare hold buffers a stream keeps for reuse. */
const SPARES = 8;

/** What `peek` fills in for one datagram. */
export class SeqInfo {
  /** the exporter (address as a number or text) */
  outer: number | string = 0;
  /** the stream within it (sub-agent, version and domain) */
  inner = 0;
  seq = 0;
  /** numbers this datagram takes; -1: known after delivery (IPFIX) */
  count = 1;
  /** when it was sent, ms (u32, wraps); -1 unknown */
  sentMs = -1;
}

/** Reads a datagram's stream and number; false: it has none (too short, not this protocol). */
export type Peek = (u8: Uint8Array, offset: number, length: number, sender: string, out: SeqInfo) => boolean;
/**
 * Passes a datagram on to the intake. Returns the numbers it took when `peek` could not
 * tell (IPFIX data records), -1 when unknown (data held for its template).
 */
export type Pass = (u8: Uint8Array, offset: number, length: number, sender: string, tUs: number) => number;

/** A datagram's place in its stream: what SeqInfo read from it, or what a held one kept. */
interface Numbered {
  seq: number;
  count: number;
  sentMs: number;
}

interface Held extends Numbered {
  tUs: number;
  sender: string;
  buf: Uint8Array;
  length: number;
}

class Stream {
  /** the number expected next; -1 unknown (first datagram, or a count not known) */
  next = -1;
  /** sent time of the highest number passed on; -1 unknown */
  sentMs = -1;
  /** held datagrams, lowest number first */
  readonly held: Held[] = [];
  readonly spare: Held[] = [];
}

export interface ReorderOptions {
  hold?: number;
  holdUs?: number;
  /** release by wall clock when nothing else arrives (default true; tests call `expire`) */
  timer?: boolean;
}

export class ReorderStage {
  /** datagrams passed on behind a higher number already passed on (late, or a duplicate) */
  reordered = 0;
  /** datagrams passed on after being held (they came ahead of a gap) */
  heldPassed = 0;
  /** held datagrams passed on over a gap that did not fill in time (the counter behind counts it) */
  gapsSkipped = 0;
  /** the stream table filled and was emptied (its held datagrams passed on) */
  streamResets = 0;
  /** datagrams passed on unheld (with their stream's held ones) because MAX_HELD were held */
  holdOverflows = 0;
  /** held now, over all streams */
  holding = 0;

  private readonly streams = new Map<number | string, Map<number, Stream>>();
  private streamCount = 0;
  private readonly waiting = new Set<Stream>();
  /** arrival time by which something held is due (any stream): a quiet stream's held datagrams go on too */
  private dueUs = Number.POSITIVE_INFINITY;
  private readonly info = new SeqInfo();
  private readonly hold: number;
  private readonly holdUs: number;
  private readonly timer: boolean;
  private timeout: NodeJS.Timeout | null = null;

  constructor(
    private readonly peek: Peek,
    private readonly pass: Pass,
    o: ReorderOptions = {},
  ) {
    this.hold = o.hold ?? REORDER_HOLD;
    this.holdUs = o.holdUs ?? REORDER_HOLD_US;
    this.timer = o.timer ?? true;
  }

  /** One datagram at u8[offset, offset + length), not kept after the call (copied if held). */
  push(u8: Uint8Array, offset: number, length: number, sender: string, tUs: number): void {
    const i = this.info;
    if (!this.peek(u8, offset, length, sender, i)) {
      this.pass(u8, offset, length, sender, tUs);
      return;
    }
    if (tUs >= this.dueUs) this.expire(tUs);
    const s = this.stream(i);
    if (s.next < 0) {
      // nothing to compare with: what is held goes first (lower numbers), then this one
      this.releaseAll(s);
      this.passOn(s, u8, offset, length, sender, tUs, i);
      return;
    }
    const ahead = (i.seq - s.next) >>> 0;
    if (ahead === 0) {
      this.passOn(s, u8, offset, length, sender, tUs, i);
      this.releaseContiguous(s);
      return;
    }
    const behind = (s.next - i.seq) >>> 0;
    if (ahead <= MAX_AHEAD && !this.sentBefore(s, i.sentMs)) {
      if (this.holding >= MAX_HELD) {
        // bounded over all streams (many exporters, or spoofed ones): on at once, out of
        // order (the counter behind takes the gap before it as missing until it fills)
        this.holdOverflows++;
        this.pass(u8, offset, length, sender, tUs);
        return;
      }
      this.keep(s, u8, offset, length, sender, tUs, i);
      if (s.held.length > this.hold) this.releaseLowest(s);
      return;
    }
    if (behind <= REORDER_BEHIND && !this.restarted(s, i.sentMs)) {
      // its number was passed over: on at once; the counter behind takes it for late
      this.reordered++;
      this.pass(u8, offset, length, sender, tUs);
      return;
    }
    // the numbering started again: the old numbering's held datagrams go first
    this.releaseAll(s);
    s.next = -1;
    this.passOn(s, u8, offset, length, sender, tUs, i);
  }

  /** Passes on what has been held HOLD_US by `nowUs` (arrival clock). */
  expire(nowUs: number): void {
    let due = Number.POSITIVE_INFINITY;
    for (const s of [...this.waiting]) {
      this.expireStream(s, nowUs);
      for (const h of s.held) due = Math.min(due, h.tUs + this.holdUs);
    }
    this.dueUs = due;
  }

  /** Passes on everything held (the input ends). */
  flush(): void {
    for (const s of [...this.waiting]) this.releaseAll(s);
    this.dueUs = Number.POSITIVE_INFINITY;
    if (this.timeout !== null) clearTimeout(this.timeout);
    this.timeout = null;
  }

  private stream(i: SeqInfo): Stream {
    let inner = this.streams.get(i.outer);
    if (inner === undefined) {
      inner = new Map();
      this.streams.set(i.outer, inner);
    }
    let s = inner.get(i.inner);
    if (s === undefined) {
      if (this.streamCount >= MAX_STREAMS) {
        // bounded against spoofed sources: forgetting costs only the ordering
        this.flush();
        this.streams.clear();
        this.streamCount = 0;
        this.streamResets++;
        return this.stream(i);
      }
      s = new Stream();
      inner.set(i.inner, s);
      this.streamCount++;
    }
    return s;
  }

  /** A number ahead of the expected one, sent long before the last passed on: a reboot's. */
  private sentBefore(s: Stream, sentMs: number): boolean {
    return sentMs >= 0 && s.sentMs >= 0 && ((sentMs - s.sentMs) | 0) < -MAX_LATE_MS;
  }

  /** A number behind the expected one sent after the last passed on (or long before): a restart. */
  private restarted(s: Stream, sentMs: number): boolean {
    if (sentMs < 0 || s.sentMs < 0) return false;
    const d = (sentMs - s.sentMs) | 0;
    return d > 0 || d < -MAX_LATE_MS;
  }

  private passOn(
    s: Stream,
    u8: Uint8Array,
    offset: number,
    length: number,
    sender: string,
    tUs: number,
    at: Numbered,
  ): void {
    // read before passing on: `at` may be the stage's reused SeqInfo
    const { seq, count, sentMs } = at;
    const took = this.pass(u8, offset, length, sender, tUs);
    const n = count >= 0 ? count : took;
    s.next = n >= 0 ? (seq + n) >>> 0 : -1;
    if (sentMs >= 0) s.sentMs = sentMs;
  }

  private keep(
    s: Stream,
    u8: Uint8Array,
    offset: number,
    length: number,
    sender: string,
    tUs: number,
    i: SeqInfo,
  ) {
    const h = s.spare.pop() ?? {
      seq: 0,
      count: 0,
      sentMs: 0,
      tUs: 0,
      sender: '',
      buf: new Uint8Array(0),
      length: 0,
    };
    if (h.buf.length < length) h.buf = new Uint8Array(Math.max(2048, length));
    h.buf.set(u8.subarray(offset, offset + length));
    h.length = length;
    h.seq = i.seq;
    h.count = i.count;
    h.sentMs = i.sentMs;
    h.tUs = tUs;
    h.sender = sender;
    // insertion by distance ahead of the expected number (wrap-aware); equal numbers keep arrival order
    const d = (i.seq - s.next) >>> 0;
    let k = s.held.length;
    while (k > 0 && (s.held[k - 1].seq - s.next) >>> 0 > d) k--;
    s.held.splice(k, 0, h);
    this.holding++;
    if (tUs + this.holdUs < this.dueUs) this.dueUs = tUs + this.holdUs;
    if (s.held.length === 1) {
      this.waiting.add(s);
      this.schedule();
    }
  }

  private take(s: Stream): void {
    const h = s.held.shift()!;
    this.holding--;
    this.heldPassed++;
    if (s.held.length === 0) this.waiting.delete(s);
    this.passOn(s, h.buf, 0, h.length, h.sender, h.tUs, h);
    if (s.spare.length < SPARES) s.spare.push(h);
  }

  /** Passes on held datagrams while the lowest is the one expected next. */
  private releaseContiguous(s: Stream): void {
    while (s.held.length > 0 && s.next >= 0) {
      const d = (s.held[0].seq - s.next) >>> 0;
      if (d !== 0 && d <= MAX_AHEAD) return;
      // d > MAX_AHEAD: behind the expected number (a duplicate of one passed on): on with it
      this.take(s);
    }
  }

  /** The lowest held goes on over the gap before it; then what follows it in order. */
  private releaseLowest(s: Stream): void {
    if (s.next >= 0 && s.held[0].seq !== s.next) this.gapsSkipped++;
    this.take(s);
    this.releaseContiguous(s);
  }

  private releaseAll(s: Stream): void {
    while (s.held.length > 0) this.releaseLowest(s);
  }

  private expireStream(s: Stream, nowUs: number): void {
    for (;;) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const h of s.held) if (h.tUs < oldest) oldest = h.tUs;
      if (s.held.length === 0 || nowUs - oldest < this.holdUs) return;
      this.releaseLowest(s);
    }
  }

  private schedule(): void {
    if (!this.timer || this.timeout !== null) return;
    this.timeout = setTimeout(
      () => {
        this.timeout = null;
        this.expire(Date.now() * 1000);
        if (this.waiting.size > 0) this.schedule();
      },
      Math.ceil(this.holdUs / 1000),
    );
    this.timeout.unref();
  }
}

/** A summary with a reorder stage's counts added (when not 0). */
export function withReordered(
  summary: Record<string, number>,
  r: ReorderStage | null,
): Record<string, number> {
  if (r !== null && r.reordered > 0) summary.reordered_datagrams = r.reordered;
  if (r !== null && r.holdOverflows > 0) summary.reorder_hold_overflows = r.holdOverflows;
  return summary;
}
