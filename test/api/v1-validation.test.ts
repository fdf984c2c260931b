/**
 * /api/v1 request validation, before anything reaches the store: every bad parameter —
 * query or path, malformed, out of bounds, repeated, unknown, or an injection attempt —
 * is a 400 naming it, and the store is never asked (its stand-in here throws when it is).
 * Behaviour against the real store is in v1-all.test.ts.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { mountApi } from '../../api/app.js';
import type { QueryContext } from '../../ingest/queries.js';

/** A store that must not be reached: validation has to refuse first. */
const unreachable = (): QueryContext => {
  throw new Error('the store was reached');
};
const logs: string[] = [];

function app() {
  const a = new Hono();
  mountApi(a, { ctx: unreachable, status: () => ({}), log: (line) => logs.push(line) });
  return a;
}
const api = app();

async function get(url: string) {
  const r = await api.request(url);
  return { status: r.status, body: (await r.json()) as { error: string } };
}

const DAY = 86400;
const long = (n: number) => 'a'.repeat(n);

describe('/api/v1 validation (a store stand-in that fails if asked: none is)', () => {
  it.each([
    // top talkers
    ['/api/v1/top-talkers?by=bogus', /^by: /],
    ['/api/v1/top-talkers?limit=0', /^limit: expected a whole number from 1 to 1000/],
    ['/api/v1/top-talkers?limit=1001', /^limit: expected a whole number from 1 to 1000/],
    ['/api/v1/top-talkers?limit=1e3', /^limit: expected a whole number/],
    ['/api/v1/top-talkers?limit=0x10', /^limit: expected a whole number/],
    ['/api/v1/top-talkers?limit=5&limit=6', /^limit: given more than once/],
    ['/api/v1/top-talkers?from=yesterday', /^from: expected seconds since the epoch or an ISO 8601 time/],
    ['/api/v1/top-talkers?from=-1', /^from: expected seconds since the epoch/],
    ['/api/v1/top-talkers?from=2000&to=1000', /^to: must be after 'from'/],
    ['/api/v1/top-talkers?from=0&to=4294967296', /^to: must be between .* and 2106-02-07T06:28:15Z/],
    ['/api/v1/top-talkers?namespace=shop', /^namespace: unknown parameter/],
    ['/api/v1/top-talkers?byy=pod', /^byy: unknown parameter/],
    // pods
    ['/api/v1/pods?namespace=Shop', /^namespace: expected a Kubernetes namespace name/],
    ['/api/v1/pods?node=a%20b', /^node: expected a node name/],
    ['/api/v1/pods?limit=1', /^limit: unknown parameter/],
    [`/api/v1/pods/${long(64)}/web-1`, /^namespace: expected a Kubernetes namespace name/],
    ['/api/v1/pods/shop/Web_1', /^pod: expected a Kubernetes pod name/],
    [`/api/v1/pods/shop/${long(254)}`, /^pod: expected a Kubernetes pod name \(at most 253/],
    ['/api/v1/pods/shop/web-1?limit=101', /^limit: /],
    ['/api/v1/pods/shop/web-1/bandwidth?step=0', /^step: /],
    ['/api/v1/pods/shop/web-1/bandwidth?step=86401', /^step: /],
    ['/api/v1/pods/shop/web-1/bandwidth?step=1.5', /^step: /],
    // packets
    ['/api/v1/packets?mac=02:00', /^mac: expected a MAC address/],
    ['/api/v1/packets?ip=10.0.0.300', /^ip: expected an IP address/],
    ['/api/v1/packets?ip=fe80::1%25eth0', /^ip: expected an IP address/],
    ['/api/v1/packets?vlan=4095', /^vlan: /],
    ['/api/v1/packets?vni=16777216', /^vni: /],
    ['/api/v1/packets?limit=10001', /^limit: /],
    ['/api/v1/packets?to=2300-01-02T00:00:00Z', /^to: must be between/],
    // VF counters
    ['/api/v1/vf-counters?step=0', /^step: /],
    ['/api/v1/vf-counters?to=2106-02-08T00:00:00Z', /^to: must be between/],
    ['/api/v1/vf-counters?pod=-x', /^pod: /],
    // flows
    ['/api/v1/flows?limit=1001', /^limit: /],
    ['/api/v1/flows?protocol=256', /^protocol: /],
    ['/api/v1/flows?port=65536', /^port: /],
    ['/api/v1/flows?cursor=abc', /^cursor: not a cursor/],
    [`/api/v1/flows?cursor=${'A'.repeat(60)}`, /^cursor: not a cursor of this server/],
    [`/api/v1/flows?cursor=${long(513)}`, /^cursor: /],
    [`/api/v1/flows?from=0&to=${32 * DAY}`, /^to: the range may span at most 31 days/],
    // trace
    ['/api/v1/trace', /^mac: give at least one of mac, ip, vlan, vni/],
    ['/api/v1/trace?from=0&to=10', /^mac: give at least one of/],
    [`/api/v1/trace?ip=10.0.0.1&from=0&to=${40 * DAY}`, /^to: the range may span at most 31 days/],
    ['/api/v1/trace?vni=-1', /^vni: /],
    // SLA events
    ['/api/v1/sla-events?limit=0', /^limit: /],
    ['/api/v1/sla-events?namespace=a.b', /^namespace: /],
    // no parameters at all
    ['/api/v1/status?x=1', /^x: unknown parameter/],
    ['/api/v1/alerts?namespace=shop', /^namespace: unknown parameter/],
  ])('%s → 400 naming the parameter', async (url, message) => {
    const r = await get(url);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toMatch(message);
  });

  // quotes, backslashes, a query parameter placeholder, SQL, unicode (RTL override, NUL,
  // non-ASCII letters, emoji), an over-long value: every string parameter refuses them
  const ATTEMPTS = [
    "x'",
    "x' OR '1'='1",
    'x\\',
    '\\N',
    '{x:String}',
    'x%00y',
    '\u202eshop',
    'ѕhop', // Cyrillic s
    '😀',
    'shop;DROP TABLE flows',
    long(300),
  ];
  const PARAMS: [string, string][] = [
    ['/api/v1/pods?namespace=', 'namespace'],
    ['/api/v1/pods?node=', 'node'],
    ['/api/v1/packets?namespace=', 'namespace'],
    ['/api/v1/packets?pod=', 'pod'],
    ['/api/v1/packets?mac=', 'mac'],
    ['/api/v1/packets?ip=', 'ip'],
    ['/api/v1/packets?vlan=', 'vlan'],
    ['/api/v1/vf-counters?node=', 'node'],
    ['/api/v1/vf-counters?namespace=', 'namespace'],
    ['/api/v1/flows?namespace=', 'namespace'],
    ['/api/v1/flows?pod=', 'pod'],
    ['/api/v1/flows?ip=', 'ip'],
    ['/api/v1/flows?cursor=', 'cursor'],
    ['/api/v1/flows?from=', 'from'],
    ['/api/v1/trace?mac=', 'mac'],
    ['/api/v1/trace?ip=', 'ip'],
    ['/api/v1/sla-events?pod=', 'pod'],
    ['/api/v1/top-talkers?by=', 'by'],
    ['/api/v1/top-talkers?to=', 'to'],
  ];
  it.each(PARAMS)('%s<injection attempts> → 400 naming %s, store never reached', async (prefix, name) => {
    logs.length = 0;
    for (const v of ATTEMPTS) {
      const r = await get(`${prefix}${encodeURIComponent(v).replace('%2500', '%00')}`);
      expect(r.status, `${v}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error.startsWith(`${name}: `), `${v}: ${r.body.error}`).toBe(true);
    }
    expect(logs).toEqual([]);
  });

  it.each(ATTEMPTS)('path parameters refuse %j with a 400 (namespace and pod)', async (v) => {
    const e = encodeURIComponent(v).replace('%2500', '%00');
    for (const [url, name] of [
      [`/api/v1/pods/${e}/web-1`, 'namespace'],
      [`/api/v1/pods/shop/${e}`, 'pod'],
      [`/api/v1/pods/${e}/web-1/bandwidth`, 'namespace'],
      [`/api/v1/pods/shop/${e}/bandwidth`, 'pod'],
    ]) {
      const r = await get(url);
      expect(r.status, `${url}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error.startsWith(`${name}: `), r.body.error).toBe(true);
    }
  });

  // regression: the older /api path took any path parameter to the store, where a value it
  // cannot take (a ClickHouse server's URL limit, a NUL) made a 500 instead of a 400
  it.each([
    ['a 5000-character namespace', `/api/pods/${long(5000)}/web-1/bandwidth`],
    ['a NUL in a pod name', '/api/pods/shop/a%00b/bandwidth'],
    ['a quote in a pod name', "/api/pods/shop/x'/bandwidth"],
  ])('the /api alias validates path parameters too: %s is a 400, not the store', async (_what, url) => {
    logs.length = 0;
    const r = await get(url);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toMatch(/^(namespace|pod): /);
    expect(logs).toEqual([]);
  });

  it('a pod the inventory does not hold (now or in its history) is a 404, before the store', async () => {
    logs.length = 0;
    const r = await get('/api/v1/pods/shop/web-1');
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('pod shop/web-1: not in the inventory (now or in its retained history)');
    expect(logs).toEqual([]);
  });

  it('login needs a JSON body with a token; without tokens configured it is refused', async () => {
    const post = (body: string, type = 'application/json') =>
      api.request('/api/v1/login', { method: 'POST', body, headers: { 'content-type': type } });
    const none = await post('{}');
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: string }).error).toMatch(/^token: /);
    const extra = await post('{"token":"x","admin":true}');
    expect(extra.status).toBe(400);
    const bad = await post('{"token":');
    expect(bad.status).toBe(400);
    const open = await post('{"token":"anything"}');
    expect(open.status).toBe(400);
    expect(((await open.json()) as { error: string }).error).toMatch(/^token: no tokens are configured/);
  });
});

describe('/api/v1/openapi.json documents which tables answered (issue 14)', () => {
  it('flow answers name their tables, widened and partial; raw lists say where raw rows start', async () => {
    const doc = (await (await api.request('/api/v1/openapi.json')).json()) as {
      paths: Record<
        string,
        { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }
      >;
    };
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    const answer = (path: string) => {
      const s = doc.paths[path]!.get.responses['200']!.content['application/json']!.schema as {
        properties: Record<string, unknown>;
      };
      return Object.keys(s.properties);
    };
    for (const path of [
      '/api/v1/top-talkers',
      '/api/v1/pods/{namespace}/{pod}',
      '/api/v1/pods/{namespace}/{pod}/bandwidth',
    ])
      expect(answer(path), path).toEqual(
        expect.arrayContaining(['table', 'tables', 'widened', 'holdsFrom', 'partial']),
      );
    for (const path of ['/api/v1/flows', '/api/v1/trace'])
      expect(answer(path), path).toEqual(expect.arrayContaining(['holdsFrom', 'partial']));
  });
});
