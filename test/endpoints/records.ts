/** Endpoint records and lookups for the endpoint tests. */

import type { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { vlanScope, vniScope } from '../../collector/attribution/endpoint-index.js';
import type { EndpointRecord } from '../../collector/attribution/inventory.js';
import { parseIpv4, parseMac } from '../../collector/decode/addr.js';
import type { EndpointEvent } from '../../collector/endpoints/types.js';

/** 2026-11-26T00:00:00Z in µs */
export const T0 = Date.parse('2026-11-26T00:00:00Z') * 1000;
export const S = 1_000_000;

export function l2(over: Partial<EndpointRecord & { mode: 'l2' }> = {}): EndpointRecord {
  return {
    namespace: 'shop',
    pod: 'web-1',
    node: 'node-a',
    interface: 'eth0',
    network: 'shop-l2',
    mode: 'l2',
    vlan: 100,
    mac: '02:00:00:00:01:01',
    ips: ['10.10.0.11'],
    vf: { pf: 'ens1f0', index: 3 },
    tier: 'high',
    static: false,
    from: null,
    to: null,
    ...over,
  } as EndpointRecord;
}

export function overlay(over: Partial<EndpointRecord & { mode: 'overlay' }> = {}): EndpointRecord {
  return {
    namespace: 'shop',
    pod: 'api-1',
    node: 'node-b',
    interface: 'net1',
    network: 'overlay-1',
    mode: 'overlay',
    vni: 5001,
    mac: '0a:58:ac:10:01:05',
    ips: ['172.16.1.5'],
    tier: 'best-effort',
    static: false,
    from: null,
    to: null,
    ...over,
  } as EndpointRecord;
}

export const bind = (key: string, atUs: number, record: EndpointRecord): EndpointEvent => ({
  kind: 'bind',
  atUs,
  key,
  record,
});
export const unbind = (key: string, atUs: number): EndpointEvent => ({ kind: 'unbind', atUs, key });

/** who held (VLAN, IPv4) at t: `namespace/pod@node`, or null */
export function ipAt(index: EndpointIndex, vlan: number, ip: string, t: number): string | null {
  const ep = index.byIp4At(vlanScope(vlan), parseIpv4(ip), t);
  return ep && `${ep.namespace}/${ep.pod}@${ep.node}`;
}

export function macAt(index: EndpointIndex, vlan: number, mac: string, t: number): string | null {
  const ep = index.byMacAt(vlanScope(vlan), parseMac(mac), t);
  return ep && `${ep.namespace}/${ep.pod}@${ep.node}`;
}

export function vniIpAt(index: EndpointIndex, vni: number, ip: string, t: number): string | null {
  const ep = index.byIp4At(vniScope(vni), parseIpv4(ip), t);
  return ep && `${ep.namespace}/${ep.pod}@${ep.node}`;
}
