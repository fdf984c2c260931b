/**
 * Flow aggregation per time window. A flow is keyed by window, observation point, VLAN,
 * VNI, MACs, IPs, ports, protocol and sampling rate, and carries the endpoints its
 * packets were attributed to; it sums bytes and packets (scaled by the sampling rate) and
 * ORs TCP flags. Closed windows are handed on as columnar `FlowBatch`es.
 *
 * Hand-written for measured speed (the packet path's budget is ~250 ns a packet):
 * - an open-addressing hash table whose slots are the rows themselves: one 128-byte row
 *   per flow (key, attribution and counters), so a lookup costs one or two cache misses
 *   and allocates nothing. Measured against it: a JS Map keyed by a composed string (an
 *   allocation per packet), a column per field, and slots pointing into dense rows were
 *   each slower once the table outgrew the cache;
 * - a flow is attributed once, not per packet: the endpoint index says over which span
 *   of time its answer holds (and its generation says whether the inventory changed), so
 *   later packets of the flow reuse it. When a packet falls outside that span and its
 *   endpoints did change (an IP reused mid-window), the flow so far is emitted on its own
 *   and the entry starts again with the new endpoints: a flow never mixes two pods.
 *
 * Memory is bounded by `maxFlows` (see DEFAULT_MAX_FLOWS for what it costs): when the table
 * is full, every open flow is emitted early (counted in `overflows`) instead of dropping
 * traffic; the flows simply split.
 *
 * Windows close by the input's time (InputClock): a packet stamped far from it (a corrupt
 * record) keeps its own time but neither closes windows nor makes later packets late.
 * Window starts are kept as uint32 seconds, as the store's DateTime (up to 2106-02-07): a
 * packet stamped later is attributed and counted (`timeOutOfRange`) but in no flow, as the
 * store refuses such a time rather than keep it at a wrong one.
 */

import { Attribution, type AttributionCounters, attribute } from '../attribution/attribute.js';
import type { Endpoint, EndpointIndex } from '../attribution/endpoint-index.js';
import { ipv4ToString, ipv6ToString, macToString } from '../decode/addr.js';
import type { DecodedPacket } from '../decode/packet.js';
import { InputClock, Seen } from './input-clock.js';

export interface FlowRecord {
  /** window start, seconds since the epoch */
  windowStart: number;
  windowSeconds: number;
  /** observation point: ERSPAN session, sFlow agent/ifIndex code, or -1 */
  observation: number;
  vlan: number;
  /** -1 when not tunnelled */
  vni: number;
  srcMac: string;
  dstMac: string;
  /** the MACs as 48-bit numbers (what the store keeps) */
  srcMacNum: number;
  dstMacNum: number;
  ipVersion: number;
  /** '' when the packet had no IP layer */
  srcIp: string;
  dstIp: string;
  /** -1 when no IP */
  protocol: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** scaled by the sampling rate */
  bytes: number;
  packets: number;
  /** packets actually seen */
  samples: number;
  samplingRate: number;
  src: Endpoint | null;
  dst: Endpoint | null;
  /** which key attributed each side: 'mac' or 'ip' ('none' when unattributed) */
  srcBy: 'none' | 'mac' | 'ip';
  dstBy: 'none' | 'mac' | 'ip';
  firstSeenUs: number;
  lastSeenUs: number;
}

export interface FlowTableOptions {
  index: EndpointIndex;
  /** per-packet attribution counts (by reason), kept whether or not a flow was cached */
  counters: AttributionCounters;
  /** whole seconds, at most 1800, nesting in minutes and hours (see windowProblem) */
  windowSeconds?: number;
  /** a window closes once a packet this many seconds past its end arrives (disorder tolerance) */
  graceSeconds?: number;
  /**
   * a packet more than this many seconds from the input's time is far: it keeps its own
   * time but moves no window until the input follows it (InputClock); default 3600
   */
  clockStepSeconds?: number;
  maxFlows?: number;
  onFlows: (flows: FlowBatch) => void;
}

export interface FlowTableStats {
  /** flows currently open */
  open: number;
  emitted: number;
  /** times the table was full and emitted early */
  overflows: number;
  /** packets for windows already closed (still counted, in a fresh flow) */
  latePackets: number;
  /**
   * packets stamped far from the input's time that the input did not follow (InputClock),
   * kept in windows of their own time
   */
  timeOutliers: number;
  /**
   * packets stamped past 2106-02-07T06:28:15Z, what a window start and the store's DateTime
   * hold: counted (and attributed), in no flow
   */
  timeOutOfRange: number;
  /** times the input's time moved more than clockStepSeconds at once and was followed */
  clockJumps: number;
  /** flows emitted early because their endpoints changed within the window */
  splits: number;
  /** packets that needed a fresh attribution (the rest reused their flow's) */
  attributions: number;
}

