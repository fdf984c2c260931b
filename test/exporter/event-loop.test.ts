/**
 * Event-loop lag: a stall of the loop shows in the window it happened in (p99 and max), the
 * next window starts afresh, and the exporter's registry serves both gauges.
 */
import { describe, expect, it } from 'vitest';
import { EventLoopMonitor } from '../../node-exporter/event-loop.js';
import { ExporterRegistry } from '../../node-exporter/registry.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Blocks the loop for `ms` from a timer callback (what a slow synchronous task does). */
const stall = (ms: number) =>
  new Promise<void>((r) =>
    setTimeout(() => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // busy
      }
      r();
    }, 5),
  );

describe('event-loop lag', () => {
  it('shows a stall in its window, then the next window without it', async () => {
    let now = 0;
    const m = new EventLoopMonitor(10_000, () => now);
    try {
      await sleep(30);
      await stall(300);
      await sleep(30);
      now = 10_000; // the window ends: its figures are kept, the histogram starts over
      const stalled = m.read();
      expect(stalled.maxSeconds).toBeGreaterThanOrEqual(0.25);
      expect(stalled.p99Seconds).toBeGreaterThanOrEqual(0.25);
      expect(m.read()).toEqual(stalled); // the same window until the next one ends
      await sleep(60);
      now = 20_000;
      const calm = m.read();
      expect(calm.maxSeconds).toBeLessThan(0.25);
    } finally {
      m.close();
    }
  });

  it('is served with the process metrics', async () => {
    const r = new ExporterRegistry();
    const text = await r.prom.metrics();
    expect(text).toMatch(/^podwire_event_loop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^podwire_event_loop_lag_max_seconds \d/m);
    const none = await new ExporterRegistry({ processMetrics: false }).prom.metrics();
    expect(none).not.toContain('podwire_event_loop_lag');
  });
});
