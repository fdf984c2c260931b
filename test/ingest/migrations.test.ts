/**
 * Upgrades on embedded chDB: a database made by the previous release's schema (its DDL kept
 * verbatim in fixtures/schema/release-0.1-v1.sql), holding data, is brought to today's
 * schema by migrate() with every row intact; and retention counts from arrival both ways.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedColumns } from '../../ingest/ddl.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION, SchemaError } from '../../ingest/migrations.js';
import { DEFAULT_RETENTION, TABLES } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-migrate-'));
let store: Store;
const ddl = (database: string) => ({ database, retention: DEFAULT_RETENTION });

async function json<T>(query: string): Promise<T[]> {
  const rs = await store.client.query({ query, format: 'JSONEachRow' });
  return (await rs.json()) as T[];
}
const scalar = async (query: string) =>
  Number(Object.values((await json<Record<string, string>>(query))[0])[0]);

/** What release 0.1 (schema version 1) made: its DDL and its version record. */
async function createRelease01(db: string): Promise<void> {
  await store.client.command({ query: `CREATE DATABASE ${db} ENGINE = Atomic` });
  const sql = readFileSync(new URL('../fixtures/schema/release-0.1-v1.sql', import.meta.url), 'utf8');
  for (const stmt of sql.split(/;\n/).filter((s) => s.trim() !== '')) {
    await store.client.command({ query: stmt.replaceAll('PWDB.', `${db}.`) });
  }
  await store.client.command({
    query: `CREATE TABLE ${db}.schema_migrations (version UInt32, name String, applied_at DateTime('UTC') DEFAULT now()) ENGINE = MergeTree ORDER BY version`,
  });
  await store.client.command({
    query: `INSERT INTO ${db}.schema_migrations (version, name) VALUES (1, 'flows, rollups, packet samples, VF counters, SLA events')`,
  });
}

/**
 * Rows as release 0.1 wrote them (its columns only), at traffic times relative to now: its
 * TTLs counted from traffic time, so it kept only recent traffic.
 */
async function fillRelease01(db: string): Promise<void> {
  const cmd = (query: string) => store.client.command({ query });
  await cmd(`INSERT INTO ${db}.flows (window_start, window_seconds, observation, vlan, src_namespace, src_pod, dst_namespace, dst_pod, src_ip, bytes, packets, samples, sampling_rate)
    SELECT toStartOfMinute(now()) - 60 * (number % 120), 60, 'capture:eth0', 100 + number % 3, 'shop', concat('web-', toString(number % 7)),
      'bank', concat('db-', toString(number % 5)), toIPv6(concat('::ffff:10.0.0.', toString(number % 250))), 1000 + number, 10 + number % 4, 10 + number % 4, 1
    FROM numbers(5000)`);
  await cmd(`INSERT INTO ${db}.packet_samples (time, observation, frame, frame_length, vlan, src_pod, src_ip, sampling_rate)
    SELECT now64(6) - number, 'capture:eth0', unhex('0200000001020200000001018100'), 100, 100, 'web-1', toIPv6('10.0.0.1'), 100 FROM numbers(300)`);
  await cmd(`INSERT INTO ${db}.vf_counters (time, node, pf, vf, namespace, pod, tier, rx_bytes, tx_bytes, qos_dropped, min_rate, max_rate)
    SELECT now() - 15 * number, 'node-a', 'ens1f0', number % 8, 'shop', concat('web-', toString(number % 8)), 'high', 100 * number, 50 * number, number % 3, 1e9, 1e10
    FROM numbers(400)`);
  await cmd(`INSERT INTO ${db}.sla_events (time, rule, severity, namespace, pod, tier, state, value, details)
    VALUES (now(), 'guarantee', 'page', 'shop', 'web-1', 'high', 'firing', 0.5, '{}')`);
}

/** Per table, a digest of the release-0.1 columns of every row (order-independent). */
async function digests(db: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const old = await json<{ table: string; names: string[]; engine: string }>(
    `SELECT table, groupArray(name) AS names, any(engine) AS engine FROM (SELECT c.table AS table, c.name AS name, t.engine AS engine FROM system.columns AS c JOIN system.tables AS t ON t.database = c.database AND t.name = c.table WHERE c.database = '${db}' AND t.engine LIKE '%MergeTree' AND c.name NOT IN ('received', 'ethertype') AND NOT (c.table = 'sla_events' AND c.name IN ('started', 'node', 'min_rate', 'delivered_rate', 'drop_rate')) ORDER BY c.table, c.position) GROUP BY table`,
  );
  for (const { table, names, engine } of old) {
    if (table === 'schema_migrations') continue;
    const cols = names.map((n) => `toString(${n})`).join(', ');
    const [{ d }] = await json<{ d: string }>(
      `SELECT toString(count()) || ':' || toString(groupBitXor(cityHash64(${cols}))) AS d FROM ${db}.${table}${engine.startsWith('Summing') ? ' FINAL' : ''}`,
    );
    out[table] = d;
  }
  return out;
}

