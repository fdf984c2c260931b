/**
 * Routing by horizon (pure): flowPartsFor with the tables' horizons never reads a time from
 * a table before its horizon, sends it to the finest table that holds it, widens only the
 * range's two ends, and says so (coverageOf). Also the horizon rules (retention cut, first
 * arrival, TTL text) and the horizon cache (TTL, one refresh, stale served) on a fake client.
 * No store, no clock: times are fixed numbers and the cache's clock is injected.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import {
  HorizonCache,
  type Horizons,
  holdingOf,
  horizonOf,
  type TableHolding,
  ttlDays,
} from '../../ingest/horizon.js';
import {
  coverageOf,
  effectiveStarts,
  type FlowPart,
  type FlowTableName,
  flowPartsFor,
} from '../../ingest/queries.js';

/** 2026-11-26T10:00:00Z: an hour boundary */
const H = Date.parse('2026-11-26T10:00:00Z') / 1000;
const D = 86_400;
const BUCKET: Record<FlowTableName, number> = { flows: 0, flows_1m: 60, flows_1h: 3600 };

describe('flowPartsFor with horizons', () => {
  it('without horizons (or with every table holding the range) the pieces are the exact ones', () => {
    const r = { from: H - 590, to: H + 2 * 3600 + 1790 };
    const exact: FlowPart[] = [
      { table: 'flows', from: H - 590, to: H - 540 },
      { table: 'flows_1m', from: H - 540, to: H },
      { table: 'flows_1h', from: H, to: H + 2 * 3600 },
      { table: 'flows_1m', from: H + 2 * 3600, to: H + 2 * 3600 + 1740 },
      { table: 'flows', from: H + 2 * 3600 + 1740, to: H + 2 * 3600 + 1790 },
    ];
    expect(flowPartsFor(r)).toEqual(exact);
    expect(flowPartsFor(r, 0, { flows: H - D, flows_1m: H - 30 * D, flows_1h: H - 365 * D })).toEqual(exact);
    expect(coverageOf(r, exact, { flows: H - D, flows_1m: H - 30 * D, flows_1h: H - 365 * D })).toEqual({
      table: 'flows_1h',
      tables: exact,
      widened: false,
      holdsFrom: H - 365 * D,
      partial: false,
    });
  });

  it('a range older than raw flows hold: its sub-minute ends come from flows_1m, widened', () => {
    // raw holds from a day later: the range is 8 days back, raw keeps 7
    const r = { from: H - 8 * D + 30, to: H - 8 * D + 2 * 3600 + 90 };
    const h: Horizons = { flows: H - 7 * D, flows_1m: H - 30 * D, flows_1h: H - 365 * D };
    const parts = flowPartsFor(r, 0, h);
    expect(parts).toEqual([
      { table: 'flows_1m', from: H - 8 * D, to: H - 8 * D + 3600 },
      { table: 'flows_1h', from: H - 8 * D + 3600, to: H - 8 * D + 2 * 3600 },
      { table: 'flows_1m', from: H - 8 * D + 2 * 3600, to: H - 8 * D + 2 * 3600 + 120 },
    ]);
    const c = coverageOf(r, parts, h);
    expect(c.widened).toBe(true);
    expect(c.partial).toBe(false);
    expect(c.table).toBe('flows_1h');
  });

  it("a range across raw flows' horizon: rollups before it, the exact pieces after, no gap or overlap", () => {
    const hz = H - 7 * D + 1234; // a retention cut: any second
    const r = { from: hz - 3 * 3600 - 10, to: hz + 3600 + 10 };
    const parts = flowPartsFor(r, 0, { flows: hz, flows_1m: H - 30 * D, flows_1h: H - 365 * D });
    const day = H - 7 * D;
    // before the horizon the rollups (a minute piece widened past it to its minute's end),
    // after it the exact pieces: here a minute stretch (merged with that piece) and raw's end
    expect(parts).toEqual([
      { table: 'flows_1m', from: day - 9600, to: day - 7200 },
      { table: 'flows_1h', from: day - 7200, to: day },
      { table: 'flows_1m', from: day, to: day + 4800 },
      { table: 'flows', from: day + 4800, to: r.to },
    ]);
    for (let i = 1; i < parts.length; i++) expect(parts[i].from).toBe(parts[i - 1].to);
  });

  it('a store that began mid-hour: the hour before its first row is read as before (no widening)', () => {
    // flows_1h's oldest row is the hour's start, flows_1m's and raw's the first minute
    const h: Horizons = { flows: H - 590, flows_1m: H - 600, flows_1h: H - 3600 };
    expect(effectiveStarts(h)).toEqual([H - 590, H - 590, H - 590]);
    const r = { from: H - 3600 + 5, to: H + 5 };
    expect(flowPartsFor(r, 10, h)).toEqual([{ table: 'flows', ...r }]);
    expect(coverageOf(r, flowPartsFor(r, 0, h), h)).toMatchObject({ widened: false, partial: true });
    // but a rollup that holds older buckets than raw flows keeps them
    expect(effectiveStarts({ flows: H - 590, flows_1m: H - 7200, flows_1h: H - 3600 })).toEqual([
      H - 590,
      H - 7200,
      H - 3600,
    ]);
  });

  it('with a step, a table that no longer holds the range is left out whatever the step', () => {
    const r = { from: H - 10 * D + 20, to: H - 10 * D + 200 };
    // step 10: raw flows would answer alone; they hold nothing this old
    expect(flowPartsFor(r, 10, { flows: H - 7 * D })).toEqual([
      { table: 'flows_1m', from: H - 10 * D, to: H - 10 * D + 240 },
    ]);
    // and raw flows holding nothing at all (null) is the same
    expect(flowPartsFor(r, 10, { flows: null })).toEqual([
      { table: 'flows_1m', from: H - 10 * D, to: H - 10 * D + 240 },
    ]);
  });

  it('older than every table holds: the coarsest answers what it has, and the answer says partial', () => {
    const r = { from: H - 400 * D, to: H - 399 * D + 30 };
    const h: Horizons = { flows: H - 7 * D, flows_1m: H - 30 * D, flows_1h: H - 365 * D };
    const parts = flowPartsFor(r, 0, h);
    expect(parts).toEqual([{ table: 'flows_1h', from: H - 400 * D, to: H - 399 * D + 3600 }]);
    expect(coverageOf(r, parts, h)).toMatchObject({ widened: true, partial: true, holdsFrom: H - 365 * D });
    // a store without flows: nothing held anywhere
    const none = { flows: null, flows_1m: null, flows_1h: null };
    expect(coverageOf(r, flowPartsFor(r, 0, none), none)).toMatchObject({ partial: true, holdsFrom: null });
  });

  it('property: pieces tile the range or its widened version; none before its table’s horizon', () => {
    let seed = 11;
    const rnd = (m: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % m;
    };
    const horizon = (): number | null | undefined => {
      const k = rnd(6);
      if (k === 0) return undefined;
      if (k === 1) return null;
      return H - rnd(40 * D);
    };
    for (let i = 0; i < 3000; i++) {
      const from = H - rnd(45 * D);
      const to = from + 1 + rnd([120, 7200, 3 * D][rnd(3)]);
      const step = [0, 10, 60, 120, 3600, 7200][rnd(6)];
      const h: Horizons = { flows: horizon(), flows_1m: horizon(), flows_1h: horizon() };
      const parts = flowPartsFor({ from, to }, step, h);
      const what = JSON.stringify({ from, to, step, h, parts });
      expect(parts.length, what).toBeGreaterThan(0);
      // contiguous, each non-empty, rollup pieces on their buckets
      for (let j = 1; j < parts.length; j++) expect(parts[j].from, what).toBe(parts[j - 1].to);
      for (const p of parts) {
        expect(p.to, what).toBeGreaterThan(p.from);
        const b = BUCKET[p.table];
        if (b > 0) expect([p.from % b, p.to % b], what).toEqual([0, 0]);
      }
      // covers the range; widened by less than an hour at either end, only where it says so
      const c = coverageOf({ from, to }, parts, h);
      expect(parts[0].from, what).toBeLessThanOrEqual(from);
      expect(parts[0].from, what).toBeGreaterThan(from - 3600);
      expect(parts.at(-1)?.to, what).toBeGreaterThanOrEqual(to);
      expect(parts.at(-1)?.to ?? 0, what).toBeLessThan(to + 3600);
      expect(c.widened, what).toBe(parts[0].from < from || (parts.at(-1)?.to ?? 0) > to);
      // no piece before its table's start (horizon, on its bucket, never earlier), unless no
      // table holds that time and the piece's table is one that holds the earliest
      const orig = (t: FlowTableName): number => {
        const v = h[t];
        if (v === undefined) return Number.NEGATIVE_INFINITY;
        if (v === null) return Number.POSITIVE_INFINITY;
        return BUCKET[t] === 0 ? v : Math.ceil(v / BUCKET[t]) * BUCKET[t];
      };
      const eff = effectiveStarts(h);
      const TABLES = ['flows', 'flows_1m', 'flows_1h'] as const;
      TABLES.forEach((t, k) => {
        expect(eff[k], what).toBeGreaterThanOrEqual(orig(t));
      });
      const start = (t: FlowTableName) => eff[TABLES.indexOf(t as (typeof TABLES)[number])];
      const held = Math.min(...eff);
      for (const p of parts) {
        if (p.from >= start(p.table)) continue;
        expect([p.from < held, start(p.table)], what).toEqual([true, held]);
      }
      // where raw flows hold the time, a rollup answers only if its bucket divides the step
      for (const p of parts)
        if (p.table !== 'flows' && p.from >= start('flows') && p.from >= held)
          expect(step % BUCKET[p.table], what).toBe(0);
    }
  });

  it('without horizons, pieces tile the range exactly (no widening), for any range and step', () => {
    for (let from = H - 3700; from < H + 3700; from += 337)
      for (const len of [1, 59, 61, 3599, 3601, 9000])
        for (const step of [0, 60, 3600]) {
          const parts: FlowPart[] = flowPartsFor({ from, to: from + len }, step);
          expect(parts[0].from).toBe(from);
          expect(parts.at(-1)?.to).toBe(from + len);
          expect(coverageOf({ from, to: from + len }, parts).widened).toBe(false);
        }
  });
});

