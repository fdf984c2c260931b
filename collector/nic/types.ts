/**
 * What every NIC source (iproute2, sysfs, netdev, tc, demo) produces: counter samples for
 * VFs and qdiscs, read at one instant. Sources only read; counter math (deltas, rates,
 * resets, wraps) is done downstream (counters.ts), and attribution joins VFs to pods
 * through the endpoint inventory (vf.pf + vf.index).
 */

import type { CounterWidth } from './counters.js';

/** One VF of a physical function, as the NIC reports it. Counters are cumulative. */
export interface VfSample {
  node: string;
  /** the physical function's netdev name, e.g. ens1f0 */
  pf: string;
  vf: number;
  mac: string;
  /** 0 when none */
  vlan: number;
  qos: number;
  /** configured rates, bits per second (0 = unlimited / unset) */
  minTxRate: number;
  maxTxRate: number;
  spoofCheck: boolean | null;
  trust: boolean | null;
  linkState: string | null;
  /** VF PCI address (sysfs virtfnN), when known */
  pciAddress: string | null;
  /** cumulative counters; null when this source does not report them */
  rxBytes: number | null;
  rxPackets: number | null;
  rxDropped: number | null;
  rxBroadcast: number | null;
  rxMulticast: number | null;
  txBytes: number | null;
  txPackets: number | null;
  txDropped: number | null;
  /**
   * Packets the NIC's QoS scheduler (the VF rate limiter) dropped for this VF, cumulative;
   * optional: only sources that can tell them apart report it (the demo does). Exported as
   * podwire_vf_qos_dropped_packets_total.
   */
  qosDropped?: number | null;
}

/** One qdisc (or class) of an interface: the QoS scheduler's view. Cumulative counters. */
export interface QdiscSample {
  node: string;
  interface: string;
  /** "htb", "tbf", "mq", "fq_codel", … */
  kind: string;
  /** "1:" / "1:10" */
  handle: string;
  parent: string;
  /** qdisc or class */
  level: 'qdisc' | 'class';
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  /** current backlog, bytes and packets (gauges) */
  backlogBytes: number;
  backlogPackets: number;
  /**
   * The MAC of the pod interface behind the device (its veth peer's), when the source
   * resolved it; the exporter joins it by (node, MAC) like a netdev's endpointMac.
   */
  endpointMac?: string | null;
}

/** Interface statistics (/sys/class/net/IF/statistics/*): VF representors or any netdev. */
export interface NetdevSample {
  node: string;
  interface: string;
  rxBytes: number;
  rxPackets: number;
  rxDropped: number;
  rxErrors: number;
  txBytes: number;
  txPackets: number;
  txDropped: number;
  txErrors: number;
  /**
   * The MAC of the pod interface behind this netdev, when the source knows it (the pod's
   * own interface, or the host side of its veth/OVS port: external_ids:attached-mac; the
   * demo sets it). Optional; the exporter joins it to the endpoint inventory by (node, MAC).
   */
  endpointMac?: string | null;
}

export interface NicReading {
  /** ms since the epoch when the reading was taken */
  at: number;
  vfs: VfSample[];
  qdiscs: QdiscSample[];
  netdevs: NetdevSample[];
  /**
   * Problems of a read that otherwise succeeded (one of several devices gone, one file
   * unreadable): the collector logs and counts them like a failure, and keeps the rest.
   * A source that read nothing at all rejects instead.
   */
  errors?: string[];
}

/** The cumulative counters of each kind, in the order the collector keeps them. */
export const VF_COUNTERS = [
  'rxBytes',
  'rxPackets',
  'rxDropped',
  'rxBroadcast',
  'rxMulticast',
  'txBytes',
  'txPackets',
  'txDropped',
  // optional in VfSample: only sources that can tell QoS drops apart report it (the demo)
  'qosDropped',
] as const;
export const QDISC_COUNTERS = ['bytes', 'packets', 'drops', 'overlimits', 'requeues'] as const;
export const NETDEV_COUNTERS = [
  'rxBytes',
  'rxPackets',
  'rxDropped',
  'rxErrors',
  'txBytes',
  'txPackets',
  'txDropped',
  'txErrors',
] as const;
export type VfCounterField = (typeof VF_COUNTERS)[number];
export type QdiscCounterField = (typeof QDISC_COUNTERS)[number];
export type NetdevCounterField = (typeof NETDEV_COUNTERS)[number];

/**
 * The width of every counter of each kind a source reads, as the kernel or device keeps
 * it (see CounterWidth). A counter whose width is not declared is taken as 64-bit: its
 * decrease is a reset, never a wrap that would invent 2^32 of traffic.
 */
export interface CounterWidths {
  vf?: Readonly<Record<VfCounterField, CounterWidth>>;
  qdisc?: Readonly<Record<QdiscCounterField, CounterWidth>>;
  netdev?: Readonly<Record<NetdevCounterField, CounterWidth>>;
}

/** Every counter of `fields` at `width` bits. */
export function allWidths<F extends string>(
  fields: readonly F[],
  width: CounterWidth,
): Record<F, CounterWidth> {
  return Object.fromEntries(fields.map((f) => [f, width])) as Record<F, CounterWidth>;
}

/**
 * One source, one file (like node_exporter's collectors). `read()` resolves with what it
 * read or rejects with an Error saying what failed (command missing, file gone, bad
 * output); the collector logs that once per change, counts it, and the other sources go on.
 */
export interface NicSource {
  readonly name: string;
  /** the width of each counter it reads (undeclared: 64-bit) */
  readonly counterWidths?: CounterWidths;
  read(): Promise<Omit<NicReading, 'at'>>;
}
