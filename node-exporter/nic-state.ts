/**
 * What the registry renders — `NicState`: every VF, netdev and qdisc the NIC collector
 * (collector/nic/collector.ts) currently has, with monotonic counter totals, and the health
 * of each source — and the adapter that produces it from the collector. The registry only
 * sees this shape, so a change of the collector's API stays in this file.
 *
 * Things the collector marks stale (not seen for its staleAfterMs: their source is failing
 * or they vanished) are left out: their series disappear from /metrics, as node_exporter
 * does for a failed collector, while podwire_collector_* tells why.
 */
import {
  type NicState as CollectorState,
  NicCollector,
  type NicCollectorOptions,
  type NicTotals,
} from '../collector/nic/collector.js';
import type { NetdevSample, QdiscSample, VfSample } from '../collector/nic/types.js';
import { NETDEV_COUNTER_FIELDS, QDISC_COUNTER_FIELDS, VF_COUNTER_FIELDS } from './metrics.js';

export interface SourceHealth {
  readonly source: string;
  /** the last read succeeded without errors */
  readonly ok: boolean;
  /** how long the last read took */
  readonly durationSeconds: number;
  /** reads that failed or reported errors */
  readonly errorsTotal: number;
  /** ms since the epoch; null before the first success */
  readonly lastSuccessMs: number | null;
  readonly lastError: string | null;
}

/** A VF with its counter totals (VF_COUNTER_FIELDS order; null: no source reports it). */
export interface VfState {
  readonly sample: VfSample;
  readonly totals: readonly (number | null)[];
}

/** NETDEV_COUNTER_FIELDS order */
export interface NetdevState {
  readonly sample: NetdevSample;
  readonly totals: readonly (number | null)[];
}

/** QDISC_COUNTER_FIELDS order; the backlog gauges are in the sample */
export interface QdiscState {
  readonly sample: QdiscSample;
  readonly totals: readonly (number | null)[];
}

export interface CounterEventTotals {
  reset: number;
  wrap: number;
  jump: number;
  invalid: number;
}

export interface NicState {
  /** ms since the epoch when the collection ended */
  readonly at: number;
  readonly vfs: readonly VfState[];
  readonly netdevs: readonly NetdevState[];
  readonly qdiscs: readonly QdiscState[];
  readonly sources: readonly SourceHealth[];
  readonly counterEvents: Readonly<CounterEventTotals>;
}

export interface NicStateProvider {
  /** One collection now; the new state (never rejects for a source's failure). */
  collect(): Promise<NicState>;
}

type Counters = Partial<Record<string, { readonly total: number }>>;

function totals(counters: Counters, fields: readonly string[]): (number | null)[] {
  const out: (number | null)[] = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) out[i] = counters[fields[i]]?.total ?? null;
  return out;
}

/** The exporter's view of one collector state. */
export function fromCollectorState(s: CollectorState, now: number): NicState {
  const vfs: VfState[] = [];
  for (const v of s.vfs) {
    if (!v.stale) vfs.push({ sample: v.sample, totals: totals(v.counters as Counters, VF_COUNTER_FIELDS) });
  }
  const netdevs: NetdevState[] = [];
  for (const n of s.netdevs) {
    if (!n.stale) {
      netdevs.push({ sample: n.sample, totals: totals(n.counters as Counters, NETDEV_COUNTER_FIELDS) });
    }
  }
  const qdiscs: QdiscState[] = [];
  for (const q of s.qdiscs) {
    if (!q.stale)
      qdiscs.push({ sample: q.sample, totals: totals(q.counters as Counters, QDISC_COUNTER_FIELDS) });
  }
  return fromTotals({ at: s.at, vfs, netdevs, qdiscs, sources: s.sources, counters: s.counters }, now);
}

/** The exporter's view of the collector's totals (`NicCollector.totals()`: no snapshot built). */
export function fromTotals(s: NicTotals, now: number): NicState {
  return {
    at: s.at ?? now,
    vfs: s.vfs,
    netdevs: s.netdevs,
    qdiscs: s.qdiscs,
    sources: s.sources.map((h) => ({
      source: h.name,
      ok: h.status === 'ok',
      durationSeconds: (h.lastDurationMs ?? 0) / 1000,
      errorsTotal: h.errors,
      lastSuccessMs: h.lastSuccessAt,
      lastError: h.lastError,
    })),
    counterEvents: {
      reset: s.counters.resets,
      wrap: s.counters.wraps,
      jump: s.counters.jumps,
      invalid: s.counters.invalid,
    },
  };
}

/** A NicStateProvider over the NIC collector (the exporter drives its rounds: no start()). */
export class CollectorProvider implements NicStateProvider {
  readonly collector: NicCollector;

  constructor(collector: NicCollector | NicCollectorOptions) {
    this.collector = collector instanceof NicCollector ? collector : new NicCollector(collector);
  }

  async collect(): Promise<NicState> {
    await this.collector.collectRound();
    return fromTotals(this.collector.totals(), Date.now());
  }
}
