/**
 * The demo mirror: what a TOR switch's mirror session would hand podwire for a live
 * inventory — pod-to-pod frames consistent with the endpoints bound right now. L2 pods
 * talk to pods of their VLAN (802.1Q-tagged frames, as a trunk port mirrors them); overlay
 * legs talk to legs of their VNI on other nodes (VXLAN between the two nodes' VTEPs; traffic
 * within a node never reaches the TOR). Every live endpoint sends in every second of
 * traffic, so every pod has flows in every window. Seeded: the same seed, endpoints and
 * times give the same frames.
 *
 * It feeds the real packet path (a PacketHandler, as a capture reader does); only the
 * frames are synthetic.
 */
import type { EndpointRecord } from '../attribution/inventory.js';
import { CapturedPacket, LinkType, type PacketHandler } from '../capture/types.js';
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
}

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

  constructor(private readonly o: DemoMirrorOptions) {
    this.rng = new Prng(o.seed ?? 1);
    this.pps = o.packetsPerSecond ?? 2000;
    if (!(this.pps > 0)) throw new RangeError('demo mirror: packetsPerSecond must be > 0');
  }

  /**
   * Emits the frames of [fromMs, toMs) to `handle`, timestamped within it, in time order.
   * Returns how many it emitted.
   */
  emit(fromMs: number, toMs: number, handle: PacketHandler): number {
    if (!(toMs > fromMs)) return 0;
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
    if (senders.length === 0) return 0;
    const seconds = (toMs - fromMs) / 1000;
    const total = Math.max(senders.length * Math.ceil(seconds), Math.round(this.pps * seconds));
    const c = this.captured;
    c.linkType = LinkType.ETHERNET;
    let n = 0;
    for (let i = 0; i < total; i++) {
      // round robin over senders (everyone sends), random peer, service and size
      const s = senders[i % senders.length];
      const to = s.peers[this.rng.int(0, s.peers.length - 1)];
      const port = SERVICES[this.rng.int(0, SERVICES.length - 1)];
      const size = 64 * this.rng.int(1, 20);
      const frame = this.frame(s.from, to, port, size, vteps);
      const tMs = fromMs + ((toMs - fromMs) * i) / total;
      c.data = frame;
      c.offset = 0;
      c.capLength = frame.length;
      c.wireLength = frame.length;
      c.tsSec = Math.floor(tMs / 1000);
      c.tsNsec = Math.floor((tMs - c.tsSec * 1000) * 1e6);
      c.frame++;
      handle(c);
      n++;
    }
    return n;
  }

  private frame(a: Peer, b: Peer, port: number, size: number, vteps: ReadonlyMap<string, string>): Buffer {
    const key = `${a.ep.mode}|${a.leg.mac}|${a.leg.ip}|${a.leg.node}|${b.leg.mac}|${b.leg.ip}|${b.leg.node}|${port}|${size}`;
    let f = this.frames.get(key);
    if (f !== undefined) return f;
    if (this.frames.size > 50_000) this.frames.clear();
    // the client's ephemeral port is stable per pod pair and service: one flow per pair
    const sport = 32768 + (fnvPort(`${a.leg.ip}|${b.leg.ip}|${port}`) % 28000);
    const l4 = { proto: 'tcp' as const, sport, dport: port, flags: TcpFlags.ACK | TcpFlags.PSH, size };
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

function fnvPort(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
