/**
 * Per-agent state: which agents and data sources have been heard, their sequence numbers
 * (loss estimates, see loss.ts), and their observation point codes (observation.ts).
 *
 * Looked up once per datagram (the agent) and once per sample (the source and the
 * ifIndex), with a one-entry cache in front of each map: an agent's datagrams mostly
 * carry samples of one source in a row, and a collector mostly hears the same agent
 * again, so the common case compares a few numbers and allocates nothing.
 */
import { ipv4ToString, ipv6ToString } from '../decode/addr.js';
import { SequenceTracker, u32Delta } from './loss.js';
import type { ObservationPoints } from './observation.js';
import type { DatagramHeader } from './types.js';

/** One data source of one sub-agent: its flow and counter sample sequences. */
export class SourceState {
  readonly flowSeq = new SequenceTracker();
  readonly counterSeq = new SequenceTracker();
  /** last sample pool and drops readings (-1 before the first) */
  pool = -1;
  drops = -1;
}

/** What one agent sent, and what of it is known to be missing. */
export class AgentState {
  datagrams = 0;
  flowSamples = 0;
  counterSamples = 0;
  /** datagram sequence gaps (all sub-agents) */
  lostDatagrams = 0;
  /** flow sample sequence gaps (all sources) */
  lostSamples = 0;
  /** lost samples × their sampling rate: packets the loss hides */
  lostPacketsEstimate = 0;
  lostCounterSamples = 0;
  /** sequence restarts (agent reboot, reordering) of datagrams or samples */
  resets = 0;
  /** increase of the agents' own `drops` field: samples it could not send */
  agentDrops = 0;
  /** increase of the sample pools: packets the agent's sampled interfaces saw */
  samplePool = 0;

  private readonly datagramSeq = new Map<number, SequenceTracker>();
  /** sub-agent → (source type, index) → state */
  private readonly sources = new Map<number, Map<number, SourceState>>();
  private readonly points = new Map<number, number>();
  private lastSourceKey = -1;
  private lastSubAgent = -1;
  private lastSource: SourceState | null = null;
  private lastIfIndex = -1;
  private lastPoint = 0;

  constructor(
    /** the agent address as text (IPv6 in brackets) */
    readonly name: string,
    private readonly observations: ObservationPoints,
  ) {}

  /** Takes a datagram's sequence number (per sub-agent). */
  datagram(subAgent: number, sequence: number): void {
    this.datagrams++;
    let t = this.datagramSeq.get(subAgent);
    if (t === undefined) {
      t = new SequenceTracker();
      this.datagramSeq.set(subAgent, t);
    }
    const before = t.resets;
    this.lostDatagrams += t.update(sequence);
    this.resets += t.resets - before;
  }

  /** The state of a data source (sub-agent, source type, source index). */
  source(subAgent: number, sourceType: number, sourceIndex: number): SourceState {
    // the common case (class < 32, index < 2^24) as a small integer, which V8 hashes
    // fast; anything else as an exact double above 2^40, so the two never collide
    const key =
      sourceType < 32 && sourceIndex < 0x1000000
        ? (sourceType << 24) | sourceIndex
        : 1099511627776 + sourceType * 4294967296 + sourceIndex;
    if (key === this.lastSourceKey && subAgent === this.lastSubAgent && this.lastSource !== null)
      return this.lastSource;
    let bySource = this.sources.get(subAgent);
    if (bySource === undefined) {
      bySource = new Map();
      this.sources.set(subAgent, bySource);
    }
    let s = bySource.get(key);
    if (s === undefined) {
      s = new SourceState();
      bySource.set(key, s);
    }
    this.lastSourceKey = key;
    this.lastSubAgent = subAgent;
    this.lastSource = s;
    return s;
  }

  /** Accounts one flow sample of source `s`. */
  flowSample(s: SourceState, sequence: number, rate: number, pool: number, drops: number): void {
    this.flowSamples++;
    const fBefore = s.flowSeq.resets;
    const lost = s.flowSeq.update(sequence);
    const restarted = s.flowSeq.resets !== fBefore;
    if (restarted) this.resets++;
    this.lostSamples += lost;
    this.lostPacketsEstimate += lost * rate;
    // a restarted agent restarts its pool too: no delta across it
    if (s.pool >= 0 && !restarted) this.samplePool += u32Delta(s.pool, pool);
    if (s.drops >= 0 && drops >= s.drops) this.agentDrops += drops - s.drops;
    s.pool = pool;
    s.drops = drops;
  }

  counterSample(s: SourceState, sequence: number): void {
    this.counterSamples++;
    const before = s.counterSeq.resets;
    this.lostCounterSamples += s.counterSeq.update(sequence);
    this.resets += s.counterSeq.resets - before;
  }

  /** The observation code of (this agent, ifIndex). */
  point(ifIndex: number): number {
    if (ifIndex === this.lastIfIndex) return this.lastPoint;
    let code = this.points.get(ifIndex);
    if (code === undefined) {
      code = this.observations.register(this.name, ifIndex);
      this.points.set(ifIndex, code);
    }
    this.lastIfIndex = ifIndex;
    this.lastPoint = code;
    return code;
  }
}

/** Agents by address. */
export class AgentTable {
  private readonly v4 = new Map<number, AgentState>();
  private readonly v6 = new Map<string, AgentState>();
  private last: AgentState | null = null;
  private lastType = 0;
  private lastV4 = 0;
  private readonly lastV6 = new Uint8Array(16);

  constructor(private readonly observations: ObservationPoints) {}

  lookup(d: DatagramHeader): AgentState {
    const last = this.last;
    if (last !== null && d.agentType === this.lastType) {
      if (d.agentType === 1 ? d.agent4 === this.lastV4 : sameBytes(d.agent6, this.lastV6)) return last;
    }
    let a: AgentState | undefined;
    if (d.agentType === 1) {
      a = this.v4.get(d.agent4);
      if (a === undefined) {
        a = new AgentState(ipv4ToString(d.agent4), this.observations);
        this.v4.set(d.agent4, a);
      }
      this.lastV4 = d.agent4;
    } else {
      const name = `[${ipv6ToString(d.agent6)}]`;
      a = this.v6.get(name);
      if (a === undefined) {
        a = new AgentState(name, this.observations);
        this.v6.set(name, a);
      }
      this.lastV6.set(d.agent6);
    }
    this.lastType = d.agentType;
    this.last = a;
    return a;
  }

  all(): AgentState[] {
    return [...this.v4.values(), ...this.v6.values()];
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
