/**
 * Hand-built NetFlow v5 / v9 / IPFIX datagrams (collector/netflow/encode.ts) for what the
 * exporters on this machine do not emit: VXLAN layer2SegmentId, dot1q VLANs, variable-length
 * and enterprise fields, packet sections, and v9's uptime-relative times. The records must
 * reach attribution and the flow table like mirrored packets do, scaled by their rate.
 */
import { describe, expect, it } from 'vitest';
import {
  encodeIpfix,
  encodeV5,
  encodeV9,
  type FieldDef,
  IE,
  VARIABLE_LENGTH,
} from '../../collector/netflow/encode.js';
import { Malformed } from '../../collector/netflow/types.js';
import { IpProtocol, ipv4, udp } from '../../collector/synth/frames.js';
import { podFrame, vxlanFrame } from '../../collector/synth/scenario.js';
import { collecting, OVERLAY, PODS, T_US, T0, VNI } from './helpers.js';

const web1 = PODS[0].leg;
const web2 = PODS[1].leg;
const teller = PODS[3].leg;
const vault = PODS[4].leg;

const f = (id: number, length: number, enterprise?: number): FieldDef => ({ id, length, enterprise });

const FIVE_TUPLE: FieldDef[] = [
  f(IE.sourceIPv4Address, 4),
  f(IE.destinationIPv4Address, 4),
  f(IE.sourceTransportPort, 2),
  f(IE.destinationTransportPort, 2),
  f(IE.protocolIdentifier, 1),
  f(IE.octetDeltaCount, 8),
  f(IE.packetDeltaCount, 8),
];

