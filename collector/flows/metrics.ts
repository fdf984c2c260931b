/**
 * The flow tables' Prometheus metrics (definitions: node-exporter/metrics.ts FLOW_METRICS),
 * read from their stats at scrape time and summed: late packets, overflows, time outliers,
 * times out of range and clock jumps — what happened to packets that did not simply land in an open window.
 */
import type { Registry } from 'prom-client';
import { FLOW_METRICS as M } from '../../node-exporter/metrics.js';
import { scrapeCounter } from '../../node-exporter/scrape-metrics.js';
import type { FlowTableStats } from './flow-table.js';

type Counted = Pick<
  FlowTableStats,
  'latePackets' | 'overflows' | 'timeOutliers' | 'timeOutOfRange' | 'clockJumps'
>;

/** `tables()` lists the stats of every flow table that runs (it may change, e.g. at start). */
export function registerFlowMetrics(registry: Registry, tables: () => readonly Counted[]): void {
  const counter = (d: (typeof M)[keyof typeof M], value: (s: Counted) => number) =>
    scrapeCounter(registry, d, (c) => {
      let n = 0;
      for (const s of tables()) n += value(s);
      c.inc(n);
    });
  counter(M.latePackets, (s) => s.latePackets);
  counter(M.overflows, (s) => s.overflows);
  counter(M.timeOutliers, (s) => s.timeOutliers);
  counter(M.timeOutOfRange, (s) => s.timeOutOfRange);
  counter(M.clockJumps, (s) => s.clockJumps);
}

/**
 * What attribution made of the input in use (`counters()`: the AttributionCounters of the
 * packet path or the sFlow intake that runs): packets seen, and those no side of which
 * belongs to a known endpoint — the share the collection-broken alert watches.
 */
export function registerAttributionMetrics(
  registry: Registry,
  counters: () => { readonly packets: number; readonly attributed: number },
): void {
  const counter = (d: (typeof M)[keyof typeof M], value: () => number) =>
    scrapeCounter(registry, d, (c) => c.inc(value()));
  counter(M.attributionPackets, () => counters().packets);
  counter(M.unattributedPackets, () => counters().packets - counters().attributed);
}
