import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AttributionCounters, Unattributed } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { parseInventory } from '../../collector/attribution/inventory.js';
import { parseIpv4, parseIpv6, parseMac } from '../../collector/decode/addr.js';
import { DecodedPacket, IpProto, Layer } from '../../collector/decode/packet.js';
import { DEFAULT_MAX_FLOWS, type FlowRecord, FlowTable } from '../../collector/flows/flow-table.js';
import { registerFlowMetrics } from '../../collector/flows/metrics.js';

const T = 1_795_000_000; // a window boundary (divisible by 10)
const iso = (sec: number) => new Date(sec * 1000).toISOString();
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const MAC_C = '02:00:00:00:00:0c';
const ROUTER = '02:00:00:00:00:fe';

function index(extra: Record<string, unknown>[] = []) {
  const ep = (pod: string, mac: string, ips: string[], from = iso(T - 3600), to: string | null = null) => ({
    namespace: 'ns',
    pod,
    node: 'n',
    mode: 'l2',
    vlan: 100,
    mac,
    ips,
    tier: 'high',
    from,
    to,
  });
  return EndpointIndex.fromInventory(
    parseInventory({
      version: 1,
      endpoints: [
        ep('a', MAC_A, ['10.0.0.10', '2001:db8::a']),
        ep('b', MAC_B, ['10.0.0.11', '2001:db8::b']),
        // 10.0.0.12 belongs to c until T+5, then to d
        ep('c', MAC_C, ['10.0.0.12'], iso(T - 3600), iso(T + 5)),
        ep('d', '02:00:00:00:00:0d', ['10.0.0.12'], iso(T + 5)),
        ...extra,
      ],
    }),
  );
}

interface P {
  sport?: number;
  dport?: number;
  len?: number;
  flags?: number;
  v6?: boolean;
  src?: string;
  srcMac?: string;
}

