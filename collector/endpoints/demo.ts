/**
 * The `demo` endpoint source: a simulated provisioning agent (the CNI and its controller)
 * for the all-in-one demo, the tests and the benchmarks.
 *
 * The cluster: `nodes` nodes (node-a, node-b, …; VTEP 192.168.50.<n+1>, as
 * collector/nic/demo.ts's demoInventory), each with one PF (DEMO_PF) of 64 VFs; three
 * tenants (namespaces shop, payments, search) on VLANs 100, 101, 102, and one overlay on
 * VNI 5001. About `pods` pods in deployments: most have an L2 leg (eth0: a VF, the
 * tenant's VLAN, an IP of 10.<10+tenant>.0.0/16), some only an overlay leg (net1: VNI 5001,
 * 172.16.0.0/16), and gateway pods have both. One static endpoint (shop/ledger-0, fixed MAC
 * and IP) moves between nodes. Tiers are the demo SmartNIC's: high, standard, best-effort.
 *
 * The 64-VF limit is enforced: a pod whose L2 leg finds no free VF on any node stays
 * pending (counted in `stats().pendingNoVf`) until one frees up. Churn is a Poisson process
 * of `churnPerHour` events: restarts (the pod is replaced: new name and MAC, the lowest free
 * IP — so freed IPs get reused — and maybe another node), scale-ups, scale-downs, and static
 * moves (the new pod binds on another node before the old one's unbind arrives, as with a
 * StatefulSet pod rescheduled while its predecessor terminates).
 *
 * Deterministic: the same seed and options give the same events whatever steps time
 * advances in (every draw happens in event order). Time is simulated: `advanceTo(us)` runs
 * everything up to `us` at once, so tests cover hours of churn without waiting; with
 * `realtime` the source follows the wall clock once a second.
 */
import { type EndpointRecord, type Inventory, parseInventory } from '../attribution/inventory.js';
import { DEMO_PF, demoNodeName } from '../nic/demo.js';
import { Prng } from '../synth/prng.js';
import type { DemoSourceConfig } from './config.js';
import type {
  EmitEvents,
  EmitNodes,
  EndpointEvent,
  EndpointNode,
  EndpointSource,
  EndpointSourceHealth,
} from './types.js';

export const DEMO_VFS_PER_NODE = 64;
export const DEMO_TENANTS = [
  { namespace: 'shop', vlan: 100 },
  { namespace: 'payments', vlan: 101 },
  { namespace: 'search', vlan: 102 },
] as const;
export const DEMO_VNI = 5001;
export const DEMO_OVERLAY_NETWORK = 'overlay-5001';
export const DEMO_STATIC = {
  namespace: 'shop',
  pod: 'ledger-0',
  mac: '02:5e:00:00:00:01',
  ip: '10.10.255.1',
} as const;

export interface DemoAgentOptions extends Partial<Omit<DemoSourceConfig, 'type' | 'start'>> {
  /** the simulated cluster starts here, µs since the epoch (default: now) */
  startUs?: number;
  /** µs since the epoch, for realtime mode (default the wall clock) */
  now?: () => number;
}

export interface DemoAgentStats {
  pods: number;
  /** pods waiting for a free VF */
  pendingNoVf: number;
  restarts: number;
  scaleUps: number;
  scaleDowns: number;
  staticMoves: number;
  /** binds of an IP that an earlier binding of this run held */
  ipReuses: number;
  /** pods that waited for a VF and then started */
  startedAfterWait: number;
}

type LegKind = 'l2' | 'overlay';

interface Deployment {
  readonly namespace: string;
  readonly tenant: number;
  readonly app: string;
  readonly legs: readonly LegKind[];
  readonly tier: string;
  replicas: number;
}

interface Leg {
  readonly key: string;
  record: EndpointRecord;
}

interface Pod {
  readonly uid: string;
  readonly name: string;
  readonly dep: Deployment;
  node: string;
  legs: Leg[];
}

/** A scheduled happening; `seq` orders equal times (the order they were scheduled in). */
interface Pending {
  atUs: number;
  seq: number;
  run: (atUs: number) => void;
}

