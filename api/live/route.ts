/**
 * GET /api/v1/live: the WebSocket upgrade of the live stream, through @hono/node-server's
 * own upgrade support (its `websocket: { server }` option with a `ws` WebSocketServer in
 * noServer mode; `liveSocketServer` makes that server).
 *
 * The upgrade is authenticated like every /api request (Access.scopeOf: a bearer header or
 * the session cookie the page's login set): none is a 401, a metrics token a 403. A browser
 * sends its Origin: one other than the server's own is refused (403), so a page elsewhere
 * cannot open the stream with the user's cookie. Initial filters may ride in the query
 * string (`?namespace=&pod=&vlan=&vni=&samples=1`); a bad one is a 400 naming it, a
 * namespace outside the scope a 403.
 */
import { upgradeWebSocket } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Access } from '../access.js';
import type { LiveHub } from './hub.js';
import { filterProblem, filterQuerySchema, issuesOf } from './messages.js';

/** A client message may be at most this big: subscriptions are tiny; more closes the socket (1009). */
export const LIVE_MAX_PAYLOAD = 4096;

export const LIVE_PATH = '/api/v1/live';

/** The WebSocketServer to hand to serve({ websocket: { server } }). */
export function liveSocketServer(): WebSocketServer {
  return new WebSocketServer({ noServer: true, maxPayload: LIVE_MAX_PAYLOAD, perMessageDeflate: false });
}

/** Whether a browser's Origin names this server (no Origin: not a browser, allowed). */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  const host = c.req.header('host');
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app (its env type does not matter here)
export function mountLive(app: Hono<any>, deps: { access: Access; hub: LiveHub }): void {
  app.get(LIVE_PATH, async (c, next) => {
    const scope = deps.access.scopeOf({
      authorization: c.req.header('authorization'),
      cookie: c.req.header('cookie'),
    });
    if (scope === null)
      return c.json({ error: 'a token is required (Authorization: Bearer TOKEN, or a session)' }, 401);
    if (scope.kind === 'metrics') return c.json({ error: 'a metrics token reads /metrics only' }, 403);
    if (!sameOrigin(c)) return c.json({ error: 'origin: not this server' }, 403);
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
      return c.json({ error: 'a WebSocket upgrade is expected here' }, 426, { upgrade: 'websocket' });
    const q = filterQuerySchema.safeParse(c.req.query());
    if (!q.success) return c.json({ error: issuesOf(q.error) }, 400);
    const problem = filterProblem(scope, q.data);
    if (problem !== null) return c.json({ error: problem }, 403);
    if (deps.hub.full) return c.json({ error: 'too many live clients; try again later' }, 503);
    const filter = q.data;
    let onMessage: ((text: string | null) => void) | null = null;
    const upgrade = upgradeWebSocket(() => ({
      onOpen: (_e, ws) => {
        onMessage = deps.hub.add(ws.raw as WebSocket, scope, filter);
      },
      onMessage: (e) => onMessage?.(typeof e.data === 'string' ? e.data : null),
    }));
    return upgrade(c, next);
  });
}
