/**
 * LiveInventory: bind/unbind events folded into the time-versioned index — lookups at a
 * packet's own time across IP reuse, restarts on another node, static moves, conflicts and
 * history expiry — and its metrics.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type EndpointIndex,
  EXPIRED_ENDPOINT,
  vlanScope,
} from '../../collector/attribution/endpoint-index.js';
import { parseIpv4, parseIpv6 } from '../../collector/decode/addr.js';
import { LiveInventory } from '../../collector/endpoints/live-inventory.js';
import { bind, ipAt, l2, macAt, overlay, S, T0, unbind, vniIpAt } from './records.js';

function rig(retentionSeconds = 3600) {
  const logs: string[] = [];
  let now = T0;
  const live = new LiveInventory({ retentionSeconds, log: (m) => logs.push(m), now: () => now });
  return { live, logs, setNow: (t: number) => (now = t), index: live.index };
}

describe('LiveInventory time-versioned lookups', () => {
  it('IP reuse: an address attributes to the pod that held it at the packet time', () => {
    const { live, index } = rig();
    live.apply('k8s', [bind('uid-a/eth0', T0, l2({ pod: 'web-a', mac: '02:00:00:00:00:0a' }))]);
    const g1 = index.generation;
    live.apply('k8s', [unbind('uid-a/eth0', T0 + 60 * S)]);
    expect(index.generation).toBeGreaterThan(g1);
    live.apply('k8s', [bind('uid-b/eth0', T0 + 90 * S, l2({ pod: 'web-b', mac: '02:00:00:00:00:0b' }))]);
    expect(ipAt(index, 100, '10.10.0.11', T0 - 1)).toBeNull();
    expect(ipAt(index, 100, '10.10.0.11', T0 + 30 * S)).toBe('shop/web-a@node-a');
    expect(ipAt(index, 100, '10.10.0.11', T0 + 60 * S - 1)).toBe('shop/web-a@node-a');
    expect(ipAt(index, 100, '10.10.0.11', T0 + 60 * S)).toBeNull();
    expect(ipAt(index, 100, '10.10.0.11', T0 + 100 * S)).toBe('shop/web-b@node-a');
    expect(macAt(index, 100, '02:00:00:00:00:0a', T0 + 100 * S)).toBeNull();
    expect(live.stats()).toMatchObject({ live: 1, history: 1, conflicts: 0 });
  });

  it('a restart on another node: the same pod name, a new binding on the new node', () => {
    const { live, index } = rig();
    live.apply('k8s', [bind('uid-1/eth0', T0, l2({ pod: 'db-0', node: 'node-a' }))]);
    live.apply('k8s', [
      unbind('uid-1/eth0', T0 + 10 * S),
      bind('uid-2/eth0', T0 + 15 * S, l2({ pod: 'db-0', node: 'node-b', mac: '02:00:00:00:02:02' })),
    ]);
    expect(ipAt(index, 100, '10.10.0.11', T0 + 5 * S)).toBe('shop/db-0@node-a');
    expect(ipAt(index, 100, '10.10.0.11', T0 + 12 * S)).toBeNull();
    expect(ipAt(index, 100, '10.10.0.11', T0 + 20 * S)).toBe('shop/db-0@node-b');
    expect(live.stats().vfsInUse).toEqual(
      new Map([
        ['node-a', 0],
        ['node-b', 1],
      ]),
    );
  });

  it('a static endpoint moving between nodes keeps its identity: no conflict, the old binding ends where the new starts', () => {
    const { live, index, logs } = rig();
    const ledger = { pod: 'ledger-0', static: true, mac: '02:5e:00:00:00:01', ips: ['10.10.255.1'] };
    live.apply('demo', [bind('u1/eth0', T0, l2({ ...ledger, node: 'node-a' }))]);
    // the new pod binds before the old one's unbind arrives
    live.apply('demo', [bind('u2/eth0', T0 + 100 * S, l2({ ...ledger, node: 'node-b' }))]);
    live.apply('demo', [unbind('u1/eth0', T0 + 102 * S)]);
    expect(live.stats().conflicts).toBe(0);
    expect(logs).toEqual([]);
    expect(macAt(index, 100, ledger.mac, T0 + 50 * S)).toBe('shop/ledger-0@node-a');
    expect(macAt(index, 100, ledger.mac, T0 + 101 * S)).toBe('shop/ledger-0@node-b');
    const snap = live.snapshot().endpoints.filter((e) => e.pod === 'ledger-0');
    expect(snap.map((e) => [e.node, e.from, e.to])).toEqual([
      ['node-a', '2026-11-26T00:00:00.000Z', '2026-11-26T00:01:40.000Z'],
      ['node-b', '2026-11-26T00:01:40.000Z', null],
    ]);
  });

  it('conflicting live claims are counted, logged once, resolved newest-first, and the older one comes back', async () => {
    const { live, index, logs } = rig();
    const reg = new Registry();
    live.registerMetrics(reg);
    live.apply('k8s', [bind('a/eth0', T0, l2({ pod: 'old', ips: ['10.10.0.1'] }))]);
    live.apply('k8s', [bind('b/eth0', T0 + 10 * S, l2({ pod: 'new', ips: ['10.10.0.2'] }))]); // same MAC
    // re-emitted unchanged (a relist): no second count, no second log line
    live.apply('k8s', [bind('b/eth0', T0 + 20 * S, l2({ pod: 'new', ips: ['10.10.0.2'] }))]);
    expect(live.stats().conflicts).toBe(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /endpoint conflict: MAC 02:00:00:00:01:01 in scope VLAN 100 claimed by shop\/new/,
    );
    expect(logs[0]).toMatch(/shop\/new eth0 on node-a \(k8s b\/eth0\) wins$/);
    expect(macAt(index, 100, '02:00:00:00:01:01', T0 + 5 * S)).toBe('shop/old@node-a');
    expect(macAt(index, 100, '02:00:00:00:01:01', T0 + 15 * S)).toBe('shop/new@node-a');
    live.apply('k8s', [unbind('b/eth0', T0 + 30 * S)]);
    expect(macAt(index, 100, '02:00:00:00:01:01', T0 + 35 * S)).toBe('shop/old@node-a');
    expect(macAt(index, 100, '02:00:00:00:01:01', T0 + 15 * S)).toBe('shop/new@node-a');
    expect(await reg.metrics()).toMatch(/podwire_endpoint_conflicts_total\{kind="mac"\} 1/);
  });

  it('ties (the same start) are broken by key order, whatever order the events came in', () => {
    for (const order of [0, 1]) {
      const { live, index } = rig();
      const evs = [
        bind('pod-b/eth0', T0, overlay({ pod: 'b', mac: '0a:58:00:00:00:0b' })),
        bind('pod-a/eth0', T0, overlay({ pod: 'a', mac: '0a:58:00:00:00:0a' })),
      ];
      live.apply('k8s', order === 0 ? evs : evs.reverse());
      expect(vniIpAt(index, 5001, '172.16.1.5', T0 + S)).toBe('shop/a@node-b');
      expect(live.stats().conflicts).toBe(1); // (vni, ip) conflict
    }
  });

  it('the same endpoint from two sources is not a conflict', () => {
    const { live, logs } = rig();
    live.apply('kubernetes', [bind('uid/eth0', T0, l2())]);
    live.apply('cni-cache', [bind('abc-eth0', T0 + S, l2())]);
    expect(live.stats()).toMatchObject({ live: 2, conflicts: 0 });
    expect(logs).toEqual([]);
  });

  it('a changed record rebinds (the old binding ends), an unchanged one is a no-op', () => {
    const { live, index } = rig();
    live.apply('k8s', [bind('u/eth0', T0, l2({ tier: 'standard' }))]);
    const g = index.generation;
    live.apply('k8s', [bind('u/eth0', T0 + 5 * S, l2({ tier: 'standard' }))]);
    expect(index.generation).toBe(g);
    live.apply('k8s', [bind('u/eth0', T0 + 10 * S, l2({ tier: 'high' }))]);
    expect(index.byIp4At(100, 0x0a0a000b, T0 + S)?.tier).toBe('standard');
    expect(index.byIp4At(100, 0x0a0a000b, T0 + 11 * S)?.tier).toBe('high');
    expect(live.stats()).toMatchObject({ live: 1, history: 1 });
  });

  it('history older than the retention expires: the address no longer attributes then', () => {
    const { live, index, setNow } = rig(600);
    live.apply('k8s', [bind('u/eth0', T0, l2())]);
    const ep = index.byIp4At(100, 0x0a0a000b, T0)!;
    live.apply('k8s', [unbind('u/eth0', T0 + 60 * S)]);
    setNow(T0 + 600 * S);
    expect(live.expire()).toBe(false); // ended 540 s ago: kept
    expect(ipAt(index, 100, '10.10.0.11', T0 + S)).toBe('shop/web-1@node-a');
    setNow(T0 + 661 * S);
    const g = index.generation;
    expect(live.expire()).toBe(true);
    expect(index.generation).toBeGreaterThan(g);
    expect(ipAt(index, 100, '10.10.0.11', T0 + S)).toBeNull();
    expect(index.endpoints[ep.id]).toBe(EXPIRED_ENDPOINT);
    expect(live.stats().history).toBe(0);
    expect(live.snapshot().endpoints).toEqual([]);
  });

  it('records with `to` are history; records with `from` start then', () => {
    const { live, index } = rig();
    live.apply('file', [
      bind('x', T0 + 500 * S, l2({ from: '2026-11-26T00:00:10Z', to: '2026-11-26T00:00:20Z' })),
      bind('y', T0 + 500 * S, l2({ pod: 'web-2', from: '2026-11-26T00:00:30Z' })),
    ]);
    expect(ipAt(index, 100, '10.10.0.11', T0 + 15 * S)).toBe('shop/web-1@node-a');
    expect(ipAt(index, 100, '10.10.0.11', T0 + 25 * S)).toBeNull();
    expect(ipAt(index, 100, '10.10.0.11', T0 + 35 * S)).toBe('shop/web-2@node-a');
    expect(live.stats()).toMatchObject({ live: 1, history: 1, conflicts: 0 });
  });

  it('exports live, history, events, VFs in use per node', async () => {
    const { live } = rig();
    const reg = new Registry();
    live.registerMetrics(reg);
    live.addVtep('192.168.50.1', 'node-a');
    live.addVtep('192.168.50.2', 'node-b');
    live.apply('k8s', [
      bind(
        '1',
        T0,
        l2({ pod: 'p1', mac: '02:00:00:00:00:01', ips: ['10.10.0.1'], vf: { pf: 'ens1f0', index: 0 } }),
      ),
      bind(
        '2',
        T0,
        l2({ pod: 'p2', mac: '02:00:00:00:00:02', ips: ['10.10.0.2'], vf: { pf: 'ens1f0', index: 1 } }),
      ),
      bind('3', T0, overlay()),
      unbind('2', T0 + S),
    ]);
    const text = await reg.metrics();
    expect(text).toMatch(/podwire_endpoints_live\{source="k8s"\} 2/);
    expect(text).toMatch(/podwire_endpoints_history 1/);
    expect(text).toMatch(/podwire_endpoint_events_total\{source="k8s",kind="bind"\} 3/);
    expect(text).toMatch(/podwire_endpoint_events_total\{source="k8s",kind="unbind"\} 1/);
    expect(text).toMatch(/podwire_node_vfs_in_use\{node="node-a"\} 1/);
    expect(text).toMatch(/podwire_node_vfs_in_use\{node="node-b"\} 0/);
    expect(live.index.vtepNode4(0xc0a83202)).toBe('node-b');
    expect(live.snapshot().nodes).toEqual([
      { name: 'node-a', vteps: ['192.168.50.1'] },
      { name: 'node-b', vteps: ['192.168.50.2'] },
    ]);
  });

  it('a bind without a record is logged and ignored', () => {
    const { live, logs } = rig();
    live.apply('k8s', [{ kind: 'bind', atUs: T0, key: 'x' }]);
    expect(live.stats().live).toBe(0);
    expect(logs[0]).toMatch(/bind x without a record/);
  });
});

describe('LiveInventory history order', () => {
  it('expires by end time even when bindings ended out of order (a file record with `to` far ahead)', () => {
    let now = T0;
    const live = new LiveInventory({ retentionSeconds: 60, log: () => {}, now: () => now });
    live.apply('file', [
      bind(
        'far',
        T0,
        l2({
          pod: 'far',
          mac: '02:00:00:00:00:0f',
          ips: ['10.10.0.99'],
          from: '2026-11-26T00:00:00Z',
          to: '2026-11-27T00:00:00Z',
        }),
      ),
    ]);
    live.apply('k8s', [bind('u', T0, l2()), unbind('u', T0 + S)]);
    now = T0 + 120 * S;
    expect(live.expire()).toBe(true);
    expect(ipAt(live.index, 100, '10.10.0.11', T0 + 1)).toBeNull();
    expect(ipAt(live.index, 100, '10.10.0.99', T0 + 1)).toBe('shop/far@node-a');
    expect(live.stats().history).toBe(1);
  });
});

describe('LiveInventory: one address listed twice in an endpoint', () => {
  const ip6At = (index: EndpointIndex, vlan: number, ip: string, t: number) => {
    const ep = index.byIp6At(vlanScope(vlan), parseIpv6(ip), t);
    return ep && `${ep.namespace}/${ep.pod}@${ep.node}`;
  };

  it('after unbind the address no longer attributes to the ended pod, nor after expiry to an empty one', () => {
    const { live, index, setNow } = rig(600);
    // the same IPv4 twice, and one IPv6 in two spellings
    const rec = l2({ ips: ['10.10.0.11', '10.10.0.11', 'fd00::1', 'fd00:0::1'] });
    live.apply('k8s', [bind('u/eth0', T0, rec)]);
    expect(ipAt(index, 100, '10.10.0.11', T0 + S)).toBe('shop/web-1@node-a');
    expect(ip6At(index, 100, 'fd00::1', T0 + S)).toBe('shop/web-1@node-a');
    live.apply('k8s', [unbind('u/eth0', T0 + 60 * S)]);
    expect(ipAt(index, 100, '10.10.0.11', T0 + 61 * S)).toBeNull();
    expect(ip6At(index, 100, 'fd00::1', T0 + 61 * S)).toBeNull();
    expect(ipAt(index, 100, '10.10.0.11', T0 + 30 * S)).toBe('shop/web-1@node-a');
    setNow(T0 + 700 * S);
    expect(live.expire()).toBe(true);
    // expired: nothing at all, not the empty EXPIRED_ENDPOINT
    expect(index.byIp4At(vlanScope(100), parseIpv4('10.10.0.11'), T0 + 30 * S)).toBeNull();
    expect(index.byIp6At(vlanScope(100), parseIpv6('fd00::1'), T0 + 30 * S)).toBeNull();
  });

  it('a doubled address is one claim: one conflict counted, and none left once the binding ends', () => {
    const { live, logs } = rig();
    live.apply('k8s', [
      bind('a/eth0', T0, l2({ pod: 'a', ips: ['10.10.0.11', '10.10.0.11', 'fd00::1', 'fd00:0::1'] })),
    ]);
    live.apply('k8s', [
      bind('b/eth0', T0 + 5 * S, l2({ pod: 'b', mac: '02:00:00:00:01:02', ips: ['10.10.0.11'] })),
    ]);
    expect(live.stats().conflicts).toBe(1);
    live.apply('k8s', [unbind('a/eth0', T0 + 10 * S), unbind('b/eth0', T0 + 10 * S)]);
    live.apply('k8s', [
      bind('c/eth0', T0 + 20 * S, l2({ pod: 'c', mac: '02:00:00:00:01:03', ips: ['10.10.0.11', 'fd00::1'] })),
    ]);
    expect(live.stats().conflicts).toBe(1);
    expect(logs).toHaveLength(1);
  });

  it('a MAC in another case is the same MAC: the same claim, and a relist with it is no change', () => {
    const { live, index, logs } = rig();
    live.apply('k8s', [bind('a/eth0', T0, l2({ pod: 'a', mac: '02:00:00:00:01:0a', ips: [] }))]);
    const g = index.generation;
    live.apply('k8s', [bind('a/eth0', T0 + S, l2({ pod: 'a', mac: '02:00:00:00:01:0A', ips: [] }))]);
    expect(index.generation).toBe(g);
    live.apply('k8s', [bind('b/eth0', T0 + 2 * S, l2({ pod: 'b', mac: '02:00:00:00:01:0A', ips: [] }))]);
    expect(live.stats().conflicts).toBe(1);
    expect(logs[0]).toMatch(/MAC 02:00:00:00:01:0a in scope VLAN 100/);
  });

  it('a relist spelling an IPv6 differently is no change', () => {
    const { live, index } = rig();
    live.apply('k8s', [bind('a/eth0', T0, l2({ ips: ['fd00::1'] }))]);
    const g = index.generation;
    live.apply('k8s', [bind('a/eth0', T0 + S, l2({ ips: ['fd00:0::1'] }))]);
    expect(index.generation).toBe(g);
    expect(live.stats()).toMatchObject({ live: 1, history: 0 });
  });
});
