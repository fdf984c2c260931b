/**
 * The /api/v1 routes: each declared once with its zod request schema (createRoute), which
 * both validates the request and documents it in /api/v1/openapi.json. Every handler reads
 * the caller's scope (set by api/app.ts from the token or session) and filters by it:
 * a tenant gets only its namespaces, and asking for another namespace by name is a 403
 * that says nothing of whether it exists.
 */
import { createRoute, type OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  flowsPage,
  type Namespaces,
  scopedPacketTrace,
  scopedVfCounterSeries,
  slaEvents,
} from '../ingest/api-queries.js';
import { holdingOf, horizonCache } from '../ingest/horizon.js';
import { packetTrace, TIME_LIMITS, vfCounterSeries } from '../ingest/queries.js';
import { namespacesOf, type Scope, sees } from './access.js';
import { AnswerCache } from './cache.js';
import { Cursors } from './cursor.js';
import { BadRequest, Forbidden, NotFound, rangeOf } from './errors.js';
import { podRates, podsOf } from './pods.js';
import { cachedPodBandwidth, cachedPodPeers, cachedTopTalkers, cachedTraceSamples } from './polled.js';
import * as s from './schemas.js';
import { holdings } from './trace.js';
import type { ApiDeps, ApiEnv } from './types.js';

/**
 * Raw-table lists (flows, trace) read at most this span: beyond, the rollups answer (top
 * talkers). Raw rows are kept fewer days than that by default (ingest/schema.ts
 * DEFAULT_RETENTION): a list says where its table's rows start (`holdsFrom`, `partial`).
 */
export const MAX_RAW_SPAN_SECONDS = 31 * 86400;

/** Where a raw table's rows start, for a list over `from` (ingest/horizon.ts). */
async function rawHolding(deps: ApiDeps, table: 'flows' | 'packet_samples', from: number) {
  const h = await horizonCache.get(deps.ctx());
  return holdingOf(from, [h[table]]);
}

const json = (description: string, schema: z.ZodType = z.any().openapi({ type: 'object' })) => ({
  content: { 'application/json': { schema } },
  description,
});
const error = (description: string) => ({
  content: { 'application/json': { schema: z.object({ error: z.string() }) } },
  description,
});

function get<Q extends z.ZodType, P extends z.ZodType | undefined>(
  path: string,
  summary: string,
  query: Q,
  params?: P,
  answer?: z.ZodType,
): RouteConfig {
  return createRoute({
    method: 'get',
    path,
    summary,
    security: [{ bearer: [] }, { session: [] }],
    request:
      params === undefined ? { query: query as never } : { query: query as never, params: params as never },
    responses: {
      200: json('the answer', answer),
      400: error('a bad parameter, named in `error`'),
      401: error('no valid token or session'),
      403: error("outside the token's scope"),
      404: error('no such thing'),
      500: error('a store failure (its request id; the message is in the service log)'),
    },
  });
}

const scopeOf = (c: Context<ApiEnv>): Scope => c.get('scope');
const namespacesIn = (c: Context<ApiEnv>): Namespaces => namespacesOf(scopeOf(c)) ?? undefined;

/** A namespace the caller named must be in its scope. */
function mustSee(c: Context<ApiEnv>, namespace: string | undefined, what = 'namespace'): void {
  if (namespace !== undefined && !sees(scopeOf(c), namespace))
    throw new Forbidden(`${what}: '${namespace}' is outside this token's scope`);
}

function adminOnly(c: Context<ApiEnv>, what: string): void {
  if (scopeOf(c).kind !== 'admin') throw new Forbidden(`${what}: only an admin token sees this`);
}

function maxSpan(r: { from: number; to: number }): void {
  if (r.to - r.from > MAX_RAW_SPAN_SECONDS)
    throw new BadRequest(
      `to: the range may span at most ${MAX_RAW_SPAN_SECONDS / 86400} days (from raw rows)`,
    );
}

/**
 * Answers fresh for 5 s (half the default 10 s flow window) and served 5 s more while one
 * refresh runs, so a polled answer is at most one flow window (plus a query) old; at most
 * 1000 of them.
 */
export const POLL_CACHE = { ttlMs: 5000, staleMs: 5000, maxEntries: 1000 };