describe('horizon rules', () => {
  const NOW = H;
  const held = (o: Partial<TableHolding>): TableHolding => ({
    rows: 10,
    oldest: NOW - 20 * D,
    retentionDays: 7,
    ...o,
  });

  it('the retention cut where rows can have expired; the oldest traffic time where none can have', () => {
    // the store received before the cut: raw flows lost what arrived then
    expect(horizonOf(held({}), NOW, NOW - 40 * D)).toBe(NOW - 7 * D);
    // the store is younger than the retention (an import of older traffic): all still there
    expect(horizonOf(held({}), NOW, NOW - 2 * D)).toBe(NOW - 20 * D);
    // the oldest row is younger than the cut: it is the horizon
    expect(horizonOf(held({ oldest: NOW - 3 * D }), NOW, NOW - 40 * D)).toBe(NOW - 3 * D);
    // no TTL (an old server, a table kept forever): the oldest row
    expect(horizonOf(held({ retentionDays: null }), NOW, NOW - 40 * D)).toBe(NOW - 20 * D);
    // empty
    expect(horizonOf(held({ rows: 0, oldest: null }), NOW, null)).toBeNull();
    // first arrival unknown (flows_1h empty): the cut, to be safe
    expect(horizonOf(held({}), NOW, null)).toBe(NOW - 7 * D);
  });

  it("reads the TTL as ClickHouse prints ddl.ts's", () => {
    expect(
      ttlDays('CREATE TABLE pw.flows (…) ENGINE = MergeTree … TTL received + toIntervalDay(7) SETTINGS x'),
    ).toBe(7);
    expect(ttlDays('… TTL received + INTERVAL 30 DAY')).toBe(30);
    expect(ttlDays('CREATE TABLE podwire.flows (window_start DateTime) ENGINE = MergeTree')).toBeNull();
  });

  it('holdingOf: the oldest horizon of the tables, partial before it or when nothing is held', () => {
    expect(holdingOf(H, [H - 10, H - 100])).toEqual({ holdsFrom: H - 100, partial: false });
    expect(holdingOf(H - 200, [H - 10, H - 100])).toEqual({ holdsFrom: H - 100, partial: true });
    expect(holdingOf(H, [null, null])).toEqual({ holdsFrom: null, partial: true });
    expect(holdingOf(H, [H + 10, undefined])).toEqual({ holdsFrom: null, partial: false });
  });
});

