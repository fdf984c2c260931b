/**
 * What the in-process evaluator reads, fed the way Prometheus would scrape it: the VF
 * families from the exporter's NIC state (the same state /metrics renders, joined to pods
 * the same way, so the same series and labels), and the other families the rules read
 * (collector health, spooling, sFlow loss, attribution) from the prom-client registry.
 */
import type { Registry } from 'prom-client';
import type { EndpointJoin } from '../node-exporter/join.js';
import { VF_COUNTER_FIELDS, VF_COUNTERS, VF_TIER_MAX, VF_TIER_MIN } from '../node-exporter/metrics.js';
import type { NicState } from '../node-exporter/nic-state.js';
import type { SlaEvaluator } from './evaluator.js';
import type { LabelSet } from './labels.js';
import type { MetricStore, Series } from './store.js';

interface Cached {
  readonly node: string;
  readonly pf: string;
  readonly vf: number;
  version: number;
  vlan: number;
  ls: LabelSet;
  seen: number;
  /** the series of each fed counter (this.counters order), kept to skip a lookup per sample */
  series: (Series | null)[];
}

/** VF series from the exporter's NIC state. */
export class VfFeed {
  /** node → pf → vf → what the VF was last joined to */
  private readonly cache = new Map<string, Map<string, Map<number, Cached>>>();
  private readonly counters: { store: MetricStore; index: number }[] = [];
  private readonly min: MetricStore | undefined;
  private readonly max: MetricStore | undefined;
  private round = 0;
  /** the cache entry of each position of the last state (VFs come in the same order each time) */
  private byPos: Cached[] = [];

  constructor(
    private readonly ev: SlaEvaluator,
    private readonly join: EndpointJoin,
  ) {
    VF_COUNTERS.forEach((d, index) => {
      const store = ev.store.get(d.name);
      if (store !== undefined && ev.inputs.has(d.name)) this.counters.push({ store, index });
    });
    if (VF_COUNTER_FIELDS.length !== VF_COUNTERS.length)
      throw new Error('VF counter fields and metrics differ');
    this.min = ev.store.get(VF_TIER_MIN.name);
    this.max = ev.store.get(VF_TIER_MAX.name);
    ev.holdsLabels(() => {
      this.forget();
      return this.labelSets();
    });
  }

  /** The metric names this feed provides. */
  static readonly metrics: readonly string[] = [
    ...VF_COUNTERS.map((d) => d.name),
    VF_TIER_MIN.name,
    VF_TIER_MAX.name,
  ];

  private *labelSets(): Generator<LabelSet> {
    for (const byPf of this.cache.values())
      for (const byVf of byPf.values()) for (const c of byVf.values()) yield c.ls;
  }

  /** One ingest of every VF at the state's instant. */
  ingest(state: NicState): void {
    const t = state.at;
    const round = ++this.round;
    this.join.refresh(t);
    for (const c of this.counters) c.store.begin(t);
    this.min?.begin(t);
    this.max?.begin(t);
    const counters = this.counters;
    const vfs = state.vfs;
    const byPos = this.byPos;
    const version = this.join.version;
    for (let p = 0; p < vfs.length; p++) {
      const v = vfs[p];
      const s = v.sample;
      let c = byPos[p];
      if (
        c === undefined ||
        c.vf !== s.vf ||
        c.node !== s.node ||
        c.pf !== s.pf ||
        c.version !== version ||
        c.vlan !== s.vlan
      ) {
        c = this.cached(s.node, s.pf, s.vf, s.vlan, t, round);
        byPos[p] = c;
      }
      c.seen = round;
      const ls = c.ls;
      for (let i = 0; i < counters.length; i++) {
        const x = v.totals[counters[i].index];
        if (x === null) continue;
        let h = c.series[i];
        if (h === null || !counters[i].store.holds(h)) {
          h = counters[i].store.handle(ls);
          c.series[i] = h;
        }
        counters[i].store.putTo(ls, h, x);
      }
      this.min?.put(ls, s.minTxRate / 8);
      if (s.maxTxRate > 0) this.max?.put(ls, s.maxTxRate / 8);
    }
    byPos.length = vfs.length;
  }

  /**
   * Drops VFs not seen for 64 rounds; run by the evaluator's sweep (every 10 minutes), not
   * from ingest(): a loop there that ran once per 64 rounds left ingest() deoptimized on
   * each visit (a slow round).
   */
  private forget(): void {
    const round = this.round;
    for (const byPf of this.cache.values()) {
      for (const byVf of byPf.values()) for (const [k, c] of byVf) if (round - c.seen > 64) byVf.delete(k);
    }
  }

  /** The VF's labels as the exporter writes them (node-exporter/registry.ts), and its series. */
  private cached(node: string, pf: string, vf: number, vlan: number, t: number, round: number): Cached {
    let byPf = this.cache.get(node);
    if (byPf === undefined) {
      byPf = new Map();
      this.cache.set(node, byPf);
    }
    let byVf = byPf.get(pf);
    if (byVf === undefined) {
      byVf = new Map();
      byPf.set(pf, byVf);
    }
    const version = this.join.version;
    let c = byVf.get(vf);
    if (c === undefined || c.version !== version || c.vlan !== vlan) {
      const ep = this.join.vf(node, pf, vf, t);
      const ls = this.ev.labels.intern({
        node,
        pf,
        vf: String(vf),
        namespace: ep?.namespace ?? '',
        pod: ep?.pod ?? '',
        interface: ep?.interface ?? '',
        network: ep?.network ?? '',
        vlan: String(vlan),
        tier: ep?.tier ?? '',
      });
      c = { node, pf, vf, version, vlan, ls, seen: round, series: this.counters.map(() => null) };
      byVf.set(vf, c);
    }
    c.seen = round;
    return c;
  }
}

/** The families the rules read that are not VF families, from a prom-client registry. */
export async function ingestRegistry(ev: SlaEvaluator, registry: Registry, t: number): Promise<void> {
  const wanted = new Set([...ev.inputs].filter((n) => !VfFeed.metrics.includes(n)));
  if (wanted.size === 0) return;
  const json = await registry.getMetricsAsJSON();
  for (const m of json) {
    if (!wanted.has(m.name)) continue;
    wanted.delete(m.name);
    const store = ev.store.get(m.name)!;
    store.begin(t);
    for (const v of m.values) {
      const labels: Record<string, string> = {};
      for (const [k, x] of Object.entries(v.labels ?? {})) labels[k] = String(x);
      store.put(ev.labels.intern(labels), v.value);
    }
  }
  // what the registry does not hold (no sFlow listener, say) has no series: as in a scrape
  for (const name of wanted) ev.store.get(name)!.begin(t);
}
