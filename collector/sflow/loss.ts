/**
 * Sequence-number arithmetic for loss estimates. sFlow numbers datagrams per (agent,
 * sub-agent) and samples per data source, each a u32 that wraps; a gap means datagrams or
 * samples that were sent and not decoded here (lost on the way, in the kernel's receive
 * buffer, or dropped as malformed). A number that goes back, or leaps further than any
 * plausible loss, is an agent restart (or reordering): the tracker restarts from it and
 * counts a reset, never a loss.
 */

/** A forward jump above this is taken for a restart, not loss. */
export const MAX_SEQUENCE_GAP = 1 << 20;

/** Lost numbers between `last` and `seq` (u32): >= 0, or -1 for a restart, -2 for a repeat. */
export function sequenceGap(last: number, seq: number): number {
  const advance = (seq - last) >>> 0;
  if (advance === 0) return -2;
  if (advance > MAX_SEQUENCE_GAP) return -1;
  return advance - 1;
}

/** u32 counter difference, wrap-aware (sample pool, drops). */
export function u32Delta(last: number, value: number): number {
  return (value - last) >>> 0;
}

/** One numbered stream (a sub-agent's datagrams, a source's samples). */
export class SequenceTracker {
  /** -1 before the first number */
  last = -1;
  lost = 0;
  resets = 0;
  repeats = 0;

  /** Takes the next number; returns how many were lost before it. */
  update(seq: number): number {
    const last = this.last;
    this.last = seq;
    if (last < 0) return 0;
    const gap = sequenceGap(last, seq);
    if (gap >= 0) {
      this.lost += gap;
      return gap;
    }
    if (gap === -1) this.resets++;
    else this.repeats++;
    return 0;
  }
}
