/**
 * The few things every podwire dashboard is made of, over the foundation SDK's builders:
 * queries that name their data source through its variable, panels with a title, a
 * description and a unit, and a board that lays panels out on Grafana's 24-column grid
 * (left to right, wrapping) and numbers them.
 */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { ClickHouseQueryBuilder, ClickHouseQueryType } from './clickhouse-query.js';
import { type DatasourceKind, type DatasourceUids, datasourceVariable, dsRef } from './datasources.js';

export interface Query {
  readonly kind: DatasourceKind;
  build(refId: string): cog.Builder<cog.Dataquery>;
}

export interface PromOptions {
  /** one value per series at the range's end (tables, stats), not a range of points */
  instant?: boolean;
  /** the result as a table (labels as columns) */
  table?: boolean;
}

/** A PromQL query; `legend` is Grafana's legend format (`{{namespace}}/{{pod}}`). */
export function prom(expr: string, legend = '__auto', o: PromOptions = {}): Query {
  return {
    kind: 'prometheus',
    build: (refId) => {
      const q = new prometheus.DataqueryBuilder()
        .refId(refId)
        .datasource(dsRef('prometheus'))
        .expr(expr)
        .legendFormat(legend)
        .editorMode(prometheus.QueryEditorMode.Code);
      if (o.instant) q.instant();
      else q.range();
      if (o.table) q.format(prometheus.PromQueryFormat.Table);
      return q;
    },
  };
}

/** An SQL query of the ClickHouse plugin, shown as a table or as time series. */
export function sql(rawSql: string, as: 'table' | 'timeseries' = 'table'): Query {
  return {
    kind: 'clickhouse',
    build: (refId) =>
      new ClickHouseQueryBuilder()
        .refId(refId)
        .datasource(dsRef('clickhouse'))
        .rawSql(rawSql)
        .queryType(as === 'table' ? ClickHouseQueryType.Table : ClickHouseQueryType.TimeSeries),
  };
}

type AnyPanel =
  | timeseries.PanelBuilder
  | stat.PanelBuilder
  | table.PanelBuilder
  | bargauge.PanelBuilder
  | piechart.PanelBuilder;

export interface PanelText {
  title: string;
  description: string;
}

function withQueries<P extends AnyPanel>(p: P, text: PanelText, queries: readonly Query[]): P {
  const kinds = new Set(queries.map((q) => q.kind));
  if (kinds.size !== 1) throw new Error(`panel '${text.title}': queries of exactly one data source`);
  p.title(text.title).description(text.description).datasource(dsRef(queries[0]!.kind));
  queries.forEach((q, i) => {
    p.withTarget(q.build(String.fromCharCode(65 + i)));
  });
  return p;
}

const legend = (mode: common.LegendDisplayMode, calcs: string[] = []) =>
  new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(mode)
    .placement(common.LegendPlacement.Bottom)
    .calcs(calcs);

export interface TimeseriesOptions {
  unit: string;
  /** stacked areas (a whole split into parts) */
  stack?: boolean;
  min?: number;
}

export function timeseriesPanel(
  text: PanelText,
  queries: readonly Query[],
  o: TimeseriesOptions,
): timeseries.PanelBuilder {
  const p = withQueries(new timeseries.PanelBuilder(), text, queries)
    .unit(o.unit)
    .fillOpacity(o.stack ? 40 : 10)
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never)
    .legend(legend(common.LegendDisplayMode.Table, ['mean', 'max', 'lastNotNull']))
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  if (o.stack) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (o.min !== undefined) p.min(o.min);
  return p;
}

/** A dashed line for a limit (a tier's minimum or maximum) drawn with the series it bounds. */
export function limitLine(
  p: timeseries.PanelBuilder,
  seriesName: string,
  color: string,
): timeseries.PanelBuilder {
  return p.overrideByName(seriesName, [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: color } },
  ]);
}

/** A dashed red line at `value` (a capacity, a threshold), drawn from the panel's thresholds. */
export function capacityLine(p: timeseries.PanelBuilder, value: number): timeseries.PanelBuilder {
  return p
    .thresholds(thresholds('transparent', [[value, 'red']]))
    .thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
}

export interface StatOptions {
  unit: string;
  /** [value, color] steps above the base color, lowest first */
  thresholds?: readonly [number, string][];
  base?: string;
  /** one bar per row of a table result (SQL), not one per series */
  perRow?: boolean;
}

const thresholds = (base: string, steps: readonly [number, string][] = []) =>
  new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([
      { value: null as unknown as number, color: base },
      ...steps.map(([value, color]) => ({ value, color })),
    ]);