describe('IPFIX', () => {
  it('a template and its data in one message: attributed by IP in the VLAN of dot1qVlanId 243', () => {
    const c = collecting();
    const t = { id: 300, fields: [...FIVE_TUPLE, f(IE.dot1qVlanId, 2), f(IE.ingressInterface, 4)] };
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 7,
      sets: [
        { kind: 'templates', templates: [t] },
        {
          kind: 'data',
          template: t,
          records: [[web1.ip, web2.ip, 41000, 8080, 6, 15000, 10, 100, 3]],
        },
      ],
    });
    expect(c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US)).toBe(Malformed.OK);
    expect(c.seen).toHaveLength(1);
    expect(c.seen[0]).toMatchObject({ src: 'web-1', dst: 'web-2', vlan: 100, srcPort: 41000, rate: 1 });
    const flows = c.done();
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ packets: 10, bytes: 15000, vlan: 100, samplingRate: 1 });
    expect(c.intake.observations.name(flows[0].observation)).toBe('netflow:192.0.2.1:3');
  });

  it('dot1qCustomerVlanId 245 is the tenant context under a dot1q service tag 243', () => {
    const c = collecting();
    const t = { id: 301, fields: [...FIVE_TUPLE, f(IE.dot1qVlanId, 2), f(IE.dot1qCustomerVlanId, 2)] };
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t] },
        { kind: 'data', template: t, records: [[teller.ip, vault.ip, 1, 2, 17, 500, 5, 3000, 101]] },
      ],
    });
    c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US);
    expect(c.seen[0]).toMatchObject({ src: 'teller', dst: 'vault', vlan: 101 });
    expect(c.done()[0].vlan).toBe(101);
  });

  it('dot1qCustomerVlanId 0 (a single-tagged frame under a QinQ-capable template) means no customer tag', () => {
    const c = collecting();
    const t = { id: 304, fields: [...FIVE_TUPLE, f(IE.dot1qVlanId, 2), f(IE.dot1qCustomerVlanId, 2)] };
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t] },
        { kind: 'data', template: t, records: [[teller.ip, vault.ip, 1, 2, 17, 500, 5, 101, 0]] },
      ],
    });
    c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US);
    expect(c.seen[0]).toMatchObject({ src: 'teller', dst: 'vault', vlan: 101 });
  });

  it('IPv6 addresses (16-byte fields 27/28): attributed by IP', () => {
    const c = collecting();
    const t = {
      id: 305,
      fields: [
        f(IE.sourceIPv6Address, 16),
        f(IE.destinationIPv6Address, 16),
        f(IE.vlanId, 2),
        f(IE.packetDeltaCount, 4),
      ],
    };
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t] },
        { kind: 'data', template: t, records: [['fd00:100::01', 'fd00:100::02', 100, 3]] },
      ],
    });
    c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US);
    expect(c.seen[0]).toMatchObject({ src: 'web-1', dst: 'web-2', vlan: 100 });
    expect(c.done()[0]).toMatchObject({
      ipVersion: 6,
      srcIp: 'fd00:100::1',
      dstIp: 'fd00:100::2',
      packets: 3,
    });
  });

  it('layer2SegmentId 351 (VXLAN, segment type 1 in the top octet) gives the VNI scope', () => {
    const c = collecting();
    const t = {
      id: 302,
      fields: [
        ...FIVE_TUPLE,
        f(IE.layer2SegmentId, 8),
        f(IE.sourceMacAddress, 6),
        f(IE.destinationMacAddress, 6),
      ],
    };
    const seg = (1n << 56n) | BigInt(VNI);
    const [a, b] = OVERLAY;
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t] },
        {
          kind: 'data',
          template: t,
          records: [[a.leg.ip, b.leg.ip, 5, 6, 6, 900, 3, seg, a.leg.mac, b.leg.mac]],
        },
      ],
    });
    c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US);
    expect(c.seen[0]).toMatchObject({ src: 'api-0', dst: 'api-1', vni: VNI });
    expect(c.done()[0]).toMatchObject({ vni: VNI, srcMac: a.leg.mac, packets: 3, bytes: 900 });
  });

  it('variable-length fields (1-byte and 3-byte length forms) and enterprise fields are skipped by length', () => {
    const c = collecting();
    const t = {
      id: 303,
      fields: [
        f(IE.sourceIPv4Address, 4),
        f(100, VARIABLE_LENGTH, 9), // an enterprise field of variable length
        f(IE.destinationIPv4Address, 4),
        f(82, VARIABLE_LENGTH), // interfaceName, variable
        f(7, 4, 29305), // an enterprise field with a standard IE number: not a port
        f(IE.sourceTransportPort, 2),
        f(IE.destinationTransportPort, 2),
        f(IE.protocolIdentifier, 1),
        f(IE.octetDeltaCount, 4),
        f(IE.packetDeltaCount, 4),
        f(IE.vlanId, 2),
      ],
    };
    const long = new Uint8Array(300).fill(0x41);
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t] },
        {
          kind: 'data',
          template: t,
          records: [
            [web1.ip, new Uint8Array(3), web2.ip, long, 0xdeadbeef, 1000, 2000, 6, 100, 1, 100],
            [
              web2.ip,
              new Uint8Array(0),
              web1.ip,
              new TextEncoder().encode('eth0'),
              7,
              2000,
              1000,
              6,
              200,
              2,
              100,
            ],
          ],
        },
      ],
    });
    expect(c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US)).toBe(Malformed.OK);
    expect(c.seen.map((s) => [s.src, s.dst, s.srcPort, s.dstPort, s.enterpriseFields])).toEqual([
      ['web-1', 'web-2', 1000, 2000, 2],
      ['web-2', 'web-1', 2000, 1000, 2],
    ]);
    expect(c.intake.summary().records).toBe(2);
  });

  it('dataLinkFrameSection 315 of a VXLAN frame: the inner pods are found like in a mirror', () => {
    const c = collecting();
    const [a, b] = OVERLAY;
    const inner = podFrame(a.leg, b.leg, { proto: 'tcp', sport: 33000, dport: 443, size: 200 });
    const frame = vxlanFrame(inner, VNI, '192.168.0.1', '192.168.0.2', 50000, [{ vid: 30 }]);
    const t = { id: 400, fields: [f(IE.dataLinkFrameSize, 2), f(IE.dataLinkFrameSection, VARIABLE_LENGTH)] };
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t] },
        { kind: 'data', template: t, records: [[frame.length, frame.subarray(0, 128)]] },
      ],
    });
    c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US);
    expect(c.seen[0]).toMatchObject({ src: 'api-0', dst: 'api-1', vni: VNI, srcPort: 33000 });
    expect(c.seen[0].innerLength).toBe(inner.length);
    expect(c.done()[0]).toMatchObject({ packets: 1, bytes: inner.length, vni: VNI });
  });

  it('ipHeaderPacketSection 313 with the MACs and VLAN as fields', () => {
    const c = collecting();
    const ip = ipv4({
      src: web1.ip,
      dst: web2.ip,
      proto: IpProtocol.UDP,
      payload: udp({ sport: 5353, dport: 53, payload: new Uint8Array(20) }),
    });
    const t = {
      id: 401,
      fields: [f(IE.vlanId, 2), f(IE.octetDeltaCount, 4), f(IE.ipHeaderPacketSection, VARIABLE_LENGTH)],
    };
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t] },
        { kind: 'data', template: t, records: [[100, ip.length + 14, ip]] },
      ],
    });
    c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US);
    expect(c.seen[0]).toMatchObject({ src: 'web-1', dst: 'web-2', vlan: 100, srcPort: 5353, dstPort: 53 });
    expect(c.done()[0]).toMatchObject({ packets: 1, bytes: ip.length + 14 });
  });

  it('absolute times 152/153 and 21/22 against systemInitTimeMilliseconds 160', () => {
    const c = collecting();
    const t = {
      id: 402,
      fields: [...FIVE_TUPLE, f(IE.flowStartMilliseconds, 8), f(IE.flowEndMilliseconds, 8)],
    };
    const t2 = {
      id: 403,
      fields: [
        ...FIVE_TUPLE,
        f(IE.systemInitTimeMilliseconds, 8),
        f(IE.flowStartSysUpTime, 4),
        f(IE.flowEndSysUpTime, 4),
      ],
    };
    const init = T0 * 1000 - 3_600_000;
    const msg = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [t, t2] },
        {
          kind: 'data',
          template: t,
          records: [[web1.ip, web2.ip, 1, 2, 6, 1, 1, T0 * 1000 - 5000, T0 * 1000 - 1000]],
        },
        {
          kind: 'data',
          template: t2,
          records: [[web1.ip, web2.ip, 1, 2, 6, 1, 1, init, 3_590_000, 3_599_000]],
        },
      ],
    });
    c.intake.receive(msg, 0, msg.length, '192.0.2.1', T_US);
    expect(c.seen.map((s) => [s.startMs, s.endMs])).toEqual([
      [T0 * 1000 - 5000, T0 * 1000 - 1000],
      [T0 * 1000 - 10_000, T0 * 1000 - 1000],
    ]);
  });
});

