/**
 * What a listener feeds: one interface over the two ways of running the intake — in the
 * listener's thread (LocalSflow), or sharded over worker threads by agent (workers.ts).
 * Either way flows arrive as FlowBatches built on the caller's endpoint list, observation
 * codes are named by `names`, and `stop()` flushes the open windows and returns the totals.
 */
import { AttributionCounters } from '../attribution/attribute.js';
import type { EndpointIndex } from '../attribution/endpoint-index.js';
import { decodeConfig } from '../decode/packet.js';
import { type FlowBatch, FlowTable, type FlowTableStats } from '../flows/flow-table.js';
import { type ReorderOptions, ReorderStage, withReordered } from '../udp/reorder.js';
import { type AgentSummary, type SampleConsumer, SflowIntake } from './intake.js';
import { InterfaceSeries } from './interface-series.js';
import type { PointNames } from './observation.js';
import { sflowSequence } from './sequence-peek.js';

export interface SflowTotals {
  /** SflowIntake.summary(), summed over intakes */
  summary: Record<string, number>;
  agents: AgentSummary[];
  flows: Pick<FlowTableStats, 'emitted' | 'overflows' | 'latePackets' | 'timeOutliers'>;
  counterSamples: number;
  /** distinct (agent, ifIndex) with generic or Ethernet counter samples, kept at the end */
  interfaces: number;
  /** counter samples of interfaces or VLANs beyond the series cap: counted, not kept */
  interfaceOverflows: number;
  /** datagrams the intake could not keep up with (worker queues full), counted and dropped */
  overloadDrops: number;
}

export interface SflowEngine {
  readonly names: PointNames;
  /** A datagram as received (the engine may keep `msg`), at `tUs` µs since the epoch. */
  receive(msg: Buffer, tUs: number): void;
  /** Closes windows by wall clock (a quiet agent must not hold its last window open). */
  tick(nowSec: number): void;
  stop(): Promise<SflowTotals>;
}

export interface SflowEngineOptions {
  index: EndpointIndex;
  vxlanPorts?: number[];
  windowSeconds?: number;
  maxFlows?: number;
  onFlows: (b: FlowBatch) => void;
  /** every flow sample, attributed (the service keeps some as packet samples); in-thread only */
  onSample?: SampleConsumer;
  /** the per-agent reorder stage in front of the sequence counts (collector/udp/reorder.ts); false: none */
  reorder?: ReorderOptions | false;
}

/**
 * The reorder stage in front of an intake: each (agent, sub-agent)'s datagrams reach its
 * sequence counts (loss.ts) in datagram-number order, whatever order the readers read them in.
 */
export function sflowReorder(intake: SflowIntake, o?: ReorderOptions): ReorderStage {
  return new ReorderStage(
    sflowSequence,
    (b, off, len, _sender, tUs) => {
      intake.receive(b, off, len, tUs);
      return 1;
    },
    o,
  );
}

/** Sums of summaries (every key that appears in any). */
export function sumSummaries(list: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) for (const [k, v] of Object.entries(s)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The intake in the caller's thread. */
export class LocalSflow implements SflowEngine {
  readonly intake: SflowIntake;
  readonly reorder: ReorderStage | null;
  private readonly table: FlowTable;
  /** counter samples as per-interface series (deltas, rates, totals) */
  readonly interfaceSeries = new InterfaceSeries();
  private counterSamples = 0;

  constructor(o: SflowEngineOptions) {
    const counters = new AttributionCounters();
    this.table = new FlowTable({
      index: o.index,
      counters,
      windowSeconds: o.windowSeconds,
      maxFlows: o.maxFlows,
      onFlows: o.onFlows,
    });
    this.intake = new SflowIntake({
      index: o.index,
      decode: decodeConfig(o.vxlanPorts ?? []),
      flows: this.table,
      counters,
      onCounters: (c) => {
        this.counterSamples++;
        this.interfaceSeries.update(c);
      },
      onSample: o.onSample,
    });
    this.reorder = o.reorder === false ? null : sflowReorder(this.intake, o.reorder);
  }

  get names(): PointNames {
    return this.intake.observations;
  }

  /** The intake's flow table counts, live: flows emitted and open now (status line, metrics). */
  get flowStats(): FlowTableStats {
    return this.table.stats;
  }

  receive(msg: Buffer, tUs: number): void {
    this.receiveAt(msg, 0, msg.length, tUs);
  }

  /** A datagram at buf[offset, offset + length) (a reader thread's batch; not kept). */
  receiveAt(buf: Uint8Array, offset: number, length: number, tUs: number): void {
    if (this.reorder === null) this.intake.receive(buf, offset, length, tUs);
    else this.reorder.push(buf, offset, length, '', tUs);
  }

  tick(nowSec: number): void {
    this.table.tick(nowSec);
  }

  async stop(): Promise<SflowTotals> {
    this.reorder?.flush();
    this.intake.finish();
    this.table.flush();
    const s = this.table.stats;
    return {
      summary: withReordered(this.intake.summary(), this.reorder),
      agents: this.intake.agentSummaries(),
      flows: {
        emitted: s.emitted,
        overflows: s.overflows,
        latePackets: s.latePackets,
        timeOutliers: s.timeOutliers,
      },
      counterSamples: this.counterSamples,
      interfaces: this.interfaceSeries.list().length,
      interfaceOverflows: this.interfaceSeries.overflows,
      overloadDrops: 0,
    };
  }
}