function pkt(o: P = {}) {
  const p = new DecodedPacket();
  p.layers = Layer.ETHERNET | Layer.TCP;
  p.vlan = 100;
  p.srcMac = parseMac(o.srcMac ?? MAC_A);
  p.dstMac = parseMac(MAC_B);
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

function table(opts: { window?: number; maxFlows?: number; grace?: number; idx?: EndpointIndex } = {}) {
  const out: FlowRecord[] = [];
  const counters = new AttributionCounters();
  const idx = opts.idx ?? index();
  const t = new FlowTable({
    index: idx,
    counters,
    windowSeconds: opts.window ?? 10,
    graceSeconds: opts.grace ?? 1,
    maxFlows: opts.maxFlows ?? 1000,
    onFlows: (batch) => out.push(...batch.records()),
  });
  const add = (p: DecodedPacket, sec: number, obs = -1, rate = 1) =>
    t.add(p, Math.floor(sec), sec * 1e6, obs, rate);
  return { t, out, add, counters, idx };
}

describe('flow table', () => {
  it('sums packets and bytes of one flow, ORs TCP flags, and attributes it', () => {
    const { t, out, add, counters } = table();
    add(pkt({ flags: 0x02 }), T);
    add(pkt({ flags: 0x10, len: 1500 }), T + 1);
    add(pkt({ flags: 0x01 }), T + 2.5);
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
      srcMac: MAC_A,
      dstMac: MAC_B,
      vlan: 100,
      vni: -1,
      protocol: 6,
      ipVersion: 4,
      windowStart: T,
      srcBy: 'mac',
      dstBy: 'mac',
      firstSeenUs: T * 1e6,
      lastSeenUs: (T + 2.5) * 1e6,
    });
    expect(out[0].src?.pod).toBe('a');
    expect(out[0].dst?.pod).toBe('b');
    // every packet is counted, though the flow was attributed once
    expect(counters.packets).toBe(3);
    expect(counters.attributed).toBe(3);
    expect(t.stats.attributions).toBe(1);
  });

  it('splits flows by port, address family and address', () => {
    const { t, out, add } = table();
    add(pkt(), T);
    add(pkt({ sport: 40001 }), T);
    add(pkt({ v6: true }), T);
    add(pkt({ v6: true, src: '2001:db8::c' }), T);
    add(pkt({ srcMac: ROUTER }), T);
    t.flush();
    expect(out).toHaveLength(5);
    expect(
      out
        .filter((f) => f.ipVersion === 6)
        .map((f) => f.srcIp)
        .sort(),
    ).toEqual(['2001:db8::a', '2001:db8::c']);
    const routed = out.find((f) => f.srcMac === ROUTER);
    expect(routed?.src?.pod).toBe('a');
    expect(routed?.srcBy).toBe('ip');
    // MAC first: an address the pod does not own still comes from its MAC
    expect(out.find((f) => f.srcIp === '2001:db8::c')).toMatchObject({ srcBy: 'mac', src: { pod: 'a' } });
  });

  it('scales by the sampling rate and keys by observation point', () => {
    const { t, out, add } = table();
    add(pkt({ len: 200 }), T, 7, 512);
    add(pkt({ len: 100 }), T, 7, 512);
    add(pkt({ len: 100 }), T, 8, 512);
    t.flush();
    expect(out).toHaveLength(2);
    expect(out.find((f) => f.observation === 7)).toMatchObject({
      packets: 1024,
      bytes: 300 * 512,
      samples: 2,
      samplingRate: 512,
    });
  });

  it('emits a window once a packet past its end plus grace arrives', () => {
    const { t, out, add } = table({ window: 10, grace: 1 });
    add(pkt(), T + 3);
    add(pkt(), T + 10); // next window, but within grace
    expect(out).toHaveLength(0);
    add(pkt(), T + 11);
    expect(out).toHaveLength(1);
    expect(out[0].windowStart).toBe(T);
    t.tick(T + 25);
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ windowStart: T + 10, packets: 2 });
  });

  it('counts late packets and still emits them', () => {
    const { t, out, add } = table({ window: 10, grace: 0 });
    add(pkt(), T + 25);
    add(pkt(), T + 1);
    expect(t.stats.latePackets).toBe(1);
    t.flush();
    expect(out.map((f) => f.windowStart).sort()).toEqual([T, T + 20]);
  });

  it('counts a late packet once, also when it finds the table full', () => {
    const { t, add } = table({ window: 10, grace: 0, maxFlows: 2 });
    add(pkt({ sport: 1 }), T + 25);
    add(pkt({ sport: 2 }), T + 26);
    add(pkt({ sport: 3 }), T + 1);
    expect(t.stats.overflows).toBe(1);
    expect(t.stats.latePackets).toBe(1);
  });

  it('bounds memory: a full table emits early and counts the overflow, losing no packet', () => {
    const { t, out, add } = table({ maxFlows: 4 });
    for (let i = 0; i < 10; i++) add(pkt({ sport: 1000 + i }), T);
    t.flush();
    expect(t.stats.overflows).toBe(2);
    expect(out.reduce((s, f) => s + f.packets, 0)).toBe(10);
  });

  it('grows past its initial size and keeps every flow distinct', () => {
    const { t, out, add } = table({ maxFlows: 100_000 });
    for (let r = 0; r < 2; r++)
      for (let i = 0; i < 40_000; i++) add(pkt({ sport: i % 65536, dport: 1 + (i >> 16) }), T);
    t.flush();
    expect(out).toHaveLength(40_000);
    expect(out.every((f) => f.packets === 2)).toBe(true);
  });

  it('re-attributes when the cached answer expires: an IP reused mid-window splits the flow', () => {
    const { t, out, add } = table();
    // a routed flow to 10.0.0.12: only the IP says which pod, and it changes owner at T+5
    const toReused = () => {
      const p = pkt({ srcMac: ROUTER });
      p.dstMac = parseMac(ROUTER);
      p.dst4 = parseIpv4('10.0.0.12');
      return p;
    };
    add(toReused(), T + 1);
    add(toReused(), T + 4.9);
    add(toReused(), T + 5);
    add(toReused(), T + 6);
    t.flush();
    expect(t.stats.splits).toBe(1);
    const byPod = Object.fromEntries(out.map((f) => [f.dst?.pod, f.packets]));
    expect(byPod).toEqual({ c: 2, d: 2 });
    expect(out.every((f) => f.windowStart === T)).toBe(true);
  });

  it('re-attributes open flows when the inventory changes', () => {
    const { t, out, add, idx } = table();
    const stranger = () => pkt({ srcMac: '02:00:00:00:00:99', src: '10.0.0.99' });
    add(stranger(), T);
    idx.add(
      parseInventory({
        version: 1,
        endpoints: [
          {
            namespace: 'ns',
            pod: 'late',
            node: 'n',
            mode: 'l2',
            vlan: 100,
            mac: '02:00:00:00:00:99',
            ips: [],
            from: iso(T - 60),
          },
        ],
      }).endpoints[0],
    );
    add(stranger(), T + 1);
    t.flush();
    expect(out.map((f) => f.src?.pod ?? null).sort()).toEqual(['late', null]);
  });

  it('counts unattributed packets by reason on every packet, cached or not', () => {
    const { t, add, counters } = table();
    const p = pkt({ srcMac: '02:00:00:00:00:77', src: '10.0.0.77' });
    for (let i = 0; i < 5; i++) add(p, T + i);
    t.flush();
    expect(counters.src[Unattributed.UNKNOWN_IP]).toBe(5);
    expect(counters.dst[Unattributed.NONE]).toBe(5);
    expect(counters.attributed).toBe(5);
  });

  it('a MAC two live pods claim: each flow goes to the pod its IP names, also once one claim ends', () => {
    const shared = (pod: string, ips: string[], from: number, to: number | null = null) => ({
      namespace: 'ns',
      pod,
      node: 'n',
      mode: 'l2',
      vlan: 100,
      mac: '02:00:00:00:00:55',
      ips,
      from: iso(from),
      to: to === null ? null : iso(to),
    });
    const idx = index([shared('x', ['10.0.0.55'], T - 60), shared('y', ['10.0.0.56'], T - 30, T + 5)]);
    const { t, out, add } = table({ idx });
    for (const sec of [T + 1, T + 2, T + 6]) {
      add(pkt({ srcMac: '02:00:00:00:00:55', src: '10.0.0.55' }), sec);
      add(pkt({ srcMac: '02:00:00:00:00:55', src: '10.0.0.56', sport: 40001 }), sec);
    }
    t.flush();
    const got = out.map((f) => `${f.srcIp} ${f.src?.pod} ${f.srcBy} ${f.packets}`).sort();
    // after T+5 only x claims the MAC: the MAC alone answers (x's flow goes on, now by MAC),
    // and traffic from y's old IP is x's (a split: its pod changed)
    expect(got).toEqual(['10.0.0.55 x mac 3', '10.0.0.56 x mac 1', '10.0.0.56 y ip 2']);
  });

  it('holds 128 MiB of table at the default --max-flows when full (the figure the README gives)', () => {
    const out: number[] = [];
    const t = new FlowTable({
      index: index(),
      counters: new AttributionCounters(),
      onFlows: (b) => out.push(b.count),
    });
    expect(t.maxFlows).toBe(DEFAULT_MAX_FLOWS);
    for (let i = 0; i < DEFAULT_MAX_FLOWS; i++)
      t.add(pkt({ sport: i & 0xffff, dport: 1 + (i >> 16) }), T, T * 1e6, -1);
    expect(t.stats.open).toBe(DEFAULT_MAX_FLOWS);
    expect(t.tableBytes).toBe(64 * 2 ** 20);
    // one more: full, everything goes early; the spare table exists from the first emit on
    t.add(pkt({ sport: 1, dport: 9 }), T, T * 1e6, -1);
    expect(out).toEqual([DEFAULT_MAX_FLOWS]);
    expect(t.tableBytes).toBe(128 * 2 ** 20);
  });

  it('rejects a window longer than it can hold', () => {
    expect(() => table({ window: 3600 })).toThrow(/flow window/);
  });
});

