/**
 * The answer cache (api/cache.ts, api/polled.ts) on a real chDB store: a cached answer is
 * the uncached one; the caller's scope is part of the key (tenant A never gets tenant B's
 * answer); entries expire by an injected clock (no wall clock); N concurrent identical
 * calls make one store query; the cache holds at most its bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnswerCache, type CacheScope, pollKey, queryKey, scopeKey } from '../../api/cache.js';
import { type Asked, cachedPodBandwidth, cachedPodPeers, cachedTopTalkers } from '../../api/polled.js';
import { podPeers } from '../../ingest/api-queries.js';
import { podBandwidth, type QueryContext, type Range, topTalkers } from '../../ingest/queries.js';
import type { Store } from '../../ingest/store.js';
import { openQueryStore } from '../helpers/query-store.js';

const H = Date.parse('2026-11-26T10:00:00Z') / 1000;
const RANGE = { from: H - 1800, to: H + 1805 };
const dir = mkdtempSync(join(tmpdir(), 'podwire-cache-'));
let store: Store;
/** store queries made through `ctx` */
let queries = 0;
let ctx: QueryContext;

beforeAll(async () => {
  ({ store, ctx } = await openQueryStore(dir));
  await store.client.command({
    query: `INSERT INTO pw.flows (window_start, window_seconds, src_namespace, src_pod, dst_namespace, dst_pod, bytes, packets, samples, sampling_rate)
SELECT toDateTime(${H - 1800} + intDiv(number, 3) * 10, 'UTC'), 10,
  ['shop','payments','shop'][1 + number % 3], ['web-1','gw-1','db-1'][1 + number % 3],
  ['payments','shop','shop'][1 + number % 3], ['gw-1','db-1','web-1'][1 + number % 3],
  500 + (number * 7919) % 10000, 1 + number % 50, 1, 1
FROM numbers(3 * 360)`,
  });
  // every query through ctx is counted: what the cache saves is store queries
  const client = Object.create(store.client) as ClickHouseClient;
  client.query = ((p: Parameters<ClickHouseClient['query']>[0]) => {
    queries++;
    return store.client.query(p);
  }) as ClickHouseClient['query'];
  ctx = { client, database: 'pw' };
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  queries = 0;
});

/** the tests ask for explicit ranges: the range is the one asked */
const given = (q: Asked) => q as Range;

const ADMIN: CacheScope = { kind: 'admin' };
const SHOP: CacheScope = { kind: 'tenant', namespaces: ['shop'] };
const PAYMENTS: CacheScope = { kind: 'tenant', namespaces: ['payments'] };

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('answer cache on chDB', () => {
  it('a cached answer is the uncached one, for top talkers, bandwidth and peers', async () => {
    const cache = new AnswerCache({ ttlMs: 5000, maxEntries: 100, now: clock().now });
    for (const by of ['pod', 'pair', 'namespace'] as const) {
      const direct = await topTalkers(ctx, { ...RANGE, by, limit: 50 });
      const first = await cachedTopTalkers(cache, ctx, ADMIN, { ...RANGE, by, limit: 50 }, given);
      const second = await cachedTopTalkers(cache, ctx, ADMIN, { ...RANGE, by, limit: 50 }, given);
      expect(direct.rows.length).toBeGreaterThan(0);
      expect(first).toEqual(direct);
      expect(second).toEqual(direct);
    }
    const bq = { ...RANGE, namespace: 'shop', pod: 'web-1', step: 60 };
    const bw = await podBandwidth(ctx, bq);
    expect(bw.points.length).toBeGreaterThan(0);
    expect(await cachedPodBandwidth(cache, ctx, ADMIN, bq, given)).toEqual(bw);
    expect(await cachedPodBandwidth(cache, ctx, ADMIN, bq, given)).toEqual(bw);
    const pq = { ...RANGE, namespace: 'shop', pod: 'db-1', limit: 50 };
    const peers = await podPeers(ctx, { ...pq, namespaces: undefined });
    expect(peers.peers.length).toBeGreaterThan(0);
    expect(await cachedPodPeers(cache, ctx, ADMIN, pq, given)).toEqual(peers);
    expect(await cachedPodPeers(cache, ctx, ADMIN, pq, given)).toEqual(peers);
    expect(cache.stats()).toMatchObject({ hits: 5, misses: 5 });
  });

  it("keys by scope: tenant A never gets the answer computed for tenant B (nor an admin's)", async () => {
    const cache = new AnswerCache({ ttlMs: 60_000, maxEntries: 100, now: clock().now });
    const q = { ...RANGE, by: 'pod' as const, limit: 50 };
    const shop = await cachedTopTalkers(cache, ctx, SHOP, q, given);
    const payments = await cachedTopTalkers(cache, ctx, PAYMENTS, q, given);
    expect(shop.rows.length).toBeGreaterThan(0);
    expect(payments.rows.length).toBeGreaterThan(0);
    expect(shop.rows.every((r) => r.namespace === 'shop')).toBe(true);
    expect(payments.rows.every((r) => r.namespace === 'payments')).toBe(true);
    // an admin's answer is cached apart from both
    const all = await cachedTopTalkers(cache, ctx, ADMIN, q, given);
    expect(new Set(all.rows.map((r) => r.namespace))).toEqual(new Set(['shop', 'payments']));
    // again, from the cache: still each its own
    expect(await cachedTopTalkers(cache, ctx, PAYMENTS, q, given)).toEqual(payments);
    expect(await cachedTopTalkers(cache, ctx, SHOP, q, given)).toEqual(shop);
    expect(queries).toBe(3);
    // the same namespaces in another order are the same scope; a superset is not
    expect(scopeKey({ kind: 'tenant', namespaces: ['b', 'a'] })).toBe(
      scopeKey({ kind: 'tenant', namespaces: ['a', 'b', 'a'] }),
    );
    expect(scopeKey({ kind: 'tenant', namespaces: ['a', 'b'] })).not.toBe(
      scopeKey({ kind: 'tenant', namespaces: ['a'] }),
    );
    expect(scopeKey(ADMIN)).not.toBe(scopeKey({ kind: 'tenant', namespaces: [] }));
  });

  it('N concurrent identical calls make one store query, and all get its answer', async () => {
    const cache = new AnswerCache({ ttlMs: 5000, maxEntries: 100, now: clock().now });
    const q = { ...RANGE, by: 'pair' as const, limit: 10 };
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => cachedTopTalkers(cache, ctx, ADMIN, q, given)),
    );
    expect(queries).toBe(1);
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0].rows.length).toBeGreaterThan(0);
    expect(cache.stats()).toMatchObject({ misses: 1, coalesced: 199 });
  });
});

