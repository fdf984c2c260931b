/**
 * A seeded corpus of synthetic frames covering every encapsulation the decoders handle,
 * for the differential (tshark), truncation and fuzz tests.
 */
import { LinkType } from '../../collector/capture/types.js';
import { ipv4ToString, ipv6ToString, macToString } from '../../collector/decode/addr.js';
import {
  erspanII,
  erspanIII,
  ethernet,
  gre,
  type Ipv6Extension,
  icmp,
  icmpv6,
  ipv4,
  ipv6,
  sll,
  sll2,
  tcp,
  udp,
  type VlanTag,
  vxlan,
} from '../../collector/synth/frames.js';
import { Prng } from '../../collector/synth/prng.js';

/** The extra VXLAN port the corpus uses (flannel's); tshark needs `-d udp.port==8472,vxlan`. */
export const EXTRA_VXLAN_PORT = 8472;

export interface Sample {
  kind: string;
  frame: Buffer;
  linkType: number;
  /** bytes of the frame up to the innermost payload: a capture cut before it is not OK */
  headerEnd: number;
  /** expected innerLength: the innermost Ethernet frame's length */
  innerLength: number;
}

/** A pod frame plus how many trailing bytes are payload (not headers) or padding. */
interface Built {
  frame: Buffer;
  trailer: number;
}

// UDP/TCP ports tshark decodes as an Ethernet-carrying tunnel or that we use for VXLAN
const AVOID_PORTS = new Set([4789, 4790, 6081, EXTRA_VXLAN_PORT]);

export class CorpusGen {
  readonly r: Prng;
  constructor(seed: number) {
    this.r = new Prng(seed);
  }

  mac(): string {
    const b = this.r.bytes(6);
    b[0] = (b[0] & 0xfc) | 0x02; // locally administered unicast
    return macToString(b.readUIntBE(0, 6));
  }
  ip4(): string {
    return ipv4ToString((this.r.int(1, 223) << 24) | (this.r.u32() & 0xffffff));
  }
  ip6(): string {
    const b = this.r.bytes(16);
    b[0] = 0x20;
    b[1] = 0x01;
    // exercise "::" compression: zero a random run of groups now and then
    if (this.r.chance(0.5)) {
      const start = this.r.int(1, 6);
      const len = this.r.int(1, 8 - start);
      b.fill(0, start * 2, (start + len) * 2);
    }
    return ipv6ToString(b);
  }
  port(): number {
    for (;;) {
      const p = this.r.int(1024, 65535);
      if (!AVOID_PORTS.has(p)) return p;
    }
  }
  vlans(n: number): VlanTag[] {
    const tags: VlanTag[] = [];
    for (let i = 0; i < n; i++) {
      // tshark shows two consecutive 0x88a8 tags as one layer (svid + cvid): keep them apart
      const prev = tags.at(-1)?.tpid;
      const tpid =
        n > 1 && i < n - 1
          ? this.r.pick(prev === 0x88a8 ? [0x8100, 0x9100] : [0x88a8, 0x8100, 0x9100])
          : 0x8100;
      tags.push({ vid: this.r.int(1, 4094), tpid, pcp: this.r.int(0, 7) });
    }
    return tags;
  }

  /** L4 segment with its trailer length. */
  l4(v6: boolean, kind: 'tcp' | 'udp' | 'icmp'): { proto: number; seg: Buffer; trailer: number } {
    const payload = this.r.bytes(this.r.pick([0, 0, 1, 5, 20, 64, 200]));
    if (kind === 'tcp') {
      const options = this.r.chance(0.3) ? Buffer.from([2, 4, 5, 0xb4, 1, 3, 3, 7]) : undefined;
      return {
        proto: 6,
        seg: tcp({
          sport: this.port(),
          dport: this.port(),
          flags: this.r.int(0, 255),
          seq: this.r.u32(),
          options,
          payload,
        }),
        trailer: payload.length,
      };
    }
    if (kind === 'udp') {
      return {
        proto: 17,
        seg: udp({ sport: this.port(), dport: this.port(), payload }),
        trailer: payload.length,
      };
    }
    const type = v6 ? this.r.pick([128, 129]) : this.r.pick([8, 0]);
    const m = { type, code: 0, rest: this.r.u32(), payload };
    return { proto: v6 ? 58 : 1, seg: v6 ? icmpv6(m) : icmp(m), trailer: payload.length };
  }

