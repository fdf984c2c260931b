import { describe, expect, it } from 'vitest';
import {
  ipv4ToString,
  ipv6ToString,
  macFromBytes,
  macToString,
  parseIpv4,
  parseIpv6,
  parseMac,
} from '../../collector/decode/addr.js';
import { Prng } from '../../collector/synth/prng.js';

describe('MAC addresses', () => {
  it('formats and parses 48-bit numbers', () => {
    expect(macToString(0)).toBe('00:00:00:00:00:00');
    expect(macToString(0xffffffffffff)).toBe('ff:ff:ff:ff:ff:ff');
    expect(macToString(0x020000000101)).toBe('02:00:00:00:01:01');
    expect(parseMac('02:00:00:00:01:01')).toBe(0x020000000101);
    expect(parseMac('AA-BB-CC-DD-EE-FF')).toBe(0xaabbccddeeff);
    expect(macFromBytes(Uint8Array.from([9, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]), 1)).toBe(0xaabbccddeeff);
  });
  it('round-trips random MACs', () => {
    const r = new Prng(1);
    for (let i = 0; i < 1000; i++) {
      const n = r.int(0, 0xffff) * 4294967296 + r.u32();
      expect(parseMac(macToString(n))).toBe(n);
    }
  });
  it('rejects malformed text', () => {
    for (const bad of [
      '',
      '02:00:00:00:01',
      '02:00:00:00:01:01:01',
      '02:00-00:00:01:01',
      'zz:00:00:00:01:01',
      '2:0:0:0:1:1',
    ]) {
      expect(() => parseMac(bad), bad).toThrow(/invalid MAC/);
    }
  });
});

describe('IPv4 addresses', () => {
  it('formats and parses', () => {
    expect(ipv4ToString(0)).toBe('0.0.0.0');
    expect(ipv4ToString(0xffffffff)).toBe('255.255.255.255');
    expect(ipv4ToString(0x0a000001)).toBe('10.0.0.1');
    expect(parseIpv4('192.168.1.254')).toBe(0xc0a801fe);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
  });
  it('rejects malformed text', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', 'a.b.c.d', '::1']) {
      expect(() => parseIpv4(bad), bad).toThrow(/invalid IPv4/);
    }
  });
});

describe('IPv6 addresses', () => {
  it('formats in RFC 5952 form (as tshark prints)', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single 0 group is not "::"
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['fe80:0:0:0:0:0:0:0', 'fe80::'],
      ['FE80::ABCD', 'fe80::abcd'],
      ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
      ['::ffff:0:0', '::ffff:0.0.0.0'],
      ['::1.2.3.4', '::1.2.3.4'],
      ['::0:1:0', '::0.1.0.0'], // tshark (glibc) prints ::/96 with a nonzero 7th group mixed
      ['::1:0:0', '::1:0:0'],
      ['::2', '::2'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:0:0:0:0:0:8', '1::8'],
    ];
    for (const [input, want] of cases) expect(ipv6ToString(parseIpv6(input)), input).toBe(want);
  });
  it('parses every form into 16 bytes', () => {
    expect(Array.from(parseIpv6('::ffff:10.0.0.1'))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1,
    ]);
    expect(Array.from(parseIpv6('2001:db8::'))).toEqual([0x20, 1, 0xd, 0xb8, ...new Array(12).fill(0)]);
    expect(ipv6ToString(Buffer.concat([Buffer.from([7, 7]), parseIpv6('2001:db8::2')]), 2)).toBe(
      '2001:db8::2',
    );
  });
  it('round-trips random addresses', () => {
    const r = new Prng(2);
    for (let i = 0; i < 2000; i++) {
      const b = r.bytes(16);
      if (r.chance(0.7)) b.fill(0, r.int(0, 15), r.int(0, 16));
      expect(Buffer.from(parseIpv6(ipv6ToString(b)))).toEqual(b);
    }
  });
  it('rejects malformed text', () => {
    for (const bad of ['', '1:2:3', '1::2::3', 'g::1', '10.0.0.1', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9']) {
      expect(() => parseIpv6(bad), bad).toThrow(/invalid IPv6/);
    }
  });
});
