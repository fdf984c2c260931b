/**
 * The endpoint lifecycle: folds the bind/unbind events of the endpoint sources into one
 * time-versioned EndpointIndex that the packet path, the flow table and the exporter join
 * read, keeps ended bindings for `retentionSeconds` (so a packet attributes to whoever held
 * its address at the packet's own time), and reports conflicting live claims.
 *
 * Why the index is changed in place rather than rebuilt per change: a fresh index of 100k
 * live endpoints and 50k history bindings took 0.7–1.4 s to build here (parsing addresses,
 * filling the binding tables; `npm run bench:inventory` prints it), and sources deliver
 * changes every few seconds in a busy cluster, while ending a binding is a few slot writes
 * (`EndpointIndex.end`) and adding one a hash-table insert: the whole 200k-event build
 * through this class runs at 70–100k events/s. Every change bumps `index.generation`, which
 * makes the flow table re-attribute its cached flows; the `index` object itself never
 * changes, so consumers may hold it.
 *
 * Rules:
 * - A binding is identified by (source, key). A bind for a bound key with an identical
 *   record is a no-op (a relist re-emits everything); with a different record the old
 *   binding ends where the new one starts.
 * - A bind starts at `record.from` when set, else at the event's `atUs`; an unbind ends it
 *   at its `atUs`. A record with `to` set is history.
 * - Static endpoints keep their identity (namespace, pod, interface) across nodes: when a
 *   static endpoint binds on another node while its old binding is still live, that is a
 *   move — the old binding ends where the new starts, and no conflict is counted.
 * - Two live bindings from different keys claiming the same (scope, MAC) or (scope, IP) are
 *   a conflict: counted per claim (`podwire_endpoint_conflicts_total{kind}`), logged once per
 *   pair of bindings, and resolved by the index deterministically: the binding that started
 *   last wins; on equal start times the smaller `source\0key` wins. The loser is kept: when
 *   the winner unbinds, the loser is found again. While a MAC is claimed twice, attribution
 *   asks the packet's IP which claimant sent it (attribute.ts). The same endpoint (namespace, pod,
 *   interface) reported by two sources is not a conflict.
 */
import type { Registry } from 'prom-client';
import { ENDPOINT_METRICS } from '../../node-exporter/metrics.js';
import { scrapeCounter, scrapeGauge } from '../../node-exporter/scrape-metrics.js';
import type { Endpoint } from '../attribution/endpoint-index.js';
import { canonicalIps, EndpointIndex } from '../attribution/endpoint-index.js';
import type { EndpointRecord, Inventory } from '../attribution/inventory.js';
import {
  defaultLog,
  type EndpointEvent,
  type EndpointNode,
  type EndpointSource,
  type Log,
  nowUs,
} from './types.js';

export interface LiveInventoryOptions {
  /** ended bindings are kept this long (default 24 h) */
  retentionSeconds?: number;
  log?: Log;
  /** µs since the epoch (default the wall clock): expiry is measured against it */
  now?: () => number;
}

export interface LiveInventoryStats {
  /** live bindings */
  live: number;
  /** ended bindings still kept */
  history: number;
  /** conflicting claims detected since start */
  conflicts: number;
  /** node → VFs bound to live L2 endpoints */
  vfsInUse: Map<string, number>;
}

interface Binding {
  readonly source: string;
  readonly key: string;
  /** `source\0key`: the index's tie-break key */
  readonly id: string;
  /** the source's record, as it came (shared, not copied) */
  readonly record: EndpointRecord;
  readonly ep: Endpoint;
}

const identityOf = (r: { namespace: string; pod: string; interface: string }): string =>
  `${r.namespace}/${r.pod}/${r.interface}`;
const sameIdentity = (a: EndpointRecord, b: EndpointRecord): boolean =>
  a.namespace === b.namespace && a.pod === b.pod && a.interface === b.interface;

/** Whether two records describe the same endpoint, from/to aside (a re-emitted bind). */
function sameRecord(a: EndpointRecord, b: EndpointRecord): boolean {
  if (
    a.namespace !== b.namespace ||
    a.pod !== b.pod ||
    a.node !== b.node ||
    a.interface !== b.interface ||
    a.network !== b.network ||
    a.mac.toLowerCase() !== b.mac.toLowerCase() ||
    a.tier !== b.tier ||
    a.static !== b.static ||
    (a.hostInterface ?? '') !== (b.hostInterface ?? '') ||
    !sameIps(a.ips, b.ips)
  ) {
    return false;
  }
  if (a.mode === 'l2' && b.mode === 'l2') {
    return a.vlan === b.vlan && a.vf?.pf === b.vf?.pf && a.vf?.index === b.vf?.index;
  }
  return a.mode === 'overlay' && b.mode === 'overlay' && a.vni === b.vni;
}