const MIN_SLOTS = 1 << 12;
/**
 * 128 B a flow, in a power-of-two table at most 3/4 full, plus a spare table of the same
 * size that emit() fills with the flows it keeps: at this default, 524,288 slots, 64 MiB
 * each, 128 MiB once a window has closed (measured: arrayBuffers 64.1 MiB full before the
 * first emit, 128.1 MiB after), and each emitted batch (32 MiB when the whole table goes)
 * until its consumer lets it go: about 160 MiB at peak.
 */
export const DEFAULT_MAX_FLOWS = 262_144;
/** a window start is a uint32 of seconds, as the store's DateTime: no time from here on has a window */
const TIME_LIMIT = 4294967296;

// Row layout, in int32 words. Words R_WINDOW..R_KEY_END-1 are the key.
const R_TAG = 0; // (hash | 1): never 0, so 0 marks an empty slot
const R_WINDOW = 1; // window start, seconds since the epoch, as uint32 (up to 2106-02-07)
const R_OBS = 2;
const R_VLAN_IPV_PROTO = 3; // vlan | ipVersion << 12 | (protocol & 0xff) << 16
const R_VNI = 4;
const R_MAC_HI = 5; // high 16 bits of the source MAC << 16 | those of the destination MAC
const R_SMAC_LO = 6;
const R_DMAC_LO = 7;
const R_PORTS = 8; // srcPort << 16 | dstPort
const R_RATE = 9;
// IPv4 addresses are the first word of each address and sit together, so an IPv4 key is
// words 1..11 (the IPv6 tail words stay 0)
const R_SRC_IP0 = 10;
const R_DST_IP0 = 11;
const R_SRC_IP1 = 12; // IPv6 words 1..3
const R_DST_IP1 = 15; // IPv6 words 1..3
const R_KEY_END = 18;
const V4_KEY_END = 12;
// per-flow state
const R_FLAGS = 18; // OR of TCP flags
const R_SRC_EP = 19; // endpoint id or -1
const R_DST_EP = 20;
const R_ATTR = 21; // srcReason | dstReason << 4 | srcBy << 8 | dstBy << 10
const R_GEN = 22; // index generation of the cached attribution
const R_FIRST = 23; // µs after the window start
const R_LAST = 24;
const R_VALID_FROM = 25; // the cached attribution holds over [from, to), µs after the window start
const R_VALID_TO = 26;
// doubles (index in the row's Float64 view: word / 2)
const F_BYTES = 14; // words 28-29
const F_PACKETS = 15; // words 30-31
const RW = 32; // 128 bytes
const RF = RW / 2;

const TWO32 = 4294967296;
/** packet times within a window are int32 µs offsets (at most 2147 s); 30 min nests in an hour */
export const MAX_WINDOW_SECONDS = 1800;

/**
 * Why a flow window length cannot be used, or null. Whole seconds (the store's window_start
 * is a DateTime), at most MAX_WINDOW_SECONDS, and nesting in the 1-minute and 1-hour
 * rollups: up to a minute it divides a minute, above it is whole minutes dividing an hour.
 * Windows start at multiples of their length since the epoch, so a 7 s or 16 s window
 * would straddle minutes and be rolled up into the minute it starts in.
 */
export function windowProblem(seconds: number, text: string = String(seconds)): string | null {
  if (!Number.isInteger(seconds)) return `${text} is not a whole number of seconds`;
  if (seconds <= 0) return `${text} must be greater than zero`;
  if (seconds > MAX_WINDOW_SECONDS) {
    return `${text} is longer than the longest window, ${MAX_WINDOW_SECONDS / 60}m (${MAX_WINDOW_SECONDS} s)`;
  }
  if (seconds <= 60) {
    return 60 % seconds === 0
      ? null
      : `${text} does not divide a minute (windows up to 1m: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60 s)`;
  }
  if (seconds % 60 !== 0) return `${text} is not a whole number of minutes (windows above 1m)`;
  return 3600 % seconds === 0
    ? null
    : `${text} does not divide an hour (windows above 1m: 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 m)`;
}

const BY = ['none', 'mac', 'ip'] as const;

