/**
 * A live capture's Prometheus metrics (definitions: node-exporter/metrics.ts
 * CAPTURE_METRICS), read at scrape time from what the capture last reported: packets read,
 * packets its filter accepted, and its drops by where they happened.
 */
import type { Counter, Registry } from 'prom-client';
import { CAPTURE_METRICS as M } from '../../node-exporter/metrics.js';
import { scrapeCounter } from '../../node-exporter/scrape-metrics.js';
import type { CaptureDrops } from './tcpdump.js';

/** What a running capture has read and lost so far. */
export interface CaptureCounts extends CaptureDrops {
  interface: string;
  packets: number;
}

export function registerCaptureMetrics(registry: Registry, counts: () => CaptureCounts): void {
  const counter = (d: (typeof M)[keyof typeof M], fill: (c: Counter, s: CaptureCounts) => void) =>
    scrapeCounter(registry, d, (c) => fill(c, counts()));
  counter(M.packets, (c, s) => c.labels(s.interface).inc(s.packets));
  counter(M.received, (c, s) => {
    if (s.receivedByFilter !== null) c.labels(s.interface).inc(s.receivedByFilter);
  });
  counter(M.dropped, (c, s) => {
    // 0 until tcpdump's first report: an absent series would read as "no capture"
    c.labels(s.interface, 'kernel').inc(s.droppedByKernel ?? 0);
    if (s.droppedByInterface !== null) c.labels(s.interface, 'interface').inc(s.droppedByInterface);
  });
}
