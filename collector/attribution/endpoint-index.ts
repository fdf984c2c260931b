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
  /** mutable through EndpointIndex.end() only (a live binding ends) */
  readonly toUs: number;
  /**
   * The binding's identity in its source (LiveInventory: `source\0key`), '' for an inventory
   * file's records. Breaks ties between bindings that start at the same instant.
   */
  readonly key: string;
}

/** What an expired binding's slot in `EndpointIndex.endpoints` holds: it never matches. */
export const EXPIRED_ENDPOINT: Endpoint = Object.freeze({
  id: -1,
  namespace: '',
  pod: '',
  node: '',
  interface: '',
  network: '',
  tier: '',
  mode: 'l2',
  vlan: 0,
  vni: -1,
  mac: '',
  ips: [],
  static: false,
  vf: undefined,
  scope: -1,
  macNum: -1,
  fromUs: Number.POSITIVE_INFINITY,
  toUs: Number.POSITIVE_INFINITY,
  key: '',
});

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
 * Whether binding `a` goes before (wins over) binding `b` in a candidate list: the newer
 * start wins; on equal start times the smaller key when both have one (LiveInventory's
 * bindings: deterministic whatever the order events arrived in), else the later record.
 */
function before(a: Endpoint, b: Endpoint): boolean {
  if (a.fromUs !== b.fromUs) return a.fromUs > b.fromUs;
  return a.key === '' || b.key === '' || a.key <= b.key;
}

/** Keeps each candidate list winner first (see `before`): lookups scan it in order. */
function add(map: Map<number, Entry[]>, hash: number, entry: Entry): void {
  const list = map.get(hash);
  if (list === undefined) {
    map.set(hash, [entry]);
    return;
  }
  let i = list.length;
  list.push(entry);
  while (i > 0 && before(entry.ep, list[i - 1].ep)) {
    list[i] = list[i - 1];
    i--;
  }
  list[i] = entry;
}

function removeFrom(map: Map<number, Entry[]>, hash: number, ep: Endpoint): void {
  const list = map.get(hash);
  if (list === undefined) return;
  const i = list.findIndex((e) => e.ep === ep);
  if (i < 0) return;
  if (list.length === 1) map.delete(hash);
  else list.splice(i, 1);
}

/** `fromUs`/`toUs`, when given, override the record's from/to (ISO strings hold only ms). */
export function endpointFromRecord(
  r: EndpointRecord,
  id: number,
  key = '',
  fromUs?: number,
  toUsOverride?: number,
): Endpoint {
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
    fromUs: fromUs ?? toUs(r.from, Number.NEGATIVE_INFINITY),
    toUs: toUsOverride ?? toUs(r.to, Number.POSITIVE_INFINITY),
    key,
  };
}

export class EndpointIndex {
  /**
   * Every binding by id (its position). Ids stay valid for the index's life, since flow
   * rows hold them: an expired binding's slot holds EXPIRED_ENDPOINT (8 bytes kept).
   */
  readonly endpoints: Endpoint[] = [];
  private readonly byMac = new Map<number, Entry[]>();
  private readonly byIp4 = new Map<number, Entry[]>();
  private readonly byIp6 = new Map<number, Entry[]>();
  /** keyed by ip4Hash (a Smi): a raw address above 2^30 would be a heap number, boxed per lookup */
  private readonly vtep4 = new Map<number, { ip: number; node: string }[]>();
  private readonly vtep6 = new Map<number, { ip: Uint8Array; node: string }[]>();
  /** scopes that have (or had) at least one endpoint */
  private readonly scopes = new Set<number>();
  /** bumped by every change: results cached under an older generation are stale */
  generation = 0;

  static fromInventory(inv: Inventory): EndpointIndex {
    const idx = new EndpointIndex();
    for (const n of inv.nodes) for (const v of n.vteps) idx.addVtep(v, n.name);
    for (const r of inv.endpoints) idx.add(r);
    return idx;
  }

  addVtep(ip: string, node: string): void {
    this.generation++;
    if (isIPv4(ip)) {
      const n = parseIpv4(ip);
      const h = ip4Hash(n);
      const list = this.vtep4.get(h);
      if (list) list.push({ ip: n, node });
      else this.vtep4.set(h, [{ ip: n, node }]);
    } else {
      const b = parseIpv6(ip);
      const h = ip6Hash(b);
      const list = this.vtep6.get(h);
      if (list) list.push({ ip: b, node });
      else this.vtep6.set(h, [{ ip: b, node }]);
    }
  }

