/**
 * The demo NIC: its inventory, determinism (same seed → same readings, whatever the read
 * cadence), and the QoS scheduler's rules: nothing above a VF's maximum, the node's
 * capacity never exceeded, minimums honoured under contention, drops for what was cut.
 */
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../collector/attribution/inventory.js';
import {
  createDemoSource,
  DEMO_CAPACITY_BPS,
  DEMO_TIERS,
  type DemoTick,
  demoInventory,
} from '../../collector/nic/demo.js';
import { T0 } from './exposition.js';

const fakeClock = (start: number) => {
  const c = { now: start };
  return { c, clock: () => c.now };
};

describe('demoInventory', () => {
  it('is a valid inventory: L2 pods on VFs, overlay pods, one VLAN/VNI per namespace', () => {
    const inv = demoInventory();
    expect(() => parseInventory(JSON.parse(JSON.stringify(inv)))).not.toThrow();
    expect(inv.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b']);
    expect(inv.endpoints).toHaveLength(2 * (8 + 4));
    const web = inv.endpoints.find((e) => e.pod === 'web-a0');
    expect(web).toMatchObject({
      namespace: 'shop',
      node: 'node-a',
      mode: 'l2',
      vlan: 100,
      vf: { pf: 'ens1f0', index: 0 },
      tier: 'high',
    });
    const svc = inv.endpoints.find((e) => e.pod === 'svc-b0');
    expect(svc).toMatchObject({ mode: 'overlay', vni: 5001, node: 'node-b', interface: 'net1' });
    const macs = new Set(inv.endpoints.map((e) => e.mac));
    expect(macs.size).toBe(inv.endpoints.length);
    const big = demoInventory({ nodes: 1, vfsPerNode: 64, overlayPerNode: 500 });
    expect(big.endpoints).toHaveLength(564);
    expect(() => demoInventory({ vfsPerNode: 65 })).toThrow(RangeError);
  });
});

describe('DemoNic', () => {
  it('reports every VF of each PF (16 by default), bound or not, and a veth + tbf per overlay pod', async () => {
    const { clock } = fakeClock(T0);
    const demo = createDemoSource({ clock });
    const r = await demo.read();
    expect(r.vfs).toHaveLength(2 * 16);
    const vf0 = r.vfs.find((v) => v.node === 'node-a' && v.vf === 0)!;
    expect(vf0).toMatchObject({
      pf: 'ens1f0',
      mac: '02:00:00:00:00:00',
      vlan: 100,
      minTxRate: DEMO_TIERS.high.min,
      maxTxRate: DEMO_TIERS.high.max,
      pciAddress: '0000:3b:00.2',
      linkState: 'auto',
    });
    const free = r.vfs.find((v) => v.node === 'node-a' && v.vf === 12)!;
    expect(free).toMatchObject({ mac: '00:00:00:00:00:00', maxTxRate: 0, linkState: 'disable', txBytes: 0 });
    expect(r.netdevs).toHaveLength(2 * 4);
    expect(r.qdiscs).toHaveLength(2 * 4);
    expect(r.netdevs[0].endpointMac).toMatch(/^0a:58:/);
    expect(r.qdiscs[0]).toMatchObject({
      kind: 'tbf',
      handle: '1:',
      parent: 'root',
      interface: r.netdevs[0].interface,
    });
    expect(
      (await createDemoSource({ clock, node: 'node-b' }).read()).vfs.every((v) => v.node === 'node-b'),
    ).toBe(true);
  });

  it('follows a live inventory: a pod leaving frees its VF, a new one takes it, counters carry on', async () => {
    const { c, clock } = fakeClock(T0);
    const inv = demoInventory();
    const demo = createDemoSource({ clock, inventory: inv });
    c.now += 10_000;
    const before = await demo.read();
    const vf0 = (r: typeof before) => r.vfs.find((v) => v.node === 'node-a' && v.vf === 0)!;
    const old = inv.endpoints.find((e) => e.node === 'node-a' && e.mode === 'l2' && e.vf?.index === 0)!;
    expect(vf0(before).mac).toBe(old.mac);
    // the pod on VF 0 ends now; another pod gets VF 0 five seconds later; an overlay pod leaves
    const endIso = new Date(c.now).toISOString();
    const next = structuredClone(inv);
    const ended = next.endpoints.find((e) => e.pod === old.pod && e.namespace === old.namespace)!;
    ended.to = endIso;
    next.endpoints.push({
      ...ended,
      pod: 'newcomer-0',
      mac: '02:00:00:00:ff:01',
      from: new Date(c.now + 5000).toISOString(),
      to: null,
    });
    const gone = next.endpoints.find((e) => e.node === 'node-a' && e.mode === 'overlay')!;
    gone.to = endIso;
    demo.follow(parseInventory(next));
    c.now += 2000;
    const idle = await demo.read();
    expect(vf0(idle)).toMatchObject({ mac: '00:00:00:00:00:00', linkState: 'disable' });
    expect(idle.netdevs.some((n) => n.endpointMac === gone.mac.toLowerCase())).toBe(false);
    c.now += 10_000;
    const after = await demo.read();
    expect(vf0(after).mac).toBe('02:00:00:00:ff:01');
    // the device's counters never went back: the newcomer's traffic adds to them
    expect(vf0(after).txBytes!).toBeGreaterThan(vf0(idle).txBytes!);
    expect(vf0(idle).txBytes!).toBeGreaterThanOrEqual(vf0(before).txBytes!);
    // VFs of other pods kept counting through the change
    const other = (r: typeof before) => r.vfs.find((v) => v.node === 'node-a' && v.vf === 1)!;
    expect(other(after).txBytes!).toBeGreaterThan(other(before).txBytes!);
  });

  it('is deterministic for a seed, and independent of how often it is read', async () => {
    const a = fakeClock(T0);
    const b = fakeClock(T0);
    const c = fakeClock(T0);
    const da = createDemoSource({ seed: 42, clock: a.clock });
    const db = createDemoSource({ seed: 42, clock: b.clock });
    const dc = createDemoSource({ seed: 43, clock: c.clock });
    for (let i = 0; i < 30; i++) {
      a.c.now += 1000;
      await da.read();
    }
    b.c.now += 30_000; // one read after 30 s
    c.c.now += 30_000;
    const ra = await da.read();
    const rb = await db.read();
    const rc = await dc.read();
    expect(rb).toEqual(ra);
    expect(ra.vfs.find((v) => v.vf === 0)!.txBytes).toBeGreaterThan(0);
    expect(rc.vfs.map((v) => v.txBytes)).not.toEqual(ra.vfs.map((v) => v.txBytes));
  });

  it('ticks in whole seconds: a reading holds the ticks that ended by then', async () => {
    const { c, clock } = fakeClock(T0);
    const demo = createDemoSource({ clock });
    const first = (await demo.read()).vfs[0].txBytes;
    c.now += 999;
    expect((await demo.read()).vfs[0].txBytes).toBe(first);
    c.now += 1;
    expect((await demo.read()).vfs[0].txBytes).toBeGreaterThan(first!);
  });

  function ticks(capacityBps: number, seconds: number, seed = 3): DemoTick[] {
    const { c, clock } = fakeClock(T0);
    const demo = createDemoSource({ seed, clock, capacityBps });
    const out: DemoTick[] = [];
    for (let i = 0; i < seconds; i++) {
      c.now += 1000;
      out.push(demo.lastTickView());
    }
    return out;
  }

  it('enforces each maximum and the node capacity, and drops what it cuts', () => {
    const all = ticks(DEMO_CAPACITY_BPS, 600);
    const eps = 1e-3;
    let noisyDrops = 0;
    for (const t of all) {
      for (const n of t.nodes) expect(n.sentBps).toBeLessThanOrEqual(n.capacityBps * (1 + 1e-9));
      for (const v of t.vfs) {
        if (v.pod === null) {
          expect(v.sentBps).toBe(0);
          continue;
        }
        expect(v.sentBps).toBeLessThanOrEqual(v.maxBps + eps);
        expect(v.droppedBps).toBeGreaterThanOrEqual(-eps);
        expect(v.sentBps + v.droppedBps).toBeCloseTo(v.demandBps, 0);
        if (v.demandBps > v.maxBps) expect(v.droppedBps).toBeGreaterThan(0);
        if (v.pod === 'stream-a7') noisyDrops += v.droppedBps;
      }
      for (const n of t.nodes.filter((x) => !x.contended)) {
        // no contention: every VF gets what it asks, up to its maximum
        for (const v of t.vfs.filter((x) => x.node === n.node && x.pod !== null)) {
          expect(v.sentBps).toBeCloseTo(Math.min(v.demandBps, v.maxBps), 0);
        }
      }
    }
    // the noisy neighbour (seed 3: stream-a7) asks far above its maximum by day
    const demo = createDemoSource({ seed: 3, clock: () => T0 });
    expect(demo.noisyNeighbour).toMatchObject({ node: 'node-a', pod: 'stream-a7', vf: 7 });
    expect(noisyDrops).toBeGreaterThan(0);
  });

  it('under contention, honours every minimum and shares the rest', () => {
    // 10 Gb/s for node-a's 36 Gb/s of maximums: contended most of the time
    const all = ticks(10e9, 300);
    const contended = all.flatMap((t) => t.nodes.filter((n) => n.contended).map((n) => ({ t, n })));
    expect(contended.length).toBeGreaterThan(50);
    for (const { t, n } of contended) {
      expect(n.sentBps).toBeCloseTo(n.capacityBps, -3); // the capacity is used up
      for (const v of t.vfs.filter((x) => x.node === n.node && x.pod !== null)) {
        // a VF asking at least its minimum gets at least its minimum
        const want = Math.min(v.demandBps, v.maxBps);
        expect(v.sentBps).toBeGreaterThanOrEqual(Math.min(want, v.minBps) - 1e-3);
        expect(v.sentBps).toBeLessThanOrEqual(want + 1e-3);
      }
    }
  });

  it('counts QoS drops in packets, only for what the scheduler cut', async () => {
    const { c, clock } = fakeClock(T0);
    const demo = createDemoSource({ seed: 3, clock });
    const before = await demo.read();
    c.now += 60_000;
    const after = await demo.read();
    const noisy = (r: typeof before) => r.vfs.find((v) => v.node === 'node-a' && v.vf === 7)!;
    const sent = noisy(after).txBytes! - noisy(before).txBytes!;
    // capped at its maximum (4 Gb/s) for 60 s
    expect(sent).toBeLessThanOrEqual((DEMO_TIERS.standard.max / 8) * 60 + 1);
    expect(noisy(after).qosDropped! - noisy(before).qosDropped!).toBeGreaterThan(1000);
    expect(noisy(after).rxBroadcast!).toBeGreaterThan(noisy(before).rxBroadcast!);
  });
});