  /** A pod's IP packet (no L2): v4 or v6, maybe options/fragments/extension headers. */
  ipPacket(o: { v6: boolean; l4?: 'tcp' | 'udp' | 'icmp'; special?: boolean }): Built {
    const l4kind = o.l4 ?? this.r.pick(['tcp', 'udp', 'icmp'] as const);
    const { proto, seg, trailer } = this.l4(o.v6, l4kind);
    const ttl = this.r.int(1, 255);
    if (!o.v6) {
      const base = {
        src: this.ip4(),
        dst: this.ip4(),
        ttl,
        id: this.r.int(0, 65535),
        tos: this.r.int(0, 255),
      };
      if (o.special && this.r.chance(0.5)) {
        // non-first fragment: everything after the IP header is data
        const data = this.r.bytes(this.r.int(8, 100));
        const fragOffset = this.r.int(1, 1000) * 8;
        return {
          frame: ipv4({ ...base, proto, fragOffset, moreFragments: this.r.chance(0.5), payload: data }),
          trailer: data.length,
        };
      }
      if (o.special) {
        // options (record route / NOPs / timestamp-ish bytes), maybe a first fragment
        const optLen = this.r.int(1, 10) * 4;
        const options = Buffer.alloc(optLen, 1); // NOPs
        options[optLen - 1] = 0; // end of option list
        return {
          frame: ipv4({
            ...base,
            proto,
            options,
            moreFragments: this.r.chance(0.5),
            dontFragment: false,
            payload: seg,
          }),
          trailer,
        };
      }
      return { frame: ipv4({ ...base, proto, dontFragment: this.r.chance(0.5), payload: seg }), trailer };
    }
    const base = { src: this.ip6(), dst: this.ip6(), hopLimit: ttl, flowLabel: this.r.int(0, 0xfffff) };
    if (o.special && this.r.chance(0.3)) {
      const data = this.r.bytes(this.r.int(8, 100));
      const frag: Ipv6Extension = {
        type: 'fragment',
        offset: this.r.int(1, 1000) * 8,
        more: this.r.chance(0.5),
        id: this.r.u32(),
      };
      const exts: Ipv6Extension[] = this.r.chance(0.5) ? [{ type: 'hop-by-hop' }, frag] : [frag];
      return {
        frame: ipv6({ ...base, nextHeader: proto, extensions: exts, payload: data }),
        trailer: data.length,
      };
    }
    if (o.special) {
      const exts: Ipv6Extension[] = [];
      if (this.r.chance(0.5))
        exts.push({
          type: 'hop-by-hop',
          options: this.r.chance(0.5) ? Buffer.from([1, 4, 0, 0, 0, 0]) : undefined,
        });
      if (this.r.chance(0.5)) exts.push({ type: 'destination' });
      if (this.r.chance(0.5))
        exts.push({ type: 'routing', routingType: 253, data: this.r.bytes(this.r.pick([4, 12, 20])) });
      if (this.r.chance(0.3))
        exts.push({ type: 'ah', spi: this.r.u32(), seq: this.r.u32(), icv: this.r.bytes(12) });
      if (this.r.chance(0.3)) exts.push({ type: 'fragment', offset: 0, more: true, id: this.r.u32() });
      if (this.r.chance(0.5)) exts.push({ type: 'destination', options: Buffer.from([1, 2, 0, 0]) });
      if (exts.length === 0) exts.push({ type: 'destination' });
      return { frame: ipv6({ ...base, nextHeader: proto, extensions: exts, payload: seg }), trailer };
    }
    return { frame: ipv6({ ...base, nextHeader: proto, payload: seg }), trailer };
  }

  /** A pod's Ethernet frame. */
  podFrame(
    o: { v6?: boolean; tags?: number; special?: boolean; l4?: 'tcp' | 'udp' | 'icmp'; pad?: boolean } = {},
  ): Built {
    const ip = this.ipPacket({ v6: o.v6 ?? this.r.chance(0.4), l4: o.l4, special: o.special });
    const frame = ethernet({
      src: this.mac(),
      dst: this.mac(),
      vlans: this.vlans(o.tags ?? 0),
      payload: ip.frame,
      padTo: o.pad ? 60 : undefined,
    });
    return { frame, trailer: ip.trailer + (frame.length - 14 - (o.tags ?? 0) * 4 - ip.frame.length) };
  }

