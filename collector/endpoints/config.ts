/**
 * The typed options of each endpoint source, validated with zod so a bad configuration is
 * refused with the path of the bad field (the `podwire all --config FILE` schema embeds
 * `endpointSourceConfigSchema`). Defaults are filled in by parsing.
 */
import { z } from 'zod';
import { cniTierSchema } from './tiers.js';

const backoff = z
  .object({
    /** first retry delay after an error, ms */
    initialMs: z.number().int().min(1).default(500),
    /** the delay doubles per consecutive error up to this, ms */
    maxMs: z.number().int().min(1).default(30_000),
  })
  .default({ initialMs: 500, maxMs: 30_000 });

export const fileSourceConfigSchema = z.object({
  type: z.literal('file'),
  /** the JSON inventory (collector/attribution/inventory.ts); re-read when it changes */
  path: z.string().min(1),
  /** edits are read this long after the last change event, ms (editors write in steps) */
  debounceMs: z.number().int().min(0).default(100),
  name: z.string().min(1).default('file'),
});

export const kubernetesSourceConfigSchema = z.object({
  type: z.literal('kubernetes'),
  /** a kubeconfig file; default: in-cluster service account, else $KUBECONFIG / ~/.kube/config */
  kubeconfig: z.string().min(1).optional(),
  /** the API server URL, overriding the kubeconfig's (e.g. http://127.0.0.1:8001 of `kubectl proxy`) */
  server: z.string().url().optional(),
  /** only this node's pods (a spec.nodeName field selector); default all nodes */
  node: z.string().min(1).optional(),
  /** only this namespace's pods; default all */
  namespace: z.string().min(1).optional(),
  /** the pod annotation naming the performance tier */
  tierAnnotation: z.string().min(1).default('podwire.io/tier'),
  /** without the annotation, the tier whose rates (Mb/s) match the NAD's min/max_tx_rate; default: the demo tiers */
  tiers: z.array(cniTierSchema).optional(),
  /** the NPWG network-status annotation */
  networkStatusAnnotation: z.string().min(1).default('k8s.v1.cni.cncf.io/network-status'),
  /** the pod annotation that marks a static endpoint (value "true"): it keeps its identity across nodes */
  staticAnnotation: z.string().min(1).default('podwire.io/static'),
  /** resolve device-info PCI addresses to (PF, VF index) through this sysfs (only with `node`: it is this host's) */
  sysfsRoot: z.string().min(1).default('/sys'),
  /** also report the cluster default network (the `default: true` entry); default no */
  includeDefaultNetwork: z.boolean().default(false),
  /** the server ends each watch after about this long (it is then resumed), seconds */
  watchTimeoutSeconds: z.number().int().min(1).default(300),
  backoff,
  name: z.string().min(1).default('kubernetes'),
});

export const cniCacheSourceConfigSchema = z.object({
  type: z.literal('cni-cache'),
  /** SR-IOV CNI's cache of saved NetConf files, one per `<containerID>-<ifName>` */
  dir: z.string().min(1).default('/var/lib/cni/sriov'),
  /** libcni's result cache (`<network>-<containerID>-<ifName>`: pod name, namespace, IPs); '' = none */
  resultsDir: z.string().default('/var/lib/cni/results'),
  /** the node these files are on; default the host name */
  node: z.string().min(1).optional(),
  /** the tier given to an endpoint by its min/max_tx_rate (Mb/s), first match; default: the demo tiers */
  tiers: z.array(cniTierSchema).optional(),
  debounceMs: z.number().int().min(0).default(50),
  name: z.string().min(1).default('cni-cache'),
});

export const demoSourceConfigSchema = z.object({
  type: z.literal('demo'),
  seed: z.number().int().min(0).default(1),
  /** nodes (node-a, node-b, …) */
  nodes: z.number().int().min(1).max(16).default(3),
  /** pods at the start, about (gateways add an overlay leg) */
  pods: z
    .number()
    .int()
    .min(1)
    .max(16 * 64 * 4)
    .default(100),
  /** the simulated cluster starts here (ISO 8601); default now */
  start: z.iso.datetime({ offset: true }).optional(),
  /** churn events (restarts, scale up/down, static moves) per simulated hour, about */
  churnPerHour: z.number().min(0).default(120),
  /** follow the wall clock (a service); false: only advanceTo() moves time (tests, replays) */
  realtime: z.boolean().default(true),
  name: z.string().min(1).default('demo'),
});

export const endpointSourceConfigSchema = z.discriminatedUnion('type', [
  fileSourceConfigSchema,
  kubernetesSourceConfigSchema,
  cniCacheSourceConfigSchema,
  demoSourceConfigSchema,
]);

export const liveInventoryConfigSchema = z.object({
  /** ended bindings are kept this long, so older packets attribute to who held an address then */
  retentionSeconds: z
    .number()
    .min(0)
    .default(24 * 3600),
});

export type FileSourceConfig = z.infer<typeof fileSourceConfigSchema>;
export type KubernetesSourceConfig = z.infer<typeof kubernetesSourceConfigSchema>;
export type CniCacheSourceConfig = z.infer<typeof cniCacheSourceConfigSchema>;
export type DemoSourceConfig = z.infer<typeof demoSourceConfigSchema>;
export type EndpointSourceConfig = z.infer<typeof endpointSourceConfigSchema>;
/** what a caller writes: defaults optional */
export type EndpointSourceConfigInput = z.input<typeof endpointSourceConfigSchema>;

export class EndpointConfigError extends Error {
  override name = 'EndpointConfigError';
}

/** Formats zod issues as `  path: message` lines (the inventory's error style). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  return issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
      return `  ${path || '(root)'}: ${i.message}`;
    })
    .join('\n');
}

/** Validates a source's options; throws EndpointConfigError naming each bad field by path. */
export function parseEndpointSourceConfig(json: unknown, where = 'endpoint source'): EndpointSourceConfig {
  const r = endpointSourceConfigSchema.safeParse(json);
  if (!r.success)
    throw new EndpointConfigError(`${where}: invalid configuration\n${formatIssues(r.error.issues)}`);
  return r.data;
}
