/**
 * The demo mirror: what a TOR switch's mirror session would hand podwire for a live
 * inventory — pod-to-pod frames consistent with the endpoints bound right now. L2 pods
 * talk to pods of their VLAN (802.1Q-tagged frames, as a trunk port mirrors them); overlay
 * legs talk to legs of their VNI on other nodes (VXLAN between the two nodes' VTEPs; traffic
 * within a node never reaches the TOR). Seeded: the same seed, endpoints and times give the
 * same frames.
 *
 * Following a demo NIC (`follow`, what `podwire all` does): the frames are a 1-in-N sample
 * of what the simulated NIC says each endpoint transmitted in each tick — each endpoint's
 * bytes divided by N, sent as frames of its packet size, timestamped within the tick, the
 * remainder carried to its next tick (so over a minute the sampled bytes times N match its
 * counters to within one frame) — and the packet path scales them back by N (the flows'
 * `sampling_rate`). The noisy neighbour's episode flood appears as its multicast. Without
 * a NIC to follow, every live endpoint sends at a fixed total rate (`packetsPerSecond`),
 * in every second, so every pod has flows in every window.
 *
 * It feeds the real packet path (a PacketHandler, as a capture reader does); only the
 * frames are synthetic.
 */
import type { EndpointRecord } from '../attribution/inventory.js';
import { CapturedPacket, LinkType, type PacketHandler } from '../capture/types.js';
import { DEMO_CAPACITY_BPS, type DemoSender, type DemoTap, type DemoTxTick } from '../nic/demo.js';
import { TcpFlags } from './frames.js';
import { Prng } from './prng.js';
import { type Leg, podFrame, vxlanFrame } from './scenario.js';

export interface DemoMirrorOptions {
  /** the live endpoint records (called every tick) */
  endpoints: () => readonly EndpointRecord[];
  /** node → VTEP addresses (the first is used) */
  vteps: () => ReadonlyMap<string, string>;
  /** frames per second, in total (default 2000); at least one per live endpoint per second */
  packetsPerSecond?: number;
  seed?: number;
  /** follow a demo NIC: sample 1 in `samplingRate` of what its ticks transmitted */
  follow?: { tap: DemoTap; samplingRate: number };
}

/** IP + TCP headers and the 802.1Q-tagged Ethernet header of a mirrored L2 frame. */
const L2_OVERHEAD = 18 + 20 + 20;
/** The episode's flood: a multicast group, frames of this size. */
const FLOOD_GROUP = { mac: '01:00:5e:01:02:03', ip: '239.1.2.3' };
const FLOOD_FRAME = 1400;
/** Where a pod with no peer of its scope sends: a router no inventory holds. */
const ROUTER = { mac: '02:00:00:ff:ff:fe', ip: '10.255.255.254' };

/** Well-known service ports the demo's pods talk to. */
const SERVICES = [443, 8080, 5432, 6379, 9092, 53];

interface Peer {
  leg: Leg;
  ep: EndpointRecord;
}

export class DemoMirror {
  private readonly rng: Prng;
  private readonly pps: number;
  private readonly captured = new CapturedPacket();
  /** frames by (src, dst, port, size) — a pod pair repeats its frames, they need building once */
  private readonly frames = new Map<string, Buffer>();
  /** following: sampled bytes owed to each sender (below one frame), by sender */
  private readonly owed = new Map<string, number>();
  /** following: the sampling rate (1 when not following) */
  readonly samplingRate: number;

  constructor(private readonly o: DemoMirrorOptions) {
    this.rng = new Prng(o.seed ?? 1);
    this.pps = o.packetsPerSecond ?? 2000;
    if (!(this.pps > 0)) throw new RangeError('demo mirror: packetsPerSecond must be > 0');
    this.samplingRate = o.follow?.samplingRate ?? 1;
    if (!(Number.isInteger(this.samplingRate) && this.samplingRate >= 1)) {
      throw new RangeError('demo mirror: samplingRate must be a whole number >= 1');
    }
  }

