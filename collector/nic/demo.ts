/**
 * The `demo` source: a simulated SmartNIC, for the embedded default, the tests and the
 * benchmarks. It simulates the devices an endpoint inventory implies — the SR-IOV VFs of
 * its L2 endpoints (`vf: {pf, index}`) and a host-side veth with a `tbf` qdisc for each
 * overlay endpoint — and reports them the way the real sources do (cumulative counters).
 * `demoInventory()` builds such an inventory; any other one works too.
 *
 * Traffic model, per endpoint (all draws are hashes of the seed, the endpoint's identity
 * and the absolute time, so the traffic at an instant does not depend on when or how often
 * the source is read):
 * - a base demand (a fraction of its tier's maximum) times a daily shape (lowest 04:00 UTC,
 *   highest 16:00 UTC), per-second noise, and bursts (2–5× for 5–35 s, in some minutes);
 * - one noisy neighbour (an L2 pod of the first node): it asks 2.5× its maximum by day
 *   and 1.2× at night.
 *
 * The QoS scheduler, per node and tick: each VF's transmit is capped at its tier maximum;
 * when the capped demands exceed the node's pod data plane (20 Gb/s by default), each VF
 * first gets its demand up to its guaranteed minimum and the rest of the capacity is shared
 * max-min fairly. Should the guaranteed parts alone exceed the capacity, they are shared
 * max-min fairly too: a VF asking little still gets all of it, the big askers are cut below
 * their minimum. What a VF wanted and did not get is dropped: `qosDropped` (packets).
 *
 * The noisy-neighbour episode (option `episode`, off by default; `podwire all` turns it on
 * for its demo): from `afterMs` after the start, for `durationMs`, every `everyMs`, the
 * noisy neighbour floods multicast that the VF rate limiter does not police (a trusted VF's
 * replicated traffic), taking `share` of its node's data plane before the scheduler shares
 * the rest: the node is oversubscribed, its pods asking more than the fair level are cut
 * below their minimum (the victims), those asking less are untouched. The flood counts in
 * the noisy VF's transmit counters, beyond its maximum.
 *
 * `tap()` hands a mirror what every tick transmitted, per endpoint (bytes and packet size),
 * so mirrored frames can follow the counters (collector/synth/mirror.ts). Receive is not rate
 * limited; received traffic above the node's capacity is dropped in proportion
 * (`rxDropped`). Overlay veths are shaped towards the pod by their `tbf` at the tier
 * maximum (drops, overlimits and backlog); what the pod sends is not limited. Netdev
 * counters are the host-side device's own view: its receive is the pod's transmit.
 *
 * Deterministic: the same seed, inventory, start and read times give the same readings.
 * Time advances in ticks of `tickMs` aligned to the epoch; a reading holds every tick that
 * ended at or before the clock (counters start at the first tick after `start`).
 */
import { type EndpointRecord, type Inventory, parseInventory } from '../attribution/inventory.js';
import {
  allWidths,
  type CounterWidths,
  NETDEV_COUNTERS,
  type NetdevSample,
  type NicReading,
  type NicSource,
  QDISC_COUNTERS,
  type QdiscSample,
  VF_COUNTERS,
  type VfSample,
} from './types.js';

/**
 * The simulated counters are plain numbers that never wrap (they only start again when a
 * device is re-created): 64-bit, like the real VF and netdev statistics.
 */
export const DEMO_WIDTHS: CounterWidths = {
  vf: allWidths(VF_COUNTERS, 64),
  qdisc: allWidths(QDISC_COUNTERS, 64),
  netdev: allWidths(NETDEV_COUNTERS, 64),
};

/** A performance tier: guaranteed minimum and allowed maximum transmit rate, bits per second. */
export interface DemoTier {
  min: number;
  max: number;
}

/** The demo's tiers; an endpoint with another tier name is treated as best-effort. */
export const DEMO_TIERS: Readonly<Record<string, DemoTier>> = {
  high: { min: 2e9, max: 8e9 },
  standard: { min: 1e9, max: 4e9 },
  'best-effort': { min: 0, max: 2e9 },
};

/** A node's pod data plane, bits per second, each direction. */
export const DEMO_CAPACITY_BPS = 20e9;

export const DEMO_PF = 'ens1f0';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const NAMESPACES = ['shop', 'payments', 'search', 'media', 'analytics', 'ml'];
const L2_APPS = ['web', 'api', 'db', 'cache', 'queue', 'gateway', 'worker', 'stream'];
const OVERLAY_APPS = ['svc', 'job', 'cron', 'proxy'];
const L2_TIERS = [
  'high',
  'standard',
  'standard',
  'best-effort',
  'standard',
  'high',
  'best-effort',
  'standard',
];
const OVERLAY_TIERS = ['standard', 'best-effort', 'high', 'best-effort'];
const hex2 = (n: number) => (n & 255).toString(16).padStart(2, '0');

