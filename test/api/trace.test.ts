/**
 * api/trace.ts over a real EndpointIndex: an address reused by two pods over time gives
 * both, oldest first, each with when it held it; a range before, between or after the
 * bindings gives only those that overlap it; the scope filter drops other namespaces.
 */
import { describe, expect, it } from 'vitest';
import { holdings } from '../../api/trace.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';

const t = (iso: string) => Date.parse(iso) / 1000;
const index = EndpointIndex.fromInventory({
  version: 1,
  nodes: [],
  endpoints: [
    {
      namespace: 'shop',
      pod: 'web-old',
      node: 'node-a',
      interface: 'eth0',
      network: 'shop-l2',
      mode: 'l2',
      vlan: 100,
      mac: '02:00:00:00:01:01',
      ips: ['10.10.0.5'],
      tier: 'high',
      static: false,
      vf: { pf: 'ens1f0', index: 3 },
      from: '2026-11-26T10:00:00Z',
      to: '2026-11-26T11:00:00Z',
    },
    {
      namespace: 'payments',
      pod: 'api-new',
      node: 'node-b',
      interface: 'eth0',
      network: 'payments-l2',
      mode: 'l2',
      vlan: 100,
      mac: '02:00:00:00:02:02',
      ips: ['10.10.0.5'],
      tier: '',
      static: false,
      from: '2026-11-26T12:00:00Z',
      to: null,
    },
    {
      namespace: 'search',
      pod: 'idx',
      node: 'node-c',
      interface: 'eth0',
      network: 'overlay',
      mode: 'overlay',
      vni: 5001,
      mac: '0a:58:00:00:00:01',
      ips: ['fd00::5'],
      tier: '',
      static: false,
      from: '2026-11-26T09:00:00Z',
      to: null,
    },
  ],
});
const all = () => true;
const pods = (f: Parameters<typeof holdings>[1], keep: (ns: string) => boolean = all) =>
  holdings(index.endpoints, f, keep).map((h) => `${h.namespace}/${h.pod}`);

describe('trace holdings (the time-versioned endpoint index)', () => {
  it('an IP reused over time: both pods, oldest first, with when each held it', () => {
    const h = holdings(
      index.endpoints,
      { ip: '10.10.0.5', from: t('2026-11-26T00:00:00Z'), to: t('2026-11-27T00:00:00Z') },
      all,
    );
    expect(h.map((x) => [x.pod, x.from, x.to])).toEqual([
      ['web-old', '2026-11-26T10:00:00.000Z', '2026-11-26T11:00:00.000Z'],
      ['api-new', '2026-11-26T12:00:00.000Z', null],
    ]);
    expect(h[0]).toMatchObject({
      node: 'node-a',
      tier: 'high',
      vlan: 100,
      vni: null,
      vf: { pf: 'ens1f0', index: 3 },
    });
  });

  it('only the bindings that overlap the range', () => {
    expect(pods({ ip: '10.10.0.5', from: t('2026-11-26T10:30:00Z'), to: t('2026-11-26T10:31:00Z') })).toEqual(
      ['shop/web-old'],
    );
    expect(pods({ ip: '10.10.0.5', from: t('2026-11-26T11:00:00Z'), to: t('2026-11-26T12:00:00Z') })).toEqual(
      [],
    );
    expect(pods({ ip: '10.10.0.5', from: t('2026-11-26T13:00:00Z'), to: t('2026-11-26T14:00:00Z') })).toEqual(
      ['payments/api-new'],
    );
    expect(pods({ ip: '10.10.0.5', from: t('2026-11-26T08:00:00Z'), to: t('2026-11-26T10:00:00Z') })).toEqual(
      [],
    );
  });

  it('matches MAC, IPv6 in any spelling, VLAN and VNI, all given filters at once', () => {
    const day = { from: t('2026-11-26T00:00:00Z'), to: t('2026-11-27T00:00:00Z') };
    expect(pods({ ...day, mac: '02:00:00:00:02:02' })).toEqual(['payments/api-new']);
    expect(pods({ ...day, ip: 'fd00:0:0::5' })).toEqual(['search/idx']);
    expect(pods({ ...day, vni: 5001 })).toEqual(['search/idx']);
    expect(pods({ ...day, vlan: 100 })).toEqual(['shop/web-old', 'payments/api-new']);
    expect(pods({ ...day, vlan: 100, mac: '02:00:00:00:01:01' })).toEqual(['shop/web-old']);
    expect(pods({ ...day, vlan: 101, mac: '02:00:00:00:01:01' })).toEqual([]);
  });

  it('leaves out the namespaces the scope does not see', () => {
    const day = { from: t('2026-11-26T00:00:00Z'), to: t('2026-11-27T00:00:00Z') };
    expect(pods({ ...day, ip: '10.10.0.5' }, (ns) => ns === 'payments')).toEqual(['payments/api-new']);
  });
});
