/**
 * The evaluator's series store, by ingest rows: series added while rows are kept (the rows
 * widen), a pruned series' slot taken by a new one (which must not see the old samples),
 * and the ring of ingests growing while series keep their windows.
 */
import { describe, expect, it } from 'vitest';
import { Labels } from '../../alerts/labels.js';
import { MetricStore, type Window } from '../../alerts/store.js';

const labels = new Labels();
const ls = (pod: string) => labels.intern({ pod });

/** first/last value and sample count of a series within [start, end] */
function read(m: MetricStore, pod: string, start: number, end: number) {
  const s = m.series.get(ls(pod));
  if (s === undefined) return null;
  const span = m.span(start, end, { first: 0, last: 0 });
  const w: Window = { first: 0, last: 0 };
  if (span === null || m.within(s, span, w) === null) return null;
  return {
    first: m.value(s, w.first),
    last: m.value(s, w.last),
    count: m.sampleCount(s, w.last) - m.sampleCount(s, w.first) + 1,
    resets: m.resetCount(s, w.last) - m.resetCount(s, w.first),
  };
}

describe('series store', () => {
  it('keeps every series exact while series are added mid-way (rows widen) and ingests grow', () => {
    const m = new MetricStore('x', [60]);
    for (let t = 0; t < 100; t++) {
      m.begin(t * 1000);
      // series p0..p(t/2): more series every other second, 51 in the end (rows widen 8 → 57)
      for (let p = 0; p <= t / 2; p++) m.put(ls(`p${p}`), t * 10 + p);
    }
    for (const p of [0, 7, 8, 30, 49]) {
      const r = read(m, `p${p}`, 40_000, 99_000)!;
      const born = p * 2;
      expect(r.first, `p${p}`).toBe(Math.max(40, born) * 10 + p);
      expect(r.last).toBe(990 + p);
      expect(r.count).toBe(99 - Math.max(40, born) + 1);
      expect(r.resets).toBe(0);
    }
  });

  it('gives a pruned series slot to a new series, which sees none of the old samples', () => {
    const m = new MetricStore('x', [60]);
    let t = 0;
    for (; t < 30; t++) {
      m.begin(t * 1000);
      m.put(ls('old'), 1000 - t); // goes down every second: a reset each sample
      m.put(ls('keeper'), t);
    }
    const old = m.series.get(ls('old'))!;
    const oldIdx = old.idx;
    for (; t < 500; t++) {
      m.begin(t * 1000);
      m.put(ls('keeper'), t);
    }
    m.prune(t * 1000);
    expect(m.series.has(ls('old'))).toBe(false);
    m.begin(t * 1000);
    m.put(ls('new'), 5);
    m.put(ls('keeper'), t);
    expect(m.series.get(ls('new'))!.idx).toBe(oldIdx);
    // a holder of the pruned series learns it is gone; the new one is held
    expect(m.holds(old)).toBe(false);
    expect(m.holds(m.series.get(ls('new'))!)).toBe(true);
    // its window holds its one sample only: no reset, no sample of `old`
    expect(read(m, 'new', 0, t * 1000)).toEqual({ first: 5, last: 5, count: 1, resets: 0 });
    expect(read(m, 'keeper', (t - 60) * 1000, t * 1000)).toEqual({
      first: t - 60,
      last: t,
      count: 61,
      resets: 0,
    });
  });

  it('counts resets and skips instants a series missed', () => {
    const m = new MetricStore('x', [60]);
    const values = [5, 7, 2, 4, '_', '_', 1, 9];
    values.forEach((v, t) => {
      m.begin(t * 1000);
      if (v !== '_') m.put(ls('a'), v as number);
    });
    expect(read(m, 'a', 0, 7000)).toEqual({ first: 5, last: 9, count: 6, resets: 2 });
    expect(read(m, 'a', 4000, 5000)).toBeNull();
    expect(read(m, 'a', 3500, 6500)).toEqual({ first: 1, last: 1, count: 1, resets: 0 });
  });
});