  /**
   * Adds a binding; `key` (see Endpoint.key) breaks ties of equal start times; `fromUs` and
   * `toUs` override the record's from/to with µs precision.
   */
  add(r: EndpointRecord, key = '', fromUs?: number, toUs?: number): Endpoint {
    this.generation++;
    const ep = endpointFromRecord(r, this.endpoints.length, key, fromUs, toUs);
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

  /**
   * Ends a binding at tUs (a live binding that was unbound). The candidate lists stay in
   * order (they are ordered by start), so this is a field write and a generation bump.
   */
  end(ep: Endpoint, tUs: number): void {
    if (this.endpoints[ep.id] !== ep) throw new Error(`endpoint ${ep.id} is not in this index`);
    (ep as { toUs: number }).toUs = tUs;
    this.generation++;
  }

  /**
   * Removes a binding from the lookups (history past its retention, or a binding replaced
   * before it began). Its id's slot then holds EXPIRED_ENDPOINT.
   */
  remove(ep: Endpoint): void {
    if (this.endpoints[ep.id] !== ep) return;
    this.generation++;
    this.endpoints[ep.id] = EXPIRED_ENDPOINT;
    removeFrom(this.byMac, macHash(ep.macNum), ep);
    for (const ip of ep.ips) {
      if (isIPv4(ip)) removeFrom(this.byIp4, ip4Hash(parseIpv4(ip)), ep);
      else removeFrom(this.byIp6, ip6Hash(parseIpv6(ip)), ep);
    }
  }

  hasScope(scope: number): boolean {
    return this.scopes.has(scope);
  }

  /**
   * Stability of the lookups since `beginLookups()`: every result they gave holds for any
   * time in [stableFrom, stableTo), as long as `generation` is unchanged. The flow table
   * uses it to attribute a flow once instead of every packet.
   */
  stableFrom = Number.NEGATIVE_INFINITY;
  stableTo = Number.POSITIVE_INFINITY;

  beginLookups(): void {
    this.stableFrom = Number.NEGATIVE_INFINITY;
    this.stableTo = Number.POSITIVE_INFINITY;
  }

  byMacAt(scope: number, mac: number, tUs: number): Endpoint | null {
    return this.pick(this.byMac.get(macHash(mac)), scope, mac, null, tUs);
  }

  byIp4At(scope: number, ip: number, tUs: number): Endpoint | null {
    return this.pick(this.byIp4.get(ip4Hash(ip)), scope, ip, null, tUs);
  }

  byIp6At(scope: number, ip: Uint8Array, tUs: number): Endpoint | null {
    return this.pick(this.byIp6.get(ip6Hash(ip)), scope, 0, ip, tUs);
  }

  /**
   * The newest binding of (scope, key) active at tUs. Narrows [stableFrom, stableTo) by the
   * start and end of every binding of the same (scope, key) it passes: the answer can only
   * change at one of those instants. Bindings after the one returned started earlier, so
   * they cannot change the answer while it is active.
   */
  private pick(
    list: Entry[] | undefined,
    scope: number,
    key: number,
    ip6: Uint8Array | null,
    tUs: number,
  ): Endpoint | null {
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      const ep = e.ep;
      if (ep.scope !== scope || (ip6 === null ? e.key !== key : !sameBytes(e.ip6!, ip6))) continue;
      const from = ep.fromUs;
      const to = ep.toUs;
      if (tUs < from) {
        if (from < this.stableTo) this.stableTo = from;
      } else if (tUs >= to) {
        if (to > this.stableFrom) this.stableFrom = to;
      } else {
        if (from > this.stableFrom) this.stableFrom = from;
        if (to < this.stableTo) this.stableTo = to;
        return ep;
      }
    }
    return null;
  }

  vtepNode4(ip: number): string | null {
    const list = this.vtep4.get(ip4Hash(ip));
    if (list) for (const v of list) if (v.ip === ip) return v.node;
    return null;
  }

  vtepNode6(ip: Uint8Array): string | null {
    const list = this.vtep6.get(ip6Hash(ip));
    if (list) for (const v of list) if (sameBytes(v.ip, ip)) return v.node;
    return null;
  }
}
