/**
 * Hand-built sFlow v5 datagrams (collector/sflow/encode.ts) for every structure the
 * decoder knows: both agent address types, flow samples and expanded flow samples with
 * each flow record, counter samples (compact and expanded) with each counter record, and
 * unknown formats skipped by length. The samples must reach attribution and the flow
 * table like mirrored packets do.
 */
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../collector/decode/packet.js';
import { encodeDatagram, type FlowRecordSpec, type SampleSpec } from '../../collector/sflow/encode.js';
import { SFLOW_OBSERVATION_BASE } from '../../collector/sflow/observation.js';
import { FlowSample, Malformed } from '../../collector/sflow/types.js';
import { ethernet, IpProtocol, ipv4, TcpFlags, tcp } from '../../collector/synth/frames.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { collectingIntake, PODS, T0 } from './helpers.js';

const web1 = PODS[0].leg;
const web2 = PODS[1].leg;
const teller = PODS[3].leg;
const vault = PODS[4].leg;
const T_US = T0 * 1e6;

const flow = (records: FlowRecordSpec[], o: Partial<Extract<SampleSpec, { kind: 'flow' }>> = {}) =>
  ({
    kind: 'flow',
    sequence: 1,
    sourceIndex: 7,
    samplingRate: 1,
    samplePool: 1,
    input: 7,
    output: 9,
    records,
    ...o,
  }) as const;

/** Decodes one datagram; returns the flow samples' views (copied) and the collected flows. */
function run(samples: SampleSpec[], agent = '192.0.2.1', sequence = 1) {
  const c = collectingIntake({
    onSample: (_d, s, p, a, obs) =>
      seen.push({ s: Object.assign(new FlowSample(), s), p: copy(p), a: { ...a }, obs }),
  });
  const seen: { s: FlowSample; p: DecodedPacket; a: { src: unknown; dst: unknown }; obs: number }[] = [];
  const status = c.intake.receive(
    encodeDatagram({ agent, sequence, uptimeMs: 5000, samples }),
    0,
    Infinity,
    T_US,
  );
  c.table.flush();
  return { ...c, status, seen };
}

function copy(p: DecodedPacket): DecodedPacket {
  const q = Object.assign(new DecodedPacket(), p);
  return q;
}

