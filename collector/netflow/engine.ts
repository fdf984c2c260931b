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
import { type ReorderOptions, ReorderStage, withReordered } from '../udp/reorder.js';
import type { HeldOptions } from './held.js';
import {
  type DomainSummary,
  type ExporterScopes,
  type ExporterSummary,
  NetflowIntake,
  type RecordConsumer,
} from './intake.js';
import { netflowSequence } from './sequence-peek.js';

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
  /** the tenant scope of records without a VLAN or VNI, per exporter (intake.ts) */
  scopes?: ExporterScopes;
  /** the per-exporter reorder stage in front of the sequence counts (collector/udp/reorder.ts); false: none */
  reorder?: ReorderOptions | false;
}

/** The exporter's name: its address, IPv6 in brackets (as sFlow agents are named). */
export function exporterName(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/**
 * The intake in the caller's thread, behind a reorder stage: an exporter's datagrams
 * reach the sequence counts in their own numbering's order even when several reader
 * threads read them (collector/udp/reorder.ts).
 */
export class LocalNetflow implements NetflowEngine {
  readonly intake: NetflowIntake;
  readonly reorder: ReorderStage | null;
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
      scopes: o.scopes,
    });
    this.reorder =
      o.reorder === false
        ? null
        : new ReorderStage(
            netflowSequence,
            (b, off, len, from, tUs) => this.decode(b, off, len, from, tUs),
            o.reorder,
          );
  }

  get names(): PointNames {
    return this.intake.observations;
  }

  get flowStats(): FlowTableStats {
    return this.table.stats;
  }

  receive(msg: Buffer, exporter: string, tUs: number): void {
    this.receiveAt(msg, 0, msg.length, exporter, tUs);
  }

  /** A datagram at buf[offset, offset + length) (a reader thread's batch; not kept). */
  receiveAt(buf: Uint8Array, offset: number, length: number, exporter: string, tUs: number): void {
    if (this.reorder === null) this.decode(buf, offset, length, exporter, tUs);
    else this.reorder.push(buf, offset, length, exporter, tUs);
  }

  /** Decodes one datagram; returns the numbers it took in its sequence (-1 unknown). */
  private decode(buf: Uint8Array, offset: number, length: number, exporter: string, tUs: number): number {
    if (exporter !== this.lastAddress) {
      this.lastAddress = exporter;
      this.lastName = exporterName(exporter);
    }
    this.intake.receive(buf, offset, length, this.lastName, tUs);
    return this.intake.lastSequenceCount;
  }

  tick(nowSec: number): void {
    this.table.tick(nowSec);
    this.intake.saveState();
  }

  async stop(): Promise<NetflowTotals> {
    this.reorder?.flush();
    this.intake.finish();
    this.table.flush();
    this.intake.saveState();
    const s = this.table.stats;
    const summary = withReordered(this.intake.summary(), this.reorder);
    return {
      summary,
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
