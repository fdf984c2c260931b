import { describe, expect, it } from 'vitest';
import {
  Attribution,
  AttributionCounters,
  attribute,
  MatchedBy,
  Unattributed,
} from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { InventoryError, parseInventory } from '../../collector/attribution/inventory.js';
import { parseIpv4, parseIpv6, parseMac } from '../../collector/decode/addr.js';
import { DecodedPacket, DecodeStatus, Layer } from '../../collector/decode/packet.js';

const T0 = '2026-11-26T00:00:00Z';
const us = (iso: string) => Date.parse(iso) * 1000;

function inventory(endpoints: unknown[], nodes: unknown[] = []) {
  return parseInventory({ version: 1, nodes, endpoints });
}

const l2 = (o: Record<string, unknown>) => ({
  namespace: 'shop',
  node: 'node-a',
  interface: 'eth0',
  network: 'blue',
  mode: 'l2',
  tier: 'high',
  from: T0,
  to: null,
  ...o,
});
const ov = (o: Record<string, unknown>) => ({
  namespace: 'shop',
  node: 'node-b',
  interface: 'net1',
  network: 'overlay-1',
  mode: 'overlay',
  tier: 'best-effort',
  from: T0,
  to: null,
  ...o,
});

interface Pkt {
  vlan?: number;
  vni?: number;
  srcMac: string;
  dstMac: string;
  src?: string;
  dst?: string;
  tunnel?: [string, string];
  status?: number;
}

function packet(o: Pkt): DecodedPacket {
  const p = new DecodedPacket();
  p.layers = Layer.ETHERNET;
  p.status = o.status ?? DecodeStatus.OK;
  p.vlan = o.vlan ?? 0;
  p.vni = o.vni ?? -1;
  p.srcMac = parseMac(o.srcMac);
  p.dstMac = parseMac(o.dstMac);
  if (o.src && o.dst) {
    if (o.src.includes(':')) {
      p.ipVersion = 6;
      p.layers |= Layer.IPV6;
      p.src6.set(parseIpv6(o.src));
      p.dst6.set(parseIpv6(o.dst));
    } else {
      p.ipVersion = 4;
      p.layers |= Layer.IPV4;
      p.src4 = parseIpv4(o.src);
      p.dst4 = parseIpv4(o.dst);
    }
  }
  if (o.tunnel) {
    p.tunnelIpVersion = 4;
    p.tunnelSrc4 = parseIpv4(o.tunnel[0]);
    p.tunnelDst4 = parseIpv4(o.tunnel[1]);
  }
  return p;
}

function run(idx: EndpointIndex, o: Pkt, at = '2026-11-26T01:00:00Z') {
  const a = new Attribution();
  const c = new AttributionCounters();
  attribute(packet(o), us(at), idx, a, c);
  return { a, c };
}

const MAC_A = '02:00:00:00:01:01';
const MAC_B = '02:00:00:00:01:02';
const ROUTER = '02:00:00:00:ff:fe';

describe('endpoint inventory', () => {
  it('accepts the contract example and fills defaults', () => {
    const inv = inventory([
      l2({ pod: 'web-1', vlan: 100, mac: MAC_A, ips: ['10.10.0.11'], vf: { pf: 'ens1f0', index: 3 } }),
      ov({ pod: 'api-1', vni: 5001, mac: '0a:58:ac:10:01:05', ips: ['172.16.1.5'] }),
    ]);
    expect(inv.endpoints).toHaveLength(2);
    expect(inv.endpoints[0].static).toBe(false);
  });

  it('names the path of every bad field', () => {
    const bad = () =>
      parseInventory({
        version: 1,
        endpoints: [
          l2({ pod: 'x', vlan: 5000, mac: 'zz', ips: ['10.0.0.300'] }),
          ov({ pod: 'y', mac: MAC_A }),
        ],
      });
    expect(bad).toThrow(InventoryError);
    try {
      bad();
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('endpoints.0.vlan');
      expect(msg).toContain('endpoints.0.mac');
      expect(msg).toContain('endpoints.0.ips.0');
      expect(msg).toContain('endpoints.1.vni');
    }
  });

  it('rejects an interval that ends before it starts, and an unknown version', () => {
    expect(() => inventory([l2({ pod: 'x', mac: MAC_A, from: T0, to: '2026-11-25T00:00:00Z' })])).toThrow(
      /to: must be after from/,
    );
    expect(() => parseInventory({ version: 2, endpoints: [] })).toThrow(/version/);
  });
});

