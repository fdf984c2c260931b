/** VXLAN, GRE and ERSPAN: the innermost frame, the tunnel fields, nesting and malformed headers. */
import { describe, expect, it } from 'vitest';
import {
  DecodedPacket,
  DecodeStatus,
  decodeConfig,
  Layer,
  MAX_TUNNEL_DEPTH,
} from '../../collector/decode/packet.js';
import {
  erspanII,
  erspanIII,
  ethernet,
  gre,
  ipv4,
  ipv6,
  tcp,
  udp,
  vxlan,
} from '../../collector/synth/frames.js';
import { corpus } from './corpus.js';
import { decode, decodeView, view } from './view.js';

const POD = { src: '02:00:00:00:aa:01', dst: '02:00:00:00:aa:02' };
const NODE = { src: '0c:00:00:00:00:01', dst: '0c:00:00:00:00:02' };
const podFrame = ethernet({
  ...POD,
  vlans: [{ vid: 30 }],
  payload: ipv4({
    src: '172.16.0.5',
    dst: '172.16.0.9',
    proto: 6,
    ttl: 61,
    payload: tcp({ sport: 33333, dport: 8080, flags: 2 }),
  }),
});
const POD_LAYERS = ['ETHERNET', 'VLAN', 'IPV4', 'TCP'];
/** the pod frame's fields (layers are checked separately: they include the tunnel bits) */
const podView = {
  srcMac: POD.src,
  dstMac: POD.dst,
  vlans: [30],
  vlan: 30,
  src: '172.16.0.5',
  dst: '172.16.0.9',
  ttl: 61,
  srcPort: 33333,
  dstPort: 8080,
};

const overV4 = (proto: number, payload: Buffer, vlans: { vid: number }[] = []) =>
  ethernet({ ...NODE, vlans, payload: ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto, payload }) });
const vxlanV4 = (
  frame: Buffer,
  o: { vni?: number; dport?: number; flags?: number; vlans?: { vid: number }[] } = {},
) =>
  overV4(
    17,
    udp({
      sport: 50123,
      dport: o.dport ?? 4789,
      payload: vxlan({ vni: o.vni ?? 5001, frame, flags: o.flags }),
    }),
    o.vlans,
  );

describe('VXLAN', () => {
  it('decodes the pod frame; the outer IPs are the VTEPs', () => {
    const f = vxlanV4(podFrame, { vlans: [{ vid: 900 }] });
    const v = decodeView(f);
    expect(v).toMatchObject({
      status: 'ok',
      ...podView,
      layers: [...POD_LAYERS, 'VXLAN'],
      vni: 5001,
      tunnelIpVersion: 4,
      tunnelSrc: '192.0.2.1',
      tunnelDst: '192.0.2.2',
      outerVlan: 900,
      tunnelDepth: 1,
      l2Offset: f.length - podFrame.length,
      innerLength: podFrame.length,
    });
  });

  it('IPv6 VTEPs', () => {
    const u = udp({ sport: 1, dport: 4789, payload: vxlan({ vni: 0xffffff, frame: podFrame }) });
    const f = ethernet({
      ...NODE,
      payload: ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 17, payload: u }),
    });
    expect(decodeView(f)).toMatchObject({
      status: 'ok',
      ...podView,
      vni: 0xffffff,
      tunnelIpVersion: 6,
      tunnelSrc: '2001:db8::1',
      tunnelDst: '2001:db8::2',
    });
  });

  it('only on configured destination ports', () => {
    expect(decodeView(vxlanV4(podFrame, { dport: 8472 }))).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'UDP'],
      dstPort: 8472,
    });
    const cfg = decodeConfig([8472]);
    expect(decodeView(vxlanV4(podFrame, { dport: 8472 }), { cfg })).toMatchObject({
      status: 'ok',
      vni: 5001,
      ...podView,
    });
    // source port 4789 alone is not VXLAN
    const f = overV4(17, udp({ sport: 4789, dport: 9999, payload: vxlan({ vni: 1, frame: podFrame }) }));
    expect(decodeView(f).layers).toEqual(['ETHERNET', 'IPV4', 'UDP']);
    expect(() => decodeConfig([0])).toThrow(RangeError);
  });

  it('BAD_VXLAN without the I flag, with the outer UDP layers valid', () => {
    const p = decode(vxlanV4(podFrame, { flags: 0x80 }));
    expect(p.status).toBe(DecodeStatus.BAD_VXLAN);
    expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV4 | Layer.UDP);
    expect(p.dstPort).toBe(4789);
  });

  it('TRUNCATED in the VXLAN header or the inner frame', () => {
    const f = vxlanV4(podFrame);
    const hdr = f.length - podFrame.length - 8;
    for (let cap = hdr; cap < hdr + 8; cap++) {
      const p = decode(f, { cap });
      expect(p.status).toBe(DecodeStatus.TRUNCATED);
      expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV4 | Layer.UDP);
    }
    const p = decode(f, { cap: hdr + 8 + 10 });
    expect(p.status).toBe(DecodeStatus.TRUNCATED);
    expect(p.layers).toBe(Layer.VXLAN);
    expect(p.vni).toBe(5001);
    expect(p.tunnelSrc4).toBe(0xc0000201);
  });

  it('the inner frame ends where the UDP datagram ends', () => {
    const f = Buffer.concat([vxlanV4(podFrame), Buffer.alloc(20, 0xff)]);
    expect(decodeView(f, { cap: f.length })).toMatchObject({ status: 'ok', ...podView });
  });

  it(`nests up to MAX_TUNNEL_DEPTH (${MAX_TUNNEL_DEPTH}); one more is TOO_DEEP`, () => {
    let f = podFrame;
    for (let d = 1; d <= MAX_TUNNEL_DEPTH + 1; d++) {
      f = d % 2 === 0 ? overV4(47, gre({ protocol: 0x6558, payload: f })) : vxlanV4(f, { vni: 100 + d });
      const p = decode(f);
      if (d <= MAX_TUNNEL_DEPTH) {
        expect(p.status, `depth ${d}`).toBe(DecodeStatus.OK);
        expect(p.tunnelDepth).toBe(d);
        expect(view(p)).toMatchObject(podView);
        expect(p.vni).toBe(101); // the innermost VXLAN (the first wrap)
      } else {
        expect(p.status).toBe(DecodeStatus.TOO_DEEP);
        expect(p.tunnelDepth).toBe(MAX_TUNNEL_DEPTH);
      }
    }
  });
});

