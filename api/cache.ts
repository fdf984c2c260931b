/**
 * A small answer cache for what the UI polls: the same top talkers for every viewer of the
 * page. Without it, 200 viewers make 200 store queries that the embedded engine answers one
 * at a time (one chDB session, in its worker: ingest/embedded-engine.ts).
 *
 * - Keyed by the caller's scope and the normalized query, so a tenant never gets an answer
 *   computed for another scope (a tenant's answer is filtered to its namespaces).
 * - An answer is fresh for `ttlMs` (short, about half a flow window: a new window lands
 *   every few seconds), by an injected clock, so tests control time. For `staleMs` more it
 *   is still served while one refresh runs in the background (stale-while-revalidate): a
 *   polled question is never waited for once answered, and is at most ttlMs + staleMs plus
 *   one query old. Older, it is asked again and waited for.
 * - Identical requests while one is being answered share its promise (coalescing): N
 *   concurrent identical calls make one store query. A failure is not cached.
 * - At most `maxEntries` answers, the least recently used evicted first.
 */

import type { Scope } from './access.js';

/** Who asks (api/access.ts). */
export type CacheScope = Scope;

export interface CacheOptions {
  /** how long an answer is fresh, ms */
  ttlMs: number;
  /** how long after that it is still served while it is refreshed, ms (default 0) */
  staleMs?: number;
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
  /** calls served a stale answer while it was refreshed */
  stale: number;
  evictions: number;
  size: number;
}

interface Entry {
  value: Promise<unknown>;
  /** when the answer arrived; undefined while in flight */
  at?: number;
  /** a refresh under way (stale-while-revalidate) */
  refreshing?: boolean;
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
  private readonly s = { hits: 0, misses: 0, coalesced: 0, stale: 0, evictions: 0 };

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
      const age = this.now() - e.at;
      if (age < this.o.ttlMs + (this.o.staleMs ?? 0)) {
        if (age < this.o.ttlMs) this.s.hits++;
        else {
          this.s.stale++;
          if (!e.refreshing) this.refresh(e, compute);
        }
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

  /** Asks again in the background; the entry keeps its answer until the new one arrives. */
  private refresh(e: Entry, compute: () => Promise<unknown>): void {
    e.refreshing = true;
    compute().then(
      (v) => {
        e.value = Promise.resolve(v);
        e.at = this.now();
        e.refreshing = false;
      },
      () => {
        // the stale answer stays until it is too old; then the next call asks and waits
        e.refreshing = false;
      },
    );
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
 * A polled range's key: a `to` left out is "now" (and a `from` left out counts back from
 * it), so every viewer polling "the last hour" asks the same question, whose answer the
 * cache refreshes in place; the range itself is resolved when the answer is computed.
 */
export function pollKey(q: { from?: number; to?: number }): { from?: number; to: number | 'now' } {
  return { from: q.from, to: q.to ?? 'now' };
}
