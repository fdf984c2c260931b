/**
 * The exporter's prom-client registry, fed from the NIC collector state joined to the
 * endpoint inventory.
 *
 * Speed: prom-client's formatter builds every series' label string on every render (about
 * 22–40 ms for 10k series here). The NIC families (metrics.ts NIC_METRICS) are therefore
 * registered as `RenderedFamily` objects that podwire renders itself once per collection:
 * each device's label string is built once and reused until its configuration or pod
 * binding changes, so a render is one concatenation per series. `PodwireRegistry`
 * returns those blocks as they are and formats everything else (the self-metrics, and any
 * prom-client metric another part of podwire registers) the usual way. The complete
 * exposition is rendered once per collection and kept as a Buffer: a scrape is a copy of
 * it (or of its gzip, compressed once per collection in the thread pool on first demand).
 */
import { gzip } from 'node:zlib';
import { Counter, Gauge, type Metric, Registry } from 'prom-client';
import type { Endpoint, EndpointIndex } from '../collector/attribution/endpoint-index.js';
import type { NetdevSample, QdiscSample, VfSample } from '../collector/nic/types.js';
import { EventLoopMonitor } from './event-loop.js';
import { EndpointJoin } from './join.js';
import {
  COLLECTOR_METRICS,
  ENDPOINT_INFO,
  type MetricDef,
  NETDEV_COUNTERS,
  NIC_METRICS,
  PROCESS_METRICS,
  QDISC_COUNTERS,
  QDISC_GAUGES,
  VF_COUNTERS,
  VF_INFO,
  VF_TIER_MAX,
  VF_TIER_MIN,
} from './metrics.js';
import type { NetdevState, NicState, QdiscState, VfState } from './nic-state.js';

const escapeLabel = (s: string): string =>
  /[\\"\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : s;
const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function fmt(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

/**
 * A growable byte buffer the NIC families are written into, reused from render to render;
 * numbers are written as ASCII digits directly (no string per value).
 */
export class ByteWriter {
  buf: Buffer;
  pos = 0;
  private readonly digits = new Uint8Array(24);

  constructor(size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  text(t: string): void {
    const n = Buffer.byteLength(t, 'utf8');
    this.ensure(n);
    this.pos += this.buf.write(t, this.pos, 'utf8');
  }

  /** a value and a newline */
  value(v: number): void {
    this.ensure(32);
    const buf = this.buf;
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) {
      if (v === 0) buf[this.pos++] = 48;
      else {
        const d = this.digits;
        let n = 0;
        let x = v;
        while (x >= 2147483648) {
          const q = Math.floor(x / 10);
          d[n++] = x - q * 10;
          x = q;
        }
        let y = x | 0;
        while (y > 0) {
          const q = (y / 10) | 0;
          d[n++] = y - q * 10;
          y = q;
        }
        while (n > 0) buf[this.pos++] = 48 + d[--n];
      }
    } else {
      this.pos += buf.write(fmt(v), this.pos, 'latin1');
    }
    buf[this.pos++] = 10;
  }
}

/** A rendered label set: `{a="x",b="y"} ` as bytes, and its values (for prom-client's get()). */
interface LabelSet {
  readonly bytes: Buffer;
  readonly values: readonly string[];
}

function labelSet(names: readonly string[], values: readonly string[]): LabelSet {
  let text = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) text += ',';
    text += `${names[i]}="${escapeLabel(values[i])}"`;
  }
  return { bytes: Buffer.from(`${text}} `, 'utf8'), values };
}

/**
 * A family podwire renders itself. Registered in the prom-client registry like a metric;
 * `get()` answers prom-client's JSON and single-metric APIs from the last render.
 */