const L2_APPS = ['web', 'api', 'db', 'cache', 'queue', 'worker'];
const OVERLAY_APPS = ['svc', 'job', 'proxy'];
const TIERS = ['high', 'standard', 'standard', 'best-effort'];
const hex2 = (n: number) => (n & 255).toString(16).padStart(2, '0');
const US = 1_000_000;

export class DemoAgent implements EndpointSource {
  readonly name: string;
  readonly seed: number;
  /** the nodes and their VTEPs */
  readonly nodes: readonly EndpointNode[];
  private readonly rng: Prng;
  private readonly churnPerHour: number;
  private readonly realtime: boolean;
  private readonly now: () => number;
  private clock: number;
  private emit: EmitEvents | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly deployments: Deployment[] = [];
  private readonly pods = new Map<string, Pod>();
  /** node → free VF indexes */
  private readonly freeVfs = new Map<string, Set<number>>();
  /** tenant → used host numbers; overlay: index 3 */
  private readonly usedIps: Set<number>[] = [new Set(), new Set(), new Set(), new Set()];
  private readonly everUsedIps = new Set<string>();
  private readonly queue: Pending[] = [];
  private seq = 0;
  private uidCounter = 0;
  private macCounter = 0;
  /** pods waiting for a VF, oldest first */
  private readonly waiting: Deployment[] = [];
  private out: EndpointEvent[] = [];
  private staticPod: Pod | null = null;
  private readonly counts: Omit<DemoAgentStats, 'pods' | 'pendingNoVf'> = {
    restarts: 0,
    scaleUps: 0,
    scaleDowns: 0,
    staticMoves: 0,
    ipReuses: 0,
    startedAfterWait: 0,
  };

  constructor(opts: DemoAgentOptions = {}) {
    this.name = opts.name ?? 'demo';
    this.seed = opts.seed ?? 1;
    const nodes = opts.nodes ?? 3;
    const pods = opts.pods ?? 100;
    if (!(Number.isInteger(nodes) && nodes >= 1 && nodes <= 16))
      throw new RangeError('demo: nodes must be 1..16');
    if (!(Number.isInteger(pods) && pods >= 1)) throw new RangeError('demo: pods must be >= 1');
    this.churnPerHour = opts.churnPerHour ?? 120;
    this.realtime = opts.realtime ?? false;
    this.now = opts.now ?? (() => Date.now() * 1000);
    this.clock = opts.startUs ?? this.now();
    this.rng = new Prng(this.seed);
    const list: EndpointNode[] = [];
    for (let n = 0; n < nodes; n++) {
      const name = demoNodeName(n);
      list.push({ name, vteps: [`192.168.50.${n + 1}`] });
      this.freeVfs.set(name, new Set(Array.from({ length: DEMO_VFS_PER_NODE }, (_, i) => i)));
    }
    this.nodes = list;
    this.plan(pods);
    // the initial set: every replica, then the static endpoint, at the start instant
    for (const d of this.deployments) for (let i = 0; i < d.replicas; i++) this.createPod(d, this.clock);
    this.createStatic(this.clock, null);
    if (this.churnPerHour > 0) this.scheduleChurn(this.clock);
  }

