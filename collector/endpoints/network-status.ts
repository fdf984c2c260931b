/**
 * Pure mapping from Kubernetes objects to endpoint records, for the kubernetes source:
 *
 * - the NPWG `k8s.v1.cni.cncf.io/network-status` pod annotation (Multus writes it): a JSON
 *   array of attachments, each `{name, interface, ips, mac, default, device-info}`, where
 *   `device-info.pci.pci-address` is the VF of an SR-IOV attachment;
 * - the NetworkAttachmentDefinitions' CNI config (`spec.config`, a JSON string, a single
 *   plugin or a `plugins` list): `vlan`, `min_tx_rate`/`max_tx_rate` (SR-IOV CNI, Mb/s),
 *   and a VNI (`vni`, as VXLAN-type plugins name it) for overlay networks.
 *
 * An attachment is an overlay endpoint when its network has a VNI, else an L2 endpoint on
 * its VLAN (0 when none). Bad input never throws out of `podEndpoints`: each problem is
 * returned as a message naming the pod and the field, and the rest of the pod still counts.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { type EndpointRecord, endpointSchema } from '../attribution/inventory.js';
import { formatIssues } from './config.js';
import { type CniTier, tierForRates } from './tiers.js';

export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';

const networkStatusEntry = z.object({
  name: z.string().min(1),
  interface: z.string().min(1).optional(),
  ips: z.array(z.string()).default([]),
  mac: z.string().optional(),
  default: z.boolean().default(false),
  'device-info': z
    .object({
      type: z.string().optional(),
      pci: z.object({ 'pci-address': z.string().optional() }).partial().optional(),
    })
    .partial()
    .optional(),
});
const networkStatusSchema = z.array(networkStatusEntry);
export type NetworkStatusEntry = z.infer<typeof networkStatusEntry>;

/** Parses the annotation; throws an Error naming the bad field by path. */
export function parseNetworkStatus(text: string): NetworkStatusEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON: ${(err as Error).message}`);
  }
  const r = networkStatusSchema.safeParse(json);
  if (!r.success) throw new Error(`invalid network-status\n${formatIssues(r.error.issues)}`);
  return r.data;
}

/** What podwire reads from a NetworkAttachmentDefinition's CNI config. */
export interface NadConfig {
  /** the CNI plugin type (the first plugin's, for a list), e.g. sriov, ovn-k8s-cni-overlay */
  type: string;
  vlan: number | null;
  /** Mb/s */
  minTxRate: number | null;
  maxTxRate: number | null;
  vni: number | null;
}

const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);

/** Parses `spec.config`; throws an Error saying what is wrong. */
export function parseNadConfig(config: string): NadConfig {
  let json: unknown;
  try {
    json = JSON.parse(config);
  } catch (err) {
    throw new Error(`spec.config: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error('spec.config: expected a JSON object');
  }
  const top = json as Record<string, unknown>;
  const plugins = Array.isArray(top.plugins)
    ? (top.plugins.filter((p) => typeof p === 'object' && p !== null) as Record<string, unknown>[])
    : [top];
  const out: NadConfig = { type: '', vlan: null, minTxRate: null, maxTxRate: null, vni: null };
  for (const p of plugins) {
    if (out.type === '' && typeof p.type === 'string') out.type = p.type;
    out.vlan ??= int(p.vlan);
    out.minTxRate ??= int(p.min_tx_rate);
    out.maxTxRate ??= int(p.max_tx_rate);
    out.vni ??= int(p.vni) ?? int(p.VNI);
  }
  if (out.vlan !== null && (out.vlan < 0 || out.vlan > 4094))
    throw new Error(`spec.config: vlan ${out.vlan} out of range 0..4094`);
  if (out.vni !== null && (out.vni < 0 || out.vni > 0xffffff))
    throw new Error(`spec.config: vni ${out.vni} out of range`);
  return out;
}

/** The parts of a pod this mapping reads (typed list results and raw watch JSON alike). */
export interface PodLike {
  metadata?: {
    uid?: string;
    name?: string;
    namespace?: string;
    annotations?: Record<string, string> | null;
    creationTimestamp?: Date | string;
  };
  spec?: { nodeName?: string };
  status?: { phase?: string; startTime?: Date | string };
}

export interface PodMappingOptions {
  networkStatusAnnotation: string;
  tierAnnotation: string;
  staticAnnotation: string;
  includeDefaultNetwork: boolean;
  /** tiers by rates, for attachments of pods without the tier annotation (default: the demo tiers) */
  tiers?: readonly CniTier[];
  /** PCI address → the VF (PF netdev, index), when it can be resolved on this node */
  resolveVf?: (pci: string) => { pf: string; index: number } | null;
}

