/**
 * The demo mirror (what `podwire all` feeds the packet path on the demo): every live
 * endpoint sends within each second, only to peers of its own VLAN or VNI, overlay traffic
 * crosses nodes inside VXLAN between the two nodes' VTEPs, and the same seed gives the same
 * frames. Checked by decoding the frames with the real decoders and attributing them with
 * the real index.
 */
import { describe, expect, it } from 'vitest';
import {
  Attribution,
  AttributionCounters,
  attribute,
  packetTimeUs,
} from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import type { CapturedPacket } from '../../collector/capture/types.js';
import { ipv4ToString } from '../../collector/decode/addr.js';
import { decodeFrame } from '../../collector/decode/frame.js';
import { DecodedPacket, DecodeStatus, decodeConfig } from '../../collector/decode/packet.js';
import { DemoAgent } from '../../collector/endpoints/demo.js';
import { DemoMirror } from '../../collector/synth/mirror.js';

const T0 = Date.parse('2026-11-26T12:00:00Z');

function setup(seed = 3) {
  const agent = new DemoAgent({ seed: 11, nodes: 3, pods: 40, churnPerHour: 0, startUs: T0 * 1000 - 60e6 });
  const inv = agent.inventory();
  const vteps = new Map(inv.nodes.map((n) => [n.name, n.vteps[0]!]));
  const mirror = new DemoMirror({
    endpoints: () => inv.endpoints,
    vteps: () => vteps,
    packetsPerSecond: 500,
    seed,
  });
  return { inv, vteps, mirror, index: EndpointIndex.fromInventory(inv) };
}

interface Seen {
  tsUs: number;
  bytes: string;
  vlan: number;
  vni: number;
  src: string | null;
  dst: string | null;
  srcNode: string | null;
  tunnelSrc: string;
  tunnelDst: string;
}

function run(mirror: DemoMirror, index: EndpointIndex, fromMs: number, toMs: number): Seen[] {
  const p = new DecodedPacket();
  const a = new Attribution();
  const counters = new AttributionCounters();
  const cfg = decodeConfig([]);
  const out: Seen[] = [];
  mirror.emit(fromMs, toMs, (c: CapturedPacket) => {
    expect(decodeFrame(c.data, c.offset, c.capLength, c.wireLength, c.linkType, p, cfg)).toBe(
      DecodeStatus.OK,
    );
    const tUs = packetTimeUs(c.tsSec, c.tsNsec);
    attribute(p, tUs, index, a, counters);
    out.push({
      tsUs: tUs,
      bytes: Buffer.from(c.data.subarray(c.offset, c.offset + c.capLength)).toString('hex'),
      vlan: p.vlan,
      vni: p.vni,
      src: a.src ? `${a.src.namespace}/${a.src.pod}` : null,
      dst: a.dst ? `${a.dst.namespace}/${a.dst.pod}` : null,
      srcNode: a.src?.node ?? null,
      tunnelSrc: p.tunnelIpVersion === 4 ? ipv4ToString(p.tunnelSrc4) : '',
      tunnelDst: p.tunnelIpVersion === 4 ? ipv4ToString(p.tunnelDst4) : '',
    });
  });
  return out;
}

describe('DemoMirror', () => {
  it('sends from every live endpoint within the second, to peers of its own VLAN or VNI', () => {
    const { inv, vteps, mirror, index } = setup();
    const seen = run(mirror, index, T0, T0 + 1000);
    expect(seen.length).toBeGreaterThanOrEqual(500);
    // in time order, inside the interval
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.tsUs).toBeGreaterThanOrEqual(seen[i - 1]!.tsUs);
    expect(seen[0]!.tsUs).toBeGreaterThanOrEqual(T0 * 1000);
    expect(seen.at(-1)!.tsUs).toBeLessThan((T0 + 1000) * 1000);
    // every frame attributes at both ends, within one tenant context
    for (const s of seen) {
      expect(s.src, 'source attributed').not.toBeNull();
      expect(s.dst, 'destination attributed').not.toBeNull();
      if (s.vni >= 0) {
        // overlay: across nodes, between the VTEPs of the two nodes
        expect(s.tunnelSrc).toBe(vteps.get(s.srcNode!));
        expect(s.tunnelDst).not.toBe(s.tunnelSrc);
      } else {
        const src = inv.endpoints.find((e) => `${e.namespace}/${e.pod}` === s.src && e.mode === 'l2');
        expect(src, `${s.src} has an L2 leg`).toBeDefined();
        expect(s.vlan).toBe(src!.mode === 'l2' ? src!.vlan : -1);
      }
    }
    // every endpoint that has a peer sent something
    const senders = new Set(seen.map((s) => s.src));
    const l2 = inv.endpoints.filter((e) => e.mode === 'l2');
    for (const e of l2) {
      const hasPeer = l2.some((o) => o !== e && o.mode === 'l2' && e.mode === 'l2' && o.vlan === e.vlan);
      if (hasPeer) expect(senders.has(`${e.namespace}/${e.pod}`), `${e.pod} sent`).toBe(true);
    }
    expect(seen.some((s) => s.vni >= 0)).toBe(true);
  });

  it('gives the same frames for the same seed, other frames for another', () => {
    const a = setup(5);
    const b = setup(5);
    const c = setup(6);
    const fa = run(a.mirror, a.index, T0, T0 + 500).map((s) => s.bytes);
    expect(run(b.mirror, b.index, T0, T0 + 500).map((s) => s.bytes)).toEqual(fa);
    expect(run(c.mirror, c.index, T0, T0 + 500).map((s) => s.bytes)).not.toEqual(fa);
  });

  it('emits nothing for an empty or backwards interval', () => {
    const { mirror, index } = setup();
    expect(run(mirror, index, T0, T0)).toEqual([]);
    expect(run(mirror, index, T0, T0 - 10)).toEqual([]);
  });
});
