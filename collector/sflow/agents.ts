/**
 * Per-agent state: which agents and data sources have been heard, their sequence numbers
 * (loss, late arrivals, duplicates: see loss.ts), and their observation point codes
 * (observation.ts).
 *
 * Bounded, because any host can send a datagram naming any agent address: an agent not
 * heard for `idleUs` of arrival time is forgotten (its counts folded into `expired`, so
 * the totals keep them), and beyond `maxAgents` live agents the datagrams of a new address
 * go to one shared agent, `other`, whose datagrams and samples are decoded, aggregated
 * (observation point `sflow:other`) and counted (`overflowDatagrams`) but whose sequence
 * numbers are not tracked (they mix agents). Within an agent, sub-agents and data sources
 * beyond their caps are likewise aggregated and counted, their sequences not tracked.
 *
 * Looked up once per datagram (the agent) and once per sample (the source and the
 * ifIndex), with a one-entry cache in front of each map: an agent's datagrams mostly
 * carry samples of one source in a row, and a collector mostly hears the same agent
 * again, so the common case compares a few numbers and allocates nothing.
 */
import { ipv4ToString, ipv6ToString } from '../decode/addr.js';
import { DATAGRAM_WINDOW, SeqEvent, SequenceTracker, u32Delta } from './loss.js';
import { type ObservationPoints, SFLOW_OTHER_POINT } from './observation.js';
import type { DatagramHeader } from './types.js';

/** Live agents one intake tracks; datagrams of more go to `other`. */
export const MAX_SFLOW_AGENTS = 1024;
/** An agent not heard for this long (µs of arrival time) is forgotten: 10 minutes. */
export const AGENT_IDLE_US = 600e6;
/** Sub-agents (datagram sequences) and data sources (sample sequences) tracked per agent. */
export const MAX_SUB_AGENTS = 64;
export const MAX_SOURCES_PER_AGENT = 4096;
/** The name of the shared agent of datagrams beyond MAX_SFLOW_AGENTS. */
export const OTHER_AGENT = 'other';
/** How often (µs of arrival time) idle agents are looked for. */
const SWEEP_EVERY_US = 10e6;

/** One data source of one sub-agent: its flow and counter sample sequences. */
export class SourceState {
  readonly flowSeq = new SequenceTracker();
  readonly counterSeq = new SequenceTracker();
  /** last sample pool and drops readings (-1 before the first) */
  pool = -1;
  drops = -1;
  /** the last flow sample's sampling rate (what a lost sample stood for) */
  rate = 0;
  /** lost flow samples × the rate when they were given up on */
  lostPackets = 0;

  constructor(
    /** false: a source beyond the agent's cap, whose sequences are not checked */
    readonly tracked: boolean,
  ) {}

  /** Gives up on flow samples pending long enough (see SequenceTracker.settle). */
  settle(nowUs: number): void {
    const before = this.flowSeq.lost;
    this.flowSeq.settle(nowUs);
    this.counterSeq.settle(nowUs);
    this.lostPackets += (this.flowSeq.lost - before) * this.rate;
  }

  finish(): void {
    const before = this.flowSeq.lost;
    this.flowSeq.finish();
    this.counterSeq.finish();
    this.lostPackets += (this.flowSeq.lost - before) * this.rate;
  }
}

/** What one agent sent, and what of it is known missing, late or repeated. */
export interface AgentTotals {
  datagrams: number;
  flowSamples: number;
  counterSamples: number;
  /** datagram sequence gaps given up on (all sub-agents) */
  lostDatagrams: number;
  /** flow sample sequence gaps given up on (all sources) */
  lostSamples: number;
  /** lost samples × their sampling rate: packets the loss hides */
  lostPacketsEstimate: number;
  lostCounterSamples: number;
  /** datagrams that arrived behind the highest number and filled its gap */
  lateDatagrams: number;
  lateSamples: number;
  /** datagrams and samples received twice (skipped: not aggregated again) */
  duplicateDatagrams: number;
  duplicateSamples: number;
  /** sequence restarts (agent reboot, numbering reset) of datagrams or samples */
  resets: number;
  /** increase of the agents' own `drops` field: samples it could not send */
  agentDrops: number;
  /** increase of the sample pools: packets the agent's sampled interfaces saw */
  samplePool: number;
  /** datagrams and samples not sequence-checked: beyond the sub-agent or source cap */
  untracked: number;
}

