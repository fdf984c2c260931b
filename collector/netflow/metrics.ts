/**
 * The NetFlow intake's Prometheus metrics (definitions: node-exporter/metrics.ts
 * NETFLOW_METRICS), read from the intake and the listener at scrape time.
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { NETFLOW_METRICS as M } from '../../node-exporter/metrics.js';
import { scrapeCounter, scrapeGauge } from '../../node-exporter/scrape-metrics.js';
import type { DomainSummary, ExporterSummary, NetflowIntake } from './intake.js';
import { malformedName } from './types.js';

export interface NetflowMetricSources {
  intake: NetflowIntake;
  /** the listener's kernel drop count (null: unknown) */
  kernelDrops?: () => Promise<number | null>;
  /** datagrams the reader threads read and dropped (collector/netflow/readers.ts) */
  overloadDrops?: () => number;
  /** datagrams passed on behind their number by the reorder stage (collector/udp/reorder.ts) */
  reordered?: () => number;
}

type Def = (typeof M)[keyof typeof M];

export function registerNetflowMetrics(registry: Registry, src: NetflowMetricSources): void {
  const counter = (d: Def, fill: (c: Counter) => void | Promise<void>) => scrapeCounter(registry, d, fill);
  const gauge = (d: Def, fill: (g: Gauge) => void) => scrapeGauge(registry, d, fill);
  // one computation per scrape, not per family
  let memo: { datagrams: number; list: ExporterSummary[]; domains: DomainSummary[] } | null = null;
  const current = () => {
    const n = src.intake.decodeStats.datagrams;
    if (memo === null || memo.datagrams !== n)
      memo = { datagrams: n, list: src.intake.exporterSummaries(), domains: src.intake.domainSummaries() };
    return memo;
  };
  const perExporter = (d: Def, value: (e: ExporterSummary) => number) =>
    counter(d, (c) => {
      for (const e of current().list) c.labels(e.exporter).inc(value(e));
    });
  perExporter(M.datagrams, (e) => e.datagrams);
  perExporter(M.records, (e) => e.records);
  perExporter(M.optionsRecords, (e) => e.options_records);
  perExporter(M.templateUpdates, (e) => e.template_updates);
  perExporter(M.templateMissing, (e) => e.template_missing);
  perExporter(M.heldExpired, (e) => e.held_expired);
  gauge(M.templates, (g) => {
    for (const e of current().list) g.labels(e.exporter).set(e.templates);
  });
  counter(M.lostDatagrams, (c) => {
    for (const d of current().domains)
      if (d.version === 9) c.labels(d.exporter, String(d.domain)).inc(d.lost);
  });
  counter(M.lostRecords, (c) => {
    for (const d of current().domains)
      if (d.version !== 9) c.labels(d.exporter, String(d.domain)).inc(d.lost);
  });
  gauge(M.samplingRate, (g) => {
    for (const d of current().domains)
      if (d.sampling_rate > 0) g.labels(d.exporter, String(d.domain)).set(d.sampling_rate);
  });
  // every reason, zeros included: rate() needs a series before the first bad datagram
  counter(M.malformed, (c) => {
    const m = src.intake.decodeStats.malformed;
    for (let i = 1; i < malformedName.length; i++) c.labels(malformedName[i]).inc(m[i]);
  });
  gauge(M.exporters, (g) => g.set(src.intake.exporters.size));
  counter(M.exporterOverflow, (c) => c.inc(src.intake.exporters.overflowDatagrams));
  counter(M.overloadDrops, (c) => c.inc(src.overloadDrops?.() ?? 0));
  counter(M.reordered, (c) => c.inc(src.reordered?.() ?? 0));
  counter(M.kernelDrops, async (c) => {
    const drops = await src.kernelDrops?.();
    if (drops !== null && drops !== undefined) c.inc(drops);
  });
}