describe('attribution', () => {
  const idx = EndpointIndex.fromInventory(
    inventory(
      [
        l2({ pod: 'web-1', vlan: 100, mac: MAC_A, ips: ['10.10.0.11'] }),
        l2({ pod: 'web-2', vlan: 100, mac: MAC_B, ips: ['10.10.0.12', '2001:db8::12'] }),
        // the same MAC and IP in another tenant's VLAN is another endpoint
        l2({ namespace: 'bank', pod: 'teller-1', vlan: 200, mac: MAC_A, ips: ['10.10.0.11'] }),
        ov({ pod: 'api-1', vni: 5001, mac: '0a:58:ac:10:01:05', ips: ['172.16.1.5'] }),
        ov({ pod: 'api-2', vni: 5001, mac: '0a:58:ac:10:01:06', ips: ['172.16.1.6'] }),
        ov({ namespace: 'bank', pod: 'ledger', vni: 6001, mac: '0a:58:ac:10:01:05', ips: ['172.16.1.5'] }),
      ],
      [
        { name: 'node-a', vteps: ['192.168.50.1'] },
        { name: 'node-b', vteps: ['192.168.50.2'] },
      ],
    ),
  );

  it('matches by MAC within the VLAN', () => {
    const { a } = run(idx, { vlan: 100, srcMac: MAC_A, dstMac: MAC_B, src: '10.10.0.11', dst: '10.10.0.12' });
    expect(a.src?.pod).toBe('web-1');
    expect(a.dst?.pod).toBe('web-2');
    expect(a.srcBy).toBe(1);
  });

  it('keeps overlapping tenants apart by VLAN and by VNI', () => {
    expect(run(idx, { vlan: 200, srcMac: MAC_A, dstMac: ROUTER }).a.src?.namespace).toBe('bank');
    expect(run(idx, { vlan: 100, srcMac: MAC_A, dstMac: ROUTER }).a.src?.namespace).toBe('shop');
    const o = {
      srcMac: '0a:58:ac:10:01:05',
      dstMac: '0a:58:ac:10:01:06',
      src: '172.16.1.5',
      dst: '172.16.1.6',
    };
    expect(run(idx, { ...o, vni: 5001 }).a.src?.pod).toBe('api-1');
    expect(run(idx, { ...o, vni: 6001 }).a.src?.pod).toBe('ledger');
  });

  it('falls back to the IP when the MAC is a router', () => {
    const { a } = run(idx, {
      vlan: 100,
      srcMac: ROUTER,
      dstMac: MAC_B,
      src: '10.10.0.11',
      dst: '10.10.0.12',
    });
    expect(a.src?.pod).toBe('web-1');
    expect(a.srcBy).toBe(2);
    expect(a.dstBy).toBe(1);
  });

  it('attributes IPv6 by address within the VLAN', () => {
    const { a } = run(idx, {
      vlan: 100,
      srcMac: ROUTER,
      dstMac: ROUTER,
      src: '2001:db8::99',
      dst: '2001:db8::12',
    });
    expect(a.src).toBeNull();
    expect(a.srcReason).toBe(Unattributed.UNKNOWN_IP);
    expect(a.dst?.pod).toBe('web-2');
  });

  it('maps VTEPs to nodes', () => {
    expect(idx.vtepNode4(parseIpv4('192.168.50.1'))).toBe('node-a');
    expect(idx.vtepNode4(parseIpv4('192.168.50.2'))).toBe('node-b');
    expect(idx.vtepNode4(parseIpv4('192.168.50.3'))).toBeNull();
  });

  it('counts unattributed sides by reason', () => {
    const c = new AttributionCounters();
    const a = new Attribution();
    attribute(packet({ vlan: 999, srcMac: MAC_A, dstMac: MAC_B }), us(T0), idx, a, c);
    expect(a.srcReason).toBe(Unattributed.NO_TENANT_CONTEXT);
    attribute(packet({ vlan: 100, srcMac: ROUTER, dstMac: 'ff:ff:ff:ff:ff:ff' }), us(T0), idx, a, c);
    expect(a.srcReason).toBe(Unattributed.UNKNOWN_MAC);
    const bad = packet({ vlan: 100, srcMac: MAC_A, dstMac: MAC_B });
    bad.layers = 0;
    attribute(bad, us(T0), idx, a, c);
    expect(a.srcReason).toBe(Unattributed.MALFORMED);
    expect(c.src[Unattributed.NO_TENANT_CONTEXT]).toBe(1);
    expect(c.src[Unattributed.UNKNOWN_MAC]).toBe(1);
    expect(c.dst[Unattributed.UNKNOWN_MAC]).toBe(1);
    expect(c.src[Unattributed.MALFORMED]).toBe(1);
    expect(c.packets).toBe(3);
    expect(c.attributed).toBe(0);
  });
});

