/**
 * The metrics the dashboards query, looked up in their definitions — node-exporter/metrics.ts
 * for the exporter's, the endpoint lifecycle's, the sFlow intake's and the flow tables'; the
 * ingest writers' as ingest/writer.ts registers them; the `podwire:` recording rules and the
 * alert names as the rule generator (alerts/rules.ts) builds them for a tier model — never
 * retyped: a name or a label that no definition has fails the build of the dashboard that
 * uses it.
 */
import { Registry } from 'prom-client';
import type { Expr } from '../alerts/expr.js';
import type { TierModel } from '../alerts/model.js';
import { buildRules, isAlert, recordedNames } from '../alerts/rules.js';
import { ingestMetrics } from '../ingest/writer.js';
import { DOCUMENTED_METRICS } from '../node-exporter/metrics.js';

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface MetricRef {
  readonly name: string;
  readonly type: MetricKind;
  readonly labels: readonly string[];
}

function ingestDefs(): MetricRef[] {
  const r = new Registry();
  ingestMetrics(r);
  return r.getMetricsAsArray().map((m) => {
    const x = m as unknown as { name: string; type: MetricKind; labelNames: string[] };
    return { name: x.name, type: x.type, labels: x.labelNames };
  });
}

/** Every metric podwire defines, by name. */
export const METRICS: ReadonlyMap<string, MetricRef> = new Map(
  [...DOCUMENTED_METRICS, ...ingestDefs()].map((m) => [m.name, m]),
);

/** Series names a histogram or summary adds to its base name. */
const SERIES_SUFFIXES = ['_bucket', '_sum', '_count'];

/** The definition behind a series name (a histogram's `_bucket` included), or undefined. */
export function metricOf(series: string): MetricRef | undefined {
  const m = METRICS.get(series);
  if (m !== undefined) return m;
  for (const s of SERIES_SUFFIXES) {
    if (!series.endsWith(s)) continue;
    const base = METRICS.get(series.slice(0, -s.length));
    if (base !== undefined && (base.type === 'histogram' || base.type === 'summary')) return base;
  }
  return undefined;
}

/** Whether a series only goes up (what `rate`/`increase` are for). */
export function isCounterSeries(series: string): boolean {
  const m = metricOf(series);
  if (m === undefined) return series.endsWith('_total');
  return m.type === 'counter' || (m.type !== 'gauge' && series !== m.name);
}

type MatchOp = '=' | '!=' | '=~' | '!~';
export type Matchers = Readonly<Record<string, string | readonly [MatchOp, string]>>;

function selector(m: MetricRef, series: string, matchers: Matchers): string {
  const parts = Object.entries(matchers).map(([label, v]) => {
    if (!m.labels.includes(label)) throw new Error(`dashboards: ${series} has no label ${label}`);
    const [op, value] = typeof v === 'string' ? ['=', v] : v;
    return `${label}${op}${JSON.stringify(value)}`;
  });
  return parts.length === 0 ? series : `${series}{${parts.join(', ')}}`;
}

/**
 * A selector of a defined metric: `sel('podwire_vf_transmit_bytes_total', {pod: '$pod'})`.
 * A value is matched with `=`, or with the operator given (`['!=', '']`). Throws when the
 * metric or a label is not defined.
 */
export function sel(series: string, matchers: Matchers = {}): string {
  const m = metricOf(series);
  if (m === undefined) throw new Error(`dashboards: no metric ${series} is defined`);
  return selector(m, series, matchers);
}

/** `rate(sel[$__rate_interval])`. */
export const rate = (series: string, matchers: Matchers = {}) =>
  `rate(${sel(series, matchers)}[$__rate_interval])`;

/** `increase(sel[$__range])`: the change over the dashboard's time range. */
export const increaseOverRange = (series: string, matchers: Matchers = {}) =>
  `increase(${sel(series, matchers)}[$__range])`;

/** What Prometheus adds to every scraped series. */
const TARGET_LABELS = ['instance', 'job'];

/**
 * The labels an expression's result carries, as PromQL computes them (null: a scalar):
 * aggregations keep their `by` labels, one-to-one matching `on (…)` keeps those, `or`
 * unites both sides, anything else keeps its left side's.
 */
function resultLabels(e: Expr, labelsOf: (metric: string) => readonly string[]): readonly string[] | null {
  switch (e.kind) {
    case 'num':
    case 'time':
      return null;
    case 'vector':
      return [];
    case 'sel':
    case 'range':
      return labelsOf(e.sel.metric);
    case 'agg':
      return e.by;
    case 'bin': {
      const l = resultLabels(e.lhs, labelsOf);
      const r = resultLabels(e.rhs, labelsOf);
      if (l === null || r === null) return l ?? r;
      if (e.op === 'or') return [...new Set([...l, ...r])];
      if (e.op === 'and' || e.op === 'unless') return l;
      return e.on ?? l;
    }
  }
}

/**
 * The rules of a tier model as the dashboards query them: the recording rules as gauges
 * with the labels their expressions leave (and the labels they set), and `ALERTS` of the
 * rules' alerts.
 */
export class RuleMetrics {
  /** the recording rules' names for the model's rate window (`podwire:vf_transmit_bytes:rate1m`) */
  readonly R: ReturnType<typeof recordedNames>;
  /** the alerts the rules define, each name once */
  readonly alertNames: readonly string[];
  private readonly recorded = new Map<string, MetricRef>();
  private readonly alertLabels = new Set(['alertname', 'alertstate']);

  constructor(model: TierModel) {
    this.R = recordedNames(model.alerts.rateWindowSeconds);
    // a recording's labels are what its rule left; a scraped series also has its target's
    const labelsOf = (metric: string): readonly string[] =>
      this.recorded.get(metric)?.labels ?? [...(metricOf(metric)?.labels ?? []), ...TARGET_LABELS];
    const names = new Set<string>();
    for (const r of buildRules(model).flatMap((g) => g.rules)) {
      const labels = [...(resultLabels(r.expr, labelsOf) ?? []), ...Object.keys(r.labels ?? {})];
      if (isAlert(r)) {
        names.add(r.alert);
        for (const l of labels) this.alertLabels.add(l);
        continue;
      }
      const before = this.recorded.get(r.record)?.labels ?? [];
      this.recorded.set(r.record, {
        name: r.record,
        type: 'gauge',
        labels: [...new Set([...before, ...labels])],
      });
    }
    this.alertNames = [...names];
    for (const name of Object.values(this.R)) {
      if (!this.recorded.has(name)) throw new Error(`dashboards: no recording rule ${name} in the rules`);
    }
  }

  /** A selector of a recording rule; throws when the rules record no such name or label. */
  sel(record: string, matchers: Matchers = {}): string {
    const m = this.recorded.get(record);
    if (m === undefined) throw new Error(`dashboards: the rules record no ${record}`);
    return selector(m, record, matchers);
  }

  /** `ALERTS` of the rules' alerts: `ALERTS{alertname=~"PodwireA|PodwireB", …}`. */
  alerts(matchers: Matchers = {}): string {
    const names = this.alertNames.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    const m: MetricRef = { name: 'ALERTS', type: 'gauge', labels: [...this.alertLabels] };
    return selector(m, 'ALERTS', { ...matchers, alertname: ['=~', names] });
  }
}
