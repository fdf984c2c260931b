/**
 * Puts the datagrams of several readers of one socket back in arrival order before they
 * reach a consumer. The readers take datagrams off one kernel queue in turn, so one
 * exporter's datagrams are spread over all of them, and each reader sends what it read in
 * batches: consumed reader after reader, an exporter's sequence numbers would jump back
 * and forth by a batch's worth, beyond the sequence windows (loss.ts), and be
 * taken for restarts and loss.
 *
 * Every record carries its arrival order (the monotonic clock all threads share), and
 * every reader tells, with each batch or a mark when it has nothing to send, the time up
 * to which it has sent everything (`advance`). A record is released once every input has
 * advanced past it — in order over all inputs, whatever the timing of the threads. An
 * input `stallNs` behind the most advanced one (a reader descheduled that long: the others
 * read on and marked every 2 ms) is not waited for; what it
 * sends later, behind records already released, is delivered at once and counted
 * in `reordered` — the sequence window then sorts it out like a datagram reordered on the
 * network. One input needs no merge (one reader reads in the kernel's order).
 *
 * The order stamp is taken in JavaScript after the read, so two datagrams read by two
 * readers within a few microseconds may swap: an exporter sending that fast sees them as
 * late (`late_datagrams`), never as lost.
 */
import { DatagramRecord, readRecord } from './batch.js';

export type Deliver = (u8: Uint8Array, r: DatagramRecord) => void;

interface Pending {
  u8: Uint8Array;
  dv: DataView;
  used: number;
  /** the next record's offset */
  at: number;
  /** the next record's order (read ahead) */
  order: number;
  done: () => void;
}

export class DatagramMerge {
  /** records delivered behind one already delivered (a reader late by more than the hold) */
  reordered = 0;
  /** records held now */
  held = 0;
  private readonly queues: Pending[][];
  private readonly ended: boolean[];
  /** per input: everything it read up to this order has arrived */
  private readonly upTo: Float64Array;
  private readonly rec = new DatagramRecord();
  private lastOrder = Number.NEGATIVE_INFINITY;

  constructor(
    inputs: number,
    private readonly stallNs: number,
    private readonly deliver: Deliver,
  ) {
    this.queues = Array.from({ length: inputs }, () => []);
    this.ended = new Array(inputs).fill(false);
    this.upTo = new Float64Array(inputs).fill(Number.NEGATIVE_INFINITY);
  }

  /**
   * A batch from input `k` (its `count` records in arrival order); `done` once all are
   * delivered.
   */
  push(k: number, buf: ArrayBuffer, used: number, count: number, done: () => void): void {
    if (used === 0) {
      done();
      return;
    }
    const dv = new DataView(buf);
    this.queues[k].push({ u8: new Uint8Array(buf), dv, used, at: 0, order: dv.getFloat64(16), done });
    this.held += count;
  }

  /** Input `k` has sent everything it read up to `at`. */
  advance(k: number, at: number): void {
    if (at > this.upTo[k]) this.upTo[k] = at;
  }

  /** Input `k` sends no more. */
  end(k: number): void {
    this.ended[k] = true;
    this.upTo[k] = Number.POSITIVE_INFINITY;
  }

  get allEnded(): boolean {
    return this.ended.every(Boolean);
  }

  /** Delivers, in order, every held record all inputs have advanced past (stalled ones aside). */
  release(): void {
    let limit = Number.POSITIVE_INFINITY;
    if (this.queues.length > 1) {
      let ahead = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < this.upTo.length; k++) {
        if (!this.ended[k] && this.upTo[k] > ahead) ahead = this.upTo[k];
      }
      for (let k = 0; k < this.upTo.length; k++) {
        // an input not heard from yet is waited for (its reader marks within milliseconds)
        const u = this.upTo[k];
        if (u < limit && (u === Number.NEGATIVE_INFINITY || u >= ahead - this.stallNs)) limit = u;
      }
    }
    this.releaseUpTo(limit);
  }

  /** Delivers everything held (the inputs ended, or the consumer stops). */
  flush(): void {
    this.releaseUpTo(Number.POSITIVE_INFINITY);
  }

  private releaseUpTo(limit: number): void {
    for (;;) {
      let best: Pending | undefined;
      let bestQ: Pending[] | undefined;
      for (const q of this.queues) {
        const p = q[0];
        if (p !== undefined && (best === undefined || p.order < best.order)) {
          best = p;
          bestQ = q;
        }
      }
      if (best === undefined || best.order > limit) return;
      if (best.order < this.lastOrder) this.reordered++;
      else this.lastOrder = best.order;
      best.at = readRecord(best.dv, best.at, this.rec);
      this.held--;
      this.deliver(best.u8, this.rec);
      if (best.at >= best.used) {
        bestQ!.shift();
        best.done();
      } else {
        best.order = best.dv.getFloat64(best.at + 16);
      }
    }
  }
}
