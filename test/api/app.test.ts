/**
 * The query API's guards: bearer tokens (constant-time compare, 401 with a challenge), and
 * request validation (400 naming the parameter) before anything reaches the store. The
 * queries themselves run against chDB in test/ingest and end to end in test/cli/all.test.ts.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { mountApi } from '../../api/app.js';
import type { QueryContext } from '../../ingest/queries.js';

/** A store that must not be reached: validation has to refuse first. */
const unreachable = (): QueryContext => {
  throw new Error('the store was reached');
};

const logs: string[] = [];

function app(token?: string) {
  const a = new Hono();
  mountApi(a, { ctx: unreachable, token, status: () => ({ ok: true }), log: (line) => logs.push(line) });
  return a;
}

describe('query API', () => {
  it('needs the bearer token when one is configured', async () => {
    const a = app('s3cret-token-0123456789');
    const none = await a.request('/api/status');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await a.request('/api/status', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect(
      (await a.request('/api/status', { headers: { authorization: 'Basic s3cret-token-0123456789' } }))
        .status,
    ).toBe(401);
    const ok = await a.request('/api/status', {
      headers: { authorization: 'Bearer s3cret-token-0123456789' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
  });

  it('is open without a token (loopback only: podwire all refuses other addresses without one)', async () => {
    expect((await app().request('/api/status')).status).toBe(200);
  });

  it.each([
    ['/api/top-talkers?by=bogus', /^by: /],
    ['/api/top-talkers?limit=0', /^limit: /],
    ['/api/top-talkers?from=yesterday', /^from: expected seconds since the epoch or an ISO 8601 time/],
    ['/api/top-talkers?from=2000&to=1000', /^to: must be after 'from'/],
    ['/api/packets?mac=02:00', /^mac: expected a MAC address/],
    ['/api/packets?ip=10.0.0.300', /^ip: expected an IP address/],
    ['/api/packets?vlan=5000', /^vlan: /],
    ['/api/pods/shop/web-1/bandwidth?step=-5', /^step: /],
    ['/api/top-talkers?from=1900-01-01T00:00:00Z', /^from: must be between 1970-01-01T00:00:00Z and 2106/],
    ['/api/top-talkers?from=9999999999999999999999', /^from: must be between 1970-01-01T00:00:00Z/],
    ['/api/top-talkers?from=0&to=4294967296', /^to: must be between .* and 2106-02-07T06:28:15Z/],
    ['/api/vf-counters?to=2106-02-08T00:00:00Z', /^to: must be between/],
    ['/api/packets?from=1899-01-01T00:00:00Z&to=0', /^from: must be between 1900-01-01T00:00:00Z and 2300/],
  ])('refuses %s with a 400 naming the parameter', async (url, message) => {
    const r = await app().request(url);
    const body = (await r.json()) as { error: string };
    expect(r.status).toBe(400);
    expect(body.error).toMatch(message);
  });

  it("sends an odd but valid value to the store as a parameter; the store's failure is logged, not echoed", async () => {
    logs.length = 0;
    const r = await app().request('/api/packets?ip=::ffff:10.0.0.1');
    const body = (await r.json()) as { error: string; requestId: string };
    expect(r.status).toBe(500);
    expect(body.error).toBe(`internal error (request ${body.requestId}): see the service log`);
    expect(r.headers.get('x-request-id')).toBe(body.requestId);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(`(request ${body.requestId}): Error: the store was reached`);
  });
});
