/**
 * Counter math on sequences: first sample, increases and rates, resets (never negative),
 * 32-bit wraps, absurd jumps, invalid values, monotonic totals, stale marking and removal.
 */
import { describe, expect, it } from 'vitest';
import { CounterTracker, looksLikeWrap32 } from '../../collector/nic/counters.js';

const U32 = 2 ** 32;

/** Feeds [value, atMs] pairs to one series; returns (delta, total, event) after each. */
function run(t: CounterTracker, key: string, seq: [number, number][], maxRate?: number, width: 32 | 64 = 32) {
  return seq.map(([v, at]) => {
    const s = t.update(key, v, at, maxRate, width);
    return { delta: s.delta, total: s.total, rate: s.rate, last: s.last };
  });
}

describe('CounterTracker', () => {
  it('gives no delta on the first sample, then deltas and rates', () => {
    const t = new CounterTracker();
    const r = run(t, 'a', [
      [1000, 0],
      [1500, 1000],
      [3500, 3000],
      [3500, 4000],
    ]);
    expect(r).toEqual([
      { delta: 0, total: 0, rate: null, last: 'first' },
      { delta: 500, total: 500, rate: 500, last: 'ok' },
      { delta: 2000, total: 2500, rate: 1000, last: 'ok' },
      { delta: 0, total: 2500, rate: 0, last: 'ok' },
    ]);
  });

  it('treats a decrease as a reset: delta = new value, never negative, total keeps rising', () => {
    const t = new CounterTracker();
    const r = run(t, 'a', [
      [5_000_000, 0],
      [6_000_000, 1000],
      [300, 2000], // driver reload: counters restart
      [900, 3000],
      [0, 4000], // VF re-created
    ]);
    expect(r.map((x) => x.delta)).toEqual([0, 1_000_000, 300, 600, 0]);
    expect(r.map((x) => x.last)).toEqual(['first', 'ok', 'reset', 'ok', 'reset']);
    expect(r.at(-1)!.total).toBe(1_000_900);
    expect(Math.min(...r.map((x) => x.delta))).toBeGreaterThanOrEqual(0);
    const s = t.get('a')!;
    expect(s.resets).toBe(2);
    expect(t.stats.resets).toBe(2);
  });

  it('a 64-bit counter going down is a reset, whatever its values: only a 32-bit counter wraps', () => {
    const t = new CounterTracker();
    // a VF re-created: rx_bytes 4,000,000,000 → 10,000,000 (as a wrap: ~305 MB never sent)
    const wide = run(
      t,
      'vf',
      [
        [4_000_000_000, 0],
        [10_000_000, 1000],
      ],
      undefined,
      64,
    );
    expect(wide[1]).toMatchObject({ delta: 10_000_000, total: 10_000_000, last: 'reset' });
    const narrow = run(
      t,
      'drops',
      [
        [4_000_000_000, 0],
        [10_000_000, 1000],
      ],
      undefined,
      32,
    );
    expect(narrow[1]).toMatchObject({ delta: 10_000_000 + U32 - 4_000_000_000, last: 'wrap' });
    expect(t.update('default', 4_000_000_000, 0).width).toBe(64);
    expect(t.update('default', 5, 1000)).toMatchObject({ last: 'reset', delta: 5 });
    expect(t.stats).toMatchObject({ wraps: 1, resets: 2 });
  });

  it('detects a 32-bit wrap (prev near 2^32, new small)', () => {
    const t = new CounterTracker();
    const r = run(t, 'drops', [
      [U32 - 1000, 0],
      [U32 - 10, 1000],
      [90, 2000], // wrapped: 10 to reach 2^32, then 90
      [190, 3000],
    ]);
    expect(r.map((x) => x.delta)).toEqual([0, 990, 100, 100]);
    expect(r[2]!.last).toBe('wrap');
    expect(r.at(-1)!.total).toBe(1190);
    expect(t.get('drops')!.wraps).toBe(1);
    expect(t.stats).toMatchObject({ wraps: 1, resets: 0 });
  });

  it('does not mistake a reset for a wrap (prev not near 2^32, or counter beyond 32 bits)', () => {
    expect(looksLikeWrap32(U32 - 5, 3)).toBe(true);
    expect(looksLikeWrap32(2 ** 31, 3)).toBe(false); // middle of the range: a reset
    expect(looksLikeWrap32(U32 - 5, 2 ** 31)).toBe(false); // new value not small
    expect(looksLikeWrap32(U32 + 5, 3)).toBe(false); // a 64-bit counter
    const t = new CounterTracker();
    const r = run(t, 'x', [
      [U32 + 5000, 0],
      [100, 1000],
    ]);
    expect(r[1]).toMatchObject({ delta: 100, last: 'reset' });
  });

  it('guards absurd jumps: delta dropped, new baseline, counted', () => {
    const t = new CounterTracker({ maxRate: 1e6 });
    const r = run(t, 'b', [
      [0, 0],
      [500_000, 1000],
      [1e15, 2000], // garbage from a driver
      [1e15 + 1000, 3000],
      [800_000, 4000], // back down: a reset to a plausible value
    ]);
    expect(r.map((x) => x.last)).toEqual(['first', 'ok', 'jump', 'ok', 'reset']);
    expect(r.map((x) => x.delta)).toEqual([0, 500_000, 0, 1000, 800_000]);
    expect(r.at(-1)!.total).toBe(500_000 + 1000 + 800_000);
    expect(t.stats.jumps).toBe(1);
    // a reset to an implausibly large value is a jump too (delta 0, no spike)
    const r2 = run(t, 'c', [
      [10, 0],
      [5, 1000],
      [1e12, 2000],
    ]);
    expect(r2.map((x) => [x.last, x.delta])).toEqual([
      ['first', 0],
      ['reset', 5],
      ['jump', 0],
    ]);
  });

  it('applies the jump limit over at least one second and per series', () => {
    const t = new CounterTracker();
    // two quick reads 10 ms apart: 100 units is fine under a 1000/s limit (floor of 1 s)
    expect(
      run(
        t,
        'q',
        [
          [0, 0],
          [100, 10],
        ],
        1000,
      ).map((x) => x.last),
    ).toEqual(['first', 'ok']);
    expect(run(t, 'q', [[5000, 20]]).map((x) => x.last)).toEqual(['jump']);
  });

  it('ignores invalid values and counts them', () => {
    const t = new CounterTracker();
    const r = run(t, 'i', [
      [10, 0],
      [Number.NaN, 1000],
      [-5, 2000],
      [Number.POSITIVE_INFINITY, 2500],
      [20, 3000],
    ]);
    expect(r.map((x) => x.last)).toEqual(['first', 'invalid', 'invalid', 'invalid', 'ok']);
    expect(r.at(-1)).toMatchObject({ delta: 10, total: 10, rate: 10 / 3 });
    expect(t.stats.invalid).toBe(3);
    // an invalid first value does not become a baseline
    const r2 = run(t, 'j', [
      [Number.NaN, 0],
      [50, 1000],
      [60, 2000],
    ]);
    expect(r2.map((x) => [x.last, x.delta])).toEqual([
      ['invalid', 0],
      ['first', 0],
      ['ok', 10],
    ]);
  });

  it('marks series stale after staleAfterMs and removes them after removeAfterMs', () => {
    const t = new CounterTracker({ staleAfterMs: 1000, removeAfterMs: 5000 });
    const a = t.update('a', 1, 0);
    t.update('b', 1, 0);
    t.update('b', 2, 3000);
    expect(t.sweep(500)).toBe(0);
    expect(a.stale).toBe(false);
    expect(t.sweep(2000)).toBe(0);
    expect(a.stale).toBe(true);
    t.update('a', 2, 2500); // seen again: fresh
    expect(a.stale).toBe(false);
    expect(t.sweep(7600)).toBe(1); // a last seen at 2500
    expect(t.get('a')).toBeUndefined();
    expect(t.get('b')!.stale).toBe(true);
    expect(t.sweep(8001)).toBe(1);
    expect(t.size).toBe(0);
    expect(t.stats.removed).toBe(2);
    // a removed series starts over
    expect(t.update('a', 100, 9000)).toMatchObject({ last: 'first', total: 0 });
  });

  it('returns the same state object for a series (no allocation per update)', () => {
    const t = new CounterTracker();
    const s1 = t.update('k', 1, 0);
    const s2 = t.update('k', 2, 1000);
    expect(s1).toBe(s2);
    expect(t.delete('k')).toBe(true);
    expect(t.delete('k')).toBe(false);
  });

  it('rejects inconsistent options', () => {
    expect(() => new CounterTracker({ staleAfterMs: 10, removeAfterMs: 5 })).toThrow(RangeError);
    expect(() => new CounterTracker({ maxRate: 0 })).toThrow(RangeError);
  });
});
