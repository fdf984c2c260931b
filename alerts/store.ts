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
import { Vec } from './vec.js';

/** Prometheus's lookback: an instant selector sees samples at most this old. */
export const LOOKBACK_MS = 5 * 60_000;
export const FINE_SECONDS = 6 * 3600;
const COARSE_STEP_MS = 60_000;

/**
 * Samples in time order with running sums; logical indexes 0 … len-1, oldest first. One
 * array, a sample's five numbers side by side (time, value, Σ of the value before each
 * decrease — Prometheus's counter-reset correction —, number of decreases, Σ of values):
 * a push touches one cache line, and a ring is one object for the collector to trace.
 */
export class Ring {
  private d = new Float64Array(8 * S);
  /** capacity in samples (a power of two) */
  private cap = 8;
  head = 0;
  len = 0;
  /** samples dropped so far (0: the ring holds the series since its first sample) */
  dropped = 0;

  private at(i: number): number {
    return ((this.head + i) & (this.cap - 1)) * S;
  }

  push(t: number, v: number): void {
    if (this.len === this.cap) this.grow();
    const d = this.d;
    const j = this.at(this.len);
    if (this.len === 0) {
      d[j + CORR] = 0;
      d[j + RESETS] = 0;
      d[j + SUM] = v;
    } else {
      const p = this.at(this.len - 1);
      const prev = d[p + V];
      const down = v < prev;
      d[j + CORR] = d[p + CORR] + (down ? prev : 0);
      d[j + RESETS] = d[p + RESETS] + (down ? 1 : 0);
      d[j + SUM] = d[p + SUM] + v;
    }
    d[j + T] = t;
    d[j + V] = v;
    this.len++;
  }

  private grow(): void {
    const n = new Float64Array(this.cap * 2 * S);
    for (let i = 0; i < this.len; i++) {
      const from = this.at(i);
      n.set(this.d.subarray(from, from + S), i * S);
    }
    this.d = n;
    this.cap *= 2;
    this.head = 0;
  }

  /** Drops samples older than `t`. */
  dropBefore(t: number): void {
    while (this.len > 0 && this.d[this.head * S + T] < t) {
      this.head = (this.head + 1) & (this.cap - 1);
      this.len--;
      this.dropped++;
    }
  }

