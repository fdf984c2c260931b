/**
 * Every sample of every encapsulation, cut at every byte: decodeFrame never throws, is
 * TRUNCATED while the cut is inside the headers and OK after, keeps what it decoded
 * consistent with the full decode, and never reads past the captured length.
 */
import { describe, expect, it } from 'vitest';
import { DecodedPacket, DecodeStatus, decodeConfig } from '../../collector/decode/packet.js';
import { COOKED_KINDS, corpus, EXTRA_VXLAN_PORT, KINDS } from './corpus.js';
import { decode, type PacketView, view } from './view.js';

const cfg = decodeConfig([EXTRA_VXLAN_PORT]);

describe('truncation at every byte offset', () => {
  const samples = [...corpus(0x7a11, 5, KINDS), ...corpus(0x7a12, 5, COOKED_KINDS)];

  it(`${samples.length} samples of every kind`, () => {
    const out = new DecodedPacket();
    let cuts = 0;
    for (const s of samples) {
      const full = view(decode(s.frame, { linkType: s.linkType, cfg }));
      expect(full.status, s.kind).toBe('ok');
      for (let cap = 0; cap <= s.frame.length; cap++) {
        cuts++;
        const label = `${s.kind} cut at ${cap}/${s.frame.length} (headers end at ${s.headerEnd})`;
        // the bytes after the cut are garbage: a decoder reading them would disagree
        const cut = Buffer.alloc(s.frame.length + 64, 0xa5);
        s.frame.copy(cut, 0, 0, cap);
        decode(cut, { linkType: s.linkType, cap, wire: s.frame.length, cfg, into: out });
        const got = view(out);
        expect(got, label).toEqual(
          view(decode(s.frame, { linkType: s.linkType, cap, wire: s.frame.length, cfg })),
        );
        expect(out.status, label).toBe(cap < s.headerEnd ? DecodeStatus.TRUNCATED : DecodeStatus.OK);
        if (cap >= s.headerEnd) expect(got, label).toEqual(full);
        else if (out.tunnelDepth === full.tunnelDepth) expectConsistent(got, full, label);
      }
    }
    expect(cuts).toBeGreaterThan(10_000);
  });
});

/** What a truncated decode reports must agree with the full decode of the same frame. */
function expectConsistent(got: PacketView, full: PacketView, label: string) {
  for (const l of got.layers) expect(full.layers, label).toContain(l);
  if (got.vlans) expect(full.vlans?.slice(0, got.vlans.length), label).toEqual(got.vlans);
  for (const [k, v] of Object.entries(got)) {
    if (['status', 'layers', 'vlans', 'tpids', 'vlan', 'outerVlan'].includes(k)) continue;
    // the IPv6 upper-layer protocol is only final once the extension chain is complete
    if (k === 'protocol' && (got.srcPort ?? got.icmpType) === undefined && full.ipVersion === 6) continue;
    if ((k === 'etherType' || k === 'ipVersion') && v === 0) continue;
    expect(v, `${label}: ${k}`).toEqual((full as unknown as Record<string, unknown>)[k]);
  }
}
