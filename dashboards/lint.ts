/**
 * A dashboard lint, after grafana/dashboard-linter's rules (templated data sources,
 * `$__rate_interval`, counters under rate/increase, units, titles and descriptions) and the
 * things podwire's dashboards promise besides: unique ids and refIds, panels inside the
 * 24-column grid without overlap, every `$variable` defined, every data source uid one the
 * provisioning files create, and SQL that filters on traffic time and takes variables only
 * percent-encoded. It reads dashboard JSON as Grafana loads it, so it checks hand-made
 * dashboards as well as generated ones.
 */
import { ARRIVAL } from '../ingest/schema.js';
import { MACRO_NAMES } from './clickhouse-macros.js';
import { CLICKHOUSE_PLUGIN_VERSION, ClickHouseFormat, ClickHouseQueryType } from './clickhouse-query.js';
import { DATASOURCES } from './datasources.js';
import { GLOBAL_VARIABLES, variableRefs } from './grafana-vars.js';
import { isCounterSeries } from './metrics.js';
import { GRID_COLUMNS } from './panels.js';
import { metricName, type Node, parsePromQL, walk } from './promql.js';
import { sqlVar } from './sql.js';

export interface DataSourceRefJson {
  type?: string;
  uid?: string;
}

export interface TargetJson {
  refId?: string;
  datasource?: DataSourceRefJson;
  expr?: string;
  rawSql?: string;
  format?: number | string;
  queryType?: string;
  editorType?: string;
  pluginVersion?: string;
  [k: string]: unknown;
}

export interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: DataSourceRefJson;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: TargetJson[];
  fieldConfig?: {
    defaults?: { unit?: string };
    overrides?: {
      matcher: { id: string; options?: unknown };
      properties: { id: string; value?: unknown }[];
    }[];
  };
  panels?: PanelJson[];
  [k: string]: unknown;
}

export interface VariableJson {
  name: string;
  type: string;
  label?: string;
  query?: unknown;
  datasource?: DataSourceRefJson;
  current?: { value?: unknown; text?: unknown };
  refresh?: number;
  [k: string]: unknown;
}

export interface DashboardJson {
  uid?: string;
  title?: string;
  description?: string;
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
  [k: string]: unknown;
}

export interface ProvisionedDatasourceRef {
  uid: string;
  type: string;
}

export interface LintProblem {
  rule: string;
  dashboard: string;
  panel?: string;
  message: string;
}

export const LINT_RULES = [
  'template-datasource',
  'panel-datasource',
  'datasource-provisioned',
  'promql-syntax',
  'rate-interval',
  'counter-agg',
  'panel-units',
  'title-description',
  'unique-ids',
  'grid',
  'variables-defined',
  'variable-refresh',
  'sql-variables-encoded',
  'sql-traffic-time',
  'clickhouse-query',
] as const;
export type LintRule = (typeof LINT_RULES)[number];

/** Units Grafana knows (dashboard-linter's list, from grafana-data's valueFormats categories). */
const UNITS = new Set(
  (
    'none string short percent percentunit humidity dB hex0x hex sci locale pixel ' +
    'bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes decgbytes tbytes dectbytes pbytes decpbytes ' +
    'pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits GiBs Gibits GBs Gbits TiBs Tibits TBs Tbits PiBs Pibits PBs Pbits ' +
    'dateTimeAsIso dateTimeAsIsoNoDateIfToday dateTimeAsUS dateTimeAsUSNoDateIfToday dateTimeAsLocal dateTimeAsLocalNoDateIfToday dateTimeAsSystem dateTimeFromNow ' +
    'hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks ' +
    'cps ops reqps rps wps iops cpm opm rpm wpm mps mpm bool bool_yes_no bool_on_off'
  ).split(' '),
);

/** Panel types that show numbers and so need a unit. */
const UNIT_PANELS = new Set(['timeseries', 'stat', 'gauge', 'bargauge', 'piechart', 'graph', 'singlestat']);

/** What a counter's range may be given to: its rate, its increase, or its resets. */
const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);

/** Time macros that put a panel's range on a column. */
const TIME_MACROS =
  /\$__(timeFilter|timeFilter_ms|dateFilter|dateTimeFilter|dt|timeFrom|timeTo|fromTime|toTime|fromTime_ms|toTime_ms)\b/;

class Report {
  readonly problems: LintProblem[] = [];
  constructor(private readonly dashboard: string) {}
  add(rule: LintRule, message: string, panel?: PanelJson): void {
    this.problems.push({
      rule,
      dashboard: this.dashboard,
      ...(panel ? { panel: panel.title || `#${panel.id ?? '?'}` } : {}),
      message,
    });
  }
}