export function statPanel(text: PanelText, queries: readonly Query[], o: StatOptions): stat.PanelBuilder {
  return withQueries(new stat.PanelBuilder(), text, queries)
    .unit(o.unit)
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(o.base ?? 'green', o.thresholds));
}

export interface BarGaugeOptions {
  unit: string;
  min?: number;
  max?: number;
  thresholds?: readonly [number, string][];
  base?: string;
  /** one bar per row of a table result (SQL), not one per series */
  perRow?: boolean;
}

export function barGaugePanel(
  text: PanelText,
  queries: readonly Query[],
  o: BarGaugeOptions,
): bargauge.PanelBuilder {
  const p = withQueries(new bargauge.PanelBuilder(), text, queries)
    .unit(o.unit)
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(o.perRow ?? false))
    .thresholds(thresholds(o.base ?? 'green', o.thresholds));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  return p;
}

export interface TableOptions {
  /** unit of each numeric column, by column name */
  units?: Readonly<Record<string, string>>;
  /** columns to leave out (Prometheus' Time, __name__) */
  hide?: readonly string[];
  /** the column to sort by, descending */
  sortBy?: string;
}

export function tablePanel(
  text: PanelText,
  queries: readonly Query[],
  o: TableOptions = {},
): table.PanelBuilder {
  const p = withQueries(new table.PanelBuilder(), text, queries).unit('none');
  for (const [column, unit] of Object.entries(o.units ?? {}))
    p.overrideByName(column, [{ id: 'unit', value: unit }]);
  if (o.hide !== undefined && o.hide.length > 0) {
    p.withTransformation({
      id: 'organize',
      options: { excludeByName: Object.fromEntries(o.hide.map((c) => [c, true])) },
    });
  }
  if (o.sortBy !== undefined)
    p.sortBy([new common.TableSortByFieldStateBuilder().displayName(o.sortBy).desc(true)]);
  return p;
}

export function piePanel(text: PanelText, queries: readonly Query[], unit: string): piechart.PanelBuilder {
  return withQueries(new piechart.PanelBuilder(), text, queries)
    .unit(unit)
    .pieType(piechart.PieChartType.Donut)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(true))
    .legend(
      new piechart.PieChartLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .values([piechart.PieChartLegendValues.Percent, piechart.PieChartLegendValues.Value]),
    );
}

export interface BoardSpec {
  uid: string;
  title: string;
  description: string;
  /** the data sources its panels read: one variable each */
  datasources: readonly DatasourceKind[];
  uids: DatasourceUids;
  /** further variables, after the data-source ones */
  variables?: readonly cog.Builder<dashboard.VariableModel>[];
  /** default time range start, e.g. `now-1h` */
  from?: string;
}

export const GRID_COLUMNS = 24;

/** A dashboard being laid out: rows and panels placed left to right, wrapping at 24 columns. */
export class Board {
  private readonly b: dashboard.DashboardBuilder;
  private nextId = 1;
  private x = 0;
  private y = 0;
  private lineHeight = 0;

  constructor(spec: BoardSpec) {
    this.b = new dashboard.DashboardBuilder(spec.title)
      .uid(spec.uid)
      .description(spec.description)
      .tags(['podwire'])
      .editable()
      .timezone('browser')
      .time({ from: spec.from ?? 'now-1h', to: 'now' })
      .refresh('30s')
      .tooltip(dashboard.DashboardCursorSync.Crosshair);
    for (const k of spec.datasources) this.b.withVariable(datasourceVariable(k, spec.uids));
    for (const v of spec.variables ?? []) this.b.withVariable(v);
    this.b.link(
      new dashboard.DashboardLinkBuilder('podwire')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['podwire'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
  }

  private newLine(): void {
    if (this.x > 0) {
      this.y += this.lineHeight;
      this.x = 0;
      this.lineHeight = 0;
    }
  }

  row(title: string): this {
    this.newLine();
    this.b.withRow(
      new dashboard.RowBuilder(title).id(this.nextId++).gridPos({ x: 0, y: this.y, w: GRID_COLUMNS, h: 1 }),
    );
    this.y += 1;
    return this;
  }

  /** Places `p`, `w` columns wide and `h` rows high, after the last panel (or on a new line). */
  panel(p: AnyPanel, w: number, h: number): this {
    if (this.x + w > GRID_COLUMNS) this.newLine();
    p.id(this.nextId++).gridPos({ x: this.x, y: this.y, w, h });
    this.b.withPanel(p);
    this.x += w;
    this.lineHeight = Math.max(this.lineHeight, h);
    return this;
  }

  build(): dashboard.Dashboard {
    return this.b.build();
  }
}