export interface DemoInventoryOptions {
  /** nodes (default 2): node-a, node-b, … */
  nodes?: number;
  /** L2 pods per node, each on its own VF 0..n-1 of `pf` (default 8, at most 64) */
  vfsPerNode?: number;
  /** overlay pods per node (default 4) */
  overlayPerNode?: number;
  /** the physical function (default ens1f0) */
  pf?: string;
}

export function demoNodeName(i: number): string {
  return i < LETTERS.length ? `node-${LETTERS[i]}` : `node-${i}`;
}

/**
 * An inventory for the demo cluster: L2 pods on VFs (one VLAN per namespace) and overlay
 * pods (one VNI per namespace), every binding open since 2026-01-01. No randomness: the
 * same options give the same inventory.
 */
export function demoInventory(options: DemoInventoryOptions = {}): Inventory {
  const nodes = options.nodes ?? 2;
  const vfs = options.vfsPerNode ?? 8;
  const overlay = options.overlayPerNode ?? 4;
  const pf = options.pf ?? DEMO_PF;
  if (!(Number.isInteger(nodes) && nodes >= 1 && nodes <= 16))
    throw new RangeError('demo: nodes must be 1..16');
  if (!(Number.isInteger(vfs) && vfs >= 0 && vfs <= 64))
    throw new RangeError('demo: vfsPerNode must be 0..64');
  if (!(Number.isInteger(overlay) && overlay >= 0 && overlay <= 4000)) {
    throw new RangeError('demo: overlayPerNode must be 0..4000');
  }
  const from = '2026-01-01T00:00:00Z';
  const json = {
    version: 1,
    nodes: [] as { name: string; vteps: string[] }[],
    endpoints: [] as Record<string, unknown>[],
  };
  for (let n = 0; n < nodes; n++) {
    const node = demoNodeName(n);
    const tag = n < LETTERS.length ? LETTERS[n] : String(n);
    json.nodes.push({ name: node, vteps: [`192.168.50.${n + 1}`] });
    for (let v = 0; v < vfs; v++) {
      const ns = v % NAMESPACES.length;
      const vlan = 100 + ns;
      json.endpoints.push({
        namespace: NAMESPACES[ns],
        pod: `${L2_APPS[v % L2_APPS.length]}-${tag}${v}`,
        node,
        interface: 'eth0',
        network: `${NAMESPACES[ns]}-l2`,
        mode: 'l2',
        vlan,
        mac: `02:00:${hex2(n)}:00:00:${hex2(v)}`,
        ips: [`10.${ns + 10}.${n}.${v + 10}`],
        vf: { pf, index: v },
        tier: L2_TIERS[v % L2_TIERS.length],
        from,
      });
    }
    for (let k = 0; k < overlay; k++) {
      const ns = k % NAMESPACES.length;
      json.endpoints.push({
        namespace: NAMESPACES[ns],
        pod: `${OVERLAY_APPS[k % OVERLAY_APPS.length]}-${tag}${k}`,
        node,
        interface: 'net1',
        network: `${NAMESPACES[ns]}-overlay`,
        mode: 'overlay',
        vni: 5001 + ns,
        mac: `0a:58:${hex2(n)}:01:${hex2(k >> 8)}:${hex2(k)}`,
        ips: [`172.${16 + n}.${(k + 1) >> 8}.${(k + 1) & 255}`],
        tier: OVERLAY_TIERS[k % OVERLAY_TIERS.length],
        from,
      });
    }
  }
  return parseInventory(json, 'demo inventory');
}

// ---------------------------------------------------------------------------------------
// Deterministic draws: a hash of (seed, identity, time, salt) → [0, 1). No sequential state,
// so a value never depends on how often or when the source was read.

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** uniform in [0, 1) from a seed, an identity, a (possibly > 2^32) integer and a salt */
function draw(seed: number, id: number, t: number, salt: number): number {
  let h = mix((seed ^ 0x9e3779b9) >>> 0);
  h = mix(h ^ id);
  h = mix(h ^ (t >>> 0));
  h = mix(h ^ Math.floor(t / 4294967296));
  h = mix(h ^ salt);
  return h / 4294967296;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** 0.25 at 04:00 UTC rising to 1.0 at 16:00 UTC */
function daily(tSec: number): number {
  const hour = (tSec / 3600) % 24;
  return 0.25 + 0.75 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (hour - 4)) / 24));
}

enum Salt {
  TxNoise = 1,
  RxNoise = 2,
  BurstTx = 10,
  BurstRx = 20,
  Profile = 100,
}

