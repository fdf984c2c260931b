/**
 * The NIC collector: runs the enabled sources (iproute2, sysfs, netdev, tc, demo…) on an
 * interval or on demand, turns their cumulative counters into deltas, rates and monotonic
 * totals (counters.ts, each counter at the width its source declares: only 32-bit ones
 * wrap), merges what several sources say about the same thing, and keeps the
 * latest state plus each source's health for the exporter.
 *
 * ## API (what the exporter reads)
 *
 *   const c = new NicCollector({ sources: [createIproute2Source(…), createTcSource(…)], intervalMs: 15_000 });
 *   c.start();                         // collect now, then every intervalMs (timer unref'd)
 *   const s: NicState = c.state;       // latest state, replaced after each round; never throws
 *   await c.collect();                 // one round now (concurrent calls share one round)
 *   await c.stop();                    // stop the timer, wait for a running round
 *
 * NicState:
 * - `vfs: TrackedVf[]` — one per (node, pf, vf). `sample` holds the merged settings (MAC,
 *   VLAN, rates in bit/s, PCI address…) and the raw cumulative counters shown;
 *   `counters[name]` (VF_COUNTERS: rxBytes … txDropped, qosDropped) is a snapshot of a
 *   CounterSeries: `total` (monotonic, never decreases across device resets or wraps:
 *   export it as the Prometheus counter), `delta`, `rate` (per second), `value` (the
 *   device's raw reading), `resets`, `wraps`. Counters no source reports are absent.
 *   `measured[name]`: its source read it in this round (else `delta` is an older round's).
 * - times (`at`, `lastSeen`, `lastSuccessAt`) are ms on a monotonic clock aligned with
 *   the epoch (performance.timeOrigin + performance.now()), unless `clock` is given.
 * - `qdiscs: TrackedQdisc[]` — one per (node, interface, level, handle, parent);
 *   `counters.{bytes,packets,drops,overlimits,requeues}`; backlog is in `sample` (gauges).
 * - `netdevs: TrackedNetdev[]` — one per (node, interface); `counters.{rxBytes,…,txErrors}`.
 * - every tracked thing has `source` (the source its sample comes from), `lastSeen` (ms)
 *   and `stale` (not seen for staleAfterMs, e.g. its source is failing, or it vanished);
 *   it is removed after removeAfterMs.
 * - `sources: SourceHealth[]` — per source: `status` (never|ok|partial|failed), `lastError`,
 *   `errors` (failed or partial reads, a counter), `reads`, `lastSuccessAt`,
 *   `lastDurationMs` (scrape duration), `samples`.
 * - `counters`: tracker totals (resets, wraps, jumps, invalid, removed series).
 *
 * Merging: sources are given in priority order. When several report the same VF, the
 * first non-stale one gives the settings (blanks filled from the others: MAC, PCI address,
 * spoofcheck, trust, link state) and each counter comes from the first source that has it
 * (`counterSources[name]` says which); totals are per source, so a counter keeps its source
 * while that source works. Qdiscs and netdevs come whole from the first source.
 *
 * Failures: a source that rejects, times out or reports `errors` is logged once per change
 * of its message (and once when it recovers), counted in `errors`, and the others go on;
 * its things keep their last values until they turn stale.
 */
import {
  type CounterSeries,
  CounterTracker,
  type CounterTrackerStats,
  type CounterWidth,
  copySeries,
} from './counters.js';
import { errorMessage } from './exec.js';
import {
  type CounterWidths,
  NETDEV_COUNTERS,
  type NetdevSample,
  type NicReading,
  type NicSource,
  QDISC_COUNTERS,
  type QdiscSample,
  VF_COUNTERS,
  type VfSample,
} from './types.js';

export type NicLogLevel = 'info' | 'warn' | 'error';
export type NicLog = (level: NicLogLevel, message: string) => void;

export const stderrNicLog: NicLog = (level, message) => {
  process.stderr.write(`podwire nic ${level}: ${message}\n`);
};

