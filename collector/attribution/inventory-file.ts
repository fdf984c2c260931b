/**
 * Reading an inventory file without loading zod: a plain walk accepts what the contract
 * (inventory.ts) certainly accepts and returns what its schema would (defaults filled,
 * unknown keys dropped); anything else — a bad field, or a form the walk does not vouch
 * for — goes to the schema, loaded then, which returns the inventory or the error naming
 * each bad field. Importing zod takes ~0.1 s and its parse of a 4,000-endpoint inventory
 * another ~0.1 s, more than `podwire trace` on a small capture needs in all.
 * test/attribution/inventory-fast.test.ts holds the walk to the schema.
 */
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import type { EndpointRecord, Inventory } from './inventory.js';
import { InventoryError } from './inventory-error.js';

export async function loadInventory(path: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InventoryError(`${path}: cannot read inventory: ${(err as Error).message}`, path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InventoryError(`${path}: not valid JSON: ${(err as Error).message}`, path);
  }
  const fast = parseInventoryFast(json);
  if (fast !== undefined) return fast;
  const { parseInventory } = await import('./inventory.js');
  return parseInventory(json, path);
}

/** Not vouched for: the schema decides (and names the problem). */
class Unsure extends Error {}
const unsure = (): never => {
  throw new Unsure();
};

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const HOST_INTERFACE_RE = /^[^/\s\0]{1,15}$/;
/** RFC 3339 with seconds and Z or an offset (the schema's z.iso.datetime({ offset: true })) */
const INSTANT_RE =
  /^(\d{4})-(\d\d)-(\d\d)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/**
 * The inventory the schema would return for `json`, or undefined when the walk cannot
 * vouch for it (the schema then decides).
 */
export function parseInventoryFast(json: unknown): Inventory | undefined {
  try {
    const o = object(json);
    if (o.version !== 1) unsure();
    const nodes = o.nodes === undefined ? [] : array(o.nodes).map(node);
    const endpoints = array(o.endpoints).map(endpoint);
    for (const e of endpoints) {
      if (e.from && e.to && Date.parse(e.to) <= Date.parse(e.from)) unsure();
    }
    return { version: 1, nodes, endpoints };
  } catch (err) {
    if (err instanceof Unsure) return undefined;
    throw err;
  }
}

function node(v: unknown): Inventory['nodes'][number] {
  const o = object(v);
  return { name: text(o.name), vteps: o.vteps === undefined ? [] : array(o.vteps).map(ip) };
}

function endpoint(v: unknown): EndpointRecord {
  const o = object(v);
  if (o.mode !== 'l2' && o.mode !== 'overlay') unsure();
  // keys added in the schema's order (the common fields, then the mode's), one at a time:
  // spreads made this walk several times slower on its one cold pass
  const e: Record<string, unknown> = {
    namespace: text(o.namespace),
    pod: text(o.pod),
    node: text(o.node),
    interface: o.interface === undefined ? 'eth0' : text(o.interface),
    network: o.network === undefined ? '' : string(o.network),
    mac: matching(o.mac, MAC_RE),
    ips: o.ips === undefined ? [] : array(o.ips).map(ip),
    tier: o.tier === undefined ? '' : string(o.tier),
    static: o.static === undefined ? false : boolean(o.static),
  };
  if (o.hostInterface !== undefined) e.hostInterface = matching(o.hostInterface, HOST_INTERFACE_RE);
  e.from = o.from === undefined || o.from === null ? null : instant(o.from);
  e.to = o.to === undefined || o.to === null ? null : instant(o.to);
  e.mode = o.mode;
  if (o.mode === 'overlay') {
    e.vni = int(o.vni, 0, 0xffffff);
  } else {
    e.vlan = o.vlan === undefined ? 0 : int(o.vlan, 0, 4094);
    if (o.vf !== undefined) {
      const vf = object(o.vf);
      e.vf = { pf: text(vf.pf), index: int(vf.index, 0, 255) };
    }
  }
  return e as unknown as EndpointRecord;
}

function object(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) unsure();
  return v as Record<string, unknown>;
}
function array(v: unknown): unknown[] {
  if (!Array.isArray(v)) unsure();
  return v as unknown[];
}
function string(v: unknown): string {
  if (typeof v !== 'string') unsure();
  return v as string;
}
/** a non-empty string */
function text(v: unknown): string {
  const s = string(v);
  if (s.length === 0) unsure();
  return s;
}
function boolean(v: unknown): boolean {
  if (typeof v !== 'boolean') unsure();
  return v as boolean;
}
function int(v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) unsure();
  return v as number;
}
function matching(v: unknown, re: RegExp): string {
  const s = string(v);
  if (!re.test(s)) unsure();
  return s;
}
function ip(v: unknown): string {
  const s = string(v);
  if (!isIPv4(s) && !isIPv6(s)) unsure();
  return s;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function instant(v: unknown): string {
  const s = string(v);
  const m = INSTANT_RE.exec(s);
  if (m === null) unsure();
  const [year, month, day] = [Number(m![1]), Number(m![2]), Number(m![3])];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && leap ? 29 : DAYS[month - 1])) unsure();
  return s;
}
