/**
 * InputClock, the time by which flow windows close: follows the input, is not moved by a
 * few records stamped far from it (counted as time outliers once the input shows they
 * were), and follows the input when it really moves (a run of far packets).
 */
import { describe, expect, it } from 'vitest';
import { InputClock, Seen } from '../../collector/flows/input-clock.js';

const T = 1_795_000_000;
const Y2100 = Date.parse('2100-01-01T00:00:00Z') / 1000;

function feed(times: number[]) {
  const c = new InputClock(3600);
  const codes = times.map((t) => c.see(t));
  return { codes, now: c.now, outliers: c.outliers, jumps: c.jumps };
}

describe('InputClock', () => {
  it('advances with the traffic, disorder within the step included', () => {
    const r = feed([T, T + 2, T + 1, T + 3, T + 3600]);
    expect(r).toMatchObject({ now: T + 3600, outliers: 0, jumps: 0 });
    expect(r.codes.every((c) => c === Seen.NEAR)).toBe(true);
  });

  it('is not moved by records far ahead or behind, and counts each once the traffic goes on', () => {
    const r = feed([T, T + 1, Y2100, T + 2, 0, T + 3, Y2100, Y2100 + 7, T + 4]);
    expect(r).toMatchObject({ now: T + 4, outliers: 4, jumps: 0 });
    expect(r.codes).toEqual([
      Seen.NEAR,
      Seen.NEAR,
      Seen.FAR_NEW,
      Seen.RUN_ENDED,
      Seen.FAR_NEW,
      Seen.RUN_ENDED,
      Seen.FAR_NEW,
      Seen.FAR,
      Seen.RUN_ENDED,
    ]);
  });

  it('follows the input after three far packets in a row: a resumed capture, sparse traffic', () => {
    expect(feed([T, T + 1, T + 2, T + 86_400, T + 86_401, T + 86_402, T + 86_403])).toMatchObject({
      now: T + 86_403,
      outliers: 0,
      jumps: 1,
    });
    expect(feed([T, T + 7200, T + 14_400, T + 21_600, T + 28_800])).toMatchObject({
      now: T + 21_600,
      outliers: 0,
      jumps: 1,
    });
  });

  it('goes back when the input does, and a first record far from the rest is the outlier', () => {
    expect(feed([T + 86_400, T + 86_401, T + 86_402, T, T + 1, T + 2])).toMatchObject({
      now: T + 2,
      outliers: 0,
      jumps: 1,
    });
    expect(feed([Y2100, T, T + 1, T + 2, T + 3])).toMatchObject({ now: T + 3, outliers: 1, jumps: 1 });
  });

  it('a run broken by a far packet that does not go on from it is counted, the new one starts', () => {
    // two corrupt records (2100, then 1975) are no run: each is an outlier
    const r = feed([T, T + 1, Y2100, Date.parse('1975-01-01T00:00:00Z') / 1000, T + 2]);
    expect(r).toMatchObject({ now: T + 2, outliers: 2, jumps: 0 });
  });

  it('a run still open at the end is not counted (nothing came after it)', () => {
    expect(feed([T, T + 1, Y2100])).toMatchObject({ now: T + 1, outliers: 0, jumps: 0 });
  });
});