export function zeroTotals(): AgentTotals {
  return {
    datagrams: 0,
    flowSamples: 0,
    counterSamples: 0,
    lostDatagrams: 0,
    lostSamples: 0,
    lostPacketsEstimate: 0,
    lostCounterSamples: 0,
    lateDatagrams: 0,
    lateSamples: 0,
    duplicateDatagrams: 0,
    duplicateSamples: 0,
    resets: 0,
    agentDrops: 0,
    samplePool: 0,
    untracked: 0,
  };
}

/** Adds `b` into `a`. */
export function addTotals(a: AgentTotals, b: AgentTotals): void {
  for (const k of Object.keys(a) as (keyof AgentTotals)[]) a[k] += b[k];
}

export class AgentState {
  datagrams = 0;
  flowSamples = 0;
  counterSamples = 0;
  agentDrops = 0;
  samplePool = 0;
  untracked = 0;
  /** arrival time (µs) of its last datagram */
  lastUs = 0;

  private readonly datagramSeq = new Map<number, SequenceTracker>();
  /** sub-agent → (source type, index) → state */
  private readonly sources = new Map<number, Map<number, SourceState>>();
  private sourceCount = 0;
  private readonly untrackedSource = new SourceState(false);
  private readonly points = new Map<number, number>();
  private lastSourceKey = -1;
  private lastSubAgent = -1;
  private lastSource: SourceState | null = null;
  private lastIfIndex = -1;
  private lastPoint = 0;

  constructor(
    /** the agent address as text (IPv6 in brackets), or OTHER_AGENT */
    readonly name: string,
    private readonly observations: ObservationPoints,
    /** false for the shared `other` agent: no sequences, one observation point */
    readonly tracked = true,
  ) {}

  /**
   * Takes a datagram's sequence number (per sub-agent); false when it is a duplicate of
   * one already received (its samples must not be aggregated again).
   */
  datagram(subAgent: number, sequence: number, uptimeMs: number, tUs: number): boolean {
    this.datagrams++;
    if (!this.tracked) return true;
    let t = this.datagramSeq.get(subAgent);
    if (t === undefined) {
      if (this.datagramSeq.size >= MAX_SUB_AGENTS) {
        this.untracked++;
        return true;
      }
      t = new SequenceTracker(DATAGRAM_WINDOW);
      this.datagramSeq.set(subAgent, t);
    }
    return t.update(sequence, uptimeMs, tUs) !== SeqEvent.DUPLICATE;
  }

  /** The state of a data source (sub-agent, source type, source index). */
  source(subAgent: number, sourceType: number, sourceIndex: number): SourceState {
    if (!this.tracked) return this.untrackedSource;
    // the common case (class < 32, index < 2^24) as a small integer, which V8 hashes
    // fast; anything else as an exact double above 2^40, so the two never collide
    const key =
      sourceType < 32 && sourceIndex < 0x1000000
        ? (sourceType << 24) | sourceIndex
        : 1099511627776 + sourceType * 4294967296 + sourceIndex;
    if (key === this.lastSourceKey && subAgent === this.lastSubAgent && this.lastSource !== null)
      return this.lastSource;
    let bySource = this.sources.get(subAgent);
    let s = bySource?.get(key);
    if (s === undefined) {
      if (this.sourceCount >= MAX_SOURCES_PER_AGENT) return this.untrackedSource;
      if (bySource === undefined) {
        bySource = new Map();
        this.sources.set(subAgent, bySource);
      }
      s = new SourceState(true);
      bySource.set(key, s);
      this.sourceCount++;
    }
    this.lastSourceKey = key;
    this.lastSubAgent = subAgent;
    this.lastSource = s;
    return s;
  }

