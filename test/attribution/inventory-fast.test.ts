/**
 * The zod-free inventory walk (inventory-file.ts) against the schema (inventory.ts): for
 * every input, either the walk declines (the schema decides) or it returns exactly what the
 * schema returns — same values, same key order; it never accepts what the schema refuses.
 * And it vouches for the inventories podwire ships and benchmarks, so they skip zod.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inventorySchema } from '../../collector/attribution/inventory.js';
import { parseInventoryFast } from '../../collector/attribution/inventory-file.js';
import { demoInventory } from '../../collector/nic/demo.js';
import { mixedTraffic } from '../../collector/synth/scenario.js';

/** the walk agrees with the schema on `json`; returns whether it vouched */
function agrees(json: unknown): boolean {
  const schema = inventorySchema.safeParse(json);
  const fast = parseInventoryFast(structuredClone(json));
  if (!schema.success) {
    expect(fast, JSON.stringify(json)).toBeUndefined();
    return false;
  }
  if (fast === undefined) return false;
  expect(fast).toStrictEqual(schema.data);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(schema.data));
  return true;
}

const l2 = {
  namespace: 'team-a',
  pod: 'web-0',
  node: 'node-a',
  interface: 'net1',
  network: 'vlan-100',
  mode: 'l2',
  mac: '02:00:00:00:01:01',
  ips: ['10.10.0.11', 'fd00::11'],
  tier: 'high',
  static: false,
  hostInterface: 'veth1234',
  vlan: 100,
  vf: { pf: 'ens1f0', index: 3 },
  from: '2026-11-26T09:00:00Z',
  to: null,
};
const overlay = {
  namespace: 'team-b',
  pod: 'db-0',
  node: 'node-b',
  mode: 'overlay',
  mac: '02:00:00:00:02:02',
  vni: 5001,
};

/** values every field is tried with: right and wrong types, edges, calendar corners */
const VALUES: unknown[] = [
  undefined,
  null,
  '',
  'x',
  0,
  -1,
  1.5,
  255,
  256,
  4094,
  4095,
  0xffffff,
  0x1000000,
  true,
  false,
  [],
  {},
  ['10.0.0.1'],
  ['not-an-ip'],
  ['fe80::1%eth0'],
  { pf: 'p', index: 255 },
  { pf: '', index: 1 },
  { pf: 'p', index: 256, extra: 1 },
  '02:00:00:00:01:01',
  '02:00:00:00:01',
  '10.0.0.1',
  '::1',
  'l2',
  'overlay',
  'eth0',
  'a'.repeat(15),
  'a'.repeat(16),
  'a/b',
  '2026-11-26T09:00:00Z',
  '2026-11-26T09:00:00.123456+05:30',
  '2026-11-26T09:00Z',
  '2026-11-26T24:00:00Z',
  '2026-11-26 09:00:00Z',
  '2026-11-26T09:00:00',
  '2024-02-29T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-12-31T23:59:59-23:59',
  '2026-13-01T00:00:00Z',
  '2027-01-01T00:00:00Z',
  '2026-01-01T00:00:00Z',
];

const withField = (base: Record<string, unknown>, key: string, v: unknown) => {
  const e = { ...base, [key]: v };
  if (v === undefined) delete e[key];
  return e;
};

describe('the inventory walk against the schema', () => {
  it('vouches for the shipped sample, the demo and the bench inventories, as the schema reads them', () => {
    const sample = JSON.parse(readFileSync(new URL('../../samples/inventory.json', import.meta.url), 'utf8'));
    expect(agrees(sample)).toBe(true);
    expect(agrees(JSON.parse(JSON.stringify(demoInventory())))).toBe(true);
    expect(agrees(JSON.parse(JSON.stringify(mixedTraffic().inventory)))).toBe(true);
    expect(agrees({ version: 1, endpoints: [] })).toBe(true);
  });

  it('agrees on every field of an endpoint set to every value (and on a missing one)', () => {
    let vouched = 0;
    let cases = 0;
    for (const base of [l2, overlay, { ...l2, mode: 'overlay', vni: 7 }]) {
      for (const key of [...new Set([...Object.keys(l2), ...Object.keys(overlay), 'unknown'])]) {
        for (const v of VALUES) {
          cases++;
          if (agrees({ version: 1, nodes: [], endpoints: [withField(base, key, v)] })) vouched++;
        }
      }
    }
    // the walk declines only the forms it does not vouch for: most valid cases it takes
    expect(vouched).toBeGreaterThan(cases / 10);
  });

  it('agrees on the top level, the nodes and from/to order', () => {
    const node = { name: 'node-a', vteps: ['192.168.50.1'] };
    for (const v of VALUES) {
      agrees({ version: v, endpoints: [] });
      agrees({ version: 1, nodes: v, endpoints: [] });
      agrees({ version: 1, endpoints: v });
      agrees({ version: 1, nodes: [withField(node, 'name', v)], endpoints: [] });
      agrees({ version: 1, nodes: [withField(node, 'vteps', v)], endpoints: [] });
      agrees(v);
    }
    agrees({ version: 1, endpoints: [{ ...l2, from: '2026-11-26T09:00:00Z', to: '2026-11-26T09:00:00Z' }] });
    agrees({
      version: 1,
      endpoints: [{ ...l2, from: '2026-11-26T10:00:00+02:00', to: '2026-11-26T09:00:00Z' }],
    });
    agrees({ version: 1, endpoints: [{ ...l2, to: '2026-11-26T09:00:00Z' }] });
  });
});