  /** Emits the initial set (binds at the start instant); with `realtime`, follows the clock. */
  async start(emit: EmitEvents, nodes?: EmitNodes): Promise<void> {
    nodes?.(this.nodes.map((n) => ({ name: n.name, vteps: [...n.vteps] })));
    this.emit = emit;
    // the live set as binds (whatever advanceTo() already returned before the start)
    const initial: EndpointEvent[] = [];
    for (const p of this.pods.values()) {
      for (const l of p.legs) {
        initial.push({ kind: 'bind', atUs: Date.parse(l.record.from!) * 1000, key: l.key, record: l.record });
      }
    }
    this.out = [];
    emit(initial);
    if (this.realtime) {
      this.timer = setInterval(() => this.advanceTo(this.now()), 1000);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.emit = null;
  }

  health(): EndpointSourceHealth {
    return { ok: true, errors: 0, lastError: null };
  }

  /** The simulated instant, µs since the epoch. */
  get clockUs(): number {
    return this.clock;
  }

  /**
   * Simulates up to `us` (µs since the epoch); returns the events that happened, in order,
   * and emits them when started.
   */
  advanceTo(us: number): EndpointEvent[] {
    while (this.queue.length > 0 && this.queue[0].atUs <= us) {
      const p = this.queue.shift()!;
      this.clock = Math.max(this.clock, p.atUs);
      p.run(p.atUs);
    }
    this.clock = Math.max(this.clock, us);
    const events = this.out;
    this.out = [];
    if (events.length > 0) this.emit?.(events);
    return events;
  }

  /** The live endpoint records now. */
  current(): EndpointRecord[] {
    const out: EndpointRecord[] = [];
    for (const p of this.pods.values()) for (const l of p.legs) out.push(l.record);
    return out;
  }

  /** The live endpoints as an inventory (for the demo SmartNIC: collector/nic/demo.ts). */
  inventory(): Inventory {
    return parseInventory({ version: 1, nodes: this.nodes, endpoints: this.current() }, 'demo agent');
  }

  stats(): DemoAgentStats {
    return { pods: this.pods.size, pendingNoVf: this.waiting.length, ...this.counts };
  }

  // -------------------------------------------------------------------------------------

  /** Deployments adding up to about `pods` replicas: 70% L2, 20% overlay, 10% gateways. */
  private plan(pods: number): void {
    const r = this.rng;
    let total = 0;
    let i = 0;
    while (total < pods) {
      const tenant = i % DEMO_TENANTS.length;
      const roll = (i * 7) % 10; // a fixed mix, in a deterministic order
      const legs: LegKind[] = roll < 7 ? ['l2'] : roll < 9 ? ['overlay'] : ['l2', 'overlay'];
      const app =
        legs.length === 2 ? 'gateway' : legs[0] === 'l2' ? L2_APPS[i % L2_APPS.length] : OVERLAY_APPS[i % 3];
      const replicas = Math.min(pods - total, r.int(2, 6));
      this.deployments.push({
        namespace: DEMO_TENANTS[tenant].namespace,
        tenant,
        app: `${app}${i >= L2_APPS.length * 3 ? `-${i}` : ''}`,
        legs,
        tier: TIERS[r.int(0, TIERS.length - 1)],
        replicas,
      });
      total += replicas;
      i++;
    }
  }

  private schedule(atUs: number, run: (atUs: number) => void): void {
    const p: Pending = { atUs, seq: this.seq++, run };
    let i = this.queue.length;
    this.queue.push(p);
    while (i > 0 && this.queue[i - 1].atUs > atUs) {
      this.queue[i] = this.queue[i - 1];
      i--;
    }
    this.queue[i] = p;
  }

  private scheduleChurn(fromUs: number): void {
    const gapS = (-Math.log(1 - this.rng.next()) * 3600) / this.churnPerHour;
    this.schedule(fromUs + Math.max(1, Math.round(gapS * US)), (t) => {
      this.churn(t);
      this.scheduleChurn(t);
    });
  }

  private churn(t: number): void {
    const r = this.rng.next();
    const pods = [...this.pods.values()].filter((p) => p !== this.staticPod);
    if (r < 0.6 && pods.length > 0) {
      // restart: the pod is replaced, the new one starts 2–10 s later
      const p = pods[Math.floor(this.rng.next() * pods.length)];
      const delay = this.rng.int(2, 10) * US;
      this.counts.restarts++;
      this.deletePod(p, t);
      this.schedule(t + delay, (t2) => this.createPod(p.dep, t2, true));
    } else if (r < 0.75) {
      const d = this.deployments[Math.floor(this.rng.next() * this.deployments.length)];
      this.counts.scaleUps++;
      d.replicas++;
      this.createPod(d, t);
    } else if (r < 0.9 && pods.length > 0) {
      const d = this.deployments[Math.floor(this.rng.next() * this.deployments.length)];
      const mine = pods.filter((p) => p.dep === d);
      if (d.replicas > 1 && mine.length > 0) {
        this.counts.scaleDowns++;
        d.replicas--;
        this.deletePod(mine[mine.length - 1], t);
      } else {
        // nothing to scale down: drop a waiting pod of the deployment, if any
        const w = this.waiting.indexOf(d);
        if (w >= 0 && d.replicas > 1) {
          this.waiting.splice(w, 1);
          d.replicas--;
          this.counts.scaleDowns++;
        }
      }
    } else if (this.nodes.length > 1 && this.staticPod !== null) {
      // the static endpoint moves: the new pod binds elsewhere before the old one's unbind
      const old = this.staticPod;
      const others = this.nodes.filter((n) => n.name !== old.node && this.freeVfs.get(n.name)!.size > 0);
      if (others.length === 0) return;
      const to = others[Math.floor(this.rng.next() * others.length)].name;
      this.counts.staticMoves++;
      this.createStatic(t, to);
      this.schedule(t + 2 * US, (t2) => this.unbindPod(old, t2));
    }
  }

  /**
   * A new pod of `d` at t; L2 legs need a free VF (else it waits). Scheduled on the node with
   * the most free VFs, or (`anyNode`: a restart) on any node with room.
   */
  private createPod(d: Deployment, t: number, anyNode = false): void {
    const needsVf = d.legs.includes('l2');
    const node = anyNode ? this.anyNode(needsVf) : this.pickNode(needsVf);
    if (node === null) {
      this.waiting.push(d);
      return;
    }
    const uid = this.uid();
    const name = `${d.app}-${this.suffix()}`;
    const pod: Pod = { uid, name, dep: d, node, legs: [] };
    for (const kind of d.legs) {
      const ifName = kind === 'l2' ? 'eth0' : d.legs.length === 2 ? 'net1' : 'eth0';
      pod.legs.push({ key: `${uid}/${ifName}`, record: this.legRecord(pod, kind, ifName, t) });
    }
    this.pods.set(uid, pod);
    for (const l of pod.legs) this.out.push({ kind: 'bind', atUs: t, key: l.key, record: l.record });
  }

  private createStatic(t: number, node: string | null): void {
    const n = node ?? this.pickNode(true);
    if (n === null) return;
    const vf = this.takeVf(n);
    const uid = this.uid();
    const record: EndpointRecord = {
      namespace: DEMO_STATIC.namespace,
      pod: DEMO_STATIC.pod,
      node: n,
      interface: 'eth0',
      network: `${DEMO_STATIC.namespace}-l2`,
      mode: 'l2',
      vlan: DEMO_TENANTS[0].vlan,
      mac: DEMO_STATIC.mac,
      ips: [DEMO_STATIC.ip],
      vf: { pf: DEMO_PF, index: vf },
      tier: 'high',
      static: true,
      from: new Date(Math.floor(t / 1000)).toISOString(),
      to: null,
    };
    const dep: Deployment = {
      namespace: DEMO_STATIC.namespace,
      tenant: 0,
      app: 'ledger',
      legs: ['l2'],
      tier: 'high',
      replicas: 1,
    };
    const pod: Pod = { uid, name: DEMO_STATIC.pod, dep, node: n, legs: [{ key: `${uid}/eth0`, record }] };
    this.pods.set(uid, pod);
    this.staticPod = pod;
    this.out.push({ kind: 'bind', atUs: t, key: `${uid}/eth0`, record });
  }

  private legRecord(pod: Pod, kind: LegKind, ifName: string, t: number): EndpointRecord {
    const d = pod.dep;
    const from = new Date(Math.floor(t / 1000)).toISOString();
    const m = ++this.macCounter;
    if (kind === 'l2') {
      const host = this.takeIp(d.tenant);
      return {
        namespace: d.namespace,
        pod: pod.name,
        node: pod.node,
        interface: ifName,
        network: `${d.namespace}-l2`,
        mode: 'l2',
        vlan: DEMO_TENANTS[d.tenant].vlan,
        mac: `02:00:${hex2(m >> 16)}:${hex2(m >> 8)}:${hex2(m)}:${hex2(d.tenant)}`,
        ips: [`10.${10 + d.tenant}.${host >> 8}.${host & 255}`],
        vf: { pf: DEMO_PF, index: this.takeVf(pod.node) },
        tier: d.tier,
        static: false,
        from,
        to: null,
      };
    }
    const host = this.takeIp(3);
    return {
      namespace: d.namespace,
      pod: pod.name,
      node: pod.node,
      interface: ifName,
      network: DEMO_OVERLAY_NETWORK,
      mode: 'overlay',
      vni: DEMO_VNI,
      mac: `0a:58:${hex2(m >> 16)}:${hex2(m >> 8)}:${hex2(m)}:${hex2(d.tenant)}`,
      ips: [`172.16.${host >> 8}.${host & 255}`],
      tier: d.tier,
      static: false,
      from,
      to: null,
    };
  }

  private deletePod(p: Pod, t: number): void {
    this.unbindPod(p, t);
  }

  private unbindPod(p: Pod, t: number): void {
    if (!this.pods.has(p.uid)) return;
    this.pods.delete(p.uid);
    if (this.staticPod === p) this.staticPod = null;
    for (const l of p.legs) {
      const r = l.record;
      this.out.push({ kind: 'unbind', atUs: t, key: l.key, record: r });
      if (r.mode === 'l2') {
        if (r.vf) this.freeVfs.get(r.node)!.add(r.vf.index);
        if (!r.static) {
          const [, , b2, b3] = r.ips[0].split('.').map(Number);
          this.usedIps[DEMO_TENANTS.findIndex((x) => x.vlan === r.vlan)].delete(b2 * 256 + b3);
        }
      } else {
        const [, , b2, b3] = r.ips[0].split('.').map(Number);
        this.usedIps[3].delete(b2 * 256 + b3);
      }
    }
    // a freed VF lets a waiting pod start
    while (this.waiting.length > 0 && this.pickNode(true) !== null) {
      const d = this.waiting.shift()!;
      this.counts.startedAfterWait++;
      this.createPod(d, t);
    }
  }

  /** A seeded pick among the nodes with room. */
  private anyNode(needsVf: boolean): string | null {
    const ok = this.nodes.filter((n) => !needsVf || this.freeVfs.get(n.name)!.size > 0);
    return ok.length === 0 ? null : ok[Math.floor(this.rng.next() * ok.length)].name;
  }

  /** The node with the most free VFs (ties: a seeded pick). */
  private pickNode(needsVf: boolean): string | null {
    let best: string[] = [];
    let bestFree = needsVf ? 1 : 0;
    for (const n of this.nodes) {
      const free = this.freeVfs.get(n.name)!.size;
      if (free > bestFree) {
        best = [n.name];
        bestFree = free;
      } else if (free === bestFree) best.push(n.name);
    }
    if (best.length === 0) return null;
    return best.length === 1 ? best[0] : best[Math.floor(this.rng.next() * best.length)];
  }

  private takeVf(node: string): number {
    const free = this.freeVfs.get(node)!;
    let min = Number.POSITIVE_INFINITY;
    for (const v of free) if (v < min) min = v;
    if (!Number.isFinite(min)) throw new Error(`demo: no free VF on ${node}`);
    free.delete(min);
    return min;
  }

  /** the lowest free host number (from .0.10): freed addresses are reused first */
  private takeIp(pool: number): number {
    const used = this.usedIps[pool];
    let h = 10;
    while (used.has(h) || (h & 255) === 0 || (h & 255) === 255) h++;
    used.add(h);
    const id = `${pool}/${h}`;
    if (this.everUsedIps.has(id)) this.counts.ipReuses++;
    else this.everUsedIps.add(id);
    return h;
  }

  private uid(): string {
    return `uid-${(++this.uidCounter).toString(16).padStart(6, '0')}`;
  }

  private suffix(): string {
    const chars = 'bcdfghjklmnpqrstvwxz2456789';
    let s = '';
    for (let i = 0; i < 5; i++) s += chars[Math.floor(this.rng.next() * chars.length)];
    return s;
  }
}
