/**
 * tshark as the independent decoder of hand-built datagrams: every structure encode.ts
 * builds (so that the encoder and decoder cannot agree on a mistake), one sample per
 * datagram, wrapped in UDP in a pcap; tshark's fields must equal what podwire decoded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipv4ToString, ipv6ToString, macToString } from '../../collector/decode/addr.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { type DatagramSpec, encodeDatagram } from '../../collector/sflow/encode.js';
import { SflowIntake } from '../../collector/sflow/intake.js';
import type { InterfaceCounters } from '../../collector/sflow/types.js';
import { ethernet, IpProtocol, ipv4, ipv6, udp } from '../../collector/synth/frames.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { tshark } from '../cli/helpers.js';
import { endpointIndex, PODS, T0 } from './helpers.js';
import { writePcap } from './tools.js';

const PORT = 6343;
const web1 = PODS[0].leg;
const web2 = PODS[1].leg;

const specs: DatagramSpec[] = [
  {
    agent: '192.0.2.1',
    subAgent: 3,
    sequence: 11,
    samples: [
      {
        kind: 'flow',
        sequence: 5,
        sourceType: 0,
        sourceIndex: 7,
        samplingRate: 2048,
        samplePool: 99_000,
        drops: 4,
        input: 7,
        output: 9,
        records: [
          { type: 'ethernet', length: 504, src: web1.mac, dst: web2.mac, etherType: 0x0800 },
          {
            type: 'ipv4',
            length: 486,
            protocol: 6,
            src: web1.ip,
            dst: web2.ip,
            srcPort: 40001,
            dstPort: 443,
            tcpFlags: 0x18,
          },
          { type: 'switch', srcVlan: 100, srcPriority: 3, dstVlan: 200, dstPriority: 4 },
          { type: 'router', nextHop: '192.0.2.254', srcMaskLen: 24, dstMaskLen: 16 },
        ],
      },
    ],
  },
  {
    agent: '2001:db8::7',
    sequence: 12,
    samples: [
      {
        kind: 'flow',
        expanded: true,
        sequence: 6,
        sourceIndex: 70_000,
        samplingRate: 512,
        samplePool: 1_000_000,
        input: 70_000,
        output: 70_001,
        records: [
          {
            type: 'ipv6',
            length: 120,
            protocol: 17,
            src: 'fd00:100::1',
            dst: 'fd00:100::2',
            srcPort: 5353,
            dstPort: 53,
          },
          { type: 'router', nextHop: '2001:db8::fe', srcMaskLen: 64, dstMaskLen: 48 },
          {
            type: 'header',
            frame: podFrame(web1, web2, { proto: 'udp', sport: 1, dport: 2, size: 333 }, [{ vid: 100 }]),
          },
        ],
      },
    ],
  },
  {
    agent: '192.0.2.1',
    subAgent: 3,
    sequence: 13,
    samples: [
      {
        kind: 'counters',
        sequence: 8,
        sourceIndex: 7,
        records: [
          {
            type: 'generic',
            ifIndex: 7,
            ifSpeed: 25e9,
            ifInOctets: 2 ** 40 + 3,
            ifInUcastPkts: 123_456,
            ifOutOctets: 987_654_321_000,
            ifOutErrors: 17,
          },
          { type: 'ethernet', fcsErrors: 21, symbolErrors: 22 },
        ],
      },
    ],
  },
  {
    agent: '192.0.2.1',
    subAgent: 3,
    sequence: 14,
    samples: [
      {
        kind: 'counters',
        expanded: true,
        sequence: 9,
        sourceType: 1,
        sourceIndex: 100,
        records: [{ type: 'vlan', vlanId: 100, octets: 2 ** 33 + 1, ucastPkts: 77, discards: 2 }],
      },
    ],
  },
];

const FIELDS = [
  'sflow_245.agent',
  'sflow_245.agent.v6',
  'sflow_245.sub_agent_id',
  'sflow_245.sequence_number',
  'sflow.flow_sample.sequence_number',
  'sflow.flow_sample.sampling_rate',
  'sflow.flow_sample.sample_pool',
  'sflow.flow_sample.dropped_packets',
  'sflow.flow_sample.index',
  'sflow.flow_sample.source_id_index',
  'sflow.flow_sample.input_interface',
  'sflow.flow_sample.input_interface_value',
  'sflow.flow_sample.output_interface_value',
  'sflow_245.ethernet.source_mac_address',
  'sflow_245.ethernet.destination_mac_address',
  'sflow_245.ipv4_src',
  'sflow_245.ipv4_dst',
  'sflow_245.ipv6_src',
  'sflow_245.ipv6_dst',
  'sflow_245.ip.source_port',
  'sflow.ip.destination_port',
  'sflow_245.vlan.in',
  'sflow_245.vlan.out',
  'sflow_245.pri.in',
  'sflow_245.nexthop',
  'sflow_245.nexthop.v6',
  'sflow_245.nexthop.src_mask',
  'sflow_245.nexthop.dst_mask',
  'sflow_245.header.frame_length',
  'sflow.counters_sample.sequence_number',
  'sflow.counters_sample.source_id_index',
  'sflow_245.ifindex',
  'sflow_245.ifspeed',
  'sflow_245.ifinoct',
  'sflow_245.ifinpkt',
  'sflow_245.ifoutoct',
  'sflow_245.ifouterr',
  'sflow_245.dot3StatsFCSErrors',
  'sflow_245.dot3StatsSymbolErrors',
  'sflow_245.vlan_id',
  'sflow_245.octets',
  'sflow_245.ucastPkts',
  'sflow_245.discards',
] as const;
type Row = Partial<Record<(typeof FIELDS)[number], string>>;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podwire-sflow-tshark-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What podwire decoded of each datagram, in tshark's field names. */
function ours(datagrams: Buffer[]): Row[] {
  const rows: Row[] = [];
  let row: Row = {};
  const intake = new SflowIntake({
    index: endpointIndex(),
    decode: decodeConfig(),
    onSample: (_d, s) => {
      const r = row;
      r['sflow.flow_sample.sequence_number'] = String(s.sequence);
      r['sflow.flow_sample.sampling_rate'] = String(s.samplingRate);
      r['sflow.flow_sample.sample_pool'] = String(s.samplePool);
      r['sflow.flow_sample.dropped_packets'] = String(s.drops);
      if (s.expanded) {
        r['sflow.flow_sample.source_id_index'] = String(s.sourceIndex);
        r['sflow.flow_sample.input_interface_value'] = String(s.input);
        r['sflow.flow_sample.output_interface_value'] = String(s.output);
      } else {
        r['sflow.flow_sample.index'] = String(s.sourceIndex);
        r['sflow.flow_sample.input_interface'] = String(s.input);
        // tshark names the compact output interface's value like the expanded one
        r['sflow.flow_sample.output_interface_value'] = String(s.output);
      }
      if (s.records & 2) {
        r['sflow_245.ethernet.source_mac_address'] = macToString(s.ethSrc);
        r['sflow_245.ethernet.destination_mac_address'] = macToString(s.ethDst);
      }
      if (s.records & 4) {
        r['sflow_245.ipv4_src'] = ipv4ToString(s.src4);
        r['sflow_245.ipv4_dst'] = ipv4ToString(s.dst4);
      }
      if (s.records & 8) {
        r['sflow_245.ipv6_src'] = ipv6ToString(s.src6);
        r['sflow_245.ipv6_dst'] = ipv6ToString(s.dst6);
      }
      if (s.records & 12) {
        r['sflow_245.ip.source_port'] = String(s.srcPort);
        r['sflow.ip.destination_port'] = String(s.dstPort);
      }
      if (s.records & 16) {
        r['sflow_245.vlan.in'] = String(s.srcVlan);
        r['sflow_245.vlan.out'] = String(s.dstVlan);
        r['sflow_245.pri.in'] = String(s.srcPriority);
      }
      if (s.records & 32) {
        if (s.nextHopType === 1) r['sflow_245.nexthop'] = ipv4ToString(s.nextHop4);
        else r['sflow_245.nexthop.v6'] = ipv6ToString(s.nextHop6);
        r['sflow_245.nexthop.src_mask'] = String(s.srcMaskLen);
        r['sflow_245.nexthop.dst_mask'] = String(s.dstMaskLen);
      }
      if (s.records & 1) r['sflow_245.header.frame_length'] = String(s.frameLength);
    },
    onCounters: (c: InterfaceCounters) => {
      const r = row;
      r['sflow.counters_sample.sequence_number'] = String(c.sequence);
      r['sflow.counters_sample.source_id_index'] = String(c.sourceIndex);
      if (c.generic) {
        r['sflow_245.ifindex'] = String(c.generic.ifIndex);
        r['sflow_245.ifspeed'] = String(c.generic.ifSpeed);
        r['sflow_245.ifinoct'] = String(c.generic.ifInOctets);
        r['sflow_245.ifinpkt'] = String(c.generic.ifInUcastPkts);
        r['sflow_245.ifoutoct'] = String(c.generic.ifOutOctets);
        r['sflow_245.ifouterr'] = String(c.generic.ifOutErrors);
      }
      if (c.ethernet) {
        r['sflow_245.dot3StatsFCSErrors'] = String(c.ethernet.fcsErrors);
        r['sflow_245.dot3StatsSymbolErrors'] = String(c.ethernet.symbolErrors);
      }
      if (c.vlan) {
        r['sflow_245.vlan_id'] = String(c.vlan.vlanId);
        r['sflow_245.octets'] = String(c.vlan.octets);
        r['sflow_245.ucastPkts'] = String(c.vlan.ucastPkts);
        r['sflow_245.discards'] = String(c.vlan.discards);
      }
    },
  });
  for (const d of datagrams) {
    row = {};
    intake.receive(d, 0, d.length, T0 * 1e6);
    const h = intake.header;
    if (h.agentType === 1) row['sflow_245.agent'] = ipv4ToString(h.agent4);
    else row['sflow_245.agent.v6'] = ipv6ToString(h.agent6);
    row['sflow_245.sub_agent_id'] = String(h.subAgent);
    row['sflow_245.sequence_number'] = String(h.sequence);
    rows.push(row);
  }
  return rows;
}

