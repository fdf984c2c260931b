/**
 * The in-process evaluator's podwire_sla_* metrics (defined in node-exporter/metrics.ts
 * SLA_METRICS), in the registry of the process that runs it.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { SLA_METRICS as M } from '../node-exporter/metrics.js';
import type { Alert } from './alert-state.js';
import type { Vec } from './vec.js';

export class SlaMetrics {
  private readonly alerts: Gauge;
  readonly evaluations: Counter;
  readonly failures: Counter;
  readonly duration: Gauge;
  readonly series: Gauge;
  readonly events: Counter;
  readonly notifications: Counter;
  readonly tierBreached: Gauge;
  readonly tierBudget: Gauge;

  constructor(registry: Registry) {
    const gauge = (d: (typeof M)[keyof typeof M]) =>
      new Gauge({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
    const counter = (d: (typeof M)[keyof typeof M]) =>
      new Counter({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
    this.alerts = gauge(M.alerts);
    this.evaluations = counter(M.evaluations);
    this.failures = counter(M.failures);
    this.duration = gauge(M.duration);
    this.series = gauge(M.series);
    this.events = counter(M.events);
    this.notifications = counter(M.notifications);
    for (const r of ['sent', 'failed', 'dropped']) this.notifications.labels(r).inc(0);
    this.tierBreached = gauge(M.tierBreached);
    this.tierBudget = gauge(M.tierBudget);
  }

  /** The active alerts by name, severity and state (series of states that emptied go to 0). */
  setAlerts(alerts: readonly Alert[]): void {
    this.alerts.reset();
    for (const a of alerts) {
      if (a.state === 'inactive') continue;
      this.alerts.labels(a.rule.alert, a.rule.labels.severity ?? '', a.state).inc();
    }
  }

  /** A per-tier gauge from a recorded vector (labels {tier}). */
  static setTiers(g: Gauge, v: Vec): void {
    g.reset();
    for (let i = 0; i < v.n; i++) {
      const tier = v.ls[i].labels.tier;
      if (tier !== undefined) g.labels(tier).set(v.v[i]);
    }
  }
}
