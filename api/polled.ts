/**
 * The store queries the UI polls, through the answer cache (api/cache.ts): the route
 * handlers call these instead of the query functions directly. Each answer is computed
 * for the caller's scope (a tenant's own view: ingest/api-queries.ts) and cached under a
 * key that holds the scope, so a scoped answer is only ever served to the same scope.
 *
 * A question is keyed as asked (`to` left out: "now", see pollKey) and its range resolved
 * by `range` when the answer is computed, so "the last hour" stays one cache entry that is
 * refreshed in place. The route validates the range (rangeOf) before it asks.
 */
import {
  type Namespaces,
  type Peer,
  podPeers,
  scopedPacketTrace,
  scopedTopTalkers,
} from '../ingest/api-queries.js';
import {
  type BandwidthResult,
  type FlowCoverage,
  type PacketSampleRow,
  packetTrace,
  podBandwidth,
  type QueryContext,
  type Range,
  type TalkerKey,
  type TopTalkersResult,
  topTalkers,
} from '../ingest/queries.js';
import { namespacesOf, type Scope } from './access.js';
import { type AnswerCache, pollKey } from './cache.js';

/** A range as asked (either end may be left out) and how to resolve it to one. */
export interface Asked {
  from?: number;
  to?: number;
}
export type Resolve = (q: Asked) => Range;

const namespaces = (scope: Scope): Namespaces => namespacesOf(scope) ?? undefined;

/** Top talkers as the scope sees them. */
export function cachedTopTalkers(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: Scope,
  q: Asked & { by: TalkerKey; limit: number },
  range: Resolve,
): Promise<TopTalkersResult> {
  const ns = namespaces(scope);
  return cache.get(scope, 'topTalkers', { ...pollKey(q), by: q.by, limit: q.limit }, () => {
    const r = { ...range(q), by: q.by, limit: q.limit };
    return ns === undefined ? topTalkers(ctx, r) : scopedTopTalkers(ctx, { ...r, namespaces: ns });
  });
}

/** A pod's bandwidth (the route checks the pod's namespace is in the scope). */
export function cachedPodBandwidth(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: Scope,
  q: Asked & { namespace: string; pod: string; step: number },
  range: Resolve,
): Promise<BandwidthResult> {
  const p = { namespace: q.namespace, pod: q.pod, step: q.step };
  return cache.get(scope, 'podBandwidth', { ...pollKey(q), ...p }, () =>
    podBandwidth(ctx, { ...range(q), ...p }),
  );
}

/** A pod's peers as the scope sees them (peers outside it: one blank row). */
export function cachedPodPeers(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: Scope,
  q: Asked & { namespace: string; pod: string; limit: number },
  range: Resolve,
): Promise<FlowCoverage & { peers: Peer[] }> {
  const p = { namespace: q.namespace, pod: q.pod, limit: q.limit };
  return cache.get(scope, 'podPeers', { ...pollKey(q), ...p }, () =>
    podPeers(ctx, { ...range(q), ...p, namespaces: namespaces(scope) }),
  );
}

/**
 * The packet samples of a trace (a MAC, IP, VLAN or VNI) as the scope sees them: a trace
 * box shared in a URL, or a viewer pasting the same MAC again, asks the same question.
 */
export function cachedTraceSamples(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: Scope,
  q: Asked & { mac?: string; ip?: string; vlan?: number; vni?: number; limit: number },
  range: Resolve,
): Promise<PacketSampleRow[]> {
  const p = { mac: q.mac, ip: q.ip, vlan: q.vlan, vni: q.vni, limit: q.limit };
  const ns = namespaces(scope);
  return cache.get(scope, 'traceSamples', { ...pollKey(q), ...p }, () => {
    const r = { ...range(q), ...p };
    return ns === undefined ? packetTrace(ctx, r) : scopedPacketTrace(ctx, { ...r, namespaces: ns });
  });
}
