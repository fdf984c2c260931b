/**
 * The demo provisioning agent: deterministic for a seed whatever steps time advances in,
 * the cluster it promises (tenants, overlay, gateways, a static endpoint), the 64-VF
 * limit, and the shapes of its churn over simulated hours (no real waiting).
 */
import { describe, expect, it } from 'vitest';
import { DEMO_STATIC, DEMO_VFS_PER_NODE, DemoAgent } from '../../collector/endpoints/demo.js';
import { LiveInventory } from '../../collector/endpoints/live-inventory.js';
import type { EndpointEvent } from '../../collector/endpoints/types.js';
import { DemoNic } from '../../collector/nic/demo.js';
import { macAt, S, T0 } from './records.js';

const H = 3600 * S;

function run(seed: number, steps: number[], opts: ConstructorParameters<typeof DemoAgent>[0] = {}) {
  const agent = new DemoAgent({ seed, startUs: T0, ...opts });
  const events: EndpointEvent[] = [];
  for (const t of steps) events.push(...agent.advanceTo(t));
  return { agent, events };
}

describe('demo agent', () => {
  it('is deterministic for a seed, whatever steps time advances in', () => {
    const coarse = run(7, [T0 + 6 * H]);
    const fine = run(
      7,
      Array.from({ length: 360 }, (_, i) => T0 + (i + 1) * 60 * S),
    );
    expect(fine.events).toEqual(coarse.events);
    expect(fine.agent.current()).toEqual(coarse.agent.current());
    expect(coarse.events.length).toBeGreaterThan(500);
    const other = run(8, [T0 + 6 * H]);
    expect(other.events).not.toEqual(coarse.events);
  });

  it('builds the promised cluster: 3 nodes, ~100 pods in 3 tenants on VLANs 100–102, VNI 5001, gateways, a static endpoint', () => {
    const agent = new DemoAgent({ seed: 1, startUs: T0 });
    const recs = agent.current();
    const stats = agent.stats();
    expect(stats.pods).toBeGreaterThanOrEqual(100);
    expect(stats.pods).toBeLessThanOrEqual(110);
    expect(agent.nodes).toEqual([
      { name: 'node-a', vteps: ['192.168.50.1'] },
      { name: 'node-b', vteps: ['192.168.50.2'] },
      { name: 'node-c', vteps: ['192.168.50.3'] },
    ]);
    expect(new Set(recs.map((r) => r.namespace))).toEqual(new Set(['shop', 'payments', 'search']));
    const l2 = recs.filter((r) => r.mode === 'l2');
    const ov = recs.filter((r) => r.mode === 'overlay');
    expect(new Set(l2.map((r) => (r.mode === 'l2' ? r.vlan : -1)))).toEqual(new Set([100, 101, 102]));
    expect(new Set(ov.map((r) => (r.mode === 'overlay' ? r.vni : -1)))).toEqual(new Set([5001]));
    for (const r of l2) expect(r.mode === 'l2' && r.vf?.pf).toBe('ens1f0');
    expect(new Set(recs.map((r) => r.tier))).toEqual(new Set(['high', 'standard', 'best-effort']));
    // gateways: one pod, an L2 leg (eth0) and an overlay leg (net1)
    const gw = recs.filter((r) => r.pod.startsWith('gateway-'));
    expect(gw.length).toBeGreaterThanOrEqual(2);
    const legs = new Map<string, string[]>();
    for (const r of gw) legs.set(r.pod, [...(legs.get(r.pod) ?? []), `${r.mode}/${r.interface}`]);
    for (const l of legs.values()) expect(l.sort()).toEqual(['l2/eth0', 'overlay/net1']);
    const stat = recs.filter((r) => r.static);
    expect(stat).toHaveLength(1);
    expect(stat[0]).toMatchObject({
      namespace: 'shop',
      pod: 'ledger-0',
      mac: DEMO_STATIC.mac,
      ips: [DEMO_STATIC.ip],
    });
    // the demo SmartNIC simulates the VFs this inventory implies
    const nic = new DemoNic({
      inventory: agent.inventory(),
      clock: () => T0 / 1000 + 5000,
      start: T0 / 1000,
    });
    const bound = nic.readNow().vfs.filter((v) => v.mac !== '00:00:00:00:00:00');
    expect(bound).toHaveLength(l2.length);
  });

  it('enforces 64 VFs per node: pods beyond wait, and start when a VF frees up', () => {
    const agent = new DemoAgent({ seed: 3, startUs: T0, nodes: 1, pods: 100, churnPerHour: 600 });
    const vfsUsed = () => agent.current().filter((r) => r.mode === 'l2').length;
    expect(vfsUsed()).toBe(DEMO_VFS_PER_NODE);
    expect(agent.stats().pendingNoVf).toBeGreaterThan(0);
    for (let i = 1; i <= 120; i++) {
      agent.advanceTo(T0 + i * 60 * S);
      expect(vfsUsed()).toBeLessThanOrEqual(DEMO_VFS_PER_NODE);
      const idx = agent.current().flatMap((r) => (r.mode === 'l2' && r.vf ? [r.vf.index] : []));
      expect(new Set(idx).size).toBe(idx.length); // no VF given twice
    }
    expect(agent.stats().startedAfterWait).toBeGreaterThan(10);
    expect(agent.stats().pendingNoVf).toBeGreaterThan(0);
  });

  it('churns: restarts (IP reuse, other nodes), scaling, static moves — and stays consistent for LiveInventory', async () => {
    const agent = new DemoAgent({ seed: 11, startUs: T0 });
    const logs: string[] = [];
    const live = new LiveInventory({
      retentionSeconds: 2 * 3600,
      now: () => agent.clockUs,
      log: (m) => logs.push(m),
    });
    await live.attach(agent);
    const staticNodes: string[] = [];
    for (let i = 1; i <= 8 * 60; i++) {
      agent.advanceTo(T0 + i * 60 * S);
      const s = agent.current().find((r) => r.static);
      if (s && staticNodes.at(-1) !== s.node) staticNodes.push(s.node);
    }
    const st = agent.stats();
    // ~120 events an hour for 8 hours, in the promised proportions
    const total = st.restarts + st.scaleUps + st.scaleDowns + st.staticMoves;
    expect(total).toBeGreaterThan(800);
    expect(total).toBeLessThan(1150);
    expect(st.restarts / total).toBeGreaterThan(0.5);
    expect(st.scaleUps).toBeGreaterThan(50);
    expect(st.scaleDowns).toBeGreaterThan(50);
    expect(st.staticMoves).toBeGreaterThan(40);
    expect(st.ipReuses).toBeGreaterThan(100);
    expect(st.pods).toBeGreaterThan(70);
    expect(st.pods).toBeLessThan(160);
    expect(new Set(staticNodes).size).toBe(3);
    // the live inventory agrees with the agent, and saw no conflicts (moves are not conflicts)
    expect(live.stats().live).toBe(agent.current().length);
    expect(live.stats().conflicts).toBe(0);
    expect(logs).toEqual([]);
    // the static endpoint's MAC resolves to the node it was on at the time
    const now = agent.clockUs;
    const s = agent.current().find((r) => r.static)!;
    expect(macAt(live.index, 100, DEMO_STATIC.mac, now)).toBe(`shop/ledger-0@${s.node}`);
    // history is bounded by the retention
    expect(live.stats().history).toBeLessThan(400);
    await live.close();
  });
});
