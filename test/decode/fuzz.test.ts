/**
 * Fuzz: mutated frames from the corpus (byte and bit flips, random and "interesting" values
 * written over header bytes — length fields, type fields, flags —, truncations, odd wire
 * lengths and link types) and plain random bytes. decodeFrame must never throw, always
 * return a valid status, and leave a record whose fields are consistent with its layers.
 */
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../collector/decode/frame.js';
import {
  DecodedPacket,
  DecodeStatus,
  decodeConfig,
  decodeStatusName,
  Layer,
  MAX_TUNNEL_DEPTH,
  MAX_VLAN_TAGS,
} from '../../collector/decode/packet.js';
import { Prng } from '../../collector/synth/prng.js';
import { COOKED_KINDS, corpus, EXTRA_VXLAN_PORT, KINDS } from './corpus.js';
import { view } from './view.js';

const cfg = decodeConfig([EXTRA_VXLAN_PORT]);
const L4 = Layer.TCP | Layer.UDP | Layer.ICMP | Layer.ICMPV6;
const ALL_LAYERS = Object.values(Layer).reduce((a, b) => a | b, 0);
const INTERESTING = [0, 1, 4, 5, 6, 8, 15, 17, 0x40, 0x45, 0x4f, 0x60, 0x7f, 0x80, 0xff];
const INTERESTING16 = [
  0, 1, 8, 20, 0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x6558, 0x88be, 0x22eb, 4789, 0x1000, 0x4000, 0xffff,
];

/** Returns what is wrong with the record, or '' when it is consistent. */
function inconsistency(
  p: DecodedPacket,
  status: number,
  base: number,
  cap: number,
  linkType: number,
): string {
  const l = p.layers;
  const has = (b: number) => (l & b) !== 0;
  if (!Number.isInteger(status) || status < 0 || status >= decodeStatusName.length) return `status ${status}`;
  if (status !== p.status) return 'returned status differs from out.status';
  if ((l & ~ALL_LAYERS) !== 0) return `unknown layer bits ${l}`;
  if (
    (status === DecodeStatus.UNSUPPORTED_LINK_TYPE) !==
    (linkType !== 1 && linkType !== 113 && linkType !== 276)
  ) {
    return 'UNSUPPORTED_LINK_TYPE mismatch';
  }
  if (status === DecodeStatus.OK && linkType === 1 && !has(Layer.ETHERNET)) return 'OK without Ethernet';
  if (p.vlanCount < 0 || p.vlanCount > MAX_VLAN_TAGS) return `vlanCount ${p.vlanCount}`;
  if (has(Layer.VLAN) !== p.vlanCount > 0) return 'VLAN bit vs vlanCount';
  if (p.vlanCount > 0 && p.vlan !== p.vlans[p.vlanCount - 1]) return 'vlan is not the innermost tag';
  if (p.vlan < 0 || p.vlan > 4095 || p.outerVlan < 0 || p.outerVlan > 4095) return 'VLAN ID range';
  if (p.tunnelDepth < 0 || p.tunnelDepth > MAX_TUNNEL_DEPTH) return `tunnelDepth ${p.tunnelDepth}`;
  if (has(Layer.ETHERNET) && (p.l2Offset < base || p.l2Offset + 14 > base + cap))
    return `l2Offset ${p.l2Offset}`;
  if (p.innerLength < 0) return 'negative innerLength';
  if (!Number.isSafeInteger(p.srcMac) || p.srcMac < 0 || p.srcMac > 0xffffffffffff) return 'srcMac range';
  if (has(Layer.IPV4) && has(Layer.IPV6)) return 'IPv4 and IPv6';
  if (has(Layer.IPV4) !== (p.ipVersion === 4) || has(Layer.IPV6) !== (p.ipVersion === 6))
    return 'ipVersion vs layers';
  if (p.src4 < 0 || p.src4 > 0xffffffff || !Number.isInteger(p.dst4)) return 'IPv4 range';
  const l4 = l & L4;
  if (l4 !== 0 && (l4 & (l4 - 1)) !== 0) return 'several L4 layers';
  if (l4 !== 0 && p.ipVersion === 0) return 'L4 without IP';
  if (has(Layer.TCP) && p.protocol !== 6) return `TCP with protocol ${p.protocol}`;
  if (has(Layer.UDP) && p.protocol !== 17) return `UDP with protocol ${p.protocol}`;
  if (has(Layer.ICMP) && p.protocol !== 1) return `ICMP with protocol ${p.protocol}`;
  if (has(Layer.ICMPV6) && p.protocol !== 58) return `ICMPv6 with protocol ${p.protocol}`;
  if (has(Layer.FRAGMENT) && p.fragOffset > 0 && l4 !== 0) return 'L4 in a non-first fragment';
  if (p.srcPort < 0 || p.srcPort > 65535 || p.dstPort < 0 || p.dstPort > 65535) return 'port range';
  if (has(Layer.VXLAN) && (p.vni < 0 || p.vni > 0xffffff || p.tunnelDepth < 1)) return 'VXLAN fields';
  if (has(Layer.VXLAN) && p.tunnelIpVersion !== 4 && p.tunnelIpVersion !== 6) return 'tunnelIpVersion';
  if (has(Layer.ERSPAN) && (!has(Layer.GRE) || p.erspanType < 1 || p.erspanType > 3)) return 'ERSPAN fields';
  if (has(Layer.ERSPAN) && (p.erspanSession < 0 || p.erspanSession > 1023)) return 'ERSPAN session';
  return '';
}

