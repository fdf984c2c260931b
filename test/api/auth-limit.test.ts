/**
 * Wrong tokens per client address: ten a minute, then 429 with Retry-After on every API
 * route (a right token included) until the minute ends; a request without a token or with
 * an expired session is not a guess. The clock is the test's.
 */
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { mountApi } from '../../api/app.js';
import { AuthFailureLimiter, registerAuthLimitMetrics } from '../../api/auth-limit.js';
import type { QueryContext } from '../../ingest/queries.js';

const TOKEN = 'r1ght-token-0123456789abcdef';
const unreachable = (): QueryContext => {
  throw new Error('the store was reached');
};

function setup() {
  let now = 1_000_000;
  const limiter = new AuthFailureLimiter({ now: () => now });
  const app = new Hono();
  mountApi(app, { ctx: unreachable, token: TOKEN, status: () => ({ ok: true }), authLimit: limiter });
  const get = (token?: string) =>
    app.request('/api/v1/status', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const login = (token: string) =>
    app.request('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
  return { limiter, get, login, advance: (ms: number) => (now += ms) };
}

describe('wrong tokens per address', () => {
  it('answers 429 after ten wrong bearer tokens in a minute, a right token too, until the minute ends', async () => {
    const t = setup();
    for (let i = 0; i < 10; i++) expect((await t.get(`guess-${i}`)).status).toBe(401);
    const blocked = await t.get(TOKEN);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    expect(((await blocked.json()) as { error: string }).error).toMatch(/too many wrong tokens/);
    t.advance(30_000);
    expect((await t.get(TOKEN)).headers.get('retry-after')).toBe('30');
    t.advance(30_000);
    expect((await t.get(TOKEN)).status).toBe(200);
    expect([t.limiter.failures, t.limiter.blocked]).toEqual([10, 2]);
  });

  it('counts wrong logins the same way, and nine a minute never block', async () => {
    const t = setup();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 9; i++) expect((await t.login(`guess-${i}`)).status).toBe(401);
      expect((await t.login(TOKEN)).status).toBe(200);
      t.advance(60_000);
    }
    for (let i = 0; i < 10; i++) await t.login(`guess-${i}`);
    expect((await t.login(TOKEN)).status).toBe(429);
  });

  it('does not count requests without a token, nor stale session cookies', async () => {
    const t = setup();
    for (let i = 0; i < 20; i++) expect((await t.get()).status).toBe(401);
    expect(t.limiter.failures).toBe(0);
    expect((await t.get(TOKEN)).status).toBe(200);
  });

  it('tracks a bounded number of addresses, and exports its counts', async () => {
    const limiter = new AuthFailureLimiter({ maxAddresses: 3, now: () => 0 });
    for (const a of ['a', 'b', 'c', 'd', 'e']) limiter.fail(a);
    expect(limiter.tracked).toBe(3);
    const registry = new Registry();
    registerAuthLimitMetrics(registry, limiter);
    const text = await registry.metrics();
    expect(text).toContain('podwire_api_auth_failures_total 5');
    expect(text).toContain('podwire_api_auth_blocked_total 0');
  });
});
