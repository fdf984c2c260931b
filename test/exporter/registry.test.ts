/**
 * The registry on the demo NIC: `promtool check metrics` passes on its real output, every
 * family and label set is the documented one (metrics.ts), devices are joined to pods
 * through the endpoint inventory (time-versioned), and the prom-client registry APIs still
 * work with podwire's rendered families.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../collector/attribution/inventory.js';
import { DEMO_TIERS, demoInventory } from '../../collector/nic/demo.js';
import type { NicSource } from '../../collector/nic/types.js';
import { ALL_METRICS, COLLECTOR_METRICS, NIC_METRICS } from '../../node-exporter/metrics.js';
import { demoRig, parseExposition, promtoolCheck, T0 } from './exposition.js';

describe('exporter registry (demo NIC)', () => {
  it('passes promtool check metrics', async () => {
    const rig = demoRig();
    await rig.step();
    const text = await rig.step();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    // and prom-client's own rendering of the same registry
    expect(promtoolCheck(await rig.registry.prom.metrics())).toEqual({ status: 0, output: '' });
  });

  it('serves exactly the documented families, types and label sets', async () => {
    const rig = demoRig();
    await rig.step();
    const families = parseExposition(await rig.step());
    const documented = new Map(ALL_METRICS.map((m) => [m.name, m]));
    for (const f of families.values()) {
      const d = documented.get(f.name);
      expect(d, `${f.name} is not in metrics.ts`).toBeDefined();
      expect(f.type).toBe(d!.type);
      expect(f.help).toBe(d!.help);
      for (const s of f.samples) {
        expect(s.name).toBe(f.name);
        expect(Object.keys(s.labels).sort(), f.name).toEqual([...d!.labels].sort());
      }
    }
    // the demo exercises every family
    for (const d of ALL_METRICS) {
      expect(families.get(d.name)?.samples.length ?? 0, d.name).toBeGreaterThan(0);
    }
    // 2 nodes × 16 VFs, 8 veths, 8 qdiscs, 24 endpoints
    expect(families.get('podwire_vf_info')!.samples).toHaveLength(32);
    expect(families.get('podwire_netdev_receive_bytes_total')!.samples).toHaveLength(8);
    expect(families.get('podwire_qdisc_dropped_packets_total')!.samples).toHaveLength(8);
    expect(families.get('podwire_endpoint_info')!.samples).toHaveLength(24);
    expect(rig.registry.series).toBe(
      NIC_METRICS.reduce((n, d) => n + families.get(d.name)!.samples.length, 0),
    );
  });

  it('joins VFs and netdevs to their pods through the inventory', async () => {
    const rig = demoRig({ seed: 3 });
    await rig.step();
    const f = parseExposition(await rig.step(10_000));
    const tx = f.get('podwire_vf_transmit_bytes_total')!.samples;
    const web = tx.find((s) => s.labels.pod === 'web-a0')!;
    expect(web.labels).toEqual({
      node: 'node-a',
      pf: 'ens1f0',
      vf: '0',
      namespace: 'shop',
      pod: 'web-a0',
      interface: 'eth0',
      network: 'shop-l2',
      vlan: '100',
      tier: 'high',
    });
    expect(web.value).toBeGreaterThan(0);
    // a VF nobody is bound to: the VF's labels, an empty pod
    const free = tx.find((s) => s.labels.node === 'node-b' && s.labels.vf === '15')!;
    expect(free.labels).toMatchObject({ pod: '', namespace: '', tier: '', vlan: '0' });
    const info = f.get('podwire_vf_info')!.samples.find((s) => s.labels.pod === 'web-a0')!;
    expect(info.labels).toMatchObject({
      mac: '02:00:00:00:00:00',
      pci_address: '0000:3b:00.2',
      spoof_check: 'true',
      trust: 'false',
      link_state: 'auto',
      qos: '0',
    });
    const max = f.get('podwire_vf_tier_max_bytes_per_second')!.samples;
    expect(max.find((s) => s.labels.pod === 'web-a0')!.value).toBe(DEMO_TIERS.high.max / 8);
    expect(max.find((s) => s.labels.pod === '')).toBeUndefined(); // unlimited: absent
    const min = f.get('podwire_vf_tier_min_bytes_per_second')!.samples;
    expect(min.find((s) => s.labels.pod === 'cache-a3')!.value).toBe(0); // best-effort
    // the noisy neighbour drops
    const qos = f.get('podwire_vf_qos_dropped_packets_total')!.samples;
    expect(qos.find((s) => s.labels.pod === 'stream-a7')!.value).toBeGreaterThan(0);
    // overlay: the veth and its qdisc carry the pod
    const nd = f.get('podwire_netdev_receive_bytes_total')!.samples.find((s) => s.labels.pod === 'svc-a0')!;
    expect(nd.labels).toMatchObject({
      namespace: 'shop',
      interface: 'net1',
      network: 'shop-overlay',
      node: 'node-a',
    });
    expect(nd.labels.device).toMatch(/^veth[0-9a-f]{8}$/);
    const qd = f
      .get('podwire_qdisc_sent_bytes_total')!
      .samples.find((s) => s.labels.device === nd.labels.device)!;
    expect(qd.labels).toMatchObject({
      pod: 'svc-a0',
      namespace: 'shop',
      kind: 'tbf',
      handle: '1:',
      parent: 'root',
    });
    const ep = f.get('podwire_endpoint_info')!.samples.find((s) => s.labels.pod === 'svc-a0')!;
    expect(ep.labels).toMatchObject({
      mode: 'overlay',
      vni: '5001',
      vlan: '',
      pf: '',
      vf: '',
      static: 'false',
    });
    const unattributed = f.get(COLLECTOR_METRICS.unattributed.name)!.samples;
    expect(unattributed.find((s) => s.labels.kind === 'vf')!.value).toBe(16);
    expect(unattributed.find((s) => s.labels.kind === 'netdev')!.value).toBe(0);
  });

  it('follows a VF from one pod to the next at the binding change, without a new index', async () => {
    const base = demoInventory({ nodes: 1, vfsPerNode: 2, overlayPerNode: 0 });
    const change = new Date(T0 + 5_000).toISOString();
    const json = JSON.parse(JSON.stringify(base));
    json.endpoints[0].to = change;
    json.endpoints.push({
      ...json.endpoints[0],
      pod: 'web-next',
      mac: '02:00:00:00:aa:01',
      from: change,
      to: null,
    });
    const rig = demoRig({ inventory: parseInventory(json) });
    const podOfVf0 = (text: string) =>
      parseExposition(text)
        .get('podwire_vf_transmit_bytes_total')!
        .samples.filter((s) => s.labels.vf === '0')
        .map((s) => s.labels.pod);
    expect(podOfVf0(await rig.step(1000))).toEqual(['web-a0']);
    expect(podOfVf0(await rig.step(2000))).toEqual(['web-a0']);
    const gen = rig.index.generation;
    expect(podOfVf0(await rig.step(3000))).toEqual(['web-next']);
    expect(rig.index.generation).toBe(gen);
  });

  it('counts a failing source in podwire_collector_* and keeps exporting the others', async () => {
    let fail = true;
    const flaky: NicSource = {
      name: 'flaky',
      read: async () => {
        if (fail) throw new Error('ip: command not found');
        return { vfs: [], qdiscs: [], netdevs: [] };
      },
    };
    const rig = demoRig({ extraSources: [flaky] });
    await rig.step();
    let f = parseExposition(await rig.step());
    const by = (name: string, source: string) =>
      f.get(name)!.samples.find((s) => s.labels.source === source)!.value;
    expect(by('podwire_collector_scrape_success', 'flaky')).toBe(0);
    expect(by('podwire_collector_scrape_errors_total', 'flaky')).toBe(2);
    expect(by('podwire_collector_last_success_timestamp_seconds', 'flaky')).toBe(0);
    expect(by('podwire_collector_scrape_success', 'demo')).toBe(1);
    expect(by('podwire_collector_last_success_timestamp_seconds', 'demo')).toBeCloseTo(
      rig.clock.now / 1000,
      0,
    );
    expect(f.get('podwire_vf_transmit_bytes_total')!.samples.length).toBe(32);
    fail = false;
    f = parseExposition(await rig.step());
    expect(by('podwire_collector_scrape_success', 'flaky')).toBe(1);
    expect(by('podwire_collector_scrape_errors_total', 'flaky')).toBe(2);
  });

  it('escapes label values and still passes promtool', async () => {
    const json = JSON.parse(JSON.stringify(demoInventory({ nodes: 1, vfsPerNode: 1, overlayPerNode: 1 })));
    json.endpoints[0].network = 'say "hi"\\ there';
    json.endpoints[1].network = 'two\nlines';
    const rig = demoRig({ inventory: parseInventory(json) });
    const text = await rig.step();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    const f = parseExposition(text);
    expect(f.get('podwire_vf_info')!.samples.find((s) => s.labels.pod === 'web-a0')!.labels.network).toBe(
      'say "hi"\\ there',
    );
    expect(f.get('podwire_netdev_receive_bytes_total')!.samples[0].labels.network).toBe('two\nlines');
  });

  it('keeps the prom-client APIs working on the rendered families', async () => {
    const rig = demoRig();
    await rig.step();
    const text = await rig.step();
    const viaProm = parseExposition(await rig.registry.prom.metrics());
    const direct = parseExposition(text);
    for (const d of NIC_METRICS) expect(viaProm.get(d.name)!.samples).toEqual(direct.get(d.name)!.samples);
    const json = await rig.registry.prom.getMetricsAsJSON();
    const tx = json.find((m) => m.name === 'podwire_vf_transmit_bytes_total')!;
    expect(tx.type).toBe('counter');
    expect(tx.values.find((v) => v.labels.pod === 'web-a0')!.value).toBe(
      direct.get('podwire_vf_transmit_bytes_total')!.samples.find((s) => s.labels.pod === 'web-a0')!.value,
    );
    // gzip: the same bytes
    expect(gunzipSync(await rig.registry.gzipped()).equals(rig.registry.body)).toBe(true);
  });

  it('does not reuse the bytes a scrape still holds', async () => {
    const rig = demoRig();
    await rig.step();
    const lease = rig.registry.acquire();
    const held = Buffer.from(lease.body);
    await rig.step();
    await rig.step();
    await rig.step();
    expect(lease.body.equals(held)).toBe(true);
    expect(rig.registry.body.equals(held)).toBe(false);
    lease.release();
  });
});
