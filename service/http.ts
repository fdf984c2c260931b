/**
 * A role's HTTP server: /metrics and /healthz always (node-exporter/), /readyz always, and
 * for the roles that serve users the query API, the page and the live stream (api/).
 */
import type { TokenAccess } from '../api/access.js';
import { metricsGuard, mountApi } from '../api/app.js';
import type { AuthFailureLimiter } from '../api/auth-limit.js';
import type { LiveHub } from '../api/live/hub.js';
import { liveSocketServer, mountLive } from '../api/live/route.js';
import { mountUi } from '../api/ui.js';
import type { LiveInventory } from '../collector/endpoints/live-inventory.js';
import { storeAnswers } from '../ingest/api-queries.js';
import type { Store } from '../ingest/store.js';
import { NodeExporter, type NodeExporterOptions } from '../node-exporter/exporter.js';
import type { NicPart } from './nic.js';

export interface HttpOptions {
  host: string;
  port: number;
  nic: NicPart;
  live: LiveInventory;
  /** every endpoint source's first listing is in */
  loaded: () => boolean;
  store: Store | null;
  access: TokenAccess;
  log: (m: string) => void;
  /** the API, the page and the live stream (null: /metrics, /healthz and /readyz only) */
  api: {
    authLimit: AuthFailureLimiter;
    status: () => unknown;
    alerts: () => unknown;
    hub: () => LiveHub | null;
    /** per-pod rates from this process's NIC collections (none in `serve`) */
    rates?: NicPart['rates'];
  } | null;
}

export function startHttp(o: HttpOptions): NodeExporter {
  const api = o.api;
  return new NodeExporter({
    provider: { collect: () => o.nic.collect() },
    index: o.live.index,
    host: o.host,
    port: o.port,
    intervalMs: o.nic.intervalMs,
    log: o.log,
    guard: metricsGuard(o.access),
    websocket: api === null ? undefined : liveSocketServer(),
    routes: (app) => {
      if (api === null) return mountReady(app, o);
      if (o.store === null) throw new Error('the API needs a store');
      const store = o.store;
      mountApi(app, {
        ctx: () => ({ client: store.client, database: store.database }),
        access: o.access,
        authLimit: api.authLimit,
        status: api.status,
        alerts: api.alerts,
        inventory: o.live,
        inventoryLoaded: o.loaded,
        rates: api.rates,
      });
      const hub = api.hub();
      if (hub !== null) mountLive(app, { access: o.access, hub });
      mountUi(app);
    },
  });
}

/** /readyz of a role without the API: the store answers (when it has one) and the inventory is in. */
function mountReady(app: Parameters<NonNullable<NodeExporterOptions['routes']>>[0], o: HttpOptions): void {
  app.get('/readyz', async (c) => {
    const store =
      o.store === null ? true : await storeAnswers({ client: o.store.client, database: o.store.database });
    const inventory = o.loaded();
    return c.json({ ready: store && inventory, store, inventory }, store && inventory ? 200 : 503);
  });
}
