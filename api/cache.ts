/**
 * A small answer cache for what the UI polls: the same top talkers for every viewer of the
 * page. Without it, 200 viewers make 200 store queries that the embedded engine answers one
 * at a time (parameterized chDB queries cannot overlap: ingest/embedded-engine.ts).
 *
 * - Keyed by the caller's scope and the normalized query, so a tenant never gets an answer
 *   computed for another scope (a tenant's answer is filtered to its namespaces).
 * - Entries live `ttlMs` (short, about a flow window: a new window lands every few seconds
 *   and the rollups are per minute), by an injected clock, so tests control time.
 * - Identical requests while one is being answered share its promise (coalescing): N
 *   concurrent identical calls make one store query. A failure is not cached.
 * - At most `maxEntries` answers, the least recently used evicted first.
 */

import type { Scope } from './access.js';

/** Who asks (api/access.ts). */
export type CacheScope = Scope;

export interface CacheOptions {
  /** how long an answer is served, ms */
  ttlMs: number;
  /** answers kept at most (least recently used evicted) */
  maxEntries: number;
  /** ms; Date.now by default */
  now?: () => number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** calls that joined a query already in flight */
  coalesced: number;
  evictions: number;
  size: number;
}

interface Entry {
  value: Promise<unknown>;
  /** when the answer arrived; undefined while in flight */
  at?: number;
}

/** The scope part of a key: the namespaces sorted, so the same scope is the same key. */
export function scopeKey(scope: CacheScope): string {
  if (scope.kind !== 'tenant') return scope.kind;
  return `tenant:${JSON.stringify([...new Set(scope.namespaces)].sort())}`;
}

/**
 * The query part of a key: the parameters sorted by name, undefined ones left out, so the
 * same question asked with its parameters in another order is the same key.
 */
export function queryKey(name: string, params: Record<string, unknown>): string {
  const given = Object.keys(params)
    .filter((k) => params[k] !== undefined)
    .sort()
    .map((k) => [k, params[k]]);
  return `${name}:${JSON.stringify(given)}`;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly s = { hits: 0, misses: 0, coalesced: 0, evictions: 0 };

  constructor(private readonly o: CacheOptions) {
    if (!(o.maxEntries >= 1)) throw new RangeError('cache maxEntries: at least 1');
    this.now = o.now ?? Date.now;
  }

  /**
   * The answer to `query` (by `name` and `params`) for `scope`: cached if fresh, the one
   * being computed if in flight, else `compute()`'s.
   */
  get<T>(
    scope: CacheScope,
    name: string,
    params: Record<string, unknown>,
    compute: () => Promise<T>,
  ): Promise<T> {
    const key = `${scopeKey(scope)}|${queryKey(name, params)}`;
    const e = this.entries.get(key);
    if (e !== undefined) {
      if (e.at === undefined) {
        this.s.coalesced++;
        return e.value as Promise<T>;
      }
      if (this.now() - e.at < this.o.ttlMs) {
        this.s.hits++;
        // most recently used last
        this.entries.delete(key);
        this.entries.set(key, e);
        return e.value as Promise<T>;
      }
      this.entries.delete(key);
    }
    this.s.misses++;
    const entry: Entry = { value: compute() };
    this.entries.set(key, entry);
    this.evict();
    entry.value.then(
      () => {
        entry.at = this.now();
      },
      () => {
        // a failure is not kept: the next call asks the store again
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value as Promise<T>;
  }

  stats(): CacheStats {
    return { ...this.s, size: this.entries.size };
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.o.maxEntries) return;
      this.entries.delete(key);
      this.s.evictions++;
    }
  }
}

/**
 * A polled range: a `to` left out is now rounded down to `grainSeconds`, so every viewer
 * polling "the last hour" within the same grain asks the same question (one cache key);
 * `from` left out stays out (the query's default counts back from `to`).
 */
export function pollRange<Q extends { from?: number; to?: number }>(
  q: Q,
  nowSeconds: number,
  grainSeconds: number,
): Q & { to: number } {
  if (q.to !== undefined) return q as Q & { to: number };
  return { ...q, to: Math.floor(nowSeconds / grainSeconds) * grainSeconds };
}
