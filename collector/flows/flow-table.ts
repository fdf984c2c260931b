/**
 * Flow aggregation per time window. A flow is keyed by window, observation point, VLAN,
 * VNI, MACs, IPs, ports, protocol and the attributed source and destination endpoints;
 * it sums bytes and packets (scaled by the sampling rate) and ORs TCP flags.
 *
 * Hand-written open-addressing hash table over typed-array columns, because a JS Map keyed
 * by a composed string costs an allocation per packet and was the bottleneck of the
 * packet path. Entries are dense (0..count-1) so closing a window is one linear pass.
 *
 * Memory is bounded by `maxFlows`: when the table is full, every open flow is emitted early
 * (counted in `overflows`) instead of dropping traffic; the flows simply split.
 */
import { ipv4ToString, ipv6ToString, macToString } from '../decode/addr.js';
import type { DecodedPacket } from '../decode/packet.js';
import type { Attribution } from '../attribution/attribute.js';
import type { Endpoint } from '../attribution/endpoint-index.js';

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
  windowSeconds?: number;
  /** a window closes once a packet this many seconds past its end arrives (disorder tolerance) */
  graceSeconds?: number;
  maxFlows?: number;
  /** resolves an endpoint id back to the endpoint (ids are what the table stores) */
  endpoints: readonly Endpoint[];
  onFlows: (flows: FlowRecord[]) => void;
}

export interface FlowTableStats {
  /** flows currently open */
  open: number;
  emitted: number;
  /** times the table was full and emitted early */
  overflows: number;
  /** packets for windows already closed (still counted, in a fresh flow) */
  latePackets: number;
}

const INITIAL_CAPACITY = 1 << 14;

export class FlowTable {
  readonly windowSeconds: number;
  readonly graceSeconds: number;
  readonly maxFlows: number;
  private readonly endpoints: readonly Endpoint[];
  private readonly onFlows: (flows: FlowRecord[]) => void;

  private cap = 0; // entries capacity
  private mask = 0; // slots - 1
  private slots = new Int32Array(0); // entry index + 1, 0 = empty
  private count = 0;
  // key columns
  private window = new Float64Array(0);
  private obs = new Int32Array(0);
  private vlan = new Int32Array(0);
  private vni = new Int32Array(0);
  private srcMac = new Float64Array(0);
  private dstMac = new Float64Array(0);
  private ipv = new Uint8Array(0);
  /** 4 words per entry: IPv4 in word 0, IPv6 in words 0..3 */
  private srcIp = new Int32Array(0);
  private dstIp = new Int32Array(0);
  private proto = new Int32Array(0);
  private ports = new Int32Array(0); // sport << 16 | dport
  private srcEp = new Int32Array(0);
  private dstEp = new Int32Array(0);
  private hash = new Int32Array(0);
  // value columns
  private bytes = new Float64Array(0);
  private packets = new Float64Array(0);
  private samples = new Float64Array(0);
  private rate = new Float64Array(0);
  private flags = new Uint8Array(0);
  private first = new Float64Array(0);
  private last = new Float64Array(0);

  /** windows starting before this are closed */
  private closedBefore = Number.NEGATIVE_INFINITY;
  private maxSec = Number.NEGATIVE_INFINITY;
  private readonly ipScratch = new Int32Array(8);

  readonly stats: FlowTableStats = { open: 0, emitted: 0, overflows: 0, latePackets: 0 };

  constructor(opts: FlowTableOptions) {
    this.windowSeconds = opts.windowSeconds ?? 10;
    this.graceSeconds = opts.graceSeconds ?? 1;
    this.maxFlows = opts.maxFlows ?? 500_000;
    if (!(this.windowSeconds > 0)) throw new RangeError('flow window must be > 0 seconds');
    if (!(this.maxFlows >= 1)) throw new RangeError('maxFlows must be >= 1');
    this.endpoints = opts.endpoints;
    this.onFlows = opts.onFlows;
    this.grow(Math.min(INITIAL_CAPACITY, this.maxFlows));
  }