describe('flow records', () => {
  it('raw packet header (Ethernet): decoded by the packet path, bytes = frame_length - stripped', () => {
    const frame = podFrame(web1, web2, { proto: 'tcp', sport: 41000, dport: 8080, size: 900 }, [
      { vid: 100 },
    ]);
    const r = run([flow([{ type: 'header', frame }])]);
    expect(r.status).toBe(Malformed.OK);
    expect(r.seen).toHaveLength(1);
    const { s, p, a } = r.seen[0];
    // the header is cut at 128 bytes, the frame was longer
    expect(s.headerLength).toBe(128);
    expect(s.frameLength).toBe(frame.length + 4);
    expect(p.innerLength).toBe(frame.length);
    expect(p.vlan).toBe(100);
    expect(p.srcPort).toBe(41000);
    expect((a.src as { pod: string }).pod).toBe('web-1');
    expect((a.dst as { pod: string }).pod).toBe('web-2');
    expect(r.flows).toHaveLength(1);
    expect(r.flows[0]).toMatchObject({ packets: 1, bytes: frame.length, vlan: 100, srcPort: 41000 });
    expect(r.intake.observations.name(r.flows[0].observation)).toBe('sflow:192.0.2.1:7');
  });

  it('raw packet header of an IPv4 packet (header protocol 11): attributed by IP in the switch VLAN', () => {
    const packet = ipv4({
      src: teller.ip,
      dst: vault.ip,
      proto: IpProtocol.TCP,
      payload: tcp({ sport: 5000, dport: 5432, flags: TcpFlags.SYN }),
    });
    const r = run([
      flow([
        { type: 'header', frame: packet, protocol: 11, frameLength: packet.length, stripped: 0 },
        { type: 'switch', srcVlan: 101 },
      ]),
    ]);
    const { p, a } = r.seen[0];
    expect(p.ipVersion).toBe(4);
    expect(p.tcpFlags).toBe(TcpFlags.SYN);
    expect(p.vlan).toBe(101);
    expect(p.innerLength).toBe(packet.length + 14);
    expect((a.src as { pod: string }).pod).toBe('teller');
  });

  it('Ethernet frame data (2): MACs and length without FCS; attributed by MAC', () => {
    const r = run([
      flow([
        { type: 'ethernet', length: 504, src: teller.mac, dst: vault.mac, etherType: 0x0800 },
        { type: 'switch', srcVlan: 101, dstVlan: 101 },
      ]),
    ]);
    const { s, p, a } = r.seen[0];
    expect(s.ethLength).toBe(504);
    expect(p.innerLength).toBe(500);
    expect(p.vlan).toBe(101);
    expect((a.src as { pod: string }).pod).toBe('teller');
    expect((a.dst as { pod: string }).pod).toBe('vault');
    expect(r.flows[0].bytes).toBe(500);
  });

  it('IPv4 data (3) without a header: attributed by IP, ports and flags kept', () => {
    const r = run([
      flow([
        {
          type: 'ipv4',
          length: 1000,
          protocol: 6,
          src: web1.ip,
          dst: web2.ip,
          srcPort: 40001,
          dstPort: 443,
          tcpFlags: 0x18,
          tos: 0x10,
        },
        { type: 'switch', srcVlan: 100 },
      ]),
    ]);
    const { s, p, a } = r.seen[0];
    expect(s.tos).toBe(0x10);
    expect([p.ipVersion, p.protocol, p.srcPort, p.dstPort, p.tcpFlags]).toEqual([4, 6, 40001, 443, 0x18]);
    expect(p.innerLength).toBe(1014);
    expect((a.src as { by?: string; pod: string }).pod).toBe('web-1');
    expect(r.flows[0]).toMatchObject({ srcIp: web1.ip, dstIp: web2.ip, srcBy: 'ip', dstBy: 'ip', vlan: 100 });
  });

  it('IPv6 data (4) without a header: attributed by IPv6 address', () => {
    const r = run([
      flow([
        {
          type: 'ipv6',
          length: 200,
          protocol: 17,
          src: 'fd00:100::01',
          dst: 'fd00:100::02',
          srcPort: 5353,
          dstPort: 53,
          tos: 3,
        },
        { type: 'switch', srcVlan: 100 },
      ]),
    ]);
    const { p } = r.seen[0];
    expect(p.ipVersion).toBe(6);
    expect(r.flows[0]).toMatchObject({
      srcIp: 'fd00:100::1',
      dstIp: 'fd00:100::2',
      protocol: 17,
      srcPort: 5353,
      dstPort: 53,
      bytes: 214,
    });
    expect(r.flows[0].src?.pod).toBe('web-1');
    expect(r.flows[0].dst?.pod).toBe('web-2');
  });

  it('extended switch (1001): VLANs and priorities; its VLAN applies only when the header has no tag', () => {
    const untagged = podFrame(teller, vault, { proto: 'udp', sport: 1, dport: 2, size: 10 });
    const tagged = podFrame(web1, web2, { proto: 'udp', sport: 1, dport: 2, size: 10 }, [{ vid: 100 }]);
    const r = run([
      flow([
        { type: 'switch', srcVlan: 101, srcPriority: 5, dstVlan: 102, dstPriority: 6 },
        { type: 'header', frame: untagged },
      ]),
      flow(
        [
          { type: 'header', frame: tagged },
          { type: 'switch', srcVlan: 999 },
        ],
        { sequence: 2 },
      ),
    ]);
    expect(r.seen[0].s).toMatchObject({ srcVlan: 101, srcPriority: 5, dstVlan: 102, dstPriority: 6 });
    expect(r.seen[0].p.vlan).toBe(101);
    expect(r.seen[0].a.src).toMatchObject({ pod: 'teller' });
    // the frame's own tag wins over what the switch says
    expect(r.seen[1].p.vlan).toBe(100);
    expect(r.seen[1].a.src).toMatchObject({ pod: 'web-1' });
  });

  it('extended router (1002): next hop v4 and v6, mask lengths', () => {
    const frame = podFrame(web1, web2, { proto: 'udp', sport: 1, dport: 2 }, [{ vid: 100 }]);
    const r = run([
      flow([
        { type: 'header', frame },
        { type: 'router', nextHop: '192.0.2.254', srcMaskLen: 24, dstMaskLen: 16 },
      ]),
      flow(
        [
          { type: 'header', frame },
          { type: 'router', nextHop: '2001:db8::1', srcMaskLen: 64, dstMaskLen: 48 },
        ],
        {
          sequence: 2,
        },
      ),
    ]);
    expect(r.seen[0].s).toMatchObject({
      nextHopType: 1,
      nextHop4: 0xc00002fe,
      srcMaskLen: 24,
      dstMaskLen: 16,
    });
    expect(r.seen[1].s).toMatchObject({ nextHopType: 2, srcMaskLen: 64, dstMaskLen: 48 });
    expect(Buffer.from(r.seen[1].s.nextHop6).toString('hex')).toBe('20010db8000000000000000000000001');
  });

  it('expanded flow sample (3): 32-bit source index and interfaces', () => {
    const frame = podFrame(web1, web2, { proto: 'tcp', sport: 1, dport: 2 }, [{ vid: 100 }]);
    const r = run([
      flow([{ type: 'header', frame }], {
        expanded: true,
        sourceType: 0,
        sourceIndex: 0x12345678,
        input: 0x12345678,
        output: 0x2345,
        samplingRate: 256,
        samplePool: 1000,
        drops: 3,
        sequence: 42,
      }),
    ]);
    expect(r.seen[0].s).toMatchObject({
      expanded: true,
      sequence: 42,
      sourceIndex: 0x12345678,
      input: 0x12345678,
      output: 0x2345,
      samplingRate: 256,
      samplePool: 1000,
      drops: 3,
    });
    expect(r.intake.observations.name(r.flows[0].observation)).toBe(`sflow:192.0.2.1:${0x12345678}`);
    expect(r.flows[0]).toMatchObject({
      packets: 256,
      samples: 1,
      samplingRate: 256,
      bytes: 256 * frame.length,
    });
  });

  it('compact flow sample: source class/index and interface format bits are split', () => {
    const frame = podFrame(web1, web2, { proto: 'tcp', sport: 1, dport: 2 }, [{ vid: 100 }]);
    // a VLAN data source (class 1): the input interface names the observation point
    const r = run([
      flow([{ type: 'header', frame }], {
        sourceType: 1,
        sourceIndex: 100,
        input: 12,
        output: (2 << 30) | 3,
      }),
    ]);
    expect(r.seen[0].s).toMatchObject({
      sourceType: 1,
      sourceIndex: 100,
      input: 12,
      outputFormat: 2,
      output: 3,
    });
    expect(r.intake.observations.name(r.flows[0].observation)).toBe('sflow:192.0.2.1:12');
  });

  it('IPv6 agent address: observation names it in brackets', () => {
    const frame = podFrame(web1, web2, { proto: 'tcp', sport: 1, dport: 2 }, [{ vid: 100 }]);
    const r = run([flow([{ type: 'header', frame }])], '2001:db8::7');
    expect(r.status).toBe(Malformed.OK);
    expect(r.intake.agentSummaries().map((a) => a.agent)).toEqual(['[2001:db8::7]']);
    expect(r.flows[0].observation).toBeGreaterThanOrEqual(SFLOW_OBSERVATION_BASE);
    expect(r.intake.observations.name(r.flows[0].observation)).toBe('sflow:[2001:db8::7]:7');
  });
});

