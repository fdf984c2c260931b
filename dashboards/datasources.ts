/**
 * The two data sources the dashboards read — Prometheus (scraping podwire's /metrics) and
 * ClickHouse (podwire's store, through the grafana-clickhouse-datasource plugin) — as
 * dashboard variables, and as Grafana provisioning entries. Every panel names its data
 * source through a variable (`${prometheus}`, `${clickhouse}`), whose default is the uid
 * provisioned here, so the dashboards load as they are and a user can point them elsewhere.
 */
import { DatasourceVariableBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { CLICKHOUSE_PLUGIN, type DataSourceRef } from './clickhouse-query.js';

export type DatasourceKind = 'prometheus' | 'clickhouse';

export interface DatasourceSpec {
  /** the plugin id (the variable's `query`, a data source's `type`) */
  readonly type: string;
  /** the dashboard variable that names it */
  readonly variable: string;
  readonly label: string;
}

export const DATASOURCES: Readonly<Record<DatasourceKind, DatasourceSpec>> = {
  prometheus: { type: 'prometheus', variable: 'prometheus', label: 'Prometheus' },
  clickhouse: { type: CLICKHOUSE_PLUGIN, variable: 'clickhouse', label: 'ClickHouse' },
};

export type DatasourceUids = Readonly<Record<DatasourceKind, string>>;

export const DEFAULT_UIDS: DatasourceUids = {
  prometheus: 'podwire-prometheus',
  clickhouse: 'podwire-clickhouse',
};

/** Grafana's rule for a uid: up to 40 letters, digits, `-` and `_`. */
export function checkUid(uid: string, what: string): string {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(uid))
    throw new Error(`${what}: '${uid}' is not a Grafana uid (1-40 of A-Z a-z 0-9 - _)`);
  return uid;
}

/** What a panel or query says its data source is: the variable, never a fixed uid. */
export const dsRef = (kind: DatasourceKind): DataSourceRef => ({
  type: DATASOURCES[kind].type,
  uid: `\${${DATASOURCES[kind].variable}}`,
});

/** The data-source variable of `kind`, defaulting to the provisioned uid. */
export function datasourceVariable(kind: DatasourceKind, uids: DatasourceUids): DatasourceVariableBuilder {
  const s = DATASOURCES[kind];
  return new DatasourceVariableBuilder(s.variable)
    .label(s.label)
    .type(s.type)
    .current({ selected: true, text: uids[kind], value: uids[kind] });
}