beforeAll(async () => {
  store = await openStore({ dataDir: join(dir, 'ch'), database: 'pw' });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('upgrading a database of release 0.1 (schema version 1)', () => {
  const db = 'old01';
  let before: Record<string, string>;

  beforeAll(async () => {
    await createRelease01(db);
    await fillRelease01(db);
    before = await digests(db);
  });

  it('starts from what release 0.1 made: no arrival column, TTLs on traffic time', async () => {
    expect(
      await scalar(`SELECT count() FROM system.columns WHERE database = '${db}' AND name = 'received'`),
    ).toBe(0);
    expect(Object.keys(before).sort()).toEqual(TABLES.map((t) => t.name).sort());
    expect(before.flows).toMatch(/^5000:/);
    expect(Number(before.flows_1m.split(':')[0])).toBeGreaterThan(0);
  });

  it('migrates to the current version, saying what it changed', async () => {
    const r = await migrate(store.client, ddl(db));
    expect(r).toMatchObject({ from: 1, to: SCHEMA_VERSION });
    expect(r.applied).toEqual(MIGRATIONS.filter((m) => m.version > 1).map((m) => `${m.version}: ${m.name}`));
    for (const t of TABLES)
      expect(r.changes).toContain(
        `${t.name}: added received (from ${t.name === 'packet_samples' ? 'toDateTime(time)' : t.time})`,
      );
    expect(r.changes.filter((c) => c.endsWith('_mv: recreated')).sort()).toEqual([
      'flows_1h_mv: recreated',
      'flows_1m_mv: recreated',
      'vf_counters_1h_mv: recreated',
    ]);
  });

  it('keeps every row of every table intact', async () => {
    expect(await digests(db)).toEqual(before);
  });

  it('has every table exactly as a new database has it: columns, types and TTLs from arrival', async () => {
    for (const t of TABLES) {
      const cols = await json<{ name: string; type: string }>(
        `SELECT name, type FROM system.columns WHERE database = '${db}' AND table = '${t.name}' ORDER BY position`,
      );
      expect(cols).toEqual(storedColumns(t).map((c) => ({ name: c.name, type: c.type })));
      const [{ q }] = await json<{ q: string }>(
        `SELECT create_table_query AS q FROM system.tables WHERE database = '${db}' AND name = '${t.name}'`,
      );
      expect(q).toContain(`TTL received + toIntervalDay(${DEFAULT_RETENTION[t.retention!]})`);
      expect(q).toContain(`\`received\` ${t.from ? 'SimpleAggregateFunction' : 'DateTime'}`);
      expect(q).toMatch(/DEFAULT now\(\)/);
    }
  });

  it('gives rows stored before the upgrade their traffic time as arrival (what their retention counted from)', async () => {
    expect(await scalar(`SELECT countIf(received != window_start) FROM ${db}.flows`)).toBe(0);
    expect(await scalar(`SELECT countIf(received != toDateTime(time)) FROM ${db}.packet_samples`)).toBe(0);
    expect(await scalar(`SELECT countIf(received != time) FROM ${db}.vf_counters`)).toBe(0);
    expect(await scalar(`SELECT countIf(received != window_start) FROM ${db}.flows_1m`)).toBe(0);
  });

  it('stamps new rows with their arrival and feeds the recreated rollups', async () => {
    const sumBefore = await scalar(`SELECT sum(flows) FROM ${db}.flows_1h`);
    const t0 = await scalar('SELECT toUnixTimestamp(now())');
    await store.client.command({
      query: `INSERT INTO ${db}.flows (window_start, src_namespace, src_pod, bytes, packets) SELECT toDateTime('2001-02-03 04:05:00', 'UTC'), 'shop', 'late', 1, 1 FROM numbers(10)`,
    });
    expect(
      await scalar(`SELECT min(toUnixTimestamp(received)) FROM ${db}.flows WHERE src_pod = 'late'`),
    ).toBeGreaterThanOrEqual(t0);
    expect(await scalar(`SELECT sum(flows) FROM ${db}.flows_1h`)).toBe(sumBefore + 10);
    expect(
      await scalar(`SELECT min(toUnixTimestamp(received)) FROM ${db}.flows_1h WHERE src_pod = 'late'`),
    ).toBeGreaterThanOrEqual(t0);
  });

  it('a second start changes nothing', async () => {
    expect(await migrate(store.client, ddl(db))).toEqual({
      from: SCHEMA_VERSION,
      to: SCHEMA_VERSION,
      applied: [],
      changes: [],
    });
  });

  it('refuses, naming it, a column whose type differs from the schema (no silent change)', async () => {
    await store.client.command({ query: `ALTER TABLE ${db}.sla_events MODIFY COLUMN value Float32` });
    await expect(migrate(store.client, ddl(db))).rejects.toThrow(SchemaError);
    await expect(migrate(store.client, ddl(db))).rejects.toThrow(
      /old01\.sla_events\.value is Float32 in the database but Float64/,
    );
  });
});

describe('retention counts from arrival (the test sets the arrival times)', () => {
  const db = 'arrival';

  it('expires what arrived longer ago than the retention, and keeps old traffic that arrived recently', async () => {
    await migrate(store.client, ddl(db));
    const days = DEFAULT_RETENTION.flows;
    await store.client.command({
      query: `INSERT INTO ${db}.flows (window_start, src_pod, bytes, received) VALUES
        (now(), 'arrived-long-ago', 1, now() - INTERVAL ${days + 1} DAY),
        (now() - INTERVAL 3 YEAR, 'old-traffic-arrived-now', 1, now())`,
    });
    await store.client.command({
      query: `INSERT INTO ${db}.flows (window_start, src_pod, bytes) VALUES (now() - INTERVAL 3 YEAR, 'old-traffic-default-arrival', 1)`,
    });
    await store.client.command({ query: `OPTIMIZE TABLE ${db}.flows FINAL` });
    const pods = await json<{ src_pod: string }>(`SELECT src_pod FROM ${db}.flows ORDER BY src_pod`);
    expect(pods.map((p) => p.src_pod)).toEqual(['old-traffic-arrived-now', 'old-traffic-default-arrival']);
  });
});