describe('flow table clock: timestamps far from the input (corrupt records, jumps)', () => {
  const Y2100 = Date.parse('2100-01-01T00:00:00Z') / 1000;
  const emittedBefore = (out: FlowRecord[]) => out.map((f) => f.windowStart);

  it('one record stamped in 2100 holds no window open, makes no packet late, and keeps its own time', () => {
    const { t, out, add } = table({ window: 10 });
    for (let s = 0; s < 100; s++) {
      add(pkt(), T + s);
      if (s === 5) add(pkt({ sport: 7 }), Y2100 + 0.5);
    }
    // windows closed as the real traffic went on, and the odd record's flow did not wait
    // for 2100 either: it went out with the first window that closed after it
    expect(new Set(emittedBefore(out))).toEqual(
      new Set([T, T + 10, T + 20, T + 30, T + 40, T + 50, T + 60, T + 70, T + 80, Y2100]),
    );
    expect(t.stats.latePackets).toBe(0);
    t.flush();
    expect(t.stats.timeOutliers).toBe(1);
    const odd = out.filter((f) => f.srcPort === 7);
    expect(odd.map((f) => [f.windowStart, f.packets])).toEqual([[Y2100, 1]]);
    expect(out.reduce((n, f) => n + f.packets, 0)).toBe(101);
  });

  it('a capture that starts with a corrupt record still closes its windows', () => {
    const { t, out, add } = table({ window: 10 });
    add(pkt({ sport: 7 }), Y2100);
    for (let s = 0; s < 50; s++) add(pkt(), T + s);
    expect(emittedBefore(out)).toContain(T + 30);
    expect(t.stats.latePackets).toBe(0);
    t.flush();
    expect(t.stats.timeOutliers).toBe(1);
    expect(out.find((f) => f.srcPort === 7)?.windowStart).toBe(Y2100);
  });

  it('a time no window holds (past 2106-02-07, as the store) is counted and attributed, in no flow', () => {
    const { t, out, add, counters } = table({ window: 10 });
    add(pkt(), T + 1);
    add(pkt(), T + 2);
    add(pkt({ sport: 7 }), 2 ** 32 + 100);
    add(pkt(), T + 3);
    t.flush();
    expect(t.stats.timeOutOfRange).toBe(1);
    expect(t.stats.timeOutliers).toBe(0);
    expect(out.find((f) => f.srcPort === 7)).toBeUndefined();
    expect(out.map((f) => [f.windowStart, f.packets])).toEqual([[T, 3]]);
    expect(counters.packets).toBe(4);
  });

  it('follows an input that really moved on: a capture resumed a day later, sparse traffic', () => {
    const { t, out, add } = table({ window: 10 });
    for (let s = 0; s < 20; s++) add(pkt(), T + s);
    for (let s = 0; s < 30; s++) add(pkt(), T + 86_400 + s);
    expect(emittedBefore(out)).toContain(T + 86_400 + 10);
    // one packet every two hours
    for (let i = 1; i <= 5; i++) add(pkt(), T + 86_400 + i * 7200);
    t.flush();
    expect(t.stats.timeOutliers).toBe(0);
    expect(t.stats.latePackets).toBe(0);
    const starts = out.map((f) => f.windowStart);
    for (let i = 1; i <= 5; i++) expect(starts).toContain(T + 86_400 + i * 7200);
    expect(out.reduce((n, f) => n + f.packets, 0)).toBe(55);
  });

  it('follows an input that went back in time for good (captures concatenated newest first)', () => {
    const { t, out, add } = table({ window: 10 });
    for (let s = 0; s < 20; s++) add(pkt(), T + 86_400 + s);
    for (let s = 0; s < 50; s++) add(pkt(), T + s);
    // the earlier capture's windows close as it goes on, not only at the end
    expect(emittedBefore(out)).toContain(T + 30);
    t.flush();
    expect(t.stats.timeOutliers).toBe(0);
    expect(t.stats.clockJumps).toBe(1);
    expect(out.reduce((n, f) => n + f.packets, 0)).toBe(70);
  });

  it('its counts are metrics: podwire_flow_* summed over the flow tables', async () => {
    const a = table({ window: 10 });
    const b = table({ window: 10, grace: 0 });
    for (const s of [0, 1, 2]) a.add(pkt(), T + s);
    a.add(pkt({ sport: 7 }), Y2100);
    a.add(pkt(), T + 3);
    a.add(pkt({ sport: 8 }), 2 ** 32);
    b.add(pkt(), T + 25);
    b.add(pkt(), T + 1);
    const reg = new Registry();
    registerFlowMetrics(reg, () => [a.t.stats, b.t.stats]);
    const text = await reg.metrics();
    expect(text).toMatch(/^podwire_flow_time_outliers_total 1$/m);
    expect(text).toMatch(/^podwire_flow_time_out_of_range_total 1$/m);
    expect(text).toMatch(/^podwire_flow_late_packets_total 1$/m);
    expect(text).toMatch(/^podwire_flow_table_overflows_total 0$/m);
    expect(text).toMatch(/^podwire_flow_clock_jumps_total 0$/m);
  });
});
