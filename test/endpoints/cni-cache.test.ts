/**
 * The cni-cache source on real temp directories with real fs watching (no rescan poll):
 * SR-IOV CNI NetConf files appearing, changing, turning invalid and disappearing, with and
 * without libcni's result cache.
 */
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CniCacheSource,
  netConfToRecord,
  parseCniResult,
  parseSriovNetConf,
} from '../../collector/endpoints/cni-cache.js';
import { LiveInventory } from '../../collector/endpoints/live-inventory.js';
import { ipAt, macAt } from './records.js';
import { waitFor } from './wait.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const CID = '3f1e2d9c8b7a65544332211000ffeeddccbbaa99887766554433221100aabbcc';
const CID2 = 'aa00bb11cc22dd33ee44ff5566778899aa00bb11cc22dd33ee44ff5566778899';

/** A NetConf as SR-IOV CNI saves it (fields it writes that we ignore included). */
function netConf(over: Record<string, unknown> = {}) {
  return JSON.stringify({
    cniVersion: '0.3.1',
    name: 'shop-l2',
    type: 'sriov',
    vlan: 100,
    min_tx_rate: 1000,
    max_tx_rate: 4000,
    ipam: { type: 'whereabouts', range: '10.10.0.0/16' },
    DPDKMode: false,
    Master: 'ens1f0',
    MAC: '02:00:00:00:01:01',
    vlanQoS: 0,
    deviceID: '0000:3b:02.3',
    VFID: 3,
    ContIFNames: 'net1',
    OrigVfState: { HostIFName: 'ens1f0v3', SpoofChk: true, AdminMAC: '00:00:00:00:00:00', Vlan: 0 },
    ...over,
  });
}

function cachedResult(ns: string, pod: string, ip: string) {
  return JSON.stringify({
    kind: 'cniCacheV1',
    containerId: CID,
    config: 'e30=',
    ifName: 'net1',
    networkName: 'shop-l2',
    cniArgs: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', ns],
      ['K8S_POD_NAME', pod],
      ['K8S_POD_INFRA_CONTAINER_ID', CID],
    ],
    result: {
      cniVersion: '0.3.1',
      interfaces: [{ name: 'net1', sandbox: '/var/run/netns/x' }],
      ips: [{ version: '4', address: `${ip}/16`, interface: 0 }],
    },
  });
}

async function rig(withResults: boolean) {
  const root = await mkdtemp(join(tmpdir(), 'podwire-cni-cache-'));
  dirs.push(root);
  const dir = join(root, 'sriov');
  const results = join(root, 'results');
  await mkdir(results);
  const logs: string[] = [];
  const src = new CniCacheSource({
    dir,
    resultsDir: withResults ? results : '',
    node: 'node-a',
    debounceMs: 20,
    pollMs: 0,
    log: (m) => logs.push(m),
  });
  const live = new LiveInventory({ log: (m) => logs.push(m) });
  return { root, dir, results, src, live, logs };
}

