/**
 * The store queries the UI polls, through the answer cache (api/cache.ts): the route
 * handlers call these instead of ingest/queries.ts directly. `narrow` turns an answer into
 * what the scope may see (the tenant filter); it runs before the answer is cached, under a
 * key that holds the scope, so a scoped answer is only ever served to the same scope.
 */
import {
  type BandwidthPoint,
  type PodPeer,
  podBandwidth,
  podPeers,
  type QueryContext,
  type Range,
  type TalkerKey,
  type TopTalkersResult,
  topTalkers,
} from '../ingest/queries.js';
import type { AnswerCache, CacheScope } from './cache.js';

type Narrow<T> = (answer: T) => T;
const asIs = <T>(a: T) => a;

export function cachedTopTalkers(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: CacheScope,
  q: Range & { by: TalkerKey; limit?: number },
  narrow: Narrow<TopTalkersResult> = asIs,
): Promise<TopTalkersResult> {
  const key = { from: q.from, to: q.to, by: q.by, limit: q.limit };
  return cache.get(scope, 'topTalkers', key, () => topTalkers(ctx, key).then(narrow));
}

export function cachedPodBandwidth(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: CacheScope,
  q: Range & { namespace: string; pod: string; step: number },
  narrow: Narrow<BandwidthPoint[]> = asIs,
): Promise<BandwidthPoint[]> {
  const key = { from: q.from, to: q.to, namespace: q.namespace, pod: q.pod, step: q.step };
  return cache.get(scope, 'podBandwidth', key, () => podBandwidth(ctx, key).then(narrow));
}

export function cachedPodPeers(
  cache: AnswerCache,
  ctx: QueryContext,
  scope: CacheScope,
  q: Range & { namespace: string; pod: string; limit?: number },
  narrow: Narrow<PodPeer[]> = asIs,
): Promise<PodPeer[]> {
  const key = { from: q.from, to: q.to, namespace: q.namespace, pod: q.pod, limit: q.limit };
  return cache.get(scope, 'podPeers', key, () => podPeers(ctx, key).then(narrow));
}