/** A burst multiplier (1 outside bursts): some minutes hold one burst of 5–35 s at 2–5×. */
function burst(seed: number, id: number, tSec: number, prob: number, salt: number): number {
  const minute = Math.floor(tSec / 60);
  if (draw(seed, id, minute, salt) >= prob) return 1;
  const offset = Math.floor(draw(seed, id, minute, salt + 1) * 60);
  const len = 5 + Math.floor(draw(seed, id, minute, salt + 2) * 30);
  const s = tSec - minute * 60;
  return s >= offset && s < offset + len ? 2 + 3 * draw(seed, id, minute, salt + 3) : 1;
}

// ---------------------------------------------------------------------------------------

interface Profile {
  readonly id: number;
  readonly ep: EndpointRecord;
  readonly tier: DemoTier;
  readonly noisy: boolean;
  readonly txBase: number;
  readonly rxBase: number;
  readonly txPkt: number;
  readonly rxPkt: number;
  readonly bcPps: number;
  readonly mcPps: number;
  readonly burstProb: number;
  readonly fromMs: number;
  readonly toMs: number;
}

interface VfSlot {
  readonly node: string;
  readonly pf: string;
  readonly vf: number;
  readonly pci: string;
  /** bindings of this VF, newest first */
  readonly bindings: Profile[];
  /** the binding active at the last tick (null: unbound, idle) */
  active: Profile | null;
  rxBytes: number;
  rxPackets: number;
  rxDropped: number;
  rxBroadcast: number;
  rxMulticast: number;
  txBytes: number;
  txPackets: number;
  qosDropped: number;
  // this tick (bits per second)
  demandTx: number;
  capped: number;
  sentTx: number;
  demandRx: number;
  /** the episode's flood from this VF, part of sentTx */
  flood: number;
}

interface Veth {
  readonly node: string;
  readonly name: string;
  p: Profile;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  drops: number;
  overlimits: number;
  backlogBytes: number;
  backlogPackets: number;
}

interface NodeSim {
  readonly name: string;
  readonly slots: VfSlot[];
  readonly veths: Veth[];
  demandTx: number;
  sentTx: number;
  demandRx: number;
  contended: boolean;
  /** the episode's flood this tick, bits per second (0: none) */
  flood: number;
}

/** What one tick did on one VF, bits per second (for tests and the curious). */
export interface DemoVfTick {
  /** the episode's unpoliced flood (the noisy neighbour only; else 0), part of sentBps */
  floodBps: number;
  node: string;
  pf: string;
  vf: number;
  namespace: string | null;
  pod: string | null;
  tier: string | null;
  minBps: number;
  maxBps: number;
  demandBps: number;
  sentBps: number;
  /** demand not sent: above the maximum, or squeezed out by contention */
  droppedBps: number;
}

export interface DemoNodeTick {
  node: string;
  capacityBps: number;
  demandBps: number;
  sentBps: number;
  /** capped demands exceeded the capacity: the minimums decided */
  contended: boolean;
  /** the noisy-neighbour episode runs on this node */
  episode: boolean;
}

export interface DemoTick {
  /** end of the tick, ms since the epoch */
  at: number;
  nodes: DemoNodeTick[];
  vfs: DemoVfTick[];
}

export interface DemoSourceOptions {
  /** the seed of the traffic model (default 1) */
  seed?: number;
  /** the endpoints whose devices are simulated (default demoInventory()) */
  inventory?: Inventory;
  /** simulate this node only (default: every node of the inventory) */
  node?: string;
  /** ms since the epoch (default Date.now) */
  clock?: () => number;
  /** counters start at the first tick after this instant (default: the clock at creation) */
  start?: number;
  /** simulation step, ms (default 1000) */
  tickMs?: number;
  /** each node's pod data plane, bits per second (default 20 Gb/s) */
  capacityBps?: number;
  tiers?: Readonly<Record<string, DemoTier>>;
  /** VFs each PF has (default: at least 16, and enough for the highest bound index) */
  vfsPerPf?: number;
  /** source name (default `demo`) */
  name?: string;
  /** the noisy-neighbour episode (see above; default none) */
  episode?: DemoEpisode;
  /**
   * scales the demand of every L2 endpoint but the noisy neighbour (default 1); `podwire all`
   * lowers it so that its 3 nodes × ~27 pods use their data plane without breaking a
   * guarantee outside the episode (at 1, their demand is twice the capacity by day)
   */
  demandScale?: number;
}

/** When the noisy neighbour floods, relative to the source's start, and how much. */
export interface DemoEpisode {
  /** first episode this long after the start, ms */
  afterMs: number;
  durationMs: number;
  /** a new episode this often, ms (0: only one) */
  everyMs: number;
  /** share of the node's data plane the flood takes (0 < share < 1) */
  share: number;
}

/** What one endpoint transmitted in one tick: for a mirror that follows the counters. */
export interface DemoSender {
  readonly ep: EndpointRecord;
  /** bytes the endpoint sent in the tick (policed traffic) */
  readonly bytes: number;
  /** its typical packet size, bytes */
  readonly packetBytes: number;
  /** bytes of the episode's multicast flood (the noisy neighbour during an episode) */
  readonly floodBytes: number;
}

