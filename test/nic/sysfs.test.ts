/**
 * The sysfs and netdev sources on sysfs trees built in temp directories: per-VF counters
 * one per file and as one combined file, VF settings, virtfnN → PCI address, a VF whose MAC
 * comes from its netdev, PFs gone or malformed (reported, the others still read), and
 * interface statistics of representors picked by name or by pattern.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetdevSource, readNetdevStats } from '../../collector/nic/netdev.js';
import { createSysfsSource, readSysfsPf } from '../../collector/nic/sysfs.js';

let root: string;

function put(path: string, content: string | number) {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, `${content}\n`);
}

function link(path: string, target: string) {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  symlinkSync(target, p);
}

/** A PF directory as a driver with per-VF sysfs statistics lays it out. */
function makePf(pf: string, pci: string) {
  const dev = `devices/pci0000:3a/0000:3a:00.0/${pci}`;
  mkdirSync(join(root, dev), { recursive: true });
  link(`class/net/${pf}/device`, `../../../${dev}`);
  return dev;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'podwire-sysfs-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('sysfs source', () => {
  function buildTree() {
    const dev = makePf('ens1f0', '0000:3b:00.0');
    // VF 0: one counter per file, settings files
    link(`${dev}/virtfn0`, '../0000:3b:00.2');
    const s0 = `${dev}/sriov/0`;
    put(`${s0}/mac`, '02:00:00:00:01:01');
    put(`${s0}/vlan`, 100);
    put(`${s0}/qos`, 3);
    put(`${s0}/max_tx_rate`, 10000);
    put(`${s0}/min_tx_rate`, 1000);
    put(`${s0}/spoofcheck`, 'ON');
    put(`${s0}/trust`, 'OFF');
    put(`${s0}/link_state`, 'Auto');
    const counters = {
      rx_bytes: 1000,
      rx_packets: 10,
      rx_dropped: 1,
      rx_broadcast: 2,
      rx_multicast: 3,
      tx_bytes: 2000,
      tx_packets: 20,
      tx_dropped: 4,
      tx_errors: 99, // not a VfSample counter: ignored
    };
    for (const [k, v] of Object.entries(counters)) put(`${s0}/stats/${k}`, v);
    // VF 1: a combined stats file, VLAN and QoS in one file, no rates
    link(`${dev}/virtfn1`, '../0000:3b:00.3');
    put(`${dev}/sriov/1/mac`, '02:00:00:00:01:02');
    put(`${dev}/sriov/1/vlan`, 'VLAN : 200, QoS : 5, VLAN Protocol : 802.1Q');
    put(
      `${dev}/sriov/1/stats`,
      'tx_packets    : 7\ntx_bytes      : 700\ntx_dropped    : 0\nrx_packets    : 8\nrx_bytes      : 800\nrx_broadcast  : 0\nrx_multicast  : 0\nrx_dropped    : 0',
    );
    // VF 2: no sriov directory; bound to the host's VF driver, MAC from its netdev
    link(`${dev}/virtfn2`, '../0000:3b:00.4');
    mkdirSync(join(root, `${dev}/../0000:3b:00.4/net/ens1f0v2`), { recursive: true });
    put(`${dev}/../0000:3b:00.4/net/ens1f0v2/address`, '0A:00:00:00:01:03');
    put(`${dev}/sriov_numvfs`, 3);
    return dev;
  }

  it('reads VFs: counters per file or combined, settings, PCI addresses', async () => {
    buildTree();
    const src = createSysfsSource({ node: 'node-a', devices: ['ens1f0'], root });
    expect(src.name).toBe('sysfs');
    const r = await src.read();
    expect(r.errors).toBeUndefined();
    expect(r.qdiscs).toEqual([]);
    expect(r.vfs).toHaveLength(3);
    expect(r.vfs[0]).toEqual({
      node: 'node-a',
      pf: 'ens1f0',
      vf: 0,
      mac: '02:00:00:00:01:01',
      vlan: 100,
      qos: 3,
      minTxRate: 1e9,
      maxTxRate: 1e10,
      spoofCheck: true,
      trust: false,
      linkState: 'auto',
      pciAddress: '0000:3b:00.2',
      rxBytes: 1000,
      rxPackets: 10,
      rxDropped: 1,
      rxBroadcast: 2,
      rxMulticast: 3,
      txBytes: 2000,
      txPackets: 20,
      txDropped: 4,
    });
    expect(r.vfs[1]).toMatchObject({
      vf: 1,
      vlan: 200,
      qos: 5,
      maxTxRate: 0,
      pciAddress: '0000:3b:00.3',
      rxBytes: 800,
      rxPackets: 8,
      txBytes: 700,
      txPackets: 7,
      txDropped: 0,
      spoofCheck: null,
    });
    expect(r.vfs[2]).toMatchObject({
      vf: 2,
      mac: '0a:00:00:00:01:03',
      pciAddress: '0000:3b:00.4',
      rxBytes: null,
      txBytes: null,
      linkState: null,
    });
  });

  it('gives no VFs for a PF without SR-IOV', async () => {
    makePf('eno1', '0000:01:00.0');
    expect(await readSysfsPf(root, 'n', 'eno1')).toEqual([]);
  });

  it('reports a PF that is gone or malformed and still reads the others; all gone rejects', async () => {
    const dev = buildTree();
    const both = createSysfsSource({ node: 'n', devices: ['ens1f0', 'ens9'], root });
    const r = await both.read();
    expect(r.vfs).toHaveLength(3);
    expect(r.errors).toEqual([expect.stringMatching(/^ens9: .*class\/net\/ens9\/device: no such directory/)]);

    makePf('ens9', '0000:5e:00.0'); // back, without VFs
    put(`${dev}/sriov/0/stats/rx_bytes`, 'garbage');
    const r2 = await both.read();
    expect(r2.vfs).toEqual([]);
    expect(r2.errors).toHaveLength(1);
    expect(r2.errors![0]).toMatch(/sriov\/0\/stats\/rx_bytes: expected an unsigned integer, got "garbage"/);

    await expect(createSysfsSource({ node: 'n', devices: ['ens7'], root }).read()).rejects.toThrow(/ens7/);
  });

  it('rejects bad configuration', () => {
    expect(() => createSysfsSource({ node: 'n', devices: ['../etc'], root })).toThrow(/invalid name/);
    expect(() => createSysfsSource({ node: '', devices: [], root })).toThrow(/node/);
  });
});

