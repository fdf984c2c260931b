/**
 * The live stream's clients and what each is sent: per-pod rates once a second, attributed
 * packet samples as they are taken, a heartbeat. One hub per service.
 *
 * Backpressure: a client whose socket holds more than `maxBufferedBytes` unsent is behind.
 * While behind, nothing more is queued for it: each rates update replaces the one waiting
 * (only the latest is sent once it catches up; the skipped ones are counted as
 * coalesced) and samples are dropped and counted; the counts travel in every rates message
 * and in /metrics. A client behind for `slowCloseMs` is closed (1013, with the reason),
 * and terminated if its close does not complete within `closeGraceMs`. So what the server
 * holds for a client is bounded by maxBufferedBytes plus one message, however slowly it
 * reads.
 *
 * Heartbeat: every `heartbeatMs` a ping (and a `heartbeat` message, for pages, which see no
 * pings); a client that did not answer the previous ping is terminated as dead.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { WebSocket } from 'ws';
import { LIVE_METRICS as M } from '../../node-exporter/metrics.js';
import type { Scope } from '../access.js';
import {
  type Filter,
  filterProblem,
  issuesOf,
  type LiveSample,
  type RatesReading,
  ratesFor,
  sampleFor,
  subscribeSchema,
} from './messages.js';

export interface LiveHubOptions {
  /** the current rates (called once per interval while a client is connected) */
  rates: () => RatesReading | Promise<RatesReading>;
  /** rates every this many ms (default 1000) */
  intervalMs?: number;
  /** ping every this many ms (default 15000) */
  heartbeatMs?: number;
  /** a client with more unsent bytes than this is behind (default 256 KiB) */
  maxBufferedBytes?: number;
  /** a client behind this long is closed (default 10 s) */
  slowCloseMs?: number;
  /** a closing client that has not closed after this is terminated (default 5 s) */
  closeGraceMs?: number;
  /** clients at most; more are refused (default 256) */
  maxClients?: number;
  /** for the podwire_live_* metrics */
  registry?: Registry;
  /** ms since the epoch (tests control it) */
  now?: () => number;
  log?: (line: string) => void;
}

/** Close codes: 1013 (try again later) for a client that stays behind. */
export const CLOSE_TOO_SLOW = 1013;

interface Client {
  ws: WebSocket;
  scope: Scope;
  filter: Filter;
  /** ms since the epoch when it fell behind; null while it keeps up */
  behindSince: number | null;
  /** the latest rates not sent because it was behind */
  pendingRates: RatesReading | null;
  dropped: { samples: number; rates: number };
  /** answered the last ping */
  alive: boolean;
  closing: boolean;
}

export class LiveHub {
  private readonly clients = new Set<Client>();
  private readonly o: Required<Omit<LiveHubOptions, 'registry' | 'log'>> & Pick<LiveHubOptions, 'log'>;
  private ticker: NodeJS.Timeout | null = null;
  private heart: NodeJS.Timeout | null = null;
  private ticking = false;
  private sampleWanted = 0;
  private readonly metrics: {
    dropped: Counter<'what'>;
    closed: Counter<'reason'>;
  };

  constructor(options: LiveHubOptions) {
    this.o = {
      intervalMs: 1000,
      heartbeatMs: 15_000,
      maxBufferedBytes: 256 * 1024,
      slowCloseMs: 10_000,
      closeGraceMs: 5000,
      maxClients: 256,
      now: Date.now,
      ...options,
    };
    const registers = options.registry ? [options.registry] : [];
    const clients = this.clients;
    new Gauge({
      name: M.clients.name,
      help: M.clients.help,
      registers,
      collect() {
        this.set(clients.size);
      },
    });
    this.metrics = {
      dropped: new Counter({
        name: M.dropped.name,
        help: M.dropped.help,
        labelNames: M.dropped.labels,
        registers,
      }),
      closed: new Counter({
        name: M.closed.name,
        help: M.closed.help,
        labelNames: M.closed.labels,
        registers,
      }),
    };
  }

  get size(): number {
    return this.clients.size;
  }

  /** Each client's unsent bytes (what the server holds for it). */
  unsentBytes(): number[] {
    return [...this.clients].map((c) => c.ws.bufferedAmount);
  }

  /** Whether another client may connect. */
  get full(): boolean {
    return this.clients.size >= this.o.maxClients;
  }

  /**
   * Takes a connected socket of a client with this scope and initial filter; returns what
   * to call with each message it sends (text, or null for a binary one).
   */
  add(ws: WebSocket, scope: Scope, filter: Filter): (text: string | null) => void {
    const c: Client = {
      ws,
      scope,
      filter,
      behindSince: null,
      pendingRates: null,
      dropped: { samples: 0, rates: 0 },
      alive: true,
      closing: false,
    };
    this.clients.add(c);
    if (filter.samples === true) this.sampleWanted++;
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('close', (code) => {
      if (code === 1009) this.metrics.closed.inc({ reason: 'too_big' });
      this.remove(c);
    });
    ws.on('error', () => this.remove(c));
    this.start();
    void this.sendRatesTo([c]);
    return (text) => this.onMessage(c, text);
  }

