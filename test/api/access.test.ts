/**
 * api/access.ts: tokens are held as SHA-256 hashes and resolve to their scope; a session
 * id from a login resolves to the same scope until it expires (on a clock the test
 * controls); the session table is bounded; malformed headers and cookies are nobody.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashToken, newToken, SESSION_COOKIE, TokenAccess, tokenConfigSchema } from '../../api/access.js';

const ADMIN = 'admin-token-0123456789abcdef';
const SHOP = 'shop-token-0123456789abcdef';
const METRICS = 'metrics-token-0123456789abcdef';

function access(now = () => 1_000_000, o: { maxSessions?: number; sessionSeconds?: number } = {}) {
  return new TokenAccess({
    tokens: [
      { name: 'ops', sha256: hashToken(ADMIN), role: 'admin' },
      { name: 'shop-team', sha256: hashToken(SHOP).toUpperCase(), role: 'tenant', namespaces: ['shop'] },
      { name: 'prometheus', sha256: hashToken(METRICS), role: 'metrics' },
    ],
    now,
    ...o,
  });
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const cookie = (id: string) => ({ cookie: `other=1; ${SESSION_COOKIE}=${id}; x=y` });

describe('token access', () => {
  it('hashes a token as SHA-256 hex (what podwire token hash prints)', () => {
    expect(hashToken('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(newToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(newToken());
  });

  it('resolves each configured token to its scope (hash in either case), anything else to nobody', () => {
    const a = access();
    expect(a.scopeOf(bearer(ADMIN))).toEqual({ kind: 'admin' });
    expect(a.scopeOf(bearer(SHOP))).toEqual({ kind: 'tenant', namespaces: ['shop'] });
    expect(a.scopeOf(bearer(METRICS))).toEqual({ kind: 'metrics' });
    for (const h of [
      {},
      bearer('wrong'),
      bearer(hashToken(ADMIN)), // the hash is not the token
      { authorization: `Basic ${ADMIN}` },
      { authorization: `Bearer  ${ADMIN}` },
      { authorization: `bearer${ADMIN}` },
      bearer(`${ADMIN}\n`),
      bearer(`${ADMIN}x`),
      bearer(ADMIN.slice(0, -1)),
    ])
      expect(a.scopeOf(h as { authorization?: string }), JSON.stringify(h)).toBeNull();
  });

  it('without tokens configured everyone is admin (the loopback default), and login is refused', () => {
    const a = new TokenAccess({ tokens: [] });
    expect(a.configured).toBe(false);
    expect(a.scopeOf({})).toEqual({ kind: 'admin' });
    expect(a.login('anything')).toBeNull();
  });

  it('a login gives an opaque session id (not the token) resolving to the scope until it expires', () => {
    let now = 5_000_000;
    const a = access(() => now, { sessionSeconds: 60 });
    expect(a.login('wrong')).toBeNull();
    const s = a.login(SHOP)!;
    expect(s.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.id).not.toContain(SHOP);
    expect(s.id).not.toBe(hashToken(SHOP));
    expect(a.scopeOf(cookie(s.id))).toEqual({ kind: 'tenant', namespaces: ['shop'] });
    now += 59_999;
    expect(a.scopeOf(cookie(s.id))).not.toBeNull();
    now += 1;
    expect(a.scopeOf(cookie(s.id))).toBeNull();
    expect(a.sessionCount).toBe(0);
  });

  it('logout ends the session; a made-up or malformed session id is nobody', () => {
    const a = access();
    const s = a.login(ADMIN)!;
    expect(a.scopeOf(cookie(s.id))).toEqual({ kind: 'admin' });
    a.logout(`${SESSION_COOKIE}=${s.id}`);
    expect(a.scopeOf(cookie(s.id))).toBeNull();
    for (const id of ['x'.repeat(43), `${s.id}x`, "'; DROP TABLE x", '', '{x:String}'])
      expect(a.scopeOf(cookie(id))).toBeNull();
  });

  it('holds at most maxSessions: the oldest session goes first', () => {
    const a = access(undefined, { maxSessions: 3 });
    const ids = Array.from({ length: 5 }, () => a.login(ADMIN)!.id);
    expect(a.sessionCount).toBe(3);
    expect(ids.map((id) => a.scopeOf(cookie(id)) !== null)).toEqual([false, false, true, true, true]);
  });

  it('a bearer header is used before a cookie (a wrong bearer is not rescued by a cookie)', () => {
    const a = access();
    const s = a.login(ADMIN)!;
    expect(a.scopeOf({ ...bearer('wrong'), ...cookie(s.id) })).toBeNull();
    expect(a.scopeOf({ ...bearer(SHOP), ...cookie(s.id) })).toEqual({ kind: 'tenant', namespaces: ['shop'] });
  });

  it.each([
    [{ name: 'x', sha256: 'abc', role: 'admin' }, /sha256: expected 64 hex digits/],
    [
      { name: 'x', sha256: hashToken('a'), role: 'tenant' },
      /namespaces: a tenant token needs its namespaces/,
    ],
    [
      { name: 'x', sha256: hashToken('a'), role: 'tenant', namespaces: ['Shop!'] },
      /namespaces\.0: expected a Kubernetes namespace/,
    ],
    [
      { name: 'x', sha256: hashToken('a'), role: 'admin', namespaces: ['shop'] },
      /namespaces: only a tenant token/,
    ],
    [{ name: 'x', token: 'plain', role: 'admin' }, /token/],
    [{ name: 'x', sha256: hashToken('a'), role: 'root' }, /role/],
  ])('the token config refuses %j', (cfg, message) => {
    const r = tokenConfigSchema.safeParse(cfg);
    expect(r.success).toBe(false);
    const text = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(text).toMatch(message);
  });
});
