/**
 * What Grafana does to a query's text before a data source sees it: template variables
 * (`$name`, `${name}`, `${name:format}`, `[[name]]`, the regex of Grafana's TemplateSrv) and
 * the built-in interval variables, with the interval Grafana computes for a panel. The lint
 * uses it to find every variable a dashboard refers to; the tests, to run a panel's query the
 * way Grafana would send it (there is no Grafana here).
 */

/** Grafana's variable syntax (public/app/features/variables/utils.ts, variableRegex). */
export const VARIABLE_REGEX = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

export interface VariableRef {
  name: string;
  format: string | undefined;
  /** the text as written */
  text: string;
  index: number;
}

/** Every variable reference in `text`, in order. */
export function variableRefs(text: string): VariableRef[] {
  const out: VariableRef[] = [];
  for (const m of text.matchAll(VARIABLE_REGEX)) {
    const name = m[1] ?? m[2] ?? m[4] ?? '';
    out.push({ name, format: m[3] ?? m[6], text: m[0], index: m.index ?? 0 });
  }
  return out;
}

/** Variables Grafana defines itself, usable in any query. */
export const GLOBAL_VARIABLES = new Set([
  '__interval',
  '__interval_ms',
  '__rate_interval',
  '__rate_interval_ms',
  '__range',
  '__range_s',
  '__range_ms',
  '__from',
  '__to',
  '__dashboard',
  '__org',
  '__user',
  '__name',
  'timeFilter',
]);

/**
 * `encodeURIComponent` plus `!'()*` — Grafana's `percentencode` format
 * (encodeURIComponentStrict). Its output holds only `A-Za-z0-9-_.~%`, so it can sit inside
 * an SQL string literal whatever the value was.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const regexEscape = (v: string) => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

const FORMATS: Record<string, (v: string) => string> = {
  percentencode: percentEncode,
  raw: (v) => v,
  regex: regexEscape,
};

/**
 * Replaces the variables of `values` in `text` as Grafana does for a single value: the
 * format given in `${name:format}`, else `defaultFormat` (each data source has its own; the
 * ClickHouse plugin's leaves a single value as it is). Names not in `values` stay as written,
 * as in Grafana.
 */
export function interpolate(
  text: string,
  values: Readonly<Record<string, string>>,
  defaultFormat: (v: string) => string = (v) => v,
): string {
  return text.replace(VARIABLE_REGEX, (whole, a, b, bFmt, c, _field, cFmt) => {
    const name = (a ?? b ?? c) as string;
    const value = values[name];
    if (value === undefined) return whole;
    const fmt = (bFmt ?? cFmt) as string | undefined;
    if (fmt === undefined) return defaultFormat(value);
    const f = FORMATS[fmt];
    if (f === undefined) throw new Error(`variable format '${fmt}' is not implemented here (in ${whole})`);
    return f(value);
  });
}

/** Grafana's rangeutil.roundInterval: a "nice" interval near `ms`. */
export function roundInterval(ms: number): number {
  const steps: [number, number][] = [
    [10, 1],
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12500, 10000],
    [17500, 15000],
    [25000, 20000],
    [45000, 30000],
    [90000, 60000],
    [210000, 120000],
    [450000, 300000],
    [750000, 600000],
    [1050000, 900000],
    [1500000, 1200000],
    [2700000, 1800000],
    [5400000, 3600000],
    [9000000, 7200000],
    [16200000, 10800000],
    [32400000, 21600000],
    [86400000, 43200000],
    [604800000, 86400000],
    [1814400000, 604800000],
    [3628800000, 2592000000],
  ];
  for (const [below, value] of steps) if (ms < below) return value;
  return 31536000000;
}

export interface IntervalInput {
  fromMs: number;
  toMs: number;
  /** the panel's maxDataPoints, else its width in pixels */
  maxDataPoints: number;
  /** the lower limit: the panel's min interval, else the data source's (Prometheus: its scrape interval) */
  minIntervalMs?: number;
}

/** `$__interval` in milliseconds, as Grafana computes it for a panel (rangeutil.calculateInterval). */
export function panelIntervalMs(p: IntervalInput): number {
  const ms = roundInterval((p.toMs - p.fromMs) / p.maxDataPoints);
  return Math.max(ms, p.minIntervalMs ?? 1);
}

/** Prometheus' `$__rate_interval`: max($__interval + scrape interval, 4 × scrape interval). */
export function rateIntervalMs(intervalMs: number, scrapeIntervalMs: number): number {
  return Math.max(intervalMs + scrapeIntervalMs, 4 * scrapeIntervalMs);
}

/** A duration as Prometheus takes it: whole milliseconds, in the largest exact unit. */
export function promDuration(ms: number): string {
  const ms0 = Math.round(ms);
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms0 % size === 0) return `${ms0 / size}${unit}`;
  }
  return `${ms0}ms`;
}

/** The interval variables Grafana substitutes in a Prometheus query. */
export function promIntervalValues(
  input: IntervalInput & { scrapeIntervalMs: number },
): Record<string, string> {
  const interval = panelIntervalMs({
    ...input,
    minIntervalMs: input.minIntervalMs ?? input.scrapeIntervalMs,
  });
  const rate = rateIntervalMs(interval, input.scrapeIntervalMs);
  const range = input.toMs - input.fromMs;
  return {
    __interval: promDuration(interval),
    __interval_ms: String(interval),
    __rate_interval: promDuration(rate),
    __rate_interval_ms: String(rate),
    __range: promDuration(Math.round(range / 1000) * 1000),
    __range_s: String(Math.round(range / 1000)),
    __range_ms: String(range),
  };
}
