/**
 * Horizons on real stores. chDB: flows ten days back from a fixed time (no clock: each row's
 * arrival is given, the TTL is far off), then raw rows that arrived before a cut are
 * deleted as the TTL would (by `received`): the queries' totals still match what was
 * stored, now read from flows_1m where raw rows are gone, and the answers say so. Without
 * horizons the same query undercounts (what issue 14 is about). ClickHouse 18.16 over
 * HTTP: the horizon queries are the same SQL there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podPeers } from '../../ingest/api-queries.js';
import { horizonCache, readFirstArrival, readHolding } from '../../ingest/horizon.js';
import { podBandwidth, type QueryContext, topTalkers } from '../../ingest/queries.js';
import { openStore, type Store } from '../../ingest/store.js';
import { type ClickHouseServer, startClickHouseServer } from '../helpers/clickhouse-server.js';
import { openQueryStore } from '../helpers/query-store.js';

/** 2026-11-26T10:00:00Z: the test's "now" (only ever a number here) */
const T0 = Date.parse('2026-11-26T10:00:00Z') / 1000;
const D = 86_400;
/** raw rows that arrived before this are gone (a 7-day retention cut, mid-minute) */
const CUT = T0 - 7 * D + 1234;

const sum = (rows: { bytes: number }[]) => rows.reduce((a, r) => a + r.bytes, 0);

describe('horizons on chDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-horizon-'));
  let store: Store;
  let ctx: QueryContext;

  beforeAll(async () => {
    ({ store, ctx } = await openQueryStore(dir));
    // 10-second windows, two hours a day from T0 − 10 days to today, 3 flows a window;
    // each arrives 20 s after its window (live traffic), given, not the machine's clock
    await store.client.command({
      query: `INSERT INTO pw.flows (window_start, window_seconds, observation, vlan, vni,
  src_namespace, src_pod, dst_namespace, dst_pod, bytes, packets, samples, sampling_rate, received)
SELECT toDateTime(w, 'UTC'), 10, 'erspan:1', 100, -1,
  ['shop','search','shop'][1 + number % 3], ['web-1','api-1','db-1'][1 + number % 3],
  'shop', 'db-1', 1000 + (number * 7919) % 5000, 1 + number % 9, 1, 1, toDateTime(w + 20, 'UTC')
FROM (SELECT number, {t0:UInt32} - 10 * 86400 + intDiv(intDiv(number, 3), 720) * 86400
  + (intDiv(number, 3) % 720) * 10 AS w FROM numbers(11 * 720 * 3))`,
      query_params: { t0: T0 },
    });
  });

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after raw rows expire, totals still match via flows_1m, and the answer names it', async () => {
    // from mid-minute nine days back (raw flows will not hold it) to mid-minute today
    const range = { from: T0 - 9 * D + 30, to: T0 + 3000 + 30 };
    const widenedRange = { from: T0 - 9 * D, to: range.to };
    const before = await topTalkers(ctx, { ...widenedRange, by: 'namespace', limit: 10, table: 'flows' });
    const bw0 = await podBandwidth(ctx, {
      ...widenedRange,
      namespace: 'shop',
      pod: 'web-1',
      step: 60,
      table: 'flows',
    });
    const pairs = await topTalkers(ctx, { ...widenedRange, by: 'pair', limit: 100, table: 'flows' });
    expect(sum(before.rows)).toBeGreaterThan(0);

    // what the TTL does to raw flows 7 days after arrival (rows by `received`)
    await store.client.command({
      query: "ALTER TABLE pw.flows DELETE WHERE received < toDateTime({cut:UInt32}, 'UTC')",
      query_params: { cut: CUT },
      clickhouse_settings: { mutations_sync: '1' },
    });
    horizonCache.clear(ctx);
    const raw = await readHolding(ctx, 'flows');
    expect(raw.oldest).toBeGreaterThanOrEqual(CUT - 20);
    expect(raw.retentionDays).toBe(100_000);
    // flows_1h's oldest bucket keeps the latest arrival of its hour's rows
    expect(await readFirstArrival(ctx)).toBe(T0 - 10 * D + 3590 + 20);

    // without horizons the old sub-minute end is read from raw flows, which lost it
    const blind = await topTalkers(ctx, { ...range, by: 'namespace', limit: 10, horizons: {} });
    expect(sum(blind.rows)).toBeLessThan(sum(before.rows));

    const got = await topTalkers(ctx, { ...range, by: 'namespace', limit: 10 });
    expect(got.rows).toEqual(before.rows);
    expect(got.widened).toBe(true);
    expect(got.partial).toBe(false);
    expect(got.tables[0]).toEqual({ table: 'flows_1m', from: widenedRange.from, to: T0 - 9 * D + 3600 });
    expect(new Set(got.tables.map((p) => p.table))).toEqual(new Set(['flows', 'flows_1m', 'flows_1h']));
    // no piece is read from raw flows before what they hold
    for (const p of got.tables) if (p.table === 'flows') expect(p.from).toBeGreaterThanOrEqual(CUT);

    const bw = await podBandwidth(ctx, { ...range, namespace: 'shop', pod: 'web-1', step: 60 });
    expect(bw.points).toEqual(bw0.points);
    expect(bw.widened).toBe(true);
    expect(bw.tables[0].table).toBe('flows_1m');

    const peers = await podPeers(ctx, {
      ...range,
      namespace: 'shop',
      pod: 'db-1',
      limit: 10,
      namespaces: undefined,
    });
    const peerTotal = peers.peers.reduce((a, p) => a + p.rxBytes + p.txBytes, 0);
    // each flow of db-1 counts once per side it is on (to itself: sent and received)
    expect(peerTotal).toBe(
      sum(pairs.rows.filter((r) => r.src_pod === 'db-1')) +
        sum(pairs.rows.filter((r) => r.dst_pod === 'db-1')),
    );
    expect(peers.widened).toBe(true);
  });
});

describe('horizons on ClickHouse 18.16 (HTTP)', () => {
  let server: ClickHouseServer;
  let store: Store;

  beforeAll(async () => {
    server = await startClickHouseServer();
    store = await openStore({ url: server.url });
    await store.client.command({ query: 'CREATE DATABASE IF NOT EXISTS podwire' });
    for (const t of ['flows', 'flows_1h'])
      await store.client.command({
        query: `CREATE TABLE podwire.${t} (window_start DateTime('UTC'), received DateTime('UTC'), bytes UInt64)
ENGINE = MergeTree PARTITION BY toYYYYMMDD(window_start) ORDER BY window_start`,
      });
  });

  afterAll(async () => {
    await store?.close();
    await server?.destroy();
  });

  it('the same horizon queries answer there: oldest traffic time, no TTL, first arrival', async () => {
    const ctx = { client: store.client, database: 'podwire' };
    expect(await readHolding(ctx, 'flows')).toEqual({ rows: 0, oldest: null, retentionDays: null });
    expect(await readFirstArrival(ctx)).toBeNull();
    await store.client.command({
      query: `INSERT INTO podwire.flows SELECT toDateTime(${T0 - 3 * D} + number * 10), toDateTime(${T0} + number), 1 FROM system.numbers LIMIT 1000`,
    });
    await store.client.command({
      query: `INSERT INTO podwire.flows_1h SELECT toDateTime(${T0 - 3 * D}), toDateTime(${T0 + 5}), 1`,
    });
    expect(await readHolding(ctx, 'flows')).toEqual({ rows: 1000, oldest: T0 - 3 * D, retentionDays: null });
    expect(await readFirstArrival(ctx)).toBe(T0 + 5);
  });
});
