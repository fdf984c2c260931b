/**
 * The HTTP side: hono on @hono/node-server, bound to 127.0.0.1 by default.
 *
 *   GET /metrics  the exposition rendered after the last collection (text format 0.0.4;
 *                 gzip when the client accepts it). A scrape copies a cached Buffer; the
 *                 metrics other parts register (sFlow, writers…) are re-read first when
 *                 their render is older than a second (`refresh`).
 *   GET /healthz  200 with JSON while collections run on time, 503 when they stall;
 *                 a failing NIC source does not fail it (see podwire_collector_* instead).
 *
 * Default port 9742. Not 9808: on the SR-IOV nodes podwire runs on, 9808 is the default
 * of sriov-network-metrics-exporter (`-web.listen-address :9808`) and of the Kubernetes CSI
 * livenessprobe sidecar (`--health-port=9808`), both commonly host-network DaemonSets
 * listening on every address, so 127.0.0.1:9808 would be taken.
 */
import type { AddressInfo } from 'node:net';
import { type HttpBindings, type ServerType, serve, type WebSocketServerLike } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import type { ExporterRegistry } from './registry.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 9742;

export interface Health {
  ok: boolean;
  /** ms since the epoch of the last collection's state (null: none yet) */
  lastCollection: number | null;
  sources: { name: string; ok: boolean; lastError: string | null; lastSuccess: number | null }[];
}

export interface MetricsAppDeps {
  registry: ExporterRegistry;
  health(): Health;
  /** run before a scrape is served: brings the non-NIC metrics up to date (registry.refresh) */
  refresh?: () => Promise<void>;
  /** false: `/` is left to other routes (the all-in-one's page) */
  home?: boolean;
  /** runs before /metrics is served: the all-in-one's token rule (api/app.ts metricsGuard) */
  guard?: MiddlewareHandler;
}

/** q=0 refuses an encoding; anything else accepts it */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [enc, ...params] = part.trim().split(';');
    if (enc.trim().toLowerCase() !== 'gzip') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

export function createMetricsApp(deps: MetricsAppDeps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  if (deps.guard) app.use('/metrics', deps.guard);
  app.get('/metrics', async (c) => {
    const reg = deps.registry;
    if (reg.version === 0) {
      return new Response('podwire: no collection yet\n', {
        status: 503,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' },
      });
    }
    await deps.refresh?.();
    if (acceptsGzip(c.req.header('accept-encoding'))) {
      const body = await reg.gzipped();
      return new Response(body, {
        status: 200,
        headers: {
          'content-type': reg.contentType,
          'content-encoding': 'gzip',
          vary: 'accept-encoding',
          'content-length': String(body.byteLength),
        },
      });
    }
    // the rendered bytes themselves, not a copy: held until the response is done
    const lease = reg.acquire();
    const outgoing = c.env?.outgoing;
    let body = lease.body;
    if (outgoing) outgoing.once('close', lease.release);
    else {
      body = Buffer.from(body); // not on @hono/node-server (app.request() in tests): copy
      lease.release();
    }
    return new Response(body, {
      status: 200,
      headers: { 'content-type': reg.contentType, vary: 'accept-encoding' },
    });
  });
  app.get('/healthz', (c) => {
    const h = deps.health();
    return c.json(h, h.ok ? 200 : 503);
  });
  if (deps.home !== false)
    app.get('/', (c) =>
      c.text('podwire node exporter: /metrics (Prometheus text format), /healthz (JSON)\n'),
    );
  return app;
}

export interface StartedServer {
  readonly server: ServerType;
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0: any free one); rejects with the listen error (EADDRINUSE, …). */
export function startMetricsServer(
  app: Hono<{ Bindings: HttpBindings }>,
  options: { host?: string; port?: number; websocket?: WebSocketServerLike } = {},
): Promise<StartedServer> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  return new Promise((resolve, reject) => {
    const websocket = options.websocket ? { server: options.websocket } : undefined;
    const server = serve({ fetch: app.fetch, hostname: host, port, websocket }, (info: AddressInfo) => {
      server.off('error', onError);
      const h = info.address.includes(':') ? `[${info.address}]` : info.address;
      resolve({
        server,
        host: info.address,
        port: info.port,
        url: `http://${h}:${info.port}`,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    const onError = (err: Error) => {
      // keep the errno code (EADDRINUSE, EACCES…): callers turn those into usage errors
      const e = new Error(`podwire: cannot listen on ${host}:${port}: ${err.message}`);
      reject(Object.assign(e, { code: (err as NodeJS.ErrnoException).code }));
    };
    server.once('error', onError);
  });
}