  /**
   * Accounts one flow sample of source `s` (in a datagram of `uptimeMs`, arrived at
   * `tUs`); false when it is a duplicate, not to be aggregated again.
   */
  flowSample(
    s: SourceState,
    sequence: number,
    rate: number,
    pool: number,
    drops: number,
    uptimeMs: number,
    tUs: number,
  ): boolean {
    this.flowSamples++;
    if (!s.tracked) {
      if (this.tracked) this.untracked++;
      return true;
    }
    const lostBefore = s.flowSeq.lost;
    const ev = s.flowSeq.update(sequence, uptimeMs, tUs);
    s.lostPackets += (s.flowSeq.lost - lostBefore) * rate;
    s.rate = rate;
    if (ev === SeqEvent.DUPLICATE) return false;
    // pool and drops move on in sending order only: a late sample's are older readings;
    // a restarted agent restarts its pool too, so there is no delta across it
    if (ev === SeqEvent.NEXT) {
      if (s.pool >= 0) this.samplePool += u32Delta(s.pool, pool);
      if (s.drops >= 0 && drops >= s.drops) this.agentDrops += drops - s.drops;
    }
    if (ev !== SeqEvent.LATE) {
      s.pool = pool;
      s.drops = drops;
    }
    return true;
  }

  /** Accounts one counter sample; false when it is a duplicate. */
  counterSample(s: SourceState, sequence: number, uptimeMs: number, tUs: number): boolean {
    this.counterSamples++;
    if (!s.tracked) {
      if (this.tracked) this.untracked++;
      return true;
    }
    return s.counterSeq.update(sequence, uptimeMs, tUs) !== SeqEvent.DUPLICATE;
  }

  /** The observation code of (this agent, ifIndex). */
  point(ifIndex: number): number {
    if (!this.tracked) return SFLOW_OTHER_POINT;
    if (ifIndex === this.lastIfIndex) return this.lastPoint;
    let code = this.points.get(ifIndex);
    if (code === undefined) {
      code = this.observations.register(this.name, ifIndex);
      // a refused registration (the table is full) is not kept: an agent inventing
      // ifIndexes must not grow this map either
      if (code === SFLOW_OTHER_POINT) return code;
      this.points.set(ifIndex, code);
    }
    this.lastIfIndex = ifIndex;
    this.lastPoint = code;
    return code;
  }

  /** Gives up on gaps pending long enough by `nowUs`. */
  settle(nowUs: number): void {
    for (const t of this.datagramSeq.values()) t.settle(nowUs);
    for (const m of this.sources.values()) for (const s of m.values()) s.settle(nowUs);
  }

  /** Gives up on every pending gap (the input ended). */
  finish(): void {
    for (const t of this.datagramSeq.values()) t.finish();
    for (const m of this.sources.values()) for (const s of m.values()) s.finish();
  }

  totals(): AgentTotals {
    const t = zeroTotals();
    t.datagrams = this.datagrams;
    t.flowSamples = this.flowSamples;
    t.counterSamples = this.counterSamples;
    t.agentDrops = this.agentDrops;
    t.samplePool = this.samplePool;
    t.untracked = this.untracked;
    for (const d of this.datagramSeq.values()) {
      t.lostDatagrams += d.lost;
      t.lateDatagrams += d.late;
      t.duplicateDatagrams += d.duplicates;
      t.resets += d.resets;
    }
    for (const m of this.sources.values()) {
      for (const s of m.values()) {
        t.lostSamples += s.flowSeq.lost;
        t.lostPacketsEstimate += s.lostPackets;
        t.lostCounterSamples += s.counterSeq.lost;
        t.lateSamples += s.flowSeq.late + s.counterSeq.late;
        t.duplicateSamples += s.flowSeq.duplicates + s.counterSeq.duplicates;
        t.resets += s.flowSeq.resets + s.counterSeq.resets;
      }
    }
    return t;
  }
}

export interface AgentTableOptions {
  /** live agents tracked (default MAX_SFLOW_AGENTS) */
  maxAgents?: number;
  /** an agent not heard for this long is forgotten (µs of arrival time; default 10 min) */
  idleUs?: number;
}