describe('HorizonCache', () => {
  /** A client that answers the horizon queries from `oldest` and counts them. */
  function fakeClient(oldest: () => number) {
    let queries = 0;
    let gate: Promise<void> = Promise.resolve();
    const client = {
      query: async ({ query }: { query: string }) => {
        queries++;
        await gate;
        const rows = query.includes('system.tables')
          ? [{ name: 'flows', q: 'ENGINE = MergeTree TTL received + toIntervalDay(7)' }]
          : query.includes('min(received)')
            ? [{ n: '1', r: String(oldest()) }]
            : [{ n: '5', w: String(oldest()) }];
        return { json: async () => rows };
      },
    };
    return {
      ctx: { client: client as unknown as ClickHouseClient, database: 'pw' },
      queries: () => queries,
      hold: () => {
        let open = () => {};
        gate = new Promise<void>((r) => {
          open = r;
        });
        return open;
      },
    };
  }

  it('reads once per TTL, serves the stale value while one refresh runs, then the new one', async () => {
    let t = H * 1000;
    let oldest = H - D;
    const f = fakeClient(() => oldest);
    const cache = new HorizonCache({ ttlMs: 60_000, now: () => t });
    const [a, b] = await Promise.all([cache.get(f.ctx), cache.get(f.ctx)]);
    expect(a).toEqual(b);
    expect(a.flows).toBe(H - D);
    const perRead = f.queries();
    expect(perRead).toBe(1 + 2 * 4); // first arrival, then count/min and TTL per table
    t += 59_000;
    await cache.get(f.ctx);
    expect(f.queries()).toBe(perRead);
    // stale: answered at once from the old value, one refresh in the background
    t += 2_000;
    oldest = H - 2 * D;
    const open = f.hold();
    expect((await cache.get(f.ctx)).flows).toBe(H - D);
    expect((await cache.get(f.ctx)).flows).toBe(H - D);
    open();
    await new Promise((r) => setTimeout(r, 10));
    expect((await cache.get(f.ctx)).flows).toBe(H - 2 * D);
    expect(f.queries()).toBe(2 * perRead);
  });
});