describe('counter samples', () => {
  const generic = {
    type: 'generic' as const,
    ifIndex: 7,
    ifType: 6,
    ifSpeed: 25e9,
    ifDirection: 1,
    ifStatus: 3,
    ifInOctets: 2 ** 40 + 5,
    ifInUcastPkts: 1000,
    ifInMulticastPkts: 20,
    ifInBroadcastPkts: 3,
    ifInDiscards: 4,
    ifInErrors: 5,
    ifInUnknownProtos: 6,
    ifOutOctets: 123456789012,
    ifOutUcastPkts: 900,
    ifOutMulticastPkts: 21,
    ifOutBroadcastPkts: 22,
    ifOutDiscards: 23,
    ifOutErrors: 24,
    ifPromiscuousMode: 1,
  };
  const eth = {
    type: 'ethernet' as const,
    alignmentErrors: 1,
    fcsErrors: 2,
    singleCollisionFrames: 3,
    multipleCollisionFrames: 4,
    sqeTestErrors: 5,
    deferredTransmissions: 6,
    lateCollisions: 7,
    excessiveCollisions: 8,
    internalMacTransmitErrors: 9,
    carrierSenseErrors: 10,
    frameTooLongs: 11,
    internalMacReceiveErrors: 12,
    symbolErrors: 13,
  };
  const vlan = {
    type: 'vlan' as const,
    vlanId: 100,
    octets: 2 ** 33,
    ucastPkts: 7,
    multicastPkts: 8,
    broadcastPkts: 9,
    discards: 10,
  };

  it('generic, Ethernet and VLAN counters (compact and expanded) become per-interface records', () => {
    const r = run([
      { kind: 'counters', sequence: 5, sourceIndex: 7, records: [generic, eth] },
      { kind: 'counters', expanded: true, sequence: 9, sourceType: 1, sourceIndex: 100, records: [vlan] },
    ]);
    expect(r.status).toBe(Malformed.OK);
    expect(r.counterRecords).toHaveLength(2);
    const [a, b] = r.counterRecords;
    const { type: _g, ...g } = generic;
    const { type: _e, ...e } = eth;
    const { type: _v, ...v } = vlan;
    expect(a).toMatchObject({
      agent: '192.0.2.1',
      sequence: 5,
      sourceType: 0,
      sourceIndex: 7,
      ifIndex: 7,
      uptimeMs: 5000,
    });
    expect(a.timeUs).toBe(T_US);
    expect(a.generic).toEqual(g);
    expect(a.ethernet).toEqual(e);
    expect(a.vlan).toBeNull();
    expect(b).toMatchObject({ sequence: 9, sourceType: 1, sourceIndex: 100, generic: null, ethernet: null });
    expect(b.vlan).toEqual(v);
    expect(r.intake.summary()).toMatchObject({ counter_samples: 2, flow_samples: 0 });
  });

  it('a gap in a source’s counter sample sequence is counted', () => {
    const c = collectingIntake();
    for (const [i, seq] of [1, 2, 5].entries()) {
      c.intake.receive(
        encodeDatagram({
          agent: '192.0.2.1',
          sequence: i + 1,
          samples: [{ kind: 'counters', sequence: seq, sourceIndex: 7, records: [generic] }],
        }),
        0,
        Infinity,
        T_US,
      );
    }
    c.intake.finish();
    expect(c.intake.agentSummaries()[0]).toMatchObject({ counter_samples: 3, lost_counter_samples: 2 });
  });
});

