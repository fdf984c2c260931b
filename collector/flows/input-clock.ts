/**
 * The input's clock, by which flow windows close: the time of the traffic as the input
 * goes, robust to a few records stamped far from it (a corrupt capture: one record of
 * 2100 made every later packet "late", so no window closed until the table overflowed).
 *
 * A packet within `step` seconds of the clock is near: the clock advances to it. A packet
 * farther away (ahead or behind) does not move the clock; it keeps its own time (the flow
 * table puts it in its own window) and starts, or continues, a run of far packets. A run
 * is followed — the clock jumps to its latest packet — once `confirm` far packets came in
 * a row, none more than `step` before the one before it: the input really moved (a capture
 * resumed after a quiet hour, sparse traffic, captures concatenated in any order). A near
 * packet after a run, or a far packet that breaks it, shows the run's packets were time
 * outliers: they are counted then. A run still open at the end of the input is not
 * counted (nothing came after it). When the clock jumps back from a time that fewer than
 * `confirm` packets stood on (a capture whose first record is stamped 2100), those are the
 * outliers and are counted.
 */

/** What `see` made of a packet time. */
export const Seen = {
  /** near the clock (the clock may have advanced) */
  NEAR: 0,
  /** near, and the far run before it was counted as time outliers */
  RUN_ENDED: 1,
  /** far: the first of a new run (an earlier run was counted as time outliers) */
  FAR_NEW: 2,
  /** far: the run goes on */
  FAR: 3,
  /** the clock jumped to this packet's time (forward or back) */
  JUMPED: 4,
} as const;

export class InputClock {
  /** the input's time, seconds since the epoch (-Infinity before the first packet) */
  now = Number.NEGATIVE_INFINITY;
  /** packets counted as time outliers */
  outliers = 0;
  /** times the clock followed the input more than `step` away */
  jumps = 0;
  /** far packets in a row, not yet followed or counted */
  private run = 0;
  private runLast = 0;
  /** near packets since the clock was last set (at most `confirm`) */
  private support = 0;

  constructor(
    /** seconds from the clock beyond which a packet is far */
    readonly step: number,
    /** far packets in a row that move the clock */
    readonly confirm = 3,
  ) {}

  /** Judges one packet time (seconds); returns a Seen code. */
  see(t: number): number {
    const d = t - this.now;
    if (d <= this.step && d >= -this.step) {
      if (t > this.now) this.now = t;
      if (this.support < this.confirm) this.support++;
      if (this.run === 0) return Seen.NEAR;
      this.outliers += this.run;
      this.run = 0;
      return Seen.RUN_ENDED;
    }
    if (this.now === Number.NEGATIVE_INFINITY) {
      this.now = t;
      this.support = 1;
      return Seen.NEAR;
    }
    return this.far(t);
  }

  private far(t: number): number {
    let fresh = false;
    if (this.run > 0 && t >= this.runLast - this.step) this.run++;
    else {
      this.outliers += this.run;
      this.run = 1;
      fresh = true;
    }
    this.runLast = t;
    if (this.run < this.confirm) return fresh ? Seen.FAR_NEW : Seen.FAR;
    // the input moved: follow it. Back in time, away from a time that too few packets stood
    // on (a capture that starts with a record of 2100): those were the outliers. (Forward,
    // the run goes on from them, as sparse traffic does.)
    if (t < this.now && this.support < this.confirm) this.outliers += this.support;
    this.now = t;
    this.support = this.confirm;
    this.run = 0;
    this.jumps++;
    return Seen.JUMPED;
  }
}