  /**
   * Emits the frames of [fromMs, toMs) to `handle`, timestamped within it, in time order.
   * Following a NIC, emits instead the frames of the ticks it simulated since the last
   * call (up to the clock), timestamped within their ticks. Returns how many it emitted.
   */
  emit(fromMs: number, toMs: number, handle: PacketHandler): number {
    if (this.o.follow) return this.emitTicks(this.o.follow.tap.take(), handle);
    if (!(toMs > fromMs)) return 0;
    const senders = this.senders();
    if (senders.length === 0) return 0;
    const vteps = this.o.vteps();
    const seconds = (toMs - fromMs) / 1000;
    const total = Math.max(senders.length * Math.ceil(seconds), Math.round(this.pps * seconds));
    let n = 0;
    for (let i = 0; i < total; i++) {
      // round robin over senders (everyone sends), random peer, service and size
      const s = senders[i % senders.length];
      const to = s.peers[this.rng.int(0, s.peers.length - 1)];
      const port = SERVICES[this.rng.int(0, SERVICES.length - 1)];
      const size = 64 * this.rng.int(1, 20);
      this.send(handle, this.frame(s.from, to, port, size, vteps), fromMs + ((toMs - fromMs) * i) / total);
      n++;
    }
    return n;
  }

  /** Each live endpoint with the peers it talks to (its VLAN; its VNI on other nodes). */
  private senders(): { from: Peer; peers: Peer[] }[] {
    const eps = this.o.endpoints();
    const vteps = this.o.vteps();
    const scopes = new Map<string, Peer[]>();
    for (const ep of eps) {
      const ip = ep.ips[0];
      if (ip === undefined) continue;
      const scope = ep.mode === 'l2' ? `v${ep.vlan}` : `x${ep.vni}`;
      const leg: Leg =
        ep.mode === 'l2'
          ? { mac: ep.mac, ip, vlan: ep.vlan, node: ep.node }
          : { mac: ep.mac, ip, vni: ep.vni, node: ep.node };
      const list = scopes.get(scope);
      if (list === undefined) scopes.set(scope, [{ leg, ep }]);
      else list.push({ leg, ep });
    }
    const senders: { from: Peer; peers: Peer[] }[] = [];
    for (const list of scopes.values()) {
      for (const p of list) {
        const peers =
          p.ep.mode === 'l2'
            ? list.filter((q) => q !== p)
            : list.filter((q) => q.leg.node !== p.leg.node && vteps.has(q.leg.node) && vteps.has(p.leg.node));
        if (peers.length > 0) senders.push({ from: p, peers });
      }
    }
    return senders;
  }

  private send(handle: PacketHandler, frame: Buffer, tMs: number): void {
    const c = this.captured;
    c.linkType = LinkType.ETHERNET;
    c.data = frame;
    c.offset = 0;
    c.capLength = frame.length;
    c.wireLength = frame.length;
    c.tsSec = Math.floor(tMs / 1000);
    c.tsNsec = Math.floor((tMs - c.tsSec * 1000) * 1e6);
    c.frame++;
    handle(c);
  }

  /** The frames of the NIC's ticks: 1 in N of each sender's bytes, within each tick. */
  private emitTicks(ticks: readonly DemoTxTick[], handle: PacketHandler): number {
    if (ticks.length === 0) return 0;
    const vteps = this.o.vteps();
    const bySender = new Map<string, { from: Peer; peers: Peer[] }>();
    for (const s of this.senders()) bySender.set(senderKey(s.from.ep), s);
    let n = 0;
    for (const tick of ticks) {
      const start = tick.endMs - tick.tickMs;
      const out: { t: number; f: Buffer }[] = [];
      for (const snd of tick.senders) {
        const key = senderKey(snd.ep);
        const who = bySender.get(key) ?? this.alone(snd.ep);
        if (who === null) continue;
        const frames = this.sampled(key, snd, who, vteps);
        // within the part of the tick the endpoint was bound (a tick may begin before its bind)
        const lo = Math.max(start, bound(snd.ep.from, start));
        const hi = Math.min(tick.endMs, bound(snd.ep.to, tick.endMs));
        for (let j = 0; j < frames.length; j++) {
          out.push({ t: lo + ((j + 0.5) * (hi - lo)) / frames.length, f: frames[j] });
        }
      }
      out.sort((a, b) => a.t - b.t);
      for (const x of out) this.send(handle, x.f, x.t);
      n += out.length;
    }
    if (this.owed.size > 4 * bySender.size + 64) {
      for (const k of this.owed.keys()) if (!bySender.has(k) && !k.endsWith('|flood')) this.owed.delete(k);
    }
    return n;
  }

