/**
 * What a listener feeds: the NetFlow/IPFIX intake behind the same shape as the sFlow
 * engine (sflow/engine.ts) — flows arrive as FlowBatches, observation codes are named by
 * `names`, `stop()` flushes the open windows, saves the template state and returns the
 * totals. The one difference: NetFlow headers do not name the exporter, so `receive`
 * takes the datagram's source address.
 */
import { AttributionCounters } from '../attribution/attribute.js';
import type { EndpointIndex } from '../attribution/endpoint-index.js';
import { decodeConfig } from '../decode/packet.js';
import { type FlowBatch, FlowTable, type FlowTableStats } from '../flows/flow-table.js';
import type { PointNames } from '../sflow/observation.js';
import type { HeldOptions } from './held.js';
import { type DomainSummary, type ExporterSummary, NetflowIntake, type RecordConsumer } from './intake.js';

export interface NetflowTotals {
  /** NetflowIntake.summary() */
  summary: Record<string, number>;
  exporters: ExporterSummary[];
  domains: DomainSummary[];
  flows: Pick<FlowTableStats, 'emitted' | 'overflows' | 'latePackets' | 'timeOutliers'>;
  /** datagrams the intake could not keep up with, counted and dropped (0 in-thread) */
  overloadDrops: number;
}

export interface NetflowEngine {
  readonly names: PointNames;
  /**
   * A datagram as received (the engine may keep `msg`) from `exporter` (rinfo.address;
   * an IPv6 one is bracketed by the engine), at `tUs` µs since the epoch.
   */
  receive(msg: Buffer, exporter: string, tUs: number): void;
  /** Closes windows by wall clock; saves the template state if it changed. */
  tick(nowSec: number): void;
  stop(): Promise<NetflowTotals>;
}

export interface NetflowEngineOptions {
  index: EndpointIndex;
  vxlanPorts?: number[];
  windowSeconds?: number;
  maxFlows?: number;
  onFlows: (b: FlowBatch) => void;
  /** every flow record, attributed (tracing, tests) */
  onRecord?: RecordConsumer;
  /** rate of records that state none (default 1) */
  samplingRate?: number;
  /** the data directory's state file (netflow-state.json there); none: not persisted */
  stateFile?: string;
  held?: HeldOptions;
}

/** The exporter's name: its address, IPv6 in brackets (as sFlow agents are named). */
export function exporterName(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/** The intake in the caller's thread. */
export class LocalNetflow implements NetflowEngine {
  readonly intake: NetflowIntake;
  private readonly table: FlowTable;
  private lastAddress = '';
  private lastName = '';

  constructor(o: NetflowEngineOptions) {
    const counters = new AttributionCounters();
    this.table = new FlowTable({
      index: o.index,
      counters,
      windowSeconds: o.windowSeconds,
      maxFlows: o.maxFlows,
      onFlows: o.onFlows,
    });
    this.intake = new NetflowIntake({
      index: o.index,
      decode: decodeConfig(o.vxlanPorts ?? []),
      flows: this.table,
      counters,
      onRecord: o.onRecord,
      samplingRate: o.samplingRate,
      stateFile: o.stateFile,
      held: o.held,
    });
  }

  get names(): PointNames {
    return this.intake.observations;
  }

  get flowStats(): FlowTableStats {
    return this.table.stats;
  }

  receive(msg: Buffer, exporter: string, tUs: number): void {
    if (exporter !== this.lastAddress) {
      this.lastAddress = exporter;
      this.lastName = exporterName(exporter);
    }
    this.intake.receive(msg, 0, msg.length, this.lastName, tUs);
  }

  tick(nowSec: number): void {
    this.table.tick(nowSec);
    this.intake.saveState();
  }

  async stop(): Promise<NetflowTotals> {
    this.intake.finish();
    this.table.flush();
    this.intake.saveState();
    const s = this.table.stats;
    return {
      summary: this.intake.summary(),
      exporters: this.intake.exporterSummaries(),
      domains: this.intake.domainSummaries(),
      flows: {
        emitted: s.emitted,
        overflows: s.overflows,
        latePackets: s.latePackets,
        timeOutliers: s.timeOutliers,
      },
      overloadDrops: 0,
    };
  }
}