export interface NicCollectorOptions {
  /** in priority order */
  sources: NicSource[];
  /** default 15 s */
  intervalMs?: number;
  /** default 3 × intervalMs */
  staleAfterMs?: number;
  /** default 10 × intervalMs */
  removeAfterMs?: number;
  /** a source read taking longer fails (default min(intervalMs, 30 s)) */
  readTimeoutMs?: number;
  /** absurd-jump limit for byte counters, bytes/s (default 2e11: 1.6 Tbit/s) */
  maxByteRate?: number;
  /** absurd-jump limit for packet, drop and error counters, per second (default 5e9) */
  maxPacketRate?: number;
  log?: NicLog;
  /** ms; default a monotonic clock aligned with the epoch */
  clock?: () => number;
}

export { NETDEV_COUNTERS, QDISC_COUNTERS, VF_COUNTERS };

export type VfCounterName = (typeof VF_COUNTERS)[number];
export type QdiscCounterName = (typeof QDISC_COUNTERS)[number];
export type NetdevCounterName = (typeof NETDEV_COUNTERS)[number];

interface Tracked<S, C extends string> {
  /** identity without the source, e.g. `node|pf|vf` */
  key: string;
  source: string;
  sample: S;
  counters: Partial<Record<C, Readonly<CounterSeries>>>;
  lastSeen: number;
  stale: boolean;
}

export interface TrackedVf extends Tracked<VfSample, VfCounterName> {
  /** the source each counter comes from */
  counterSources: Partial<Record<VfCounterName, string>>;
  /**
   * true for each counter whose source read it in this state's round: its `delta` is this
   * round's increase. A counter whose source failed keeps its last delta until it turns
   * stale; a consumer writing deltas (vf_counters) writes only measured ones, once.
   */
  measured: Partial<Record<VfCounterName, boolean>>;
  /** every source reporting this VF */
  sources: string[];
}
export type TrackedQdisc = Tracked<QdiscSample, QdiscCounterName>;
export type TrackedNetdev = Tracked<NetdevSample, NetdevCounterName>;

export type SourceStatus = 'never' | 'ok' | 'partial' | 'failed';

export interface SourceHealth {
  name: string;
  status: SourceStatus;
  /** the last failed or partial read's message; null after a clean read */
  lastError: string | null;
  /** failed or partial reads since start */
  errors: number;
  reads: number;
  lastAttemptAt: number | null;
  /** last read that returned data (ok or partial) */
  lastSuccessAt: number | null;
  lastDurationMs: number | null;
  /** samples in the last read that returned data */
  samples: number;
}

export interface NicState {
  /** when the last round ended (ms), null before the first */
  at: number | null;
  collections: number;
  vfs: TrackedVf[];
  qdiscs: TrackedQdisc[];
  netdevs: TrackedNetdev[];
  sources: SourceHealth[];
  counters: Readonly<CounterTrackerStats>;
}

/** A thing's sample and its counters' monotonic totals, in its kind's counter order. */
export interface ThingTotals<S> {
  readonly sample: S;
  /** null: no source reports that counter */
  readonly totals: readonly (number | null)[];
}

/** What `totals()` gives: the current, non-stale things of the last round. */
export interface NicTotals {
  /** when the last round ended (ms), null before the first */
  at: number | null;
  vfs: ThingTotals<VfSample>[];
  qdiscs: ThingTotals<QdiscSample>[];
  netdevs: ThingTotals<NetdevSample>[];
  sources: SourceHealth[];
  counters: Readonly<CounterTrackerStats>;
}

/** One source's view of one thing. */
interface Entry<S> {
  key: string;
  source: string;
  priority: number;
  sample: S;
  seriesKeys: string[];
  series: (CounterSeries | undefined)[];
  /** each counter's width, as the source declares it */
  widths: CounterWidth[];
  lastSeen: number;
  /** the round (collection number) of its last reading */
  round: number;
}

interface Kind<S> {
  /** which of a source's counterWidths declarations applies */
  name: keyof CounterWidths;
  counters: readonly string[];
  identity(s: S): string;
  /**
   * Writes the sample's counters (in `counters` order, NaN when absent) into `out`: one
   * function per kind, so its property loads stay monomorphic — a generic
   * `sample[name]` loop was a megamorphic keyed load per counter, several ms a round.
   */
  values(s: S, out: Float64Array): void;
  maxRate: number[];
}