  /** A sender's sampled frames for one tick: its bytes / N as frames, what is left owed. */
  private sampled(
    key: string,
    snd: DemoSender,
    who: { from: Peer; peers: Peer[] },
    vteps: ReadonlyMap<string, string>,
  ): Buffer[] {
    const frames: Buffer[] = [];
    const n = this.samplingRate;
    const size = Math.max(0, Math.round(snd.packetBytes) - L2_OVERHEAD);
    // a new sender starts half a frame in (systematic sampling, offset half an interval)
    let owed = (this.owed.get(key) ?? (size + L2_OVERHEAD) / 2) + snd.bytes / n;
    for (;;) {
      const to = who.peers[this.rng.int(0, who.peers.length - 1)];
      const port = SERVICES[this.rng.int(0, SERVICES.length - 1)];
      const f = this.frame(who.from, to, port, size, vteps);
      // what the flows count: the pod's own frame (the inner one in VXLAN)
      const counted = who.from.ep.mode === 'l2' ? f.length : f.length - VXLAN_OVERHEAD;
      if (owed < counted) break;
      owed -= counted;
      frames.push(f);
    }
    this.owed.set(key, owed);
    if (snd.floodBytes > 0 && who.from.ep.mode === 'l2') {
      const fk = `${key}|flood`;
      let fo = (this.owed.get(fk) ?? 0) + snd.floodBytes / n;
      const group: Peer = { ep: who.from.ep, leg: { ...FLOOD_GROUP, vlan: who.from.leg.vlan, node: '' } };
      const f = this.frame(who.from, group, 5004, FLOOD_FRAME - L2_OVERHEAD + 12, vteps, 'udp');
      while (fo >= f.length) {
        fo -= f.length;
        frames.push(f);
      }
      this.owed.set(fk, fo);
    }
    return frames;
  }

  /** A live sender with no peer of its scope sends to a router outside the inventory. */
  private alone(ep: EndpointRecord): { from: Peer; peers: Peer[] } | null {
    const ip = ep.ips[0];
    if (ip === undefined || ep.mode !== 'l2') return null;
    const from: Peer = { ep, leg: { mac: ep.mac, ip, vlan: ep.vlan, node: ep.node } };
    return { from, peers: [{ ep, leg: { ...ROUTER, vlan: ep.vlan, node: '' } }] };
  }

  private frame(
    a: Peer,
    b: Peer,
    port: number,
    size: number,
    vteps: ReadonlyMap<string, string>,
    proto: 'tcp' | 'udp' = 'tcp',
  ): Buffer {
    const key = `${a.ep.mode}|${a.leg.mac}|${a.leg.ip}|${a.leg.node}|${b.leg.mac}|${b.leg.ip}|${b.leg.node}|${port}|${size}|${proto}`;
    let f = this.frames.get(key);
    if (f !== undefined) return f;
    if (this.frames.size > 50_000) this.frames.clear();
    // the client's ephemeral port is stable per pod pair and service: one flow per pair
    const sport = 32768 + (fnvPort(`${a.leg.ip}|${b.leg.ip}|${port}`) % 28000);
    const l4 = { proto, sport, dport: port, flags: TcpFlags.ACK | TcpFlags.PSH, size };
    if (a.ep.mode === 'l2') {
      f = podFrame(a.leg, b.leg, l4, [{ vid: a.ep.vlan }]);
    } else {
      const inner = podFrame(a.leg, b.leg, l4);
      f = vxlanFrame(inner, a.ep.vni, vteps.get(a.leg.node)!, vteps.get(b.leg.node)!, sport);
    }
    this.frames.set(key, f);
    return f;
  }
}

/**
 * The sampling rate for a mirror following the demo NIC: the power of two that makes the
 * nodes' whole data plane (demo capacity, ~1000-byte frames) about `packetsPerSecond`
 * sampled frames a second. Fixed for a run, so every flow records the same rate.
 */
export function demoSamplingRate(packetsPerSecond: number, nodes: number): number {
  const atCapacity = (Math.max(1, nodes) * DEMO_CAPACITY_BPS) / 8 / 1000;
  return 2 ** Math.max(0, Math.round(Math.log2(atCapacity / packetsPerSecond)));
}

/** Outer Ethernet, IPv4, UDP and VXLAN headers around the pod's frame. */
const VXLAN_OVERHEAD = 14 + 20 + 8 + 8;

/** A binding's end (ms) from its ISO time; `otherwise` when open. */
const bound = (iso: string | null, otherwise: number) => (iso === null ? otherwise : Date.parse(iso));

const senderKey = (ep: EndpointRecord) => `${ep.node}|${ep.namespace}|${ep.pod}|${ep.interface}|${ep.mac}`;

function fnvPort(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
