/**
 * Sequence numbers → loss, late arrivals, duplicates and restarts. sFlow numbers datagrams
 * per (agent, sub-agent) and samples per data source, each a u32 that wraps; a number that
 * never arrives is a datagram or sample sent and not decoded here (lost on the way, in the
 * kernel's receive buffer, or dropped as malformed).
 *
 * UDP reorders and duplicates, so a gap is not loss at once. A tracker keeps the last
 * `window` numbers up to the highest seen (REORDER_WINDOW for samples, DATAGRAM_WINDOW for
 * datagrams), each missing, received or not expected (before the first number, or given
 * up on):
 * - a number ahead of the highest (by at most MAX_SEQUENCE_GAP) advances it; the numbers it
 *   skipped are missing;
 * - a missing number that arrives late fills its gap (`late`): no loss, no restart;
 * - a number already received, sent no later than the highest, is a duplicate (the
 *   caller does not aggregate it twice);
 * - a missing number is lost once it leaves the window, or once gaps have been pending for
 *   SETTLE_US of arrival time (`settle`, so a quiet agent's loss shows too), or at
 *   `finish`; `lost` only grows (a Prometheus counter), and what arrives after it was given
 *   up on is late, not un-counted;
 * - a restart starts the numbering again (the jump is no loss; the old numbering's pending
 *   gaps are given up on): a jump back beyond the window, a
 *   jump ahead beyond MAX_SEQUENCE_GAP, a number at or behind the highest that was sent
 *   after it (its datagram's uptime is later: the agent's numbering restarted), or an
 *   uptime more than MAX_LATE_MS behind the highest's (the agent rebooted; nothing is
 *   reordered that long).
 *
 * This follows what flow collectors do with sequence gaps (SiLK's NetFlow v5 reader counts
 * late arrivals within a window against the missing records and takes large jumps for a
 * reset; Akvorado counts a step back as reordering and resynchronizes), with a window
 * kept per number so that duplicates are told from late arrivals.
 */

/** Numbers kept up to the highest (sample sequences): one bit each, in one 32-bit word. */
export const REORDER_WINDOW = 32;
/**
 * The window of a sub-agent's datagram sequence: wider, since datagrams of one agent read
 * by several reader threads can come far behind (a reader descheduled longer than the
 * reorder stage holds, collector/udp/reorder.ts); there are few sub-agents, so the 256
 * bytes each are nothing.
 */
export const DATAGRAM_WINDOW = 1024;
/** A forward jump above this is taken for a restart, not loss. */
export const MAX_SEQUENCE_GAP = 1 << 20;
/** Gaps pending this long (µs of arrival time) are counted lost. */
export const SETTLE_US = 2_000_000;
/** An uptime this far behind the highest's is a reboot, not a late datagram. */
export const MAX_LATE_MS = 10_000;

/** What one number was. */
export const SeqEvent = {
  /** the first number (or the first after a restart) */
  FIRST: 0,
  /** ahead of the highest (the gap before it, if any, is missing) */
  NEXT: 1,
  /** behind the highest, not received before: fills a gap */
  LATE: 2,
  /** received before: not to be aggregated again */
  DUPLICATE: 3,
  /** the numbering started again */
  RESTART: 4,
} as const;
export type SeqEvent = (typeof SeqEvent)[keyof typeof SeqEvent];

/** u32 counter difference, wrap-aware (sample pool, drops). */
export function u32Delta(last: number, value: number): number {
  return (value - last) >>> 0;
}

/** One numbered stream (a sub-agent's datagrams, a source's samples). */
export class SequenceTracker {
  /** the highest number seen (-1 before the first) */
  last = -1;
  /** the uptime (ms) of the datagram that carried the highest number */
  uptimeMs = 0;
  /** numbers given up on (only grows) */
  lost = 0;
  /** numbers missing within the window, not yet given up on */
  missing = 0;
  /** numbers that arrived behind the highest, not received before */
  late = 0;
  duplicates = 0;
  resets = 0;
  /** arrival time (µs) when the pending gaps began */
  private pendingSinceUs = 0;
  /**
   * The window, bit (n & mask) for number n in (last - window, last]: set in `received`
   * when it arrived, in `missingBits` while it is awaited; neither: not expected (before
   * the first number, or given up on). Allocated once: updates allocate nothing.
   */
  private readonly received: Uint32Array;
  private readonly missingBits: Uint32Array;
  private readonly mask: number;

