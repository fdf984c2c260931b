/**
 * Answers from the rollups equal answers from raw flows (real chDB): a range is cut into
 * an hour-aligned middle (flows_1h), minute-aligned stretches (flows_1m) and sub-minute
 * ends (flows), and top talkers, per-pod bandwidth and pod peers over it must be exactly
 * what raw flows alone say, for ranges on flow-window boundaries that do and do not fall
 * on minute and hour boundaries. The rows are generated from a fixed seed (no clock).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podPeers, scopedTopTalkers } from '../../ingest/api-queries.js';
import {
  flowPartsFor,
  podBandwidth,
  type QueryContext,
  TALKER_KEYS,
  type TalkerKey,
  topTalkers,
} from '../../ingest/queries.js';
import type { Store } from '../../ingest/store.js';
import { openQueryStore } from '../helpers/query-store.js';

/** 2026-11-26T10:00:00Z: an hour boundary */
const H = Date.parse('2026-11-26T10:00:00Z') / 1000;
const dir = mkdtempSync(join(tmpdir(), 'podwire-rollup-parts-'));
let store: Store;
let ctx: QueryContext;

beforeAll(async () => {
  ({ store, ctx } = await openQueryStore(dir));
  // 10-second windows from H - 10 min to H + 3 h 10 min, 4 flows a window between 6 pods
  // and the outside (''), over VLANs and VNIs; bytes vary with the row number. Three
  // inserts, so the rollups hold unmerged parts as they do while the service runs.
  const pods = "['web-1','web-2','db-1','cache-1','gw-1','']";
  const nss = "['shop','shop','shop','search','payments','']";
  for (const [a, b] of [
    [0, 2000],
    [2000, 4000],
    [4000, 4 * 1200],
  ]) {
    await store.client.command({
      query: `INSERT INTO pw.flows (window_start, window_seconds, observation, vlan, vni,
  src_namespace, src_pod, dst_namespace, dst_pod, bytes, packets, samples, sampling_rate)
SELECT toDateTime(${H - 600} + intDiv(number, 4) * 10, 'UTC'), 10, 'erspan:7',
  100 + number % 3, if(number % 5 = 0, 5000 + number % 2, -1),
  ${nss}[1 + number % 6], ${pods}[1 + number % 6],
  ${nss}[1 + (number * 7 + 3) % 6], ${pods}[1 + (number * 7 + 3) % 6],
  1000 + (number * 7919) % 100000, 1 + (number * 31) % 900, 1, 1
FROM numbers(${a}, ${b - a})`,
    });
  }
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** ranges on 10 s window boundaries: aligned to hours, minutes, neither, and mixed */
const RANGES: [string, { from: number; to: number }][] = [
  ['hour-aligned', { from: H, to: H + 3 * 3600 }],
  ['minute-aligned', { from: H - 540, to: H + 3600 + 120 }],
  ['window-aligned, spanning hours', { from: H - 590, to: H + 2 * 3600 + 1790 }],
  ['window-aligned within one minute', { from: H + 70, to: H + 110 }],
  ['window-aligned, within an hour', { from: H + 3600 + 10, to: H + 3600 + 1210 }],
  ['the whole data and beyond', { from: H - 3600, to: H + 5 * 3600 }],
];

describe('flowPartsFor', () => {
  it('cuts a range into exact pieces, coarsest in the middle, contiguous and covering it', () => {
    const r = { from: H - 590, to: H + 2 * 3600 + 1790 };
    const parts = flowPartsFor(r);
    expect(parts).toEqual([
      { table: 'flows', from: H - 590, to: H - 540 },
      { table: 'flows_1m', from: H - 540, to: H },
      { table: 'flows_1h', from: H, to: H + 2 * 3600 },
      { table: 'flows_1m', from: H + 2 * 3600, to: H + 2 * 3600 + 1740 },
      { table: 'flows', from: H + 2 * 3600 + 1740, to: H + 2 * 3600 + 1790 },
    ]);
  });

  it('keeps to the tables whose bucket divides the step', () => {
    const r = { from: H - 590, to: H + 2 * 3600 + 1790 };
    expect(new Set(flowPartsFor(r, 60).map((p) => p.table))).toEqual(new Set(['flows', 'flows_1m']));
    expect(flowPartsFor(r, 10)).toEqual([{ table: 'flows', ...r }]);
    expect(flowPartsFor({ from: H + 70, to: H + 110 })).toEqual([
      { table: 'flows', from: H + 70, to: H + 110 },
    ]);
  });

  it('pieces are contiguous and cover the range for any range', () => {
    let seed = 7;
    const rnd = (m: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % m;
    };
    for (let i = 0; i < 500; i++) {
      const from = H + rnd(20_000) - 10_000;
      const to = from + 1 + rnd(30_000);
      const parts = flowPartsFor({ from, to }, [0, 60, 3600][rnd(3)]);
      expect(parts[0].from).toBe(from);
      expect(parts.at(-1)?.to).toBe(to);
      for (let j = 1; j < parts.length; j++) expect(parts[j].from).toBe(parts[j - 1].to);
      for (const p of parts) expect(p.to).toBeGreaterThan(p.from);
    }
  });
});

describe('answers from the rollups equal answers from raw flows (chDB)', () => {
  it.each(RANGES)('top talkers, every grouping: %s', async (_name, range) => {
    for (const by of Object.keys(TALKER_KEYS) as TalkerKey[]) {
      const fromParts = await topTalkers(ctx, { ...range, by, limit: 1000 });
      const fromRaw = await topTalkers(ctx, { ...range, by, limit: 1000, table: 'flows' });
      expect(fromRaw.rows.length, by).toBeGreaterThan(0);
      expect(fromParts.rows, by).toEqual(fromRaw.rows);
    }
  });

  it('the rollups answer the hour-aligned and the "last hour"-like ranges', async () => {
    expect((await topTalkers(ctx, { ...RANGES[0][1], by: 'pod' })).table).toBe('flows_1h');
    expect((await topTalkers(ctx, { ...RANGES[2][1], by: 'pod' })).table).toBe('flows_1h');
    expect((await topTalkers(ctx, { ...RANGES[4][1], by: 'pod' })).table).toBe('flows_1m');
  });

  it.each(RANGES)('per-pod bandwidth at steps 10 s, 1 min, 1 h: %s', async (_name, range) => {
    for (const step of [10, 60, 3600]) {
      // a step's buckets straddle the range's ends only where the range is not on them
      const q = { ...range, namespace: 'shop', pod: 'web-1', step };
      const fromParts = await podBandwidth(ctx, q);
      const fromRaw = await podBandwidth(ctx, { ...q, table: 'flows' });
      expect(fromRaw.points.length, `step ${step}`).toBeGreaterThan(0);
      expect(fromParts.points, `step ${step}`).toEqual(fromRaw.points);
      expect(fromParts.widened).toBe(false);
    }
  });

  it.each(RANGES)(
    "a tenant's top talkers (every namespace in scope) by pod and namespace: %s",
    async (_n, range) => {
      const namespaces = ['shop', 'search', 'payments', ''];
      for (const by of ['pod', 'namespace'] as const) {
        const scoped = await scopedTopTalkers(ctx, { ...range, by, limit: 1000, namespaces });
        const fromRaw = await topTalkers(ctx, { ...range, by, limit: 1000, table: 'flows' });
        expect(scoped.rows, by).toEqual(fromRaw.rows);
      }
    },
  );

  it.each(RANGES)(
    'pod peers are the flows of the pod, each direction summed by the other side: %s',
    async (_n, range) => {
      const raw = (await (
        await store.client.query({
          query: `SELECT src_namespace AS sn, src_pod AS sp, dst_namespace AS dn, dst_pod AS dp, bytes
FROM pw.flows WHERE window_start >= toDateTime({f:UInt32}, 'UTC') AND window_start < toDateTime({t:UInt32}, 'UTC')`,
          query_params: { f: range.from, t: range.to },
          format: 'JSONEachRow',
        })
      ).json()) as { sn: string; sp: string; dn: string; dp: string; bytes: string }[];
      const want = new Map<string, { tx: number; rx: number }>();
      for (const r of raw) {
        for (const [me, peer, dir] of [
          [`${r.sn}/${r.sp}`, `${r.dn}/${r.dp}`, 'tx'],
          [`${r.dn}/${r.dp}`, `${r.sn}/${r.sp}`, 'rx'],
        ] as const) {
          if (me !== 'shop/db-1') continue;
          const e = want.get(peer) ?? { tx: 0, rx: 0 };
          e[dir] += Number(r.bytes);
          want.set(peer, e);
        }
      }
      expect(want.size).toBeGreaterThan(0);
      const got = await podPeers(ctx, {
        ...range,
        namespace: 'shop',
        pod: 'db-1',
        limit: 100,
        namespaces: undefined,
      });
      expect(
        new Map(got.peers.map((p) => [`${p.namespace}/${p.pod}`, { tx: p.txBytes, rx: p.rxBytes }])),
      ).toEqual(want);
    },
  );
});