  /** The first logical index whose time is ≥ t (len when none). */
  lowerBound(t: number): number {
    const n = this.len;
    if (n === 0 || this.time(0) >= t) return 0;
    // samples come at a steady interval: guess from it, then walk (a step or two)
    const last = this.time(n - 1);
    if (last < t) return n;
    const step = (last - this.time(0)) / (n - 1);
    let i = Math.min(n - 1, Math.max(0, n - 1 - Math.floor((last - t) / step)));
    if (this.time(i) >= t) {
      while (i > 0 && this.time(i - 1) >= t) i--;
      return i;
    }
    for (let k = 0; k < 4 && i < n; k++) {
      i++;
      if (i === n || this.time(i) >= t) return i;
    }
    let lo = i;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.time(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first logical index whose time is > t. */
  upperBound(t: number): number {
    if (this.len === 0 || this.time(this.len - 1) <= t) return this.len;
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.time(mid) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  time(i: number): number {
    return this.d[this.at(i) + T];
  }
  value(i: number): number {
    return this.d[this.at(i) + V];
  }
  correction(i: number): number {
    return this.d[this.at(i) + CORR];
  }
  resetCount(i: number): number {
    return this.d[this.at(i) + RESETS];
  }
  cumulative(i: number): number {
    return this.d[this.at(i) + SUM];
  }
  get lastTime(): number {
    return this.len === 0 ? Number.NEGATIVE_INFINITY : this.time(this.len - 1);
  }
}

/** A sample's fields in a Ring, and how many. */
const T = 0;
const V = 1;
const CORR = 2;
const RESETS = 3;
const SUM = 4;
const S = 5;

/** A sample's fields in an ingest's row, W numbers a series: ingest number + 1 (0: none), value, running sums. */
const SEQ = 0;
const VAL = 1;
const CORR_ = 2;
const RESETS_ = 3;
const COUNT = 4;
const SUM_ = 5;
const W = 6;

/** A series' running numbers, R a series in MetricStore.st (a typed array: their representation never changes). */
const FIRST = 0; // ingest number of its first sample (−1: none)
const LAST = 1; // … of its last
const LASTV = 2; // its last value
const RCORR = 3; // Σ of the value before each decrease, up to the last sample
const RRESETS = 4;
const RCOUNT = 5;
const RSUM = 6;
const LASTT = 7; // time of its last sample, ms
const BFROM = 8; // the open minute bucket: since when
const BSUM = 9; // … and the sum of its samples
const R = 10;

export class Series {
  constructor(
    readonly ls: LabelSet,
    /** its slot in the metric's rows and running numbers */
    readonly idx: number,
    /** the slot's generation when this series took it (MetricStore.holds) */
    readonly gen: number,
    /** closed minute buckets (time of their last sample, sum of their samples), for longer ranges */
    readonly coarse: Ring | null,
  ) {}
}

/** A window of a series: its first and last sample (ingest numbers) within a range. */
export interface Window {
  first: number;
  last: number;
}

/**
 * One metric: its last ingest and, when read over ranges, its series' samples. The
 * ingests' times are kept once for the metric (every series of a metric is fed at the same
 * instants), so a range is located once and a series costs a couple of array reads.
 *
 * The samples are stored by ingest, not by series: ingest k is one row (slot k & (cap − 1))
 * holding every series' sample side by side, in the order the series were first seen. A
 * feed puts the VFs in the same order every round and a range reads two rows in that order,
 * so both walk memory forwards; laid out by series (a 6 KB ring each, 20,000 of them) every
 * sample was a cache miss, and the misses were half of a round over 5,000 VFs.
 */
export class MetricStore {
  /** the last ingest: what an instant selector reads (reused by the next) */
  readonly cur = new Vec();
  curT = Number.NEGATIVE_INFINITY;
  readonly series = new Map<LabelSet, Series>();
  /** the same series in an array (faster to walk than the map) */
  readonly list: Series[] = [];
  /** longest range ≤ FINE_SECONDS read over this metric, ms (0: instant only) */
  readonly fineMs: number;
  /** longest range beyond FINE_SECONDS, ms (0: none) */
  readonly coarseMs: number;
  /** how long ingests are kept (the longest fine range; FINE_SECONDS with coarse ranges) */
  private readonly keepMs: number;
  private times = new Float64Array(8);
  /**
   * ingest rows, `cap` slots, each `slots` × W numbers; a slot's row is made when an ingest
   * first takes it (begin), so doubling the ring allocates nothing — a metric kept for 6
   * hours doubles up to 32,768 slots, and making each doubling's rows at once cost a slow
   * round each time
   */
  private rows: (Float64Array | undefined)[] = [];
  private cap = 8;
  /** series slots per row */
  private slots = 8;
  /** slots of pruned series, for new ones */
  private readonly free: number[] = [];
  /**
   * each slot's generation, raised when its series is pruned. A holder asks `holds()`
   * rather than reading a flag on the series: the first prune that set such a flag
   * invalidated all the code V8 had compiled on the flag being constant (every series'
   * flag was false until then), and the rounds after the sweep ran unoptimized.
   */
  private gens = new Uint32Array(8);
  private used = 0;
  /** each slot's running numbers, R a slot */
  private st = new Float64Array(8 * R);
  /** ingests so far; those kept are seq − len … seq − 1 */
  private seq = 0;
  private len = 0;

  constructor(
    readonly name: string,
    ranges: readonly number[],
  ) {
    this.fineMs = Math.max(0, ...ranges.filter((r) => r <= FINE_SECONDS)) * 1000;
    this.coarseMs = Math.max(0, ...ranges.filter((r) => r > FINE_SECONDS)) * 1000;
    this.keepMs = this.coarseMs > 0 ? Math.max(this.fineMs, FINE_SECONDS * 1000) : this.fineMs;
    this.rows.length = this.cap;
  }

  get ranged(): boolean {
    return this.fineMs > 0 || this.coarseMs > 0;
  }

  /** The time of ingest k (one of those kept). */
  timeOf(k: number): number {
    return this.times[k & (this.cap - 1)];
  }

  /** Starts an ingest at t (ms): the previous vector is replaced. */
  begin(t: number): void {
    this.cur.reset();
    const again = t === this.curT;
    this.curT = t;
    if (this.keepMs === 0 || again) return;
    while (this.len > 0 && this.timeOf(this.seq - this.len) < t - this.keepMs) this.len--;
    if (this.len === this.cap) this.grow();
    const slot = this.seq & (this.cap - 1);
    this.times[slot] = t;
    this.rows[slot] ??= new Float64Array(this.slots * W);
    this.seq++;
    this.len++;
  }

  /** Doubles the ingests kept: the kept rows move to their new slots (the others come with use). */
  private grow(): void {
    const cap = this.cap * 2;
    const times = new Float64Array(cap);
    const rows: (Float64Array | undefined)[] = new Array(cap);
    for (let k = this.seq - this.len; k < this.seq; k++) {
      times[k & (cap - 1)] = this.timeOf(k);
      rows[k & (cap - 1)] = this.rows[k & (this.cap - 1)];
    }
    this.rows = rows;
    this.times = times;
    this.cap = cap;
  }

  /** Makes room for more series: every row and the running numbers, ×1.5. */
  private widen(): void {
    const slots = Math.ceil(this.slots * 1.5);
    for (let i = 0; i < this.rows.length; i++) {
      const old = this.rows[i];
      if (old === undefined) continue;
      const row = new Float64Array(slots * W);
      row.set(old);
      this.rows[i] = row;
    }
    const st = new Float64Array(slots * R);
    st.set(this.st);
    this.st = st;
    const gens = new Uint32Array(slots);
    gens.set(this.gens);
    this.gens = gens;
    this.slots = slots;
  }

  put(ls: LabelSet, v: number): void {
    if (this.ranged) this.putTo(ls, this.handle(ls), v);
    else this.cur.push(ls, v);
  }

  /**
   * A whole vector as this instant's ingest (after begin): for a metric read at instants
   * only, a copy of the arrays rather than a put per series.
   */
  putAll(x: Vec): void {
    if (this.ranged || this.cur.n > 0) {
      for (let i = 0; i < x.n; i++) this.put(x.ls[i], x.v[i]);
      return;
    }
    this.cur.copyFrom(x);
  }

  /** The series of a label set, made when new (null: the metric keeps no ranges). */
  handle(ls: LabelSet): Series | null {
    if (!this.ranged) return null;
    let s = this.series.get(ls);
    if (s === undefined) {
      const idx = this.slot();
      s = new Series(ls, idx, this.gens[idx], this.coarseMs > 0 ? new Ring() : null);
      this.series.set(ls, s);
      this.list.push(s);
    }
    return s;
  }

  /** A free slot, its running numbers reset (its rows hold nothing newer than its FIRST). */
  private slot(): number {
    let i = this.free.pop();
    if (i === undefined) {
      if (this.used === this.slots) this.widen();
      i = this.used++;
    }
    const st = this.st;
    const o = i * R;
    st.fill(0, o, o + R);
    st[o + FIRST] = -1;
    st[o + LAST] = -1;
    st[o + LASTT] = Number.NEGATIVE_INFINITY;
    st[o + BFROM] = Number.NEGATIVE_INFINITY;
    return i;
  }

  /** Whether the series is still this metric's (not pruned): a holder takes a new handle when not. */
  holds(s: Series): boolean {
    return this.gens[s.idx] === s.gen;
  }

  /** time of a series' last sample, ms */
  lastT(s: Series): number {
    return this.st[s.idx * R + LASTT];
  }

  /** put() with the series in hand (a feed keeps its handles: no lookup per sample). */
  putTo(ls: LabelSet, s: Series | null, v: number): void {
    this.cur.push(ls, v);
    if (s === null) return;
    const t = this.curT;
    const st = this.st;
    const o = s.idx * R;
    if (t <= st[o + LASTT]) return; // one sample per instant
    if (s.coarse) this.bucket(s, o, t, v);
    st[o + LASTT] = t;
    if (this.keepMs === 0) return;
    const k = this.seq - 1;
    const lastV = st[o + LASTV];
    const count = st[o + RCOUNT];
    // a counter reset (the value went down) without a branch: code first reached at a
    // reset would run without type feedback and deoptimize the feed for a few rounds
    const down = count > 0 && v < lastV;
    st[o + RCORR] += down ? lastV : 0;
    st[o + RRESETS] += down ? 1 : 0;
    st[o + RCOUNT] = count + 1;
    st[o + RSUM] += v;
    st[o + LASTV] = v;
    if (st[o + FIRST] < 0) st[o + FIRST] = k;
    st[o + LAST] = k;
    const d = this.rows[k & (this.cap - 1)]!;
    const j = s.idx * W;
    d[j + SEQ] = k + 1;
    d[j + VAL] = v;
    d[j + CORR_] = st[o + RCORR];
    d[j + RESETS_] = st[o + RRESETS];
    d[j + COUNT] = count + 1;
    d[j + SUM_] = st[o + RSUM];
  }

  /** Adds a sample to the series' open minute bucket, closing it when a minute has passed. */
  private bucket(s: Series, o: number, t: number, v: number): void {
    const st = this.st;
    const c = s.coarse!;
    if (t - st[o + BFROM] >= COARSE_STEP_MS) {
      if (st[o + BFROM] > Number.NEGATIVE_INFINITY) c.push(st[o + LASTT], st[o + BSUM]);
      c.dropBefore(t - this.coarseMs);
      st[o + BFROM] = t;
      st[o + BSUM] = 0;
    }
    st[o + BSUM] += v;
  }

  /** The ingests within [start, end] (ms): [a, b] ingest numbers, or null when none. */
  span(start: number, end: number, out: Window): Window | null {
    let lo = this.seq - this.len;
    let hi = this.seq;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.timeOf(mid) < start) lo = mid + 1;
      else hi = mid;
    }
    let b = this.seq - 1;
    while (b >= lo && this.timeOf(b) > end) b--;
    if (b < lo) return null;
    out.first = lo;
    out.last = b;
    return out;
  }

  /** The series' first and last sample within a span (null: none there). */
  within(s: Series, span: Window, out: Window): Window | null {
    const o = s.idx * R;
    const first = this.st[o + FIRST];
    const last = this.st[o + LAST];
    if (this.keepMs === 0 || first < 0 || last < span.first || first > span.last) return null;
    const mask = this.cap - 1;
    const rows = this.rows;
    const j = s.idx * W + SEQ;
    let a = Math.max(span.first, first);
    const stop = Math.min(span.last, last);
    while (a <= stop && rows[a & mask]![j] !== a + 1) a++;
    if (a > stop) return null;
    let b = stop;
    while (b > a && rows[b & mask]![j] !== b + 1) b--;
    out.first = a;
    out.last = b;
    return out;
  }

  /** A field of a series' sample of ingest k (one `within` found). */
  value(s: Series, k: number): number {
    return this.rows[k & (this.cap - 1)]![s.idx * W + VAL];
  }
  correction(s: Series, k: number): number {
    return this.rows[k & (this.cap - 1)]![s.idx * W + CORR_];
  }
  resetCount(s: Series, k: number): number {
    return this.rows[k & (this.cap - 1)]![s.idx * W + RESETS_];
  }
  sampleCount(s: Series, k: number): number {
    return this.rows[k & (this.cap - 1)]![s.idx * W + COUNT];
  }
  cumulative(s: Series, k: number): number {
    return this.rows[k & (this.cap - 1)]![s.idx * W + SUM_];
  }

  /** A coarse range: sum of the samples in [start, now] of a series (minute buckets, see above). */
  coarseSum(s: Series, start: number, end: number, scratch: Window): number | null {
    const first = this.st[s.idx * R + FIRST];
    if (first >= 0 && first >= this.seq - this.len) {
      // the fine rows still hold the whole series: exact
      const span = this.span(start, end, { first: 0, last: 0 });
      const w = span && this.within(s, span, scratch);
      return w ? this.cumulative(s, w.last) - this.cumulative(s, w.first) + this.value(s, w.first) : null;
    }
    const c = s.coarse!;
    const a = c.lowerBound(start);
    const b = c.len - 1;
    const closed = b < a ? 0 : c.cumulative(b) - c.cumulative(a) + c.value(a);
    return closed + this.st[s.idx * R + BSUM];
  }

  /** Forgets series with no sample within their longest range (plus the lookback); frees their slots. */
  prune(now: number): void {
    const keep = Math.max(this.fineMs, this.coarseMs) + LOOKBACK_MS;
    let kept = 0;
    for (const s of this.list) {
      if (now - this.lastT(s) > keep) {
        this.gens[s.idx]++;
        this.series.delete(s.ls);
        this.free.push(s.idx);
      } else this.list[kept++] = s;
    }
    this.list.length = kept;
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

  /** Calls `f` on every label set a series or a last ingest holds. */
  eachLabelSet(f: (ls: LabelSet) => void): void {
    for (const m of this.metrics.values()) {
      for (let i = 0; i < m.cur.n; i++) f(m.cur.ls[i]);
      for (const s of m.series.values()) f(s.ls);
    }
  }

  get seriesCount(): number {
    let n = 0;
    for (const m of this.metrics.values()) n += m.ranged ? m.series.size : m.cur.n;
    return n;
  }
}