/** null/undefined (not reported) → NaN */
const num = (v: number | null | undefined): number => (v === null || v === undefined ? Number.NaN : v);

const defaultClock = () => performance.timeOrigin + performance.now();

export class NicCollector {
  readonly intervalMs: number;
  readonly staleAfterMs: number;
  readonly removeAfterMs: number;
  readonly readTimeoutMs: number;
  private readonly sources: NicSource[];
  private readonly health: SourceHealth[];
  private readonly tracker: CounterTracker;
  private readonly log: NicLog;
  private readonly clock: () => number;
  private readonly vfEntries = new Map<string, Entry<VfSample>>();
  private readonly qdiscEntries = new Map<string, Entry<QdiscSample>>();
  private readonly netdevEntries = new Map<string, Entry<NetdevSample>>();
  private readonly vfKind: Kind<VfSample>;
  private readonly qdiscKind: Kind<QdiscSample>;
  private readonly netdevKind: Kind<NetdevSample>;
  /** scratch for Kind.values */
  private readonly values = new Float64Array(16);
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** the snapshot of the last round, built on first use (null: not yet) */
  private current: NicState | null = null;
  private lastRoundAt: number | null = null;
  private collections = 0;

  constructor(options: NicCollectorOptions) {
    this.sources = [...options.sources];
    const names = new Set<string>();
    for (const s of this.sources) {
      if (names.has(s.name))
        throw new TypeError(`nic collector: two sources named ${JSON.stringify(s.name)}`);
      names.add(s.name);
    }
    this.intervalMs = options.intervalMs ?? 15_000;
    this.staleAfterMs = options.staleAfterMs ?? 3 * this.intervalMs;
    this.removeAfterMs = options.removeAfterMs ?? 10 * this.intervalMs;
    this.readTimeoutMs = options.readTimeoutMs ?? Math.min(this.intervalMs, 30_000);
    if (!(this.intervalMs > 0) || !(this.readTimeoutMs > 0)) {
      throw new RangeError('nic collector: intervalMs and readTimeoutMs must be > 0');
    }
    this.tracker = new CounterTracker({ staleAfterMs: this.staleAfterMs, removeAfterMs: this.removeAfterMs });
    this.log = options.log ?? stderrNicLog;
    this.clock = options.clock ?? defaultClock;
    const byteRate = options.maxByteRate ?? 2e11;
    const pktRate = options.maxPacketRate ?? 5e9;
    const rates = (names: readonly string[]) => names.map((n) => (/bytes/i.test(n) ? byteRate : pktRate));
    this.vfKind = {
      name: 'vf',
      counters: VF_COUNTERS,
      identity: (s) => `${s.node}|${s.pf}|${s.vf}`,
      values: (s, o) => {
        o[0] = num(s.rxBytes);
        o[1] = num(s.rxPackets);
        o[2] = num(s.rxDropped);
        o[3] = num(s.rxBroadcast);
        o[4] = num(s.rxMulticast);
        o[5] = num(s.txBytes);
        o[6] = num(s.txPackets);
        o[7] = num(s.txDropped);
        o[8] = num(s.qosDropped);
      },
      maxRate: rates(VF_COUNTERS),
    };
    this.qdiscKind = {
      name: 'qdisc',
      counters: QDISC_COUNTERS,
      identity: (s) => `${s.node}|${s.interface}|${s.level}|${s.handle}|${s.parent}`,
      values: (s, o) => {
        o[0] = num(s.bytes);
        o[1] = num(s.packets);
        o[2] = num(s.drops);
        o[3] = num(s.overlimits);
        o[4] = num(s.requeues);
      },
      maxRate: rates(QDISC_COUNTERS),
    };
    this.netdevKind = {
      name: 'netdev',
      counters: NETDEV_COUNTERS,
      identity: (s) => `${s.node}|${s.interface}`,
      values: (s, o) => {
        o[0] = num(s.rxBytes);
        o[1] = num(s.rxPackets);
        o[2] = num(s.rxDropped);
        o[3] = num(s.rxErrors);
        o[4] = num(s.txBytes);
        o[5] = num(s.txPackets);
        o[6] = num(s.txDropped);
        o[7] = num(s.txErrors);
      },
      maxRate: rates(NETDEV_COUNTERS),
    };
    this.health = this.sources.map((s) => ({
      name: s.name,
      status: 'never',
      lastError: null,
      errors: 0,
      reads: 0,
      lastAttemptAt: null,
      lastSuccessAt: null,
      lastDurationMs: null,
      samples: 0,
    }));
  }

