/**
 * The metrics the dashboards query, looked up in their definitions — node-exporter/metrics.ts
 * for the exporter's, the endpoint lifecycle's, the sFlow intake's and the flow tables'; the
 * ingest writers' as ingest/writer.ts registers them — never retyped: a name or a label that
 * no definition has fails the build of the dashboard that uses it.
 */
import { Registry } from 'prom-client';
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

/**
 * A selector of a defined metric: `sel('podwire_vf_transmit_bytes_total', {pod: '$pod'})`.
 * A value is matched with `=`, or with the operator given (`['!=', '']`). Throws when the
 * metric or a label is not defined.
 */
export function sel(series: string, matchers: Matchers = {}): string {
  const m = metricOf(series);
  if (m === undefined) throw new Error(`dashboards: no metric ${series} is defined`);
  const parts = Object.entries(matchers).map(([label, v]) => {
    if (!m.labels.includes(label)) throw new Error(`dashboards: ${series} has no label ${label}`);
    const [op, value] = typeof v === 'string' ? ['=', v] : v;
    return `${label}${op}${JSON.stringify(value)}`;
  });
  return parts.length === 0 ? series : `${series}{${parts.join(', ')}}`;
}

/** `rate(sel[$__rate_interval])`. */
export const rate = (series: string, matchers: Matchers = {}) =>
  `rate(${sel(series, matchers)}[$__rate_interval])`;

/** `increase(sel[$__range])`: the change over the dashboard's time range. */
export const increaseOverRange = (series: string, matchers: Matchers = {}) =>
  `increase(${sel(series, matchers)}[$__range])`;