describe('time-versioned attribution', () => {
  const idx = EndpointIndex.fromInventory(
    inventory([
      // IP reuse: web-1 held 10.10.0.11 until 01:00, then batch-7 got it (another MAC)
      l2({ pod: 'web-1', vlan: 100, mac: MAC_A, ips: ['10.10.0.11'], to: '2026-11-26T01:00:00Z' }),
      l2({ pod: 'batch-7', vlan: 100, mac: MAC_B, ips: ['10.10.0.11'], from: '2026-11-26T01:00:00Z' }),
      // a static endpoint: same MAC and IP, moved from node-a to node-c at 02:00
      l2({
        pod: 'db-0',
        node: 'node-a',
        vlan: 101,
        mac: '02:00:00:00:02:01',
        ips: ['10.11.0.5'],
        static: true,
        to: '2026-11-26T02:00:00Z',
      }),
      l2({
        pod: 'db-0',
        node: 'node-c',
        vlan: 101,
        mac: '02:00:00:00:02:01',
        ips: ['10.11.0.5'],
        static: true,
        from: '2026-11-26T02:00:00Z',
      }),
      // a conflicting live claim of the same (vlan, mac): the most recent binding wins
      l2({ pod: 'old', vlan: 102, mac: '02:00:00:00:03:01', from: '2026-11-26T00:00:00Z' }),
      l2({ pod: 'new', vlan: 102, mac: '02:00:00:00:03:01', from: '2026-11-26T00:30:00Z' }),
    ]),
  );
  const viaIp = { vlan: 100, srcMac: ROUTER, dstMac: ROUTER, src: '10.10.0.11', dst: '10.99.0.1' };

  it('gives a reused IP to whoever held it at the packet time', () => {
    expect(run(idx, viaIp, '2026-11-26T00:59:59.999999Z').a.src?.pod).toBe('web-1');
    expect(run(idx, viaIp, '2026-11-26T01:00:00Z').a.src?.pod).toBe('batch-7');
  });

  it('treats [from, to) as half-open and nothing before from', () => {
    expect(run(idx, viaIp, '2026-11-25T23:59:59Z').a.src).toBeNull();
  });

  it('follows a static endpoint to its new node', () => {
    const p = { vlan: 101, srcMac: '02:00:00:00:02:01', dstMac: ROUTER };
    expect(run(idx, p, '2026-11-26T01:59:00Z').a.src?.node).toBe('node-a');
    expect(run(idx, p, '2026-11-26T02:01:00Z').a.src?.node).toBe('node-c');
  });

  it('says how long an answer holds: until the next binding of the same keys starts or ends', () => {
    const before = run(idx, viaIp, '2026-11-26T00:30:00Z').a;
    expect(before.validFrom).toBe(us(T0));
    expect(before.validTo).toBe(us('2026-11-26T01:00:00Z'));
    const after = run(idx, viaIp, '2026-11-26T03:00:00Z').a;
    expect(after.validFrom).toBe(us('2026-11-26T01:00:00Z'));
    expect(after.validTo).toBe(Number.POSITIVE_INFINITY);
    const unknownYet = run(idx, viaIp, '2026-11-25T12:00:00Z').a;
    expect(unknownYet.src).toBeNull();
    expect(unknownYet.validTo).toBe(us(T0));
  });

  it('resolves overlapping claims deterministically to the latest binding', () => {
    const p = { vlan: 102, srcMac: '02:00:00:00:03:01', dstMac: ROUTER };
    expect(run(idx, p, '2026-11-26T00:10:00Z').a.src?.pod).toBe('old');
    expect(run(idx, p, '2026-11-26T00:40:00Z').a.src?.pod).toBe('new');
  });
});