export interface DemoTxTick {
  /** the tick is [endMs - tickMs, endMs) */
  readonly endMs: number;
  readonly tickMs: number;
  readonly senders: readonly DemoSender[];
}

/** A mirror's view of the simulation: the ticks simulated since it last took them. */
export interface DemoTap {
  /** simulates up to the clock, then returns the ticks not yet taken, oldest first */
  take(): DemoTxTick[];
  /** ticks discarded because nobody took them in time (the tap keeps `maxTicks`) */
  readonly dropped: number;
}

/** At most this much simulated time is caught up in one read; longer gaps are skipped (idle). */
const MAX_CATCH_UP_MS = 24 * 3600 * 1000;
const UNBOUND_MAC = '00:00:00:00:00:00';

export class DemoNic implements NicSource {
  readonly name: string;
  readonly counterWidths = DEMO_WIDTHS;
  readonly seed: number;
  /** the endpoints whose devices are simulated (the latest given to follow()) */
  get inventory(): Inventory {
    return this.inv;
  }
  private inv: Inventory;
  private readonly onlyNode: string | undefined;
  private readonly slotsByKey = new Map<string, VfSlot>();
  private readonly nodeSims = new Map<string, NodeSim>();
  readonly tickMs: number;
  readonly capacityBps: number;
  /** the noisy neighbour (null when the inventory has no L2 pod with a VF) */
  readonly noisyNeighbour: { node: string; pf: string; vf: number; namespace: string; pod: string } | null;
  private readonly clock: () => number;
  private readonly tiers: Readonly<Record<string, DemoTier>>;
  private readonly demandScale: number;
  private readonly nodes: NodeSim[] = [];
  /** index of the last simulated tick (its end is (lastTick + 1) * tickMs) */
  private lastTick: number;
  private lastView: DemoTick | null = null;
  private readonly startMs: number;
  readonly episode: DemoEpisode | null;
  private taps: { queue: DemoTxTick[]; max: number; dropped: number }[] = [];

