/**
 * The query API against the real store (embedded chDB): time parameters are bounded by
 * what the columns hold — DateTime (flows, rollups, VF counters: 1970-01-01T00:00:00Z to
 * 2106-02-07T06:28:15Z) and DateTime64(6) (packet samples: 1900-01-01 to 2300-01-01) — and
 * refused beyond with a 400 naming the parameter, where they used to wrap (a 200 with the
 * wrong rows) or reach the store (a 500 echoing its error). A store error is a 500 with a
 * request id and no store text; the text goes to the service log under that id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountApi } from '../../api/app.js';
import type { QueryContext } from '../../ingest/queries.js';
import type { Store } from '../../ingest/store.js';
import { openQueryStore } from '../helpers/query-store.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-api-'));
let store: Store;
const logs: string[] = [];
/** the flow the store holds: 2026-11-26T10:00:00Z */
const AT = Date.parse('2026-11-26T10:00:00Z') / 1000;

function app(ctx: () => QueryContext) {
  const a = new Hono();
  mountApi(a, { ctx, status: () => ({}), log: (line) => logs.push(line) });
  return a;
}
const api = () => app(() => ({ client: store.client, database: store.database }));

beforeAll(async () => {
  // retention far beyond any test date: rows of any time stay
  ({ store } = await openQueryStore(dir));
  await store.client.command({
    query: `INSERT INTO pw.flows (window_start, window_seconds, src_namespace, src_pod, bytes, packets, samples, sampling_rate)
      VALUES (toDateTime(${AT}, 'UTC'), 10, 'shop', 'web-1', 1000, 10, 10, 1)`,
  });
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(a: Hono, url: string) {
  const r = await a.request(url);
  return { status: r.status, body: (await r.json()) as { error?: string; requestId?: string } & object };
}

describe('query API time bounds (chDB)', () => {
  it('answers the widest range the DateTime columns hold, with the stored row', async () => {
    const r = await get(api(), '/api/top-talkers?by=pod&from=0&to=4294967295');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: [{ namespace: 'shop', pod: 'web-1', bytes: 1000 }] });
  });

  it.each([
    ['/api/top-talkers?by=pod&from=0&to=4294967296', /^to: /],
    ['/api/top-talkers?from=1900-01-01T00:00:00Z', /^from: /],
    ['/api/top-talkers?from=9999999999999999999999', /^from: /],
    ['/api/top-talkers?from=2106-01-01T00:00:00Z&to=2107-01-01T00:00:00Z', /^to: /],
    ['/api/pods/shop/web-1/bandwidth?from=0&to=4294967296', /^to: /],
    ['/api/vf-counters?from=1900-01-01T00:00:00Z&to=1000', /^from: /],
    ['/api/packets?to=2300-01-02T00:00:00Z', /^to: /],
    ['/api/packets?from=1899-12-31T23:59:59Z&to=1000', /^from: /],
  ])('refuses %s with a 400 naming the parameter and its bounds', async (url, which) => {
    const r = await get(api(), url);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toMatch(which);
    expect(r.body.error).toMatch(/between \d{4}-\d\d-\d\dT.* and \d{4}-\d\d-\d\dT/);
  });

  it('takes packet sample times the DateTime64(6) column holds, before 1970 and after 2106', async () => {
    const r = await get(api(), '/api/packets?from=1900-01-01T00:00:00Z&to=2299-12-31T00:00:00Z');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual([]);
  });

  it('a store error is a 500 with a request id, its text only in the log', async () => {
    const broken = app(() => ({ client: store.client, database: 'no_such_db' }));
    logs.length = 0;
    const r = await get(broken, '/api/top-talkers?from=0&to=1000');
    expect(r.status).toBe(500);
    expect(r.body.error).toMatch(/^internal error \(request [0-9a-f-]{36}\): see the service log$/);
    expect(JSON.stringify(r.body)).not.toMatch(/no_such_db|Code: |DB::Exception|UNKNOWN_DATABASE/);
    expect(r.body.requestId).toBeDefined();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(r.body.requestId);
    expect(logs[0]).toMatch(/GET \/api\/top-talkers/);
    expect(logs[0]).toMatch(/no_such_db/);
  });
});
