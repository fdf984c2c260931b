/**
 * The kubernetes source against a stand-in API server (a node:http server on 127.0.0.1;
 * no real API server runs here) through the real @kubernetes/client-node: list + watch,
 * pods gaining and losing network-status, bookmarks, a dropped connection, 410 Gone, API
 * errors and bad input. The pure mapping (network-status, NAD config, sysfs VF lookup) is
 * tested directly.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesSource } from '../../collector/endpoints/kubernetes.js';
import { LiveInventory } from '../../collector/endpoints/live-inventory.js';
import {
  parseNadConfig,
  parseNetworkStatus,
  podEndpoints,
  vfFromSysfs,
} from '../../collector/endpoints/network-status.js';
import { defaultEntry, K8sStandIn, nad, overlayEntry, pod, sriovEntry } from './k8s-stand-in.js';
import { ipAt, macAt, vniIpAt } from './records.js';
import { waitFor } from './wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SRIOV_NAD = {
  cniVersion: '0.3.1',
  name: 'sriov-shop',
  type: 'sriov',
  vlan: 100,
  min_tx_rate: 1000,
  max_tx_rate: 4000,
  ipam: { type: 'whereabouts' },
};
const OVERLAY_NAD = {
  cniVersion: '0.4.0',
  name: 'overlay-5001',
  plugins: [{ type: 'vxlan-overlay', vni: 5001 }, { type: 'tuning' }],
};

async function rig(opts: { node?: string; fill?: (api: K8sStandIn) => void } = {}) {
  const api = new K8sStandIn();
  await api.start();
  cleanups.push(() => api.stop());
  api.put('nads', nad('sriov-shop', SRIOV_NAD));
  api.put('nads', nad('overlay-5001', OVERLAY_NAD));
  opts.fill?.(api);
  const logs: string[] = [];
  const src = new KubernetesSource({
    kubeConfig: api.kubeConfig(),
    node: opts.node,
    sysfsRoot: '/nonexistent',
    backoff: { initialMs: 10, maxMs: 50 },
    log: (m) => logs.push(m),
  });
  const live = new LiveInventory({ log: (m) => logs.push(m) });
  cleanups.push(() => live.close());
  return { api, src, live, logs };
}

const nowUs = () => Date.now() * 1000;

describe('kubernetes source against a stand-in API server', () => {
  it('stand-in: lists pods with network-status and the NADs, then follows pods gaining and losing attachments', async () => {
    const { api, src, live, logs } = await rig({
      fill: (api) => {
        api.put(
          'pods',
          pod('web-1', {
            tier: 'high',
            networkStatus: [defaultEntry('10.244.0.5'), sriovEntry('02:00:00:00:01:01', '10.10.0.11')],
          }),
        );
        api.put(
          'pods',
          pod('api-1', { node: 'node-b', networkStatus: [overlayEntry('0a:58:ac:10:01:05', '172.16.1.5')] }),
        );
        api.put('pods', pod('pending-1'));
      },
    });
    await live.attach(src);
    expect(live.stats().live).toBe(2);
    const web = live.current().find((r) => r.pod === 'web-1')!;
    expect(web).toMatchObject({
      namespace: 'shop',
      node: 'node-a',
      interface: 'net1',
      network: 'sriov-shop',
      mode: 'l2',
      vlan: 100,
      mac: '02:00:00:00:01:01',
      ips: ['10.10.0.11'],
      tier: 'high',
    });
    // bound from the pod's start time (a restarted podwire still attributes older packets)
    expect(ipAt(live.index, 100, '10.10.0.11', Date.parse('2026-11-26T00:00:06Z') * 1000)).toBe(
      'shop/web-1@node-a',
    );
    expect(vniIpAt(live.index, 5001, '172.16.1.5', nowUs())).toBe('shop/api-1@node-b');

    // pending-1 gains its network-status
    api.put(
      'pods',
      pod('pending-1', { networkStatus: [sriovEntry('02:00:00:00:01:02', '10.10.0.12', '0000:3b:02.4')] }),
    );
    await waitFor(() => live.stats().live === 3, 'pending-1 bound');
    expect(ipAt(live.index, 100, '10.10.0.12', nowUs())).toBe('shop/pending-1@node-a');

    // web-1 loses its SR-IOV attachment (the default network alone is not reported)
    api.put('pods', pod('web-1', { tier: 'high', networkStatus: [defaultEntry('10.244.0.5')] }));
    await waitFor(() => live.stats().live === 2, 'web-1 unbound');
    expect(ipAt(live.index, 100, '10.10.0.11', nowUs() + 1)).toBeNull();

    // api-1 is deleted; pending-1 completes (Succeeded: its endpoint is gone)
    api.delete('pods', 'shop', 'api-1');
    api.put(
      'pods',
      pod('pending-1', {
        phase: 'Succeeded',
        networkStatus: [sriovEntry('02:00:00:00:01:02', '10.10.0.12', '0000:3b:02.4')],
      }),
    );
    await waitFor(() => live.stats().live === 0, 'all unbound');
    expect(live.stats().history).toBe(3);
    expect(logs).toEqual([]);
    expect(src.health()).toEqual({ ok: true, errors: 0, lastError: null });
  });

  it('stand-in: a NAD change re-derives its pods (VLAN moved), a node filter selects one node', async () => {
    const { api, src, live } = await rig({
      node: 'node-a',
      fill: (api) => {
        api.put('pods', pod('web-1', { networkStatus: [sriovEntry('02:00:00:00:01:01', '10.10.0.11')] }));
        api.put(
          'pods',
          pod('web-2', { node: 'node-b', networkStatus: [sriovEntry('02:00:00:00:01:02', '10.10.0.12')] }),
        );
      },
    });
    await live.attach(src);
    expect(live.current().map((r) => r.pod)).toEqual(['web-1']);
    // no tier annotation: the tier the NAD's rates (1000/4000 Mb/s) configure
    expect(live.current()[0].tier).toBe('standard');
    expect(
      api.requests.filter((r) => r.kind === 'pods').every((r) => r.fieldSelector === 'spec.nodeName=node-a'),
    ).toBe(true);
    api.put('nads', nad('sriov-shop', { ...SRIOV_NAD, vlan: 200 }));
    await waitFor(() => macAt(live.index, 200, '02:00:00:00:01:01', nowUs()) !== null, 'the VLAN change');
    expect(macAt(live.index, 100, '02:00:00:00:01:01', nowUs() + 1)).toBeNull();
  });

  it('stand-in: bookmarks move the resourceVersion, a dropped connection resumes from it without a relist', async () => {
    const { api, src, live } = await rig({
      fill: (api) =>
        api.put('pods', pod('web-1', { networkStatus: [sriovEntry('02:00:00:00:01:01', '10.10.0.11')] })),
    });
    await live.attach(src);
    await waitFor(() => api.watchCount('pods') === 1, 'the pod watch');
    // other objects change (a NAD in another namespace), then a bookmark carries the pods' watch past them
    api.put('nads', nad('other', { type: 'macvlan' }, 'other'));
    api.bookmark();
    const bookmarkRv = String(api.resourceVersion);
    await waitFor(() => src.watchCounts().pods!.bookmarks === 1, 'the bookmark');
    api.dropWatches();
    await waitFor(
      () => api.watchCount('pods') === 1 && src.watchCounts().pods!.watches === 2,
      'the resumed watch',
    );
    const podWatches = api.requests.filter((r) => r.kind === 'pods' && r.watch);
    expect(podWatches.at(-1)!.resourceVersion).toBe(bookmarkRv);
    expect(src.watchCounts().pods!.lists).toBe(1);
    // and the resumed watch delivers
    api.put('pods', pod('web-2', { networkStatus: [sriovEntry('02:00:00:00:01:02', '10.10.0.12')] }));
    await waitFor(() => live.stats().live === 2, 'web-2 bound');
  });

  it('stand-in: 410 Gone on resume relists, and a pod deleted meanwhile is unbound', async () => {
    const { api, src, live } = await rig({
      fill: (api) => {
        api.put('pods', pod('web-1', { networkStatus: [sriovEntry('02:00:00:00:01:01', '10.10.0.11')] }));
        api.put('pods', pod('web-2', { networkStatus: [sriovEntry('02:00:00:00:01:02', '10.10.0.12')] }));
      },
    });
    await live.attach(src);
    await waitFor(() => api.watchCount('pods') === 1, 'the pod watch');
    // the connection drops; while it is down web-2 goes and the history is compacted
    api.dropWatches();
    api.delete('pods', 'shop', 'web-2');
    api.compact();
    await waitFor(() => live.stats().live === 1, 'web-2 unbound after the relist');
    const c = src.watchCounts().pods!;
    expect(c.relists410).toBeGreaterThanOrEqual(1);
    expect(c.lists).toBe(2);
    expect(live.current().map((r) => r.pod)).toEqual(['web-1']);
    // no tier annotation: the tier the NAD's rates (1000/4000 Mb/s) configure
    expect(live.current()[0].tier).toBe('standard');
    expect(src.health().errors).toBe(0); // a 410 is protocol, not an error
    // an HTTP 410 on the watch request does the same
    api.fail(1, 410, 'pods', true);
    api.dropWatches();
    await waitFor(() => src.watchCounts().pods!.lists === 3, 'the second relist');
  });

  it('stand-in: API errors are logged and counted, with backoff, and the source recovers', async () => {
    const { api, src, live, logs } = await rig({
      fill: (api) =>
        api.put('pods', pod('web-1', { networkStatus: [sriovEntry('02:00:00:00:01:01', '10.10.0.11')] })),
    });
    api.fail(2, 500, 'pods', false);
    await live.attach(src);
    expect(live.stats().live).toBe(1);
    expect(src.health().errors).toBe(2);
    expect(logs.filter((l) => /kubernetes: pods: HTTP 500.*retrying in \d+ ms/.test(l))).toHaveLength(2);
    // errors on the watch, too
    api.fail(1, 503, 'pods', true);
    api.dropWatches();
    await waitFor(() => src.health().errors === 3, 'the watch error');
    api.put('pods', pod('web-2', { networkStatus: [sriovEntry('02:00:00:00:01:02', '10.10.0.12')] }));
    await waitFor(() => live.stats().live === 2, 'recovered');
  });

  it('stand-in: without the NAD CRD (404) pods still bind, on VLAN 0', async () => {
    const api = new K8sStandIn();
    api.nadCrd = false;
    await api.start();
    cleanups.push(() => api.stop());
    api.put('pods', pod('web-1', { networkStatus: [sriovEntry('02:00:00:00:01:01', '10.10.0.11')] }));
    const src = new KubernetesSource({
      kubeConfig: api.kubeConfig(),
      backoff: { initialMs: 10, maxMs: 60_000 },
      log: () => {},
    });
    const live = new LiveInventory({ log: () => {} });
    cleanups.push(() => live.close());
    await live.attach(src);
    expect(live.current()[0]).toMatchObject({ pod: 'web-1', vlan: 0 });
  });

  it('stand-in: broken annotation JSON and a bad NAD config are clear, counted errors; the rest goes on', async () => {
    const { api, src, live, logs } = await rig({
      fill: (api) => {
        api.put('nads', nad('broken', '{"type": "sriov", "vlan": '));
        api.put('pods', pod('bad-json', { networkStatus: '[{"name": "sriov-shop", ' }));
        api.put(
          'pods',
          pod('no-mac', { networkStatus: [{ name: 'sriov-shop', interface: 'net1', ips: ['10.10.0.13'] }] }),
        );
        api.put('pods', pod('good', { networkStatus: [sriovEntry('02:00:00:00:01:01', '10.10.0.11')] }));
      },
    });
    await live.attach(src);
    expect(live.current().map((r) => r.pod)).toEqual(['good']);
    expect(logs.join('\n')).toMatch(
      /network-attachment-definition shop\/broken: spec\.config: not valid JSON/,
    );
    expect(logs.join('\n')).toMatch(
      /pod shop\/bad-json: annotation k8s\.v1\.cni\.cncf\.io\/network-status: not valid JSON/,
    );
    expect(logs.join('\n')).toMatch(
      /pod shop\/no-mac: annotation k8s\.v1\.cni\.cncf\.io\/network-status: 0\.mac: missing/,
    );
    expect(src.health().errors).toBe(3);
    // a good pod whose annotation breaks keeps its bindings (the annotation says nothing now)
    api.put('pods', pod('good', { networkStatus: '[oops' }));
    await waitFor(() => src.health().errors === 4, 'the broken update');
    expect(live.stats().live).toBe(1);
  });
});

describe('network-status and NAD mapping', () => {
  const mapping = {
    networkStatusAnnotation: 'k8s.v1.cni.cncf.io/network-status',
    tierAnnotation: 'podwire.io/tier',
    staticAnnotation: 'podwire.io/static',
    includeDefaultNetwork: false,
  };

  it('parses NAD configs: single plugin and plugin lists, VLAN, rates, VNI; rejects bad ones', () => {
    expect(parseNadConfig(JSON.stringify(SRIOV_NAD))).toEqual({
      type: 'sriov',
      vlan: 100,
      minTxRate: 1000,
      maxTxRate: 4000,
      vni: null,
    });
    expect(parseNadConfig(JSON.stringify(OVERLAY_NAD))).toMatchObject({
      type: 'vxlan-overlay',
      vni: 5001,
      vlan: null,
    });
    expect(() => parseNadConfig('[1]')).toThrow(/spec\.config: expected a JSON object/);
    expect(() => parseNadConfig('{"vlan": 5000}')).toThrow(/vlan 5000 out of range/);
  });

  it('maps attachments: namespaced NAD names, overlay by VNI, static and tier annotations, the default network on request', () => {
    const nads = new Map([
      ['shop/sriov-shop', parseNadConfig(JSON.stringify(SRIOV_NAD))],
      ['shop/overlay-5001', parseNadConfig(JSON.stringify(OVERLAY_NAD))],
    ]);
    const p = pod('gw-1', {
      tier: 'standard',
      static: true,
      networkStatus: [
        defaultEntry('10.244.0.9'),
        sriovEntry('02:AA:00:00:00:01', '10.10.0.9'),
        overlayEntry('0a:58:00:00:00:09', '172.16.0.9'),
      ],
    });
    const r = podEndpoints(p, nads, {
      ...mapping,
      resolveVf: (pci) => (pci === '0000:3b:02.3' ? { pf: 'ens1f0', index: 1 } : null),
    });
    expect(r.errors).toEqual([]);
    expect([...r.records.keys()]).toEqual(['net1', 'net2']);
    expect(r.records.get('net1')).toMatchObject({
      mode: 'l2',
      vlan: 100,
      mac: '02:aa:00:00:00:01',
      vf: { pf: 'ens1f0', index: 1 },
      tier: 'standard',
      static: true,
    });
    expect(r.records.get('net2')).toMatchObject({ mode: 'overlay', vni: 5001, network: 'overlay-5001' });
    const withDefault = podEndpoints(p, nads, { ...mapping, includeDefaultNetwork: true });
    expect(withDefault.records.get('eth0')).toMatchObject({ mode: 'l2', vlan: 0, ips: ['10.244.0.9'] });
    expect(() => parseNetworkStatus('{"name": 1}')).toThrow(/invalid network-status\n {2}\(root\): /);
    const bad = podEndpoints(
      pod('x', {
        networkStatus: [{ name: 'n', interface: 'net1', mac: '02:00:00:00:00:01', ips: ['300.1.1.1'] }],
      }),
      nads,
      mapping,
    );
    expect(bad.errors[0]).toMatch(
      /pod shop\/x: annotation k8s\.v1\.cni\.cncf\.io\/network-status: 0: ips\.0: expected an IPv4 or IPv6 address/,
    );
  });

  it('resolves a VF from sysfs: physfn, its net/ name and the virtfnN link', async () => {
    const root = await mkdtemp(join(tmpdir(), 'podwire-sysfs-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const devs = join(root, 'bus/pci/devices');
    await mkdir(join(devs, '0000:3b:00.0/net/ens1f0'), { recursive: true });
    for (const [i, vf] of ['0000:3b:02.0', '0000:3b:02.1'].entries()) {
      await mkdir(join(devs, vf));
      await symlink(join(devs, '0000:3b:00.0'), join(devs, vf, 'physfn'));
      await symlink(join(devs, vf), join(devs, '0000:3b:00.0', `virtfn${i}`));
    }
    expect(vfFromSysfs('0000:3b:02.1', root)).toEqual({ pf: 'ens1f0', index: 1 });
    expect(vfFromSysfs('0000:3b:00.0', root)).toBeNull(); // the PF itself
    expect(vfFromSysfs('0000:99:00.0', root)).toBeNull();
  });
});