  constructor(options: DemoSourceOptions = {}) {
    this.name = options.name ?? 'demo';
    this.seed = (options.seed ?? 1) >>> 0;
    this.inv = options.inventory ?? demoInventory();
    this.onlyNode = options.node;
    this.clock = options.clock ?? Date.now;
    this.tickMs = options.tickMs ?? 1000;
    this.capacityBps = options.capacityBps ?? DEMO_CAPACITY_BPS;
    this.tiers = options.tiers ?? DEMO_TIERS;
    this.demandScale = options.demandScale ?? 1;
    if (!(this.demandScale > 0)) throw new RangeError('demo: demandScale must be > 0');
    if (!(Number.isInteger(this.tickMs) && this.tickMs >= 10))
      throw new RangeError('demo: tickMs must be >= 10');
    if (!(this.capacityBps > 0)) throw new RangeError('demo: capacityBps must be > 0');
    const start = options.start ?? this.clock();
    this.lastTick = Math.floor(start / this.tickMs) - 1;
    this.startMs = start;
    const e = options.episode;
    if (
      e !== undefined &&
      !(e.share > 0 && e.share < 1 && e.durationMs > 0 && e.afterMs >= 0 && e.everyMs >= 0)
    ) {
      throw new RangeError('demo: episode needs 0 < share < 1, durationMs > 0, afterMs >= 0, everyMs >= 0');
    }
    this.episode = e ?? null;

    const byNode = new Map<string, NodeSim>();
    const nodeOf = (name: string): NodeSim => {
      let n = byNode.get(name);
      if (n === undefined) {
        n = { name, slots: [], veths: [], demandTx: 0, sentTx: 0, demandRx: 0, contended: false, flood: 0 };
        byNode.set(name, n);
      }
      return n;
    };
    const slotKey = (node: string, pf: string, vf: number) => `${node}\0${pf}\0${vf}`;
    const slots = new Map<string, VfSlot>();
    const pfs = new Map<string, { node: string; pf: string; maxIndex: number }>();
    for (const ep of this.inventory.endpoints) {
      if (options.node !== undefined && ep.node !== options.node) continue;
      if (ep.mode === 'l2' && ep.vf) {
        const k = `${ep.node}\0${ep.vf.pf}`;
        const p = pfs.get(k);
        if (p) p.maxIndex = Math.max(p.maxIndex, ep.vf.index);
        else pfs.set(k, { node: ep.node, pf: ep.vf.pf, maxIndex: ep.vf.index });
      }
    }
    const pfList = [...pfs.values()].sort((a, b) =>
      a.node === b.node ? (a.pf < b.pf ? -1 : 1) : a.node < b.node ? -1 : 1,
    );
    for (const [i, p] of pfList.entries()) {
      const count = options.vfsPerPf ?? Math.max(16, p.maxIndex + 1);
      const n = nodeOf(p.node);
      for (let vf = 0; vf < count; vf++) {
        const fn = 2 + vf;
        const slot: VfSlot = {
          node: p.node,
          pf: p.pf,
          vf,
          pci: `0000:${hex2(0x3b + i)}:${hex2(fn >> 3)}.${fn & 7}`,
          bindings: [],
          active: null,
          rxBytes: 0,
          rxPackets: 0,
          rxDropped: 0,
          rxBroadcast: 0,
          rxMulticast: 0,
          txBytes: 0,
          txPackets: 0,
          qosDropped: 0,
          demandTx: 0,
          capped: 0,
          sentTx: 0,
          demandRx: 0,
          flood: 0,
        };
        n.slots.push(slot);
        slots.set(slotKey(p.node, p.pf, vf), slot);
      }
    }

    // the noisy neighbour: an L2 pod of the first node, a standard-tier one when there is one
    const firstNode = pfList.length > 0 ? pfList[0].node : null;
    const candidates = this.inventory.endpoints
      .filter((e) => e.mode === 'l2' && e.vf && e.node === firstNode)
      .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
    const standard = candidates.filter((e) => e.tier === 'standard');
    const pool = standard.length > 0 ? standard : candidates;
    const noisy = pool.length > 0 ? pool[Math.floor(draw(this.seed, 7, 0, 77) * pool.length)] : null;
    this.noisyNeighbour =
      noisy && noisy.mode === 'l2' && noisy.vf
        ? {
            node: noisy.node,
            pf: noisy.vf.pf,
            vf: noisy.vf.index,
            namespace: noisy.namespace,
            pod: noisy.pod,
          }
        : null;

    for (const [k, slot] of slots) this.slotsByKey.set(k, slot);
    for (const [k, n] of byNode) this.nodeSims.set(k, n);
    this.bind();
    this.nodes = [...byNode.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Takes a newer inventory of the same cluster (a live one: pods come and go, bindings
   * end): VFs and overlay devices keep their counters, their bindings follow the
   * endpoints. VFs of PFs the first inventory did not have are not simulated.
   */
  follow(inventory: Inventory): void {
    this.inv = inventory;
    for (const n of this.nodeSims.values()) for (const s of n.slots) s.bindings.length = 0;
    this.bind();
    this.lastView = null;
  }

  /** Binds the inventory's endpoints to VF slots and overlay veths. */
  private bind(): void {
    const old = new Map<string, Veth>();
    for (const n of this.nodeSims.values()) {
      for (const v of n.veths) old.set(`${v.node}|${v.name}`, v);
      n.veths.length = 0;
    }
    const noisy = this.noisyNeighbour;
    for (const ep of this.inv.endpoints) {
      if (this.onlyNode !== undefined && ep.node !== this.onlyNode) continue;
      const isNoisy =
        noisy !== null && ep.node === noisy.node && ep.namespace === noisy.namespace && ep.pod === noisy.pod;
      const p = this.profile(ep, isNoisy);
      if (ep.mode === 'l2') {
        if (!ep.vf) continue; // an L2 endpoint without a VF has no device here
        const slot = this.slotsByKey.get(`${ep.node}\0${ep.vf.pf}\0${ep.vf.index}`);
        if (slot === undefined) continue; // beyond vfsPerPf
        slot.bindings.push(p);
      } else {
        const n = this.nodeSims.get(ep.node);
        if (n === undefined) continue; // a node without simulated VFs
        const name = `veth${fnv(`${ep.node}|${ep.mac}`).toString(16).padStart(8, '0')}`;
        const v = old.get(`${ep.node}|${name}`);
        if (v !== undefined) {
          // one device per (node, MAC): a later binding of the same MAC takes it over
          if (!n.veths.includes(v)) n.veths.push(v);
          else if (p.fromMs < v.p.fromMs) continue;
          v.p = p;
          continue;
        }
        const fresh: Veth = {
          node: ep.node,
          name,
          p,
          rxBytes: 0,
          rxPackets: 0,
          txBytes: 0,
          txPackets: 0,
          drops: 0,
          overlimits: 0,
          backlogBytes: 0,
          backlogPackets: 0,
        };
        old.set(`${ep.node}|${name}`, fresh);
        n.veths.push(fresh);
      }
    }
    // bindings newest first; the configuration of each VF as of the last tick until the next
    const endMs = (this.lastTick + 1) * this.tickMs;
    for (const n of this.nodeSims.values()) {
      for (const s of n.slots) {
        s.bindings.sort((a, b) => b.fromMs - a.fromMs);
        s.active = s.bindings.find((b) => endMs > b.fromMs && endMs <= b.toMs) ?? null;
      }
    }
  }

  private profile(ep: EndpointRecord, noisy: boolean): Profile {
    const id = fnv(`${ep.node}|${ep.namespace}|${ep.pod}|${ep.interface}|${ep.mac}`);
    const tier = this.tiers[ep.tier] ?? this.tiers['best-effort'] ?? { min: 0, max: 1e9 };
    const d = (k: number) => draw(this.seed, id, k, Salt.Profile);
    const max = tier.max > 0 ? tier.max : this.capacityBps;
    const overlay = ep.mode === 'overlay';
    // L2 pods ask 10–45% of their maximum at the daily peak, overlay pods 1–10%
    const frac = overlay ? 0.01 + 0.09 * d(1) : 0.1 + 0.35 * d(1);
    // the scale is for the VFs' scheduler: the noisy neighbour and the overlay pods keep theirs
    const scale = noisy || ep.mode === 'overlay' ? 1 : this.demandScale;
    return {
      id,
      ep,
      tier,
      noisy,
      txBase: max * frac * scale,
      rxBase: max * frac * (0.5 + d(2)) * scale,
      txPkt: 400 + Math.floor(1050 * d(3)),
      rxPkt: 400 + Math.floor(1050 * d(4)),
      bcPps: 1 + 2 * d(5),
      mcPps: 0.2 + 0.8 * d(6),
      burstProb: 0.1 + 0.2 * d(7),
      fromMs: ep.from === null ? Number.NEGATIVE_INFINITY : Date.parse(ep.from),
      toMs: ep.to === null ? Number.POSITIVE_INFINITY : Date.parse(ep.to),
    };
  }

  private demand(p: Profile, tick: number, tSec: number, rx: boolean): number {
    const noise = 0.8 + 0.4 * draw(this.seed, p.id, tick, rx ? Salt.RxNoise : Salt.TxNoise);
    const b = burst(this.seed, p.id, tSec, p.burstProb, rx ? Salt.BurstRx : Salt.BurstTx);
    if (p.noisy && !rx) {
      const hour = (tSec / 3600) % 24;
      return p.tier.max * (hour >= 7 && hour < 19 ? 2.5 : 1.2) * noise * b;
    }
    return (rx ? p.rxBase : p.txBase) * daily(tSec) * noise * b;
  }

  /** Simulates one tick (index `tick`, ending at (tick + 1) * tickMs). */
  private step(tick: number): void {
    const endMs = (tick + 1) * this.tickMs;
    const tSec = endMs / 1000;
    const dt = this.tickMs / 1000;
    const cap = this.capacityBps;
    for (const n of this.nodes) {
      // demands
      let capped = 0;
      let demandTx = 0;
      let demandRx = 0;
      for (const s of n.slots) {
        let active: Profile | null = null;
        for (const b of s.bindings) {
          if (endMs > b.fromMs && endMs <= b.toMs) {
            active = b;
            break;
          }
        }
        s.active = active;
        s.flood = 0;
        if (active === null) {
          s.demandTx = s.capped = s.sentTx = s.demandRx = 0;
          continue;
        }
        s.demandTx = this.demand(active, tick, tSec, false);
        s.capped = active.tier.max > 0 ? Math.min(s.demandTx, active.tier.max) : s.demandTx;
        s.demandRx = this.demand(active, tick, tSec, true);
        demandTx += s.demandTx;
        capped += s.capped;
        demandRx += s.demandRx;
      }
      n.demandTx = demandTx;
      n.demandRx = demandRx;
      // the episode's flood takes its share first: the scheduler shares what is left
      const noisy = this.episodeAt(endMs) ? this.noisySlot(n) : null;
      n.flood = noisy !== null ? cap * this.episode!.share : 0;
      const policed = cap - n.flood;
      n.contended = capped > policed;
      if (!n.contended) {
        for (const s of n.slots) s.sentTx = s.capped;
      } else {
        schedule(n.slots, policed);
      }
      if (noisy !== null) {
        noisy.flood = n.flood;
        noisy.sentTx += n.flood;
      }
      let sent = 0;
      const rxScale = demandRx > cap ? cap / demandRx : 1;
      for (const s of n.slots) {
        const p = s.active;
        if (p === null) continue;
        sent += s.sentTx;
        const txBytes = (s.sentTx * dt) / 8;
        s.txBytes += txBytes;
        s.txPackets += txBytes / p.txPkt;
        s.qosDropped += ((s.demandTx - (s.sentTx - s.flood)) * dt) / 8 / p.txPkt;
        const rxBytes = (s.demandRx * rxScale * dt) / 8;
        const bc = p.bcPps * dt;
        const mc = p.mcPps * dt;
        s.rxBytes += rxBytes + bc * 60 + mc * 90;
        s.rxPackets += rxBytes / p.rxPkt + bc + mc;
        s.rxBroadcast += bc;
        s.rxMulticast += mc;
        s.rxDropped += (s.demandRx * (1 - rxScale) * dt) / 8 / p.rxPkt;
      }
      n.sentTx = sent;
      // overlay veths: the pod's transmit is the veth's receive; towards the pod, tbf at max
      for (const v of n.veths) {
        const p = v.p;
        if (!(endMs > p.fromMs && endMs <= p.toMs)) continue;
        const podTx = (this.demand(p, tick, tSec, false) * dt) / 8;
        v.rxBytes += podTx;
        v.rxPackets += podTx / p.txPkt;
        const want = this.demand(p, tick, tSec, true);
        const limit = p.tier.max > 0 ? p.tier.max : want;
        const out = Math.min(want, limit);
        const bytes = (out * dt) / 8;
        v.txBytes += bytes;
        v.txPackets += bytes / p.rxPkt;
        if (want > limit) {
          const dropped = ((want - limit) * dt) / 8 / p.rxPkt;
          v.drops += dropped;
          v.overlimits += dropped * 1.5;
          v.backlogBytes = Math.min(256 * 1024, Math.floor(((want - limit) / 8) * 0.01));
        } else {
          v.backlogBytes = Math.floor((bytes / dt) * 0.0002);
        }
        v.backlogPackets = Math.ceil(v.backlogBytes / p.rxPkt);
      }
    }
    if (this.taps.length > 0) this.record(tick, endMs, tSec, dt);
  }

  /** The noisy neighbour's slot when it is on this node and bound, else null. */
  private noisySlot(n: NodeSim): VfSlot | null {
    const nn = this.noisyNeighbour;
    if (nn === null || n.name !== nn.node) return null;
    const s = n.slots.find((x) => x.pf === nn.pf && x.vf === nn.vf);
    return s?.active?.noisy ? s : null;
  }

  /** The episode runs at this instant (ms). */
  episodeAt(ms: number): boolean {
    const e = this.episode;
    if (e === null) return false;
    const since = ms - this.startMs - e.afterMs;
    if (since < 0) return false;
    return (e.everyMs > 0 ? since % e.everyMs : since) < e.durationMs;
  }

  /** Hands the tick's transmit per endpoint to the taps. */
  private record(tick: number, endMs: number, tSec: number, dt: number): void {
    const senders: DemoSender[] = [];
    for (const n of this.nodes) {
      for (const s of n.slots) {
        const p = s.active;
        if (p === null) continue;
        const floodBytes = (s.flood * dt) / 8;
        senders.push({ ep: p.ep, bytes: ((s.sentTx - s.flood) * dt) / 8, packetBytes: p.txPkt, floodBytes });
      }
      for (const v of n.veths) {
        const p = v.p;
        if (!(endMs > p.fromMs && endMs <= p.toMs)) continue;
        const bytes = (this.demand(p, tick, tSec, false) * dt) / 8;
        senders.push({ ep: p.ep, bytes, packetBytes: p.txPkt, floodBytes: 0 });
      }
    }
    const t: DemoTxTick = { endMs, tickMs: this.tickMs, senders };
    for (const tap of this.taps) {
      tap.queue.push(t);
      if (tap.queue.length > tap.max) {
        tap.queue.shift();
        tap.dropped++;
      }
    }
  }

  /**
   * A tap on the simulation: what each tick transmitted per endpoint, from the next tick on.
   * Ticks not taken are kept up to `maxTicks` (then the oldest are dropped, counted).
   */
  tap(maxTicks = 120): DemoTap {
    const t = { queue: [] as DemoTxTick[], max: maxTicks, dropped: 0 };
    this.taps.push(t);
    return {
      take: () => {
        this.advance();
        return t.queue.splice(0);
      },
      get dropped() {
        return t.dropped;
      },
    };
  }

  /** Simulates up to the clock; returns the clock. */
  private advance(): number {
    const now = this.clock();
    const target = Math.floor(now / this.tickMs) - 1;
    if (target - this.lastTick > MAX_CATCH_UP_MS / this.tickMs) {
      this.lastTick = target - Math.floor(MAX_CATCH_UP_MS / this.tickMs);
    }
    const stepped = target > this.lastTick;
    while (this.lastTick < target) this.step(++this.lastTick);
    if (stepped) this.lastView = null;
    return now;
  }

  async read(): Promise<Omit<NicReading, 'at'>> {
    return this.readNow();
  }

  /** read(), synchronously */
  readNow(): Omit<NicReading, 'at'> {
    this.advance();
    const vfs: VfSample[] = [];
    const netdevs: NetdevSample[] = [];
    const qdiscs: QdiscSample[] = [];
    for (const n of this.nodes) {
      for (const s of n.slots) {
        const p = s.active;
        const ep = p?.ep;
        vfs.push({
          node: s.node,
          pf: s.pf,
          vf: s.vf,
          mac: ep ? ep.mac.toLowerCase() : UNBOUND_MAC,
          vlan: ep && ep.mode === 'l2' ? ep.vlan : 0,
          qos: 0,
          minTxRate: p ? p.tier.min : 0,
          maxTxRate: p ? p.tier.max : 0,
          spoofCheck: true,
          trust: false,
          linkState: p ? 'auto' : 'disable',
          pciAddress: s.pci,
          rxBytes: Math.floor(s.rxBytes),
          rxPackets: Math.floor(s.rxPackets),
          rxDropped: Math.floor(s.rxDropped),
          rxBroadcast: Math.floor(s.rxBroadcast),
          rxMulticast: Math.floor(s.rxMulticast),
          txBytes: Math.floor(s.txBytes),
          txPackets: Math.floor(s.txPackets),
          txDropped: 0,
          qosDropped: Math.floor(s.qosDropped),
        });
      }
      const nowMs = (this.lastTick + 1) * this.tickMs;
      for (const v of n.veths) {
        if (!(nowMs > v.p.fromMs && nowMs <= v.p.toMs)) continue;
        netdevs.push({
          node: v.node,
          interface: v.name,
          rxBytes: Math.floor(v.rxBytes),
          rxPackets: Math.floor(v.rxPackets),
          rxDropped: 0,
          rxErrors: 0,
          txBytes: Math.floor(v.txBytes),
          txPackets: Math.floor(v.txPackets),
          txDropped: 0,
          txErrors: 0,
          endpointMac: v.p.ep.mac.toLowerCase(),
        });
        qdiscs.push({
          node: v.node,
          interface: v.name,
          kind: 'tbf',
          handle: '1:',
          parent: 'root',
          level: 'qdisc',
          bytes: Math.floor(v.txBytes),
          packets: Math.floor(v.txPackets),
          drops: Math.floor(v.drops),
          overlimits: Math.floor(v.overlimits),
          requeues: 0,
          backlogBytes: v.backlogBytes,
          backlogPackets: v.backlogPackets,
        });
      }
    }
    return { vfs, netdevs, qdiscs };
  }

  /** What the last simulated tick did (simulating up to the clock first). */
  lastTickView(): DemoTick {
    this.advance();
    if (this.lastView) return this.lastView;
    const view: DemoTick = { at: (this.lastTick + 1) * this.tickMs, nodes: [], vfs: [] };
    for (const n of this.nodes) {
      view.nodes.push({
        node: n.name,
        capacityBps: this.capacityBps,
        demandBps: n.demandTx,
        sentBps: n.sentTx,
        contended: n.contended,
        episode: n.flood > 0,
      });
      for (const s of n.slots) {
        const p = s.active;
        view.vfs.push({
          node: s.node,
          pf: s.pf,
          vf: s.vf,
          namespace: p ? p.ep.namespace : null,
          pod: p ? p.ep.pod : null,
          tier: p ? p.ep.tier : null,
          minBps: p ? p.tier.min : 0,
          maxBps: p ? p.tier.max : 0,
          demandBps: s.demandTx,
          sentBps: s.sentTx,
          droppedBps: s.demandTx - (s.sentTx - s.flood),
          floodBps: s.flood,
        });
      }
    }
    this.lastView = view;
    return view;
  }
}

/**
 * Shares `cap` among VFs whose capped demands exceed it: guaranteed parts (each demand up
 * to its minimum) first, then max-min fair shares of the rest. When the guaranteed parts
 * alone exceed the capacity they are shared max-min fairly as well.
 */
function schedule(slots: VfSlot[], cap: number): void {
  let guaranteed = 0;
  for (const s of slots) {
    const min = s.active ? s.active.tier.min : 0;
    s.sentTx = Math.min(s.capped, min);
    guaranteed += s.sentTx;
  }
  if (guaranteed > cap) {
    const asks = slots.filter((s) => s.sentTx > 0);
    for (const s of slots) s.sentTx = 0;
    fill(asks, cap, (s) => Math.min(s.capped, s.active!.tier.min));
    return;
  }
  fill(
    slots.filter((s) => s.capped > s.sentTx),
    cap - guaranteed,
    (s) => s.capped,
  );
}

/** Water-fills `left` over the slots towards `want(s)`: max-min fair, small asks served whole. */
function fill(slots: VfSlot[], left: number, want: (s: VfSlot) => number): void {
  const sorted = slots.sort((a, b) => want(a) - a.sentTx - (want(b) - b.sentTx));
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i];
    const give = Math.min(want(s) - s.sentTx, left / (sorted.length - i));
    s.sentTx += give;
    left -= give;
  }
}

/** A demo source (see DemoNic). */
export function createDemoSource(options: DemoSourceOptions = {}): DemoNic {
  return new DemoNic(options);
}
