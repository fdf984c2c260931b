/**
 * The SLA evaluator as `podwire all` runs it: after every NIC collection, the exporter's
 * state and the registry's other families feed the evaluator (feed.ts), one round runs
 * (evaluator.ts), every alert that fires or resolves becomes an sla_events row (through
 * the batching writer), alerts due go to Alertmanager when one is configured
 * (alertmanager.ts), and podwire_sla_* tell how it goes. `/api/alerts` and the status line
 * show the active alerts. Rounds never overlap: one due while another runs is skipped.
 */
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { sla_events } from '../ingest/schema.js';
import type { Store } from '../ingest/store.js';
import { BatchWriter } from '../ingest/writer.js';
import { EndpointJoin } from '../node-exporter/join.js';
import type { NicState } from '../node-exporter/nic-state.js';
import type { Alert } from './alert-state.js';
import { AlertmanagerClient } from './alertmanager.js';
import { SlaEvaluator } from './evaluator.js';
import { EventRows } from './events.js';
import { ingestRegistry, VfFeed } from './feed.js';
import { SlaMetrics } from './metrics.js';
import { type AlertmanagerConfig, type AlertSettings, DEMO_FOR, type TierModel } from './model.js';
import { recordedNames } from './rules.js';

export interface SlaServiceOptions {
  model: TierModel;
  alertmanager?: AlertmanagerConfig;
  /** where podwire_sla_* go, and where the non-VF families the rules read come from */
  registry: Registry;
  index: () => EndpointIndex | null;
  /** the NIC collection interval, ms (alerts sent stay valid 4 × max(resend, this)) */
  intervalMs: number;
  /** where sla_events rows go (none: not stored) */
  writeEvents?: (rows: ReturnType<EventRows['row']>[]) => void;
  log: (line: string) => void;
}

