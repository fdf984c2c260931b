/**
 * Event-loop delay, measured by Node's own histogram (perf_hooks.monitorEventLoopDelay, a
 * libuv timer that does not keep the process alive): how long ready work waited for the
 * loop. One loop serves /metrics, the API and the packet path, so this is the service's
 * responsiveness. Reported per window of `windowMs` (the last complete one, or the one
 * under way before the first completes), so a spike shows for a window and then goes.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopLag {
  p99Seconds: number;
  maxSeconds: number;
}

export class EventLoopMonitor {
  private readonly h: IntervalHistogram;
  private windowStart: number;
  private last: EventLoopLag | null = null;

  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.h = monitorEventLoopDelay({ resolution: 10 });
    this.h.enable();
    this.windowStart = now();
  }

  /** The lag of the last complete window (the current one until a window completes). */
  read(): EventLoopLag {
    const current = () => ({
      p99Seconds: this.h.count > 0 ? this.h.percentile(99) / 1e9 : 0,
      maxSeconds: this.h.count > 0 ? this.h.max / 1e9 : 0,
    });
    if (this.now() - this.windowStart >= this.windowMs) {
      this.last = current();
      this.h.reset();
      this.windowStart = this.now();
    }
    return this.last ?? current();
  }

  close(): void {
    this.h.disable();
  }
}
