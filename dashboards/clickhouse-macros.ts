/**
 * The `$__` macros of the grafana-clickhouse-datasource plugin, expanded as its backend does
 * (pkg/macros/macros.go, v4.20: ClickHouseMacros over grafana/macropro) — so a test can run a
 * panel's SQL on a real ClickHouse exactly as Grafana would send it. Times are whole seconds
 * (Go's Time.Unix) or milliseconds; the interval is the query's, at least one second (one
 * millisecond for the _ms forms). A macro written with arguments has them split at top-level
 * commas and trimmed, and macros inside arguments are expanded first; nothing inside a
 * comment or a quoted literal is expanded.
 *
 * Stricter than the plugin on purpose: a `$__` name it does not list here (the plugin leaves
 * unknown ones as written, and the SDK defaults `$__interval`, `$__table`… mean other things
 * once Grafana's own variables are substituted) is an error, so a typo cannot reach a panel.
 */

export interface MacroContext {
  /** the panel's time range, milliseconds since the epoch */
  fromMs: number;
  toMs: number;
  /** the query interval, milliseconds */
  intervalMs: number;
}

type Macro = { args: number | null; expand: (ctx: MacroContext, args: string[]) => string };

const sec = (ms: number) => Math.floor(ms / 1000);
const dateTime = (ms: number) => `toDateTime(${sec(ms)})`;
const dateTime64 = (ms: number) => `fromUnixTimestamp64Milli(${Math.floor(ms)})`;
const date = (ms: number) => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`;
const intervalSeconds = (ctx: MacroContext) => Math.trunc(Math.max(ctx.intervalMs / 1000, 1));

/** Go's time.ParseDuration for the units $__timeGroup accepts, in seconds. */
function goDurationSeconds(s: string): number {
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s) {
    throw new Error(`$__timeGroup: invalid interval "${s}"`);
  }
  return parts.reduce((t, p) => t + Number(p[1]) * units[p[2]!]!, 0);
}

export const CLICKHOUSE_MACROS: Readonly<Record<string, Macro>> = {
  timeFilter: {
    args: 1,
    expand: (c, [col]) => `${col} >= ${dateTime(c.fromMs)} AND ${col} <= ${dateTime(c.toMs)}`,
  },
  timeFilter_ms: {
    args: 1,
    expand: (c, [col]) => `${col} >= ${dateTime64(c.fromMs)} AND ${col} <= ${dateTime64(c.toMs)}`,
  },
  timeFrom: { args: 1, expand: (c, [col]) => `${col} >= ${dateTime(c.fromMs)}` },
  timeTo: { args: 1, expand: (c, [col]) => `${col} <= ${dateTime(c.toMs)}` },
  fromTime: { args: null, expand: (c) => dateTime(c.fromMs) },
  toTime: { args: null, expand: (c) => dateTime(c.toMs) },
  fromTime_ms: { args: null, expand: (c) => dateTime64(c.fromMs) },
  toTime_ms: { args: null, expand: (c) => dateTime64(c.toMs) },
  dateFilter: {
    args: 1,
    expand: (c, [col]) => `${col} >= ${date(c.fromMs)} AND ${col} <= ${date(c.toMs)}`,
  },
  dateTimeFilter: {
    args: 2,
    expand: (c, [d, t]) =>
      `(${d} >= ${date(c.fromMs)} AND ${d} <= ${date(c.toMs)}) AND (${t} >= ${dateTime(c.fromMs)} AND ${t} <= ${dateTime(c.toMs)})`,
  },
  timeInterval: {
    args: 1,
    expand: (c, [col]) => `toStartOfInterval(toDateTime(${col}), INTERVAL ${intervalSeconds(c)} second)`,
  },
  timeInterval_ms: {
    args: 1,
    expand: (c, [col]) =>
      `toStartOfInterval(toDateTime64(${col}, 3), INTERVAL ${Math.trunc(Math.max(c.intervalMs, 1))} millisecond)`,
  },
  interval_s: { args: null, expand: (c) => String(intervalSeconds(c)) },
  timeGroup: {
    args: 2,
    expand: (_c, [col, period]) => {
      const secs = Math.round(goDurationSeconds(period!.replace(/^['"]|['"]$/g, '')));
      if (secs <= 0) throw new Error(`$__timeGroup: interval must be positive, got "${period}"`);
      return `toStartOfInterval(toDateTime(${col}), INTERVAL ${secs} second)`;
    },
  },
};

/** `$__dt` is the plugin's short name for `$__dateTimeFilter`. */
const ALIASES: Readonly<Record<string, string>> = { dt: 'dateTimeFilter' };

/** The names (without `$__`) this module expands. */
export const MACRO_NAMES: ReadonlySet<string> = new Set([
  ...Object.keys(CLICKHOUSE_MACROS),
  ...Object.keys(ALIASES),
]);

/** Where quoted literals and comments are: [start, end) spans expansion skips. */
function opaqueSpans(sql: string): [number, number][] {
  const spans: [number, number][] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const start = i;
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < sql.length && sql[i] !== c) i += sql[i] === '\\' ? 2 : 1;
      spans.push([start, ++i]);
    } else if (sql.startsWith('--', i)) {
      while (i < sql.length && sql[i] !== '\n') i++;
      spans.push([start, i]);
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      spans.push([start, i]);
    } else {
      i++;
    }
  }
  return spans;
}

/** The index of the `)` closing the `(` at `open`, skipping nested parentheses and literals. */
function closingParen(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < sql.length && sql[i] !== c) i += sql[i] === '\\' ? 2 : 1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses after ${sql.slice(Math.max(0, open - 20), open + 1)}`);
}

function splitArgs(s: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < s.length && s[i] !== c) i += s[i] === '\\' ? 2 : 1;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      args.push(s.slice(from, i).trim());
      from = i + 1;
    }
  }
  const last = s.slice(from).trim();
  if (last !== '' || args.length > 0) args.push(last);
  return args;
}

/** `sql` with every `$__` macro expanded for `ctx`. */
export function expandMacros(sql: string, ctx: MacroContext): string {
  const spans = opaqueSpans(sql);
  const inSpan = (i: number) => spans.some(([a, b]) => i >= a && i < b);
  const re = /\$__(\w+)/g;
  let out = '';
  let last = 0;
  for (let m = re.exec(sql); m !== null; m = re.exec(sql)) {
    if (inSpan(m.index)) continue;
    const name = m[1]!;
    const macro = CLICKHOUSE_MACROS[ALIASES[name] ?? name];
    if (macro === undefined) {
      throw new Error(
        `$__${name}: not a macro of the ClickHouse plugin podwire uses (${[...MACRO_NAMES].join(', ')})`,
      );
    }
    let end = re.lastIndex;
    let args: string[] = [];
    if (sql[end] === '(') {
      const close = closingParen(sql, end);
      args = splitArgs(expandMacros(sql.slice(end + 1, close), ctx));
      end = close + 1;
    }
    if (macro.args !== null && args.length !== macro.args) {
      throw new Error(`$__${name} expected ${macro.args} argument(s), received ${args.length}`);
    }
    out += sql.slice(last, m.index) + macro.expand(ctx, args);
    last = end;
    re.lastIndex = end;
  }
  return out + sql.slice(last);
}
