import { describe, expect, it } from 'vitest';
import { DecodeStatus, Layer } from '../../collector/decode/packet.js';
import { ethernet, icmp, icmpv6, ipv4, ipv6, TcpFlags, tcp, udp } from '../../collector/synth/frames.js';
import { decode, decodeView } from './view.js';

const M = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const v4 = (proto: number, payload: Buffer) =>
  ethernet({ ...M, payload: ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto, payload }) });
const v6 = (nextHeader: number, payload: Buffer) =>
  ethernet({ ...M, payload: ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader, payload }) });

describe('TCP', () => {
  it('ports and every flag bit', () => {
    for (let flags = 0; flags < 256; flags += 17) {
      const v = decodeView(v4(6, tcp({ sport: 65535, dport: 1, flags })));
      expect(v).toMatchObject({
        status: 'ok',
        layers: ['ETHERNET', 'IPV4', 'TCP'],
        srcPort: 65535,
        dstPort: 1,
        tcpFlags: flags,
      });
    }
    expect(
      decodeView(v6(6, tcp({ sport: 22, dport: 50000, flags: TcpFlags.SYN | TcpFlags.ECE | TcpFlags.CWR })))
        .tcpFlags,
    ).toBe(0xc2);
  });

  it('rejects a data offset < 5', () => {
    for (let dataOffset = 0; dataOffset < 5; dataOffset++) {
      const p = decode(v4(6, tcp({ sport: 1, dport: 2, dataOffset })));
      expect(p.status).toBe(DecodeStatus.BAD_TCP_HEADER_LENGTH);
      expect(p.layers & Layer.TCP).toBe(0);
      expect(p.srcPort).toBe(0);
    }
  });

  it('options past the capture: TCP valid, TRUNCATED', () => {
    const f = v4(6, tcp({ sport: 1, dport: 2, options: Buffer.alloc(40, 1) }));
    const p = decode(f, { cap: 14 + 20 + 30 });
    expect(p.status).toBe(DecodeStatus.TRUNCATED);
    expect(p.layers & Layer.TCP).toBe(Layer.TCP);
    expect(p.dstPort).toBe(2);
    expect(decode(v4(6, tcp({ sport: 1, dport: 2, dataOffset: 15 }))).status).toBe(DecodeStatus.TRUNCATED);
  });
});

describe('UDP and ICMP', () => {
  it('UDP ports over v4 and v6', () => {
    expect(decodeView(v4(17, udp({ sport: 123, dport: 4321 })))).toMatchObject({
      layers: ['ETHERNET', 'IPV4', 'UDP'],
      srcPort: 123,
    });
    expect(decodeView(v6(17, udp({ sport: 9, dport: 8 })))).toMatchObject({
      layers: ['ETHERNET', 'IPV6', 'UDP'],
      dstPort: 8,
    });
  });

  it('ICMP and ICMPv6 type/code', () => {
    expect(decodeView(v4(1, icmp({ type: 3, code: 13 })))).toMatchObject({
      layers: ['ETHERNET', 'IPV4', 'ICMP'],
      icmpType: 3,
      icmpCode: 13,
    });
    expect(decodeView(v6(58, icmpv6({ type: 1, code: 4 })))).toMatchObject({
      layers: ['ETHERNET', 'IPV6', 'ICMPV6'],
      icmpType: 1,
      icmpCode: 4,
    });
  });

  it('TRUNCATED inside each fixed header, no layer bit', () => {
    const cases: [Buffer, number, number][] = [
      [v4(6, tcp({ sport: 1, dport: 2 })), 20, Layer.TCP],
      [v4(17, udp({ sport: 1, dport: 2 })), 8, Layer.UDP],
      [v4(1, icmp({ type: 8 })), 8, Layer.ICMP],
      [v6(58, icmpv6({ type: 128 })), 8, Layer.ICMPV6],
    ];
    for (const [f, hl, bit] of cases) {
      for (let cut = 1; cut <= hl; cut++) {
        const p = decode(f, { cap: f.length - cut });
        expect(p.status).toBe(DecodeStatus.TRUNCATED);
        expect(p.layers & bit).toBe(0);
      }
    }
  });

  it('other protocols stop at IP with OK', () => {
    expect(decodeView(v4(132, Buffer.alloc(16)))).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4'],
      protocol: 132,
    });
    expect(decodeView(v4(50, Buffer.alloc(16)))).toMatchObject({ status: 'ok', protocol: 50 });
  });
});