  /** Adds one decoded, attributed packet. */
  add(p: DecodedPacket, a: Attribution, tsSec: number, tUs: number, observation: number, samplingRate = 1): void {
    const ws = this.windowSeconds;
    const win = Math.floor(tsSec / ws) * ws;
    if (tsSec > this.maxSec) {
      this.maxSec = tsSec;
      // close every window whose end + grace has passed
      const closeBefore = Math.floor((tsSec - this.graceSeconds) / ws) * ws;
      if (closeBefore > this.closedBefore) this.closeBefore(closeBefore);
    }
    if (win < this.closedBefore) this.stats.latePackets++;

    const ipv = p.ipVersion;
    const s = this.ipScratch;
    if (ipv === 4) {
      s[0] = p.src4;
      s[4] = p.dst4;
      s[1] = s[2] = s[3] = s[5] = s[6] = s[7] = 0;
    } else if (ipv === 6) {
      readWords(p.src6, s, 0);
      readWords(p.dst6, s, 4);
    } else {
      s.fill(0);
    }
    const srcEp = a.src === null ? -1 : a.src.id;
    const dstEp = a.dst === null ? -1 : a.dst.id;
    const ports = (p.srcPort << 16) | p.dstPort;

    let h = Math.imul(win | 0, 0x9e3779b1) ^ observation;
    h = Math.imul(h ^ p.vlan, 0x85ebca6b) ^ p.vni;
    h = Math.imul(h ^ (p.srcMac % 0x7fffffff), 0xc2b2ae35) ^ (p.dstMac % 0x7fffffff);
    for (let i = 0; i < 8; i++) h = Math.imul(h ^ s[i], 0x27d4eb2f);
    h = Math.imul(h ^ ports, 0x165667b1) ^ p.protocol;
    h = Math.imul(h ^ srcEp, 0x9e3779b1) ^ dstEp;
    h ^= h >>> 16;

    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const e1 = this.slots[slot];
      if (e1 === 0) break;
      const e = e1 - 1;
      if (
        this.hash[e] === h &&
        this.window[e] === win &&
        this.ports[e] === ports &&
        this.srcMac[e] === p.srcMac &&
        this.dstMac[e] === p.dstMac &&
        this.vlan[e] === p.vlan &&
        this.vni[e] === p.vni &&
        this.obs[e] === observation &&
        this.proto[e] === p.protocol &&
        this.srcEp[e] === srcEp &&
        this.dstEp[e] === dstEp &&
        this.ipv[e] === ipv &&
        this.rate[e] === samplingRate &&
        this.sameIps(e, s)
      ) {
        this.bytes[e] += p.innerLength * samplingRate;
        this.packets[e] += samplingRate;
        this.samples[e]++;
        this.flags[e] |= p.tcpFlags;
        if (tUs < this.first[e]) this.first[e] = tUs;
        if (tUs > this.last[e]) this.last[e] = tUs;
        return;
      }
      slot = (slot + 1) & mask;
    }