  /** `window`: numbers kept up to the highest, a power of two >= 32 */
  constructor(readonly window = REORDER_WINDOW) {
    if (!(window >= 32 && (window & (window - 1)) === 0))
      throw new RangeError('window: a power of two >= 32');
    this.mask = window - 1;
    this.received = new Uint32Array(window >>> 5);
    this.missingBits = new Uint32Array(window >>> 5);
  }

  /** Takes a number carried by a datagram of `uptimeMs` that arrived at `tUs`. */
  update(seq: number, uptimeMs: number, tUs: number): SeqEvent {
    if (this.last < 0) {
      this.start(seq, uptimeMs);
      return SeqEvent.FIRST;
    }
    this.settle(tUs);
    // signed difference modulo 2^32: uptime wraps after 49.7 days
    const du = (uptimeMs - this.uptimeMs) | 0;
    if (du < -MAX_LATE_MS) return this.restart(seq, uptimeMs);
    const ahead = (seq - this.last) >>> 0;
    if (ahead !== 0 && ahead <= MAX_SEQUENCE_GAP) {
      this.advance(seq, ahead, tUs);
      if (du > 0) this.uptimeMs = uptimeMs;
      return SeqEvent.NEXT;
    }
    const behind = (this.last - seq) >>> 0;
    if (behind >= this.window || du > 0) return this.restart(seq, uptimeMs);
    const w = (seq & this.mask) >>> 5;
    const bit = 1 << (seq & 31);
    if ((this.received[w] & bit) !== 0) {
      this.duplicates++;
      return SeqEvent.DUPLICATE;
    }
    this.received[w] |= bit;
    if ((this.missingBits[w] & bit) !== 0) {
      this.missingBits[w] &= ~bit;
      this.missing--;
    }
    this.late++;
    return SeqEvent.LATE;
  }

  /** Gives up on gaps pending for SETTLE_US of arrival time by `nowUs`. */
  settle(nowUs: number): void {
    if (this.missing > 0 && nowUs - this.pendingSinceUs >= SETTLE_US) this.finish();
  }

  /** Gives up on every pending gap (the input ended). */
  finish(): void {
    this.lost += this.missing;
    this.missing = 0;
    this.missingBits.fill(0);
  }

  private start(seq: number, uptimeMs: number): void {
    this.received.fill(0);
    this.received[(seq & this.mask) >>> 5] = 1 << (seq & 31);
    this.missingBits.fill(0);
    this.last = seq;
    this.uptimeMs = uptimeMs;
  }

  private restart(seq: number, uptimeMs: number): SeqEvent {
    // what the old numbering still missed will not come any more
    this.finish();
    this.resets++;
    this.start(seq, uptimeMs);
    return SeqEvent.RESTART;
  }

  /** Moves the highest `ahead` numbers on to `seq`: what leaves the window unreceived is lost. */
  private advance(seq: number, ahead: number, tUs: number): void {
    const wasPending = this.missing > 0;
    const m = this.missingBits;
    const r = this.received;
    if (ahead > this.window) {
      // everything in the window leaves it; the numbers before seq - window + 1 never enter
      this.lost += this.missing + (ahead - this.window);
      this.missing = this.window - 1;
      r.fill(0);
      m.fill(0xffffffff);
      m[(seq & this.mask) >>> 5] &= ~(1 << (seq & 31));
    } else {
      // each bit passed over now stands for a number a window later: the old one leaves
      for (let k = 1; k < ahead; k++) {
        const n = this.last + k;
        const w = (n & this.mask) >>> 5;
        const bit = 1 << (n & 31);
        if ((m[w] & bit) !== 0) this.lost++;
        else this.missing++;
        m[w] |= bit;
        r[w] &= ~bit;
      }
    }
    const w = (seq & this.mask) >>> 5;
    const bit = 1 << (seq & 31);
    if ((m[w] & bit) !== 0) {
      this.lost++;
      this.missing--;
      m[w] &= ~bit;
    }
    r[w] |= bit;
    this.last = seq;
    if (!wasPending && this.missing > 0) this.pendingSinceUs = tUs;
  }
}
