/**
 * Time-versioned endpoint index: which endpoint held a (scope, MAC) or (scope, IP) at a
 * given instant. The scope is the tenant context: the VLAN for L2 endpoints, the VNI for
 * overlay endpoints — the same MAC or IP in two scopes are two endpoints.
 *
 * Hand-written for speed (it runs twice per packet): the lookups go through typed-array
 * hash tables whose slots hold each binding's key, times and endpoint id (binding-table.ts),
 * so a lookup touches about one cache line plus the endpoint it returns, and allocates
 * nothing. Bindings can end (`end`) and be removed (`remove`, history past its retention)
 * in place; every change bumps `generation`.
 */
import { isIPv4 } from 'node:net';
import { ipv6ToString, parseIpv4, parseIpv6, parseMac } from '../decode/addr.js';
import { BindingTable, type LookupState } from './binding-table.js';
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
  /** distinct, canonical (canonicalIps) */
  readonly ips: readonly string[];
  readonly static: boolean;
  readonly vf: { readonly pf: string; readonly index: number } | undefined;
  /** the host-side device (veth peer, OVS port, representor) on `node`; '' when not known */
  readonly hostInterface: string;
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
  hostInterface: '',
  scope: -1,
  macNum: -1,
  fromUs: Number.POSITIVE_INFINITY,
  toUs: Number.POSITIVE_INFINITY,
  key: '',
});

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

const word = (b: Uint8Array, i: number): number =>
  (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];

/** An address in one spelling: IPv6 compressed and lower-case (`fd00:0::1` → `fd00::1`). */
export function canonicalIp(ip: string): string {
  return isIPv4(ip) ? ip : ipv6ToString(parseIpv6(ip));
}

/**
 * A record's addresses, each once, in canonical form. An address listed twice (or in two
 * spellings) must be one key of the binding: a table slot per listing would survive the
 * binding's end or removal, which finds only the first.
 */
export function canonicalIps(ips: readonly string[]): string[] {
  return [...new Set(ips.map(canonicalIp))];
}

/**
 * The table keys of a binding: its MAC (2 words), IPv4s (2 words), IPv6s (4 words). The
 * binding's `ips` are distinct (canonicalIps), so no key appears twice.
 */
function keysOf(ep: Endpoint): { mac: number[]; ip4: number[][]; ip6: number[][] } {
  const ip4: number[][] = [];
  const ip6: number[][] = [];
  for (const ip of ep.ips) {
    if (isIPv4(ip)) ip4.push([parseIpv4(ip) | 0, 0]);
    else {
      const b = parseIpv6(ip);
      ip6.push([word(b, 0), word(b, 4), word(b, 8), word(b, 12)]);
    }
  }
  return { mac: [ep.macNum | 0, (ep.macNum / 0x100000000) | 0], ip4, ip6 };
}

function toUs(iso: string | null, fallback: number): number {
  return iso === null ? fallback : Date.parse(iso) * 1000;
}

/**
 * Whether binding `a` wins a tie (the same start) over `b`: the smaller key when both have
 * one (LiveInventory's bindings: deterministic whatever the order events arrived in), else
 * the later record.
 */
