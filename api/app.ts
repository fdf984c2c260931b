/**
 * The query API over the flow store: what dashboards, scripts and people use to look at
 * flows while the service runs (embedded chDB belongs to the running process, so this is
 * the way in). Read-only; every value from a request is validated (zod) and travels as a
 * ClickHouse query parameter (ingest/queries.ts).
 *
 *   GET /api/top-talkers?by=pod|pair|namespace|vlan|vni&from&to&limit
 *   GET /api/pods/:namespace/:pod/bandwidth?from&to&step
 *   GET /api/packets?mac&ip&vlan&vni&namespace&pod&from&to&limit
 *   GET /api/vf-counters?node&namespace&pod&from&to&step
 *   GET /api/status     the running service's one-line health, as JSON
 *   GET /api/alerts     the SLA alerts the in-process evaluator holds (pending, firing)
 *
 * `from`/`to`: seconds since the epoch or ISO 8601 (default: the last hour), within what
 * the columns hold (ingest/queries.ts TIME_LIMITS). With a token configured, every /api
 * request needs `Authorization: Bearer TOKEN` (compared in constant time); a bad request
 * is a 400 naming the parameter, never a 500. A failure of the store is a 500 that says
 * only its request id: the store's words (which name databases, tables, settings) go to
 * the service log under that id.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import {
  packetTrace,
  type QueryContext,
  QueryError,
  rangeProblem,
  TIME_LIMITS,
  type TimeLimits,
  vfCounterSeries,
} from '../ingest/queries.js';
import { AnswerCache, type CacheScope, pollRange } from './cache.js';
import { cachedPodBandwidth, cachedTopTalkers } from './polled.js';

export interface ApiDeps {
  ctx: () => QueryContext;
  /** required bearer token (none: open, for loopback only) */
  token?: string;
  status: () => unknown;
  /** the in-process evaluator's active alerts (alerts/service.ts) */
  alerts?: () => unknown;
  /** where a failed request's error goes, with its request id (default: stderr) */
  log?: (line: string) => void;
  /**
   * The answer cache for what the UI polls (api/cache.ts); default: 5 s answers (half the
   * default flow window), 1000 entries. A polled "up to now" range is rounded to its TTL.
   */
  cache?: AnswerCache;
}

const DEFAULT_CACHE = { ttlMs: 5000, maxEntries: 1000 };
/** one token, one scope, until per-tenant tokens (api/access.ts) */
const SCOPE: CacheScope = { kind: 'admin' };

const instant = z
  .string()
  .transform((s, c) => {
    const n = /^\d+(\.\d+)?$/.test(s) ? Number(s) : Date.parse(s) / 1000;
    if (!Number.isFinite(n)) {
      c.addIssue({ code: 'custom', message: 'expected seconds since the epoch or an ISO 8601 time' });
      return z.NEVER;
    }
    return Math.floor(n);
  })
  .optional();

const range = { from: instant, to: instant };
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schemas = {
  topTalkers: z.object({
    ...range,
    by: z.enum(['pod', 'pair', 'namespace', 'vlan', 'vni']).default('pod'),
    limit: int(1, 1000).default(10),
  }),
  bandwidth: z.object({ ...range, step: int(1, 86400).default(60) }),
  packets: z.object({
    ...range,
    mac: z
      .string()
      .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'expected a MAC address')
      .optional(),
    ip: z.union([z.ipv4(), z.ipv6()], { message: 'expected an IP address' }).optional(),
    vlan: int(0, 4094).optional(),
    vni: int(0, 0xffffff).optional(),
    namespace: z.string().min(1).optional(),
    pod: z.string().min(1).optional(),
    limit: int(1, 10_000).default(100),
  }),
  vfCounters: z.object({
    ...range,
    step: int(1, 86400).default(60),
    node: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    pod: z.string().min(1).optional(),
  }),
};

class BadRequest extends Error {}