/** The same addresses in the same order, however spelled (a relist may spell IPv6 anew). */
function sameIps(a: readonly string[], b: readonly string[]): boolean {
  const x = canonicalIps(a);
  const y = canonicalIps(b);
  return x.length === y.length && x.every((ip, i) => ip === y[i]);
}

/** The record of an index binding (history keeps no record of its own). */
function recordOf(ep: Endpoint): EndpointRecord {
  const common = {
    namespace: ep.namespace,
    pod: ep.pod,
    node: ep.node,
    interface: ep.interface,
    network: ep.network,
    mac: ep.mac,
    ips: [...ep.ips],
    tier: ep.tier,
    static: ep.static,
    ...(ep.hostInterface === '' ? {} : { hostInterface: ep.hostInterface }),
    from: Number.isFinite(ep.fromUs) ? isoUs(ep.fromUs) : null,
    to: Number.isFinite(ep.toUs) ? isoUs(ep.toUs) : null,
  };
  return ep.mode === 'l2'
    ? { ...common, mode: 'l2', vlan: ep.vlan, ...(ep.vf ? { vf: { ...ep.vf } } : {}) }
    : { ...common, mode: 'overlay', vni: ep.vni };
}

/** A binding's claims, each once: its MAC (as a number: any case) and its distinct addresses. */
function claimsOf(ep: Endpoint): string[] {
  const out = [`${ep.scope}|mac|${ep.macNum}`];
  // ep.ips are distinct and canonical (EndpointIndex)
  for (const ip of ep.ips) out.push(`${ep.scope}|ip|${ip}`);
  return out;
}

const isoUs = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();

export class LiveInventory {
  /** what the packet path, the flow table and the exporter join read; kept current in place */
  readonly index = new EndpointIndex();
  readonly retentionUs: number;
  private readonly log: Log;
  private readonly now: () => number;
  /** live bindings by `source\0key` */
  private readonly live = new Map<string, Binding>();
  /** ended bindings still kept, in the order they ended (expired from the front) */
  private history: Endpoint[] = [];
  private historyHead = 0;
  /** live claims: claim → the binding holding it, or the bindings (a conflict) */
  private readonly claims = new Map<string, Binding | Binding[]>();
  /** conflicting pairs already logged (`id1\n id2`, sorted) */
  private readonly loggedPairs = new Set<string>();
  private conflictsMac = 0;
  private conflictsIp = 0;
  private readonly nodes = new Map<string, Set<string>>();
  /** nodes that had a VF bound (their VFs in use are reported, 0 when none are left) */
  private readonly vfNodes = new Set<string>();
  private readonly listeners: (() => void)[] = [];
  private readonly sources: EndpointSource[] = [];
  private readonly events = new Map<string, { bind: number; unbind: number }>();
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(opts: LiveInventoryOptions = {}) {
    const retention = opts.retentionSeconds ?? 24 * 3600;
    if (!(retention >= 0)) throw new RangeError('retentionSeconds must be >= 0');
    this.retentionUs = retention * 1e6;
    this.log = opts.log ?? defaultLog;
    this.now = opts.now ?? nowUs;
  }

  /**
   * Starts a source feeding this inventory (its events and its nodes); resolves once its
   * initial set is in. Also starts a once-a-minute expiry of old history (unref'd).
   */
  async attach(source: EndpointSource): Promise<void> {
    this.sources.push(source);
    if (this.expiryTimer === null) {
      this.expiryTimer = setInterval(() => this.expire(), 60_000);
      this.expiryTimer.unref();
    }
    await source.start(
      (events) => this.apply(source.name, events),
      (nodes) => this.setNodes(nodes),
    );
  }

  /** Stops every attached source and the expiry timer. */
  async close(): Promise<void> {
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    this.expiryTimer = null;
    const sources = this.sources.splice(0);
    await Promise.all(sources.map((s) => s.stop()));
  }

  /** Folds one batch of a source's events in (in order), then expires old history. */
  apply(source: string, events: EndpointEvent[]): void {
    if (events.length === 0) return;
    let counts = this.events.get(source);
    if (counts === undefined) {
      counts = { bind: 0, unbind: 0 };
      this.events.set(source, counts);
    }
    let changed = false;
    for (const e of events) {
      counts[e.kind]++;
      if (e.kind === 'bind') changed = this.bind(source, e) || changed;
      else changed = this.unbind(source, e.key, e.atUs) || changed;
    }
    changed = this.expire() || changed;
    if (changed) this.changed();
  }

  addVtep(ip: string, node: string): void {
    let set = this.nodes.get(node);
    if (set === undefined) {
      set = new Set();
      this.nodes.set(node, set);
    }
    if (set.has(ip)) return;
    set.add(ip);
    this.index.addVtep(ip, node);
    this.changed();
  }