  /** Outer Ethernet/IP/UDP/VXLAN around `inner`. */
  vxlanOf(inner: Buffer, o: { v6?: boolean; tags?: number; port?: number } = {}): Buffer {
    const v6 = o.v6 ?? false;
    const u = udp({
      // VTEPs pick the source port from the dynamic range (RFC 7348): above any well-known
      // port tshark would otherwise try first
      sport: this.r.int(49152, 65535),
      dport: o.port ?? 4789,
      payload: vxlan({ vni: this.r.int(0, 0xffffff), frame: inner }),
    });
    const ip = v6
      ? ipv6({ src: this.ip6(), dst: this.ip6(), nextHeader: 17, payload: u })
      : ipv4({
          src: this.ip4(),
          dst: this.ip4(),
          proto: 17,
          dontFragment: true,
          payload: u,
          l4Checksum: this.r.chance(0.5),
        });
    return ethernet({ src: this.mac(), dst: this.mac(), vlans: this.vlans(o.tags ?? 0), payload: ip });
  }

  /** Outer Ethernet/IP/GRE(+ERSPAN) around `inner`. */
  greOf(
    inner: Buffer,
    kind: 'teb' | 'erspan1' | 'erspan2' | 'erspan3',
    o: { v6?: boolean; tags?: number } = {},
  ): Buffer {
    const session = this.r.int(0, 1023);
    let g: Buffer;
    if (kind === 'teb') {
      g = gre({
        protocol: 0x6558,
        payload: inner,
        checksum: this.r.chance(0.3),
        key: this.r.chance(0.5) ? this.r.u32() : undefined,
        seq: this.r.chance(0.5) ? this.r.u32() : undefined,
      });
    } else if (kind === 'erspan1') {
      g = gre({ protocol: 0x88be, payload: inner });
    } else if (kind === 'erspan2') {
      g = erspanII({
        session,
        seq: this.r.u32(),
        vlan: this.r.int(0, 4095),
        cos: this.r.int(0, 7),
        index: this.r.int(0, 0xfffff),
        frame: inner,
      });
    } else {
      g = erspanIII({
        session,
        seq: this.r.u32(),
        vlan: this.r.int(0, 4095),
        timestamp: this.r.u32(),
        sgt: this.r.int(0, 65535),
        hwId: this.r.int(0, 63),
        direction: this.r.pick(['ingress', 'egress'] as const),
        platform: this.r.chance(0.5) ? Buffer.from([0x0c, 0, 0, 0, 0, 0, 0, 1]) : undefined,
        frame: inner,
      });
    }
    const v6 = o.v6 ?? false;
    const ip = v6
      ? ipv6({ src: this.ip6(), dst: this.ip6(), nextHeader: 47, payload: g })
      : ipv4({ src: this.ip4(), dst: this.ip4(), proto: 47, payload: g });
    return ethernet({ src: this.mac(), dst: this.mac(), vlans: this.vlans(o.tags ?? 0), payload: ip });
  }
}