// biome-ignore lint/suspicious/noExplicitAny: the handlers' typed inputs are the schemas'; responses are JSON
type Handler = (c: any) => Promise<Response> | Response;

export function registerRoutes(app: OpenAPIHono<ApiEnv>, deps: ApiDeps): void {
  const route = (r: RouteConfig, h: Handler) => app.openapi(r, h as never);
  const cursors = new Cursors();
  const rates = () => deps.rates?.() ?? podRates([], () => null);
  // what the UI polls is answered from the cache (api/cache.ts, api/polled.ts): keyed as
  // asked ("up to now" is one question), the range resolved when the answer is computed
  const cache = deps.cache ?? new AnswerCache(POLL_CACHE);
  const asked = ({ from, to }: { from?: number; to?: number }) => ({ from, to });

  route(get('/status', "the service's health summary (admin)", s.noQuery), (c) => {
    adminOnly(c, 'status');
    return c.json(deps.status() as object);
  });

  route(get('/whoami', "the caller's token name and scope", s.noQuery), (c) => {
    const sc = scopeOf(c);
    return c.json({ name: c.get('who'), role: sc.kind, namespaces: namespacesOf(sc) });
  });

  route(get('/alerts', 'the SLA alerts pending and firing', s.noQuery), (c) => {
    const a = (deps.alerts?.() ?? { evaluatedAt: null, alerts: [] }) as {
      evaluatedAt: string | null;
      alerts: { labels?: Record<string, string> }[];
    };
    const sc = scopeOf(c);
    if (sc.kind === 'admin') return c.json(a);
    // a tenant sees its pods' alerts; node-wide ones (no namespace) tell of other tenants' load
    return c.json({ ...a, alerts: a.alerts.filter((x) => sees(sc, x.labels?.namespace ?? '')) });
  });

  route(get('/sla-events', 'SLA alert state changes, newest first', s.slaEventsQuery), async (c) => {
    const { from, to, ...q } = c.req.valid('query');
    mustSee(c, q.namespace);
    const r = rangeOf({ from, to });
    return c.json(await slaEvents(deps.ctx(), { ...r, ...q, namespaces: namespacesIn(c) }));
  });

  route(
    get('/top-talkers', 'the biggest senders over a range', s.topTalkersQuery, undefined, s.topTalkersAnswer),
    async (c) => {
      const q = c.req.valid('query');
      rangeOf(q);
      return c.json(
        await cachedTopTalkers(
          cache,
          deps.ctx(),
          scopeOf(c),
          { ...asked(q), by: q.by, limit: q.limit },
          rangeOf,
        ),
      );
    },
  );

  route(get('/pods', 'current pods: interfaces, tier, VF, node, rates', s.podsQuery), (c) => {
    const q = c.req.valid('query');
    mustSee(c, q.namespace);
    const sc = scopeOf(c);
    const pods = podsOf(
      deps.inventory?.current() ?? [],
      rates().pods,
      (n) => sees(sc, n) && (q.namespace === undefined || n === q.namespace),
    ).filter((p) => q.node === undefined || p.node === q.node);
    return c.json({ pods });
  });

  route(
    get(
      '/pods/{namespace}/{pod}',
      'one pod: interfaces, tier, VF, rates, past bindings, peers',
      s.podQuery,
      s.podParams,
      s.podAnswer,
    ),
    async (c) => {
      const { namespace, pod } = c.req.valid('param');
      mustSee(c, namespace);
      const q = c.req.valid('query');
      const r = rangeOf(q);
      const current = podsOf(deps.inventory?.current() ?? [], rates().pods, (n) => n === namespace).find(
        (p) => p.pod === pod,
      );
      const history = holdings(
        deps.inventory?.index.endpoints ?? [],
        { from: TIME_LIMITS.dateTime64.min, to: TIME_LIMITS.dateTime64.max },
        (n) => n === namespace,
      ).filter((h) => h.pod === pod);
      if (current === undefined && history.length === 0)
        throw new NotFound(`pod ${namespace}/${pod}: not in the inventory (now or in its retained history)`);
      const peers = await cachedPodPeers(
        cache,
        deps.ctx(),
        scopeOf(c),
        { ...asked(q), namespace, pod, limit: q.limit },
        rangeOf,
      );
      return c.json({ namespace, pod, current: current ?? null, bindings: history, ...r, ...peers });
    },
  );

  route(
    get(
      '/pods/{namespace}/{pod}/bandwidth',
      "a pod's bytes and packets per step",
      s.bandwidthQuery,
      s.podParams,
      s.bandwidthAnswer,
    ),
    async (c) => {
      const { namespace, pod } = c.req.valid('param');
      mustSee(c, namespace);
      const q = c.req.valid('query');
      rangeOf(q);
      return c.json(
        await cachedPodBandwidth(
          cache,
          deps.ctx(),
          scopeOf(c),
          { ...asked(q), namespace, pod, step: q.step },
          rangeOf,
        ),
      );
    },
  );

  route(get('/packets', 'packet samples: which pod sent this', s.packetsQuery), async (c) => {
    const { from, to, ...q } = c.req.valid('query');
    mustSee(c, q.namespace);
    const r = rangeOf({ from, to }, TIME_LIMITS.dateTime64);
    const ns = namespacesIn(c);
    if (ns === undefined) return c.json(await packetTrace(deps.ctx(), { ...r, ...q }));
    return c.json(await scopedPacketTrace(deps.ctx(), { ...r, ...q, namespaces: ns }));
  });

  route(get('/vf-counters', 'VF counter deltas per step', s.vfCountersQuery), async (c) => {
    const { from, to, ...q } = c.req.valid('query');
    mustSee(c, q.namespace);
    const r = rangeOf({ from, to });
    const ns = namespacesIn(c);
    if (ns === undefined) return c.json(await vfCounterSeries(deps.ctx(), { ...r, ...q }));
    return c.json(await scopedVfCounterSeries(deps.ctx(), { ...r, ...q, namespaces: ns }));
  });

  route(
    get('/flows', 'raw flows, newest first, a page at a time', s.flowsQuery, undefined, s.flowsAnswer),
    async (c) => {
      const { from, to, cursor, limit, ...filters } = c.req.valid('query');
      mustSee(c, filters.namespace);
      const namespaces = namespacesIn(c);
      const binding = Cursors.bindingOf({ filters, namespaces: namespaces ?? null });
      let r: { from: number; to: number };
      let after: Parameters<typeof flowsPage>[1]['after'];
      if (cursor !== undefined) {
        const st = cursors.open(cursor, binding);
        if ((from !== undefined && from !== st.from) || (to !== undefined && to !== st.to))
          throw new BadRequest('cursor: belongs to another range (give the same from/to, or none)');
        r = { from: st.from, to: st.to };
        after = st.position;
      } else {
        r = rangeOf({ from, to });
      }
      maxSpan(r);
      const page = await flowsPage(deps.ctx(), { ...r, ...filters, limit, after, namespaces });
      return c.json({
        ...r,
        ...(await rawHolding(deps, 'flows', r.from)),
        flows: page.rows,
        next: page.next === null ? null : cursors.seal({ position: page.next, ...r }, binding),
      });
    },
  );

  route(
    get(
      '/trace',
      'the pods that held a MAC, IP, VLAN or VNI over time, and their packet samples',
      s.traceQuery,
      undefined,
      s.traceAnswer,
    ),
    async (c) => {
      const { from, to, limit, ...f } = c.req.valid('query');
      if (f.mac === undefined && f.ip === undefined && f.vlan === undefined && f.vni === undefined)
        throw new BadRequest('mac: give at least one of mac, ip, vlan, vni');
      const traceRange = (q: { from?: number; to?: number }) => rangeOf(q, TIME_LIMITS.dateTime64);
      const r = traceRange({ from, to });
      maxSpan(r);
      const sc = scopeOf(c);
      const pods = holdings(deps.inventory?.index.endpoints ?? [], { ...f, ...r }, (n) => sees(sc, n));
      // the samples may be up to the cache's age older than `r` says (api/cache.ts)
      const samples = await cachedTraceSamples(cache, deps.ctx(), sc, { from, to, ...f, limit }, traceRange);
      return c.json({ ...r, ...(await rawHolding(deps, 'packet_samples', r.from)), pods, samples });
    },
  );
}