describe('answer cache, by an injected clock', () => {
  it('serves an answer for ttlMs, then asks again', async () => {
    const c = clock();
    const cache = new AnswerCache({ ttlMs: 5000, maxEntries: 10, now: c.now });
    let n = 0;
    const ask = () => cache.get(ADMIN, 'q', { a: 1 }, async () => ++n);
    expect(await ask()).toBe(1);
    c.advance(4999);
    expect(await ask()).toBe(1);
    c.advance(1);
    expect(await ask()).toBe(2);
    c.advance(4999);
    expect(await ask()).toBe(2);
  });

  it('counts the TTL from when the answer arrived, not from when it was asked', async () => {
    const c = clock();
    const cache = new AnswerCache({ ttlMs: 5000, maxEntries: 10, now: c.now });
    let release!: (v: number) => void;
    const first = cache.get(ADMIN, 'q', {}, () => new Promise<number>((r) => (release = r)));
    c.advance(10_000);
    release(1);
    expect(await first).toBe(1);
    expect(await cache.get(ADMIN, 'q', {}, async () => 2)).toBe(1);
  });

  it('does not keep a failure: the next call asks again', async () => {
    const cache = new AnswerCache({ ttlMs: 5000, maxEntries: 10, now: clock().now });
    await expect(
      cache.get(ADMIN, 'q', {}, async () => Promise.reject(new Error('store down'))),
    ).rejects.toThrow('store down');
    expect(await cache.get(ADMIN, 'q', {}, async () => 7)).toBe(7);
  });

  it('holds at most maxEntries, evicting the least recently used', async () => {
    const cache = new AnswerCache({ ttlMs: 60_000, maxEntries: 3, now: clock().now });
    let n = 0;
    const ask = (k: number) => cache.get(ADMIN, 'q', { k }, async () => ++n);
    for (const k of [1, 2, 3]) await ask(k);
    await ask(1); // 1 is now the most recently used
    await ask(4); // evicts 2
    expect(cache.stats()).toMatchObject({ size: 3, evictions: 1 });
    for (let k = 5; k < 1000; k++) await ask(k);
    expect(cache.stats().size).toBe(3);
    n = 100;
    expect(await ask(2)).toBe(101); // asked again: it had been evicted
  });

  it('keys a query by its given parameters, whatever their order', () => {
    expect(queryKey('q', { a: 1, b: 2, c: undefined })).toBe(queryKey('q', { b: 2, a: 1 }));
    expect(queryKey('q', { a: 1 })).not.toBe(queryKey('q', { a: 2 }));
    expect(queryKey('q', { a: 1 })).not.toBe(queryKey('r', { a: 1 }));
  });

  it('keys "up to now" as one question, whatever the time', () => {
    expect(pollKey({})).toEqual({ from: undefined, to: 'now' });
    expect(queryKey('q', pollKey({ from: 5 }))).toBe(queryKey('q', pollKey({ from: 5, to: undefined })));
    expect(pollKey({ from: 10, to: 20 })).toEqual({ from: 10, to: 20 });
  });

  it('serves a stale answer for staleMs while one refresh runs, then the refreshed one', async () => {
    const c = clock();
    const cache = new AnswerCache({ ttlMs: 5000, staleMs: 5000, maxEntries: 10, now: c.now });
    let n = 0;
    let release: (() => void) | undefined;
    const compute = () =>
      new Promise<number>((r) => {
        const v = ++n;
        release = () => r(v);
      });
    const first = cache.get(ADMIN, 'q', {}, compute);
    release?.();
    expect(await first).toBe(1);
    c.advance(6000); // stale: served at once, one refresh started
    expect(await cache.get(ADMIN, 'q', {}, compute)).toBe(1);
    expect(await cache.get(ADMIN, 'q', {}, compute)).toBe(1);
    expect(n).toBe(2);
    release?.();
    await new Promise((r) => setImmediate(r));
    expect(await cache.get(ADMIN, 'q', {}, compute)).toBe(2);
    expect(cache.stats()).toMatchObject({ misses: 1, stale: 2, hits: 1 });
    c.advance(10_000); // older than ttl + stale: asked again and waited for
    const late = cache.get(ADMIN, 'q', {}, compute);
    expect(n).toBe(3);
    release?.();
    expect(await late).toBe(3);
  });
});