/** Closed flows, as rows (cheap to hand on); `records()` makes objects for output. */
export class FlowBatch {
  private readonly f64: Float64Array;

  constructor(
    readonly count: number,
    private readonly rows: Int32Array,
    private readonly base: number,
    readonly windowSeconds: number,
    private readonly endpoints: readonly Endpoint[],
  ) {
    this.f64 = new Float64Array(rows.buffer, rows.byteOffset, rows.length / 2);
  }

  // Per-field accessors for columnar sinks (ingest/flow-arrow.ts): small enough for V8 to
  // inline, so a sink reads the rows without building a FlowRecord object per flow.
  windowStart(i: number): number {
    return (this.rows[i * RW + R_WINDOW] >>> 0) + this.base;
  }
  observation(i: number): number {
    return this.rows[i * RW + R_OBS];
  }
  vlan(i: number): number {
    return this.rows[i * RW + R_VLAN_IPV_PROTO] & 0xfff;
  }
  ipVersion(i: number): number {
    return (this.rows[i * RW + R_VLAN_IPV_PROTO] >>> 12) & 0xf;
  }
  /** IP protocol, -1 when the packets had no IP layer */
  protocol(i: number): number {
    const v = this.rows[i * RW + R_VLAN_IPV_PROTO];
    return ((v >>> 12) & 0xf) === 0 ? -1 : (v >>> 16) & 0xff;
  }
  vni(i: number): number {
    return this.rows[i * RW + R_VNI];
  }
  srcMac(i: number): number {
    const o = i * RW;
    return (this.rows[o + R_MAC_HI] >>> 16) * TWO32 + (this.rows[o + R_SMAC_LO] >>> 0);
  }
  dstMac(i: number): number {
    const o = i * RW;
    return (this.rows[o + R_MAC_HI] & 0xffff) * TWO32 + (this.rows[o + R_DMAC_LO] >>> 0);
  }
  /** The first word of the source IP: the whole IPv4 address (signed int32) */
  srcIpWord(i: number): number {
    return this.rows[i * RW + R_SRC_IP0];
  }
  dstIpWord(i: number): number {
    return this.rows[i * RW + R_DST_IP0];
  }
  srcIp(i: number): string {
    return ipString(this.ipVersion(i), this.rows, i * RW + R_SRC_IP0, i * RW + R_SRC_IP1);
  }
  dstIp(i: number): string {
    return ipString(this.ipVersion(i), this.rows, i * RW + R_DST_IP0, i * RW + R_DST_IP1);
  }
  /**
   * The source (side 0) or destination (side 1) address as 16 bytes into `out` at `at`:
   * IPv6 as is, IPv4 mapped (::ffff:a.b.c.d), no IP as ::.
   */
  ipBytes(i: number, side: 0 | 1, out: Uint8Array, at: number): void {
    const o = i * RW;
    const ipv = (this.rows[o + R_VLAN_IPV_PROTO] >>> 12) & 0xf;
    const w0 = this.rows[o + (side === 0 ? R_SRC_IP0 : R_DST_IP0)];
    if (ipv === 4) {
      out.fill(0, at, at + 10);
      out[at + 10] = 0xff;
      out[at + 11] = 0xff;
      writeWord(out, at + 12, w0);
    } else if (ipv === 6) {
      const w1 = o + (side === 0 ? R_SRC_IP1 : R_DST_IP1);
      writeWord(out, at, w0);
      for (let k = 0; k < 3; k++) writeWord(out, at + 4 + k * 4, this.rows[w1 + k]);
    } else {
      out.fill(0, at, at + 16);
    }
  }

  srcPort(i: number): number {
    return this.rows[i * RW + R_PORTS] >>> 16;
  }
  dstPort(i: number): number {
    return this.rows[i * RW + R_PORTS] & 0xffff;
  }
  tcpFlags(i: number): number {
    return this.rows[i * RW + R_FLAGS];
  }
  /** endpoint id (index into `endpointList`), -1 when unattributed */
  srcEndpoint(i: number): number {
    return this.rows[i * RW + R_SRC_EP];
  }
  dstEndpoint(i: number): number {
    return this.rows[i * RW + R_DST_EP];
  }
  get endpointList(): readonly Endpoint[] {
    return this.endpoints;
  }
  bytes(i: number): number {
    return this.f64[i * RF + F_BYTES];
  }
  packets(i: number): number {
    return this.f64[i * RF + F_PACKETS];
  }
  samplingRate(i: number): number {
    return this.rows[i * RW + R_RATE];
  }
  /** which key attributed the source: 'mac' or 'ip' ('none' when unattributed) */
  srcBy(i: number): FlowRecord['srcBy'] {
    return BY[(this.rows[i * RW + R_ATTR] >>> 8) & 3];
  }
  dstBy(i: number): FlowRecord['dstBy'] {
    return BY[(this.rows[i * RW + R_ATTR] >>> 10) & 3];
  }
  firstSeenUs(i: number): number {
    return this.windowStart(i) * 1e6 + this.rows[i * RW + R_FIRST];
  }
  lastSeenUs(i: number): number {
    return this.windowStart(i) * 1e6 + this.rows[i * RW + R_LAST];
  }