  /** Adds the nodes' VTEPs not known yet (VTEPs are never removed: they rarely change). */
  setNodes(nodes: EndpointNode[]): void {
    for (const n of nodes) {
      if (!this.nodes.has(n.name)) this.nodes.set(n.name, new Set());
      for (const v of n.vteps) this.addVtep(v, n.name);
    }
  }

  /** Drops ended bindings older than the retention; true when any was dropped. */
  expire(atUs = this.now()): boolean {
    const cutoff = atUs - this.retentionUs;
    const h = this.history;
    let i = this.historyHead;
    // ordered by end (pushHistory)
    while (i < h.length && h[i].toUs <= cutoff) {
      this.index.remove(h[i]);
      i++;
    }
    if (i === this.historyHead) return false;
    this.historyHead = i;
    if (i > 1024 && i * 2 > h.length) {
      this.history = h.slice(i);
      this.historyHead = 0;
    }
    return true;
  }

  /** Current and retained bindings as an inventory (tests, the demo NIC, debugging). */
  snapshot(): Inventory {
    const endpoints: EndpointRecord[] = [];
    const at = (us: number): string | null => (Number.isFinite(us) ? isoUs(us) : null);
    for (let i = this.historyHead; i < this.history.length; i++) {
      endpoints.push(recordOf(this.history[i]));
    }
    for (const b of this.live.values()) endpoints.push({ ...b.record, from: at(b.ep.fromUs), to: null });
    endpoints.sort(
      (a, b) => (a.from ?? '').localeCompare(b.from ?? '') || identityOf(a).localeCompare(identityOf(b)),
    );
    const nodes = [...this.nodes].map(([name, vteps]) => ({ name, vteps: [...vteps] }));
    nodes.sort((a, b) => a.name.localeCompare(b.name));
    return { version: 1, nodes, endpoints };
  }

  /** Live bindings' records (current state). */
  current(): EndpointRecord[] {
    return [...this.live.values()].map((b) => ({ ...b.record, from: isoUs(b.ep.fromUs), to: null }));
  }

  stats(): LiveInventoryStats {
    const vfs = new Map<string, Set<string>>();
    for (const n of this.nodes.keys()) vfs.set(n, new Set());
    for (const n of this.vfNodes) vfs.set(n, new Set());
    for (const b of this.live.values()) {
      const r = b.record;
      if (r.mode !== 'l2' || !r.vf) continue;
      let set = vfs.get(r.node);
      if (set === undefined) {
        set = new Set();
        vfs.set(r.node, set);
      }
      set.add(`${r.vf.pf}/${r.vf.index}`);
    }
    const vfsInUse = new Map<string, number>();
    for (const [n, s] of vfs) vfsInUse.set(n, s.size);
    return {
      live: this.live.size,
      history: this.history.length - this.historyHead,
      conflicts: this.conflictsMac + this.conflictsIp,
      vfsInUse,
    };
  }

  /** Registers the lifecycle metrics (node-exporter/metrics.ts ENDPOINT_METRICS), read at scrape time. */
  registerMetrics(registry: Registry): void {
    const m = ENDPOINT_METRICS;
    scrapeGauge(registry, m.live, (g) => {
      const bySource = new Map<string, number>();
      for (const s of this.events.keys()) bySource.set(s, 0);
      for (const b of this.live.values()) bySource.set(b.source, (bySource.get(b.source) ?? 0) + 1);
      for (const [s, n] of bySource) g.labels(s).set(n);
    });
    scrapeGauge(registry, m.history, (g) => g.set(this.history.length - this.historyHead));
    scrapeCounter(registry, m.events, (c) => {
      for (const [s, n] of this.events) {
        c.labels(s, 'bind').inc(n.bind);
        c.labels(s, 'unbind').inc(n.unbind);
      }
    });
    scrapeCounter(registry, m.conflicts, (c) => {
      c.labels('mac').inc(this.conflictsMac);
      c.labels('ip').inc(this.conflictsIp);
    });
    scrapeGauge(registry, m.vfsInUse, (g) => {
      for (const [n, v] of this.stats().vfsInUse) g.labels(n).set(v);
    });
    scrapeCounter(registry, m.sourceErrors, (c) => {
      for (const s of this.sources) c.labels(s.name).inc(s.health().errors);
    });
  }

  /** Called (synchronously) after every change of the index. */
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  // -------------------------------------------------------------------------------------

  private changed(): void {
    for (const cb of this.listeners) cb();
  }

