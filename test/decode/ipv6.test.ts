import { describe, expect, it } from 'vitest';
import { MAX_IPV6_EXTENSIONS } from '../../collector/decode/ipv6.js';
import { DecodeStatus, Layer } from '../../collector/decode/packet.js';
import { ethernet, type Ipv6Extension, icmpv6, ipv6, udp } from '../../collector/synth/frames.js';
import { decode, decodeView } from './view.js';

const M = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const dgram = udp({ sport: 5353, dport: 40001, payload: Buffer.from('hello') });
const frame6 = (o: Partial<Parameters<typeof ipv6>[0]> = {}) =>
  ethernet({
    ...M,
    etherType: 0x86dd,
    payload: ipv6({
      src: '2001:db8::a',
      dst: 'fe80::1:2',
      nextHeader: 17,
      hopLimit: 9,
      payload: dgram,
      ...o,
    }),
  });

describe('IPv6', () => {
  it('decodes addresses, hop limit, payload length and L4', () => {
    expect(decodeView(frame6())).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV6', 'UDP'],
      ipVersion: 6,
      src: '2001:db8::a',
      dst: 'fe80::1:2',
      protocol: 17,
      ttl: 9,
      ipLength: 40 + dgram.length,
      srcPort: 5353,
      dstPort: 40001,
    });
  });

  it('walks hop-by-hop, routing, destination options and AH to the upper layer', () => {
    const all: Ipv6Extension[] = [
      { type: 'hop-by-hop', options: Buffer.from([5, 2, 0, 0]) },
      { type: 'routing', data: Buffer.alloc(20) },
      { type: 'destination', options: Buffer.alloc(30) },
      { type: 'ah', icv: Buffer.alloc(20) },
      { type: 'fragment', offset: 0, more: true },
      { type: 'destination' },
    ];
    for (let i = 0; i < all.length; i++) {
      const exts = [all[i], ...all.slice(0, i)];
      const v = decodeView(frame6({ extensions: exts }));
      expect(v.status, JSON.stringify(exts)).toBe('ok');
      expect(v.protocol).toBe(17);
      expect(v.dstPort).toBe(40001);
    }
    const frag = decodeView(frame6({ extensions: [{ type: 'fragment', more: true }] }));
    expect(frag).toMatchObject({ layers: ['ETHERNET', 'IPV6', 'UDP', 'FRAGMENT'], fragOffset: 0 });
  });

  it('a non-first fragment has no L4; protocol is the fragment header next header', () => {
    const v = decodeView(
      frame6({
        nextHeader: 6,
        extensions: [{ type: 'hop-by-hop' }, { type: 'fragment', offset: 2960 }],
        payload: Buffer.alloc(48, 0xaa),
      }),
    );
    expect(v).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV6', 'FRAGMENT'],
      protocol: 6,
      fragOffset: 2960,
    });
  });

  it('no next header (59) and unknown upper layers stop with OK', () => {
    expect(decodeView(frame6({ nextHeader: 59, payload: Buffer.alloc(0) }))).toMatchObject({
      status: 'ok',
      protocol: 59,
    });
    expect(decodeView(frame6({ nextHeader: 132, payload: Buffer.alloc(12) }))).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV6'],
      protocol: 132,
    });
  });

  it(`follows at most ${MAX_IPV6_EXTENSIONS} extension headers`, () => {
    const chain = (n: number): Ipv6Extension[] => new Array(n).fill({ type: 'destination' });
    expect(decode(frame6({ extensions: chain(MAX_IPV6_EXTENSIONS) })).status).toBe(DecodeStatus.OK);
    const p = decode(frame6({ extensions: chain(MAX_IPV6_EXTENSIONS + 1) }));
    expect(p.status).toBe(DecodeStatus.BAD_IPV6_EXTENSION);
    expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV6);
  });

  it('rejects an AH with a length below its fixed part', () => {
    const ah = Buffer.alloc(8);
    ah[1] = 0; // (0 + 2) * 4 = 8 < 12
    expect(decode(frame6({ extensions: [{ type: 'raw', nh: 51, bytes: ah }] })).status).toBe(
      DecodeStatus.BAD_IPV6_EXTENSION,
    );
  });

  it('TRUNCATED when an extension header runs past the capture or the payload length', () => {
    const f = frame6({ extensions: [{ type: 'hop-by-hop' }, { type: 'routing', data: Buffer.alloc(36) }] });
    for (let cap = 14 + 40; cap < 14 + 40 + 8 + 40; cap++) {
      const p = decode(f, { cap });
      expect(p.status, `cap ${cap}`).toBe(DecodeStatus.TRUNCATED);
      expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV6);
    }
    // payload length says the packet ends inside the routing header
    expect(
      decode(frame6({ extensions: [{ type: 'routing', data: Buffer.alloc(36) }], payloadLength: 16 })).status,
    ).toBe(DecodeStatus.TRUNCATED);
    // a lying length byte
    const raw = Buffer.alloc(8);
    raw[1] = 200;
    expect(decode(frame6({ extensions: [{ type: 'raw', nh: 60, bytes: raw }] })).status).toBe(
      DecodeStatus.TRUNCATED,
    );
  });

  it('rejects a wrong version', () => {
    for (const version of [0, 4, 7])
      expect(decode(frame6({ version })).status).toBe(DecodeStatus.BAD_IP_VERSION);
  });

  it('ICMPv6 type and code', () => {
    const v = decodeView(frame6({ nextHeader: 58, payload: icmpv6({ type: 135, code: 0 }) }));
    expect(v).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV6', 'ICMPV6'],
      icmpType: 135,
      icmpCode: 0,
    });
  });
});
