/**
 * api/pods.ts: per-pod rates from the NIC collector's VF readings (bytes/s → bits/s, the
 * VF's configured band), a VF without a pod counted toward its node only, stale VFs left
 * out; pods from the inventory's current records grouped with their interfaces.
 */
import { describe, expect, it } from 'vitest';
import { podRates, podsOf, type VfReading } from '../../api/pods.js';
import { type Endpoint, EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import type { EndpointRecord } from '../../collector/attribution/inventory.js';

const rec = (pod: string, vf: number, extra: Partial<EndpointRecord> = {}): EndpointRecord =>
  ({
    namespace: 'shop',
    pod,
    node: 'node-a',
    interface: 'eth0',
    network: 'shop-l2',
    mode: 'l2',
    vlan: 100,
    mac: `02:00:00:00:00:0${vf}`,
    ips: [`10.10.0.${vf}`],
    tier: 'high',
    static: false,
    vf: { pf: 'ens1f0', index: vf },
    from: null,
    to: null,
    ...extra,
  }) as EndpointRecord;
const reading = (vf: number, rx: number, tx: number, stale = false): VfReading => ({
  sample: { node: 'node-a', pf: 'ens1f0', vf, minTxRate: 2e9, maxTxRate: 8e9 },
  counters: { rxBytes: { rate: rx }, txBytes: { rate: tx } },
  stale,
});

describe('pods and their rates', () => {
  const index = EndpointIndex.fromInventory({
    version: 1,
    nodes: [],
    endpoints: [rec('web-1', 1), rec('web-2', 2)],
  });
  const podOf = (_n: string, _pf: string, vf: number): Endpoint | null =>
    index.endpoints.find((e) => e.vf?.index === vf) ?? null;

  it('joins VF rates to pods in bits per second with the VF band; an unbound VF counts for its node only', () => {
    const r = podRates([reading(1, 1000, 2000), reading(2, 10, 20, true), reading(9, 500, 500)], podOf);
    expect(r.pods).toEqual([
      {
        namespace: 'shop',
        pod: 'web-1',
        node: 'node-a',
        tier: 'high',
        rxBps: 8000,
        txBps: 16000,
        minBps: 2e9,
        maxBps: 8e9,
      },
    ]);
    expect(r.nodes).toEqual([{ node: 'node-a', rxBps: 12000, txBps: 20000 }]);
  });

  it('a counter without a rate yet (first reading) is 0, not NaN', () => {
    const r = podRates([{ ...reading(1, 0, 0), counters: { rxBytes: { rate: null } } }], podOf);
    expect(r.pods[0]).toMatchObject({ rxBps: 0, txBps: 0 });
  });

  it('groups the current records by pod with interfaces, rates where known, and the scope filter', () => {
    const records = [
      rec('web-1', 1),
      rec('web-1', 4, {
        interface: 'net1',
        mode: 'overlay',
        vni: 7,
        vlan: undefined,
        vf: undefined,
      } as never),
      rec('web-2', 2, { namespace: 'payments' }),
    ];
    const rates = podRates([reading(1, 1, 1)], podOf).pods;
    const all = podsOf(records, rates, () => true);
    expect(all.map((p) => `${p.namespace}/${p.pod}`)).toEqual(['payments/web-2', 'shop/web-1']);
    const web1 = all[1]!;
    expect(web1.interfaces.map((i) => [i.interface, i.mode, i.vlan, i.vni, i.vf])).toEqual([
      ['eth0', 'l2', 100, null, { pf: 'ens1f0', index: 1 }],
      ['net1', 'overlay', null, 7, null],
    ]);
    expect(web1.rates).toEqual({ rxBps: 8, txBps: 8, minBps: 2e9, maxBps: 8e9 });
    expect(all[0]!.rates).toBeNull();
    expect(podsOf(records, rates, (ns) => ns === 'shop').map((p) => p.pod)).toEqual(['web-1']);
  });
});
