/**
 * Export sequence numbers → loss. NetFlow v9 numbers export packets (one per datagram),
 * IPFIX and v5 number data records (the header carries the count sent before it), each a
 * u32 that wraps, per observation domain / source id. After a message numbered `seq`
 * holding `count`, the next is expected at seq + count:
 * - ahead of that by at most MAX_GAP: the difference is missing, pending;
 * - behind it (by at most MAX_GAP): a late message (UDP reorders); its count fills the
 *   pending gap, it moves nothing back;
 * - farther either way: the exporter restarted (pending gaps are given up on, no loss).
 * Pending numbers are lost once pending for SETTLE_US of arrival time, or at `finish`:
 * `lost` only grows (a Prometheus counter). A message whose record count is unknown (a
 * data set held for its template) makes the next one a fresh start, not a gap.
 */
export const MAX_GAP = 1 << 20;
export const SETTLE_US = 2_000_000;

export class StreamSequence {
  /** the number expected next; -1 unknown */
  next = -1;
  lost = 0;
  missing = 0;
  late = 0;
  resets = 0;
  private since = 0;

  see(seq: number, count: number, tUs: number): void {
    this.settle(tUs);
    const next = this.next;
    if (next >= 0) {
      const ahead = (seq - next) >>> 0;
      if (ahead !== 0) {
        if (ahead <= MAX_GAP) {
          if (this.missing === 0) this.since = tUs;
          this.missing += ahead;
        } else {
          const behind = (next - seq) >>> 0;
          if (behind <= MAX_GAP) {
            this.late++;
            if (count > 0) this.missing -= Math.min(count, this.missing);
            return;
          }
          this.finish();
          this.resets++;
        }
      }
    }
    this.next = count < 0 ? -1 : (seq + count) >>> 0;
  }

  settle(nowUs: number): void {
    if (this.missing > 0 && nowUs - this.since >= SETTLE_US) this.finish();
  }

  finish(): void {
    this.lost += this.missing;
    this.missing = 0;
  }
}
