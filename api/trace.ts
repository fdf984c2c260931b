/**
 * "Which pod held this address then?": the bindings of the time-versioned endpoint index
 * (collector/attribution/endpoint-index.ts) that match a MAC, IP, VLAN and/or VNI and
 * overlap a time range — every pod that held it over that time, oldest first. The index
 * keeps ended bindings for the inventory's retention, so the answer covers that long.
 */
import { canonicalIp, type Endpoint } from '../collector/attribution/endpoint-index.js';

export interface TraceFilter {
  mac?: string;
  ip?: string;
  vlan?: number;
  vni?: number;
  /** seconds since the epoch, [from, to) */
  from: number;
  to: number;
}

export interface Holding {
  namespace: string;
  pod: string;
  node: string;
  interface: string;
  network: string;
  tier: string;
  mode: 'l2' | 'overlay';
  mac: string;
  ips: string[];
  vlan: number | null;
  vni: number | null;
  vf: { pf: string; index: number } | null;
  /** when the binding began and ended (null: before anything known / still held) */
  from: string | null;
  to: string | null;
}

const iso = (us: number): string | null =>
  Number.isFinite(us) ? new Date(Math.floor(us / 1000)).toISOString() : null;

/** The bindings matching every given filter and overlapping the range, at most `limit`. */
export function holdings(
  endpoints: readonly Endpoint[],
  f: TraceFilter,
  keep: (namespace: string) => boolean,
  limit = 1000,
): Holding[] {
  const ip = f.ip === undefined ? undefined : canonicalIp(f.ip);
  const fromUs = f.from * 1e6;
  const toUs = f.to * 1e6;
  const out: Endpoint[] = [];
  for (const ep of endpoints) {
    if (ep.fromUs >= ep.toUs || ep.toUs <= fromUs || ep.fromUs >= toUs) continue; // expired slot or outside
    if (f.mac !== undefined && ep.mac !== f.mac) continue;
    if (ip !== undefined && !ep.ips.includes(ip)) continue;
    if (f.vlan !== undefined && !(ep.mode === 'l2' && ep.vlan === f.vlan)) continue;
    if (f.vni !== undefined && ep.vni !== f.vni) continue;
    if (!keep(ep.namespace)) continue;
    out.push(ep);
  }
  out.sort(
    (a, b) => a.fromUs - b.fromUs || a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod),
  );
  return out.slice(0, limit).map((ep) => ({
    namespace: ep.namespace,
    pod: ep.pod,
    node: ep.node,
    interface: ep.interface,
    network: ep.network,
    tier: ep.tier,
    mode: ep.mode,
    mac: ep.mac,
    ips: [...ep.ips],
    vlan: ep.mode === 'l2' ? ep.vlan : null,
    vni: ep.mode === 'overlay' ? ep.vni : null,
    vf: ep.vf ? { pf: ep.vf.pf, index: ep.vf.index } : null,
    from: iso(ep.fromUs),
    to: iso(ep.toUs),
  }));
}