  /**
   * The flows' indexes by window then first packet (the order of `records()`), sorted on
   * the rows: output can walk the batch without making a record object per flow.
   */
  order(): number[] {
    const idx = Array.from({ length: this.count }, (_, i) => i);
    const w = new Float64Array(this.count);
    const first = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) {
      w[i] = this.windowStart(i);
      first[i] = this.firstSeenUs(i);
    }
    // a stable sort over ascending indexes: ties keep the rows' order, as records() did
    return idx.sort((x, y) => w[x] - w[y] || first[x] - first[y]);
  }

  /**
   * The batch's parts, for posting to another thread (the rows' buffer can be transferred:
   * every emit makes a fresh array); `new FlowBatch(count, rows, base, windowSeconds,
   * endpoints)` there puts it back together over that thread's endpoint list.
   */
  parts(): { count: number; rows: Int32Array; base: number; windowSeconds: number } {
    return { count: this.count, rows: this.rows, base: this.base, windowSeconds: this.windowSeconds };
  }

  /** The first `count` flows, `seconds` later (a benchmark replaying traffic); shares the rows. */
  shifted(seconds: number, count = this.count): FlowBatch {
    return new FlowBatch(
      Math.min(count, this.count),
      this.rows,
      this.base + seconds,
      this.windowSeconds,
      this.endpoints,
    );
  }

  /** Sum of packets (scaled) in the batch. */
  totalPackets(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += this.f64[i * RF + F_PACKETS];
    return n;
  }

  record(i: number): FlowRecord {
    const r = this.rows;
    const o = i * RW;
    const vip = r[o + R_VLAN_IPV_PROTO];
    const ipv = (vip >>> 12) & 0xf;
    const srcEp = r[o + R_SRC_EP];
    const dstEp = r[o + R_DST_EP];
    const attr = r[o + R_ATTR];
    const windowStart = (r[o + R_WINDOW] >>> 0) + this.base;
    const rate = r[o + R_RATE];
    const packets = this.f64[i * RF + F_PACKETS];
    const macHi = r[o + R_MAC_HI];
    const srcMacNum = (macHi >>> 16) * TWO32 + (r[o + R_SMAC_LO] >>> 0);
    const dstMacNum = (macHi & 0xffff) * TWO32 + (r[o + R_DMAC_LO] >>> 0);
    return {
      windowStart,
      windowSeconds: this.windowSeconds,
      observation: r[o + R_OBS],
      vlan: vip & 0xfff,
      vni: r[o + R_VNI],
      srcMac: macToString(srcMacNum),
      dstMac: macToString(dstMacNum),
      srcMacNum,
      dstMacNum,
      ipVersion: ipv,
      srcIp: ipString(ipv, r, o + R_SRC_IP0, o + R_SRC_IP1),
      dstIp: ipString(ipv, r, o + R_DST_IP0, o + R_DST_IP1),
      protocol: ipv === 0 ? -1 : (vip >>> 16) & 0xff,
      srcPort: r[o + R_PORTS] >>> 16,
      dstPort: r[o + R_PORTS] & 0xffff,
      tcpFlags: r[o + R_FLAGS],
      bytes: this.f64[i * RF + F_BYTES],
      packets,
      samples: packets / rate,
      samplingRate: rate,
      src: srcEp < 0 ? null : this.endpoints[srcEp],
      dst: dstEp < 0 ? null : this.endpoints[dstEp],
      srcBy: BY[(attr >>> 8) & 3],
      dstBy: BY[(attr >>> 10) & 3],
      firstSeenUs: windowStart * 1e6 + r[o + R_FIRST],
      lastSeenUs: windowStart * 1e6 + r[o + R_LAST],
    };
  }

  /** Every flow as an object, by window then first packet. */
  records(): FlowRecord[] {
    return this.order().map((i) => this.record(i));
  }
}