export interface AlertJson {
  name: string;
  state: 'pending' | 'firing';
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeAt: string;
  firedAt: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class SlaService {
  readonly evaluator: SlaEvaluator;
  private readonly feed: VfFeed;
  private readonly metrics: SlaMetrics;
  private readonly am: AlertmanagerClient | null;
  private readonly events: EventRows;
  private running: Promise<void> | null = null;
  private readonly errors = new Map<string, string>();
  skipped = 0;
  /** Alertmanager's generatorURL: where the alerts can be seen (the service's /api/alerts) */
  generatorUrl = '';

  constructor(private readonly o: SlaServiceOptions) {
    const R = recordedNames(o.model.alerts.rateWindowSeconds);
    this.evaluator = new SlaEvaluator(o.model, [R.tierBreached, R.tierBudgetRemaining]);
    this.feed = new VfFeed(this.evaluator, new EndpointJoin(o.index));
    this.metrics = new SlaMetrics(o.registry);
    this.events = new EventRows(this.evaluator, o.model.alerts.rateWindowSeconds);
    const am = o.alertmanager;
    this.am = am
      ? new AlertmanagerClient({
          url: am.url,
          timeoutMs: am.timeoutMs,
          resendMs: am.resendSeconds * 1000,
          intervalMs: o.intervalMs,
          generatorUrl: () => this.generatorUrl,
          log: o.log,
          count: (result, n) => this.metrics.notifications.labels(result).inc(n),
        })
      : null;
  }

  /** One round on a NIC collection's state, after the ones before it; never throws. */
  observe(state: NicState): Promise<void> {
    if (this.running !== null) {
      this.skipped++;
      return this.running;
    }
    this.running = this.round(state)
      .catch((err: Error) => this.o.log(`sla evaluator: ${err.stack ?? err.message}`))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async round(state: NicState): Promise<void> {
    const started = performance.now();
    const t = state.at;
    const ev = this.evaluator;
    this.feed.ingest(state);
    await ingestRegistry(ev, this.o.registry, t);
    const r = ev.round(t);
    for (const e of r.errors) {
      this.metrics.failures.labels(e.rule).inc();
      if (this.errors.get(e.rule) !== e.message) this.o.log(`sla rule ${e.rule}: ${e.message}`);
      this.errors.set(e.rule, e.message);
    }
    for (const rule of this.errors.keys())
      if (!r.errors.some((e) => e.rule === rule)) this.errors.delete(rule);
    this.events.track(ev.alerts());
    if (r.transitions.length > 0) {
      const rows = r.transitions.map((tr) => this.events.row(tr));
      for (const tr of r.transitions) this.metrics.events.labels(tr.alert.rule.alert, tr.to).inc();
      this.o.writeEvents?.(rows);
    }
    this.am?.notify(ev.held(), t);
    this.metrics.evaluations.inc();
    this.metrics.setAlerts(ev.alerts());
    this.metrics.series.set(ev.store.seriesCount);
    const R = recordedNames(this.o.model.alerts.rateWindowSeconds);
    const cur = (name: string) => ev.store.get(name)!.cur;
    SlaMetrics.setTiers(this.metrics.tierBreached, cur(R.tierBreached));
    SlaMetrics.setTiers(this.metrics.tierBudget, cur(R.tierBudgetRemaining));
    this.metrics.duration.set((performance.now() - started) / 1000);
  }

  /** The active alerts, as /api/alerts shows them. */
  alerts(): { evaluatedAt: string | null; alerts: AlertJson[] } {
    const ev = this.evaluator;
    return {
      evaluatedAt: ev.lastRoundAt === null ? null : iso(ev.lastRoundAt),
      alerts: ev.alerts().map((a: Alert) => {
        const { alertname: _n, ...labels } = a.labels.labels;
        return {
          name: a.rule.alert,
          state: a.state as 'pending' | 'firing',
          severity: a.rule.labels.severity ?? '',
          labels,
          annotations: a.annotations,
          value: a.value,
          activeAt: iso(a.activeAt),
          firedAt: a.firedAt === null ? null : iso(a.firedAt),
        };
      }),
    };
  }

  /** For /api/status. */
  status(): Record<string, unknown> {
    const a = this.evaluator.alerts();
    return {
      firing: a.filter((x) => x.state === 'firing').length,
      pending: a.filter((x) => x.state === 'pending').length,
      rounds: this.evaluator.rounds,
      skippedRounds: this.skipped,
      alertmanager: this.o.alertmanager?.url ?? null,
    };
  }

  /** The status line's part: `alerts: 2 firing (PodwireGuaranteeBreached 2), 1 pending`. */
  line(): string {
    const a = this.evaluator.alerts();
    const firing = a.filter((x) => x.state === 'firing');
    const pending = a.length - firing.length;
    if (a.length === 0) return 'alerts: none';
    const byName = new Map<string, number>();
    for (const x of firing) byName.set(x.rule.alert, (byName.get(x.rule.alert) ?? 0) + 1);
    const names = [...byName].map(([n, c]) => `${n} ${c}`).join(', ');
    return `alerts: ${firing.length} firing${names ? ` (${names})` : ''}${pending > 0 ? `, ${pending} pending` : ''}`;
  }

  /** Waits for the running round and what Alertmanager still has to get. */
  async close(): Promise<void> {
    if (this.running !== null) await this.running;
    await this.am?.flush();
  }
}

/** Everything `podwire all` needs to run the evaluator, from its config. */
export interface SlaAssembly {
  service: SlaService;
  close(): Promise<void>;
  /** what to say at the start */
  describe(): string;
}

/**
 * The evaluator for `podwire all`: the service plus the sla_events writer. `demo`: the
 * embedded demo without a config file, whose alerts use DEMO_FOR (they must fire within
 * two minutes) unless the settings give their own `forSeconds`.
 */
export async function startSla(o: {
  tiers: TierModel['tiers'];
  alerts: AlertSettings;
  alertmanager?: AlertmanagerConfig;
  demo: boolean;
  /** where sla_events go; null: not stored (a node without a shared store) */
  store: Store | null;
  spoolDir: string;
  registry: Registry;
  index: () => EndpointIndex | null;
  intervalMs: number;
  log: (line: string) => void;
}): Promise<SlaAssembly> {
  const demoTimings = o.demo && o.alerts.forSeconds === undefined;
  const alerts: AlertSettings = demoTimings ? { ...o.alerts, forSeconds: { ...DEMO_FOR } } : o.alerts;
  const store = o.store;
  const writer =
    store === null
      ? null
      : await BatchWriter.open({
          store,
          table: sla_events,
          spoolDir: o.spoolDir,
          registry: o.registry,
          log: (level, m) => o.log(`podwire ingest ${level}: ${m}`),
        });
  const service = new SlaService({
    model: { tiers: o.tiers, alerts },
    alertmanager: o.alertmanager,
    registry: o.registry,
    index: o.index,
    intervalMs: o.intervalMs,
    writeEvents: writer === null ? undefined : (rows) => void writer.writeMany(rows),
    log: o.log,
  });
  return {
    service,
    async close() {
      await service.close();
      await writer?.close();
    },
    describe() {
      const timing = demoTimings
        ? ` (demo timings: breach after ${DEMO_FOR.guaranteeBreached} s; 5 min with a config)`
        : '';
      const to = o.alertmanager ? `, sent to ${o.alertmanager.url}` : '';
      return `SLA alerts evaluated in process${timing}${to}; events ${writer === null ? 'not stored (no store)' : 'in sla_events'}`;
    },
  };
}