describe('fuzz', () => {
  it('300k mutated corpus frames: never throws, always consistent', () => {
    const samples = [...corpus(0xf022, 15, KINDS), ...corpus(0xf023, 15, COOKED_KINDS)];
    const r = new Prng(0xf0f0);
    const scratch = Buffer.alloc(4096);
    const out = new DecodedPacket();
    const counts = new Array<number>(decodeStatusName.length).fill(0);
    const N = 300_000;
    let failure = '';
    for (let i = 0; i < N && failure === ''; i++) {
      const s = samples[r.int(0, samples.length - 1)];
      const len = s.frame.length;
      const base = r.int(0, 8);
      scratch.fill(r.int(0, 255), 0, base + len + 64);
      s.frame.copy(scratch, base);
      const hot = Math.min(len - 1, s.headerEnd + 8);
      const n = r.int(1, 3);
      for (let m = 0; m < n; m++) {
        const at = base + r.int(0, hot);
        switch (r.int(0, 4)) {
          case 0:
            scratch[at] = r.int(0, 255);
            break;
          case 1:
            scratch[at] ^= 1 << r.int(0, 7);
            break;
          case 2:
            scratch[at] = r.pick(INTERESTING);
            break;
          case 3:
            scratch.writeUInt16BE(r.pick(INTERESTING16), at);
            break;
          default:
            scratch.writeUInt16BE(r.int(0, 0xffff), at);
        }
      }
      const cap = r.chance(0.25) ? r.int(0, len) : len;
      const wire = r.chance(0.9) ? len : r.int(0, 2 * len);
      const linkType = r.chance(0.98) ? s.linkType : r.pick([0, 1, 105, 113, 276]);
      let status: number;
      try {
        status = decodeFrame(scratch, base, cap, wire, linkType, out, cfg);
      } catch (e) {
        failure = `threw on mutation ${i} of ${s.kind}: ${(e as Error).stack}`;
        break;
      }
      counts[status]++;
      const bad = inconsistency(out, status, base, cap, linkType);
      if (bad)
        failure = `mutation ${i} of ${s.kind}: ${bad}: ${scratch.subarray(base, base + cap).toString('hex')}`;
      if (i % 97 === 0) {
        // the reused record must hold exactly what a fresh one would
        const fresh = new DecodedPacket();
        decodeFrame(scratch, base, cap, wire, linkType, fresh, cfg);
        expect(view(out)).toEqual(view(fresh));
      }
    }
    expect(failure).toBe('');
    const dist = Object.fromEntries(decodeStatusName.map((name, k) => [name, counts[k]]));
    console.log(`fuzz status distribution over ${N} mutated frames:`, dist);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(N);
    // every malformed verdict a mutation can provoke is provoked (TOO_DEEP needs 5 tunnels)
    for (const name of decodeStatusName) {
      if (name === 'too_deep') continue;
      expect(dist[name], name).toBeGreaterThan(0);
    }
  });

  it('20k buffers of random bytes under every link type', () => {
    const r = new Prng(0xbeef);
    const out = new DecodedPacket();
    const counts = new Array<number>(decodeStatusName.length).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const len = r.int(0, 160);
      const b = r.bytes(len);
      // steer a fraction towards parseable starts
      if (len >= 14 && r.chance(0.5)) b.writeUInt16BE(r.pick(INTERESTING16), 12);
      if (len >= 15 && r.chance(0.5)) b[14] = r.pick([0x45, 0x46, 0x4f, 0x60]);
      const linkType = r.pick([1, 1, 1, 113, 276, 0]);
      const status = decodeFrame(b, 0, len, len, linkType, out, cfg);
      counts[status]++;
      const bad = inconsistency(out, status, 0, len, linkType);
      expect(bad, b.toString('hex')).toBe('');
    }
    expect(counts[DecodeStatus.TRUNCATED]).toBeGreaterThan(0);
    expect(counts[DecodeStatus.OK]).toBeGreaterThan(0);
  });
});