  /**
   * The latest state: a snapshot, replaced (never mutated) after each round. Built on
   * first use after a round: a consumer that only needs totals (the exporter: `totals()`)
   * never pays for it.
   */
  get state(): NicState {
    if (this.current === null) this.current = this.buildState(this.lastRoundAt);
    return this.current;
  }

  /** Runs one round now; a call while a round runs gets that round. Never rejects. */
  collect(): Promise<NicState> {
    return this.collectRound().then(() => this.state);
  }

  /** Runs one round now, building no snapshot (read `state` or `totals()` after it). */
  collectRound(): Promise<void> {
    if (this.running === null) {
      this.running = this.round().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /**
   * What an exporter needs after a round: every current (non-stale) thing's sample and its
   * counters' monotonic totals in the kind's counter order (null: no source reports it),
   * merged across sources as `state` merges them — without copying every series into a
   * snapshot. The per-round snapshot (thousands of objects living one interval, promoted
   * and then collected by major GCs) was most of the exporter's CPU at a 1 s interval.
   * Samples are the sources' own objects (VFs merged from several sources: a copy); read only.
   */
  totals(): NicTotals {
    const now = this.lastRoundAt;
    const vfs: ThingTotals<VfSample>[] = [];
    for (const g of this.grouped(this.vfEntries, now)) {
      const v = this.mergeVf(g, now);
      if (v.stale) continue;
      const totals: (number | null)[] = new Array(VF_COUNTERS.length);
      for (let i = 0; i < VF_COUNTERS.length; i++) totals[i] = v.series[i]?.total ?? null;
      vfs.push({ sample: v.sample, totals });
    }
    return {
      at: now,
      vfs,
      qdiscs: this.simpleTotals(this.qdiscEntries, now),
      netdevs: this.simpleTotals(this.netdevEntries, now),
      sources: this.health.map((h) => ({ ...h })),
      counters: { ...this.tracker.stats },
    };
  }

  /** Collects now and every intervalMs until stop(). */
  start(): void {
    if (this.timer !== null) return;
    const tick = () => {
      this.collectRound().catch((err: unknown) => this.log('error', `nic collector: ${errorMessage(err)}`));
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.running !== null) await this.running;
  }

  private async round(): Promise<void> {
    await Promise.all(this.sources.map((s, i) => this.readSource(s, i)));
    const now = this.clock();
    this.sweep(now);
    this.collections++;
    this.lastRoundAt = now;
    this.current = null;
  }

  private async readSource(source: NicSource, index: number): Promise<void> {
    const h = this.health[index]!;
    const started = this.clock();
    h.reads++;
    h.lastAttemptAt = started;
    let reading: Omit<NicReading, 'at'>;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`read timed out after ${this.readTimeoutMs} ms`)),
          this.readTimeoutMs,
        );
      });
      reading = await Promise.race([Promise.resolve().then(() => source.read()), timeout]);
      if (!Array.isArray(reading?.vfs) || !Array.isArray(reading.qdiscs) || !Array.isArray(reading.netdevs)) {
        throw new Error('read() returned no vfs/qdiscs/netdevs arrays');
      }
    } catch (err) {
      h.lastDurationMs = this.clock() - started;
      this.setHealth(h, 'failed', errorMessage(err));
      return;
    } finally {
      clearTimeout(timer);
    }
    const at = this.clock();
    h.lastDurationMs = at - started;
    h.lastSuccessAt = at;
    h.samples = reading.vfs.length + reading.qdiscs.length + reading.netdevs.length;
    const problems = reading.errors ?? [];
    this.setHealth(
      h,
      problems.length > 0 ? 'partial' : 'ok',
      problems.length > 0 ? problems.join('; ') : null,
    );
    this.track(this.vfEntries, this.vfKind, source.name, index, reading.vfs, at);
    this.track(this.qdiscEntries, this.qdiscKind, source.name, index, reading.qdiscs, at);
    this.track(this.netdevEntries, this.netdevKind, source.name, index, reading.netdevs, at);
  }

  /** Logs once per change of a source's error message, and once on recovery. */
  private setHealth(h: SourceHealth, status: SourceStatus, error: string | null): void {
    if (error !== null) {
      h.errors++;
      if (error !== h.lastError) this.log('warn', `nic source ${h.name}: ${error}`);
    } else if (h.lastError !== null) {
      this.log('info', `nic source ${h.name}: recovered`);
    }
    h.status = status;
    h.lastError = error;
  }

  private track<S>(
    map: Map<string, Entry<S>>,
    kind: Kind<S>,
    source: string,
    priority: number,
    samples: S[],
    at: number,
  ): void {
    const names = kind.counters;
    for (const sample of samples) {
      const key = kind.identity(sample);
      const entryKey = `${source}|${key}`;
      let e = map.get(entryKey);
      if (e === undefined) {
        const declared = this.sources[priority]!.counterWidths?.[kind.name] as
          | Readonly<Record<string, CounterWidth>>
          | undefined;
        e = {
          key,
          source,
          priority,
          sample,
          seriesKeys: names.map((n) => `${entryKey}|${n}`),
          series: names.map(() => undefined),
          widths: names.map((n) => declared?.[n] ?? 64),
          lastSeen: at,
          round: 0,
        };
        map.set(entryKey, e);
      }
      e.sample = sample;
      e.lastSeen = at;
      // the round in progress: `collections` counts it once every source is read
      e.round = this.collections + 1;
      const values = this.values;
      kind.values(sample, values);
      for (let i = 0; i < names.length; i++) {
        const v = values[i]!;
        if (Number.isNaN(v)) continue;
        const s = e.series[i];
        e.series[i] =
          s === undefined || s.removed
            ? this.tracker.update(e.seriesKeys[i]!, v, at, kind.maxRate[i], e.widths[i])
            : this.tracker.observe(s, v, at);
      }
    }
  }

  private sweep(now: number): void {
    for (const map of [this.vfEntries, this.qdiscEntries, this.netdevEntries] as Map<
      string,
      Entry<unknown>
    >[]) {
      for (const [k, e] of map) {
        if (now - e.lastSeen > this.removeAfterMs) {
          map.delete(k);
          for (const sk of e.seriesKeys) this.tracker.delete(sk);
        }
      }
    }
    this.tracker.sweep(now);
  }

  private isStale(e: Entry<unknown>, now: number | null): boolean {
    return now !== null && now - e.lastSeen > this.staleAfterMs;
  }

  /** Entries grouped by identity, each group best first (fresh before stale, then priority). */
  private grouped<S>(map: Map<string, Entry<S>>, now: number | null): Entry<S>[][] {
    const groups = new Map<string, Entry<S>[]>();
    for (const e of map.values()) {
      const g = groups.get(e.key);
      if (g === undefined) groups.set(e.key, [e]);
      else g.push(e);
    }
    const out = [...groups.values()];
    for (const g of out) {
      if (g.length > 1) {
        g.sort(
          (a, b) => Number(this.isStale(a, now)) - Number(this.isStale(b, now)) || a.priority - b.priority,
        );
      }
    }
    return out;
  }

  private simpleView<S, C extends string>(
    map: Map<string, Entry<S>>,
    kind: Kind<S>,
    now: number | null,
  ): Tracked<S, C>[] {
    return this.grouped(map, now).map((g) => {
      const e = g[0]!;
      const counters: Partial<Record<C, CounterSeries>> = {};
      kind.counters.forEach((n, i) => {
        const s = e.series[i];
        if (s !== undefined) counters[n as C] = copySeries(s);
      });
      return {
        key: e.key,
        source: e.source,
        sample: e.sample,
        counters,
        lastSeen: e.lastSeen,
        stale: this.isStale(e, now),
      };
    });
  }

  /**
   * One VF as its sources say it: settings from the best source (blanks filled from the
   * others), each counter from the first source whose series is fresh (else any).
   */
  private mergeVf(g: Entry<VfSample>[], now: number | null) {
    const primary = g[0]!;
    const sample: VfSample = { ...primary.sample };
    for (const e of g) {
      if (sample.mac === '' && e.sample.mac !== '') sample.mac = e.sample.mac;
      sample.pciAddress ??= e.sample.pciAddress;
      sample.spoofCheck ??= e.sample.spoofCheck;
      sample.trust ??= e.sample.trust;
      sample.linkState ??= e.sample.linkState;
    }
    const series: (CounterSeries | undefined)[] = new Array(VF_COUNTERS.length);
    const from: (Entry<VfSample> | undefined)[] = new Array(VF_COUNTERS.length);
    for (let i = 0; i < VF_COUNTERS.length; i++) {
      let chosen: Entry<VfSample> | undefined;
      for (const e of g) {
        const s = e.series[i];
        if (s !== undefined && !s.stale) {
          chosen = e;
          break;
        }
      }
      chosen ??= g.find((e) => e.series[i] !== undefined);
      const s = chosen?.series[i];
      series[i] = s;
      from[i] = chosen;
      sample[VF_COUNTERS[i]!] = s === undefined ? null : s.value;
    }
    let stale = true;
    for (const e of g) if (!this.isStale(e, now)) stale = false;
    return { primary, sample, series, from, stale };
  }

  private vfView(now: number | null): TrackedVf[] {
    return this.grouped(this.vfEntries, now).map((g) => {
      const v = this.mergeVf(g, now);
      const counters: TrackedVf['counters'] = {};
      const counterSources: TrackedVf['counterSources'] = {};
      const measured: TrackedVf['measured'] = {};
      for (let i = 0; i < VF_COUNTERS.length; i++) {
        const s = v.series[i];
        if (s === undefined) continue;
        counters[VF_COUNTERS[i]!] = copySeries(s);
        counterSources[VF_COUNTERS[i]!] = v.from[i]!.source;
        measured[VF_COUNTERS[i]!] = v.from[i]!.round === this.collections;
      }
      return {
        key: v.primary.key,
        source: v.primary.source,
        sample: v.sample,
        counters,
        counterSources,
        measured,
        sources: g.map((e) => e.source),
        lastSeen: Math.max(...g.map((e) => e.lastSeen)),
        stale: v.stale,
      };
    });
  }

  /** Qdiscs or netdevs for totals(): the best source's entry per thing, fresh ones only. */
  private simpleTotals<S>(map: Map<string, Entry<S>>, now: number | null): ThingTotals<S>[] {
    const out: ThingTotals<S>[] = [];
    const push = (e: Entry<S>) => {
      if (this.isStale(e, now)) return;
      const totals: (number | null)[] = new Array(e.series.length);
      for (let i = 0; i < e.series.length; i++) totals[i] = e.series[i]?.total ?? null;
      out.push({ sample: e.sample, totals });
    };
    if (this.sources.length === 1) {
      // one source: every entry is its own thing (no grouping Map per round)
      for (const e of map.values()) push(e);
    } else {
      for (const g of this.grouped(map, now)) push(g[0]!);
    }
    return out;
  }

  private buildState(now: number | null): NicState {
    return {
      at: now,
      collections: this.collections,
      vfs: this.vfView(now),
      qdiscs: this.simpleView<QdiscSample, QdiscCounterName>(this.qdiscEntries, this.qdiscKind, now),
      netdevs: this.simpleView<NetdevSample, NetdevCounterName>(this.netdevEntries, this.netdevKind, now),
      sources: this.health.map((h) => ({ ...h })),
      counters: { ...this.tracker.stats },
    };
  }
}
