/**
 * sFlow intake: datagram → samples → the packet path's attribution and flow aggregation,
 * like PacketPath does for mirrored packets. One instance owns the reused records; a
 * flow sample allocates nothing. Each sample's packet is scaled by its sampling rate,
 * keyed by its observation point (agent + ifIndex, see observation.ts) and timed by the
 * datagram's arrival (sFlow carries no sample time). Counter samples go to `onCounters`
 * as typed per-interface records. Every datagram, sample and problem is counted.
 */
import { Attribution, AttributionCounters, attribute } from '../attribution/attribute.js';
import type { EndpointIndex } from '../attribution/endpoint-index.js';
import { type DecodeConfig, DecodedPacket, decodeStatusName } from '../decode/packet.js';
import type { FlowTable } from '../flows/flow-table.js';
import { type AgentState, AgentTable, type AgentTableOptions, addTotals } from './agents.js';
import { decodeDatagram, SflowDecodeStats, type SflowHandler } from './datagram.js';
import { ObservationPoints } from './observation.js';
import { NOTHING_DECODABLE, samplePacket } from './sample-packet.js';
import { DatagramHeader, FlowSample, type InterfaceCounters, malformedName } from './types.js';

export type SampleConsumer = (
  d: DatagramHeader,
  s: FlowSample,
  p: DecodedPacket,
  a: Attribution,
  observation: number,
  /** the datagram (the raw header's bytes are at s.headerOffset, s.headerLength long) */
  buf: Uint8Array,
) => void;

export interface SflowIntakeOptions {
  index: EndpointIndex;
  decode: DecodeConfig;
  /** a flow table built with the same `counters` */
  flows?: FlowTable;
  counters?: AttributionCounters;
  /** every counter sample, as a per-interface record */
  onCounters?: (c: InterfaceCounters) => void;
  /** every flow sample, attributed (slower: attributes each sample; for tracing and tests) */
  onSample?: SampleConsumer;
  /** the observation point table (default: a fresh one; workers get disjoint ones) */
  observations?: ObservationPoints;
  /** bounds on per-agent state (default: 1024 live agents, forgotten after 10 idle minutes) */
  agents?: AgentTableOptions;
}

/** Per-agent figures for logs, the CLI summary and metrics. */
export interface AgentSummary {
  agent: string;
  datagrams: number;
  flow_samples: number;
  counter_samples: number;
  lost_datagrams: number;
  lost_samples: number;
  /** lost samples × sampling rate */
  lost_packets_estimate: number;
  lost_counter_samples: number;
  /** lost / (lost + received) flow samples */
  sample_loss_ratio: number;
  /** datagrams that arrived behind a later one and filled its gap (reordering, not loss) */
  late_datagrams: number;
  /** flow and counter samples that arrived late */
  late_samples: number;
  /** datagrams received twice: counted, not aggregated again */
  duplicate_datagrams: number;
  /** samples received twice in datagrams that were not: counted, not aggregated again */
  duplicate_samples: number;
  agent_drops: number;
  sample_pool: number;
  sequence_resets: number;
  /** datagrams and samples whose sequence was not checked (beyond the sub-agent or source cap) */
  untracked_sequences: number;
}

export class SflowIntake implements SflowHandler {
  readonly header = new DatagramHeader();
  readonly sample = new FlowSample();
  readonly packet = new DecodedPacket();
  readonly attribution = new Attribution();
  readonly counters: AttributionCounters;
  readonly decodeStats = new SflowDecodeStats();
  /** flow samples per packet-decode status (index = DecodeStatus code) */
  readonly decodeStatus = new Float64Array(decodeStatusName.length);
  /** flow samples with neither a decodable header nor Ethernet/IP records */
  nothingDecodable = 0;
  /** sampled frames scaled by their sampling rates: the traffic they stand for */
  scaledPackets = 0;
  scaledBytes = 0;
  readonly observations: ObservationPoints;
  readonly agents: AgentTable;

  private readonly index: EndpointIndex;
  private readonly cfg: DecodeConfig;
  private readonly flows: FlowTable | undefined;
  private readonly onCounters: ((c: InterfaceCounters) => void) | undefined;
  private readonly onSample: SampleConsumer | undefined;
  private agent: AgentState | null = null;
  private tUs = 0;
  private tsSec = 0;

  constructor(o: SflowIntakeOptions) {
    this.index = o.index;
    this.cfg = o.decode;
    this.flows = o.flows;
    this.counters = o.counters ?? new AttributionCounters();
    this.onCounters = o.onCounters;
    this.onSample = o.onSample;
    this.observations = o.observations ?? new ObservationPoints();
    this.agents = new AgentTable(this.observations, o.agents);
  }

  /**
   * One datagram at buf[offset, offset + length), received at `tUs` (µs since the epoch).
   * Returns the datagram's Malformed code (0 = OK); never throws for any bytes.
   */
  receive(buf: Uint8Array, offset: number, length: number, tUs: number): number {
    this.tUs = tUs;
    this.tsSec = Math.floor(tUs / 1e6);
    this.agent = null;
    return decodeDatagram(buf, offset, length, this.header, this.sample, this, this.decodeStats);
  }

  // ---- SflowHandler (called by decodeDatagram) ----

  datagram(d: DatagramHeader): boolean {
    const a = this.agents.lookup(d, this.tUs);
    this.agent = a;
    return a.datagram(d.subAgent, d.sequence, d.uptimeMs, this.tUs);
  }

