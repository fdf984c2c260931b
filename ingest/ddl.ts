/**
 * DDL derived from the table definitions: one ClickHouse for the embedded store or a
 * server, or a cluster (ReplicatedMergeTree tables `<name>_local` on every shard, and
 * Distributed tables `<name>` over them, which is what writers and queries use).
 */
import { ARRIVAL, arrivalType, type RetentionDays, type TableDef } from './schema.js';

export interface DdlOptions {
  database: string;
  /** a cluster name from the server's remote_servers: replicated + distributed tables */
  cluster?: string;
  retention: RetentionDays;
}

/** Blocks remembered per table for insert_deduplication_token on non-replicated tables. */
export const DEDUP_WINDOW = 10_000;

export const ident = (s: string) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new Error(`not a plain ClickHouse identifier: ${s}`);
  return s;
};

export const localName = (t: TableDef, o: DdlOptions) => (o.cluster ? `${t.name}_local` : t.name);
export const onCluster = (o: DdlOptions) => (o.cluster ? ` ON CLUSTER ${ident(o.cluster)}` : '');

/** A column as stored: the definition's columns, then the arrival column ClickHouse fills. */
export interface StoredColumn {
  readonly name: string;
  readonly type: string;
  readonly codec?: string;
  /** a DEFAULT expression: only the arrival column has one */
  readonly default?: string;
}

export function storedColumns(t: TableDef): StoredColumn[] {
  const cols: StoredColumn[] = Object.entries(t.columns).map(([name, col]) => ({
    name,
    type: col.type,
    codec: col.codec,
  }));
  cols.push({ name: ARRIVAL.name, type: arrivalType(t), codec: ARRIVAL.codec, default: ARRIVAL.default });
  return cols;
}

/** `name Type [DEFAULT expr] [CODEC(...)]`, as in CREATE TABLE and ALTER … ADD COLUMN. */
export function columnSql(c: StoredColumn, defaultExpr = c.default): string {
  return `${ident(c.name)} ${c.type}${defaultExpr ? ` DEFAULT ${defaultExpr}` : ''}${c.codec ? ` CODEC(${c.codec})` : ''}`;
}

function columnsSql(t: TableDef): string {
  return storedColumns(t)
    .map((c) => `  ${columnSql(c)}`)
    .join(',\n');
}

/** Retention counts from arrival: see ARRIVAL in schema.ts. */
const ttlSql = (t: TableDef, o: DdlOptions) =>
  t.retention ? `TTL ${ARRIVAL.name} + INTERVAL ${o.retention[t.retention]} DAY` : null;

/**
 * A cluster's sharding key: a hash of the table's shardBy columns (see TableDef.shardBy).
 * Flows and their rollups shard by pod pair, so a pair's minute and hour rows meet on one
 * shard and its SummingMergeTree parts merge there.
 */
export const shardingKeySql = (t: TableDef) => `cityHash64(${t.shardBy.map(ident).join(', ')})`;

/** 'SummingMergeTree((a, b))' → 'ReplicatedSummingMergeTree(path, replica, (a, b))' on a cluster. */
function engineSql(t: TableDef, o: DdlOptions): string {
  if (!o.cluster) return t.engine;
  const m = /^(\w+)(?:\((.*)\))?$/s.exec(t.engine);
  if (!m) throw new Error(`unparsable engine ${t.engine}`);
  const args = [`'/clickhouse/tables/{shard}/${ident(o.database)}/${t.name}'`, "'{replica}'"];
  if (m[2]) args.push(m[2]);
  return `Replicated${m[1]}(${args.join(', ')})`;
}

export function createTableSql(t: TableDef, o: DdlOptions): string[] {
  const db = ident(o.database);
  const parts = [
    `CREATE TABLE IF NOT EXISTS ${db}.${localName(t, o)}${onCluster(o)}\n(\n${columnsSql(t)}\n)`,
    `ENGINE = ${engineSql(t, o)}`,
  ];
  if (t.partitionBy) parts.push(`PARTITION BY ${t.partitionBy}`);
  parts.push(`ORDER BY (${t.orderBy.map(ident).join(', ')})`);
  const ttl = ttlSql(t, o);
  if (ttl) parts.push(ttl);
  // replicated tables deduplicate inserts by token on their own; plain ones need a window
  parts.push(
    o.cluster
      ? 'SETTINGS index_granularity = 8192'
      : `SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
  );
  const out = [parts.join('\n')];
  if (o.cluster) {
    out.push(
      `CREATE TABLE IF NOT EXISTS ${db}.${t.name}${onCluster(o)} AS ${db}.${localName(t, o)}\n` +
        `ENGINE = Distributed(${ident(o.cluster)}, ${db}, ${localName(t, o)}, ${shardingKeySql(t)})`,
    );
  }
  const view = viewSql(t, o);
  if (view) out.push(view);
  return out;
}

/** The rollup's materialized view name (it writes the local rollup on each shard). */
export const viewName = (t: TableDef) => `${t.name}_mv`;

/** The SELECT of a rollup's view, reading the local source table on each shard. */
export function viewSelect(t: TableDef, o: DdlOptions): string | null {
  if (!t.from) return null;
  const db = ident(o.database);
  return t.from.select
    .replaceAll('{db}.', `${db}.`)
    .replace(`${db}.${t.from.table}`, `${db}.${o.cluster ? `${t.from.table}_local` : t.from.table}`);
}

export function viewSql(t: TableDef, o: DdlOptions): string | null {
  const select = viewSelect(t, o);
  if (select === null) return null;
  const db = ident(o.database);
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${viewName(t)}${onCluster(o)}\nTO ${db}.${localName(t, o)}\nAS ${select}`;
}

/** Keeps TTLs in step with the configured retention (cheap when unchanged). */
export function retentionSql(t: TableDef, o: DdlOptions): string | null {
  const ttl = ttlSql(t, o);
  return ttl && `ALTER TABLE ${ident(o.database)}.${localName(t, o)}${onCluster(o)} MODIFY ${ttl}`;
}