export class FlowTable {
  readonly windowSeconds: number;
  readonly graceSeconds: number;
  readonly maxFlows: number;
  private readonly index: EndpointIndex;
  private readonly counters: AttributionCounters;
  private readonly onFlows: (flows: FlowBatch) => void;
  private readonly scratch = new Attribution();
  private readonly windowUs: number;

  private mask = 0;
  private rows: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /** a second table of the same size, reused by emit() */
  private spare: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private f64: Float64Array<ArrayBufferLike> = new Float64Array(0);
  /** occupied rows */
  private count = 0;
  /** the input's time, by which windows close */
  private readonly clock: InputClock;
  /** whether the last packet was far from the input's time (a run the clock has not followed) */
  private farRun = false;
  /** packets of the clock's current far run that were counted late (undone if it jumps back) */
  private runLate = 0;
  /** windows starting before this are closed */
  private closedBefore = Number.NEGATIVE_INFINITY;
  /** the clock when windows were last closed by it */
  private closedAt = Number.NEGATIVE_INFINITY;
  private readonly k = new Int32Array(RW);

  readonly stats: FlowTableStats = {
    open: 0,
    emitted: 0,
    overflows: 0,
    latePackets: 0,
    timeOutliers: 0,
    timeOutOfRange: 0,
    clockJumps: 0,
    splits: 0,
    attributions: 0,
  };

  constructor(opts: FlowTableOptions) {
    this.windowSeconds = opts.windowSeconds ?? 10;
    this.graceSeconds = opts.graceSeconds ?? 1;
    this.maxFlows = opts.maxFlows ?? DEFAULT_MAX_FLOWS;
    const problem = windowProblem(this.windowSeconds);
    if (problem !== null) throw new RangeError(`flow window: ${problem}`);
    if (!(this.maxFlows >= 1)) throw new RangeError('maxFlows must be >= 1');
    this.windowUs = this.windowSeconds * 1e6;
    this.clock = new InputClock(opts.clockStepSeconds ?? 3600);
    this.index = opts.index;
    this.counters = opts.counters;
    this.onFlows = opts.onFlows;
    this.resize(MIN_SLOTS);
  }

  /**
   * Adds one decoded packet. Without `attributed`, the table attributes it (once per flow,
   * counting every packet in `counters`); with it, that attribution is used as is (the
   * caller has attributed and counted the packet, e.g. to trace it too).
   */
  add(
    p: DecodedPacket,
    tsSec: number,
    tUs: number,
    observation: number,
    samplingRate = 1,
    attributed?: Attribution,
    /** packets the record stands for before scaling (a NetFlow record: its packet count; p.innerLength is then their bytes) */
    count = 1,
  ): void {
    if (!(tsSec >= 0 && tsSec < TIME_LIMIT)) {
      // no window (nor the store) holds this time: counted, attributed like any packet read
      this.stats.timeOutOfRange++;
      if (attributed === undefined) attribute(p, tUs, this.index, this.scratch, this.counters);
      return;
    }
    const seen = this.clock.see(tsSec);
    if (seen !== Seen.NEAR) this.clockEvent(seen);
    if (this.clock.now > this.closedAt) this.closeByClock();
    const win = Math.floor(tsSec / this.windowSeconds) * this.windowSeconds;
    if (win < this.closedBefore) {
      this.stats.latePackets++;
      if (this.farRun) this.runLate++;
    }
    this.put(p, win, tUs, observation, samplingRate, attributed, count);
  }

  /** A packet the clock did not find near: outliers counted, or the input's time jumped. */
  private clockEvent(seen: number): void {
    const c = this.clock;
    this.farRun = seen === Seen.FAR_NEW || seen === Seen.FAR;
    if (seen === Seen.FAR_NEW) this.runLate = 0;
    if (seen === Seen.JUMPED && c.now < this.closedAt) {
      // back in time (the earlier part of a capture after the later): its windows open again;
      // the run's packets were not late after all, and the later part's flows are done
      this.stats.latePackets -= this.runLate;
      this.closedBefore = Number.NEGATIVE_INFINITY;
      this.closedAt = Number.NEGATIVE_INFINITY;
      const after = c.now + c.step;
      if (this.count > 0) this.emit((o) => this.rows[o + R_WINDOW] >>> 0 > after);
    }
    if (!this.farRun) this.runLate = 0;
    this.stats.timeOutliers = c.outliers;
    this.stats.clockJumps = c.jumps;
  }