  flowSample(d: DatagramHeader, s: FlowSample, buf: Uint8Array): void {
    const a = this.agent!;
    const rate = s.samplingRate;
    const src = a.source(d.subAgent, s.sourceType, s.sourceIndex);
    // a duplicate (counted by its agent) is not aggregated again
    if (!a.flowSample(src, s.sequence, rate, s.samplePool, s.drops, d.uptimeMs, this.tUs)) return;
    const p = this.packet;
    const status = samplePacket(s, buf, p, this.cfg);
    if (status === NOTHING_DECODABLE) {
      this.nothingDecodable++;
      return;
    }
    this.decodeStatus[status]++;
    this.scaledPackets += rate;
    this.scaledBytes += p.innerLength * rate;
    // the data source is where the agent sampled: an interface (class 0) names the point;
    // for a VLAN or entity source, the input interface does
    const ifIndex = s.sourceType === 0 ? s.sourceIndex : s.inputFormat === 0 ? s.input : 0;
    const obs = a.point(ifIndex);
    if (this.onSample === undefined) {
      this.flows?.add(p, this.tsSec, this.tUs, obs, rate);
      return;
    }
    attribute(p, this.tUs, this.index, this.attribution, this.counters);
    this.flows?.add(p, this.tsSec, this.tUs, obs, rate, this.attribution);
    this.onSample(d, s, p, this.attribution, obs, buf);
  }

  counterSample(d: DatagramHeader, c: InterfaceCounters): void {
    const a = this.agent!;
    const src = a.source(d.subAgent, c.sourceType, c.sourceIndex);
    if (!a.counterSample(src, c.sequence, d.uptimeMs, this.tUs)) return;
    // the shared `other` agent's counters belong to many switches: no series of them
    if (!a.tracked) return;
    c.agent = a.name;
    c.timeUs = this.tUs;
    this.onCounters?.(c);
  }

  /** Counts for logs and the CLI's closing line (zero problem counts left out). */
  summary(): Record<string, number> {
    const st = this.decodeStats;
    const out: Record<string, number> = {
      datagrams: st.datagrams,
      flow_samples: st.flowSamples,
      counter_samples: st.counterSamples,
      packets: this.scaledPackets,
      bytes: this.scaledBytes,
      attributed: this.counters.attributed,
    };
    const t = this.totals();
    out.lost_datagrams = t.lostDatagrams;
    out.lost_samples = t.lostSamples;
    const more: Record<string, number> = {
      late_datagrams: t.lateDatagrams,
      late_samples: t.lateSamples,
      duplicate_datagrams: t.duplicateDatagrams,
      duplicate_samples: t.duplicateSamples,
      sequence_resets: t.resets,
      untracked_sequences: t.untracked,
      agents_expired: this.agents.expiredAgents,
      agent_overflow_datagrams: this.agents.overflowDatagrams,
    };
    for (const [k, v] of Object.entries(more)) if (v > 0) out[k] = v;
    if (st.malformedDatagrams > 0) out.malformed_datagrams = st.malformedDatagrams;
    for (let i = 1; i < st.malformed.length; i++) {
      if (st.malformed[i] > 0) out[`malformed_${malformedName[i]}`] = st.malformed[i];
    }
    if (st.unknownSamples > 0) out.unknown_samples = st.unknownSamples;
    if (st.unknownRecords > 0) out.unknown_records = st.unknownRecords;
    if (this.nothingDecodable > 0) out.undecodable_samples = this.nothingDecodable;
    for (let i = 1; i < this.decodeStatus.length; i++) {
      if (this.decodeStatus[i] > 0) out[`decode_${decodeStatusName[i]}`] = this.decodeStatus[i];
    }
    if (this.observations.overflows > 0) out.observation_point_overflows = this.observations.overflows;
    return out;
  }

  /** Sequence figures of every agent, the forgotten ones included. */
  private totals() {
    this.agents.settle(this.tUs);
    const t = { ...this.agents.expired };
    for (const a of this.agents.all()) addTotals(t, a.totals());
    return t;
  }

  /**
   * Per-agent figures of the live agents (and `other`, once used). Gaps pending for long
   * enough by the last arrival are given up on first (see loss.ts), so what is lost shows
   * even when the agent went quiet.
   */
  agentSummaries(): AgentSummary[] {
    this.agents.settle(this.tUs);
    return this.agents.all().map((a) => {
      const t = a.totals();
      return {
        agent: a.name,
        datagrams: t.datagrams,
        flow_samples: t.flowSamples,
        counter_samples: t.counterSamples,
        lost_datagrams: t.lostDatagrams,
        lost_samples: t.lostSamples,
        lost_packets_estimate: t.lostPacketsEstimate,
        lost_counter_samples: t.lostCounterSamples,
        sample_loss_ratio: t.lostSamples === 0 ? 0 : t.lostSamples / (t.lostSamples + t.flowSamples),
        late_datagrams: t.lateDatagrams,
        late_samples: t.lateSamples,
        duplicate_datagrams: t.duplicateDatagrams,
        duplicate_samples: t.duplicateSamples,
        agent_drops: t.agentDrops,
        sample_pool: t.samplePool,
        sequence_resets: t.resets,
        untracked_sequences: t.untracked,
      };
    });
  }

  /** The input ended: every pending sequence gap is loss now. */
  finish(): void {
    this.agents.finish();
  }
}
