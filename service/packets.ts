/**
 * The mirror part's shared pipeline: flows from whichever input runs go through one flow
 * sink (ingest/flow-sink.ts) into the flows writer, and one packet in samples.oneIn into
 * packet_samples and the live stream. A frame input (demo mirror, capture) runs the packet
 * path and flow table here; a UDP intake (sFlow, NetFlow) has its own table and counts and
 * hands its flows to the same sink (service/inputs/).
 */
import type { Registry } from 'prom-client';
import type { AllConfig } from '../cli/all-config.js';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import { parseUntaggedScope } from '../collector/attribution/untagged-scope.js';
import { decodeConfig } from '../collector/decode/packet.js';
import type { LiveInventory } from '../collector/endpoints/live-inventory.js';
import { FlowTable, type FlowTableStats } from '../collector/flows/flow-table.js';
import { registerAttributionMetrics, registerFlowMetrics } from '../collector/flows/metrics.js';
import { type FlowBatchSink, fanOut } from '../collector/flows/sink.js';
import { PacketPath } from '../collector/packet-path.js';
import { observationName, type PointNames } from '../collector/sflow/observation.js';
import { FlowSink } from '../ingest/flow-sink.js';
import { capturedFrame, type PacketSampleRow, packetSampleRow } from '../ingest/sample-rows.js';
import type { flows, packet_samples } from '../ingest/schema.js';
import type { BatchWriter } from '../ingest/writer.js';
import type { Undo } from './undo.js';

export interface PacketsOptions {
  cfg: AllConfig;
  live: LiveInventory;
  /** the input's name for observation points (`sflow:ADDR`, `capture:IF`, `mirror:demo`) */
  input: string;
  /** the rate the frames were sampled at (the demo mirror following the demo NIC), else 1 */
  samplingRate: number;
  registry: Registry;
  flowWriter: BatchWriter<typeof flows>;
  sampleWriter: BatchWriter<typeof packet_samples>;
  /** a kept sample also goes here (the live stream) */
  onSample?: (row: PacketSampleRow) => void;
  /** sinks besides the store's that take every flow batch (collector/flows/sink.ts) */
  sinks?: readonly FlowBatchSink[];
  undo: Undo;
}

export class Packets {
  /** the store's flow sink */
  readonly sink: FlowSink;
  /** where every input hands its flows: the store's sink and any others */
  readonly onFlows: FlowBatchSink['onFlows'];
  readonly flowTable: FlowTable;
  readonly path: PacketPath;
  readonly samplingRate: number;
  /** the attribution counts of the input in use (a UDP intake keeps its own) */
  counters: AttributionCounters;
  /** every flow table that runs, for the podwire_flow_* metrics */
  readonly flowTables: FlowTableStats[];
  /** the flow table of the input in use (a UDP intake has its own) */
  flowStats: () => FlowTableStats;
  /** sFlow agents and ifIndexes, NetFlow exporters, named as the intake registers them */
  points: PointNames | undefined;
  sampled = 0;
  private seen = 0;
  private readonly oneIn: number;

  constructor(private readonly o: PacketsOptions) {
    const { cfg } = o;
    this.samplingRate = o.samplingRate;
    this.oneIn = cfg.samples.oneIn;
    this.sink = new FlowSink({
      names: this.observation,
      send: (b) => o.flowWriter.writeEncoded(b),
      busy: () => o.flowWriter.stats().queuedBatches > 0,
    });
    this.onFlows = fanOut([this.sink, ...(o.sinks ?? [])]).onFlows;
    this.counters = new AttributionCounters();
    this.flowTable = new FlowTable({
      index: o.live.index,
      counters: this.counters,
      windowSeconds: cfg.flows.windowSeconds,
      maxFlows: cfg.flows.maxFlows,
      onFlows: this.onFlows,
    });
    const table = this.flowTable;
    this.flowTables = [table.stats];
    this.flowStats = () => table.stats;
    registerFlowMetrics(o.registry, () => this.flowTables);
    registerAttributionMetrics(o.registry, () => this.counters);
    const m = cfg.mirror;
    this.path = new PacketPath({
      index: o.live.index,
      decode: decodeConfig([]),
      untaggedScope:
        m.type === 'capture' && m.untaggedScope !== undefined
          ? parseUntaggedScope(m.untaggedScope)
          : undefined,
      flows: this.flowTable,
      counters: this.counters,
      onPacket:
        this.oneIn > 0
          ? (c, p, a) => {
              if (this.sampleDue())
                this.keepSample(
                  packetSampleRow(
                    capturedFrame(c),
                    p,
                    a,
                    this.observation(p.erspanSession),
                    this.samplingRate,
                  ),
                );
            }
          : undefined,
      samplingRate: this.samplingRate,
    });
    this.startPump();
  }

  readonly observation = (n: number): string => observationName(n, this.o.input, this.points);

  /** one packet in samples.oneIn is kept: whether this one is (always false with oneIn 0) */
  sampleDue(): boolean {
    return this.oneIn > 0 && ++this.seen % this.oneIn === 0;
  }

  /** a kept packet goes to packet_samples and to the live stream's subscribers */
  keepSample(row: PacketSampleRow): void {
    this.sampled++;
    void this.o.sampleWriter.write(row);
    this.o.onSample?.(row);
  }

  /** An intake with its own flow table and counts takes over the status and metrics. */
  adopt(own: { counters: AttributionCounters; flowStats: FlowTableStats; names: PointNames }): void {
    this.counters = own.counters;
    this.points = own.names;
    this.flowStats = () => own.flowStats;
    this.flowTables.push(own.flowStats);
  }

  /** rows not yet stored: open flows and what the sink holds */
  pendingRows(): number {
    return this.flowTable.stats.open + this.sink.pendingRows();
  }

  /** closed windows are encoded in slices, off the packet path's turn */
  private startPump(): void {
    let pumping = false;
    const pump = setInterval(() => {
      if (pumping) return;
      pumping = true;
      void this.sink.tick().finally(() => {
        pumping = false;
      });
    }, 50);
    this.o.undo.push(async () => {
      clearInterval(pump);
      while (pumping) await new Promise((r) => setTimeout(r, 5));
      // open flows are emitted and encoded before the writers close
      this.flowTable.flush();
      await this.sink.flush();
    });
  }
}