  private remove(c: Client): void {
    if (!this.clients.delete(c)) return;
    if (c.filter.samples === true) this.sampleWanted--;
    if (this.clients.size === 0) this.stopTimers();
  }

  private onMessage(c: Client, text: string | null): void {
    const reply = (m: object) => this.trySend(c, JSON.stringify(m));
    let parsed: unknown;
    try {
      parsed = text === null ? null : JSON.parse(text);
    } catch {
      reply({ type: 'error', error: 'message: not JSON' });
      return;
    }
    const r = subscribeSchema.safeParse(parsed);
    if (!r.success) {
      reply({
        type: 'error',
        error: parsed === null ? 'message: expected a JSON text frame' : issuesOf(r.error),
      });
      return;
    }
    const { type: _type, ...filter } = r.data;
    const problem = filterProblem(c.scope, filter);
    if (problem !== null) {
      reply({ type: 'error', error: problem });
      return;
    }
    if (c.filter.samples === true) this.sampleWanted--;
    if (filter.samples === true) this.sampleWanted++;
    c.filter = filter;
    reply({ type: 'subscribed', filter });
    void this.sendRatesTo([c]);
  }

  /** Whether any client takes samples (so the packet path builds none for nobody). */
  get wantsSamples(): boolean {
    return this.sampleWanted > 0;
  }

  /** One attributed packet sample, to every client whose scope and filters take it. */
  sample(s: LiveSample): void {
    if (this.sampleWanted === 0) return;
    let full: string | null = null;
    for (const c of this.clients) {
      const v = sampleFor(c.scope, c.filter, s);
      if (v === null || c.closing) continue;
      if (this.behind(c)) {
        c.dropped.samples++;
        this.metrics.dropped.inc({ what: 'samples' });
        continue;
      }
      if (v === s) {
        full ??= JSON.stringify(s);
        c.ws.send(full);
      } else c.ws.send(JSON.stringify(v));
    }
  }

  /** Unsent bytes above the bound; marks when it fell behind. */
  private behind(c: Client): boolean {
    if (c.ws.bufferedAmount <= this.o.maxBufferedBytes) {
      c.behindSince = null;
      return false;
    }
    c.behindSince ??= this.o.now();
    return true;
  }

  private trySend(c: Client, text: string): void {
    if (!c.closing && c.ws.readyState === c.ws.OPEN && !this.behind(c)) c.ws.send(text);
  }

  private start(): void {
    this.ticker ??= setInterval(() => void this.tick(), this.o.intervalMs);
    this.heart ??= setInterval(() => this.beat(), this.o.heartbeatMs);
  }

  private stopTimers(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.heart) clearInterval(this.heart);
    this.ticker = this.heart = null;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.sendRatesTo(this.clients);
    } finally {
      this.ticking = false;
    }
  }

  private async sendRatesTo(clients: Iterable<Client>): Promise<void> {
    let reading: RatesReading;
    try {
      reading = await this.o.rates();
    } catch (err) {
      this.o.log?.(`podwire live: reading the rates failed: ${(err as Error).message}`);
      return;
    }
    const now = this.o.now();
    for (const c of [...clients]) {
      if (c.closing || c.ws.readyState !== c.ws.OPEN) continue;
      if (this.behind(c)) {
        if (c.pendingRates !== null) {
          c.dropped.rates++;
          this.metrics.dropped.inc({ what: 'rates' });
        }
        c.pendingRates = reading;
        if (now - (c.behindSince ?? now) >= this.o.slowCloseMs) this.closeSlow(c, now);
        continue;
      }
      c.pendingRates = null;
      c.ws.send(JSON.stringify(ratesFor(c.scope, c.filter, reading, c.dropped)));
    }
  }

  private closeSlow(c: Client, now: number): void {
    const s = Math.round((now - (c.behindSince ?? now)) / 1000);
    c.closing = true;
    this.metrics.closed.inc({ reason: 'too_slow' });
    // at most 123 bytes
    c.ws.close(
      CLOSE_TOO_SLOW,
      `too slow: behind for ${s} s; ${c.dropped.samples} samples dropped, ${c.dropped.rates} rate updates coalesced`.slice(
        0,
        123,
      ),
    );
    setTimeout(() => {
      if (c.ws.readyState !== c.ws.CLOSED) c.ws.terminate();
    }, this.o.closeGraceMs).unref();
  }

  private beat(): void {
    const t = this.o.now();
    for (const c of [...this.clients]) {
      if (c.closing) continue;
      if (!c.alive) {
        this.metrics.closed.inc({ reason: 'dead' });
        c.ws.terminate();
        this.remove(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
      this.trySend(c, JSON.stringify({ type: 'heartbeat', t }));
    }
  }

  /** Closes every client (1001, going away) and stops the timers. */
  close(): void {
    for (const c of this.clients) {
      const ws = c.ws;
      ws.close(1001, 'podwire is stopping');
      // the server's close waits for upgraded sockets: one that does not answer is cut
      setTimeout(() => {
        if (ws.readyState !== ws.CLOSED) ws.terminate();
      }, 1000).unref();
    }
    this.clients.clear();
    this.sampleWanted = 0;
    this.stopTimers();
  }
}