describe('NetFlow v9 and v5', () => {
  it('v9: template + data, times relative to the header sysUptime', () => {
    const c = collecting();
    const t = {
      id: 260,
      fields: [
        f(IE.sourceIPv4Address, 4),
        f(IE.destinationIPv4Address, 4),
        f(IE.sourceTransportPort, 2),
        f(IE.destinationTransportPort, 2),
        f(IE.protocolIdentifier, 1),
        f(IE.octetDeltaCount, 4),
        f(IE.packetDeltaCount, 4),
        f(IE.flowStartSysUpTime, 4),
        f(IE.flowEndSysUpTime, 4),
        f(IE.sourceMacAddress, 6),
        f(IE.vlanId, 2),
      ],
    };
    const msg = encodeV9({
      sysUptime: 100_000,
      exportSecs: T0,
      sequence: 1,
      sourceId: 3,
      sets: [
        { kind: 'templates', templates: [t] },
        {
          kind: 'data',
          template: t,
          records: [[web1.ip, web2.ip, 4000, 80, 6, 4000, 4, 90_000, 99_000, web1.mac, 100]],
        },
      ],
    });
    expect(c.intake.receive(msg, 0, msg.length, '192.0.2.9', T_US)).toBe(Malformed.OK);
    expect(c.seen[0]).toMatchObject({
      src: 'web-1',
      dst: 'web-2',
      startMs: T0 * 1000 - 10_000,
      endMs: T0 * 1000 - 1000,
    });
    expect(c.done()[0]).toMatchObject({ packets: 4, bytes: 4000, srcMac: web1.mac });
  });

  it('v5: fixed records, the header sampling interval scales them', () => {
    const c = collecting();
    const msg = encodeV5({
      sysUptime: 50_000,
      exportSecs: T0,
      sequence: 0,
      sampling: (1 << 14) | 100,
      records: [
        {
          src: PODS[5].leg.ip,
          dst: PODS[6].leg.ip,
          packets: 3,
          bytes: 300,
          srcPort: 1,
          dstPort: 2,
          protocol: 17,
          input: 4,
        },
      ],
    });
    expect(c.intake.receive(msg, 0, msg.length, '192.0.2.5', T_US)).toBe(Malformed.OK);
    expect(c.seen[0]).toMatchObject({ src: 'edge', dst: 'probe', rate: 100 });
    expect(c.done()[0]).toMatchObject({ packets: 300, bytes: 30_000, samplingRate: 100, samples: 3 });
  });
});
