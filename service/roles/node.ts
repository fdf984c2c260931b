/**
 * `podwire node`, per node (a DaemonSet): NIC counters on /metrics, VF counters to a shared
 * store, the SLA evaluator of the node's pods (each pod's guarantee is its own node's VF,
 * read every collection), optionally a capture of the node's own ports. Without a shared
 * store it opens none: an embedded store on every node would be read by no one.
 */
import type { RoleDefinition } from './types.js';

export const node: RoleDefinition = {
  parts: { nic: true, sla: true, mirror: true, api: false },
  sections: [
    'dataDir',
    'store',
    'endpoints',
    'nic',
    'mirror',
    'flows',
    'samples',
    'http',
    'api',
    'tiers',
    'alerts',
    'alertmanager',
  ],
  // the TOR intake is collect's: a node captures its own ports only
  mirrors: ['capture', 'none'],
  defaultMirror: { type: 'none' },
  opensStore: (cfg) => cfg.store.clickhouseUrl !== undefined,
  problem: (cfg) =>
    cfg.mirror.type !== 'none' && cfg.store.clickhouseUrl === undefined
      ? 'mirror: a node capture stores its flows in a shared store: set store.clickhouseUrl'
      : null,
  // PODWIRE_NODE_NAME (the downward API's spec.nodeName): nic.node and the node filter of
  // each kubernetes endpoint source, so one config file serves every node of a DaemonSet
  fromEnv(raw, env) {
    const name = env.PODWIRE_NODE_NAME;
    if (name === undefined || name === '') return;
    const nic = (raw.nic ?? {}) as Record<string, unknown>;
    raw.nic = { ...nic, node: nic.node ?? name };
    const endpoints = raw.endpoints as { sources?: unknown } | undefined;
    if (endpoints === undefined || !Array.isArray(endpoints.sources)) return;
    raw.endpoints = {
      ...endpoints,
      sources: endpoints.sources.map((s: Record<string, unknown>) =>
        s?.type === 'kubernetes' && s.node === undefined ? { ...s, node: name } : s,
      ),
    };
  },
};