export class RenderedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';
  private readonly header: Buffer;
  private readonly nameBytes: Buffer;
  private readonly sets: LabelSet[] = [];
  private readonly values: number[] = [];
  /** where the last render wrote this family (HELP to the last newline) */
  private out: Buffer;
  private start = 0;
  private end = 0;

  constructor(readonly def: MetricDef) {
    this.name = def.name;
    this.help = def.help;
    this.type = def.type;
    this.labelNames = def.labels;
    this.header = Buffer.from(`# HELP ${def.name} ${escapeHelp(def.help)}\n# TYPE ${def.name} ${def.type}\n`);
    this.nameBytes = Buffer.from(def.name);
    this.out = this.header;
    this.end = this.header.length;
  }

  begin(): void {
    this.sets.length = 0;
    this.values.length = 0;
  }

  add(set: LabelSet, value: number): void {
    this.sets.push(set);
    this.values.push(value);
  }

  get size(): number {
    return this.values.length;
  }

  /** Writes HELP, TYPE and every series (each line ends with a newline). */
  write(w: ByteWriter): void {
    this.start = w.pos;
    w.bytes(this.header);
    const sets = this.sets;
    const values = this.values;
    const name = this.nameBytes;
    for (let i = 0; i < values.length; i++) {
      w.bytes(name);
      w.bytes(sets[i].bytes);
      w.value(values[i]);
    }
    this.out = w.buf;
    this.end = w.pos;
  }

  /** the last render's block, newline-terminated (valid until the next render) */
  bytes(): Buffer {
    return this.out.subarray(this.start, this.end);
  }

  /** the last render's block without its final newline (prom-client's convention) */
  text(): string {
    return this.out.toString('utf8', this.start, this.end - 1);
  }

  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string>; value: number }[];
  } {
    const values = this.values.map((value, i) => {
      const labels: Record<string, string> = {};
      const vs = this.sets[i].values;
      for (let j = 0; j < this.labelNames.length; j++) labels[this.labelNames[j]] = vs[j];
      return { labels, value };
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

type AsString = { getMetricsAsString(metric: unknown): Promise<string> };
const promFormat = (Registry.prototype as unknown as AsString).getMetricsAsString;
if (typeof promFormat !== 'function') {
  throw new Error('podwire: this prom-client has no Registry.getMetricsAsString (expected prom-client 15)');
}

/**
 * A prom-client Registry that emits RenderedFamily blocks as rendered. `metrics()` works
 * as usual; `exposition()` is the fast path: the rendered bytes as they are, the other
 * metrics formatted by prom-client, one Buffer.
 */
export class PodwireRegistry extends Registry {
  getMetricsAsString(metric: unknown): Promise<string> {
    if (metric instanceof RenderedFamily) return Promise.resolve(metric.text());
    return promFormat.call(this, metric);
  }

  async exposition(): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for (const m of this.getMetricsAsArray() as unknown[]) {
      if (m instanceof RenderedFamily) parts.push(m.bytes());
      else parts.push(Buffer.from(`${await promFormat.call(this, m)}\n`, 'utf8'));
    }
    return Buffer.concat(parts);
  }
}

interface VfCache {
  seen: number;
  version: number;
  ep: Endpoint | null;
  mac: string;
  vlan: number;
  qos: number;
  pci: string | null;
  spoof: boolean | null;
  trust: boolean | null;
  link: string | null;
  labels: LabelSet;
  info: LabelSet;
}

interface NetdevCache {
  seen: number;
  version: number;
  /** the sample's endpointMac the join used */
  mac: string | null | undefined;
  ep: Endpoint | null;
  labels: LabelSet;
}

interface QdiscCache {
  seen: number;
  kind: string;
  handle: string;
  parent: string;
  level: string;
  ep: Endpoint | null;
  labels: LabelSet;
}

const str = (v: boolean | number | string | null | undefined): string =>
  v === null || v === undefined ? '' : String(v);

function sub<K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let m = map.get(key);
  if (m === undefined) {
    m = new Map();
    map.set(key, m);
  }
  return m;
}

/** Deletes entries not seen in `round` from two-level maps (values or arrays of values). */
function evict(map: Map<string, Map<unknown, { seen: number } | { seen: number }[]>>, round: number): void {
  for (const [k, inner] of map) {
    for (const [k2, v] of inner) {
      if (Array.isArray(v)) {
        const kept = v.filter((e) => e.seen === round);
        if (kept.length === 0) inner.delete(k2);
        else if (kept.length !== v.length) inner.set(k2, kept);
      } else if (v.seen !== round) inner.delete(k2);
    }
    if (inner.size === 0) map.delete(k);
  }
}

/** A rendered exposition and the writer holding it. */
interface Slot {
  readonly writer: ByteWriter;
  /** scrapes (and gzip jobs) still sending this slot's bytes */
  users: number;
  /** where the NIC families end (the other metrics follow) */
  nicEnd: number;
}

/** The exposition of a render, held until released (its bytes are not reused meanwhile). */
export interface Lease {
  readonly body: Buffer;
  release(): void;
}

export interface ExporterRegistryOptions {
  /** the endpoint inventory to join devices to pods (or a getter: live sources swap it) */
  index?: EndpointIndex | (() => EndpointIndex | null) | null;
  /** nodes whose endpoints podwire_endpoint_info lists besides those seen in the NIC state */
  nodes?: readonly string[];
  /** process_* metrics (default true; refreshed at most every 5 s) */
  processMetrics?: boolean;
}

const PROCESS_REFRESH_MS = 5000;

/** The event-loop lag gauges, read from the monitor whenever the registry renders. */
function registerEventLoopLag(registers: Registry[], monitor: EventLoopMonitor): void {
  const { eventLoopLagP99: p99, eventLoopLagMax: max } = PROCESS_METRICS;
  new Gauge({
    name: p99.name,
    help: p99.help,
    registers,
    collect() {
      this.set(monitor.read().p99Seconds);
    },
  });
  new Gauge({
    name: max.name,
    help: max.help,
    registers,
    collect() {
      this.set(monitor.read().maxSeconds);
    },
  });
}

export class ExporterRegistry {
  readonly prom = new PodwireRegistry();
  readonly contentType: string = Registry.PROMETHEUS_CONTENT_TYPE;
  /** bumped by every render */
  version = 0;
  /** ms since the epoch of the state last rendered (0: none yet) */
  renderedAt = 0;
  /** series rendered from the NIC state last time */
  series = 0;
  private current: Slot | null = null;
  private readonly slots: Slot[] = [];
  private gz: { version: number; body: Promise<Buffer> } | null = null;
  /** the last render version a client asked gzipped */
  private gzRequested = -1;
  /** wall clock (ms) of the last render or refresh */
  private renderedWallMs = 0;
  private rendering: Promise<void> = Promise.resolve();
  private refreshing: Promise<void> | null = null;
  private readonly join: EndpointJoin;
  private readonly families = new Map<string, RenderedFamily>();
  private readonly nicFamilies: RenderedFamily[];
  private readonly fam: {
    vfCounters: RenderedFamily[];
    tierMin: RenderedFamily;
    tierMax: RenderedFamily;
    vfInfo: RenderedFamily;
    ndCounters: RenderedFamily[];
    qdCounters: RenderedFamily[];
    qdBacklogBytes: RenderedFamily;
    qdBacklogPackets: RenderedFamily;
    epInfo: RenderedFamily;
  };
  private readonly vfCache = new Map<string, Map<string, Map<number, VfCache>>>();
  private readonly netdevCache = new Map<string, Map<string, NetdevCache>>();
  private readonly qdiscCache = new Map<string, Map<string, QdiscCache[]>>();
  private readonly endpointCache = new WeakMap<Endpoint, LabelSet>();
  private endpointsOn: { version: number; nodes: string; list: Endpoint[] } | null = null;
  private readonly extraNodes: readonly string[];
  private round = 0;

  private readonly c: {
    scrapeDuration: Gauge;
    scrapeSuccess: Gauge;
    scrapeErrors: Counter;
    lastSuccess: Gauge;
    anomalies: Counter;
    unattributed: Gauge;
    collectionDuration: Gauge;
    collections: Counter;
    overruns: Counter;
    series: Gauge;
  };
  /** last totals pushed into prom-client counters (they only increase by deltas) */
  private readonly pushed = new Map<string, number>();
  private readonly processMetrics: { cpu: Counter; rss: Gauge; start: Gauge } | null;
  private lastCpuSeconds = 0;
  private lastProcessMs = 0;

  constructor(options: ExporterRegistryOptions = {}) {
    const idx = options.index;
    this.join = new EndpointJoin(typeof idx === 'function' ? idx : () => idx ?? null);
    this.extraNodes = options.nodes ?? [];
    for (const def of NIC_METRICS) {
      const f = new RenderedFamily(def);
      this.families.set(def.name, f);
      this.prom.registerMetric(f as unknown as Metric);
    }
    this.nicFamilies = NIC_METRICS.map((d) => this.family(d.name));
    this.fam = {
      vfCounters: VF_COUNTERS.map((d) => this.family(d.name)),
      tierMin: this.family(VF_TIER_MIN.name),
      tierMax: this.family(VF_TIER_MAX.name),
      vfInfo: this.family(VF_INFO.name),
      ndCounters: NETDEV_COUNTERS.map((d) => this.family(d.name)),
      qdCounters: QDISC_COUNTERS.map((d) => this.family(d.name)),
      qdBacklogBytes: this.family(QDISC_GAUGES[0].name),
      qdBacklogPackets: this.family(QDISC_GAUGES[1].name),
      epInfo: this.family(ENDPOINT_INFO.name),
    };
    const reg = [this.prom];
    const gauge = (d: MetricDef) =>
      new Gauge({ name: d.name, help: d.help, labelNames: d.labels, registers: reg });
    const counter = (d: MetricDef) =>
      new Counter({ name: d.name, help: d.help, labelNames: d.labels, registers: reg });
    const m = COLLECTOR_METRICS;
    this.c = {
      scrapeDuration: gauge(m.scrapeDuration),
      scrapeSuccess: gauge(m.scrapeSuccess),
      scrapeErrors: counter(m.scrapeErrors),
      lastSuccess: gauge(m.lastSuccess),
      anomalies: counter(m.anomalies),
      unattributed: gauge(m.unattributed),
      collectionDuration: gauge(m.collectionDuration),
      collections: counter(m.collections),
      overruns: counter(m.overruns),
      series: gauge(m.series),
    };
    for (const e of ['reset', 'wrap', 'jump', 'invalid']) this.c.anomalies.labels(e).inc(0);
    this.c.collections.inc(0);
    this.c.overruns.inc(0);
    if (options.processMetrics ?? true) {
      const p = PROCESS_METRICS;
      this.processMetrics = { cpu: counter(p.cpu), rss: gauge(p.rss), start: gauge(p.start) };
      this.processMetrics.start.set(Math.round(Date.now() / 1000 - process.uptime()));
      registerEventLoopLag(reg, new EventLoopMonitor());
    } else {
      this.processMetrics = null;
    }
  }

  family(name: string): RenderedFamily {
    const f = this.families.get(name);
    if (f === undefined) throw new Error(`no rendered family ${name}`);
    return f;
  }

  /** The exposition of the last render (empty before the first). */
  get body(): Buffer {
    const c = this.current;
    return c === null ? Buffer.alloc(0) : c.writer.buf.subarray(0, c.writer.pos);
  }

  /**
   * The last render, kept intact until `release()` (call it once the response is sent;
   * renders meanwhile go to another buffer). Scrapes take one instead of copying.
   */
  acquire(): Lease {
    const slot = this.current;
    if (slot === null) return { body: Buffer.alloc(0), release: () => {} };
    slot.users++;
    let released = false;
    return {
      body: slot.writer.buf.subarray(0, slot.writer.pos),
      release: () => {
        if (!released) {
          released = true;
          slot.users--;
        }
      },
    };
  }

  /** The last completed collection took this long (read, counter math, render). */
  noteCollection(seconds: number): void {
    this.c.collectionDuration.set(seconds);
    this.c.collections.inc();
  }

  noteOverrun(): void {
    this.c.overruns.inc();
  }

  private pushCounter(c: Counter, key: string, labels: string[], total: number): void {
    const prev = this.pushed.get(key);
    if (prev === undefined) {
      if (labels.length) c.labels(...labels).inc(total);
      else c.inc(total);
      this.pushed.set(key, total);
    } else if (total > prev) {
      if (labels.length) c.labels(...labels).inc(total - prev);
      else c.inc(total - prev);
      this.pushed.set(key, total);
    }
  }

  /** A writer no scrape is reading: the next render goes there. */
  private freeSlot(): Slot {
    for (const s of this.slots) if (s !== this.current && s.users === 0) return s;
    const slot: Slot = {
      writer: new ByteWriter(this.current ? this.current.writer.buf.length : 1 << 20),
      users: 0,
      nicEnd: 0,
    };
    this.slots.push(slot);
    // a slow client held one: keep at most 3 writers around
    if (this.slots.length > 3) {
      const i = this.slots.findIndex((s) => s !== this.current && s !== slot && s.users === 0);
      if (i >= 0) this.slots.splice(i, 1);
    }
    return slot;
  }

  /** Renders `state` (and the self-metrics) into the cached exposition. */
  update(state: NicState): Promise<void> {
    return this.serially(() => this.render(state));
  }

  /**
   * Re-reads the metrics other parts registered (their prom-client collect() runs now: the
   * sFlow intake's, the writers', the endpoint lifecycle's) when the last render is older
   * than `maxAgeMs`, keeping the NIC families as the last collection rendered them. The
   * server calls it at scrape time, so those metrics are at most `maxAgeMs` old while the
   * NIC ones follow the collection interval. Concurrent calls share one refresh.
   */
  refresh(maxAgeMs: number): Promise<void> {
    if (this.refreshing !== null) return this.refreshing;
    if (this.current === null || Date.now() - this.renderedWallMs < maxAgeMs) return Promise.resolve();
    this.refreshing = this.serially(async () => {
      const from = this.current!;
      const slot = this.freeSlot();
      const w = slot.writer;
      w.reset();
      w.bytes(from.writer.buf.subarray(0, from.nicEnd));
      slot.nicEnd = w.pos;
      await this.renderOthers(w);
      this.publish(slot);
    }).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Renders never interleave: each writes a free slot and publishes it. */
  private serially(render: () => Promise<void>): Promise<void> {
    const run = this.rendering.then(render);
    this.rendering = run.catch(() => {});
    return run;
  }

  /** every family that is not a NIC family, formatted by prom-client, in order */
  private async renderOthers(w: ByteWriter): Promise<void> {
    for (const m of this.prom.getMetricsAsArray() as unknown[]) {
      if (m instanceof RenderedFamily) continue;
      w.text(`${await promFormat.call(this.prom, m)}\n`);
    }
  }

  /** Makes `slot` the exposition scrapes get. */
  private publish(slot: Slot): void {
    // a client took the gzip of the previous render (Prometheus does, each scrape): compress
    // this one now, in the thread pool, so its scrape does not wait for it
    const gzipWanted = this.gzRequested === this.version && this.version > 0;
    this.current = slot;
    this.version++;
    this.renderedWallMs = Date.now();
    if (gzipWanted) this.compress().catch(() => {});
  }

  private async render(state: NicState): Promise<void> {
    for (const h of state.sources) {
      this.c.scrapeDuration.labels(h.source).set(h.durationSeconds);
      this.c.scrapeSuccess.labels(h.source).set(h.ok ? 1 : 0);
      this.c.lastSuccess.labels(h.source).set(h.lastSuccessMs === null ? 0 : h.lastSuccessMs / 1000);
      this.pushCounter(this.c.scrapeErrors, `errors\0${h.source}`, [h.source], h.errorsTotal);
    }
    const ev = state.counterEvents;
    this.pushCounter(this.c.anomalies, 'ev\0reset', ['reset'], ev.reset);
    this.pushCounter(this.c.anomalies, 'ev\0wrap', ['wrap'], ev.wrap);
    this.pushCounter(this.c.anomalies, 'ev\0jump', ['jump'], ev.jump);
    this.pushCounter(this.c.anomalies, 'ev\0invalid', ['invalid'], ev.invalid);
    const now = Date.now();
    if (this.processMetrics && now - this.lastProcessMs >= PROCESS_REFRESH_MS) {
      this.lastProcessMs = now;
      const u = process.cpuUsage();
      const cpu = (u.user + u.system) / 1e6;
      if (cpu > this.lastCpuSeconds) this.processMetrics.cpu.inc(cpu - this.lastCpuSeconds);
      this.lastCpuSeconds = cpu;
      this.processMetrics.rss.set(process.memoryUsage.rss());
    }

    const slot = this.freeSlot();
    const w = slot.writer;
    w.reset();
    this.renderNic(state, w);
    slot.nicEnd = w.pos;
    this.c.series.set(this.series);
    // everything else in the registry (self-metrics, others' prom-client metrics), in order
    await this.renderOthers(w);
    this.renderedAt = state.at;
    this.publish(slot);
  }

  /**
   * The exposition, gzip-compressed: once per render, in the thread pool; right after the
   * render when the previous one was asked for gzipped, else on the first request.
   */
  gzipped(): Promise<Buffer> {
    this.gzRequested = this.version;
    return this.compress();
  }

  private compress(): Promise<Buffer> {
    if (this.gz === null || this.gz.version !== this.version) {
      const lease = this.acquire();
      this.gz = {
        version: this.version,
        body: new Promise<Buffer>((resolve, reject) =>
          gzip(lease.body, { level: 1 }, (err, out) => (err ? reject(err) : resolve(out))),
        ).finally(() => lease.release()),
      };
    }
    return this.gz.body;
  }

  /**
   * Collects every series of the NIC families, then writes them. One small function per
   * kind of device, so the JIT compiles (and, on a new object shape, recompiles) each alone.
   */
  private renderNic(state: NicState, w: ByteWriter): void {
    const round = ++this.round;
    const at = state.at;
    this.join.refresh(at);
    const version = this.join.version;
    for (const f of this.nicFamilies) f.begin();
    const nodes = new Set<string>(this.extraNodes);
    const unattributedVfs = this.addVfs(state.vfs, nodes, at, version, round);
    const unattributedNetdevs = this.addNetdevs(state.netdevs, nodes, at, version, round);
    this.addQdiscs(state.qdiscs, nodes, at, round);
    this.addEndpoints(nodes, at, version);
    let series = 0;
    for (const f of this.nicFamilies) {
      series += f.size;
      f.write(w);
    }
    this.series = series;
    this.c.unattributed.labels('vf').set(unattributedVfs);
    this.c.unattributed.labels('netdev').set(unattributedNetdevs);
    if (round % 32 === 0) {
      for (const [node, byPf] of this.vfCache) {
        evict(byPf as unknown as Map<string, Map<unknown, { seen: number }>>, round);
        if (byPf.size === 0) this.vfCache.delete(node);
      }
      evict(this.netdevCache as unknown as Map<string, Map<unknown, { seen: number }>>, round);
      evict(this.qdiscCache as unknown as Map<string, Map<unknown, { seen: number }[]>>, round);
    }
  }

  /** returns how many VFs no endpoint is bound to */
  private addVfs(
    vfs: readonly VfState[],
    nodes: Set<string>,
    at: number,
    version: number,
    round: number,
  ): number {
    const { vfCounters, tierMin, tierMax, vfInfo } = this.fam;
    let unattributed = 0;
    for (const v of vfs) {
      const s = v.sample;
      nodes.add(s.node);
      const c = this.vfLabels(s, at, version, round);
      if (c.ep === null) unattributed++;
      const totals = v.totals;
      for (let i = 0; i < vfCounters.length; i++) {
        const t = totals[i];
        if (t !== null) vfCounters[i].add(c.labels, t);
      }
      tierMin.add(c.labels, s.minTxRate / 8);
      if (s.maxTxRate > 0) tierMax.add(c.labels, s.maxTxRate / 8);
      vfInfo.add(c.info, 1);
    }
    return unattributed;
  }

  /** returns how many netdevs no endpoint is bound to */
  private addNetdevs(
    netdevs: readonly NetdevState[],
    nodes: Set<string>,
    at: number,
    version: number,
    round: number,
  ): number {
    const counters = this.fam.ndCounters;
    let unattributed = 0;
    for (const n of netdevs) {
      nodes.add(n.sample.node);
      const c = this.netdevLabels(n.sample, at, version, round);
      if (c.ep === null) unattributed++;
      const totals = n.totals;
      for (let i = 0; i < counters.length; i++) {
        const t = totals[i];
        if (t !== null) counters[i].add(c.labels, t);
      }
    }
    return unattributed;
  }

  private addQdiscs(qdiscs: readonly QdiscState[], nodes: Set<string>, at: number, round: number): void {
    const { qdCounters, qdBacklogBytes, qdBacklogPackets } = this.fam;
    for (const q of qdiscs) {
      const s = q.sample;
      nodes.add(s.node);
      const c = this.qdiscLabels(s, at, round);
      const totals = q.totals;
      for (let i = 0; i < qdCounters.length; i++) {
        const t = totals[i];
        if (t !== null) qdCounters[i].add(c.labels, t);
      }
      qdBacklogBytes.add(c.labels, s.backlogBytes);
      qdBacklogPackets.add(c.labels, s.backlogPackets);
    }
  }

  private addEndpoints(nodes: Set<string>, at: number, version: number): void {
    const info = this.fam.epInfo;
    for (const ep of this.endpointsOnNodes(nodes, at, version)) {
      let set = this.endpointCache.get(ep);
      if (set === undefined) {
        set = labelSet(ENDPOINT_INFO.labels, [
          ep.node,
          ep.namespace,
          ep.pod,
          ep.interface,
          ep.network,
          ep.mode,
          ep.mode === 'l2' ? String(ep.vlan) : '',
          ep.vni >= 0 ? String(ep.vni) : '',
          ep.mac,
          ep.tier,
          ep.vf ? ep.vf.pf : '',
          ep.vf ? String(ep.vf.index) : '',
          String(ep.static),
        ]);
        this.endpointCache.set(ep, set);
      }
      info.add(set, 1);
    }
  }

  private endpointsOnNodes(nodes: Set<string>, at: number, version: number): Endpoint[] {
    const key = nodes.size === 1 ? nodes.values().next().value! : [...nodes].sort().join('\0');
    const c = this.endpointsOn;
    if (c !== null && c.version === version && c.nodes === key) return c.list;
    const list = [...this.join.endpointsOn(nodes, at)];
    this.endpointsOn = { version, nodes: key, list };
    return list;
  }

  private vfLabels(s: VfSample, at: number, version: number, round: number): VfCache {
    const byVf = sub(sub(this.vfCache, s.node), s.pf);
    let c = byVf.get(s.vf);
    if (
      c === undefined ||
      c.version !== version ||
      c.mac !== s.mac ||
      c.vlan !== s.vlan ||
      c.qos !== s.qos ||
      c.pci !== s.pciAddress ||
      c.spoof !== s.spoofCheck ||
      c.trust !== s.trust ||
      c.link !== s.linkState
    ) {
      const ep = this.join.vf(s.node, s.pf, s.vf, at);
      const base = [
        s.node,
        s.pf,
        String(s.vf),
        ep ? ep.namespace : '',
        ep ? ep.pod : '',
        ep ? ep.interface : '',
        ep ? ep.network : '',
        String(s.vlan),
        ep ? ep.tier : '',
      ];
      c = {
        seen: round,
        version,
        ep,
        mac: s.mac,
        vlan: s.vlan,
        qos: s.qos,
        pci: s.pciAddress,
        spoof: s.spoofCheck,
        trust: s.trust,
        link: s.linkState,
        labels: labelSet(VF_COUNTERS[0].labels, base),
        info: labelSet(VF_INFO.labels, [
          ...base,
          s.mac.toLowerCase(),
          String(s.qos),
          str(s.pciAddress),
          str(s.spoofCheck),
          str(s.trust),
          str(s.linkState),
        ]),
      };
      byVf.set(s.vf, c);
    }
    c.seen = round;
    return c;
  }

  private netdevLabels(n: NetdevSample, at: number, version: number, round: number): NetdevCache {
    const byIf = sub(this.netdevCache, n.node);
    let c = byIf.get(n.interface);
    if (c === undefined || c.version !== version || c.mac !== n.endpointMac) {
      const ep = this.join.device(n.node, n.interface, n.endpointMac, at);
      if (c === undefined || c.ep !== ep) {
        c = {
          seen: round,
          version,
          mac: n.endpointMac,
          ep,
          labels: labelSet(NETDEV_COUNTERS[0].labels, [
            n.node,
            n.interface,
            ep ? ep.namespace : '',
            ep ? ep.pod : '',
            ep ? ep.interface : '',
            ep ? ep.network : '',
            ep ? ep.tier : '',
          ]),
        };
        byIf.set(n.interface, c);
      } else {
        c.version = version;
        c.mac = n.endpointMac;
      }
    }
    c.seen = round;
    return c;
  }

  private qdiscLabels(q: QdiscSample, at: number, round: number): QdiscCache {
    // the pod behind the qdisc's device: by the inventory's hostInterface or the device's
    // veth peer, else as its netdev was joined this round
    const nd = this.netdevCache.get(q.node)?.get(q.interface);
    const ep =
      this.join.device(q.node, q.interface, q.endpointMac, at) ??
      (nd !== undefined && nd.seen === round ? nd.ep : null);
    const byIf = sub(this.qdiscCache, q.node);
    let list = byIf.get(q.interface);
    if (list === undefined) {
      list = [];
      byIf.set(q.interface, list);
    }
    let c: QdiscCache | undefined;
    for (const e of list) {
      if (e.handle === q.handle && e.parent === q.parent && e.kind === q.kind && e.level === q.level) {
        c = e;
        break;
      }
    }
    if (c === undefined || c.ep !== ep) {
      const fresh: QdiscCache = {
        seen: round,
        kind: q.kind,
        handle: q.handle,
        parent: q.parent,
        level: q.level,
        ep,
        labels: labelSet(QDISC_COUNTERS[0].labels, [
          q.node,
          q.interface,
          q.kind,
          q.handle,
          q.parent,
          ep ? ep.namespace : '',
          ep ? ep.pod : '',
        ]),
      };
      if (c === undefined) list.push(fresh);
      else list[list.indexOf(c)] = fresh;
      c = fresh;
    }
    c.seen = round;
    return c;
  }
}
