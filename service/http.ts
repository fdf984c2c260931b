/**
 * A role's HTTP server: /metrics and /healthz always (node-exporter/), /readyz always, and
 * for the roles that serve users the query API, the page and the live stream (api/).
 */
import type { TokenAccess } from '../api/access.js';
import { metricsGuard, mountApi, mountReadyz } from '../api/app.js';
import type { AuthFailureLimiter } from '../api/auth-limit.js';
import type { LiveHub } from '../api/live/hub.js';
import { liveSocketServer, mountLive } from '../api/live/route.js';
import { mountUi } from '../api/ui.js';
import type { LiveInventory } from '../collector/endpoints/live-inventory.js';
import type { Store } from '../ingest/store.js';
import { NodeExporter } from '../node-exporter/exporter.js';
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
      if (api === null)
        return mountReadyz(app, {
          ctx: o.store === null ? undefined : ctxOf(o.store),
          inventoryLoaded: o.loaded,
        });
      if (o.store === null) throw new Error('the API needs a store');
      mountApi(app, {
        ctx: ctxOf(o.store),
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

/** The query context of a store, as the API and /readyz take it. */
export const ctxOf = (store: Store) => () => ({ client: store.client, database: store.database });
