/**
 * The query API over the flow store and the live inventory, mounted on the service's HTTP
 * server next to /metrics: what the page, dashboards, scripts and people use while the
 * service runs (embedded chDB belongs to the running process, so this is the way in).
 * Read-only; every value from a request is validated (zod, api/schemas.ts) and travels as
 * a ClickHouse query parameter (ingest/queries.ts, ingest/api-queries.ts).
 *
 *   /api/v1/…            the routes of api/routes.ts; /api/v1/openapi.json documents them
 *   POST /api/v1/login   {"token": "…"} → an HttpOnly SameSite=Strict session cookie
 *   POST /api/v1/logout
 *   /api/…               the same routes under their older paths (aliases)
 *   GET /readyz          200 when the store answers and the inventory is loaded, else 503
 *
 * Access (api/access.ts): with tokens configured every /api request needs a bearer token
 * or a session cookie, and sees what its scope allows; a metrics token sees /metrics only.
 * A bad request is a 400 naming the parameter, never a 500. A failure of the store is a
 * 500 that says only its request id: the store's words (which name databases, tables,
 * settings) go to the service log under that id. No CORS headers are sent: a page of
 * another origin cannot read the answers.
 */
import { randomUUID } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { storeAnswers } from '../ingest/api-queries.js';
import { QueryError } from '../ingest/queries.js';
import { hashToken, SESSION_COOKIE, TokenAccess } from './access.js';
import { AuthFailureLimiter } from './auth-limit.js';
import { CursorError } from './cursor.js';
import { BadRequest, Forbidden, NotFound } from './errors.js';
import { registerRoutes } from './routes.js';
import { loginBody } from './schemas.js';
import type { ApiDeps, ApiEnv } from './types.js';

export type { ApiDeps } from './types.js';

/** `param: message; …` for each problem, naming the parameter (or the unknown ones). */
export function describeIssues(err: ZodError): string {
  return err.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return `${i.keys.join(', ')}: unknown parameter`;
      const name = i.path.join('.') || 'query';
      // a repeated parameter arrives as an array
      const message = / received array$/.test(i.message) ? 'given more than once' : i.message;
      return `${name}: ${message}`;
    })
    .join('; ');
}

const validationHook = (result: { success: boolean; error?: ZodError }, c: Context) => {
  if (!result.success) return c.json({ error: describeIssues(result.error as ZodError) }, 400);
};

/** The access a deployment configured: its TokenAccess, or one made from a single admin token. */
function accessOf(deps: ApiDeps): TokenAccess {
  if (deps.access !== undefined) return deps.access;
  const tokens =
    deps.token === undefined
      ? []
      : [{ name: 'apiToken', sha256: hashToken(deps.token), role: 'admin' as const }];
  return new TokenAccess({ tokens });
}

/**
 * /metrics once tokens are configured: an admin or metrics token (bearer; Prometheus sends
 * `authorization` from its scrape config). Without tokens it stays open, as Prometheus expects.
 */
