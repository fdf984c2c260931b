/**
 * The store queries the UI polls, through the answer cache (api/cache.ts): the route
 * handlers call these instead of the query functions directly. Each answer is computed
 * for the caller's scope (a tenant's own view: ingest/api-queries.ts) and cached under a
 * key that holds the scope, so a scoped answer is only ever served to the same scope.
 */
import { type Namespaces, type Peer, podPeers, scopedTopTalkers } from '../ingest/api-queries.js';
import {
  type BandwidthPoint,
  type FlowTableName,
  podBandwidth,
  type QueryContext,
  type Range,
  type TalkerKey,
  type TopTalkersResult,
  topTalkers,
} from '../ingest/queries.js';
import { namespacesOf, type Scope } from './access.js';
import type { AnswerCache } from './cache.js';

const namespaces = (scope: Scope): Namespaces => namespacesOf(scope) ?? undefined;

/** Top talkers as the scope sees them. */
export function cachedTopTalkers(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: Scope,
  q: Range & { by: TalkerKey; limit: number },
): Promise<TopTalkersResult> {
  const key = { from: q.from, to: q.to, by: q.by, limit: q.limit };
  const ns = namespaces(scope);
  return cache.get(scope, 'topTalkers', key, () =>
    ns === undefined ? topTalkers(ctx, key) : scopedTopTalkers(ctx, { ...key, namespaces: ns }),
  );
}

/** A pod's bandwidth (the route checks the pod's namespace is in the scope). */
export function cachedPodBandwidth(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: Scope,
  q: Range & { namespace: string; pod: string; step: number },
): Promise<BandwidthPoint[]> {
  const key = { from: q.from, to: q.to, namespace: q.namespace, pod: q.pod, step: q.step };
  return cache.get(scope, 'podBandwidth', key, () => podBandwidth(ctx, key));
}

/** A pod's peers as the scope sees them (peers outside it: one blank row). */
export function cachedPodPeers(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: Scope,
  q: Range & { namespace: string; pod: string; limit: number },
): Promise<{ table: FlowTableName; peers: Peer[] }> {
  const key = { from: q.from, to: q.to, namespace: q.namespace, pod: q.pod, limit: q.limit };
  return cache.get(scope, 'podPeers', key, () => podPeers(ctx, { ...key, namespaces: namespaces(scope) }));
}
