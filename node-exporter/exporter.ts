/**
 * The node exporter put together: a collection loop (every `intervalMs`, never two at once)
 * that reads the NIC sources, renders the registry, and the HTTP server that serves it.
 *
 *   const exporter = new NodeExporter({ sources: [createDemoSource()], index });
 *   const { url } = await exporter.start();   // first collection, then listen
 *   …
 *   await exporter.stop();
 */
import { performance } from 'node:perf_hooks';
import type { WebSocketServerLike } from '@hono/node-server';
import type { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import type { NicSource } from '../collector/nic/types.js';
import { CollectorProvider, type NicState, type NicStateProvider } from './nic-state.js';
import { ExporterRegistry } from './registry.js';
import {
  createMetricsApp,
  type Health,
  type MetricsAppDeps,
  type StartedServer,
  startMetricsServer,
} from './server.js';

export interface NodeExporterOptions {
  /** the NIC sources, in priority order (read by a NicCollector), or … */
  sources?: readonly NicSource[];
  /** … a collector producing the state */
  provider?: NicStateProvider;
  /** the endpoint inventory joined to devices (or a getter) */
  index?: EndpointIndex | (() => EndpointIndex | null) | null;
  /** nodes whose endpoints podwire_endpoint_info lists besides those seen in the NIC state */
  nodes?: readonly string[];
  /** collection interval (default 15 s, the NIC collector's default) */
  intervalMs?: number;
  /**
   * A scrape re-reads the metrics other parts registered (sFlow intake, writers, endpoint
   * lifecycle: prom-client collect()) when their last render is older than this (default
   * 1000 ms); the NIC families follow the collection interval.
   */
  liveMaxAgeMs?: number;
  /** listen address (default 127.0.0.1) and port (default 9742; 0 = any free port) */
  host?: string;
  port?: number;
  processMetrics?: boolean;
  log?: (message: string) => void;
  /** more routes on the same server (the all-in-one service mounts its query API) */
  routes?: (app: ReturnType<typeof createMetricsApp>) => void;
  /** WebSocket upgrades (ws in noServer mode: the all-in-one's live stream, api/live) */
  websocket?: WebSocketServerLike;
  /** runs before /metrics is served (the all-in-one's token rule) */
  guard?: MetricsAppDeps['guard'];
  /** called after each collection with its wall time (for benchmarks and tests) */
  onCollection?: (info: { seconds: number; series: number; ok: boolean }) => void;
}

export class NodeExporter {
  readonly registry: ExporterRegistry;
  readonly intervalMs: number;
  private readonly provider: NicStateProvider;
  private readonly log: (message: string) => void;
  private server: StartedServer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private last: NicState | null = null;
  private lastDoneMs = 0;
  private nextSlot = 0;

  constructor(private readonly options: NodeExporterOptions) {
    this.intervalMs = options.intervalMs ?? 15_000;
    if (!(this.intervalMs >= 10)) throw new RangeError('node exporter: intervalMs must be >= 10');
    this.log = options.log ?? ((m) => console.error(m));
    if (options.provider) this.provider = options.provider;
    else if (options.sources) {
      this.provider = new CollectorProvider({
        sources: [...options.sources],
        intervalMs: this.intervalMs,
        log: (level, message) => this.log(`podwire nic ${level}: ${message}`),
      });
    } else throw new Error('node exporter: give sources or a provider');
    this.registry = new ExporterRegistry({
      index: options.index,
      nodes: options.nodes,
      processMetrics: options.processMetrics,
    });
  }

  get url(): string | null {
    return this.server?.url ?? null;
  }

  /** One collection: read, count, render. Concurrent calls share the running one. */
  collectOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      const t0 = performance.now();
      let ok = false;
      try {
        const state = await this.provider.collect();
        // a scrape that came in while the NIC was read is served (from the last render)
        // before this render starts, not after it: the loop is free between the two
        await new Promise((r) => setImmediate(r));
        await this.registry.update(state);
        this.last = state;
        this.lastDoneMs = Date.now();
        ok = true;
      } catch (err) {
        // a bug, not a source failure (those are in the state): say so, keep serving the last render
        this.log(
          `podwire: collection failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      } finally {
        const seconds = (performance.now() - t0) / 1000;
        this.registry.noteCollection(seconds);
        this.running = null;
        this.options.onCollection?.({ seconds, series: this.registry.series, ok });
      }
    })();
    return this.running;
  }

  health(): Health {
    const s = this.last;
    const fresh = this.lastDoneMs > 0 && Date.now() - this.lastDoneMs < 3 * this.intervalMs + 5000;
    return {
      ok: fresh && !this.stopped,
      lastCollection: s ? s.at : null,
      sources: (s?.sources ?? []).map((h) => ({
        name: h.source,
        ok: h.ok,
        lastError: h.lastError,
        lastSuccess: h.lastSuccessMs,
      })),
    };
  }

  /** First collection, then listen, then collect every intervalMs. */
  async start(): Promise<{ url: string }> {
    if (this.server) return { url: this.server.url };
    this.stopped = false;
    await this.collectOnce();
    const liveMaxAgeMs = this.options.liveMaxAgeMs ?? 1000;
    const app = createMetricsApp({
      registry: this.registry,
      health: () => this.health(),
      guard: this.options.guard,
      home: this.options.routes === undefined,
      // a metric whose collect() throws is a bug: say so, serve the last render
      refresh: () =>
        this.registry
          .refresh(liveMaxAgeMs)
          .catch((err: unknown) => this.log(`podwire: /metrics refresh failed: ${String(err)}`)),
    });
    this.options.routes?.(app);
    this.server = await startMetricsServer(app, {
      host: this.options.host,
      port: this.options.port,
      websocket: this.options.websocket,
    });
    this.nextSlot = Math.ceil(Date.now() / this.intervalMs) * this.intervalMs;
    this.schedule();
    return { url: this.server.url };
  }

  /** Collections on interval boundaries; a boundary passed while collecting is an overrun. */
  private schedule(): void {
    if (this.stopped) return;
    const now = Date.now();
    while (this.nextSlot <= now) {
      this.nextSlot += this.intervalMs;
      if (this.nextSlot <= now) this.registry.noteOverrun();
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.collectOnce().finally(() => this.schedule());
    }, this.nextSlot - now);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running;
    const s = this.server;
    this.server = null;
    if (s) await s.close();
  }
}
