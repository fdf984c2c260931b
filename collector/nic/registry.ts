/**
 * NIC sources by name, as endpoint sources are (collector/endpoints/factory.ts): a source
 * is given as `KIND[:DEVICE,DEVICE…]` on the command line (`podwire node --source`) or in
 * the config (`nic.sources`), and a new kind is one file plus one `registerNicSource` call.
 *
 *   demo                 the simulated SmartNIC
 *   iproute2:PF[,PF]     `ip -s -d -j link show dev PF` (VF settings and counters)
 *   sysfs:PF[,PF]        PF/device/sriov/N/stats/* and virtfnN (under sysfsRoot)
 *   netdev:IF[,IF]       /sys/class/net/IF/statistics/* (VF representors, veths)
 *   tc:IF[,IF]           `tc -s -j qdisc/class show dev IF` (QoS drops)
 */
import { createDemoSource } from './demo.js';
import { createIproute2Source } from './iproute2.js';
import { createNetdevSource } from './netdev.js';
import { createSysfsSource } from './sysfs.js';
import { createTcSource } from './tc.js';
import type { NicSource } from './types.js';
import { VethPeers } from './veth-peers.js';

/** A bad source spec or list: the message names the spec. */
export class NicSourceError extends Error {}

export interface NicSourceContext {
  node: string;
  devices: string[];
  sysfsRoot?: string;
  /** host-side veths → their pods' MACs, one cache shared by the sources of a list */
  peers: VethPeers;
}

interface Kind {
  /** false: the kind takes no devices (demo) */
  devices: boolean;
  create(ctx: NicSourceContext): NicSource;
}

const KINDS = new Map<string, Kind>();

export function registerNicSource(name: string, kind: Kind): void {
  KINDS.set(name, kind);
}

registerNicSource('demo', { devices: false, create: (c) => createDemoSource({ node: c.node }) });
registerNicSource('iproute2', {
  devices: true,
  create: (c) => createIproute2Source({ node: c.node, devices: c.devices }),
});
registerNicSource('sysfs', {
  devices: true,
  create: (c) => createSysfsSource({ node: c.node, devices: c.devices, root: c.sysfsRoot }),
});
registerNicSource('netdev', {
  devices: true,
  create: (c) => createNetdevSource({ node: c.node, devices: c.devices, root: c.sysfsRoot, peers: c.peers }),
});
registerNicSource('tc', {
  devices: true,
  create: (c) => createTcSource({ node: c.node, devices: c.devices, peers: c.peers }),
});

/** The registered kinds, in registration order. */
export const nicSourceKinds = (): string[] => [...KINDS.keys()];

export interface SourceSpec {
  kind: string;
  devices: string[];
}

const DEVICE_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** Parses `KIND[:DEV,DEV…]`; a clear error for anything else. */
export function parseSourceSpec(text: string): SourceSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const k = KINDS.get(kind);
  if (k === undefined) {
    throw new NicSourceError(
      `--source ${JSON.stringify(text)}: unknown kind; expected one of ${nicSourceKinds().join(', ')}`,
    );
  }
  const devices = colon < 0 ? [] : text.slice(colon + 1).split(',');
  if (!k.devices) {
    if (devices.length > 0)
      throw new NicSourceError(`--source ${JSON.stringify(text)}: ${kind} takes no devices`);
  } else if (devices.length === 0 || devices.some((d) => !DEVICE_RE.test(d))) {
    throw new NicSourceError(
      `--source ${JSON.stringify(text)}: expected ${kind}:DEVICE[,DEVICE…] with interface names (at most 15 characters)`,
    );
  }
  return { kind, devices };
}

/** The sources of a list, in its order; a kind given twice is refused. */
export function buildSources(specs: SourceSpec[], node: string, sysfsRoot?: string): NicSource[] {
  const seen = new Set<string>();
  const peers = new VethPeers();
  return specs.map((s) => {
    if (seen.has(s.kind))
      throw new NicSourceError(`--source ${s.kind} given twice: list its devices in one --source`);
    seen.add(s.kind);
    const k = KINDS.get(s.kind);
    if (k === undefined) throw new NicSourceError(`--source: unknown kind ${JSON.stringify(s.kind)}`);
    return k.create({ node, devices: s.devices, sysfsRoot, peers });
  });
}