/** Every panel, rows and the panels of collapsed rows included. */
function allPanels(d: DashboardJson): PanelJson[] {
  const out: PanelJson[] = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    for (const q of p.panels ?? []) out.push(q);
  }
  return out;
}

const variables = (d: DashboardJson) => d.templating?.list ?? [];
const datasourceVariables = (d: DashboardJson) => variables(d).filter((v) => v.type === 'datasource');

/** The data source variable a `${name}` / `$name` uid refers to, if any. */
function variableOfUid(d: DashboardJson, uid: string | undefined): VariableJson | undefined {
  const m = /^\$\{?(\w+)\}?$/.exec(uid ?? '');
  return m === null ? undefined : datasourceVariables(d).find((v) => v.name === m[1]);
}

/** The data source refs of a panel and its targets. */
function refsOf(p: PanelJson): DataSourceRefJson[] {
  const refs: DataSourceRefJson[] = [];
  if (p.datasource) refs.push(p.datasource);
  for (const t of p.targets ?? []) if (t.datasource) refs.push(t.datasource);
  return refs;
}

function checkDatasources(
  d: DashboardJson,
  r: Report,
  provisioned: readonly ProvisionedDatasourceRef[],
): void {
  const used = new Set<string>();
  for (const p of allPanels(d)) for (const ref of refsOf(p)) if (ref.type) used.add(ref.type);
  for (const v of variables(d)) if (v.datasource?.type) used.add(v.datasource.type);
  const dsVars = datasourceVariables(d);
  for (const type of used) {
    const spec = Object.values(DATASOURCES).find((s) => s.type === type);
    const v = dsVars.filter((x) => x.query === type);
    if (v.length !== 1) {
      r.add('template-datasource', `needs one data source variable for ${type}, has ${v.length}`);
    } else if (spec !== undefined && v[0]!.name !== spec.variable) {
      r.add('template-datasource', `the ${type} variable is '${v[0]!.name}', should be '${spec.variable}'`);
    }
  }
  for (const v of dsVars) {
    const uid = v.current?.value;
    if (!provisioned.some((ds) => ds.uid === uid && ds.type === v.query)) {
      r.add(
        'datasource-provisioned',
        `variable '${v.name}' defaults to uid '${String(uid)}', which no provisioned ${String(v.query)} data source has`,
      );
    }
  }
  const check = (ref: DataSourceRefJson, what: string, p?: PanelJson) => {
    const v = variableOfUid(d, ref.uid);
    if (v === undefined)
      r.add('panel-datasource', `${what} uses data source uid '${ref.uid}', not a data source variable`, p);
    else if (ref.type !== undefined && v.query !== ref.type) {
      r.add(
        'panel-datasource',
        `${what} is ${ref.type} but its variable '${v.name}' is ${String(v.query)}`,
        p,
      );
    }
  };
  for (const p of allPanels(d)) {
    if (p.type === 'row') continue;
    if (p.targets?.length && !p.datasource) r.add('panel-datasource', 'has queries but no data source', p);
    if (p.datasource) check(p.datasource, 'the panel', p);
    for (const t of p.targets ?? []) if (t.datasource) check(t.datasource, `query ${t.refId}`, p);
  }
  for (const v of variables(d)) if (v.datasource) check(v.datasource, `variable '${v.name}'`);
}

/** The Prometheus query texts of a dashboard: targets and query variables. */
function promTexts(d: DashboardJson): { text: string; panel?: PanelJson; what: string }[] {
  const out: { text: string; panel?: PanelJson; what: string }[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? [])
      if (typeof t.expr === 'string') out.push({ text: t.expr, panel: p, what: `query ${t.refId}` });
  }
  for (const v of variables(d)) {
    if (
      v.type === 'query' &&
      v.datasource?.type === DATASOURCES.prometheus.type &&
      typeof v.query === 'string'
    ) {
      const m = /^label_values\((.*),\s*\w+\)$/.exec(v.query);
      if (m) out.push({ text: m[1]!, what: `variable '${v.name}'` });
    }
  }
  return out;
}

