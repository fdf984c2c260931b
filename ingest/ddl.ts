/**
 * DDL derived from the table definitions: one ClickHouse for the embedded store or a
 * server, or a cluster (ReplicatedMergeTree tables `<name>_local` on every shard, and
 * Distributed tables `<name>` over them, which is what writers and queries use).
 */
import type { Columns, RetentionDays, TableDef } from './schema.js';

export interface DdlOptions {
  database: string;
  /** a cluster name from the server's remote_servers: replicated + distributed tables */
  cluster?: string;
  retention: RetentionDays;
}

/** Blocks remembered per table for insert_deduplication_token on non-replicated tables. */
export const DEDUP_WINDOW = 10_000;

const ident = (s: string) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new Error(`not a plain ClickHouse identifier: ${s}`);
  return s;
};

export const localName = (t: TableDef, o: DdlOptions) => (o.cluster ? `${t.name}_local` : t.name);
const onCluster = (o: DdlOptions) => (o.cluster ? ` ON CLUSTER ${ident(o.cluster)}` : '');

function columnsSql(cols: Columns): string {
  return Object.entries(cols)
    .map(([name, col]) => `  ${ident(name)} ${col.type}${col.codec ? ` CODEC(${col.codec})` : ''}`)
    .join(',\n');
}

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
    `CREATE TABLE IF NOT EXISTS ${db}.${localName(t, o)}${onCluster(o)}\n(\n${columnsSql(t.columns)}\n)`,
    `ENGINE = ${engineSql(t, o)}`,
  ];
  if (t.partitionBy) parts.push(`PARTITION BY ${t.partitionBy}`);
  parts.push(`ORDER BY (${t.orderBy.map(ident).join(', ')})`);
  if (t.ttl) parts.push(`TTL ${ident(t.ttl.column)} + INTERVAL ${o.retention[t.ttl.days]} DAY`);
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
        `ENGINE = Distributed(${ident(o.cluster)}, ${db}, ${localName(t, o)}, rand())`,
    );
  }
  if (t.from) {
    // the view reads the local source table and writes the local rollup on each shard
    const select = t.from.select
      .replaceAll('{db}.', `${db}.`)
      .replace(`${db}.${t.from.table}`, `${db}.${o.cluster ? `${t.from.table}_local` : t.from.table}`);
    out.push(
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${t.name}_mv${onCluster(o)}\nTO ${db}.${localName(t, o)}\nAS ${select}`,
    );
  }
  return out;
}

/** Keeps TTLs in step with the configured retention (cheap when unchanged). */
export function retentionSql(t: TableDef, o: DdlOptions): string | null {
  if (!t.ttl) return null;
  return `ALTER TABLE ${ident(o.database)}.${localName(t, o)}${onCluster(o)} MODIFY TTL ${ident(t.ttl.column)} + INTERVAL ${o.retention[t.ttl.days]} DAY`;
}
