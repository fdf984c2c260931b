/** The synthetic frame builder: lengths, checksums and header bits. */
import { describe, expect, it } from 'vitest';
import {
  erspanII,
  erspanIII,
  ethernet,
  gre,
  icmp,
  icmpv6,
  internetChecksum,
  ipv4,
  ipv6,
  sll,
  sll2,
  TcpFlags,
  tcp,
  udp,
  vxlan,
} from '../../collector/synth/frames.js';

const M1 = '02:00:00:00:01:01';
const M2 = '02:00:00:00:01:02';

function pseudo4(ip: Buffer): Buffer {
  const p = Buffer.alloc(12);
  ip.copy(p, 0, 12, 20);
  p[9] = ip[9];
  p.writeUInt16BE(ip.length - (ip[0] & 0xf) * 4, 10);
  return p;
}

describe('frame builder', () => {
  it('builds Ethernet with tags in order and pads on request', () => {
    const f = ethernet({
      src: M1,
      dst: M2,
      vlans: [
        { vid: 100, tpid: 0x88a8, pcp: 5 },
        { vid: 4094, dei: true },
      ],
      etherType: 0x0806,
      payload: Buffer.alloc(4),
    });
    expect(f.subarray(0, 12).toString('hex')).toBe('020000000102020000000101');
    expect(f.subarray(12, 22).toString('hex')).toBe('88a8a0648100' + '1ffe' + '0806');
    expect(f.length).toBe(26);
    expect(
      ethernet({ src: M1, dst: M2, etherType: 0x0806, payload: Buffer.alloc(4), padTo: 60 }).length,
    ).toBe(60);
    expect(() =>
      ethernet({ src: M1, dst: M2, vlans: [{ vid: 4096 }], payload: Buffer.alloc(0), etherType: 1 }),
    ).toThrow();
    expect(() => ethernet({ src: M1, dst: M2, payload: Buffer.from([0x12]) })).toThrow(/etherType/);
  });

  it('fills IPv4 header, TCP and UDP checksums and lengths', () => {
    const seg = tcp({
      sport: 1,
      dport: 2,
      flags: TcpFlags.SYN,
      options: Buffer.from([2, 4, 5, 0xb4]),
      payload: Buffer.from('abc'),
    });
    expect(seg[12] >> 4).toBe(6);
    const p = ipv4({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      proto: 6,
      options: Buffer.from([1, 1, 1]),
      payload: seg,
    });
    expect(p[0]).toBe(0x46);
    expect(p.readUInt16BE(2)).toBe(p.length);
    expect(internetChecksum(p.subarray(0, 24))).toBe(0);
    expect(internetChecksum(pseudo4(p), p.subarray(24))).toBe(0);
    const u = ipv4({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      proto: 17,
      payload: udp({ sport: 5, dport: 6, payload: Buffer.from('xyz') }),
    });
    expect(u.readUInt16BE(24)).toBe(11);
    expect(internetChecksum(pseudo4(u), u.subarray(20))).toBe(0);
    expect(internetChecksum(icmp({ type: 8, rest: 0x10001, payload: Buffer.from('ping') }))).toBe(0);
  });

  it('fills IPv6 pseudo-header checksums and builds extension chains', () => {
    const p = ipv6({
      src: '2001:db8::1',
      dst: '2001:db8::2',
      nextHeader: 58,
      extensions: [
        { type: 'hop-by-hop' },
        { type: 'routing' },
        { type: 'ah' },
        { type: 'destination', options: Buffer.alloc(9) },
      ],
      payload: icmpv6({ type: 128, rest: 1 }),
    });
    expect(p.readUInt16BE(4)).toBe(p.length - 40);
    expect(p[6]).toBe(0);
    let o = 40;
    const chain = [];
    let nh = p[6];
    while (nh !== 58) {
      chain.push(nh);
      const len = nh === 51 ? (p[o + 1] + 2) * 4 : (p[o + 1] + 1) * 8;
      expect(len % 8).toBe(0);
      nh = p[o];
      o += len;
    }
    expect(chain).toEqual([0, 43, 51, 60]);
    const ps = Buffer.alloc(40);
    p.copy(ps, 0, 8, 40);
    ps.writeUInt32BE(p.length - o, 32);
    ps[39] = 58;
    expect(internetChecksum(ps, p.subarray(o))).toBe(0);
  });

  it('builds tunnel headers with the documented bits', () => {
    const inner = Buffer.alloc(14);
    const v = vxlan({ vni: 0xabcdef, frame: inner });
    expect(v.subarray(0, 8).toString('hex')).toBe('08000000abcdef00');
    expect(() => vxlan({ vni: 1 << 24, frame: inner })).toThrow();
    const g = gre({ protocol: 0x6558, checksum: true, key: 7, seq: 9, payload: inner });
    expect(g.readUInt16BE(0)).toBe(0xb000);
    expect(g.length).toBe(16 + 14);
    expect(internetChecksum(g)).toBe(0);
    const e2 = erspanII({ session: 1023, seq: 5, vlan: 77, cos: 3, index: 0x12345, frame: inner });
    expect(e2.readUInt16BE(0)).toBe(0x1000);
    expect(e2.readUInt16BE(2)).toBe(0x88be);
    expect(e2.readUInt32BE(4)).toBe(5);
    expect(e2.subarray(8, 16).toString('hex')).toBe('104d63ff00012345');
    const e3 = erspanIII({
      session: 513,
      seq: 1,
      hwId: 63,
      direction: 'egress',
      platform: Buffer.alloc(8, 0xee),
      frame: inner,
    });
    expect(e3.readUInt16BE(2)).toBe(0x22eb);
    expect(e3[8] >> 4).toBe(2);
    expect(((e3[10] & 3) << 8) | e3[11]).toBe(513);
    expect(e3.readUInt16BE(18)).toBe((63 << 4) | 8 | 1);
    expect(e3.length).toBe(8 + 12 + 8 + 14);
    expect(() => erspanII({ session: 1024, seq: 0, frame: inner })).toThrow();
  });

  it('builds Linux cooked headers', () => {
    const payload = ipv4({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      proto: 17,
      payload: udp({ sport: 1, dport: 2 }),
    });
    const a = sll({ address: M1, packetType: 4, payload });
    expect(a.subarray(0, 16).toString('hex')).toBe('0004000100060200000001010000' + '0800');
    const b = sll2({ address: M1, vlans: [{ vid: 5 }], payload });
    expect(b.readUInt16BE(0)).toBe(0x8100);
    expect(b.subarray(20, 24).toString('hex')).toBe('00050800');
  });
});
