import { describe, expect, it } from 'vitest';
import { DecodeStatus, Layer } from '../../collector/decode/packet.js';
import { ethernet, ipv4, ipv6, tcp, udp } from '../../collector/synth/frames.js';
import { decode, decodeView } from './view.js';

const M = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const seg = tcp({ sport: 40000, dport: 443, flags: 0x18, payload: Buffer.from('data') });
const frame4 = (o: Partial<Parameters<typeof ipv4>[0]> = {}) =>
  ethernet({
    ...M,
    etherType: 0x0800,
    payload: ipv4({ src: '192.0.2.1', dst: '198.51.100.7', proto: 6, ttl: 33, payload: seg, ...o }),
  });

describe('IPv4', () => {
  it('decodes addresses, protocol, TTL and total length', () => {
    expect(decodeView(frame4())).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'TCP'],
      ipVersion: 4,
      src: '192.0.2.1',
      dst: '198.51.100.7',
      protocol: 6,
      ttl: 33,
      ipLength: 20 + seg.length,
      srcPort: 40000,
      dstPort: 443,
      tcpFlags: 0x18,
    });
  });

  it('skips options by IHL (6..15)', () => {
    for (let words = 1; words <= 10; words++) {
      const v = decodeView(frame4({ options: Buffer.alloc(words * 4, 1) }));
      expect(v.status).toBe('ok');
      expect(v.srcPort).toBe(40000);
      expect(v.ipLength).toBe(20 + words * 4 + seg.length);
    }
  });

  it('rejects IHL < 5', () => {
    for (let ihl = 0; ihl < 5; ihl++) {
      const p = decode(frame4({ ihl }));
      expect(p.status, `ihl ${ihl}`).toBe(DecodeStatus.BAD_IP_HEADER_LENGTH);
      expect(p.layers).toBe(Layer.ETHERNET);
    }
  });

  it('rejects a total length shorter than the header, but accepts 0 (TSO)', () => {
    expect(decode(frame4({ totalLength: 19 })).status).toBe(DecodeStatus.BAD_IP_HEADER_LENGTH);
    expect(decode(frame4({ options: Buffer.alloc(8, 1), totalLength: 24 })).status).toBe(
      DecodeStatus.BAD_IP_HEADER_LENGTH,
    );
    const tso = decodeView(frame4({ totalLength: 0 }));
    expect(tso).toMatchObject({ status: 'ok', ipLength: 0, srcPort: 40000 });
  });

  it('rejects a wrong version for the EtherType, both ways', () => {
    for (const version of [0, 5, 6, 15])
      expect(decode(frame4({ version })).status).toBe(DecodeStatus.BAD_IP_VERSION);
    const v4in6 = ethernet({
      ...M,
      etherType: 0x86dd,
      payload: ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, payload: Buffer.alloc(40) }),
    });
    expect(decode(v4in6).status).toBe(DecodeStatus.BAD_IP_VERSION);
    const v6in4 = ethernet({
      ...M,
      etherType: 0x0800,
      payload: ipv6({ src: '::1', dst: '::2', nextHeader: 59 }),
    });
    expect(decode(v6in4).status).toBe(DecodeStatus.BAD_IP_VERSION);
  });

  it('TRUNCATED options keep the IPv4 layer', () => {
    const f = frame4({ options: Buffer.alloc(12, 1) });
    const p = decode(f, { cap: 14 + 24 });
    expect(p.status).toBe(DecodeStatus.TRUNCATED);
    expect(p.layers).toBe(Layer.ETHERNET | Layer.IPV4);
    expect(p.protocol).toBe(6);
  });

  it('fragments: the first carries L4, later ones do not', () => {
    const first = decodeView(frame4({ moreFragments: true }));
    expect(first).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'TCP', 'FRAGMENT'],
      fragOffset: 0,
      srcPort: 40000,
    });
    const middle = decodeView(
      frame4({ moreFragments: true, fragOffset: 1480, payload: Buffer.alloc(64, 0xee) }),
    );
    expect(middle).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'FRAGMENT'],
      fragOffset: 1480,
      protocol: 6,
    });
    expect(middle.srcPort).toBeUndefined();
    const last = decodeView(frame4({ fragOffset: 65528, payload: Buffer.alloc(8) }));
    expect(last).toMatchObject({ status: 'ok', layers: ['ETHERNET', 'IPV4', 'FRAGMENT'], fragOffset: 65528 });
    // don't-fragment alone is not a fragment
    expect(decodeView(frame4({ dontFragment: true })).layers).not.toContain('FRAGMENT');
  });

  it('bounds L4 by the total length, not the Ethernet padding', () => {
    const p = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: udp({ sport: 7, dport: 9 }) });
    const padded = ethernet({ ...M, payload: p, padTo: 60 });
    expect(decodeView(padded)).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'UDP'],
      innerLength: 60,
    });
    // a TCP packet whose total length leaves no room for the TCP header: the padding
    // after it must not be taken for one
    const short = Buffer.from(frame4());
    short.writeUInt16BE(20, 14 + 2);
    const v = decode(short);
    expect(v.status).toBe(DecodeStatus.TRUNCATED);
    expect(v.layers & Layer.TCP).toBe(0);
  });
});
