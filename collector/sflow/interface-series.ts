/**
 * Counter samples → per-interface series: each cumulative counter of an (agent, ifIndex)
 * — and of an (agent, VLAN) from VLAN counter records — goes through the NIC collector's
 * CounterTracker (collector/nic/counters.ts), which turns readings into deltas, rates
 * and monotonic totals, handling wraps and agent restarts at each counter's width as the
 * sFlow v5 counter structures declare it (WIDTHS): octet counters are counter64 (a
 * decrease is a reset), every other counter is counter32 (it wraps at 2^32). Keys: `sflow|AGENT|IFINDEX|COUNTER` and `sflow|AGENT|vlan VID|COUNTER`.
 * The latest gauges (speed, status) are kept per interface. Times are arrival times.
 * Bounded: see InterfaceSeries.
 */
import { CounterTracker, type CounterTrackerOptions, type CounterWidth } from '../nic/counters.js';
import type { EthernetCounters, GenericInterfaceCounters, InterfaceCounters, VlanCounters } from './types.js';

/** Generic counters tracked as series (the others are gauges or configuration). */
export const GENERIC_SERIES = [
  'ifInOctets',
  'ifInUcastPkts',
  'ifInMulticastPkts',
  'ifInBroadcastPkts',
  'ifInDiscards',
  'ifInErrors',
  'ifInUnknownProtos',
  'ifOutOctets',
  'ifOutUcastPkts',
  'ifOutMulticastPkts',
  'ifOutBroadcastPkts',
  'ifOutDiscards',
  'ifOutErrors',
] as const satisfies readonly (keyof GenericInterfaceCounters)[];

export const ETHERNET_SERIES = [
  'alignmentErrors',
  'fcsErrors',
  'frameTooLongs',
  'internalMacReceiveErrors',
  'internalMacTransmitErrors',
  'symbolErrors',
  'lateCollisions',
  'excessiveCollisions',
] as const satisfies readonly (keyof EthernetCounters)[];

export const VLAN_SERIES = [
  'octets',
  'ucastPkts',
  'multicastPkts',
  'broadcastPkts',
  'discards',
] as const satisfies readonly (keyof VlanCounters)[];

/**
 * Widths per sflow_version_5.txt: if_counters' ifInOctets/ifOutOctets and
 * vlan_counters' octets are unsigned hyper (64-bit); everything else is unsigned int.
 */
const WIDE = new Set<string>(['ifInOctets', 'ifOutOctets', 'octets']);
const width = (field: string): CounterWidth => (WIDE.has(field) ? 64 : 32);

/** One interface as its counter samples describe it. */
export interface InterfaceState {
  agent: string;
  ifIndex: number;
  /** bits per second, 0 when unknown */
  speed: number;
  adminUp: boolean;
  operUp: boolean;
  /** µs since the epoch of the last counter sample */
  lastUs: number;
  samples: number;
}

/** Interfaces (agent, ifIndex) and VLANs (agent, VLAN) kept as series, each. */
export const MAX_SFLOW_INTERFACES = 8192;
export const MAX_SFLOW_VLANS = 4096;
/** An interface or VLAN without counter samples for this long is forgotten: 10 minutes. */
export const INTERFACE_IDLE_MS = 600_000;
/** How often (ms of arrival time) idle ones are looked for. */
const SWEEP_EVERY_MS = 10_000;

export interface InterfaceSeriesOptions extends CounterTrackerOptions {
  maxInterfaces?: number;
  maxVlans?: number;
  idleMs?: number;
}

/** One (agent, VLAN) of VLAN counter records. */
interface VlanState {
  agent: string;
  vlan: number;
  lastUs: number;
}

/**
 * The series, bounded: an agent that invents ifIndexes or VLANs (or many agents) cannot
 * grow them without end. A new interface or VLAN beyond its cap is counted in
 * `overflows` and not kept; one without counter samples for `idleMs` of arrival time is
 * forgotten with its series (`expired`).
 */
export class InterfaceSeries {
  readonly tracker: CounterTracker;
  readonly maxInterfaces: number;
  readonly maxVlans: number;
  readonly idleMs: number;
  /** counter samples (interface or VLAN records) refused because their table was full */
  overflows = 0;
  /** interfaces and VLANs forgotten after idleMs */
  expired = 0;
  private readonly interfaces = new Map<string, InterfaceState>();
  private readonly vlans = new Map<string, VlanState>();
  private lastSweepMs = 0;

