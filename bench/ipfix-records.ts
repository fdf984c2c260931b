/**
 * The IPFIX flow records of the bench traffic mix, shared by bench:netflow and bench:udp:
 * four templates (IPv4/IPv6 × with/without layer2SegmentId), an options template for the
 * samplerId's rate, and a frame's record values (decoded with the packet path's decoders).
 */
import { ipv4ToString, ipv6ToString } from '../collector/decode/addr.js';
import { decodeFrame } from '../collector/decode/frame.js';
import { type DecodedPacket, decodeConfig } from '../collector/decode/packet.js';
import { field as f, IE, type TemplateDef, type Value } from '../collector/netflow/encode.js';

const common = [
  f(IE.sourceTransportPort, 2),
  f(IE.destinationTransportPort, 2),
  f(IE.protocolIdentifier, 1),
  f(IE.tcpControlBits, 1),
  f(IE.ingressInterface, 4),
  f(IE.egressInterface, 4),
  f(IE.octetDeltaCount, 8),
  f(IE.packetDeltaCount, 8),
  f(IE.flowStartMilliseconds, 8),
  f(IE.flowEndMilliseconds, 8),
  f(IE.sourceMacAddress, 6),
  f(IE.destinationMacAddress, 6),
  f(IE.dot1qVlanId, 2),
  f(IE.dot1qCustomerVlanId, 2),
  f(IE.samplerId, 1),
];
const v4 = [f(IE.sourceIPv4Address, 4), f(IE.destinationIPv4Address, 4)];
const v6 = [f(IE.sourceIPv6Address, 16), f(IE.destinationIPv6Address, 16)];
export const TEMPLATES: TemplateDef[] = [
  { id: 256, fields: [...v4, ...common] },
  { id: 257, fields: [...v6, ...common] },
  { id: 258, fields: [...v4, ...common, f(IE.layer2SegmentId, 8)] },
  { id: 259, fields: [...v6, ...common, f(IE.layer2SegmentId, 8)] },
];
export const OPTIONS: TemplateDef = {
  id: 300,
  scopeCount: 1,
  fields: [f(IE.samplerId, 1), f(IE.samplerMode, 1), f(IE.samplerRandomInterval, 4)],
};
export const recordBytes = TEMPLATES.map((t) => t.fields.reduce((a, x) => a + x.length, 0));

/** A frame's record values (after the counters and times are drawn) and its template. */
export function recordOf(frame: Buffer, p: DecodedPacket): { t: number; values: (n: number) => Value[] } {
  decodeFrame(frame, 0, frame.length, frame.length, 1, p, decodeConfig());
  const ip6 = p.ipVersion === 6;
  const src = ip6 ? ipv6ToString(p.src6) : ipv4ToString(p.src4);
  const dst = ip6 ? ipv6ToString(p.dst6) : ipv4ToString(p.dst4);
  const vxlan = p.vni >= 0;
  const outer = p.vlanCount >= 1 ? p.vlans[0] : 0;
  const inner = p.vlanCount >= 2 ? p.vlans[1] : 0;
  const t = (ip6 ? 1 : 0) + (vxlan ? 2 : 0);
  const mac = (m: number) => BigInt(m);
  const length = p.innerLength;
  const tail: Value[] = vxlan ? [(1n << 56n) | BigInt(p.vni)] : [];
  const srcPort = p.srcPort;
  const dstPort = p.dstPort;
  const proto = Math.max(p.protocol, 0);
  const flags = p.tcpFlags;
  const sm = mac(p.srcMac);
  const dm = mac(p.dstMac);
  return {
    t,
    values: (n: number) => [
      src,
      dst,
      srcPort,
      dstPort,
      proto,
      flags,
      3,
      4,
      n * length,
      n,
      0,
      0,
      sm,
      dm,
      outer,
      inner,
      1,
      ...tail,
    ],
  };
}