describe('tshark decodes hand-built datagrams as podwire does', () => {
  it('flow samples (compact, expanded) with every record, counter samples (compact, expanded), IPv4 and IPv6 agents', async () => {
    const datagrams = specs.map(encodeDatagram);
    const pcap = join(dir, 'hand-built.pcap');
    await writePcap(
      pcap,
      datagrams.map((d, i) => {
        const payload = udp({ sport: 50000, dport: PORT, payload: d });
        const v6 = specs[i].agent.includes(':');
        return {
          tsSec: T0 + i,
          tsNsec: 0,
          data: ethernet({
            src: '52:54:00:00:00:01',
            dst: '52:54:00:00:00:02',
            payload: v6
              ? ipv6({ src: specs[i].agent, dst: '2001:db8::100', nextHeader: IpProtocol.UDP, payload })
              : ipv4({ src: specs[i].agent, dst: '192.0.2.100', proto: IpProtocol.UDP, payload }),
          }),
        };
      }),
    );
    const out = await tshark([
      '-r',
      pcap,
      '-d',
      `udp.port==${PORT},sflow`,
      '-T',
      'fields',
      '-E',
      'separator=|',
      ...FIELDS.flatMap((f) => ['-e', f]),
    ]);
    const theirs: Row[] = out
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const r: Row = {};
        line.split('|').forEach((v, i) => {
          if (v !== '') r[FIELDS[i]] = v;
        });
        return r;
      });
    expect(theirs).toHaveLength(specs.length);
    // every field tshark shows for a datagram was decoded by podwire to the same value
    expect(ours(datagrams)).toEqual(theirs);
  });
});
