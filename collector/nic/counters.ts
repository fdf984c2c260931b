/**
 * Counter math for cumulative NIC counters: deltas, rates, resets, 32-bit wraps, absurd
 * jumps, stale series.
 *
 * A series is one cumulative counter of one thing, keyed by a compact string such as
 * `${source}|${node}|${pf}|${vf}|${counter}`. `update()` takes a reading and its timestamp
 * and returns the series' state object, which is created once per series and updated in
 * place (no allocation per update; hold it, read it, never write it):
 *
 * - first reading → `last: 'first'`, delta 0, rate null;
 * - increase → delta = new - prev, rate = delta / elapsed seconds;
 * - decrease of a 32-bit counter, previous value close to 2^32 (top quarter of the u32
 *   range) and new value small (bottom quarter) → a 32-bit wrap: delta = new + 2^32 - prev
 *   (`wraps`++);
 * - any other decrease, and every decrease of a 64-bit counter → a reset (driver reload,
 *   VF re-created): delta = new value (`resets`++), never negative. A 64-bit counter does
 *   not wrap in the life of a device, so reading its drop as a wrap would invent ~2^32 of
 *   traffic that never crossed the wire;
 * - a delta above `maxRate` × elapsed seconds (elapsed at least 1 s) → an absurd jump
 *   (garbage from a driver, a counter swapped under us): delta 0, the new value becomes the
 *   baseline (`jumps`++);
 * - a value that is not a finite non-negative number → ignored (`invalid`++), delta 0.
 *
 * `total` is monotonic (total += delta, starting at 0 on the first reading): what a
 * Prometheus counter exposes, so resets and wraps of the device counter never make it go
 * down. `sweep(now)` marks series not updated for `staleAfterMs` stale and removes those not
 * updated for `removeAfterMs`.
 */

export type CounterEvent = 'first' | 'ok' | 'reset' | 'wrap' | 'jump' | 'invalid';

/**
 * How wide a device keeps a counter, in bits. Every source declares it per field where it
 * reads the field (the kernel's or the device's own width): only a 32-bit counter wraps.
 */
export type CounterWidth = 32 | 64;

/** The state of one series; updated in place by CounterTracker. */
export interface CounterSeries {
  readonly key: string;
  /** the last valid cumulative reading (NaN before the first one) */
  value: number;
  /** monotonic sum of deltas since the series appeared (a Prometheus counter) */
  total: number;
  /** increase at the last update (0 on the first reading, a jump or an invalid value) */
  delta: number;
  /** delta per second over the last interval; null on the first reading, a jump, or no elapsed time */
  rate: number | null;
  /** what the last update was */
  last: CounterEvent;
  resets: number;
  wraps: number;
  jumps: number;
  /** time of the last valid reading (ms) */
  at: number;
  /** time of the first reading (ms) */
  firstSeen: number;
  /** not updated for staleAfterMs (set by sweep, cleared by update) */
  stale: boolean;
  /** per-series absurd-jump limit, units per second */
  readonly maxRate: number;
  /** the device counter's width: only a 32-bit counter wraps */
  readonly width: CounterWidth;
  /** removed from its tracker (by sweep or delete): a holder must drop it and ask again */
  removed: boolean;
}

export interface CounterTrackerOptions {
  /** a series not updated for this long is marked stale by sweep() (default 60 s) */
  staleAfterMs?: number;
  /** a series not updated for this long is removed by sweep() (default 5 min) */
  removeAfterMs?: number;
  /** default absurd-jump limit in units per second (default: Infinity, no limit) */
  maxRate?: number;
}

export interface CounterTrackerStats {
  resets: number;
  wraps: number;
  jumps: number;
  invalid: number;
  /** series removed by sweep() or delete() */
  removed: number;
}

const U32 = 2 ** 32;
/** a wrap is a decrease from the top quarter of the u32 range into its bottom quarter */
const WRAP_WINDOW = 2 ** 30;

/** True when a decrease from `prev` to `value` looks like a 32-bit counter wrapping. */
export function looksLikeWrap32(prev: number, value: number): boolean {
  return prev < U32 && prev >= U32 - WRAP_WINDOW && value < WRAP_WINDOW;
}

export class CounterTracker {
  readonly staleAfterMs: number;
  readonly removeAfterMs: number;
  readonly defaultMaxRate: number;
  readonly stats: CounterTrackerStats = { resets: 0, wraps: 0, jumps: 0, invalid: 0, removed: 0 };
  private readonly series = new Map<string, CounterSeries>();

  constructor(options: CounterTrackerOptions = {}) {
    this.staleAfterMs = options.staleAfterMs ?? 60_000;
    this.removeAfterMs = options.removeAfterMs ?? 300_000;
    this.defaultMaxRate = options.maxRate ?? Number.POSITIVE_INFINITY;
    if (!(this.staleAfterMs > 0) || !(this.removeAfterMs >= this.staleAfterMs)) {
      throw new RangeError(
        `counter tracker: need 0 < staleAfterMs (${this.staleAfterMs}) <= removeAfterMs (${this.removeAfterMs})`,
      );
    }
    if (!(this.defaultMaxRate > 0)) throw new RangeError(`counter tracker: maxRate must be > 0`);
  }

