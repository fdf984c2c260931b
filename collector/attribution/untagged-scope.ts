/**
 * The tenant scope of a capture's untagged frames. Attribution takes the scope from the
 * frame (its VNI inside VXLAN, else its innermost VLAN, untagged = VLAN 0), but a mirror of
 * a pod-side interface carries the pod's own frames without either: an overlay pod's
 * traffic there is plain Ethernet, and its endpoints are keyed by VNI. A capture that knows
 * what it mirrors says so (`--untagged-scope vni:5001`, `vlan:100`): its frames without a
 * VLAN ID and outside VXLAN are then attributed — and recorded, flows and samples — as
 * frames of that VNI or VLAN.
 */
import type { DecodedPacket } from '../decode/packet.js';

export interface UntaggedScope {
  readonly kind: 'vlan' | 'vni';
  readonly id: number;
}

/** Parses `vni:N` (0..16777215) or `vlan:N` (1..4094); a RangeError says what was expected. */
export function parseUntaggedScope(text: string): UntaggedScope {
  const m = /^(vni|vlan):(\d+)$/.exec(text.trim().toLowerCase());
  const id = m ? Number(m[2]) : Number.NaN;
  if (m?.[1] === 'vni' && id <= 0xffffff) return { kind: 'vni', id };
  if (m?.[1] === 'vlan' && id >= 1 && id <= 4094) return { kind: 'vlan', id };
  throw new RangeError(`"${text}" is not a tenant scope: expected vni:N (0..16777215) or vlan:N (1..4094)`);
}

export const untaggedScopeName = (s: UntaggedScope): string => `${s.kind}:${s.id}`;

/** Puts an untagged, untunnelled frame (VLAN ID 0, no VNI) into the scope. */
export function applyUntaggedScope(p: DecodedPacket, s: UntaggedScope): void {
  if (p.vni >= 0 || p.vlan !== 0) return;
  if (s.kind === 'vni') p.vni = s.id;
  else p.vlan = s.id;
}
