/**
 * Grafana provisioning files: the data sources the dashboards read (Prometheus, and
 * ClickHouse through grafana-clickhouse-datasource) and a file provider that loads the
 * dashboard JSON. Written as YAML (block style, strings JSON-quoted: valid YAML either way).
 */
import { CLICKHOUSE_PLUGIN } from './clickhouse-query.js';
import { DATASOURCES, type DatasourceKind, type DatasourceUids } from './datasources.js';

export interface ClickHouseConnection {
  host: string;
  port: number;
  protocol: 'http' | 'native';
  secure: boolean;
  username: string;
  database: string;
}

export interface ProvisioningOptions {
  uids: DatasourceUids;
  prometheusUrl: string;
  /** Prometheus' scrape interval (the data source's timeInterval: `$__rate_interval` builds on it) */
  scrapeIntervalSeconds: number;
  clickhouse: ClickHouseConnection;
  /** where Grafana will read the dashboard JSON */
  dashboardsPath: string;
  /** the Grafana folder the dashboards go in */
  folder: string;
}

/** The environment variable Grafana reads the ClickHouse password from (never written to a file). */
export const CLICKHOUSE_PASSWORD_ENV = 'PODWIRE_CLICKHOUSE_PASSWORD';

export interface ProvisionedDatasource {
  name: string;
  uid: string;
  type: string;
  access: 'proxy';
  orgId: number;
  url?: string;
  isDefault?: boolean;
  editable: boolean;
  jsonData: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

/** A ClickHouse URL as podwire takes it (`http(s)://user:password@host:port/database`) as a connection. */
export function clickhouseConnection(url: string): ClickHouseConnection & { hasPassword: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--clickhouse-url: '${url}' is not a URL (http(s)://user@host:8123/database)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`--clickhouse-url: http:// or https://, not ${u.protocol}`);
  }
  const secure = u.protocol === 'https:';
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'podwire';
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? (secure ? 8443 : 8123) : Number(u.port),
    protocol: 'http',
    secure,
    username: decodeURIComponent(u.username) || 'default',
    database,
    hasPassword: u.password !== '',
  };
}

export function provisionedDatasources(o: ProvisioningOptions): ProvisionedDatasource[] {
  const name = (k: DatasourceKind) => `podwire ${DATASOURCES[k].label}`;
  return [
    {
      name: name('prometheus'),
      uid: o.uids.prometheus,
      type: DATASOURCES.prometheus.type,
      access: 'proxy',
      orgId: 1,
      url: o.prometheusUrl,
      editable: true,
      jsonData: { timeInterval: `${o.scrapeIntervalSeconds}s`, httpMethod: 'POST' },
    },
    {
      name: name('clickhouse'),
      uid: o.uids.clickhouse,
      type: CLICKHOUSE_PLUGIN,
      access: 'proxy',
      orgId: 1,
      editable: true,
      jsonData: {
        host: o.clickhouse.host,
        port: o.clickhouse.port,
        protocol: o.clickhouse.protocol,
        secure: o.clickhouse.secure,
        username: o.clickhouse.username,
        defaultDatabase: o.clickhouse.database,
      },
      secureJsonData: { password: `\${${CLICKHOUSE_PASSWORD_ENV}}` },
    },
  ];
}

export function datasourcesYaml(o: ProvisioningOptions): string {
  return toYaml({ apiVersion: 1, datasources: provisionedDatasources(o) });
}

export function dashboardProviderYaml(o: ProvisioningOptions): string {
  return toYaml({
    apiVersion: 1,
    providers: [
      {
        name: 'podwire',
        orgId: 1,
        folder: o.folder,
        type: 'file',
        disableDeletion: false,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: o.dashboardsPath, foldersFromFilesStructure: false },
      },
    ],
  });
}

const scalar = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** Block-style YAML of plain data (objects, arrays, strings, numbers, booleans). */
export function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        const body = toYaml(item, `${indent}  `);
        return typeof item === 'object' && item !== null
          ? `${indent}- ${body.trimStart()}`
          : `${indent}- ${body.trim()}\n`;
      })
      .join('');
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) =>
        typeof v === 'object' && v !== null
          ? `${indent}${k}:\n${toYaml(v, `${indent}  `)}`
          : `${indent}${k}: ${scalar(v)}\n`,
      )
      .join('');
  }
  return `${indent}${scalar(value)}\n`;
}