  /**
   * Records a cumulative reading taken at `at` (ms). `maxRate` (units per second) and
   * `width` (the device counter's bits, default 64: a decrease is a reset) apply when the
   * series is created; later calls keep the series' own.
   */
  update(
    key: string,
    value: number,
    at: number,
    maxRate = this.defaultMaxRate,
    width: CounterWidth = 64,
  ): CounterSeries {
    const s = this.get(key) ?? this.create(key, at, maxRate, width);
    observe(s, value, at, this.stats);
    return s;
  }

  /**
   * Records a reading on a series held from an earlier `update()` (not `removed`): the
   * same as `update()` without the lookup by key. The NIC collector keeps its series this
   * way — thousands of string-keyed lookups per round were most of its CPU.
   */
  observe(s: CounterSeries, value: number, at: number): CounterSeries {
    observe(s, value, at, this.stats);
    return s;
  }

  private create(key: string, at: number, maxRate: number, width: CounterWidth): CounterSeries {
    // Every series starts with the same field representations (V8 "double" for the
    // numbers, tagged for rate): created with 0/null, a series' first double write would
    // migrate its map, and code optimized for one map deoptimized on the next series —
    // over and over with thousands of series read once a second (measured: 114 deopts of
    // observe() in 25 rounds, the round 8x slower).
    const s: CounterSeries = {
      key,
      value: Number.NaN,
      total: Number.NaN,
      delta: Number.NaN,
      rate: Number.NaN,
      last: 'first',
      resets: 0,
      wraps: 0,
      jumps: 0,
      at,
      firstSeen: at,
      stale: false,
      maxRate,
      width,
      removed: false,
    };
    s.total = 0;
    s.delta = 0;
    s.rate = null;
    this.series.set(key, s);
    return s;
  }

  get(key: string): CounterSeries | undefined {
    return this.series.get(key);
  }

  /** Removes a series (its thing is gone); true when it existed. */
  delete(key: string): boolean {
    const s = this.series.get(key);
    if (s === undefined) return false;
    s.removed = true;
    this.series.delete(key);
    this.stats.removed++;
    return true;
  }

  get size(): number {
    return this.series.size;
  }

  /** Marks stale and removes old series; returns how many were removed. */
  sweep(now: number): number {
    let removed = 0;
    for (const [key, s] of this.series) {
      const age = now - s.at;
      if (age > this.removeAfterMs) {
        s.removed = true;
        this.series.delete(key);
        removed++;
      } else {
        s.stale = age > this.staleAfterMs;
      }
    }
    this.stats.removed += removed;
    return removed;
  }

  values(): IterableIterator<CounterSeries> {
    return this.series.values();
  }
}

/**
 * A copy of a series as it is now (for snapshots of state). An explicit literal, not a
 * spread: every copy gets the same map with double fields, so readers stay monomorphic.
 */
export function copySeries(s: Readonly<CounterSeries>): CounterSeries {
  return {
    key: s.key,
    value: s.value,
    total: s.total,
    delta: s.delta,
    rate: s.rate,
    last: s.last,
    resets: s.resets,
    wraps: s.wraps,
    jumps: s.jumps,
    at: s.at,
    firstSeen: s.firstSeen,
    stale: s.stale,
    maxRate: s.maxRate,
    width: s.width,
    removed: s.removed,
  };
}

function observe(s: CounterSeries, value: number, at: number, stats: CounterTrackerStats): void {
  if (!(value >= 0) || value === Number.POSITIVE_INFINITY) {
    s.delta = 0;
    s.rate = null;
    s.last = 'invalid';
    stats.invalid++;
    return;
  }
  const prev = s.value;
  const prevAt = s.at;
  s.stale = false;
  s.at = at;
  s.value = value;
  if (Number.isNaN(prev)) {
    s.delta = 0;
    s.rate = null;
    s.last = 'first';
    return;
  }
  let delta: number;
  let event: CounterEvent;
  if (value >= prev) {
    delta = value - prev;
    event = 'ok';
  } else if (s.width === 32 && looksLikeWrap32(prev, value)) {
    delta = value + U32 - prev;
    event = 'wrap';
  } else {
    delta = value;
    event = 'reset';
  }
  const dtMs = at - prevAt;
  const limit = s.maxRate * Math.max(dtMs / 1000, 1);
  if (delta > limit) {
    s.delta = 0;
    s.rate = null;
    s.last = 'jump';
    s.jumps++;
    stats.jumps++;
    return;
  }
  if (event === 'wrap') {
    s.wraps++;
    stats.wraps++;
  } else if (event === 'reset') {
    s.resets++;
    stats.resets++;
  }
  s.delta = delta;
  s.total += delta;
  s.rate = dtMs > 0 ? (delta * 1000) / dtMs : null;
  s.last = event;
}
