import type { Registry } from 'prom-client';
import { API_AUTH_METRICS as M } from '../node-exporter/metrics.js';
import { scrapeCounter } from '../node-exporter/scrape-metrics.js';

/**
 * Failed authentications per client address. After `maxFailures` wrong tokens (login or
 * bearer) within `windowMs`, the address is answered 429 with Retry-After until its window
 * ends, on login and on every token-checked route, a right token included: an online guess
 * at a weak token gets `maxFailures` tries a window. Bounded: at most `maxAddresses` are
 * tracked, the longest-tracked forgotten first. Counted: `blocked` and `failures` feed
 * podwire_api_auth_* (api/README.md).
 */
export interface AuthLimitOptions {
  /** wrong tokens an address may send per window (default 10) */
  maxFailures?: number;
  /** default 60 s */
  windowMs?: number;
  /** addresses tracked at once (default 10,000) */
  maxAddresses?: number;
  now?: () => number;
}

interface Window {
  start: number;
  failures: number;
}

export class AuthFailureLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  /** wrong tokens seen, and requests refused while blocked */
  failures = 0;
  blocked = 0;

  constructor(o: AuthLimitOptions = {}) {
    this.maxFailures = o.maxFailures ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxAddresses = o.maxAddresses ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** Milliseconds until the address may try again (0: it may now); counts a refusal. */
  retryAfterMs(address: string): number {
    const w = this.windows.get(address);
    if (w === undefined || w.failures < this.maxFailures) return 0;
    const left = w.start + this.windowMs - this.now();
    if (left <= 0) return 0;
    this.blocked++;
    return left;
  }

  /** A wrong token from the address. */
  fail(address: string): void {
    this.failures++;
    const now = this.now();
    const w = this.windows.get(address);
    if (w !== undefined && now - w.start < this.windowMs) {
      w.failures++;
      return;
    }
    this.windows.delete(address);
    while (this.windows.size >= this.maxAddresses) {
      this.windows.delete(this.windows.keys().next().value as string);
    }
    this.windows.set(address, { start: now, failures: 1 });
  }

  /** Addresses tracked now (the bound is tested). */
  get tracked(): number {
    return this.windows.size;
  }
}

/** podwire_api_auth_failures_total and podwire_api_auth_blocked_total from a limiter. */
export function registerAuthLimitMetrics(registry: Registry, limiter: AuthFailureLimiter): void {
  scrapeCounter(registry, M.failures, (c) => c.inc(limiter.failures));
  scrapeCounter(registry, M.blocked, (c) => c.inc(limiter.blocked));
}