describe('GRE', () => {
  it('transparent Ethernet bridging with every C/K/S combination', () => {
    for (let bits = 0; bits < 8; bits++) {
      const g = gre({
        protocol: 0x6558,
        checksum: (bits & 1) !== 0,
        key: bits & 2 ? 0xdeadbeef : undefined,
        seq: bits & 4 ? 7 : undefined,
        payload: podFrame,
      });
      const v = decodeView(overV4(47, g));
      expect(v).toMatchObject({
        status: 'ok',
        ...podView,
        layers: [...POD_LAYERS, 'GRE'],
        greProtocol: 0x6558,
        tunnelDepth: 1,
      });
      expect(v.vni).toBeUndefined();
    }
  });

  it('BAD_GRE for routing/strict/recursion bits and unknown versions', () => {
    for (const extraFlags of [0x4000, 0x0800, 0x0100, 0x0700]) {
      const p = decode(overV4(47, gre({ protocol: 0x6558, extraFlags, payload: podFrame })));
      expect(p.status, extraFlags.toString(16)).toBe(DecodeStatus.BAD_GRE);
      expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV4);
      expect(p.protocol).toBe(47);
    }
    for (let version = 2; version < 8; version++) {
      expect(decode(overV4(47, gre({ protocol: 0x6558, version, payload: podFrame }))).status).toBe(
        DecodeStatus.BAD_GRE,
      );
    }
    expect(decode(overV4(47, gre({ protocol: 0x6558, version: 1, key: 1, payload: podFrame }))).status).toBe(
      DecodeStatus.BAD_GRE,
    );
    // PPTP's enhanced GRE (version 1, key, PPP) is valid: decoding stops there
    const pptp = decodeView(
      overV4(47, gre({ protocol: 0x880b, version: 1, key: 0x00100005, payload: Buffer.alloc(8) })),
    );
    expect(pptp).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'GRE'],
      greProtocol: 0x880b,
      tunnelDepth: 0,
    });
    // reserved flag bits 0x00f8 are ignored (RFC 2784)
    expect(decode(overV4(47, gre({ protocol: 0x6558, extraFlags: 0x00f8, payload: podFrame }))).status).toBe(
      DecodeStatus.OK,
    );
  });

  it('other protocols stop at GRE with OK', () => {
    const inner = ipv4({ src: '10.9.9.9', dst: '10.8.8.8', proto: 17, payload: udp({ sport: 1, dport: 2 }) });
    const v = decodeView(overV4(47, gre({ protocol: 0x0800, key: 3, payload: inner })));
    expect(v).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'GRE'],
      src: '192.0.2.1',
      protocol: 47,
      greProtocol: 0x0800,
    });
  });

  it('TRUNCATED in the GRE header and its optional fields', () => {
    const f = overV4(47, gre({ protocol: 0x6558, checksum: true, key: 1, seq: 2, payload: podFrame }));
    const start = 14 + 20;
    for (let cap = start; cap < start + 16; cap++) {
      const p = decode(f, { cap });
      expect(p.status).toBe(DecodeStatus.TRUNCATED);
      expect(p.layers & ~Layer.GRE).toBe(Layer.ETHERNET | Layer.IPV4);
      expect(p.tunnelDepth).toBe(0);
    }
  });
});