/** Agents by address, bounded (see the top of this file). */
export class AgentTable {
  readonly maxAgents: number;
  readonly idleUs: number;
  /** datagrams of new agents refused because maxAgents were live (they went to `other`) */
  overflowDatagrams = 0;
  /** agents forgotten after idleUs */
  expiredAgents = 0;
  /** what the forgotten agents had sent (kept in the totals) */
  readonly expired: AgentTotals = zeroTotals();
  private readonly v4 = new Map<number, AgentState>();
  private readonly v6 = new Map<string, AgentState>();
  private readonly other: AgentState;
  private last: AgentState | null = null;
  private lastType = 0;
  private lastV4 = 0;
  private readonly lastV6 = new Uint8Array(16);
  private lastSweepUs = 0;

  constructor(
    private readonly observations: ObservationPoints,
    options: AgentTableOptions = {},
  ) {
    this.maxAgents = options.maxAgents ?? MAX_SFLOW_AGENTS;
    this.idleUs = options.idleUs ?? AGENT_IDLE_US;
    if (!(this.maxAgents >= 1 && this.idleUs > 0))
      throw new RangeError('agent table: maxAgents >= 1, idleUs > 0');
    this.other = new AgentState(OTHER_AGENT, observations, false);
  }

  /** Live agents (not counting `other`). */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /**
   * The agent of a datagram that arrived at `tUs` (µs since the epoch); without `tUs`, a
   * look-up that does not count as hearing from it.
   */
  lookup(d: DatagramHeader, tUs?: number): AgentState {
    const now = tUs ?? this.lastSweepUs;
    if (now - this.lastSweepUs >= SWEEP_EVERY_US) this.sweep(now);
    const last = this.last;
    if (last !== null && d.agentType === this.lastType) {
      if (d.agentType === 1 ? d.agent4 === this.lastV4 : sameBytes(d.agent6, this.lastV6)) {
        if (tUs !== undefined) last.lastUs = tUs;
        return last;
      }
    }
    let a: AgentState | undefined;
    if (d.agentType === 1) {
      a = this.v4.get(d.agent4);
      if (a === undefined) {
        a = this.admit(now, () => ipv4ToString(d.agent4));
        if (a !== this.other) this.v4.set(d.agent4, a);
      }
      this.lastV4 = d.agent4;
    } else {
      const name = `[${ipv6ToString(d.agent6)}]`;
      a = this.v6.get(name);
      if (a === undefined) {
        a = this.admit(now, () => name);
        if (a !== this.other) this.v6.set(name, a);
      }
      this.lastV6.set(d.agent6);
    }
    a.lastUs = now;
    this.lastType = d.agentType;
    // `other` is not cached: the next datagram of a refused address asks again (and is
    // counted again), and one that a sweep made room for gets its own state
    this.last = a === this.other ? null : a;
    if (a === this.other) this.overflowDatagrams++;
    return a;
  }

  /** A new agent's state, or `other` when maxAgents are live even after forgetting idle ones. */
  private admit(tUs: number, name: () => string): AgentState {
    if (this.size >= this.maxAgents) this.sweep(tUs);
    if (this.size >= this.maxAgents) return this.other;
    return new AgentState(name(), this.observations);
  }

  /** Forgets agents not heard for idleUs by `nowUs`, keeping their counts in `expired`. */
  sweep(nowUs: number): void {
    this.lastSweepUs = nowUs;
    for (const map of [this.v4, this.v6] as Map<unknown, AgentState>[]) {
      for (const [k, a] of map) {
        if (nowUs - a.lastUs <= this.idleUs) continue;
        a.finish();
        addTotals(this.expired, a.totals());
        map.delete(k);
        this.expiredAgents++;
        if (a === this.last) this.last = null;
      }
    }
  }

  /** Gives up on every live agent's gaps pending long enough by `nowUs`. */
  settle(nowUs: number): void {
    for (const a of this.v4.values()) a.settle(nowUs);
    for (const a of this.v6.values()) a.settle(nowUs);
  }

  finish(): void {
    for (const a of this.v4.values()) a.finish();
    for (const a of this.v6.values()) a.finish();
  }

  /** Live agents, then `other` once it has had datagrams. */
  all(): AgentState[] {
    const out = [...this.v4.values(), ...this.v6.values()];
    if (this.other.datagrams > 0) out.push(this.other);
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
