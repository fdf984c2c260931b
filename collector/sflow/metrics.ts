/**
 * The sFlow intake's Prometheus metrics (definitions: node-exporter/metrics.ts
 * SFLOW_METRICS), read from the intake, its interface series and the listener at scrape
 * (render) time: per-agent arrivals and the loss the sequence numbers reveal, malformed
 * input by reason, kernel drops and reader-thread drops, and the switches' interface counters as series.
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { SFLOW_METRICS as M } from '../../node-exporter/metrics.js';
import { scrapeCounter, scrapeGauge } from '../../node-exporter/scrape-metrics.js';
import type { AgentSummary, SflowIntake } from './intake.js';
import type { InterfaceSeries } from './interface-series.js';
import { malformedName } from './types.js';

export interface SflowMetricSources {
  intake: SflowIntake;
  interfaces: InterfaceSeries;
  /** the socket's reader: the listener, or the reader threads (collector/udp/readers.ts) */
  listener: () => SocketReader | null;
  /** datagrams passed on behind their number by the reorder stage (collector/udp/reorder.ts) */
  reordered?: () => number;
}

export interface SocketReader {
  kernelDrops(): Promise<number | null>;
  /** reader threads only: what they read and dropped */
  readonly totals?: { overloadDrops: number; stopDrops: number };
}

type Def = (typeof M)[keyof typeof M];

export function registerSflowMetrics(registry: Registry, src: SflowMetricSources): void {
  const counter = (d: Def, fill: (c: Counter) => void | Promise<void>) => scrapeCounter(registry, d, fill);
  const gauge = (d: Def, fill: (g: Gauge) => void) => scrapeGauge(registry, d, fill);
  // one computation per scrape, not per family: nothing changes until a datagram arrives
  let memo: { datagrams: number; list: AgentSummary[] } | null = null;
  const summaries = (): AgentSummary[] => {
    const n = src.intake.decodeStats.datagrams;
    if (memo === null || memo.datagrams !== n) memo = { datagrams: n, list: src.intake.agentSummaries() };
    return memo.list;
  };
  const perAgent = (d: Def, value: (a: AgentSummary) => number) =>
    counter(d, (c) => {
      for (const a of summaries()) c.labels(a.agent).inc(value(a));
    });

  perAgent(M.datagrams, (a) => a.datagrams);
  perAgent(M.flowSamples, (a) => a.flow_samples);
  perAgent(M.counterSamples, (a) => a.counter_samples);
  perAgent(M.lostDatagrams, (a) => a.lost_datagrams);
  perAgent(M.lostSamples, (a) => a.lost_samples);
  perAgent(M.lostPackets, (a) => a.lost_packets_estimate);
  perAgent(M.lateDatagrams, (a) => a.late_datagrams);
  perAgent(M.duplicateDatagrams, (a) => a.duplicate_datagrams);
  perAgent(M.agentDrops, (a) => a.agent_drops);
  gauge(M.lossRatio, (g) => {
    for (const a of summaries()) g.labels(a.agent).set(a.sample_loss_ratio);
  });
  // every reason, zeros included: rate() needs a series before the first bad datagram
  counter(M.malformed, (c) => {
    const s = src.intake.summary();
    for (const reason of malformedName.slice(1)) c.labels(reason).inc(s[`malformed_${reason}`] ?? 0);
  });
  counter(M.kernelDrops, async (c) => {
    const drops = await src.listener()?.kernelDrops();
    if (drops !== null && drops !== undefined) c.inc(drops);
  });
  counter(M.overloadDrops, (c) => {
    const t = src.listener()?.totals;
    c.inc(t === undefined ? 0 : t.overloadDrops + t.stopDrops);
  });
  counter(M.reordered, (c) => c.inc(src.reordered?.() ?? 0));
  const perInterface = (d: Def, field: string) =>
    counter(d, (c) => {
      for (const i of src.interfaces.list()) {
        const s = src.interfaces.series(i.agent, i.ifIndex, field);
        if (s !== undefined) c.labels(i.agent, String(i.ifIndex)).inc(s.total);
      }
    });
  perInterface(M.ifReceiveBytes, 'ifInOctets');
  perInterface(M.ifTransmitBytes, 'ifOutOctets');
  perInterface(M.ifReceiveDiscards, 'ifInDiscards');
  perInterface(M.ifTransmitDiscards, 'ifOutDiscards');
  perInterface(M.ifReceiveErrors, 'ifInErrors');
  gauge(M.agents, (g) => g.set(src.intake.agents.size));
  counter(M.agentOverflow, (c) => c.inc(src.intake.agents.overflowDatagrams));
  gauge(M.interfaces, (g) => g.set(src.interfaces.size));
  counter(M.interfaceOverflow, (c) => c.inc(src.interfaces.overflows));
  gauge(M.ifSpeed, (g) => {
    for (const i of src.interfaces.list()) g.labels(i.agent, String(i.ifIndex)).set(i.speed / 8);
  });
  gauge(M.ifUp, (g) => {
    for (const i of src.interfaces.list()) g.labels(i.agent, String(i.ifIndex)).set(i.operUp ? 1 : 0);
  });
}
