/**
 * The flow list's keyset pagination against the real store (embedded chDB): pages of any
 * size give every stored row exactly once, newest window first, even where rows are
 * identical (a flow emitted twice in one window: late packets, an overflowing table) and
 * fall across a page boundary — the cursor counts the rows of its own key already given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlowPosition, flowsPage } from '../../ingest/api-queries.js';
import type { QueryContext } from '../../ingest/queries.js';
import type { Store } from '../../ingest/store.js';
import { openQueryStore } from '../helpers/query-store.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-flows-page-'));
let store: Store;
let ctx: QueryContext;
/** the stored flows' first window: 2026-11-26T10:00:00Z */
const AT = Date.parse('2026-11-26T10:00:00Z') / 1000;
const RANGE = { from: AT - 60, to: AT + 600 };

beforeAll(async () => {
  ({ store, ctx } = await openQueryStore(dir));
  const rows: string[] = [];
  // 4 windows × 6 distinct flows, plus 5 identical copies of one flow in the second window
  for (let w = 0; w < 4; w++)
    for (let i = 0; i < 6; i++)
      rows.push(
        `(toDateTime(${AT + w * 10}, 'UTC'), 10, 'shop', 'web-${i}', 'payments', 'api-${i}', ${1000 + i}, 1, 1, 1, ${i})`,
      );
  for (let k = 0; k < 5; k++)
    rows.push(`(toDateTime(${AT + 10}, 'UTC'), 10, 'shop', 'dup', 'shop', 'dup', 77, 1, 1, 1, 7)`);
  await store.client.command({
    query: `INSERT INTO pw.flows (window_start, window_seconds, src_namespace, src_pod, dst_namespace, dst_pod, bytes, packets, samples, sampling_rate, src_port)
      VALUES ${rows.join(', ')}`,
  });
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function everyPage(limit: number, namespaces?: string[]) {
  const out: Record<string, string | number>[] = [];
  let after: FlowPosition | undefined;
  for (let n = 0; n < 100; n++) {
    const p = await flowsPage(ctx, { ...RANGE, limit, after, namespaces });
    expect(p.rows.length).toBeLessThanOrEqual(limit);
    out.push(...p.rows);
    if (p.next === null) return out;
    after = p.next;
  }
  throw new Error('more than 100 pages');
}

describe('flowsPage (chDB)', () => {
  it.each([1, 2, 3, 4, 7, 29, 1000])(
    'pages of %i give every row once, newest window first',
    async (limit) => {
      const whole = (await flowsPage(ctx, { ...RANGE, limit: 1000, namespaces: undefined })).rows;
      expect(whole).toHaveLength(29);
      const paged = await everyPage(limit);
      expect(paged).toEqual(whole);
      expect(paged.filter((r) => r.src_pod === 'dup')).toHaveLength(5);
      const windows = paged.map((r) => r.window as number);
      expect(windows).toEqual([...windows].sort((a, b) => b - a));
    },
  );

  it('a tenant pages its own flows: the other side external, every row once', async () => {
    const paged = await everyPage(4, ['payments']);
    expect(paged).toHaveLength(24);
    for (const r of paged) {
      expect(r.dst_namespace).toBe('payments');
      expect([r.src_namespace, r.src_pod, r.src_mac, r.src_ip]).toEqual(['', '', '', '']);
    }
  });
});
