/**
 * Schema migrations: at every start the live database is brought to what `schema.ts`
 * defines, and the versions that took it there are recorded in `<db>.schema_migrations`.
 *
 * The work is a diff, not a script per version: tables that are missing are created; columns
 * the definition has and the table lacks are added (`system.columns`), rows stored before
 * a column existed get its `backfill` value (written once, then the column's real default
 * takes over); a rollup's view whose SELECT differs from the definition's is recreated
 * (`system.tables.as_select`, compared after the server formats both); TTLs follow the
 * configured retention. So a column added in a later release reaches an existing database,
 * which `CREATE … IF NOT EXISTS` alone never did. The version list says what each release
 * changed, and a database whose version is newer than this code knows is refused (an older
 * podwire must not write into a newer schema).
 *
 * A change the diff cannot make safely — a column whose type differs, a different ORDER
 * BY — stops the start with a SchemaError that names it: those need a planned migration.
 * Views are recreated by DROP + CREATE: rows inserted between the two (by another writer
 * of a cluster) miss the rollup, so upgrade a cluster with its writers stopped.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import {
  columnSql,
  createTableSql,
  type DdlOptions,
  ident,
  localName,
  onCluster,
  retentionSql,
  type StoredColumn,
  storedColumns,
  viewName,
  viewSelect,
  viewSql,
} from './ddl.js';
import { ARRIVAL, arrivalBackfill, TABLES, type TableDef } from './schema.js';

export interface Migration {
  version: number;
  name: string;
}

/** What each schema version changed (the diff above makes the change). */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'flows, rollups, packet samples, VF counters, SLA events' },
  {
    version: 2,
    name: 'arrival time (received) in every table: retention counts from arrival, not traffic time',
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
  /** the versions recorded by this run, `N: name` */
  applied: string[];
  /** what this run changed in the database, in words (empty when it was up to date) */
  changes: string[];
}

type Client = Pick<ClickHouseClient, 'command' | 'query' | 'insert'>;

async function rows<T>(client: Client, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await rs.json()) as T[];
}

/** Brings the database to the schema this code defines and records the versions applied. */
export async function migrate(client: ClickHouseClient, o: DdlOptions): Promise<MigrationResult> {
  const db = ident(o.database);
  const cluster = onCluster(o);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}${cluster}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations${cluster}
(version UInt32, name String, applied_at DateTime('UTC') DEFAULT now())
ENGINE = ${o.cluster ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${db}/schema_migrations', '{replica}')` : 'MergeTree'} ORDER BY version`,
  });
  const [{ v }] = await rows<{ v: number | string }>(
    client,
    `SELECT toUInt32(max(version)) AS v FROM ${db}.schema_migrations`,
  );
  const from = Number(v ?? 0);
  if (from > SCHEMA_VERSION) {
    throw new SchemaError(
      `database ${o.database} has schema version ${from}, newer than this podwire knows (${SCHEMA_VERSION}): upgrade podwire, or point it at another database`,
    );
  }
  const changes = await reconcile(client, o);
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
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
  return { from, to: SCHEMA_VERSION, applied, changes };
}

/** The diff: creates, adds and recreates what differs; returns what it did, in words. */
async function reconcile(client: Client, o: DdlOptions): Promise<string[]> {
  const live = await liveColumns(client, o.database);
  const changes: string[] = [];
  for (const t of TABLES) {
    const have = live.get(localName(t, o));
    if (!have) {
      for (const query of createTableSql(t, o)) await client.command({ query });
      changes.push(`${t.name}: created`);
      continue;
    }
    for (const col of storedColumns(t)) {
      const type = have.get(col.name);
      if (type === undefined) {
        await addColumn(client, t, col, o);
        changes.push(
          `${t.name}: added ${col.name}${col.name === ARRIVAL.name ? ` (from ${arrivalBackfill(t)})` : ''}`,
        );
      } else if (type !== col.type) {
        throw new SchemaError(
          `${o.database}.${localName(t, o)}.${col.name} is ${type} in the database but ${col.type} in this podwire's schema: ` +
            'a type change needs a planned migration (no automatic one is done)',
        );
      }
    }
  }
  for (const t of TABLES)
    if (t.from && (await recreateViewIfChanged(client, t, o))) changes.push(`${viewName(t)}: recreated`);
  return changes;
}

async function liveColumns(client: Client, database: string): Promise<Map<string, Map<string, string>>> {
  const cols = await rows<{ table: string; name: string; type: string }>(
    client,
    'SELECT table, name, type FROM system.columns WHERE database = {db:String} ORDER BY table, position',
    { db: database },
  );
  const out = new Map<string, Map<string, string>>();
  for (const c of cols) {
    const m = out.get(c.table) ?? new Map<string, string>();
    out.set(c.table, m);
    m.set(c.name, c.type);
  }
  return out;
}

/**
 * Adds a column to an existing table. The arrival column is first added with the row's
 * traffic time as its default and written into every existing part (MATERIALIZE COLUMN,
 * waited for), and only then given its real default: otherwise old rows would read now()
 * at each merge and never expire. On a cluster the Distributed table gets the column too.
 */
async function addColumn(client: Client, t: TableDef, col: StoredColumn, o: DdlOptions): Promise<void> {
  const table = `${ident(o.database)}.${localName(t, o)}${onCluster(o)}`;
  const backfill = col.name === ARRIVAL.name ? arrivalBackfill(t) : undefined;
  await client.command({
    query: `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${columnSql(col, backfill)}`,
  });
  if (backfill !== undefined) {
    await client.command({
      query: `ALTER TABLE ${table} MATERIALIZE COLUMN ${ident(col.name)}`,
      clickhouse_settings: { mutations_sync: '2' },
    });
    await client.command({
      query: `ALTER TABLE ${table} MODIFY COLUMN ${ident(col.name)} DEFAULT ${col.default}`,
    });
  }
  if (o.cluster) {
    await client.command({
      query: `ALTER TABLE ${ident(o.database)}.${t.name}${onCluster(o)} ADD COLUMN IF NOT EXISTS ${columnSql(col)}`,
    });
  }
}

/** Recreates a rollup's view when the server's formatting of its SELECT differs from ours. */
async function recreateViewIfChanged(client: Client, t: TableDef, o: DdlOptions): Promise<boolean> {
  const want = viewSelect(t, o)!;
  const [cur] = await rows<{ as_select: string; want: string }>(
    client,
    'SELECT as_select, formatQuerySingleLine({q:String}) AS want FROM system.tables WHERE database = {db:String} AND name = {n:String}',
    { db: o.database, n: viewName(t), q: want },
  );
  if (cur && cur.as_select === cur.want) return false;
  await client.command({
    query: `DROP VIEW IF EXISTS ${ident(o.database)}.${viewName(t)}${onCluster(o)} SYNC`,
  });
  await client.command({ query: viewSql(t, o)! });
  return true;
}
