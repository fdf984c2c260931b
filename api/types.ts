/** What the API reads from the running service, and the per-request context it keeps. */
import type { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import type { EndpointRecord } from '../collector/attribution/inventory.js';
import type { QueryContext } from '../ingest/queries.js';
import type { Scope, TokenAccess } from './access.js';
import type { AuthFailureLimiter } from './auth-limit.js';
import type { AnswerCache } from './cache.js';
import type { NodeRate, PodRate } from './pods.js';

export interface ApiDeps {
  ctx: () => QueryContext;
  /** tokens and sessions (default: none configured, everything admin: loopback only) */
  access?: TokenAccess;
  /** a single admin bearer token (the older `http.apiToken`), when `access` is not given */
  token?: string;
  status: () => unknown;
  /** the in-process evaluator's active alerts (alerts/service.ts) */
  alerts?: () => unknown;
  /** the live inventory: current endpoints and the time-versioned index (pods, trace) */
  inventory?: { current(): EndpointRecord[]; readonly index: EndpointIndex };
  /** current per-pod and per-node rates from the NIC collector (api/pods.ts podRates) */
  rates?: () => { pods: PodRate[]; nodes: NodeRate[] };
  /** whether the endpoint sources delivered their initial listing (/readyz) */
  inventoryLoaded?: () => boolean;
  /** the answer cache for what the UI polls (default: api/routes.ts POLL_CACHE) */
  cache?: AnswerCache;
  /** wrong tokens per client address (default: 10 a minute, then 429 until the minute ends) */
  authLimit?: AuthFailureLimiter;
  /** where a failed request's error goes, with its request id (default: stderr) */
  log?: (line: string) => void;
}

/** Hono variables of an /api request: the caller's scope and its token's name. */
export type ApiEnv = { Variables: { scope: Scope; who: string } };