/** One sample of each encapsulation kind, drawn from `g`. */
export const KINDS: Record<string, (g: CorpusGen) => Omit<Sample, 'kind'>> = {
  plain4: (g) => eth(g.podFrame({ v6: false })),
  plain6: (g) => eth(g.podFrame({ v6: true })),
  padded: (g) => eth(g.podFrame({ v6: false, pad: true, l4: g.r.pick(['tcp', 'icmp'] as const) })),
  dot1q: (g) => eth(g.podFrame({ tags: 1 })),
  qinq: (g) => {
    const p = g.podFrame({ tags: 0 });
    const tagged = ethernet({
      src: g.mac(),
      dst: g.mac(),
      vlans: [
        { vid: g.r.int(1, 4094), tpid: 0x88a8 },
        { vid: g.r.int(1, 4094), tpid: 0x8100 },
      ],
      payload: p.frame.subarray(14),
    });
    return eth({ frame: tagged, trailer: p.trailer });
  },
  tags3: (g) => eth(g.podFrame({ tags: 3 })),
  tags4: (g) => eth(g.podFrame({ tags: 4 })),
  options4: (g) => eth(g.podFrame({ v6: false, special: true })),
  ext6: (g) => eth(g.podFrame({ v6: true, special: true })),
  vxlan4: (g) => tunnel(g.podFrame({ tags: g.r.int(0, 1) }), (f) => g.vxlanOf(f)),
  vxlan6outer: (g) => tunnel(g.podFrame({ v6: g.r.chance(0.5) }), (f) => g.vxlanOf(f, { v6: true })),
  vxlanInner6: (g) => tunnel(g.podFrame({ v6: true }), (f) => g.vxlanOf(f)),
  vxlanExtraPort: (g) => tunnel(g.podFrame(), (f) => g.vxlanOf(f, { port: EXTRA_VXLAN_PORT })),
  vxlanInVlan: (g) => tunnel(g.podFrame(), (f) => g.vxlanOf(f, { tags: g.r.int(1, 2) })),
  greTeb: (g) =>
    tunnel(g.podFrame({ tags: g.r.int(0, 1) }), (f) => g.greOf(f, 'teb', { v6: g.r.chance(0.3) })),
  erspan1: (g) => tunnel(g.podFrame(), (f) => g.greOf(f, 'erspan1')),
  erspan2: (g) =>
    tunnel(g.podFrame({ tags: g.r.int(0, 2) }), (f) => g.greOf(f, 'erspan2', { tags: g.r.int(0, 1) })),
  erspan3: (g) =>
    tunnel(g.podFrame({ tags: g.r.int(0, 1) }), (f) => g.greOf(f, 'erspan3', { v6: g.r.chance(0.3) })),
  erspanOfVxlan: (g) => {
    const pod = g.podFrame({ special: g.r.chance(0.3) });
    const vx = g.vxlanOf(pod.frame, { v6: g.r.chance(0.3), tags: g.r.int(0, 1) });
    const outer = g.greOf(vx, g.r.pick(['erspan2', 'erspan3'] as const), { tags: g.r.int(0, 1) });
    return {
      frame: outer,
      linkType: LinkType.ETHERNET,
      headerEnd: outer.length - pod.trailer,
      innerLength: pod.frame.length,
    };
  },
  vxlanInVxlan: (g) => tunnel(g.podFrame(), (f) => g.vxlanOf(g.vxlanOf(f), { v6: g.r.chance(0.5) })),
};

/** Cooked-capture samples (link types 113 and 276). */
export const COOKED_KINDS: Record<string, (g: CorpusGen) => Omit<Sample, 'kind'>> = {
  sll: (g) => cooked(g, LinkType.LINUX_SLL),
  sll2: (g) => cooked(g, LinkType.LINUX_SLL2),
};

function eth(b: Built): Omit<Sample, 'kind'> {
  return {
    frame: b.frame,
    linkType: LinkType.ETHERNET,
    headerEnd: b.frame.length - b.trailer,
    innerLength: b.frame.length,
  };
}

function tunnel(pod: Built, wrap: (f: Buffer) => Buffer): Omit<Sample, 'kind'> {
  const outer = wrap(pod.frame);
  return {
    frame: outer,
    linkType: LinkType.ETHERNET,
    headerEnd: outer.length - pod.trailer,
    innerLength: pod.frame.length,
  };
}

function cooked(g: CorpusGen, linkType: number): Omit<Sample, 'kind'> {
  const ip = g.ipPacket({ v6: g.r.chance(0.4), special: g.r.chance(0.3) });
  const o = {
    address: g.mac(),
    packetType: g.r.pick([0, 4]),
    vlans: g.vlans(g.r.int(0, 1)),
    payload: ip.frame,
  };
  const frame = linkType === LinkType.LINUX_SLL ? sll(o) : sll2(o);
  const hl = linkType === LinkType.LINUX_SLL ? 16 : 20;
  return { frame, linkType, headerEnd: frame.length - ip.trailer, innerLength: frame.length - hl + 14 };
}

/** `perKind` samples of every Ethernet kind, in a deterministic interleaved order. */
export function corpus(seed: number, perKind: number, kinds = KINDS): Sample[] {
  const g = new CorpusGen(seed);
  const out: Sample[] = [];
  for (let i = 0; i < perKind; i++) {
    for (const [kind, make] of Object.entries(kinds)) out.push({ kind, ...make(g) });
  }
  return out;
}