describe('netdev source', () => {
  function rep(ifname: string, base: number) {
    const files = [
      'rx_bytes',
      'rx_packets',
      'rx_dropped',
      'rx_errors',
      'tx_bytes',
      'tx_packets',
      'tx_dropped',
    ];
    files.forEach((f, i) => {
      put(`class/net/${ifname}/statistics/${f}`, base + i);
    });
    put(`class/net/${ifname}/statistics/tx_errors`, base + 7);
    put(`class/net/${ifname}/statistics/collisions`, 0);
  }

  it('reads named interfaces and those matching a pattern', async () => {
    rep('ens1f0', 100);
    rep('pf0vf0', 1000);
    rep('pf0vf1', 2000);
    rep('eth0', 5);
    const src = createNetdevSource({ node: 'n', devices: ['ens1f0'], match: /^pf0vf\d+$/, root });
    const r = await src.read();
    expect(r.errors).toBeUndefined();
    expect(r.netdevs.map((s) => s.interface)).toEqual(['ens1f0', 'pf0vf0', 'pf0vf1']);
    expect(r.netdevs[1]).toEqual({
      node: 'n',
      interface: 'pf0vf0',
      rxBytes: 1000,
      rxPackets: 1001,
      rxDropped: 1002,
      rxErrors: 1003,
      txBytes: 1004,
      txPackets: 1005,
      txDropped: 1006,
      txErrors: 1007,
    });
  });

  it('reports a named interface that is missing; a matched one that vanished is just absent', async () => {
    rep('pf0vf0', 1);
    const src = createNetdevSource({ node: 'n', devices: ['pf0vf0', 'pf0vf9'], root });
    const r = await src.read();
    expect(r.netdevs).toHaveLength(1);
    expect(r.errors).toEqual([expect.stringMatching(/^pf0vf9: .*pf0vf9\/statistics: no such interface/)]);

    // a directory without statistics files (the interface went away mid-read)
    mkdirSync(join(root, 'class/net/pf0vf5'), { recursive: true });
    const matched = await createNetdevSource({ node: 'n', devices: [], match: /^pf0vf/, root }).read();
    expect(matched.errors).toBeUndefined();
    expect(matched.netdevs.map((s) => s.interface)).toEqual(['pf0vf0']);

    put('class/net/pf0vf0/statistics/rx_bytes', '12 34');
    await expect(readNetdevStats(root, 'n', 'pf0vf0')).rejects.toThrow(
      /rx_bytes: expected an unsigned integer/,
    );
    await expect(createNetdevSource({ node: 'n', devices: ['pf0vf0'], root }).read()).rejects.toThrow(
      /pf0vf0/,
    );
    expect(() => createNetdevSource({ node: 'n', devices: [], root })).toThrow(/devices, match/);
  });
});
