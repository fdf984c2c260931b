/** Plain rows of the schema's tables for the ingest suites, at a time the test chooses. */
import type { flows, packet_samples, RowOf } from '../../ingest/schema.js';

const side = (p: 'src' | 'dst', pod: string) => ({
  [`${p}_namespace`]: 'shop',
  [`${p}_pod`]: pod,
  [`${p}_node`]: 'node-a',
  [`${p}_interface`]: 'eth0',
  [`${p}_network`]: 'l2',
  [`${p}_tier`]: 'gold',
});

const packet = (srcPod: string) => ({
  vlan: 100,
  vni: -1,
  src_mac: 0x020000000001,
  dst_mac: 0x020000000002,
  src_ip: '::ffff:10.0.0.1',
  dst_ip: '::ffff:10.0.0.2',
  src_port: 40000,
  dst_port: 443,
  protocol: 6,
  tcp_flags: 0x18,
  ...side('src', srcPod),
  ...side('dst', 'db-1'),
});

/** A one-packet flow of `srcPod` in the window starting at `windowStart` (seconds). */
export function flowRowAt(windowStart: number, srcPod: string): RowOf<typeof flows> {
  return {
    window_start: windowStart,
    window_seconds: 60,
    observation: 'test',
    ...packet(srcPod),
    bytes: 1500,
    packets: 1,
    samples: 1,
    sampling_rate: 1,
  } as unknown as RowOf<typeof flows>;
}

/** A packet sample seen at `timeUs` (µs since the epoch). */
export function sampleRowAt(timeUs: number, srcPod = 'web-1'): RowOf<typeof packet_samples> {
  return {
    time: timeUs,
    observation: 'test',
    frame: Buffer.from('0200000000020200000000018100', 'hex'),
    frame_length: 100,
    ...packet(srcPod),
    sampling_rate: 1,
    ethertype: 0x0800,
  } as unknown as RowOf<typeof packet_samples>;
}
