/** Ethernet, VLAN tags, Linux cooked headers and the decodeFrame entry checks. */
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../collector/decode/frame.js';
import { DecodedPacket, DecodeStatus, decodeConfig, Layer } from '../../collector/decode/packet.js';
import { ethernet, ipv4, sll, sll2, tcp, udp, type VlanTag } from '../../collector/synth/frames.js';
import { decode, decodeView } from './view.js';

const M1 = '02:00:00:00:01:01';
const M2 = '0a:bb:cc:dd:ee:ff';
const ip = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, payload: tcp({ sport: 1000, dport: 80 }) });
const tagged = (vlans: VlanTag[]) => ethernet({ src: M1, dst: M2, vlans, payload: ip });

describe('Ethernet', () => {
  it('decodes an untagged frame', () => {
    const v = decodeView(tagged([]));
    expect(v).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'TCP'],
      srcMac: M1,
      dstMac: M2,
      vlan: 0,
      outerVlan: 0,
      etherType: 0x0800,
      l2Offset: 0,
      innerLength: 14 + ip.length,
    });
    expect(v.vlans).toBeUndefined();
  });

  it('decodes 1 to 4 tags of every TPID, outermost first; vlan is the innermost VID', () => {
    const tags: VlanTag[] = [
      { vid: 100, tpid: 0x88a8, pcp: 7 },
      { vid: 200, tpid: 0x9100, dei: true },
      { vid: 4095, tpid: 0x8100 },
      { vid: 1, tpid: 0x8100, pcp: 3 },
    ];
    for (let n = 1; n <= 4; n++) {
      const v = decodeView(tagged(tags.slice(0, n)));
      expect(v.status).toBe('ok');
      expect(v.layers).toEqual(['ETHERNET', 'VLAN', 'IPV4', 'TCP']);
      expect(v.vlans).toEqual(tags.slice(0, n).map((t) => t.vid));
      expect(v.tpids).toEqual(tags.slice(0, n).map((t) => t.tpid));
      expect(v.vlan).toBe(tags[n - 1].vid);
      expect(v.outerVlan).toBe(tags[n - 1].vid);
      expect(v.src).toBe('10.0.0.1');
    }
  });

  it('rejects a fifth tag', () => {
    const p = decode(tagged([{ vid: 1 }, { vid: 2 }, { vid: 3 }, { vid: 4 }, { vid: 5 }]));
    expect(p.status).toBe(DecodeStatus.TOO_MANY_VLAN_TAGS);
    expect(p.vlanCount).toBe(4);
    expect(p.layers & Layer.IPV4).toBe(0);
  });

  it('stops at a non-IP EtherType or an 802.3 length field', () => {
    for (const et of [0x0806, 0x88cc, 0x0040]) {
      const v = decodeView(ethernet({ src: M1, dst: M2, etherType: et, payload: Buffer.alloc(46) }));
      expect(v).toMatchObject({ status: 'ok', layers: ['ETHERNET'], etherType: et, ipVersion: 0 });
    }
  });

  it('reports TRUNCATED inside the header or the tags, keeping the tags read', () => {
    const f = tagged([{ vid: 10 }, { vid: 20 }]);
    expect(decode(f, { cap: 13 }).status).toBe(DecodeStatus.TRUNCATED);
    expect(decode(f, { cap: 13 }).layers).toBe(0);
    const p = decode(f, { cap: 20 });
    expect(p.status).toBe(DecodeStatus.TRUNCATED);
    expect(p.layers).toBe(Layer.ETHERNET | Layer.VLAN);
    expect(p.vlanCount).toBe(1);
    expect(p.vlan).toBe(10);
    expect(p.etherType).toBe(0);
  });

  it('honours offset and capLength inside a larger buffer and never reads past them', () => {
    const f = tagged([{ vid: 7 }]);
    const buf = Buffer.alloc(f.length + 40, 0xff);
    f.copy(buf, 17);
    const out = new DecodedPacket();
    const cfg = decodeConfig();
    expect(decodeFrame(buf, 17, f.length, f.length, 1, out, cfg)).toBe(DecodeStatus.OK);
    expect(out.l2Offset).toBe(17);
    expect(out.srcPort).toBe(1000);
    // capture cut inside TCP: the 0xff bytes after it must not be read
    expect(decodeFrame(buf, 17, f.length - 5, f.length, 1, out, cfg)).toBe(DecodeStatus.TRUNCATED);
    expect(out.layers & Layer.TCP).toBe(0);
    // a capLength running past the buffer is bounded by the buffer
    expect(decodeFrame(buf.subarray(0, 17 + 30), 17, 1000, 1000, 1, out, cfg)).toBe(DecodeStatus.TRUNCATED);
  });

  it('rejects unknown link types', () => {
    const p = decode(tagged([]), { linkType: 105 });
    expect(p.status).toBe(DecodeStatus.UNSUPPORTED_LINK_TYPE);
    expect(p.layers).toBe(0);
  });
});

describe('Linux cooked captures', () => {
  const payload = ipv4({
    src: '10.1.1.1',
    dst: '10.2.2.2',
    proto: 17,
    payload: udp({ sport: 53000, dport: 53 }),
  });

  it('SLL: sender MAC, re-inserted VLAN tag, Ethernet-equivalent innerLength', () => {
    const f = sll({ address: M1, packetType: 4, vlans: [{ vid: 42 }], payload });
    const v = decodeView(f, { linkType: 113, wire: f.length });
    expect(v).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'VLAN', 'IPV4', 'UDP'],
      srcMac: M1,
      dstMac: '00:00:00:00:00:00',
      vlan: 42,
      outerVlan: 42,
      dstPort: 53,
      innerLength: f.length - 2,
    });
  });

  it('SLL2: same fields from the 20-byte header', () => {
    const f = sll2({ address: M2, ifindex: 9, payload });
    const v = decodeView(f, { linkType: 276 });
    expect(v).toMatchObject({
      status: 'ok',
      layers: ['ETHERNET', 'IPV4', 'UDP'],
      srcMac: M2,
      innerLength: f.length - 6,
    });
  });

  it('no MAC for a non-Ethernet device, but IP still decodes', () => {
    const f = sll({ address: M1, hatype: 65534, payload });
    const v = decodeView(f, { linkType: 113 });
    expect(v.layers).toEqual(['IPV4', 'UDP']);
    expect(v.srcMac).toBeUndefined();
  });

  it('truncated cooked headers', () => {
    const f = sll2({ address: M2, payload });
    for (let cap = 0; cap < 20; cap++)
      expect(decode(f, { linkType: 276, cap }).status).toBe(DecodeStatus.TRUNCATED);
    const g = sll({ address: M2, payload });
    for (let cap = 0; cap < 16; cap++)
      expect(decode(g, { linkType: 113, cap }).status).toBe(DecodeStatus.TRUNCATED);
  });
});
