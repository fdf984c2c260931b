/**
 * Versioned, idempotent schema migrations, recorded in `<db>.schema_migrations` and applied
 * at start. A database whose schema is newer than this code knows is refused with a clear
 * error (an older podwire must not write into a newer schema).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { createTableSql, type DdlOptions, retentionSql } from './ddl.js';
import { TABLES } from './schema.js';

export interface Migration {
  version: number;
  name: string;
  statements: (o: DdlOptions) => string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'flows, rollups, packet samples, VF counters, SLA events',
    statements: (o) => TABLES.flatMap((t) => createTableSql(t, o)),
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

export interface MigrationResult {
  from: number;
  to: number;
  applied: string[];
}

/** Creates the database and applies every migration it lacks, in order. */
export async function migrate(client: ClickHouseClient, o: DdlOptions): Promise<MigrationResult> {
  const db = o.database;
  const onCluster = o.cluster ? ` ON CLUSTER ${o.cluster}` : '';
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}${onCluster}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations${onCluster}
(version UInt32, name String, applied_at DateTime('UTC') DEFAULT now())
ENGINE = ${o.cluster ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${db}/schema_migrations', '{replica}')` : 'MergeTree'} ORDER BY version`,
  });
  const rs = await client.query({
    query: `SELECT toUInt32(max(version)) AS v FROM ${db}.schema_migrations`,
    format: 'JSONEachRow',
  });
  const from = Number(((await rs.json()) as { v: number | string }[])[0]?.v ?? 0);
  if (from > SCHEMA_VERSION) {
    throw new SchemaError(
      `database ${db} has schema version ${from}, newer than this podwire knows (${SCHEMA_VERSION}): upgrade podwire, or point it at another database`,
    );
  }
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    for (const query of m.statements(o)) await client.command({ query });
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    });
    applied.push(`${m.version}: ${m.name}`);
  }
  // retention is configuration, not schema: keep every TTL in step with it at each start
  // (a metadata change only: existing parts are not rewritten, merges apply the new TTL)
  for (const t of TABLES) {
    const query = retentionSql(t, o);
    if (query) await client.command({ query, clickhouse_settings: { materialize_ttl_after_modify: 0 } });
  }
  return { from, to: SCHEMA_VERSION, applied };
}