export function metricsGuard(access: TokenAccess): MiddlewareHandler {
  return async (c, next) => {
    if (!access.configured) return next();
    const id = access.identify({
      authorization: c.req.header('authorization'),
      cookie: c.req.header('cookie'),
    });
    if (id === null)
      return c.text('podwire: /metrics needs an admin or metrics token\n', 401, {
        'www-authenticate': 'Bearer',
      });
    if (id.scope.kind === 'tenant') return c.text('podwire: /metrics needs an admin or metrics token\n', 403);
    return next();
  };
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app (its env type does not matter here)
export function mountApi(app: Hono<any>, deps: ApiDeps): TokenAccess {
  const access = accessOf(deps);
  const limiter = deps.authLimit ?? new AuthFailureLimiter();
  const open = new Set(['/api/v1/login', '/api/v1/logout', '/api/v1/openapi.json']);
  app.use('/api/*', async (c, next) => {
    c.header('cache-control', 'no-store');
    c.header('x-content-type-options', 'nosniff');
    if (access.configured && c.req.path !== '/api/v1/openapi.json') {
      const wait = limiter.retryAfterMs(clientAddress(c));
      if (wait > 0)
        return c.json({ error: 'too many wrong tokens from this address: try again later' }, 429, {
          'retry-after': String(Math.ceil(wait / 1000)),
        });
    }
    if (open.has(c.req.path)) return next();
    const id = access.identify({
      authorization: c.req.header('authorization'),
      cookie: c.req.header('cookie'),
    });
    if (id === null) {
      // a wrong bearer token is a guess; a missing or expired session is not
      if (c.req.header('authorization') !== undefined) limiter.fail(clientAddress(c));
      return c.json(
        { error: 'a token is required (Authorization: Bearer TOKEN, or POST /api/v1/login for a session)' },
        401,
        { 'www-authenticate': 'Bearer' },
      );
    }
    if (id.scope.kind === 'metrics') return c.json({ error: 'a metrics token reads /metrics only' }, 403);
    c.set('scope', id.scope);
    c.set('who', id.name);
    await next();
  });
  // Hono hands a handler's error to onError (next() does not throw): bad requests are a
  // 400 naming the parameter; anything else is logged under a request id and answered
  // with that id only (a 500 in JSON for /api, the default elsewhere)
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const onError = (err: Error, c: Context) => {
    const api = c.req.path.startsWith('/api/');
    if (api && (err instanceof BadRequest || err instanceof QueryError || err instanceof CursorError))
      return c.json({ error: err.message }, 400);
    // hono's own refusals (a malformed JSON body): their status, in our shape
    if (api && err instanceof HTTPException && err.status < 500)
      return c.json({ error: `body: ${err.message}` }, err.status);
    if (api && err instanceof Forbidden) return c.json({ error: err.message }, 403);
    if (api && err instanceof NotFound) return c.json({ error: err.message }, 404);
    const requestId = randomUUID();
    const url = new URL(c.req.url);
    log(
      `podwire api: ${c.req.method} ${url.pathname}${url.search} failed (request ${requestId}): ${err.stack ?? err}`,
    );
    if (!api) return c.text('Internal Server Error', 500, { 'x-request-id': requestId });
    return c.json({ error: `internal error (request ${requestId}): see the service log`, requestId }, 500, {
      'x-request-id': requestId,
    });
  };
  app.onError(onError);

  for (const base of ['/api/v1', '/api']) {
    const v = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook }).basePath(base);
    v.onError(onError);
    registerRoutes(v, deps);
    if (base === '/api/v1') mountSession(v, access, limiter);
    app.route('/', v);
  }

  mountReadyz(app, deps);
  return access;
}

/**
 * GET /readyz: 200 when the store answers (a process without one: nothing to wait for)
 * and the endpoint sources' first listing is in, else 503; every role serves it.
 */
export function mountReadyz(
  // biome-ignore lint/suspicious/noExplicitAny: any Hono app, as mountApi takes
  app: Hono<any>,
  o: Pick<ApiDeps, 'inventoryLoaded'> & { ctx?: ApiDeps['ctx'] },
): void {
  app.get('/readyz', async (c) => {
    const store = o.ctx === undefined ? true : await storeAnswers(o.ctx());
    const inventory = o.inventoryLoaded?.() ?? true;
    return c.json({ ready: store && inventory, store, inventory }, store && inventory ? 200 : 503);
  });
}

/**
 * The client's address, for counting its wrong tokens. A request that came through no
 * socket (app.request() in tests) is 'local'.
 */
function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'local';
  }
}

/** Login, logout and the OpenAPI document (these need no token). */
function mountSession(v: OpenAPIHono<ApiEnv>, access: TokenAccess, limiter: AuthFailureLimiter): void {
  v.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  v.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
  });
  v.openapi(
    {
      method: 'post',
      path: '/login',
      summary: 'trade a token for a session cookie (HttpOnly, SameSite=Strict): the page logs in with this',
      request: { body: { content: { 'application/json': { schema: loginBody } }, required: true } },
      responses: {
        200: { description: 'logged in; the cookie is set' },
        400: { description: 'a bad body' },
        401: { description: 'a wrong token' },
        429: { description: 'too many wrong tokens from this address within a minute' },
      },
    } as never,
    ((c: Context<ApiEnv, '/login', { out: { json: { token: string } } }>) => {
      if (!access.configured)
        throw new BadRequest('token: no tokens are configured (every request is admin)');
      const s = access.login(c.req.valid('json').token);
      if (s === null) {
        limiter.fail(clientAddress(c));
        return c.json({ error: 'token: not a valid token' }, 401);
      }
      setCookie(c, SESSION_COOKIE, s.id, {
        path: '/',
        httpOnly: true,
        sameSite: 'Strict',
        secure: new URL(c.req.url).protocol === 'https:',
        maxAge: access.sessionSeconds,
      });
      const namespaces = s.scope.kind === 'tenant' ? s.scope.namespaces : null;
      return c.json({ name: s.name, role: s.scope.kind, namespaces });
    }) as never,
  );
  v.openapi(
    {
      method: 'post',
      path: '/logout',
      summary: 'end the session of the cookie sent',
      responses: { 204: { description: 'logged out' } },
    } as never,
    ((c: Context) => {
      access.logout(c.req.header('cookie'));
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    }) as never,
  );
  v.doc('/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'podwire API',
      version: '1',
      description:
        'Flows, packet samples, VF counters, pods and SLA events of the pods podwire observes. ' +
        "Every route filters by the caller's scope; see the root README.",
    },
  });
}
