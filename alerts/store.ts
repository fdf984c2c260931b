/**
 * The in-process evaluator's time series: per metric, the vector of its last ingest (what an
 * instant selector sees: a series missing from an ingest is stale at once, as Prometheus
 * marks a series gone from a scrape; a metric not ingested for 5 minutes has none) and, for
 * metrics some rule reads over a range, each series' recent samples in a ring, kept as long
 * as the longest range that reads them. Rings keep running sums (reset corrections, resets,
 * values), so rate(), resets() and sum_over_time() cost two lookups, not a scan.
 *
 * Ranges longer than FINE_SECONDS (the error budget's days) are read by sum_over_time only,
 * and once a series is older than FINE_SECONDS, from a second ring of minute buckets (the
 * sum of the samples in each minute): exact but for the oldest minute of the range, where
 * a day of evaluations every second would otherwise be 86,400 samples a series.
 */
import type { LabelSet } from './labels.js';

/** Prometheus's lookback: an instant selector sees samples at most this old. */
export const LOOKBACK_MS = 5 * 60_000;
export const FINE_SECONDS = 6 * 3600;
const COARSE_STEP_MS = 60_000;

/** Samples in time order with running sums; logical indexes 0 … len-1, oldest first. */
export class Ring {
  t = new Float64Array(8);
  v = new Float64Array(8);
  /** Σ of the value before each decrease (Prometheus's counter-reset correction) */
  corr = new Float64Array(8);
  /** number of decreases */
  resets = new Float64Array(8);
  /** Σ of values */
  sum = new Float64Array(8);
  head = 0;
  len = 0;
  /** samples dropped so far (0: the ring holds the series since its first sample) */
  dropped = 0;

  private at(i: number): number {
    return (this.head + i) & (this.t.length - 1);
  }

  push(t: number, v: number): void {
    if (this.len === this.t.length) this.grow();
    const cap = this.t.length;
    const j = (this.head + this.len) & (cap - 1);
    if (this.len === 0) {
      this.corr[j] = 0;
      this.resets[j] = 0;
      this.sum[j] = v;
    } else {
      const p = (j - 1) & (cap - 1);
      const prev = this.v[p];
      const down = v < prev;
      this.corr[j] = this.corr[p] + (down ? prev : 0);
      this.resets[j] = this.resets[p] + (down ? 1 : 0);
      this.sum[j] = this.sum[p] + v;
    }
    this.t[j] = t;
    this.v[j] = v;
    this.len++;
  }

  private grow(): void {
    const n = this.t.length * 2;
    const copy = (a: Float64Array) => {
      const b = new Float64Array(n);
      for (let i = 0; i < this.len; i++) b[i] = a[this.at(i)];
      return b;
    };
    this.t = copy(this.t);
    this.v = copy(this.v);
    this.corr = copy(this.corr);
    this.resets = copy(this.resets);
    this.sum = copy(this.sum);
    this.head = 0;
  }

  /** Drops samples older than `t`. */
  dropBefore(t: number): void {
    while (this.len > 0 && this.t[this.head] < t) {
      this.head = (this.head + 1) & (this.t.length - 1);
      this.len--;
      this.dropped++;
    }
  }

  /** The first logical index whose time is ≥ t (len when none). */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.t[this.at(mid)] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first logical index whose time is > t. */
  upperBound(t: number): number {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.t[this.at(mid)] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  time(i: number): number {
    return this.t[this.at(i)];
  }
  value(i: number): number {
    return this.v[this.at(i)];
  }
  correction(i: number): number {
    return this.corr[this.at(i)];
  }
  resetCount(i: number): number {
    return this.resets[this.at(i)];
  }
  cumulative(i: number): number {
    return this.sum[this.at(i)];
  }
  get lastTime(): number {
    return this.len === 0 ? Number.NEGATIVE_INFINITY : this.t[this.at(this.len - 1)];
  }
}

export interface Series {
  readonly ls: LabelSet;
  /** samples for ranges up to FINE_SECONDS */
  readonly fine: Ring | null;
  /** closed minute buckets (time of their last sample, sum of their samples), for longer ranges */
  readonly coarse: Ring | null;
  /** the open bucket: since when, and the sum of its samples */
  bucketFrom: number;
  bucketSum: number;
  lastT: number;
}

/** One metric: its last ingest and, when read over ranges, its series' samples. */
export class MetricStore {
  /** the last ingest: what an instant selector reads */
  curLs: LabelSet[] = [];
  curV: number[] = [];
  curT = Number.NEGATIVE_INFINITY;
  readonly series = new Map<LabelSet, Series>();
  /** longest range ≤ FINE_SECONDS read over this metric, ms (0: instant only) */
  readonly fineMs: number;
  /** longest range beyond FINE_SECONDS, ms (0: none) */
  readonly coarseMs: number;

