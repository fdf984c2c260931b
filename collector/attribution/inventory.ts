/**
 * The endpoint inventory contract: what the provisioning agent created, as JSON. Later
 * live sources (Kubernetes, CNI cache, demo agent) produce the same records. Validation
 * errors name the path of the bad field and what was expected. Files are read by
 * inventory-file.ts, which loads this schema only for a file it cannot vouch for.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { InventoryError } from './inventory-error.js';

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

const mac = z.string().regex(MAC_RE, 'expected a MAC address like 02:00:00:00:01:01');
const ip = z.string().refine((s) => isIPv4(s) || isIPv6(s), 'expected an IPv4 or IPv6 address');
const instant = z.iso.datetime({
  offset: true,
  message: 'expected an ISO 8601 time like 2026-11-26T00:00:00Z',
});

const common = {
  namespace: z.string().min(1),
  pod: z.string().min(1),
  node: z.string().min(1),
  interface: z.string().min(1).default('eth0'),
  network: z.string().default(''),
  mac,
  ips: z.array(ip).default([]),
  tier: z.string().default(''),
  static: z.boolean().default(false),
  /**
   * the host-side device of this interface on its node (the veth peer, the OVS port, the VF
   * representor): what the netdev and tc sources read; joins their series to the pod
   */
  hostInterface: z
    .string()
    .regex(/^[^/\s\0]{1,15}$/, 'expected an interface name (at most 15 characters, no / or spaces)')
    .optional(),
  from: instant.nullable().default(null),
  to: instant.nullable().default(null),
};

const l2Endpoint = z.object({
  ...common,
  mode: z.literal('l2'),
  vlan: z.number().int().min(0).max(4094).default(0),
  vf: z.object({ pf: z.string().min(1), index: z.number().int().min(0).max(255) }).optional(),
});

const overlayEndpoint = z.object({
  ...common,
  mode: z.literal('overlay'),
  vni: z.number().int().min(0).max(0xffffff),
});

export const endpointSchema = z.discriminatedUnion('mode', [l2Endpoint, overlayEndpoint]);

export const inventorySchema = z.object({
  version: z.literal(1),
  nodes: z.array(z.object({ name: z.string().min(1), vteps: z.array(ip).default([]) })).default([]),
  endpoints: z.array(endpointSchema),
});

export type EndpointRecord = z.infer<typeof endpointSchema>;
export type Inventory = z.infer<typeof inventorySchema>;

// reading a file: a walk that needs no zod, the schema only when it cannot vouch for the file
export { loadInventory } from './inventory-file.js';
export { InventoryError };

/** Validates parsed JSON; throws InventoryError listing each bad field by path. */
export function parseInventory(json: unknown, source = 'inventory'): Inventory {
  const r = inventorySchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new InventoryError(`${source}: invalid inventory\n${lines.join('\n')}`, source);
  }
  for (const [i, e] of r.data.endpoints.entries()) {
    if (e.from && e.to && Date.parse(e.to) <= Date.parse(e.from)) {
      throw new InventoryError(
        `${source}: invalid inventory\n  endpoints.${i}.to: must be after from`,
        source,
      );
    }
  }
  return r.data;
}
