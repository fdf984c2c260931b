import { describe, expect, it } from 'vitest';
import { Attribution } from '../../collector/attribution/attribute.js';
import type { Endpoint } from '../../collector/attribution/endpoint-index.js';
import { parseIpv4, parseIpv6, parseMac } from '../../collector/decode/addr.js';
import { DecodedPacket, IpProto, Layer } from '../../collector/decode/packet.js';
import { type FlowRecord, FlowTable } from '../../collector/flows/flow-table.js';

const ep = (id: number, pod: string, mac: string): Endpoint => ({
  id,
  namespace: 'ns',
  pod,
  node: 'n',
  interface: 'eth0',
  network: 'blue',
  tier: 'high',
  mode: 'l2',
  vlan: 100,
  vni: -1,
  mac,
  ips: [],
  static: false,
  vf: undefined,
  scope: 100,
  macNum: parseMac(mac),
  fromUs: 0,
  toUs: Number.POSITIVE_INFINITY,
});
const endpoints = [ep(0, 'a', '02:00:00:00:00:0a'), ep(1, 'b', '02:00:00:00:00:0b')];

function pkt(o: { sport?: number; dport?: number; len?: number; flags?: number; v6?: boolean; src?: string }) {
  const p = new DecodedPacket();
  p.layers = Layer.ETHERNET | Layer.TCP;
  p.vlan = 100;
  p.srcMac = endpoints[0].macNum;
  p.dstMac = endpoints[1].macNum;
  if (o.v6) {
    p.ipVersion = 6;
    p.src6.set(parseIpv6(o.src ?? '2001:db8::a'));
    p.dst6.set(parseIpv6('2001:db8::b'));
  } else {
    p.ipVersion = 4;
    p.src4 = parseIpv4(o.src ?? '10.0.0.10');
    p.dst4 = parseIpv4('10.0.0.11');
  }
  p.protocol = IpProto.TCP;
  p.srcPort = o.sport ?? 40000;
  p.dstPort = o.dport ?? 443;
  p.tcpFlags = o.flags ?? 0x10;
  p.innerLength = o.len ?? 100;
  return p;
}

const attributed = () => {
  const a = new Attribution();
  a.src = endpoints[0];
  a.dst = endpoints[1];
  return a;
};

function table(opts: { window?: number; maxFlows?: number; grace?: number } = {}) {
  const out: FlowRecord[] = [];
  const t = new FlowTable({
    windowSeconds: opts.window ?? 10,
    graceSeconds: opts.grace ?? 1,
    maxFlows: opts.maxFlows ?? 1000,
    endpoints,
    onFlows: (f) => out.push(...f),
  });
  return { t, out };
}

const T = 1_795_000_000; // a window boundary (divisible by 10)

describe('flow table', () => {
  it('sums packets and bytes of one flow and ORs TCP flags', () => {
    const { t, out } = table();
    const a = attributed();
    t.add(pkt({ flags: 0x02 }), a, T, T * 1e6, -1);
    t.add(pkt({ flags: 0x10, len: 1500 }), a, T + 1, (T + 1) * 1e6, -1);
    t.add(pkt({ flags: 0x01 }), a, T + 2, (T + 2) * 1e6, -1);
    t.flush();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      packets: 3,
      bytes: 1700,
      samples: 3,
      tcpFlags: 0x13,
      srcIp: '10.0.0.10',
      dstIp: '10.0.0.11',
      srcPort: 40000,
      dstPort: 443,
      srcMac: '02:00:00:00:00:0a',
      windowStart: T,
      srcBy: 'mac',
    });
    expect(out[0].src?.pod).toBe('a');
    expect(out[0].dst?.pod).toBe('b');
  });

  it('splits flows by port, address family and endpoint', () => {
    const { t, out } = table();
    const a = attributed();
    t.add(pkt({}), a, T, T * 1e6, -1);
    t.add(pkt({ sport: 40001 }), a, T, T * 1e6, -1);
    t.add(pkt({ v6: true }), a, T, T * 1e6, -1);
    t.add(pkt({ v6: true, src: '2001:db8::c' }), a, T, T * 1e6, -1);
    const other = new Attribution();
    t.add(pkt({}), other, T, T * 1e6, -1);
    t.flush();
    expect(out).toHaveLength(5);
    expect(out.filter((f) => f.ipVersion === 6).map((f) => f.srcIp).sort()).toEqual(['2001:db8::a', '2001:db8::c']);
    expect(out.filter((f) => f.src === null)).toHaveLength(1);
  });

  it('scales by the sampling rate', () => {
    const { t, out } = table();
    t.add(pkt({ len: 200 }), attributed(), T, T * 1e6, 7, 512);
    t.add(pkt({ len: 100 }), attributed(), T, T * 1e6, 7, 512);
    t.flush();
    expect(out[0]).toMatchObject({ packets: 1024, bytes: 300 * 512, samples: 2, samplingRate: 512, observation: 7 });
  });

  it('emits a window once a packet past its end plus grace arrives', () => {
    const { t, out } = table({ window: 10, grace: 1 });
    const a = attributed();
    t.add(pkt({}), a, T + 3, (T + 3) * 1e6, -1);
    t.add(pkt({}), a, T + 10, (T + 10) * 1e6, -1); // next window, but within grace
    expect(out).toHaveLength(0);
    t.add(pkt({}), a, T + 11, (T + 11) * 1e6, -1);
    expect(out).toHaveLength(1);
    expect(out[0].windowStart).toBe(T);
    t.tick(T + 25);
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ windowStart: T + 10, packets: 2 });
  });

  it('counts late packets and still emits them', () => {
    const { t, out } = table({ window: 10, grace: 0 });
    const a = attributed();
    t.add(pkt({}), a, T + 25, (T + 25) * 1e6, -1);
    t.add(pkt({}), a, T + 1, (T + 1) * 1e6, -1);
    expect(t.stats.latePackets).toBe(1);
    t.flush();
    expect(out.map((f) => f.windowStart).sort()).toEqual([T, T + 20]);
  });

  it('bounds memory: a full table emits early and counts the overflow, losing no packet', () => {
    const { t, out } = table({ maxFlows: 4 });
    const a = attributed();
    for (let i = 0; i < 10; i++) t.add(pkt({ sport: 1000 + i }), a, T, T * 1e6, -1);
    t.flush();
    expect(t.stats.overflows).toBe(2);
    expect(out.reduce((s, f) => s + f.packets, 0)).toBe(10);
  });

  it('grows past its initial capacity and keeps every flow distinct', () => {
    const { t, out } = table({ maxFlows: 100_000 });
    const a = attributed();
    for (let i = 0; i < 40_000; i++) t.add(pkt({ sport: i % 65536, dport: 1 + (i >> 16) }), a, T, T * 1e6, -1);
    for (let i = 0; i < 40_000; i++) t.add(pkt({ sport: i % 65536, dport: 1 + (i >> 16) }), a, T, T * 1e6, -1);
    t.flush();
    expect(out).toHaveLength(40_000);
    expect(out.every((f) => f.packets === 2)).toBe(true);
  });
});
