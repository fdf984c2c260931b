/**
 * Counter samples → per-interface series: each cumulative counter of an (agent, ifIndex)
 * — and of an (agent, VLAN) from VLAN counter records — goes through the NIC collector's
 * CounterTracker (collector/nic/counters.ts), which turns readings into deltas, rates
 * and monotonic totals, handling wraps and agent restarts at each counter's width as the
 * sFlow v5 counter structures declare it (WIDTHS): octet counters are counter64 (a
 * decrease is a reset), every other counter is counter32 (it wraps at 2^32). Keys: `sflow|AGENT|IFINDEX|COUNTER` and `sflow|AGENT|vlan VID|COUNTER`.
 * The latest gauges (speed, status) are kept per interface. Times are arrival times.
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

export class InterfaceSeries {
  readonly tracker: CounterTracker;
  private readonly interfaces = new Map<string, InterfaceState>();

  constructor(options: CounterTrackerOptions = {}) {
    this.tracker = new CounterTracker(options);
  }

  /** Takes one counter sample (InterfaceCounters from the intake's onCounters). */
  update(c: InterfaceCounters): void {
    const at = c.timeUs / 1000;
    const base = `sflow|${c.agent}|${c.ifIndex}|`;
    if (c.generic !== null || c.ethernet !== null) {
      const key = `${c.agent}|${c.ifIndex}`;
      let st = this.interfaces.get(key);
      if (st === undefined) {
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
      if (e !== null) for (const f of ETHERNET_SERIES) this.tracker.update(base + f, e[f], at, undefined, 32);
    }
    const v = c.vlan;
    if (v !== null) {
      const vbase = `sflow|${c.agent}|vlan ${v.vlanId}|`;
      for (const f of VLAN_SERIES) this.tracker.update(vbase + f, v[f], at, undefined, width(f));
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
