/**
 * Pods as the API shows them: the live inventory's current endpoints grouped by pod (its
 * interfaces: MAC, IPs, VLAN or VNI, VF), with the current rates the NIC collector measured
 * on its VFs. Pure functions over what the service holds; the stream (api/live) reads the
 * same rates.
 */
import type { Endpoint } from '../collector/attribution/endpoint-index.js';
import type { EndpointRecord } from '../collector/attribution/inventory.js';

/** A VF as the NIC collector tracks it: settings, per-counter rates (bytes/s), staleness. */
export interface VfReading {
  sample: { node: string; pf: string; vf: number; minTxRate: number; maxTxRate: number };
  counters: Partial<Record<string, { readonly rate: number | null }>>;
  stale: boolean;
}

/** A pod's current rates, bits per second (VF counters), and its VF's configured band. */
export interface PodRate {
  namespace: string;
  pod: string;
  node: string;
  tier: string;
  /** received by the pod (the VF's rx) */
  rxBps: number;
  /** sent by the pod (the VF's tx) */
  txBps: number;
  /** the VF's guaranteed minimum and ceiling, bits per second (0: none) */
  minBps: number;
  maxBps: number;
}

export interface NodeRate {
  node: string;
  rxBps: number;
  txBps: number;
}

/**
 * Per-pod and per-node rates from the NIC collector's VFs, joined to pods by (node, pf,
 * vf) at the collection's instant. VFs without a pod count toward their node only.
 */
export function podRates(
  vfs: readonly VfReading[],
  podOf: (node: string, pf: string, vf: number) => Endpoint | null,
): { pods: PodRate[]; nodes: NodeRate[] } {
  const pods = new Map<string, PodRate>();
  const nodes = new Map<string, NodeRate>();
  for (const v of vfs) {
    if (v.stale) continue;
    const rx = (v.counters.rxBytes?.rate ?? 0) * 8;
    const tx = (v.counters.txBytes?.rate ?? 0) * 8;
    const s = v.sample;
    let nr = nodes.get(s.node);
    if (nr === undefined) {
      nr = { node: s.node, rxBps: 0, txBps: 0 };
      nodes.set(s.node, nr);
    }
    nr.rxBps += rx;
    nr.txBps += tx;
    const ep = podOf(s.node, s.pf, s.vf);
    if (ep === null) continue;
    const key = `${ep.namespace}/${ep.pod}`;
    const p = pods.get(key);
    if (p === undefined)
      pods.set(key, {
        namespace: ep.namespace,
        pod: ep.pod,
        node: s.node,
        tier: ep.tier,
        rxBps: rx,
        txBps: tx,
        minBps: s.minTxRate,
        maxBps: s.maxTxRate,
      });
    else {
      p.rxBps += rx;
      p.txBps += tx;
      p.minBps += s.minTxRate;
      p.maxBps += s.maxTxRate;
    }
  }
  return { pods: [...pods.values()], nodes: [...nodes.values()] };
}

export interface PodInterface {
  interface: string;
  network: string;
  mode: 'l2' | 'overlay';
  mac: string;
  ips: string[];
  vlan: number | null;
  vni: number | null;
  vf: { pf: string; index: number } | null;
  since: string | null;
}

export interface PodSummary {
  namespace: string;
  pod: string;
  node: string;
  tier: string;
  interfaces: PodInterface[];
  rates: { rxBps: number; txBps: number; minBps: number; maxBps: number } | null;
}

/** The current pods (sorted by namespace, pod), each with its interfaces and rates. */
export function podsOf(
  current: readonly EndpointRecord[],
  rates: readonly PodRate[],
  keep: (namespace: string) => boolean,
): PodSummary[] {
  const rateOf = new Map(rates.map((r) => [`${r.namespace}/${r.pod}`, r]));
  const pods = new Map<string, PodSummary>();
  for (const r of current) {
    if (!keep(r.namespace)) continue;
    const key = `${r.namespace}/${r.pod}`;
    let p = pods.get(key);
    if (p === undefined) {
      const rate = rateOf.get(key);
      p = {
        namespace: r.namespace,
        pod: r.pod,
        node: r.node,
        tier: r.tier,
        interfaces: [],
        rates:
          rate === undefined
            ? null
            : { rxBps: rate.rxBps, txBps: rate.txBps, minBps: rate.minBps, maxBps: rate.maxBps },
      };
      pods.set(key, p);
    }
    if (p.tier === '' && r.tier !== '') p.tier = r.tier;
    p.interfaces.push({
      interface: r.interface,
      network: r.network,
      mode: r.mode,
      mac: r.mac.toLowerCase(),
      ips: [...r.ips],
      vlan: r.mode === 'l2' ? r.vlan : null,
      vni: r.mode === 'overlay' ? r.vni : null,
      vf: r.mode === 'l2' && r.vf ? { pf: r.vf.pf, index: r.vf.index } : null,
      since: r.from,
    });
  }
  const out = [...pods.values()];
  out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod));
  for (const p of out) p.interfaces.sort((a, b) => a.interface.localeCompare(b.interface));
  return out;
}
