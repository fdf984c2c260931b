/**
 * The live stream's messages and the pure functions that decide what one client sees:
 * its scope (api/access.ts) first, then its own filters, which can only narrow it.
 *
 * Server → client, JSON text frames:
 *   {type:'rates', t, pods:[{namespace,pod,node,tier,rxBps,txBps,minBps,maxBps}],
 *    nodes:[{node,rxBps,txBps,capacityBps}], dropped:{samples, rates}}     once a second
 *   {type:'sample', t, vlan, vni, srcMac, dstMac, srcIp, dstIp, protocol, srcPort, dstPort,
 *    length, src:{namespace,pod,node,tier}, dst:{…}}                       attributed packet samples
 *   {type:'heartbeat', t}                                                    with each ping
 *   {type:'subscribed', filter} | {type:'error', error}                      answers to subscribe
 * Client → server: {type:'subscribe', namespace?, pod?, vlan?, vni?, samples?}
 *
 * `t` is ms since the epoch. A side of a sample outside a tenant's scope is `external`:
 * namespace, pod, node and tier empty, its MAC and IP withheld ('').
 */
import { z } from 'zod';
import { NAMESPACE_RE, type Scope, sees } from '../access.js';
import type { NodeRate, PodRate } from '../pods.js';

/** A pod's rates as the stream sends them, with the VLANs and VNIs of its interfaces (for filters). */
export interface LivePod extends PodRate {
  vlans: readonly number[];
  vnis: readonly number[];
}

export interface LiveNode extends NodeRate {
  /** the node's pod data plane, bits per second */
  capacityBps: number;
}

/** One reading of the rates: what a tick sends, before scope and filters. */
export interface RatesReading {
  t: number;
  pods: readonly LivePod[];
  nodes: readonly LiveNode[];
}

export interface SampleSide {
  namespace: string;
  pod: string;
  node: string;
  tier: string;
}

/** An attributed packet sample as the stream sends it (an admin's view). */
export interface LiveSample {
  type: 'sample';
  t: number;
  vlan: number;
  vni: number;
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  length: number;
  src: SampleSide;
  dst: SampleSide;
}

export const filterSchema = z
  .object({
    namespace: z.string().regex(NAMESPACE_RE, 'expected a Kubernetes namespace name').optional(),
    pod: z.string().min(1).max(253).optional(),
    vlan: z.number().int().min(0).max(4094).optional(),
    vni: z.number().int().min(0).max(0xffffff).optional(),
    samples: z.boolean().optional(),
  })
  .strict();
export type Filter = z.infer<typeof filterSchema>;

export const subscribeSchema = filterSchema.extend({ type: z.literal('subscribe') }).strict();

/** The same filters from an upgrade's query string (all strings there). */
export const filterQuerySchema = z
  .object({
    namespace: z.string().regex(NAMESPACE_RE, 'expected a Kubernetes namespace name').optional(),
    pod: z.string().min(1).max(253).optional(),
    vlan: z.coerce.number().int().min(0).max(4094).optional(),
    vni: z.coerce.number().int().min(0).max(0xffffff).optional(),
    samples: z.enum(['0', '1', 'true', 'false']).optional(),
  })
  .strict()
  .transform(
    ({ samples, ...f }): Filter => ({
      ...f,
      ...(samples === undefined ? {} : { samples: samples === '1' || samples === 'true' }),
    }),
  );

/** `param: message; …` naming each bad field. */
export function issuesOf(err: z.ZodError): string {
  return err.issues
    .map((i) =>
      i.code === 'unrecognized_keys'
        ? `${i.keys.join(', ')}: unknown field`
        : `${i.path.join('.') || 'message'}: ${i.message}`,
    )
    .join('; ');
}

/** Why a filter asks for more than the scope allows (null: it does not). */
export function filterProblem(scope: Scope, f: Filter): string | null {
  if (f.namespace !== undefined && !sees(scope, f.namespace))
    return `namespace: '${f.namespace}' is outside this token's scope`;
  return null;
}

function podMatches(f: Filter, p: LivePod): boolean {
  if (f.namespace !== undefined && p.namespace !== f.namespace) return false;
  if (f.pod !== undefined && p.pod !== f.pod) return false;
  if (f.vlan !== undefined && !p.vlans.includes(f.vlan)) return false;
  if (f.vni !== undefined && !p.vnis.includes(f.vni)) return false;
  return true;
}

/**
 * The rates message one client gets: pods in its scope and filters; nodes only for an
 * admin (a node's total tells of every tenant's traffic on it).
 */
export function ratesFor(
  scope: Scope,
  f: Filter,
  r: RatesReading,
  dropped: { samples: number; rates: number },
) {
  const pods = [];
  for (const p of r.pods) {
    if (!sees(scope, p.namespace) || !podMatches(f, p)) continue;
    pods.push({
      namespace: p.namespace,
      pod: p.pod,
      node: p.node,
      tier: p.tier,
      rxBps: Math.round(p.rxBps),
      txBps: Math.round(p.txBps),
      minBps: p.minBps,
      maxBps: p.maxBps,
    });
  }
  const nodes =
    scope.kind === 'admin'
      ? r.nodes.map((n) => ({
          node: n.node,
          rxBps: Math.round(n.rxBps),
          txBps: Math.round(n.txBps),
          capacityBps: n.capacityBps,
        }))
      : [];
  return { type: 'rates' as const, t: r.t, pods, nodes, dropped };
}

const EXTERNAL: SampleSide = Object.freeze({ namespace: '', pod: '', node: '', tier: '' });

/**
 * The sample as one client may see it, or null when it may not (no side in its scope, or
 * outside its filters). The side outside a tenant's scope is `external`, its addresses withheld.
 */
export function sampleFor(scope: Scope, f: Filter, s: LiveSample): LiveSample | null {
  if (f.samples !== true) return null;
  if (f.vlan !== undefined && s.vlan !== f.vlan) return null;
  if (f.vni !== undefined && s.vni !== f.vni) return null;
  const srcIn = sees(scope, s.src.namespace);
  const dstIn = sees(scope, s.dst.namespace);
  if (!srcIn && !dstIn) return null;
  const side = (x: SampleSide, visible: boolean) =>
    visible &&
    (f.namespace === undefined || x.namespace === f.namespace) &&
    (f.pod === undefined || x.pod === f.pod);
  if (!side(s.src, srcIn) && !side(s.dst, dstIn)) return null;
  if (srcIn && dstIn) return s;
  return srcIn
    ? { ...s, dstMac: '', dstIp: '', dst: EXTERNAL }
    : { ...s, srcMac: '', srcIp: '', src: EXTERNAL };
}