function checkPromQL(d: DashboardJson, r: Report): void {
  for (const { text, panel, what } of promTexts(d)) {
    let ast: Node;
    try {
      ast = parsePromQL(text);
    } catch (err) {
      r.add('promql-syntax', `${what}: ${(err as Error).message}`, panel);
      continue;
    }
    walk(ast, (n, parents) => {
      const parent = parents[parents.length - 1];
      const grand = parents[parents.length - 2];
      if (n.type === 'matrix' && parent?.type === 'call') {
        const f = parent.func;
        const ok =
          f === 'rate' || f === 'irate'
            ? n.range === '$__rate_interval'
            : f === 'increase'
              ? n.range === '$__rate_interval' || n.range === '$__range'
              : true;
        if (!ok)
          r.add('rate-interval', `${what}: ${f}() over [${n.range}], should be [$__rate_interval]`, panel);
      }
      if (n.type === 'vector' && isCounterSeries(metricName(n))) {
        const ranged = parent?.type === 'matrix' && grand?.type === 'call';
        const fn = ranged && grand.type === 'call' ? grand.func : '';
        if (!COUNTER_FUNCTIONS.has(fn)) {
          r.add(
            'counter-agg',
            `${what}: counter ${metricName(n)} is not inside rate, irate, increase or resets`,
            panel,
          );
        }
      }
    });
  }
}

function checkUnits(d: DashboardJson, r: Report): void {
  for (const p of allPanels(d)) {
    if (p.type === 'row') continue;
    const unit = p.fieldConfig?.defaults?.unit;
    if (UNIT_PANELS.has(p.type) && (unit === undefined || unit === ''))
      r.add('panel-units', 'has no unit', p);
    else if (unit !== undefined && !UNITS.has(unit))
      r.add('panel-units', `unit '${unit}' is not one Grafana knows`, p);
    for (const o of p.fieldConfig?.overrides ?? []) {
      for (const prop of o.properties) {
        if (prop.id === 'unit' && !UNITS.has(String(prop.value))) {
          r.add('panel-units', `override unit '${String(prop.value)}' is not one Grafana knows`, p);
        }
      }
    }
  }
}

function checkText(d: DashboardJson, r: Report): void {
  if (!d.title?.trim()) r.add('title-description', 'the dashboard has no title');
  if (!d.description?.trim()) r.add('title-description', 'the dashboard has no description');
  for (const p of allPanels(d)) {
    if (!p.title?.trim()) r.add('title-description', 'a panel has no title', p);
    if (p.type !== 'row' && !p.description?.trim()) r.add('title-description', 'has no description', p);
  }
}

function checkIds(d: DashboardJson, r: Report): void {
  const seen = new Map<number, string>();
  for (const p of allPanels(d)) {
    if (typeof p.id !== 'number') {
      r.add('unique-ids', 'has no id', p);
      continue;
    }
    const other = seen.get(p.id);
    if (other !== undefined) r.add('unique-ids', `id ${p.id} is also '${other}'`, p);
    seen.set(p.id, p.title ?? '');
    const refIds = new Set<string>();
    for (const t of p.targets ?? []) {
      if (!t.refId) r.add('unique-ids', 'a query has no refId', p);
      else if (refIds.has(t.refId)) r.add('unique-ids', `refId ${t.refId} twice`, p);
      else refIds.add(t.refId);
    }
  }
}

function checkGrid(d: DashboardJson, r: Report): void {
  const placed: { p: PanelJson; x: number; y: number; w: number; h: number }[] = [];
  for (const p of d.panels ?? []) {
    const g = p.gridPos;
    if (g === undefined) {
      r.add('grid', 'has no gridPos', p);
      continue;
    }
    const whole = [g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n));
    if (!whole || g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > GRID_COLUMNS) {
      r.add('grid', `gridPos ${JSON.stringify(g)} is outside the ${GRID_COLUMNS}-column grid`, p);
      continue;
    }
    for (const q of placed) {
      if (g.x < q.x + q.w && q.x < g.x + g.w && g.y < q.y + q.h && q.y < g.y + g.h) {
        r.add('grid', `overlaps '${q.p.title}'`, p);
      }
    }
    placed.push({ p, ...g });
  }
}

/** Every text of a dashboard Grafana interpolates variables in, with what it is. */
function interpolated(d: DashboardJson): { text: string; panel?: PanelJson; sql: boolean }[] {
  const out: { text: string; panel?: PanelJson; sql: boolean }[] = [];
  for (const p of allPanels(d)) {
    if (p.title) out.push({ text: p.title, panel: p, sql: false });
    for (const t of p.targets ?? []) {
      if (typeof t.expr === 'string') out.push({ text: t.expr, panel: p, sql: false });
      if (typeof t.rawSql === 'string') out.push({ text: t.rawSql, panel: p, sql: true });
    }
  }
  for (const v of variables(d)) {
    if (typeof v.query === 'string') out.push({ text: v.query, sql: false });
    const raw = (v.query as { rawSql?: unknown } | undefined)?.rawSql;
    if (typeof raw === 'string') out.push({ text: raw, sql: true });
  }
  return out;
}

