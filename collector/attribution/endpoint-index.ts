/**
 * Time-versioned endpoint index: which endpoint held a (scope, MAC) or (scope, IP) at a
 * given instant. The scope is the tenant context: the VLAN for L2 endpoints, the VNI for
 * overlay endpoints — the same MAC or IP in two scopes are two endpoints.
 *
 * Hand-written for speed (it runs twice per packet): maps are keyed by small-integer
 * hashes (V8 keeps them as Smis), candidates are short arrays scanned newest-first, and
 * nothing is allocated per lookup.
 */
import { isIPv4 } from 'node:net';
import { parseIpv4, parseIpv6, parseMac } from '../decode/addr.js';
import type { EndpointRecord, Inventory } from './inventory.js';

/** Scope codes: VLAN v (0..4094, 0 = untagged) is v; VNI n is VNI_SCOPE_BASE + n. */
export const VNI_SCOPE_BASE = 4096;
export const vlanScope = (vlan: number): number => vlan;
export const vniScope = (vni: number): number => VNI_SCOPE_BASE + vni;

/** One binding of an endpoint, valid over [fromUs, toUs) in µs since the epoch. */
export interface Endpoint {
  readonly id: number;
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  readonly interface: string;
  readonly network: string;
  readonly tier: string;
  readonly mode: 'l2' | 'overlay';
  readonly vlan: number;
  /** -1 for L2 endpoints */
  readonly vni: number;
  readonly mac: string;
  readonly ips: readonly string[];
  readonly static: boolean;
  readonly vf: { readonly pf: string; readonly index: number } | undefined;
  readonly scope: number;
  readonly macNum: number;
  readonly fromUs: number;
  readonly toUs: number;
}

interface Entry {
  readonly ep: Endpoint;
  /** the IPv6 address for IPv6 entries (hash collisions are checked against it) */
  readonly ip6: Uint8Array | null;
  /** the MAC or IPv4 number for MAC and IPv4 entries */
  readonly key: number;
}

/** Folds a 48-bit MAC into a non-negative 30-bit Smi key. */
export function macHash(mac: number): number {
  const hi = (mac / 0x100000000) | 0;
  return (Math.imul(hi, 0x9e3779b1) ^ mac) & 0x3fffffff;
}

const ip4Hash = (ip: number): number => (ip ^ (ip >>> 30)) & 0x3fffffff;

/** Folds 16 IPv6 bytes into a non-negative 30-bit Smi key. */
export function ip6Hash(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i += 4) {
    const w = (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
    h = Math.imul(h ^ w, 0x01000193);
  }
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toUs(iso: string | null, fallback: number): number {
  return iso === null ? fallback : Date.parse(iso) * 1000;
}

/**
 * Keeps each candidate list newest binding first, so when two live claims overlap the most
 * recent one wins (deterministically: on equal start times, the later record).
 */
function add(map: Map<number, Entry[]>, hash: number, entry: Entry): void {
  const list = map.get(hash);
  if (list === undefined) {
    map.set(hash, [entry]);
    return;
  }
  let i = list.length;
  list.push(entry);
  while (i > 0 && list[i - 1].ep.fromUs <= entry.ep.fromUs) {
    list[i] = list[i - 1];
    i--;
  }
  list[i] = entry;
}

export function endpointFromRecord(r: EndpointRecord, id: number): Endpoint {
  const l2 = r.mode === 'l2';
  return {
    id,
    namespace: r.namespace,
    pod: r.pod,
    node: r.node,
    interface: r.interface,
    network: r.network,
    tier: r.tier,
    mode: r.mode,
    vlan: l2 ? r.vlan : 0,
    vni: l2 ? -1 : r.vni,
    mac: r.mac.toLowerCase(),
    ips: r.ips,
    static: r.static,
    vf: l2 ? r.vf : undefined,
    scope: l2 ? vlanScope(r.vlan) : vniScope(r.vni),
    macNum: parseMac(r.mac),
    fromUs: toUs(r.from, Number.NEGATIVE_INFINITY),
    toUs: toUs(r.to, Number.POSITIVE_INFINITY),
  };
}

export class EndpointIndex {
  readonly endpoints: Endpoint[] = [];
  private readonly byMac = new Map<number, Entry[]>();
  private readonly byIp4 = new Map<number, Entry[]>();
  private readonly byIp6 = new Map<number, Entry[]>();
  private readonly vtep4 = new Map<number, string>();
  private readonly vtep6 = new Map<number, { ip: Uint8Array; node: string }[]>();
  /** scopes that have (or had) at least one endpoint */
  private readonly scopes = new Set<number>();

  static fromInventory(inv: Inventory): EndpointIndex {
    const idx = new EndpointIndex();
    for (const n of inv.nodes) for (const v of n.vteps) idx.addVtep(v, n.name);
    for (const r of inv.endpoints) idx.add(r);
    return idx;
  }

  addVtep(ip: string, node: string): void {
    if (isIPv4(ip)) this.vtep4.set(parseIpv4(ip), node);
    else {
      const b = parseIpv6(ip);
      const h = ip6Hash(b);
      const list = this.vtep6.get(h);
      if (list) list.push({ ip: b, node });
      else this.vtep6.set(h, [{ ip: b, node }]);
    }
  }

  add(r: EndpointRecord): Endpoint {
    const ep = endpointFromRecord(r, this.endpoints.length);
    this.endpoints.push(ep);
    this.scopes.add(ep.scope);
    add(this.byMac, macHash(ep.macNum), { ep, ip6: null, key: ep.macNum });
    for (const ip of ep.ips) {
      if (isIPv4(ip)) {
        const n = parseIpv4(ip);
        add(this.byIp4, ip4Hash(n), { ep, ip6: null, key: n });
      } else {
        const b = parseIpv6(ip);
        add(this.byIp6, ip6Hash(b), { ep, ip6: b, key: 0 });
      }
    }
    return ep;
  }

  hasScope(scope: number): boolean {
    return this.scopes.has(scope);
  }

  byMacAt(scope: number, mac: number, tUs: number): Endpoint | null {
    const list = this.byMac.get(macHash(mac));
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      const ep = e.ep;
      if (e.key === mac && ep.scope === scope && tUs >= ep.fromUs && tUs < ep.toUs) return ep;
    }
    return null;
  }

  byIp4At(scope: number, ip: number, tUs: number): Endpoint | null {
    const list = this.byIp4.get(ip4Hash(ip));
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      const ep = e.ep;
      if (e.key === ip && ep.scope === scope && tUs >= ep.fromUs && tUs < ep.toUs) return ep;
    }
    return null;
  }

  byIp6At(scope: number, ip: Uint8Array, tUs: number): Endpoint | null {
    const list = this.byIp6.get(ip6Hash(ip));
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      const ep = e.ep;
      if (ep.scope === scope && tUs >= ep.fromUs && tUs < ep.toUs && sameBytes(e.ip6!, ip)) return ep;
    }
    return null;
  }

  vtepNode4(ip: number): string | null {
    return this.vtep4.get(ip) ?? null;
  }

  vtepNode6(ip: Uint8Array): string | null {
    const list = this.vtep6.get(ip6Hash(ip));
    if (list) for (const v of list) if (sameBytes(v.ip, ip)) return v.node;
    return null;
  }
}