  constructor(options: InterfaceSeriesOptions = {}) {
    this.tracker = new CounterTracker(options);
    this.maxInterfaces = options.maxInterfaces ?? MAX_SFLOW_INTERFACES;
    this.maxVlans = options.maxVlans ?? MAX_SFLOW_VLANS;
    this.idleMs = options.idleMs ?? INTERFACE_IDLE_MS;
  }

  /** Interfaces and VLANs kept. */
  get size(): number {
    return this.interfaces.size + this.vlans.size;
  }

  /** Takes one counter sample (InterfaceCounters from the intake's onCounters). */
  update(c: InterfaceCounters): void {
    const at = c.timeUs / 1000;
    if (at - this.lastSweepMs >= SWEEP_EVERY_MS) this.sweep(at);
    const base = `sflow|${c.agent}|${c.ifIndex}|`;
    if (c.generic !== null || c.ethernet !== null) {
      const key = `${c.agent}|${c.ifIndex}`;
      let st = this.interfaces.get(key);
      if (st === undefined && this.room(this.interfaces, this.maxInterfaces, at)) {
        st = {
          agent: c.agent,
          ifIndex: c.ifIndex,
          speed: 0,
          adminUp: false,
          operUp: false,
          lastUs: 0,
          samples: 0,
        };
        this.interfaces.set(key, st);
      }
      if (st !== undefined) {
        st.lastUs = c.timeUs;
        st.samples++;
        const g = c.generic;
        if (g !== null) {
          st.speed = g.ifSpeed;
          st.adminUp = (g.ifStatus & 1) !== 0;
          st.operUp = (g.ifStatus & 2) !== 0;
          for (const f of GENERIC_SERIES) this.tracker.update(base + f, g[f], at, undefined, width(f));
        }
        const e = c.ethernet;
        if (e !== null)
          for (const f of ETHERNET_SERIES) this.tracker.update(base + f, e[f], at, undefined, 32);
      }
    }
    const v = c.vlan;
    if (v !== null) {
      const key = `${c.agent}|${v.vlanId}`;
      let st = this.vlans.get(key);
      if (st === undefined && this.room(this.vlans, this.maxVlans, at)) {
        st = { agent: c.agent, vlan: v.vlanId, lastUs: 0 };
        this.vlans.set(key, st);
      }
      if (st !== undefined) {
        st.lastUs = c.timeUs;
        const vbase = `sflow|${c.agent}|vlan ${v.vlanId}|`;
        for (const f of VLAN_SERIES) this.tracker.update(vbase + f, v[f], at, undefined, width(f));
      }
    }
  }

  /** Whether a new entry fits (after forgetting idle ones if full); counts a refusal. */
  private room(map: Map<string, unknown>, max: number, atMs: number): boolean {
    if (map.size >= max) this.sweep(atMs);
    if (map.size < max) return true;
    this.overflows++;
    return false;
  }

  /** Forgets interfaces and VLANs without counter samples for idleMs by `nowMs`, with their series. */
  sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [k, st] of this.interfaces) {
      if (nowMs - st.lastUs / 1000 <= this.idleMs) continue;
      for (const f of [...GENERIC_SERIES, ...ETHERNET_SERIES])
        this.tracker.delete(`sflow|${st.agent}|${st.ifIndex}|${f}`);
      this.interfaces.delete(k);
      this.expired++;
    }
    for (const [k, st] of this.vlans) {
      if (nowMs - st.lastUs / 1000 <= this.idleMs) continue;
      for (const f of VLAN_SERIES) this.tracker.delete(`sflow|${st.agent}|vlan ${st.vlan}|${f}`);
      this.vlans.delete(k);
      this.expired++;
    }
  }

  /** The series of one interface counter (`counter` from GENERIC_SERIES / ETHERNET_SERIES). */
  series(agent: string, ifIndex: number, counter: string) {
    return this.tracker.get(`sflow|${agent}|${ifIndex}|${counter}`);
  }

  vlanSeries(agent: string, vlan: number, counter: string) {
    return this.tracker.get(`sflow|${agent}|vlan ${vlan}|${counter}`);
  }

  list(): InterfaceState[] {
    return [...this.interfaces.values()];
  }
}