describe('a MAC claimed by two live bindings (a conflict)', () => {
  const SHARED = '02:00:00:00:04:01';
  const idx = EndpointIndex.fromInventory(
    inventory([
      l2({ pod: 'first', vlan: 103, mac: SHARED, ips: ['10.13.0.1'], from: '2026-11-26T00:00:00Z' }),
      l2({
        pod: 'second',
        vlan: 103,
        mac: SHARED,
        ips: ['10.13.0.2', '2001:db8::13:2'],
        from: '2026-11-26T00:30:00Z',
        to: '2026-11-26T02:00:00Z',
      }),
      l2({ pod: 'peer', vlan: 103, mac: MAC_B, ips: ['10.13.0.9'] }),
    ]),
  );
  const from = (src: string, dst = '10.13.0.9') => ({ vlan: 103, srcMac: SHARED, dstMac: MAC_B, src, dst });

  it('the IP tells the claimants apart, and says it decided', () => {
    const a = run(idx, from('10.13.0.1'), '2026-11-26T01:00:00Z').a;
    expect(a.src?.pod).toBe('first');
    expect(a.srcBy).toBe(MatchedBy.IP);
    const b = run(idx, from('10.13.0.2'), '2026-11-26T01:00:00Z').a;
    expect(b.src?.pod).toBe('second');
    expect(b.srcBy).toBe(MatchedBy.IP);
    expect(run(idx, from('2001:db8::13:2', '2001:db8::99'), '2026-11-26T01:00:00Z').a.src?.pod).toBe(
      'second',
    );
    // the other direction too
    const back = run(idx, { vlan: 103, srcMac: MAC_B, dstMac: SHARED, src: '10.13.0.9', dst: '10.13.0.1' });
    expect(back.a.dst?.pod).toBe('first');
  });

  it('an IP that names neither claimant leaves the MAC answer: the newest binding', () => {
    const a = run(idx, from('10.13.0.77'), '2026-11-26T01:00:00Z').a;
    expect(a.src?.pod).toBe('second');
    expect(a.srcBy).toBe(MatchedBy.MAC);
    // the peer's IP, spoofed behind the shared MAC: the frame's MAC still wins
    expect(run(idx, from('10.13.0.9', '10.13.0.1'), '2026-11-26T01:00:00Z').a.src?.pod).toBe('second');
  });

  it('once one claimant has ended the MAC is unambiguous again, and the answer spans say so', () => {
    const a = run(idx, from('10.13.0.2'), '2026-11-26T03:00:00Z').a;
    expect(a.src?.pod).toBe('first');
    expect(a.srcBy).toBe(MatchedBy.MAC);
    const during = run(idx, from('10.13.0.1'), '2026-11-26T01:00:00Z').a;
    // the answer holds only while both claims are live
    expect(during.validFrom).toBe(us('2026-11-26T00:30:00Z'));
    expect(during.validTo).toBe(us('2026-11-26T02:00:00Z'));
  });
});