function checkVariables(d: DashboardJson, r: Report): void {
  const defined = new Set(variables(d).map((v) => v.name));
  for (const { text, panel, sql } of interpolated(d)) {
    for (const ref of variableRefs(text)) {
      if (defined.has(ref.name) || GLOBAL_VARIABLES.has(ref.name)) continue;
      if (sql && ref.name.startsWith('__') && MACRO_NAMES.has(ref.name.slice(2))) continue;
      r.add('variables-defined', `${ref.text} is not a variable of the dashboard`, panel);
    }
    if (!sql) continue;
    for (const ref of variableRefs(text)) {
      if (!defined.has(ref.name)) continue;
      const encoded = sqlVar(ref.name);
      const before = encoded.slice(0, encoded.indexOf('$'));
      const wrapped =
        text.slice(ref.index - before.length, ref.index - before.length + encoded.length) === encoded;
      if (!wrapped) r.add('sql-variables-encoded', `${ref.text} in SQL: write ${encoded}`, panel);
      const v = variables(d).find((x) => x.name === ref.name)!;
      if (v.includeAll === true && !v.allValue) {
        // without a custom all value Grafana sends every option, `{a,b,c}`: no single value
        r.add(
          'sql-variables-encoded',
          `'${v.name}' offers All but has no custom all value for SQL to test`,
          panel,
        );
      }
    }
  }
  for (const v of variables(d)) {
    if (v.type === 'query' && v.refresh !== 2) {
      r.add(
        'variable-refresh',
        `query variable '${v.name}' should refresh on time range change (2), is ${String(v.refresh)}`,
      );
    }
  }
}

function checkSql(d: DashboardJson, r: Report): void {
  const arrival = new RegExp(`\\b${ARRIVAL.name}\\b`);
  const queryTypes = Object.values(ClickHouseQueryType) as string[];
  const formatOf: Record<string, number> = {
    [ClickHouseQueryType.Table]: ClickHouseFormat.Table,
    [ClickHouseQueryType.TimeSeries]: ClickHouseFormat.TimeSeries,
    [ClickHouseQueryType.Logs]: ClickHouseFormat.Logs,
    [ClickHouseQueryType.Traces]: ClickHouseFormat.Traces,
  };
  const texts: { sql: string; panel?: PanelJson }[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) {
      if (typeof t.rawSql !== 'string') continue;
      texts.push({ sql: t.rawSql, panel: p });
      const v = /^(\d+)\./.exec(t.pluginVersion ?? '');
      if (t.editorType !== 'sql' || v === null || Number(v[1]) < 4) {
        r.add(
          'clickhouse-query',
          `query ${t.refId}: an SQL-editor query of plugin v4+ (editorType sql, pluginVersion ${CLICKHOUSE_PLUGIN_VERSION})`,
          p,
        );
      }
      if (!queryTypes.includes(String(t.queryType)) || formatOf[String(t.queryType)] !== t.format) {
        r.add(
          'clickhouse-query',
          `query ${t.refId}: queryType '${String(t.queryType)}' with format ${String(t.format)}`,
          p,
        );
      }
    }
  }
  for (const v of variables(d)) {
    const raw = (v.query as { rawSql?: unknown } | undefined)?.rawSql;
    if (typeof raw === 'string') texts.push({ sql: raw });
  }
  for (const { sql, panel } of texts) {
    if (!TIME_MACROS.test(sql))
      r.add(
        'sql-traffic-time',
        'SQL without a time macro ($__timeFilter(…)): it reads the whole table',
        panel,
      );
    if (arrival.test(sql)) {
      r.add(
        'sql-traffic-time',
        `SQL reads '${ARRIVAL.name}' (arrival, for retention): ranges are on traffic time`,
        panel,
      );
    }
  }
}

/** Problems of each dashboard, and of the set (uids used twice). */
export function lintDashboards(
  dashboards: readonly DashboardJson[],
  provisioned: readonly ProvisionedDatasourceRef[],
): LintProblem[] {
  const problems: LintProblem[] = [];
  const uids = new Map<string, string>();
  for (const d of dashboards) {
    const name = d.title || d.uid || '(untitled)';
    const r = new Report(name);
    if (!d.uid) r.add('unique-ids', 'the dashboard has no uid');
    else if (uids.has(d.uid)) r.add('unique-ids', `uid '${d.uid}' is also '${uids.get(d.uid)}'`);
    else uids.set(d.uid, name);
    checkDatasources(d, r, provisioned);
    checkPromQL(d, r);
    checkUnits(d, r);
    checkText(d, r);
    checkIds(d, r);
    checkGrid(d, r);
    checkVariables(d, r);
    checkSql(d, r);
    problems.push(...r.problems);
  }
  return problems;
}

export const formatProblem = (p: LintProblem) =>
  `${p.dashboard}${p.panel ? ` / ${p.panel}` : ''}: ${p.message} [${p.rule}]`;