  /** Closes every window whose end + grace the input's time has passed. */
  private closeByClock(): void {
    const now = this.clock.now;
    this.closedAt = now;
    const closeBefore = Math.floor((now - this.graceSeconds) / this.windowSeconds) * this.windowSeconds;
    if (closeBefore > this.closedBefore) this.closeBefore(closeBefore);
  }

  /** Adds a packet of window `win` (seconds) to its flow. */
  private put(
    p: DecodedPacket,
    win: number,
    tUs: number,
    observation: number,
    samplingRate: number,
    attributed: Attribution | undefined,
    count: number,
  ): void {
    const tRel = tUs - win * 1e6;

    // the key of this packet, built in a scratch row
    const k = this.k;
    const ipv = p.ipVersion;
    k[R_WINDOW] = win | 0;
    k[R_OBS] = observation;
    k[R_VLAN_IPV_PROTO] = p.vlan | (ipv << 12) | ((p.protocol & 0xff) << 16);
    k[R_VNI] = p.vni;
    k[R_MAC_HI] = (((p.srcMac / TWO32) | 0) << 16) | ((p.dstMac / TWO32) | 0);
    k[R_SMAC_LO] = p.srcMac | 0;
    k[R_DMAC_LO] = p.dstMac | 0;
    k[R_PORTS] = (p.srcPort << 16) | p.dstPort;
    k[R_RATE] = samplingRate;
    let end = V4_KEY_END;
    if (ipv === 4) {
      k[R_SRC_IP0] = p.src4;
      k[R_DST_IP0] = p.dst4;
    } else if (ipv === 6) {
      readIp6(p.src6, k, R_SRC_IP0, R_SRC_IP1);
      readIp6(p.dst6, k, R_DST_IP0, R_DST_IP1);
      end = R_KEY_END;
    } else {
      k[R_SRC_IP0] = k[R_DST_IP0] = 0;
    }
    if (end === V4_KEY_END) for (let i = V4_KEY_END; i < R_KEY_END; i++) k[i] = 0;
    // Hash the words that tell flows apart (the full key is compared on a tag match):
    // two independent multiply chains, half the latency of one.
    let h1 = Math.imul(k[R_WINDOW] ^ k[R_OBS] ^ 0x9e3779b1, 0xcc9e2d51);
    let h2 = Math.imul(k[R_VLAN_IPV_PROTO] ^ k[R_VNI] ^ 0x85ebca6b, 0x1b873593);
    h1 = Math.imul(h1 ^ k[R_SMAC_LO], 0xcc9e2d51);
    h2 = Math.imul(h2 ^ k[R_DMAC_LO], 0x1b873593);
    h1 = Math.imul(h1 ^ k[R_SRC_IP0], 0xcc9e2d51);
    h2 = Math.imul(h2 ^ k[R_DST_IP0], 0x1b873593);
    h1 = Math.imul(h1 ^ k[R_PORTS], 0xcc9e2d51);
    if (end === R_KEY_END) {
      for (let i = R_SRC_IP1; i < R_KEY_END; i += 2) {
        h1 = Math.imul(h1 ^ k[i], 0xcc9e2d51);
        h2 = Math.imul(h2 ^ k[i + 1], 0x1b873593);
      }
    }
    let h = h1 ^ Math.imul(h2 ^ (h2 >>> 15), 0x27d4eb2f);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 16;
    const tag = h | 1;

    const rows = this.rows;
    const mask = this.mask;
    let slot = (h >>> 1) & mask;
    let o = slot * RW;
    let found = false;
    for (;;) {
      const t = rows[o];
      if (t === 0) break;
      if (t === tag && sameKey(rows, o, k, end)) {
        found = true;
        break;
      }
      slot = (slot + 1) & mask;
      o = slot * RW;
    }

    if (found && attributed === undefined) {
      if (
        rows[o + R_GEN] === this.index.generation &&
        tRel >= rows[o + R_VALID_FROM] &&
        tRel < rows[o + R_VALID_TO]
      ) {
        // the flow's attribution holds: count this packet under it
        const c = this.counters;
        const attr = rows[o + R_ATTR];
        c.packets++;
        c.src[attr & 0xf]++;
        c.dst[(attr >>> 4) & 0xf]++;
        if (rows[o + R_SRC_EP] >= 0 || rows[o + R_DST_EP] >= 0) c.attributed++;
        this.accumulate(o, p, tRel, samplingRate, count);
        return;
      }
    }

    let a = attributed;
    if (a === undefined) {
      a = this.scratch;
      attribute(p, tUs, this.index, a, this.counters);
      this.stats.attributions++;
    }

    if (found) {
      const srcEp = a.src === null ? -1 : a.src.id;
      const dstEp = a.dst === null ? -1 : a.dst.id;
      if (rows[o + R_SRC_EP] !== srcEp || rows[o + R_DST_EP] !== dstEp) {
        // the same addresses now mean other pods: close the flow so far on its own
        this.stats.splits++;
        this.emitRow(o);
        this.clearCounters(o, tRel);
      }
      this.cacheAttribution(o, a, win);
      this.accumulate(o, p, tRel, samplingRate, count);
      return;
    }

    // a new flow
    if (this.count >= this.maxFlows) {
      this.stats.overflows++;
      this.emit(() => true);
      // the attribution is done and counted: pass it on rather than doing it twice
      this.put(p, win, tUs, observation, samplingRate, a, count);
      return;
    }
    // load factor <= 3/4: denser slots mean fewer cache misses, probes stay short
    if ((this.count + 1) * 4 > (this.mask + 1) * 3) {
      this.resize((this.mask + 1) * 2);
      this.put(p, win, tUs, observation, samplingRate, a, count);
      return;
    }
    this.count++;
    for (let i = R_WINDOW; i < R_KEY_END; i++) rows[o + i] = k[i];
    rows[o + R_TAG] = tag;
    this.clearCounters(o, tRel);
    this.cacheAttribution(o, a, win);
    this.accumulate(o, p, tRel, samplingRate, count);
    this.stats.open = this.count;
  }