describe('ERSPAN', () => {
  it('type II: session, type, the mirrored frame', () => {
    const f = overV4(47, erspanII({ session: 1023, seq: 1, vlan: 30, cos: 5, frame: podFrame }), [
      { vid: 3000 },
    ]);
    expect(decodeView(f)).toMatchObject({
      status: 'ok',
      ...podView,
      layers: [...POD_LAYERS, 'GRE', 'ERSPAN'],
      erspanType: 2,
      erspanSession: 1023,
      erspanVlan: 30,
      greProtocol: 0x88be,
      outerVlan: 3000,
      tunnelDepth: 1,
      innerLength: podFrame.length,
    });
  });

  it('type I: GRE 0x88be without a sequence number, no ERSPAN header', () => {
    const v = decodeView(overV4(47, gre({ protocol: 0x88be, payload: podFrame })));
    expect(v).toMatchObject({ status: 'ok', ...podView, erspanType: 1, erspanSession: 0, erspanVlan: -1 });
  });

  it('type III with and without the platform subheader', () => {
    for (const platform of [undefined, Buffer.alloc(8, 0x33)]) {
      const v = decodeView(
        overV4(47, erspanIII({ session: 600, seq: 3, vlan: 4095, timestamp: 5, platform, frame: podFrame })),
      );
      expect(v).toMatchObject({
        status: 'ok',
        ...podView,
        erspanType: 3,
        erspanSession: 600,
        erspanVlan: 4095,
        greProtocol: 0x22eb,
      });
    }
    // without a GRE sequence number too
    expect(decodeView(overV4(47, erspanIII({ session: 1, frame: podFrame })))).toMatchObject({
      status: 'ok',
      erspanSession: 1,
    });
  });

  it('BAD_ERSPAN for a wrong version or a non-Ethernet frame type', () => {
    expect(decode(overV4(47, erspanII({ session: 1, seq: 1, version: 2, frame: podFrame }))).status).toBe(
      DecodeStatus.BAD_ERSPAN,
    );
    expect(decode(overV4(47, erspanIII({ session: 1, seq: 1, version: 1, frame: podFrame }))).status).toBe(
      DecodeStatus.BAD_ERSPAN,
    );
    const p = decode(overV4(47, erspanIII({ session: 1, frameType: 2, frame: podFrame })));
    expect(p.status).toBe(DecodeStatus.BAD_ERSPAN);
    expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV4 | Layer.GRE);
  });

  it('TRUNCATED inside the ERSPAN header', () => {
    const cases = [
      overV4(47, erspanII({ session: 1, seq: 1, frame: podFrame })),
      overV4(47, erspanIII({ session: 1, seq: 1, platform: Buffer.alloc(8), frame: podFrame })),
    ];
    for (const f of cases) {
      for (let cap = 14 + 20 + 8; cap < f.length - podFrame.length; cap++) {
        const p = decode(f, { cap });
        expect(p.status, `cap ${cap}`).toBe(DecodeStatus.TRUNCATED);
        expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV4 | Layer.GRE);
      }
    }
  });

  it('ERSPAN of a VXLAN frame: innermost pod, VXLAN VTEPs, the mirror transport VLAN', () => {
    const vx = vxlanV4(podFrame, { vni: 777, vlans: [{ vid: 12 }] });
    const f = overV4(47, erspanII({ session: 5, seq: 9, frame: vx }), [{ vid: 3001 }]);
    expect(decodeView(f)).toMatchObject({
      status: 'ok',
      ...podView,
      layers: [...POD_LAYERS, 'VXLAN', 'GRE', 'ERSPAN'],
      vni: 777,
      tunnelSrc: '192.0.2.1',
      erspanSession: 5,
      greProtocol: 0x88be,
      outerVlan: 3001,
      tunnelDepth: 2,
      innerLength: podFrame.length,
    });
  });
});

describe('record reuse', () => {
  it('decoding into a reused record gives the same result as into a fresh one', () => {
    const samples = corpus(77, 5);
    const reused = new DecodedPacket();
    const cfg = decodeConfig();
    // every ordered pair of kinds: a frame after another leaves nothing behind
    for (const a of samples) {
      for (const b of samples.slice(0, 25)) {
        decode(a.frame, { into: reused, cfg });
        const got = view(decode(b.frame, { into: reused, cfg }));
        expect(got).toEqual(view(decode(b.frame, { cfg })));
      }
    }
  });
});
