/**
 * `podwire node`: the per-node role — the NIC sources read on an interval, joined to the
 * endpoint inventory, served as Prometheus metrics. Runs until SIGINT/SIGTERM.
 *
 * Sources are given as `KIND[:DEVICE,DEVICE…]` (repeatable, in priority order):
 *   demo                 the simulated SmartNIC (default when no --source is given)
 *   iproute2:PF[,PF]     `ip -s -d -j link show dev PF` (VF settings and counters)
 *   sysfs:PF[,PF]        PF/device/sriov/N/stats/* and virtfnN (under --sysfs-root)
 *   netdev:IF[,IF]       /sys/class/net/IF/statistics/* (VF representors, veths)
 *   tc:IF[,IF]           `tc -s -j qdisc/class show dev IF` (QoS drops)
 *
 * netdev and tc devices are joined to pods by the inventory's `hostInterface`, else, for a
 * host-side veth, by its peer's MAC (collector/nic/veth-peers.ts).
 */
import { hostname } from 'node:os';
import { type EndpointIndex, EndpointIndex as Index } from '../collector/attribution/endpoint-index.js';
import { loadInventory } from '../collector/attribution/inventory.js';
import { createDemoSource, demoInventory } from '../collector/nic/demo.js';
import { createIproute2Source } from '../collector/nic/iproute2.js';
import { createNetdevSource } from '../collector/nic/netdev.js';
import { createSysfsSource } from '../collector/nic/sysfs.js';
import { createTcSource } from '../collector/nic/tc.js';
import type { NicSource } from '../collector/nic/types.js';
import { VethPeers } from '../collector/nic/veth-peers.js';
import { NodeExporter } from '../node-exporter/exporter.js';
import { listenError, UserError } from './errors.js';

export interface NodeOptions {
  sources: string[];
  inventory?: string;
  node?: string;
  host: string;
  port: number;
  intervalSeconds: number;
  sysfsRoot?: string;
  quiet?: boolean;
}

export const SOURCE_KINDS = ['demo', 'iproute2', 'sysfs', 'netdev', 'tc'] as const;

export interface SourceSpec {
  kind: (typeof SOURCE_KINDS)[number];
  devices: string[];
}

const DEVICE_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** Parses `KIND[:DEV,DEV…]`; a clear error for anything else. */
export function parseSourceSpec(text: string): SourceSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  if (!(SOURCE_KINDS as readonly string[]).includes(kind)) {
    throw new UserError(
      `--source ${JSON.stringify(text)}: unknown kind; expected one of ${SOURCE_KINDS.join(', ')}`,
    );
  }
  const devices = colon < 0 ? [] : text.slice(colon + 1).split(',');
  if (kind === 'demo') {
    if (devices.length > 0) throw new UserError(`--source ${JSON.stringify(text)}: demo takes no devices`);
  } else if (devices.length === 0 || devices.some((d) => !DEVICE_RE.test(d))) {
    throw new UserError(
      `--source ${JSON.stringify(text)}: expected ${kind}:DEVICE[,DEVICE…] with interface names (at most 15 characters)`,
    );
  }
  return { kind: kind as SourceSpec['kind'], devices };
}

export function buildSources(specs: SourceSpec[], node: string, sysfsRoot?: string): NicSource[] {
  const seen = new Set<string>();
  // host-side veths → their pods' MACs, shared by netdev and tc (one cache)
  const peers = new VethPeers();
  return specs.map((s) => {
    if (seen.has(s.kind))
      throw new UserError(`--source ${s.kind} given twice: list its devices in one --source`);
    seen.add(s.kind);
    switch (s.kind) {
      case 'demo':
        return createDemoSource({ node });
      case 'iproute2':
        return createIproute2Source({ node, devices: s.devices });
      case 'sysfs':
        return createSysfsSource({ node, devices: s.devices, root: sysfsRoot });
      case 'netdev':
        return createNetdevSource({ node, devices: s.devices, root: sysfsRoot, peers });
      case 'tc':
        return createTcSource({ node, devices: s.devices, peers });
      default:
        throw new UserError(`--source: unknown kind ${JSON.stringify(s.kind satisfies never)}`);
    }
  });
}

export async function runNode(o: NodeOptions, signal: AbortSignal): Promise<void> {
  const specs = (o.sources.length > 0 ? o.sources : ['demo']).map(parseSourceSpec);
  const demoOnly = specs.every((s) => s.kind === 'demo');
  // the demo SmartNIC simulates the demo cluster's first node unless told otherwise
  const demoInv = demoInventory();
  const node = o.node ?? (demoOnly ? demoInv.endpoints[0]!.node : hostname());
  let index: EndpointIndex | null = null;
  if (o.inventory !== undefined) {
    try {
      index = Index.fromInventory(await loadInventory(o.inventory));
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  } else if (demoOnly) {
    index = Index.fromInventory(demoInv);
  }
  const sources = buildSources(specs, node, o.sysfsRoot);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const exporter = new NodeExporter({
    sources,
    index,
    nodes: [node],
    host: o.host,
    port: o.port,
    intervalMs: Math.round(o.intervalSeconds * 1000),
    log,
  });
  let url: string;
  try {
    ({ url } = await exporter.start());
  } catch (err) {
    listenError(err, o.host, o.port, 'choose another with --listen');
  }
  if (!o.quiet) {
    const h = exporter.health();
    const failing = h.sources.filter((s) => !s.ok);
    log(
      `podwire node ${node}: ${url}/metrics (${exporter.registry.series} series from ${sources.map((s) => s.name).join(', ')}` +
        `${index === null ? '; no inventory: pods unlabelled' : ''}), every ${o.intervalSeconds} s; Ctrl-C stops`,
    );
    for (const f of failing) log(`podwire node: source ${f.name} failing: ${f.lastError ?? 'no data yet'}`);
  }
  if (!signal.aborted)
    await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
  await exporter.stop();
}