export interface PodEndpoints {
  /** ifName → record */
  records: Map<string, EndpointRecord>;
  /** problems, each naming the pod and field (the rest of the pod still counts) */
  errors: string[];
  /** the annotation as a whole could not be read: the pod's bindings are unknown */
  unreadable: boolean;
}

/** A pod's attachments as endpoint records (none for pods that ended or have no status). */
export function podEndpoints(
  pod: PodLike,
  nads: ReadonlyMap<string, NadConfig>,
  opts: PodMappingOptions,
): PodEndpoints {
  const records = new Map<string, EndpointRecord>();
  const errors: string[] = [];
  const m = pod.metadata ?? {};
  const where = `pod ${m.namespace ?? '?'}/${m.name ?? '?'}`;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return { records, errors, unreadable: false };
  const annotations = m.annotations ?? {};
  const text = annotations[opts.networkStatusAnnotation];
  if (text === undefined || text === '') return { records, errors, unreadable: false };
  const node = pod.spec?.nodeName;
  if (!node) return { records, errors, unreadable: false }; // not scheduled: nothing bound yet
  let entries: NetworkStatusEntry[];
  try {
    entries = parseNetworkStatus(text);
  } catch (err) {
    errors.push(`${where}: annotation ${opts.networkStatusAnnotation}: ${(err as Error).message}`);
    return { records, errors, unreadable: true };
  }
  const tierLabel = annotations[opts.tierAnnotation];
  const isStatic = annotations[opts.staticAnnotation] === 'true';
  for (const [i, e] of entries.entries()) {
    if (e.default && !opts.includeDefaultNetwork) continue;
    const ifName = e.interface ?? (e.default ? 'eth0' : '');
    const at = `${where}: annotation ${opts.networkStatusAnnotation}: ${i}`;
    if (ifName === '') {
      errors.push(`${at}.interface: missing`);
      continue;
    }
    if (!e.mac) {
      errors.push(`${at}.mac: missing (the endpoint cannot be attributed)`);
      continue;
    }
    const nadName = e.name.includes('/') ? e.name : `${m.namespace}/${e.name}`;
    const nad = nads.get(nadName);
    const network = nadName.slice(nadName.indexOf('/') + 1);
    const pci = e['device-info']?.pci?.['pci-address'];
    // the pod's tier label, else the tier the network's SR-IOV rates configure
    const tier =
      tierLabel ??
      (nad && (nad.minTxRate !== null || nad.maxTxRate !== null)
        ? tierForRates(nad.minTxRate, nad.maxTxRate, opts.tiers)
        : '');
    const vf = pci && opts.resolveVf ? (opts.resolveVf(pci) ?? undefined) : undefined;
    const common = {
      namespace: m.namespace,
      pod: m.name,
      node,
      interface: ifName,
      network,
      mac: e.mac.toLowerCase(),
      ips: e.ips,
      tier,
      static: isStatic,
    };
    const raw =
      nad?.vni != null
        ? { ...common, mode: 'overlay', vni: nad.vni }
        : { ...common, mode: 'l2', vlan: nad?.vlan ?? 0, ...(vf ? { vf } : {}) };
    const r = endpointSchema.safeParse(raw);
    if (!r.success) {
      errors.push(`${at}: ${formatIssues(r.error.issues).trim()}`);
      continue;
    }
    records.set(ifName, r.data);
  }
  return { records, errors, unreadable: false };
}

/**
 * The VF behind a PCI address, from sysfs: `physfn` links to the PF, whose `net/` names its
 * netdev and whose `virtfnN` links say the index. Null when it is not a VF on this host.
 */
export function vfFromSysfs(pci: string, sysfsRoot = '/sys'): { pf: string; index: number } | null {
  try {
    const dev = join(sysfsRoot, 'bus/pci/devices', pci);
    const pfDir = join(dev, 'physfn');
    readlinkSync(pfDir);
    const pf = readdirSync(join(pfDir, 'net'))[0];
    if (pf === undefined) return null;
    for (const f of readdirSync(pfDir)) {
      const m = /^virtfn(\d+)$/.exec(f);
      if (m && basename(readlinkSync(join(pfDir, f))) === pci) return { pf, index: Number(m[1]) };
    }
    return null;
  } catch {
    return null;
  }
}
