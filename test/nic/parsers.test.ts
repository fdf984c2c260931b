/**
 * The pure parsers of the NIC sources on fixtures: iproute2 `vfinfo_list` in its new
 * (6.x: address, vlan_list, rate{max_tx,min_tx}, dropped), middle (no dropped, a VF without
 * stats) and old (mac, flat vlan/qos, tx_rate) shapes; tc qdisc JSON and class text (as
 * iproute2 6.1 prints it for `tc -j class`, and the older layout with rate estimators).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIpLinkJson } from '../../collector/nic/iproute2.js';
import {
  parseSysfsBool,
  parseSysfsCounter,
  parseSysfsStatsFile,
  parseSysfsVlan,
} from '../../collector/nic/sysfs.js';
import {
  parseTcClassJson,
  parseTcClassOutput,
  parseTcClassText,
  parseTcQdiscJson,
} from '../../collector/nic/tc.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseIpLinkJson', () => {
  it('reads the iproute2 6.x shape: address, vlan_list, rate{max_tx,min_tx}, stats with dropped', () => {
    const vfs = parseIpLinkJson(fixture('ip-link-iproute2-6x.json'), 'node-a');
    expect(vfs).toHaveLength(4);
    expect(vfs[0]).toEqual({
      node: 'node-a',
      pf: 'ens1f0',
      vf: 0,
      mac: '02:00:00:00:01:01',
      vlan: 100,
      qos: 3,
      minTxRate: 1_000_000_000,
      maxTxRate: 10_000_000_000,
      spoofCheck: true,
      trust: false,
      linkState: 'auto',
      pciAddress: null,
      rxBytes: 123456789,
      rxPackets: 98765,
      rxDropped: 5,
      rxBroadcast: 34,
      rxMulticast: 12,
      txBytes: 987654321,
      txPackets: 654321,
      txDropped: 7,
    });
    // 802.1ad VLAN without qos (zero fields are omitted), rates unset
    expect(vfs[1]).toMatchObject({ vf: 1, vlan: 200, qos: 0, minTxRate: 0, maxTxRate: 0, trust: true });
    expect(vfs[1]).toMatchObject({ linkState: 'enable', spoofCheck: false });
    // 64-bit counters beyond 2^32 come through
    expect(vfs[1]!.txBytes).toBe(8589934592123);
    // vlan_list [{}]: no VLAN
    expect(vfs[2]).toMatchObject({ vf: 2, vlan: 0, qos: 0, linkState: 'disable', rxBytes: 0, txDropped: 0 });
    expect(vfs[3]).toMatchObject({ vf: 3, maxTxRate: 25e9, minTxRate: 5e9, mac: '00:00:00:00:00:00' });
  });

  it('reads stats without dropped (older kernels) as null, and a VF without stats as all null', () => {
    const vfs = parseIpLinkJson(fixture('ip-link-iproute2-5x-no-dropped.json'), 'n');
    expect(vfs[0]).toMatchObject({
      pf: 'ens2f1',
      vf: 0,
      vlan: 42,
      maxTxRate: 1e9,
      minTxRate: 0,
      rxBytes: 1000,
      rxPackets: 10,
      rxMulticast: 1,
      rxBroadcast: 2,
      rxDropped: null,
      txBytes: 2000,
      txPackets: 20,
      txDropped: null,
    });
    // MAC lower-cased; no trust attribute → null
    expect(vfs[1]).toMatchObject({
      vf: 1,
      mac: '0a:11:22:33:44:66',
      trust: null,
      rxBytes: null,
      txBytes: null,
    });
  });

  it('reads the old shape: mac, flat vlan/qos, tx_rate', () => {
    const vfs = parseIpLinkJson(fixture('ip-link-iproute2-4x-old.json'), 'n');
    expect(vfs[0]).toMatchObject({
      pf: 'enp94s0f0',
      vf: 0,
      mac: '02:00:00:00:02:01',
      vlan: 300,
      qos: 2,
      maxTxRate: 500e6,
      minTxRate: 0,
      spoofCheck: true,
      trust: false,
      rxBytes: 55555,
      rxDropped: null,
      txBytes: 66666,
      txPackets: 666,
      txDropped: null,
    });
    expect(vfs[1]).toMatchObject({ vf: 1, vlan: 0, qos: 0, maxTxRate: 0, trust: null, rxBytes: null });
  });

  it('gives no VFs for a link without vfinfo_list', () => {
    expect(parseIpLinkJson(fixture('ip-link-veth-no-vfs.json'), 'n')).toEqual([]);
    expect(parseIpLinkJson('[]', 'n')).toEqual([]);
  });

  it('names the bad field on malformed input', () => {
    expect(() => parseIpLinkJson('Device "x" does not exist.', 'n')).toThrow(/not valid JSON/);
    expect(() => parseIpLinkJson('{}', 'n')).toThrow(/expected an array/);
    const link = (vf: object) => JSON.stringify([{ ifname: 'p', vfinfo_list: [vf] }]);
    expect(() => parseIpLinkJson(link({ vf: -1 }), 'n')).toThrow(
      /\[0\]\.vfinfo_list\[0\]\.vf: expected a non-negative integer/,
    );
    expect(() => parseIpLinkJson(link({ vf: 0, stats: { rx: { bytes: '12' } } }), 'n')).toThrow(
      /vfinfo_list\[0\]\.stats\.rx\.bytes: expected a non-negative number, got "12"/,
    );
    expect(() => parseIpLinkJson(link({ vf: 0, vlan_list: 5 }), 'n')).toThrow(/vlan_list: expected an array/);
    expect(() => parseIpLinkJson(link({ vf: 0, spoofchk: 'on' }), 'n')).toThrow(
      /spoofchk: expected a boolean/,
    );
    expect(() => parseIpLinkJson(JSON.stringify([{ vfinfo_list: [] }]), 'n')).toThrow(/ifname/);
  });
});

describe('tc parsers', () => {
  it('reads qdisc JSON (htb root, tbf child, clsact) as captured from a real tbf drop run', () => {
    const q = parseTcQdiscJson(fixture('tc-qdisc-htb-tbf.json'), 'n', 'va');
    expect(q.map((s) => [s.kind, s.handle, s.parent, s.level])).toEqual([
      ['htb', '1:', 'root', 'qdisc'],
      ['tbf', '10:', '1:10', 'qdisc'],
      ['clsact', 'ffff:', 'ffff:fff1', 'qdisc'],
    ]);
    expect(q[1]).toEqual({
      node: 'n',
      interface: 'va',
      kind: 'tbf',
      handle: '10:',
      parent: '1:10',
      level: 'qdisc',
      bytes: 2569625,
      packets: 1750,
      drops: 6906,
      overlimits: 0,
      requeues: 0,
      backlogBytes: 0,
      backlogPackets: 0,
    });
    expect(q[0]).toMatchObject({ drops: 6906, overlimits: 1730 });
  });

  it('keeps mq children apart by parent (same handle 0:) and reads backlog', () => {
    const q = parseTcQdiscJson(fixture('tc-qdisc-mq-fq_codel.json'), 'n', 'ens1f0');
    expect(q.map((s) => `${s.kind} ${s.handle} ${s.parent}`)).toEqual([
      'mq 0: root',
      'fq_codel 0: :2',
      'fq_codel 0: :1',
    ]);
    expect(q[0]).toMatchObject({ bytes: 4417361882, requeues: 31, backlogBytes: 3028, backlogPackets: 2 });
  });

  it('rejects qdisc JSON without statistics or with bad fields', () => {
    expect(() => parseTcQdiscJson('[{"kind":"htb","handle":"1:","root":true}]', 'n', 'x')).toThrow(
      /no "bytes" \(statistics need tc -s\)/,
    );
    expect(() => parseTcQdiscJson('[{"kind":"htb","handle":1}]', 'n', 'x')).toThrow(
      /\[0\]\.handle: expected a string/,
    );
    expect(() => parseTcQdiscJson('nope', 'n', 'x')).toThrow(/tc qdisc JSON \(x\): not valid JSON/);
  });

  it('reads class text as iproute2 6.1 prints it for tc -s -j class (no stats class left out)', () => {
    const text = fixture('tc-class-htb-iproute2-6.1.txt');
    const c = parseTcClassText(text, 'n', 'va');
    expect(c).toEqual([
      {
        node: 'n',
        interface: 'va',
        kind: 'htb',
        handle: '1:10',
        parent: 'root',
        level: 'class',
        bytes: 2569715,
        packets: 1751,
        drops: 6906,
        overlimits: 1730,
        requeues: 0,
        backlogBytes: 0,
        backlogPackets: 0,
      },
    ]);
    expect(parseTcClassOutput(text, 'n', 'va')).toEqual(c);
  });

  it('reads the older class layout (rate estimator on the backlog line, rounded backlog, mq)', () => {
    const c = parseTcClassText(fixture('tc-class-htb-mq-rate-est.txt'), 'n', 'eth2');
    expect(c.map((s) => `${s.kind} ${s.handle} ${s.parent}`)).toEqual([
      'htb 1:1 root',
      'htb 1:11 1:1',
      'mq :1 root',
    ]);
    expect(c[1]).toMatchObject({
      bytes: 41172603952,
      packets: 120570557,
      drops: 435802,
      backlogBytes: 12288,
    });
    expect(c[1]!.backlogPackets).toBe(36);
    expect(c[2]).toMatchObject({ requeues: 2, backlogBytes: 1514, backlogPackets: 1 });
  });

  it('parses JSON class output when tc prints JSON', () => {
    const json =
      '[{"class":"htb","handle":"1:10","parent":"1:","bytes":10,"packets":1,"drops":2,"overlimits":3,"requeues":0,"backlog":0,"qlen":0}]';
    const c = parseTcClassOutput(json, 'n', 'x');
    expect(c).toEqual(parseTcClassJson(json, 'n', 'x'));
    expect(c[0]).toMatchObject({ kind: 'htb', handle: '1:10', parent: '1:', level: 'class', drops: 2 });
    expect(parseTcClassOutput('', 'n', 'x')).toEqual([]);
  });

  it('rejects class text that is not tc output', () => {
    expect(() => parseTcClassText('Cannot find device "x"\n', 'n', 'x')).toThrow(
      /line 1: expected "class …"/,
    );
  });
});

describe('sysfs value parsers', () => {
  it('reads counters, combined stats files, booleans and VLAN files', () => {
    expect(parseSysfsCounter('123\n', 'f')).toBe(123);
    expect(() => parseSysfsCounter('-1', 'f')).toThrow(/f: expected an unsigned integer, got "-1"/);
    expect(
      parseSysfsStatsFile('tx_packets    : 5\ntx_bytes      : 700\nrx_dropped : 2\ntx_broadcast : 9\n', 's'),
    ).toEqual({ txPackets: 5, txBytes: 700, rxDropped: 2 });
    expect(() => parseSysfsStatsFile('rx_bytes : x1\n', 's')).toThrow(/s \(rx_bytes\)/);
    expect([
      parseSysfsBool('ON'),
      parseSysfsBool('0'),
      parseSysfsBool('maybe'),
      parseSysfsBool(null),
    ]).toEqual([true, false, null, null]);
    expect(parseSysfsVlan('100', 'v')).toEqual({ vlan: 100, qos: null });
    expect(parseSysfsVlan('VLAN : 7, QoS : 3, VLAN Protocol : 802.1Q', 'v')).toEqual({ vlan: 7, qos: 3 });
    expect(() => parseSysfsVlan('garbage', 'v')).toThrow(/v: expected a VLAN id/);
  });
});
