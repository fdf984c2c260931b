/**
 * A typed dataquery for the `grafana-clickhouse-datasource` plugin, which the foundation SDK
 * has no builder for. The fields are the plugin's own query model (v4, src/types/sql.ts of
 * grafana/clickhouse-datasource: `CHSqlQuery`): an SQL-editor query with `rawSql`, the
 * sqlds `format` number, the `queryType` the editor shows, and `pluginVersion`, which the
 * plugin reads to decide whether a saved query is a v3 one to migrate (anything below
 * 4.0.0 is).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';

export const CLICKHOUSE_PLUGIN = 'grafana-clickhouse-datasource';

/** The query-model version written into every query: the plugin release it was read from. */
export const CLICKHOUSE_PLUGIN_VERSION = '4.20.0';

/** sqlds' result formats (FormatQueryOption), as the plugin sends them. */
export enum ClickHouseFormat {
  TimeSeries = 0,
  Table = 1,
  Logs = 2,
  Traces = 3,
}

/** What the plugin's editor shows the result as (QueryType in src/types/queryBuilder.ts). */
export enum ClickHouseQueryType {
  Table = 'table',
  Logs = 'logs',
  TimeSeries = 'timeseries',
  Traces = 'traces',
}

export enum ClickHouseEditorType {
  SQL = 'sql',
  Builder = 'builder',
}

/** The format each query type is sent with (the plugin's mapGrafanaFormatToQueryType, reversed). */
const FORMAT_OF: Record<ClickHouseQueryType, ClickHouseFormat> = {
  [ClickHouseQueryType.TimeSeries]: ClickHouseFormat.TimeSeries,
  [ClickHouseQueryType.Table]: ClickHouseFormat.Table,
  [ClickHouseQueryType.Logs]: ClickHouseFormat.Logs,
  [ClickHouseQueryType.Traces]: ClickHouseFormat.Traces,
};

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface ClickHouseQuery extends cog.Dataquery {
  refId: string;
  datasource?: DataSourceRef;
  hide?: boolean;
  pluginVersion: string;
  editorType: ClickHouseEditorType.SQL;
  rawSql: string;
  format: ClickHouseFormat;
  queryType: ClickHouseQueryType;
  meta?: { timezone?: string };
}

export const isClickHouseQuery = (q: unknown): q is ClickHouseQuery =>
  typeof q === 'object' &&
  q !== null &&
  typeof (q as ClickHouseQuery).rawSql === 'string' &&
  (q as ClickHouseQuery).editorType === ClickHouseEditorType.SQL;

/** Builds an SQL-editor query; `queryType` sets the matching `format`. */
export class ClickHouseQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: ClickHouseQuery;

  constructor() {
    this.internal = {
      refId: '',
      pluginVersion: CLICKHOUSE_PLUGIN_VERSION,
      editorType: ClickHouseEditorType.SQL,
      rawSql: '',
      format: ClickHouseFormat.Table,
      queryType: ClickHouseQueryType.Table,
      // the cog variant marker: a function, so JSON leaves it out
      _implementsDataqueryVariant: () => {},
    };
  }

  build(): ClickHouseQuery {
    return { ...this.internal };
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  datasource(ref: DataSourceRef): this {
    this.internal.datasource = ref;
    return this;
  }

  rawSql(sql: string): this {
    this.internal.rawSql = sql;
    return this;
  }

  queryType(t: ClickHouseQueryType): this {
    this.internal.queryType = t;
    this.internal.format = FORMAT_OF[t];
    return this;
  }

  hide(hide: boolean): this {
    this.internal.hide = hide;
    return this;
  }
}