  constructor(
    readonly name: string,
    ranges: readonly number[],
  ) {
    this.fineMs = Math.max(0, ...ranges.filter((r) => r <= FINE_SECONDS)) * 1000;
    this.coarseMs = Math.max(0, ...ranges.filter((r) => r > FINE_SECONDS)) * 1000;
  }

  /** A coarse range: sum of the samples in (start, t] of a series (minute buckets, see above). */
  coarseSum(s: Series, start: number): number | null {
    const f = s.fine;
    if (f !== null && f.dropped === 0) {
      // the fine ring still holds the whole series: exact
      const a = f.lowerBound(start);
      const b = f.len - 1;
      return b < a ? null : f.cumulative(b) - f.cumulative(a) + f.value(a);
    }
    const c = s.coarse!;
    const a = c.lowerBound(start);
    const b = c.len - 1;
    const closed = b < a ? 0 : c.cumulative(b) - c.cumulative(a) + c.value(a);
    return closed + s.bucketSum;
  }

  get ranged(): boolean {
    return this.fineMs > 0 || this.coarseMs > 0;
  }

  /** Starts an ingest at t (ms): the previous vector is replaced. */
  begin(t: number): void {
    this.curLs = [];
    this.curV = [];
    this.curT = t;
  }

  put(ls: LabelSet, v: number): void {
    this.curLs.push(ls);
    this.curV.push(v);
    if (!this.ranged) return;
    let s = this.series.get(ls);
    if (s === undefined) {
      s = {
        ls,
        fine: this.fineMs > 0 ? new Ring() : null,
        coarse: this.coarseMs > 0 ? new Ring() : null,
        bucketFrom: Number.NEGATIVE_INFINITY,
        bucketSum: 0,
        lastT: Number.NEGATIVE_INFINITY,
      };
      this.series.set(ls, s);
    }
    const t = this.curT;
    if (t <= s.lastT) return; // one sample per instant
    if (s.coarse) {
      if (t - s.bucketFrom >= COARSE_STEP_MS) {
        if (s.bucketFrom > Number.NEGATIVE_INFINITY) s.coarse.push(s.lastT, s.bucketSum);
        s.coarse.dropBefore(t - this.coarseMs);
        s.bucketFrom = t;
        s.bucketSum = 0;
      }
      s.bucketSum += v;
    }
    s.lastT = t;
    if (s.fine) {
      s.fine.push(t, v);
      s.fine.dropBefore(t - Math.max(this.fineMs, this.coarseMs > 0 ? FINE_SECONDS * 1000 : 0));
    }
  }

  /** Replaces the vector with an evaluated one (a recording rule's output). */
  record(t: number, ls: readonly LabelSet[], v: readonly number[]): void {
    this.begin(t);
    for (let i = 0; i < ls.length; i++) this.put(ls[i], v[i]);
  }

  /** Forgets series with no sample within their longest range (plus the lookback). */
  prune(now: number): void {
    const keep = Math.max(this.fineMs, this.coarseMs) + LOOKBACK_MS;
    for (const [k, s] of this.series) if (now - s.lastT > keep) this.series.delete(k);
  }
}

export class SeriesStore {
  private readonly metrics = new Map<string, MetricStore>();

  /** `ranges`: metric → every range (seconds) a rule reads it over. */
  constructor(ranges: ReadonlyMap<string, readonly number[]>) {
    for (const [name, r] of ranges) this.metrics.set(name, new MetricStore(name, r));
  }

  /** The metric's store (undefined: no rule reads it). */
  get(name: string): MetricStore | undefined {
    return this.metrics.get(name);
  }

  names(): IterableIterator<string> {
    return this.metrics.keys();
  }

  prune(now: number): void {
    for (const m of this.metrics.values()) m.prune(now);
  }

  /** Every label set a series or a last ingest holds. */
  *labelSets(): Generator<LabelSet> {
    for (const m of this.metrics.values()) {
      yield* m.curLs;
      for (const s of m.series.values()) yield s.ls;
    }
  }

  get seriesCount(): number {
    let n = 0;
    for (const m of this.metrics.values()) n += m.ranged ? m.series.size : m.curLs.length;
    return n;
  }
}
