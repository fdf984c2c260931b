/**
 * Rows for packet_samples and vf_counters: a sampled frame is copied (capture readers reuse
 * their buffer), addresses and attribution land in their columns; VF counter deltas give
 * one row per VF that moved, joined to the pod that held the VF.
 */
import { describe, expect, it } from 'vitest';
import { Attribution } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { CapturedPacket } from '../../collector/capture/types.js';
import { decodeFrame } from '../../collector/decode/frame.js';
import { DecodedPacket, decodeConfig } from '../../collector/decode/packet.js';
import { NicCollector } from '../../collector/nic/collector.js';
import type { VfSample } from '../../collector/nic/types.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { capturedFrame, packetSampleRow, SAMPLE_BYTES, vfCounterRows } from '../../ingest/sample-rows.js';

describe('packetSampleRow', () => {
  it('copies the first bytes of the frame and fills the decoded and attribution columns', () => {
    const frame = podFrame(
      { mac: '02:00:00:00:00:01', ip: '10.0.0.1', node: 'a' },
      { mac: '02:00:00:00:00:02', ip: '10.0.0.2', node: 'b' },
      { proto: 'udp', sport: 5000, dport: 53, size: 300 },
      [{ vid: 100 }],
    );
    const c = new CapturedPacket();
    c.data = Buffer.concat([Buffer.alloc(7), frame]); // the frame at an offset, as in a reader's buffer
    c.offset = 7;
    c.capLength = c.wireLength = frame.length;
    c.tsSec = 1_764_000_000;
    c.tsNsec = 123_456_789;
    const p = new DecodedPacket();
    decodeFrame(c.data, c.offset, c.capLength, c.wireLength, c.linkType, p, decodeConfig());
    const index = EndpointIndex.fromInventory({
      version: 1,
      nodes: [],
      endpoints: [
        {
          namespace: 'shop',
          pod: 'web-1',
          node: 'a',
          interface: 'eth0',
          network: 'n',
          mac: '02:00:00:00:00:01',
          ips: ['10.0.0.1'],
          tier: 'high',
          static: false,
          from: null,
          to: null,
          mode: 'l2',
          vlan: 100,
        },
      ],
    });
    const a = new Attribution();
    a.src = index.byMacAt(100, p.srcMac, 0);
    const row = packetSampleRow(capturedFrame(c), p, a, 'mirror:test', 1);
    c.data.fill(0xee); // the reader reuses its buffer for the next packet
    expect(Buffer.from(row.frame).equals(frame.subarray(0, SAMPLE_BYTES))).toBe(true);
    expect(row).toMatchObject({
      time: 1_764_000_000_123_456,
      frame_length: frame.length,
      vlan: 100,
      vni: -1,
      src_ip: '10.0.0.1',
      dst_ip: '10.0.0.2',
      src_port: 5000,
      dst_port: 53,
      protocol: 17,
      src_namespace: 'shop',
      src_pod: 'web-1',
      src_tier: 'high',
      dst_pod: '',
      observation: 'mirror:test',
    });
  });
});

describe('vfCounterRows', () => {
  const vf = (n: number, over: Partial<VfSample>): VfSample => ({
    node: 'node-a',
    pf: 'ens1f0',
    vf: n,
    mac: '',
    vlan: 0,
    qos: 0,
    minTxRate: 1e9,
    maxTxRate: 4e9,
    spoofCheck: null,
    trust: null,
    linkState: null,
    pciAddress: null,
    rxBytes: 0,
    rxPackets: 0,
    rxDropped: 0,
    rxBroadcast: 0,
    rxMulticast: 0,
    txBytes: 0,
    txPackets: 0,
    txDropped: 0,
    qosDropped: 0,
    ...over,
  });

  it('gives a row per VF that moved, with its deltas, rates and the pod holding it', async () => {
    let t = Date.parse('2026-11-26T10:00:00Z');
    const readings = [
      [vf(0, { txBytes: 1000, rxBytes: 10 }), vf(1, {})],
      [vf(0, { txBytes: 5000, rxBytes: 70, qosDropped: 3 }), vf(1, {})],
    ];
    let i = 0;
    const c = new NicCollector({
      sources: [
        { name: 'x', read: async () => ({ vfs: readings[Math.min(i++, 1)]!, qdiscs: [], netdevs: [] }) },
      ],
      clock: () => t,
      log: () => {},
    });
    await c.collect();
    t += 15_000;
    const s = await c.collect();
    const rows = vfCounterRows(s, (_node, _pf, n) =>
      n === 0 ? ({ namespace: 'shop', pod: 'web-1', tier: 'standard' } as never) : null,
    );
    expect(rows).toEqual([
      {
        time: Math.floor(t / 1000),
        node: 'node-a',
        pf: 'ens1f0',
        vf: 0,
        namespace: 'shop',
        pod: 'web-1',
        tier: 'standard',
        rx_bytes: 60,
        rx_packets: 0,
        rx_dropped: 0,
        tx_bytes: 4000,
        tx_packets: 0,
        tx_dropped: 0,
        qos_dropped: 3,
        min_rate: 1e9,
        max_rate: 4e9,
      },
    ]);
  });
});
