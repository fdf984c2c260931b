/** Plain rows of the schema's tables for the ingest suites, at a time the test chooses. */
import type { flows, packet_samples, RowOf } from '../../ingest/schema.js';

const side = (p: 'src' | 'dst', namespace: string, pod: string, node: string) => ({
  [`${p}_namespace`]: namespace,
  [`${p}_pod`]: pod,
  [`${p}_node`]: node,
  [`${p}_interface`]: 'eth0',
  [`${p}_network`]: 'l2',
  [`${p}_tier`]: 'gold',
});

interface PacketOf {
  srcPod: string;
  srcIp: string;
  srcPort: number;
}

const packet = (o: PacketOf) => ({
  vlan: 100,
  vni: -1,
  src_mac: 0x020000000001,
  dst_mac: 0x020000000002,
  src_ip: o.srcIp,
  dst_ip: '::ffff:10.0.0.2',
  src_port: o.srcPort,
  dst_port: 443,
  protocol: 6,
  tcp_flags: 0x18,
  ...side('src', 'a', o.srcPod, 'n1'),
  ...side('dst', 'b', 'b-1', 'n2'),
});

/** A one-packet, 1500-byte flow; `tag` is its observation point (how tests find their rows). */
export function flowRow(
  tag: string,
  o: Partial<PacketOf> & { windowStart?: number } = {},
): RowOf<typeof flows> {
  return {
    window_start: o.windowStart ?? 1_800_000_000,
    window_seconds: 60,
    observation: tag,
    ...packet({
      srcPod: o.srcPod ?? 'a-1',
      srcIp: o.srcIp ?? '::ffff:10.0.0.1',
      srcPort: o.srcPort ?? 40000,
    }),
    bytes: 1500,
    packets: 1,
    samples: 1,
    sampling_rate: 1,
  } as unknown as RowOf<typeof flows>;
}

/** A flow of `srcPod` in the window starting at `windowStart` (seconds). */
export const flowRowAt = (windowStart: number, srcPod: string) => flowRow('test', { windowStart, srcPod });

/** A packet sample seen at `timeUs` (µs since the epoch). */
export function sampleRowAt(timeUs: number, srcPod = 'web-1'): RowOf<typeof packet_samples> {
  return {
    time: timeUs,
    observation: 'test',
    frame: Buffer.from('0200000000020200000000018100', 'hex'),
    frame_length: 100,
    ...packet({ srcPod, srcIp: '::ffff:10.0.0.1', srcPort: 40000 }),
    sampling_rate: 1,
    ethertype: 0x0800,
  } as unknown as RowOf<typeof packet_samples>;
}