    // new flow
    if (this.count >= this.cap) {
      if (this.cap < this.maxFlows) {
        this.grow(Math.min(this.cap * 2, this.maxFlows));
      } else {
        this.stats.overflows++;
        this.emit(() => true);
      }
      this.add(p, a, tsSec, tUs, observation, samplingRate);
      return;
    }
    const e = this.count++;
    this.slots[slot] = e + 1;
    this.hash[e] = h;
    this.window[e] = win;
    this.obs[e] = observation;
    this.vlan[e] = p.vlan;
    this.vni[e] = p.vni;
    this.srcMac[e] = p.srcMac;
    this.dstMac[e] = p.dstMac;
    this.ipv[e] = ipv;
    const o = e * 4;
    for (let i = 0; i < 4; i++) {
      this.srcIp[o + i] = s[i];
      this.dstIp[o + i] = s[4 + i];
    }
    this.proto[e] = p.protocol;
    this.ports[e] = ports;
    this.srcEp[e] = srcEp;
    this.dstEp[e] = dstEp;
    this.rate[e] = samplingRate;
    this.bytes[e] = p.innerLength * samplingRate;
    this.packets[e] = samplingRate;
    this.samples[e] = 1;
    this.flags[e] = p.tcpFlags;
    this.first[e] = tUs;
    this.last[e] = tUs;
    this.stats.open = this.count;
  }

  /** Closes windows by wall clock (for live input that has gone quiet). */
  tick(nowSec: number): void {
    const closeBefore = Math.floor((nowSec - this.graceSeconds) / this.windowSeconds) * this.windowSeconds;
    if (closeBefore > this.closedBefore) this.closeBefore(closeBefore);
  }

  /** Emits every open flow (end of input, shutdown). */
  flush(): void {
    this.emit(() => true);
  }

  private closeBefore(windowStart: number): void {
    this.closedBefore = windowStart;
    if (this.count > 0) this.emit((e) => this.window[e] < windowStart);
  }

  private sameIps(e: number, s: Int32Array): boolean {
    const o = e * 4;
    const a = this.srcIp;
    const b = this.dstIp;
    return (
      a[o] === s[0] &&
      b[o] === s[4] &&
      a[o + 1] === s[1] &&
      a[o + 2] === s[2] &&
      a[o + 3] === s[3] &&
      b[o + 1] === s[5] &&
      b[o + 2] === s[6] &&
      b[o + 3] === s[7]
    );
  }

  /** Emits the entries selected, keeps (compacts) the others and rebuilds the slots. */
  private emit(selected: (e: number) => boolean): void {
    const out: FlowRecord[] = [];
    let keep = 0;
    for (let e = 0; e < this.count; e++) {
      if (selected(e)) out.push(this.record(e));
      else {
        if (keep !== e) this.move(e, keep);
        keep++;
      }
    }
    this.count = keep;
    this.rebuildSlots();
    this.stats.open = this.count;
    if (out.length > 0) {
      this.stats.emitted += out.length;
      out.sort((x, y) => x.windowStart - y.windowStart || x.firstSeenUs - y.firstSeenUs);
      this.onFlows(out);
    }
  }

  private record(e: number): FlowRecord {
    const ipv = this.ipv[e];
    const o = e * 4;
    const src = this.srcEp[e] < 0 ? null : this.endpoints[this.srcEp[e]];
    const dst = this.dstEp[e] < 0 ? null : this.endpoints[this.dstEp[e]];
    return {
      windowStart: this.window[e],
      windowSeconds: this.windowSeconds,
      observation: this.obs[e],
      vlan: this.vlan[e],
      vni: this.vni[e],
      srcMac: macToString(this.srcMac[e]),
      dstMac: macToString(this.dstMac[e]),
      ipVersion: ipv,
      srcIp: ipString(ipv, this.srcIp, o),
      dstIp: ipString(ipv, this.dstIp, o),
      protocol: this.proto[e],
      srcPort: this.ports[e] >>> 16,
      dstPort: this.ports[e] & 0xffff,
      tcpFlags: this.flags[e],
      bytes: this.bytes[e],
      packets: this.packets[e],
      samples: this.samples[e],
      samplingRate: this.rate[e],
      src,
      dst,
      srcBy: matchedBy(src, this.srcMac[e]),
      dstBy: matchedBy(dst, this.dstMac[e]),
      firstSeenUs: this.first[e],
      lastSeenUs: this.last[e],
    };
  }

  private columns(): (Float64Array | Int32Array | Uint8Array)[] {
    return [
      this.window,
      this.obs,
      this.vlan,
      this.vni,
      this.srcMac,
      this.dstMac,
      this.ipv,
      this.proto,
      this.ports,
      this.srcEp,
      this.dstEp,
      this.hash,
      this.bytes,
      this.packets,
      this.samples,
      this.rate,
      this.flags,
      this.first,
      this.last,
    ];
  }

  private move(from: number, to: number): void {
    for (const c of this.columns()) c[to] = c[from];
    this.srcIp.copyWithin(to * 4, from * 4, from * 4 + 4);
    this.dstIp.copyWithin(to * 4, from * 4, from * 4 + 4);
  }

  private rebuildSlots(): void {
    this.slots.fill(0);
    const mask = this.mask;
    for (let e = 0; e < this.count; e++) {
      let slot = this.hash[e] & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = e + 1;
    }
  }

  private grow(cap: number): void {
    const n = this.count;
    const f64 = (old: Float64Array) => {
      const a = new Float64Array(cap);
      a.set(old.subarray(0, n));
      return a;
    };
    const i32 = (old: Int32Array, k = 1) => {
      const a = new Int32Array(cap * k);
      a.set(old.subarray(0, n * k));
      return a;
    };
    const u8 = (old: Uint8Array) => {
      const a = new Uint8Array(cap);
      a.set(old.subarray(0, n));
      return a;
    };
    this.window = f64(this.window);
    this.obs = i32(this.obs);
    this.vlan = i32(this.vlan);
    this.vni = i32(this.vni);
    this.srcMac = f64(this.srcMac);
    this.dstMac = f64(this.dstMac);
    this.ipv = u8(this.ipv);
    this.srcIp = i32(this.srcIp, 4);
    this.dstIp = i32(this.dstIp, 4);
    this.proto = i32(this.proto);
    this.ports = i32(this.ports);
    this.srcEp = i32(this.srcEp);
    this.dstEp = i32(this.dstEp);
    this.hash = i32(this.hash);
    this.bytes = f64(this.bytes);
    this.packets = f64(this.packets);
    this.samples = f64(this.samples);
    this.rate = f64(this.rate);
    this.flags = u8(this.flags);
    this.first = f64(this.first);
    this.last = f64(this.last);
    this.cap = cap;
    // load factor <= 0.5
    let slots = 1;
    while (slots < cap * 2) slots <<= 1;
    this.slots = new Int32Array(slots);
    this.mask = slots - 1;
    this.rebuildSlots();
  }
}

/** Within one flow the MAC is part of the key, so the match key is the same for every packet. */
function matchedBy(ep: Endpoint | null, mac: number): 'none' | 'mac' | 'ip' {
  if (ep === null) return 'none';
  return ep.macNum === mac ? 'mac' : 'ip';
}

function readWords(b: Uint8Array, out: Int32Array, at: number): void {
  for (let i = 0; i < 4; i++) {
    const o = i * 4;
    out[at + i] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  }
}

const ip6Scratch = new Uint8Array(16);

function ipString(ipv: number, words: Int32Array, o: number): string {
  if (ipv === 4) return ipv4ToString(words[o] >>> 0);
  if (ipv !== 6) return '';
  for (let i = 0; i < 4; i++) {
    const w = words[o + i];
    ip6Scratch[i * 4] = w >>> 24;
    ip6Scratch[i * 4 + 1] = (w >>> 16) & 0xff;
    ip6Scratch[i * 4 + 2] = (w >>> 8) & 0xff;
    ip6Scratch[i * 4 + 3] = w & 0xff;
  }
  return ipv6ToString(ip6Scratch);
}
