/**
 * Every query of the generated dashboards, as the suites run them in place of Grafana (there
 * is none here): panel targets and query variables, with what Grafana would substitute in
 * them — the dashboard's variables, and Prometheus' interval variables or the ClickHouse
 * plugin's macros for a time range.
 */
import { buildDashboards, DEFAULT_DASHBOARDS_OPTIONS } from '../../dashboards/boards/index.js';
import { expandMacros } from '../../dashboards/clickhouse-macros.js';
import { interpolate, panelIntervalMs, promIntervalValues } from '../../dashboards/grafana-vars.js';
import type { DashboardJson, PanelJson, VariableJson } from '../../dashboards/lint.js';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  /** panel type, or 'variable' */
  type: string;
  unit?: string;
  refId: string;
  text: string;
  instant: boolean;
}

export const dashboardsJson = (): DashboardJson[] =>
  buildDashboards(DEFAULT_DASHBOARDS_OPTIONS).map(
    (b) => JSON.parse(JSON.stringify(b.dashboard)) as DashboardJson,
  );

const panelsOf = (d: DashboardJson): PanelJson[] => (d.panels ?? []).filter((p) => p.type !== 'row');

/** The PromQL of every panel target. */
export function promQueries(ds: DashboardJson[]): PanelQuery[] {
  return ds.flatMap((d) =>
    panelsOf(d).flatMap((p) =>
      (p.targets ?? [])
        .filter((t) => typeof t.expr === 'string')
        .map((t) => ({
          dashboard: d.uid!,
          panel: p.title!,
          type: p.type,
          unit: p.fieldConfig?.defaults?.unit,
          refId: t.refId!,
          text: t.expr as string,
          instant: t.instant === true,
        })),
    ),
  );
}

/** The SQL of every panel target and ClickHouse query variable. */
export function sqlQueries(ds: DashboardJson[]): PanelQuery[] {
  return ds.flatMap((d) => [
    ...(d.templating?.list ?? [])
      .filter((v) => typeof (v.query as { rawSql?: unknown } | undefined)?.rawSql === 'string')
      .map((v) => ({
        dashboard: d.uid!,
        panel: `$${v.name}`,
        type: 'variable',
        refId: v.name,
        text: (v.query as { rawSql: string }).rawSql,
        instant: true,
      })),
    ...panelsOf(d).flatMap((p) =>
      (p.targets ?? [])
        .filter((t) => typeof t.rawSql === 'string')
        .map((t) => ({
          dashboard: d.uid!,
          panel: p.title!,
          type: p.type,
          unit: p.fieldConfig?.defaults?.unit,
          refId: t.refId!,
          text: t.rawSql as string,
          instant: false,
        })),
    ),
  ]);
}

/** A dashboard's query variables of one data source type. */
export function queryVariables(d: DashboardJson, type: string): VariableJson[] {
  return (d.templating?.list ?? []).filter((v) => v.type === 'query' && v.datasource?.type === type);
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** Grafana's maxDataPoints when a panel sets none: about its width in pixels. */
export const MAX_DATA_POINTS = 1000;

/** A PromQL target as Grafana's Prometheus data source sends it. */
export function renderPromQL(
  q: PanelQuery,
  vars: Record<string, string>,
  range: TimeRange,
  scrapeIntervalMs: number,
): { expr: string; stepSeconds: number } {
  const intervals = promIntervalValues({ ...range, maxDataPoints: MAX_DATA_POINTS, scrapeIntervalMs });
  const expr = interpolate(q.text, { ...vars, ...intervals });
  return { expr, stepSeconds: Number(intervals.__interval_ms) / 1000 };
}

/** An SQL target as the ClickHouse plugin sends it: variables (frontend), then macros (backend). */
export function renderSql(q: PanelQuery, vars: Record<string, string>, range: TimeRange): string {
  const intervalMs = panelIntervalMs({ ...range, maxDataPoints: MAX_DATA_POINTS });
  return expandMacros(interpolate(q.text, vars), { ...range, intervalMs });
}