function winsTie(a: Endpoint, b: Endpoint): boolean {
  return a.key !== '' && b.key !== '' && a.key !== b.key ? a.key < b.key : a.id > b.id;
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
    ips: canonicalIps(r.ips),
    static: r.static,
    vf: l2 ? r.vf : undefined,
    hostInterface: r.hostInterface ?? '',
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
  /** the lookup time and the stability span (see LookupState) */
  private readonly st: LookupState = new Float64Array([
    0,
    Number.NEGATIVE_INFINITY,
    Number.POSITIVE_INFINITY,
    0,
  ]);
  private readonly byMac = new BindingTable(2, this.st);
  private readonly byIp4 = new BindingTable(2, this.st);
  private readonly byIp6 = new BindingTable(4, this.st);
  private readonly tie = (x: number, y: number): boolean => winsTie(this.endpoints[x], this.endpoints[y]);
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
    const k = keysOf(ep);
    const { scope, id, fromUs: f, toUs: t } = ep;
    this.byMac.insert(k.mac, scope, id, f, t, this.tie);
    for (const key of k.ip4) this.byIp4.insert(key, scope, id, f, t, this.tie);
    for (const key of k.ip6) this.byIp6.insert(key, scope, id, f, t, this.tie);
    return ep;
  }

  /** Ends a binding at tUs (a live binding that was unbound): its slots' `to` is set. */
  end(ep: Endpoint, tUs: number): void {
    if (this.endpoints[ep.id] !== ep) throw new Error(`endpoint ${ep.id} is not in this index`);
    (ep as { toUs: number }).toUs = tUs;
    const k = keysOf(ep);
    this.byMac.setTo(k.mac, ep.scope, ep.id, tUs);
    for (const key of k.ip4) this.byIp4.setTo(key, ep.scope, ep.id, tUs);
    for (const key of k.ip6) this.byIp6.setTo(key, ep.scope, ep.id, tUs);
    this.generation++;
  }

  /**
   * Removes a binding from the lookups (history past its retention, or a binding replaced
   * before it began). Its id's slot then holds EXPIRED_ENDPOINT.
   */
  remove(ep: Endpoint): void {
    if (this.endpoints[ep.id] !== ep) return;
    this.generation++;
    const k = keysOf(ep);
    this.byMac.remove(k.mac, ep.scope, ep.id);
    for (const key of k.ip4) this.byIp4.remove(key, ep.scope, ep.id);
    for (const key of k.ip6) this.byIp6.remove(key, ep.scope, ep.id);
    this.endpoints[ep.id] = EXPIRED_ENDPOINT;
  }

  /** Bytes of the lookup tables (the endpoint objects not included). */
  get tableBytes(): number {
    return this.byMac.bytes + this.byIp4.bytes + this.byIp6.bytes;
  }

  hasScope(scope: number): boolean {
    return this.scopes.has(scope);
  }

  /**
   * Stability of the lookups since `beginLookups()`: every result they gave holds for any
   * time in [stableFrom, stableTo), as long as `generation` is unchanged. The flow table
   * uses it to attribute a flow once instead of every packet.
   */
  get stableFrom(): number {
    return this.st[1];
  }
  get stableTo(): number {
    return this.st[2];
  }

  /**
   * Whether the last lookup's key had more than one binding active at its time (two live
   * claims of one (scope, MAC) or (scope, IP): a conflict). Its answer is then only the
   * newest of them; attribution asks the IP which one it was (attribute.ts).
   */
  get ambiguous(): boolean {
    return this.st[3] !== 0;
  }

  beginLookups(): void {
    this.st[1] = Number.NEGATIVE_INFINITY;
    this.st[2] = Number.POSITIVE_INFINITY;
  }

  /**
   * The binding of (scope, MAC) active at tUs (the latest start wins; see BindingTable),
   * narrowing [stableFrom, stableTo) to the span its answer holds for.
   */
  byMacAt(scope: number, mac: number, tUs: number): Endpoint | null {
    this.st[0] = tUs;
    const id = this.byMac.find2(scope, mac | 0, (mac / 0x100000000) | 0);
    return id < 0 ? null : this.endpoints[id];
  }

  byIp4At(scope: number, ip: number, tUs: number): Endpoint | null {
    this.st[0] = tUs;
    const id = this.byIp4.find2(scope, ip | 0, 0);
    return id < 0 ? null : this.endpoints[id];
  }

  byIp6At(scope: number, ip: Uint8Array, tUs: number): Endpoint | null {
    this.st[0] = tUs;
    const id = this.byIp6.find4(scope, word(ip, 0), word(ip, 4), word(ip, 8), word(ip, 12));
    return id < 0 ? null : this.endpoints[id];
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