describe('cni-cache endpoint source', () => {
  it('parses a saved NetConf into an L2 endpoint on its VF, the tier from its rates', () => {
    const c = parseSriovNetConf(netConf(), 'f');
    const r = netConfToRecord(c, `${CID}-net1`, 'node-a', null, [
      { name: 'standard', minTxRate: 1000, maxTxRate: 4000 },
    ]);
    expect(r).toMatchObject({
      namespace: 'unknown',
      pod: `container-${CID.slice(0, 12)}`,
      node: 'node-a',
      interface: 'net1',
      network: 'shop-l2',
      mode: 'l2',
      vlan: 100,
      mac: '02:00:00:00:01:01',
      ips: [],
      vf: { pf: 'ens1f0', index: 3 },
      tier: 'standard',
    });
    expect(parseCniResult(cachedResult('shop', 'web-1', '10.10.0.11'))).toEqual({
      namespace: 'shop',
      pod: 'web-1',
      ips: ['10.10.0.11'],
    });
  });

  it('invalid NetConf files get an error naming the file and field', () => {
    expect(() => parseSriovNetConf('{"VFID": ', '/x/f')).toThrow(/\/x\/f: not valid JSON/);
    expect(() => parseSriovNetConf(netConf({ VFID: -1, deviceID: 'pci' }), '/x/f')).toThrow(
      /invalid SR-IOV NetConf\n {2}deviceID: expected a PCI address[\s\S]*VFID: /,
    );
    expect(() => parseSriovNetConf(netConf({ MAC: undefined }), '/x/f')).toThrow(/MAC: /);
  });

  it('files appearing, changing, going bad and disappearing (real fs watching), with the result cache', async () => {
    const { dir, results, src, live, logs } = await rig(true);
    await mkdir(dir);
    await writeFile(join(results, `shop-l2-${CID}-net1`), cachedResult('shop', 'web-1', '10.10.0.11'));
    await writeFile(join(dir, `${CID}-net1`), netConf());
    await live.attach(src);
    expect(ipAt(live.index, 100, '10.10.0.11', Date.now() * 1000)).toBe('shop/web-1@node-a');
    expect(live.stats().vfsInUse.get('node-a')).toBe(1);

    // a second VF appears
    let scans = src.scans;
    await writeFile(
      join(dir, `${CID2}-net1`),
      netConf({ MAC: '02:00:00:00:02:02', VFID: 4, deviceID: '0000:3b:02.4', vlan: 101 }),
    );
    await waitFor(() => live.stats().live === 2, 'the new file');
    expect(macAt(live.index, 101, '02:00:00:00:02:02', Date.now() * 1000)).toBe(
      `unknown/container-${CID2.slice(0, 12)}@node-a`,
    );

    // it changes VLAN: rebound
    await writeFile(
      join(dir, `${CID2}-net1`),
      netConf({ MAC: '02:00:00:00:02:02', VFID: 4, deviceID: '0000:3b:02.4', vlan: 102 }),
    );
    await waitFor(
      () => macAt(live.index, 102, '02:00:00:00:02:02', Date.now() * 1000) !== null,
      'the change',
    );
    expect(live.stats()).toMatchObject({ live: 2, history: 1 });

    // it goes bad: an error naming the file and field; its last good binding stays
    scans = src.scans;
    await writeFile(join(dir, `${CID2}-net1`), netConf({ VFID: 'four' }));
    await waitFor(() => src.health().errors === 1, 'the error');
    expect(src.health().lastError).toContain(`${CID2}-net1: invalid SR-IOV NetConf`);
    expect(src.health().lastError).toMatch(/VFID: /);
    expect(logs.join('\n')).toMatch(/its last good binding stays/);
    expect(live.stats().live).toBe(2);
    expect(src.scans).toBeGreaterThan(scans);

    // both disappear (CNI DEL)
    const t = Date.now() * 1000;
    await unlink(join(dir, `${CID}-net1`));
    await unlink(join(dir, `${CID2}-net1`));
    await waitFor(() => live.stats().live === 0, 'the removals');
    expect(ipAt(live.index, 100, '10.10.0.11', t - 1000)).toBe('shop/web-1@node-a');
    expect(ipAt(live.index, 100, '10.10.0.11', Date.now() * 1000 + 1000)).toBeNull();
    expect(live.stats().vfsInUse.get('node-a')).toBe(0);
    await live.close();
  });

  it('a cache directory that does not exist yet is picked up when the plugin creates it', async () => {
    const { dir, results, live } = await rig(false);
    const src = new CniCacheSource({ dir, resultsDir: results, node: 'node-b', debounceMs: 20, pollMs: 30 });
    await live.attach(src);
    expect(live.stats().live).toBe(0);
    expect(src.health().ok).toBe(true);
    await mkdir(dir);
    await writeFile(join(dir, `${CID}-net1`), netConf());
    await waitFor(() => live.stats().live === 1, 'the first file');
    expect(live.stats().vfsInUse).toEqual(new Map([['node-b', 1]]));
    await live.close();
  });

  it('an invalid file at start is skipped and counted; the source keeps going', async () => {
    const { dir, src, live } = await rig(false);
    await mkdir(dir);
    await writeFile(join(dir, `${CID}-net1`), '{"cniVersion": "0.3.1", "MAC": ');
    await writeFile(join(dir, 'not-a-cache-file'), netConf());
    await live.attach(src);
    expect(src.health()).toMatchObject({ ok: false, errors: 1 });
    expect(src.health().lastError).toMatch(/not valid JSON.*\(skipped\)/s);
    // the odd name parses as containerID "not", ifName "a-cache-file": still a VF endpoint
    expect(live.stats().live).toBe(1);
    await writeFile(
      join(dir, `${CID}-net1`),
      netConf({ MAC: '02:00:00:00:03:03', VFID: 5, deviceID: '0000:3b:02.5' }),
    );
    await waitFor(() => live.stats().live === 2, 'the repaired file');
    await live.close();
  });
});
