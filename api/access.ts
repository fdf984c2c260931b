/**
 * Who may see what: API tokens from the service config, their scopes, and browser sessions.
 *
 * Tokens are configured as SHA-256 hashes (hex: `podwire token hash`), never as the
 * token itself, and no code path logs one. A presented token is hashed and compared with
 * every configured hash in constant time (timingSafeEqual on equal-length digests, all of
 * them, no early exit), so neither the match nor its position leaks through timing.
 *
 * Scopes: `admin` sees everything; `metrics` only /metrics; `tenant` only its namespaces
 * (every route filters by them: api/scope.ts). With no tokens configured every request is
 * admin — the loopback default; `podwire all` refuses to listen beyond loopback then.
 *
 * The browser logs in once (`POST /api/v1/login` with the token in a JSON body) and gets an
 * opaque random session id in an HttpOnly, SameSite=Strict cookie: the token is never in a
 * URL, and a page script cannot read the cookie. Sessions live in a bounded table (the
 * oldest is dropped beyond `maxSessions`) and expire after `sessionSeconds`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export type Scope =
  | { kind: 'admin' }
  | { kind: 'metrics' } // /metrics only
  | { kind: 'tenant'; namespaces: readonly string[] }; // sees only these namespaces

export const SESSION_COOKIE = 'podwire_session';

/** resolves a request's Authorization: Bearer header or session cookie; null = unauthenticated */
export interface Access {
  scopeOf(headers: { authorization?: string; cookie?: string }): Scope | null;
}

/** A Kubernetes namespace name (RFC 1123 label). */
export const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** One configured token: `api.tokens[]` in the service config. */
export const tokenConfigSchema = z
  .object({
    /** who holds it (logs and /api/v1/whoami say this name, never the token) */
    name: z.string().min(1).max(64),
    /** SHA-256 of the token, 64 hex digits (`podwire token hash`) */
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (podwire token hash)'),
    role: z.enum(['admin', 'metrics', 'tenant']),
    /** a tenant's namespaces (required for, and only for, role tenant) */
    namespaces: z.array(z.string().regex(NAMESPACE_RE, 'expected a Kubernetes namespace name')).optional(),
  })
  .strict()
  .superRefine((t, c) => {
    if (t.role === 'tenant' && (t.namespaces === undefined || t.namespaces.length === 0))
      c.addIssue({ code: 'custom', path: ['namespaces'], message: 'a tenant token needs its namespaces' });
    if (t.role !== 'tenant' && t.namespaces !== undefined)
      c.addIssue({ code: 'custom', path: ['namespaces'], message: `only a tenant token has namespaces` });
  });
export type TokenConfig = z.infer<typeof tokenConfigSchema>;

/** What `podwire token hash` prints and `api.tokens[].sha256` holds. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token: 32 bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface AccessOptions {
  tokens: readonly TokenConfig[];
  /** how long a login lasts (default 12 h) */
  sessionSeconds?: number;
  /** sessions held at most; beyond, the oldest is dropped (default 1024) */
  maxSessions?: number;
  /** ms since the epoch (tests control it) */
  now?: () => number;
}

interface Session {
  scope: Scope;
  name: string;
  expiresMs: number;
}

interface Holder {
  name: string;
  digest: Buffer;
  scope: Scope;
}

function scopeOfConfig(t: TokenConfig): Scope {
  if (t.role === 'admin') return { kind: 'admin' };
  if (t.role === 'metrics') return { kind: 'metrics' };
  return { kind: 'tenant', namespaces: Object.freeze([...new Set(t.namespaces ?? [])]) };
}

/** A session id: 32 random bytes, base64url; anything else is not one of ours. */
const SESSION_ID_RE = /^[A-Za-z0-9_-]{43}$/;

export class TokenAccess implements Access {
  private readonly holders: Holder[];
  /** insertion order = age: the first is the oldest */
  private readonly sessions = new Map<string, Session>();
  private readonly sessionMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(o: AccessOptions) {
    this.holders = o.tokens.map((t) => ({
      name: t.name,
      digest: Buffer.from(t.sha256.toLowerCase(), 'hex'),
      scope: scopeOfConfig(t),
    }));
    this.sessionMs = (o.sessionSeconds ?? 12 * 3600) * 1000;
    this.maxSessions = o.maxSessions ?? 1024;
    this.now = o.now ?? Date.now;
  }

  /** Whether any token is configured (else everything is admin: the loopback default). */
  get configured(): boolean {
    return this.holders.length > 0;
  }

  get sessionSeconds(): number {
    return this.sessionMs / 1000;
  }

  /** The holder of a presented token, compared against every configured hash in constant time. */
  private holderOf(token: string): Holder | null {
    const d = createHash('sha256').update(token, 'utf8').digest();
    let found: Holder | null = null;
    for (const h of this.holders) if (timingSafeEqual(d, h.digest) && found === null) found = h;
    return found;
  }

  scopeOf(headers: { authorization?: string; cookie?: string }): Scope | null {
    return this.identify(headers)?.scope ?? null;
  }

  /** The scope and the holder's name of a request (bearer first, then the session cookie). */
  identify(headers: { authorization?: string; cookie?: string }): { scope: Scope; name: string } | null {
    if (!this.configured) return { scope: { kind: 'admin' }, name: 'anonymous (no tokens configured)' };
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(headers.authorization ?? '');
    if (m) {
      const h = this.holderOf(m[1]);
      return h === null ? null : { scope: h.scope, name: h.name };
    }
    const id = sessionIdOf(headers.cookie);
    if (id === null) return null;
    const s = this.sessions.get(id);
    if (s === undefined) return null;
    if (s.expiresMs <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    return { scope: s.scope, name: s.name };
  }

  /**
   * A session for a valid token: its opaque id (for the cookie) and scope; null for a wrong
   * token. The table is bounded: expired sessions go first, then the oldest.
   */
  login(token: string): { id: string; scope: Scope; name: string } | null {
    if (!this.configured) return null;
    const h = this.holderOf(token);
    if (h === null) return null;
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresMs <= now) this.sessions.delete(id);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { scope: h.scope, name: h.name, expiresMs: now + this.sessionMs });
    return { id, scope: h.scope, name: h.name };
  }

  /** Ends the session a cookie names (no-op when there is none). */
  logout(cookie: string | undefined): void {
    const id = sessionIdOf(cookie);
    if (id !== null) this.sessions.delete(id);
  }

  /** Sessions held now (the table's bound is tested). */
  get sessionCount(): number {
    return this.sessions.size;
  }
}

/** The session id in a Cookie header, if it is well formed. */
function sessionIdOf(cookie: string | undefined): string | null {
  if (cookie === undefined) return null;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const v = part.slice(eq + 1).trim();
    return SESSION_ID_RE.test(v) ? v : null;
  }
  return null;
}

/** A tenant's namespaces, or null for a scope that sees every namespace. */
export function namespacesOf(scope: Scope): readonly string[] | null {
  return scope.kind === 'tenant' ? scope.namespaces : null;
}

/** Whether a scope sees a namespace. */
export function sees(scope: Scope, namespace: string): boolean {
  return scope.kind === 'admin' || (scope.kind === 'tenant' && scope.namespaces.includes(namespace));
}