  /** Closes windows by wall clock (for live input that has gone quiet). */
  tick(nowSec: number): void {
    const closeBefore = Math.floor((nowSec - this.graceSeconds) / this.windowSeconds) * this.windowSeconds;
    if (closeBefore > this.closedBefore) this.closeBefore(closeBefore);
  }

  /** Bytes of the table and its spare (what `maxFlows` bounds; emitted batches not included). */
  get tableBytes(): number {
    return this.rows.byteLength + this.spare.byteLength;
  }

  /** Emits every open flow (end of input, shutdown). */
  flush(): void {
    this.emit(() => true);
  }

  private accumulate(o: number, p: DecodedPacket, tRel: number, samplingRate: number, count: number): void {
    const rows = this.rows;
    const f = o >> 1;
    this.f64[f + F_BYTES] += p.innerLength * samplingRate;
    this.f64[f + F_PACKETS] += count * samplingRate;
    if (tRel < rows[o + R_FIRST]) rows[o + R_FIRST] = tRel;
    if (tRel > rows[o + R_LAST]) rows[o + R_LAST] = tRel;
    rows[o + R_FLAGS] |= p.tcpFlags;
  }

  private clearCounters(o: number, tRel: number): void {
    const f = o >> 1;
    this.f64[f + F_BYTES] = 0;
    this.f64[f + F_PACKETS] = 0;
    this.rows[o + R_FIRST] = tRel;
    this.rows[o + R_LAST] = tRel;
    this.rows[o + R_FLAGS] = 0;
  }

  private cacheAttribution(o: number, a: Attribution, win: number): void {
    const rows = this.rows;
    rows[o + R_SRC_EP] = a.src === null ? -1 : a.src.id;
    rows[o + R_DST_EP] = a.dst === null ? -1 : a.dst.id;
    rows[o + R_ATTR] = a.srcReason | (a.dstReason << 4) | (a.srcBy << 8) | (a.dstBy << 10);
    rows[o + R_GEN] = a.generation;
    // clamped into the window (every packet of the flow falls inside it), as int32 µs; both
    // ends both ways: an attribution made at a time put elsewhere (a time outlier) may lie
    // outside the window, and then holds for no other packet
    const winUs = win * 1e6;
    const lo = -1;
    const hi = this.windowUs + 1;
    rows[o + R_VALID_FROM] = Math.min(Math.max(a.validFrom - winUs, lo), hi);
    rows[o + R_VALID_TO] = Math.max(Math.min(a.validTo - winUs, hi), lo);
  }

  /**
   * Closes the windows before `windowStart`, and emits the flows of windows far ahead of the
   * input's time (time outliers': they would wait for a time the input may never reach).
   */
  private closeBefore(windowStart: number): void {
    this.closedBefore = windowStart;
    const now = this.clock.now;
    const after = now === Number.NEGATIVE_INFINITY ? Number.POSITIVE_INFINITY : now + this.clock.step;
    if (this.count > 0) {
      this.emit((o) => {
        const w = this.rows[o + R_WINDOW] >>> 0;
        return w < windowStart || w > after;
      });
    }
  }