  private bind(source: string, e: EndpointEvent): boolean {
    const r = e.record;
    if (r === undefined) {
      this.log(`${source}: bind ${e.key} without a record (ignored)`);
      return false;
    }
    const id = `${source}\0${e.key}`;
    const old = this.live.get(id);
    const fromUs = r.from !== null ? Date.parse(r.from) * 1000 : e.atUs;
    if (old !== undefined) {
      if (r.to === null && sameRecord(old.record, r)) return false; // re-emitted, unchanged
      this.endBinding(old, fromUs);
    }
    if (r.to !== null) {
      const toUs = Date.parse(r.to) * 1000;
      if (toUs <= fromUs) return false;
      this.pushHistory(this.index.add(r, id, fromUs, toUs));
      return true;
    }
    // µs precision: the record's ISO strings hold only ms
    const ep = this.index.add(r, id, fromUs);
    const b: Binding = { source, key: e.key, id, record: r, ep };
    this.claim(b, fromUs);
    this.live.set(id, b);
    if (r.mode === 'l2' && r.vf) this.vfNodes.add(r.node);
    return true;
  }

  private unbind(source: string, key: string, atUs: number): boolean {
    const b = this.live.get(`${source}\0${key}`);
    if (b === undefined) return false;
    this.endBinding(b, atUs);
    return true;
  }

  private endBinding(b: Binding, atUs: number): void {
    this.live.delete(b.id);
    for (const c of claimsOf(b.ep)) {
      const held = this.claims.get(c);
      if (held === b) this.claims.delete(c);
      else if (Array.isArray(held)) {
        const i = held.indexOf(b);
        if (i >= 0) held.splice(i, 1);
        if (held.length === 1) this.claims.set(c, held[0]);
      }
    }
    if (atUs <= b.ep.fromUs) {
      // replaced or unbound before it began: it never held anything
      this.index.remove(b.ep);
      return;
    }
    this.index.end(b.ep, atUs);
    this.pushHistory(b.ep);
  }

  /**
   * Keeps the history ordered by end, so expiry takes it from the front: bindings mostly end
   * in order (appended); one that ended earlier than the last (a record with `to`, events
   * of two sources out of order) is inserted at its place.
   */
  private pushHistory(ep: Endpoint): void {
    const h = this.history;
    if (h.length === this.historyHead || h[h.length - 1].toUs <= ep.toUs) {
      h.push(ep);
      return;
    }
    let lo = this.historyHead;
    let hi = h.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (h[mid].toUs <= ep.toUs) lo = mid + 1;
      else hi = mid;
    }
    h.splice(lo, 0, ep);
  }

  /** Registers a new live binding's claims: moves static endpoints, reports conflicts. */
  private claim(b: Binding, fromUs: number): void {
    const claims = claimsOf(b.ep);
    // a static endpoint seen on another node: its live binding elsewhere ends here
    if (b.record.static) {
      for (const c of claims) {
        const held = this.claims.get(c);
        if (held === undefined) continue;
        for (const other of Array.isArray(held) ? [...held] : [held]) {
          if (
            other.record.static &&
            sameIdentity(other.record, b.record) &&
            other.record.node !== b.record.node
          ) {
            this.endBinding(other, fromUs);
          }
        }
      }
    }
    for (const c of claims) {
      const held = this.claims.get(c);
      if (held === undefined) {
        this.claims.set(c, b);
        continue;
      }
      const others = Array.isArray(held) ? held : [held];
      for (const other of others) {
        if (sameIdentity(other.record, b.record)) continue; // the same endpoint from another source
        if (c.includes('|mac|')) this.conflictsMac++;
        else this.conflictsIp++;
        const pair = b.id < other.id ? `${b.id}\n${other.id}` : `${other.id}\n${b.id}`;
        if (!this.loggedPairs.has(pair)) {
          this.loggedPairs.add(pair);
          if (this.loggedPairs.size > 100_000) this.loggedPairs.clear(); // bounded
          const [, scope, , addr] = /^(\d+)\|(mac|ip)\|(.*)$/.exec(c) ?? [];
          const what = c.includes('|mac|') ? `MAC ${b.record.mac.toLowerCase()}` : `IP ${addr}`;
          const wins = winner(b.ep, other.ep);
          this.log(
            `endpoint conflict: ${what} in scope ${scopeName(Number(scope))} claimed by ` +
              `${describe(b)} and ${describe(other)} (live); ${describe(wins === b.ep ? b : other)} wins`,
          );
        }
      }
      this.claims.set(c, [...others, b]);
    }
  }
}

function winner(a: Endpoint, b: Endpoint): Endpoint {
  if (a.fromUs !== b.fromUs) return a.fromUs > b.fromUs ? a : b;
  return a.key <= b.key ? a : b;
}

function scopeName(scope: number): string {
  return scope >= 4096 ? `VNI ${scope - 4096}` : `VLAN ${scope}`;
}

function describe(b: Binding): string {
  const r = b.record;
  return `${r.namespace}/${r.pod} ${r.interface} on ${r.node} (${b.source} ${b.key})`;
}