function parse<T extends z.ZodType>(schema: T, c: Context): z.infer<T> {
  const r = schema.safeParse(c.req.query());
  if (!r.success) {
    throw new BadRequest(
      r.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
    );
  }
  return r.data;
}

/**
 * [from, to): the given ends, within what the columns queried hold, defaulting to the hour
 * before now.
 */
function rangeOf(
  q: { from?: number; to?: number },
  limits: TimeLimits = TIME_LIMITS.dateTime,
): { from: number; to: number } {
  const given = rangeProblem(q, limits);
  if (given !== null) throw new BadRequest(given);
  const to = q.to ?? Math.ceil(Date.now() / 1000);
  const from = q.from ?? to - 3600;
  const problem = rangeProblem({ from, to }, limits);
  if (problem !== null) throw new BadRequest(problem);
  return { from, to };
}

function tokenOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app (its env type does not matter here)
export function mountApi(app: Hono<any>, deps: ApiDeps): void {
  app.use('/api/*', async (c, next) => {
    if (deps.token !== undefined && !tokenOk(c.req.header('authorization'), deps.token)) {
      return c.json({ error: 'a bearer token is required (Authorization: Bearer TOKEN)' }, 401, {
        'www-authenticate': 'Bearer',
      });
    }
    await next();
  });
  // Hono hands a handler's error to onError (next() does not throw): bad requests are a
  // 400 naming the parameter; anything else is logged under a request id and answered
  // with that id only (a 500 in JSON for /api, the default elsewhere)
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  app.onError((err, c) => {
    const api = c.req.path.startsWith('/api/');
    if (api && (err instanceof BadRequest || err instanceof QueryError)) {
      return c.json({ error: err.message }, 400);
    }
    const requestId = randomUUID();
    const url = new URL(c.req.url);
    log(
      `podwire api: ${c.req.method} ${url.pathname}${url.search} failed (request ${requestId}): ${err.stack ?? err}`,
    );
    if (!api) return c.text('Internal Server Error', 500, { 'x-request-id': requestId });
    return c.json({ error: `internal error (request ${requestId}): see the service log`, requestId }, 500, {
      'x-request-id': requestId,
    });
  });

  const cache = deps.cache ?? new AnswerCache(DEFAULT_CACHE);
  const grain = Math.max(1, Math.floor(DEFAULT_CACHE.ttlMs / 1000));
  const polled = <Q extends { from?: number; to?: number }>(q: Q) => pollRange(q, Date.now() / 1000, grain);
  app.get('/api/status', (c) => c.json(deps.status() as object));
  app.get('/api/alerts', (c) => c.json((deps.alerts?.() ?? { evaluatedAt: null, alerts: [] }) as object));
  app.get('/api/top-talkers', async (c) => {
    const q = parse(schemas.topTalkers, c);
    const r = rangeOf(polled(q));
    return c.json(await cachedTopTalkers(cache, deps.ctx(), SCOPE, { ...r, by: q.by, limit: q.limit }));
  });
  app.get('/api/pods/:namespace/:pod/bandwidth', async (c) => {
    const q = parse(schemas.bandwidth, c);
    const { namespace, pod } = c.req.param();
    const r = rangeOf(polled(q));
    return c.json(await cachedPodBandwidth(cache, deps.ctx(), SCOPE, { ...r, namespace, pod, step: q.step }));
  });
  app.get('/api/packets', async (c) => {
    const { from, to, ...q } = parse(schemas.packets, c);
    const r = rangeOf({ from, to }, TIME_LIMITS.dateTime64);
    return c.json(await packetTrace(deps.ctx(), { ...r, ...q }));
  });
  app.get('/api/vf-counters', async (c) => {
    const { from, to, ...q } = parse(schemas.vfCounters, c);
    const r = rangeOf({ from, to });
    return c.json(await vfCounterSeries(deps.ctx(), { ...r, ...q }));
  });
}