describe('unknown formats', () => {
  it('are skipped by their length and counted; the samples around them are decoded', () => {
    const frame = podFrame(web1, web2, { proto: 'tcp', sport: 1, dport: 2 }, [{ vid: 100 }]);
    const r = run([
      { kind: 'raw', format: 77, data: Buffer.alloc(12, 0xee) },
      { kind: 'raw', enterprise: 4413, format: 1, data: Buffer.alloc(20, 0xdd) },
      flow([
        { type: 'raw', format: 1010, data: Buffer.alloc(8, 1) },
        { type: 'raw', enterprise: 9, format: 1, data: Buffer.alloc(4, 2) },
        { type: 'header', frame },
      ]),
      {
        kind: 'counters',
        sequence: 1,
        sourceIndex: 7,
        records: [
          { type: 'raw', format: 1005, data: Buffer.alloc(16) },
          { type: 'vlan', vlanId: 5 },
        ],
      },
    ]);
    expect(r.status).toBe(Malformed.OK);
    expect(r.seen).toHaveLength(1);
    expect(r.seen[0].p.srcMac).toBe(0x020000000101);
    expect(r.counterRecords[0].vlan?.vlanId).toBe(5);
    expect(r.counterRecords[0].unknownRecords).toBe(1);
    expect(r.intake.summary()).toMatchObject({
      unknown_samples: 2,
      unknown_records: 3,
      flow_samples: 1,
      counter_samples: 1,
    });
  });

  it('an undecodable sample (unknown header protocol, no other record) is counted, not aggregated', () => {
    const r = run([flow([{ type: 'header', frame: Buffer.alloc(40, 0x11), protocol: 7 }])]);
    expect(r.seen).toHaveLength(0);
    expect(r.flows).toHaveLength(0);
    expect(r.intake.summary()).toMatchObject({ flow_samples: 1, undecodable_samples: 1 });
  });
});

describe('the whole datagram', () => {
  it('several samples of several kinds in one datagram, header fields kept', () => {
    const frames = [0, 1, 2].map((i) =>
      ethernet({
        src: web1.mac,
        dst: web2.mac,
        vlans: [{ vid: 100 }],
        payload: ipv4({
          src: web1.ip,
          dst: web2.ip,
          proto: IpProtocol.TCP,
          payload: tcp({ sport: 1000 + i, dport: 80 }),
        }),
      }),
    );
    const r = run(
      frames.map((frame, i) => flow([{ type: 'header', frame }], { sequence: 10 + i })),
      '198.51.100.9',
      77,
    );
    expect(r.intake.header).toMatchObject({
      version: 5,
      agentType: 1,
      agent4: 0xc6336409,
      sequence: 77,
      uptimeMs: 5000,
      sampleCount: 3,
    });
    expect(r.seen.map((x) => x.s.sequence)).toEqual([10, 11, 12]);
    expect(r.flows.map((f) => f.srcPort).sort()).toEqual([1000, 1001, 1002]);
  });
});
