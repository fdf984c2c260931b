/**
 * `podwire node` from flags, without a config file: the NIC sources (`--source KIND[:DEV,…]`,
 * repeatable, in priority order; kinds in collector/nic/registry.ts, default demo) read on
 * an interval, joined to an inventory file, served as Prometheus metrics until
 * SIGINT/SIGTERM. With `--config`, `podwire node` is the node role of service/run.ts.
 *
 * netdev and tc devices are joined to pods by the inventory's `hostInterface`, else, for a
 * host-side veth, by its peer's MAC (collector/nic/veth-peers.ts).
 */
import { hostname } from 'node:os';
import { type EndpointIndex, EndpointIndex as Index } from '../collector/attribution/endpoint-index.js';
import { loadInventory } from '../collector/attribution/inventory.js';
import { demoInventory } from '../collector/nic/demo.js';
import { buildSources, NicSourceError, parseSourceSpec } from '../collector/nic/registry.js';
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

/** A NIC registry call with its errors as usage errors. */
function nicSpec<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof NicSourceError) throw new UserError(err.message);
    throw err;
  }
}

export async function runNode(o: NodeOptions, signal: AbortSignal): Promise<void> {
  const specs = nicSpec(() => (o.sources.length > 0 ? o.sources : ['demo']).map(parseSourceSpec));
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
  const sources = nicSpec(() => buildSources(specs, node, o.sysfsRoot));
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
