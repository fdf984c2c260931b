/**
 * Attributes a decoded packet to the endpoints that sent and received it. The pod's own
 * (innermost) frame decides: its VNI when it came through VXLAN, else its innermost VLAN
 * tag (untagged = VLAN 0) is the tenant scope; within it the MAC is tried first, then the
 * IP (routed traffic carries a router's MAC). The result says which key matched.
 */
import { type DecodedPacket, DecodeStatus, Layer } from '../decode/packet.js';
import { type Endpoint, type EndpointIndex, vlanScope, vniScope } from './endpoint-index.js';

/** Which key attributed a side of the packet. */
export const MatchedBy = { NONE: 0, MAC: 1, IP: 2 } as const;
export const matchedByName = ['none', 'mac', 'ip'] as const;

/** Why a side of a packet could not be attributed. */
export const Unattributed = {
  NONE: 0,
  UNKNOWN_MAC: 1,
  UNKNOWN_IP: 2,
  NO_TENANT_CONTEXT: 3,
  MALFORMED: 4,
} as const;
export const unattributedName = [
  'none',
  'unknown_mac',
  'unknown_ip',
  'no_tenant_context',
  'malformed',
] as const;

/** Reused per packet: the attribution of both directions. */
export class Attribution {
  src: Endpoint | null = null;
  dst: Endpoint | null = null;
  srcBy = 0;
  dstBy = 0;
  srcReason = 0;
  dstReason = 0;
  /** the result holds for packets of the same addresses in [validFrom, validTo) µs */
  validFrom = 0;
  validTo = 0;
  /** the index generation it was computed under */
  generation = 0;
}

/** Counters of unattributed sides by reason: [side 0 = src, 1 = dst][reason]. */
export class AttributionCounters {
  packets = 0;
  /** packets with at least one side attributed */
  attributed = 0;
  /** per reason; index NONE counts attributed sides */
  readonly src = new Float64Array(unattributedName.length);
  readonly dst = new Float64Array(unattributedName.length);
}

/** A group MAC (broadcast, multicast) never identifies a pod: skip straight to the IP. */
function isGroupMac(mac: number): boolean {
  // bit 0 of the first octet; the first octet is bits 40..47 of the 48-bit number
  return (Math.floor(mac / 0x10000000000) & 1) === 1;
}

/**
 * MAC first, then the IP of the same side; sets the side's `srcBy`/`dstBy` in `out`. A MAC
 * that several live bindings claim (a conflict) names only the newest of them: then the IP
 * decides when it belongs to one of those claimants, else the MAC's answer stands.
 */
function lookupSide(
  index: EndpointIndex,
  scope: number,
  mac: number,
  ipVersion: number,
  ip4: number,
  ip6: Uint8Array,
  tUs: number,
  out: Attribution,
  dst: boolean,
): Endpoint | null {
  let by: number = MatchedBy.NONE;
  let ep = isGroupMac(mac) ? null : index.byMacAt(scope, mac, tUs);
  if (ep !== null) {
    by = MatchedBy.MAC;
    if (index.ambiguous) {
      const byIp = lookupIp(index, scope, ipVersion, ip4, ip6, tUs);
      if (byIp !== null && byIp.macNum === mac) {
        ep = byIp;
        by = MatchedBy.IP;
      }
    }
  } else {
    ep = lookupIp(index, scope, ipVersion, ip4, ip6, tUs);
    if (ep !== null) by = MatchedBy.IP;
  }
  if (dst) out.dstBy = by;
  else out.srcBy = by;
  return ep;
}

function lookupIp(
  index: EndpointIndex,
  scope: number,
  ipVersion: number,
  ip4: number,
  ip6: Uint8Array,
  tUs: number,
): Endpoint | null {
  if (ipVersion === 4) return index.byIp4At(scope, ip4, tUs);
  if (ipVersion === 6) return index.byIp6At(scope, ip6, tUs);
  return null;
}

export function packetTimeUs(tsSec: number, tsNsec: number): number {
  return tsSec * 1_000_000 + Math.floor(tsNsec / 1000);
}

export function attribute(
  p: DecodedPacket,
  tUs: number,
  index: EndpointIndex,
  out: Attribution,
  counters: AttributionCounters,
): void {
  out.src = null;
  out.dst = null;
  out.srcBy = MatchedBy.NONE;
  out.dstBy = MatchedBy.NONE;
  counters.packets++;
  index.beginLookups();
  out.generation = index.generation;

  const decodedL2 = (p.layers & Layer.ETHERNET) !== 0;
  const malformed = p.status !== DecodeStatus.OK && p.status !== DecodeStatus.TRUNCATED;
  if (!decodedL2 || (malformed && p.ipVersion === 0)) {
    out.srcReason = Unattributed.MALFORMED;
    out.dstReason = Unattributed.MALFORMED;
    counters.src[Unattributed.MALFORMED]++;
    counters.dst[Unattributed.MALFORMED]++;
    // a property of this packet, not of its addresses: valid for no other packet
    out.validFrom = tUs;
    out.validTo = tUs;
    return;
  }

  const scope = p.vni >= 0 ? vniScope(p.vni) : vlanScope(p.vlan);
  if (!index.hasScope(scope)) {
    out.srcReason = Unattributed.NO_TENANT_CONTEXT;
    out.dstReason = Unattributed.NO_TENANT_CONTEXT;
    counters.src[Unattributed.NO_TENANT_CONTEXT]++;
    counters.dst[Unattributed.NO_TENANT_CONTEXT]++;
    out.validFrom = Number.NEGATIVE_INFINITY;
    out.validTo = Number.POSITIVE_INFINITY;
    return;
  }

  const ipv = p.ipVersion;
  const noIpReason = ipv === 0 ? Unattributed.UNKNOWN_MAC : Unattributed.UNKNOWN_IP;
  let ep = lookupSide(index, scope, p.srcMac, ipv, p.src4, p.src6, tUs, out, false);
  out.src = ep;
  out.srcReason = ep !== null ? Unattributed.NONE : noIpReason;
  counters.src[out.srcReason]++;

  ep = lookupSide(index, scope, p.dstMac, ipv, p.dst4, p.dst6, tUs, out, true);
  out.dst = ep;
  out.dstReason = ep !== null ? Unattributed.NONE : noIpReason;
  counters.dst[out.dstReason]++;

  if (out.src !== null || out.dst !== null) counters.attributed++;
  out.validFrom = index.stableFrom;
  out.validTo = index.stableTo;
}