  private emitRow(o: number): void {
    this.stats.emitted++;
    this.onFlows(new FlowBatch(1, this.rows.slice(o, o + RW), 0, this.windowSeconds, this.index.endpoints));
  }

  /**
   * Emits the rows selected and re-inserts the others into fresh slots. One pass over the
   * slots; every row it visits has its tag cleared, so the table it leaves is all empty
   * and becomes the next emit's spare without a memset (clearing a 32 MB table each
   * window close was most of its cost, in one event-loop turn). An insert writes every
   * word of a row, so only tags need clearing.
   */
  private emit(selected: (o: number) => boolean): void {
    if (this.count === 0) return;
    const rows = this.rows;
    const slots = this.mask + 1;
    let out = new Int32Array(this.count * RW);
    // the kept rows go into a second table of the same size, kept between emits
    let kept = this.spare;
    if (kept.length !== rows.length) kept = new Int32Array(rows.length);
    let n = 0;
    let left = this.count;
    for (let s = 0; s < slots && left > 0; s++) {
      const o = s * RW;
      if (rows[o] === 0) continue;
      left--;
      if (selected(o)) {
        copyRow(rows, o, out, n * RW);
        n++;
      } else {
        let t = (rows[o] >>> 1) & this.mask;
        while (kept[t * RW] !== 0) t = (t + 1) & this.mask;
        copyRow(rows, o, kept, t * RW);
      }
      rows[o] = 0;
    }
    this.spare = rows;
    this.setRows(kept);
    if (n === 0) return;
    if (n * RW < out.length) out = out.subarray(0, n * RW);
    this.count -= n;
    this.stats.open = this.count;
    this.stats.emitted += n;
    this.onFlows(new FlowBatch(n, out, 0, this.windowSeconds, this.index.endpoints));
  }

  /** Moves every row into a table of `slots` slots (a power of two). */
  private resize(slots: number): void {
    const old = this.rows;
    const rows = new Int32Array(slots * RW);
    const mask = slots - 1;
    for (let o = 0; o < old.length; o += RW) {
      if (old[o] === 0) continue;
      let t = (old[o] >>> 1) & mask;
      while (rows[t * RW] !== 0) t = (t + 1) & mask;
      copyRow(old, o, rows, t * RW);
    }
    this.mask = mask;
    this.setRows(rows);
  }

  private setRows(rows: Int32Array): void {
    this.rows = rows;
    this.f64 = new Float64Array(rows.buffer, rows.byteOffset, rows.length / 2);
  }
}

/** A row copy without a subarray view (which allocates). */
function copyRow(from: Int32Array, o: number, to: Int32Array, at: number): void {
  for (let i = 0; i < RW; i++) to[at + i] = from[o + i];
}

/** Compares key words 1..end-1 (the caller compared the tag). */
function sameKey(rows: Int32Array, o: number, k: Int32Array, end: number): boolean {
  for (let i = R_WINDOW; i < end; i++) if (rows[o + i] !== k[i]) return false;
  return true;
}

/** IPv6 bytes → word 0 at `w0`, words 1..3 at `w1`.. (see the row layout). */
function readIp6(b: Uint8Array, out: Int32Array, w0: number, w1: number): void {
  out[w0] = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
  for (let i = 1; i < 4; i++) {
    const o = i * 4;
    out[w1 + i - 1] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  }
}

function writeWord(out: Uint8Array, at: number, w: number): void {
  out[at] = w >>> 24;
  out[at + 1] = (w >>> 16) & 0xff;
  out[at + 2] = (w >>> 8) & 0xff;
  out[at + 3] = w & 0xff;
}

const ip6Scratch = new Uint8Array(16);

function ipString(ipv: number, words: Int32Array, w0: number, w1: number): string {
  if (ipv === 4) return ipv4ToString(words[w0] >>> 0);
  if (ipv !== 6) return '';
  for (let i = 0; i < 4; i++) {
    const w = i === 0 ? words[w0] : words[w1 + i - 1];
    ip6Scratch[i * 4] = w >>> 24;
    ip6Scratch[i * 4 + 1] = (w >>> 16) & 0xff;
    ip6Scratch[i * 4 + 2] = (w >>> 8) & 0xff;
    ip6Scratch[i * 4 + 3] = w & 0xff;
  }
  return ipv6ToString(ip6Scratch);
}
