/**
 * Host-side devices joined to their pods, on the real kernel: a node namespace with the
 * host ends of two pods' veths (the pods are namespaces), and a veth whose peer stays on
 * the node, standing in for a host-side port whose pod end podwire cannot see (an OVS port,
 * a VF representor), named by the inventory's `hostInterface`. Each host device has a TBF qdisc that drops
 * most of a burst of UDP from the node towards the pod. `podwire node` reads them with the
 * netdev and tc sources; its /metrics must name the pod on every netdev and qdisc series of
 * a pod's device, with tc's own drop counts.
 *
 *   node: vpa ══ veth ══ pod-a: eth0 (10.88.1.2)      vpb ══ veth ══ pod-b: eth0 (10.88.2.2)
 *         dpc ══ veth ══ dpc-end (both on the node; dpc 10.88.3.1, inventory hostInterface of pod c)
 *
 * All traffic stays inside the lab's namespaces; they are deleted in afterAll.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetLab, run, waitForOutput } from '../helpers/netns.js';

const BIN = fileURLToPath(new URL('../../bin/podwire.js', import.meta.url));
const NODE = 'node-x';
const PORT = 19743;
const POD_C_MAC = '02:00:00:00:0c:01';

let lab: NetLab;
let dir = '';
let inventoryPath = '';
const macs: Record<string, string> = {};

/** TBF at 1 Mbit/s with room for two frames: a burst is mostly dropped. */
async function tbf(dev: string) {
  await run('tc', [
    '-n',
    lab.ns('node'),
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'handle',
    '1:',
    'tbf',
    'rate',
    '1mbit',
    'burst',
    '3000',
    'limit',
    '3000',
  ]);
}

/** tc's own drop count of the root qdisc (the oracle). */
async function tcDrops(dev: string): Promise<number> {
  const { stdout } = await run('tc', ['-n', lab.ns('node'), '-s', '-j', 'qdisc', 'show', 'dev', dev]);
  const root = (JSON.parse(stdout) as { handle: string; drops: number }[]).find((q) => q.handle === '1:');
  return root!.drops;
}

/** 300 datagrams of 1400 bytes from the node to `ip`, as fast as the socket takes them. */
async function burst(ip: string) {
  await lab.exec('node', process.execPath, [
    '-e',
    `const s = require('node:dgram').createSocket('udp4'); let n = 0;
     const next = () => (n++ < 300 ? s.send(Buffer.alloc(1400), 9, '${ip}', next) : s.close());
     next();`,
  ]);
}

describe('host-side devices carry their pods (netdev and tc series, real veths and qdiscs)', () => {
  beforeAll(async () => {
    lab = await NetLab.create();
    try {
      for (const ns of ['node', 'pod-a', 'pod-b']) await lab.addNamespace(ns);
      for (const [pod, dev, net] of [
        ['pod-a', 'vpa', '1'],
        ['pod-b', 'vpb', '2'],
      ] as const) {
        await lab.veth(pod, 'eth0', 'node', dev);
        await lab.addAddress(pod, 'eth0', `10.88.${net}.2/24`);
        await lab.addAddress('node', dev, `10.88.${net}.1/24`);
        macs[pod] = await lab.mac(pod, 'eth0');
      }
      await lab.veth('node', 'dpc', 'node', 'dpc-end');
      await lab.addAddress('node', 'dpc', '10.88.3.1/24');
      // nobody answers ARP there: a static neighbour lets the burst reach the qdisc
      await lab.ip('node', ['neigh', 'add', '10.88.3.2', 'lladdr', POD_C_MAC, 'dev', 'dpc']);
      for (const dev of ['vpa', 'dpc']) await tbf(dev);
      dir = await mkdtemp(join(tmpdir(), 'podwire-hostside-'));
      inventoryPath = join(dir, 'inventory.json');
      const ep = (pod: string, mac: string, extra: object = {}) => ({
        namespace: 'shop',
        pod,
        node: NODE,
        interface: 'eth0',
        network: 'blue',
        mode: 'l2',
        vlan: 0,
        mac,
        tier: 'standard',
        ...extra,
      });
      await writeFile(
        inventoryPath,
        JSON.stringify({
          version: 1,
          endpoints: [
            // a and b: found through their veth peer's MAC; c: by the host device it names
            ep('a', macs['pod-a']!),
            ep('b', macs['pod-b']!),
            ep('c', POD_C_MAC, { hostInterface: 'dpc' }),
          ],
        }),
      );
    } catch (err) {
      await lab.cleanup();
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await lab?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('podwire node labels the qdisc and netdev series of each pod’s host-side device with its namespace and pod; QoS drops are tc’s', async () => {
    const child: ChildProcess = lab.spawn('node', process.execPath, [
      BIN,
      'node',
      '--source',
      'netdev:vpa,vpb,dpc',
      '--source',
      'tc:vpa,vpb,dpc',
      '--inventory',
      inventoryPath,
      '--node',
      NODE,
      '--listen',
      `127.0.0.1:${PORT}`,
      '--interval',
      '1s',
    ]);
    try {
      await waitForOutput(child, 'stderr', /podwire node node-x: http:/, 20_000);
      await burst('10.88.1.2');
      await burst('10.88.3.2');
      await new Promise((r) => setTimeout(r, 2500));
      const { stdout: metrics } = await lab.exec('node', 'curl', ['-sf', `http://127.0.0.1:${PORT}/metrics`]);
      const series = (family: string) =>
        metrics
          .split('\n')
          .filter((l) => l.startsWith(`${family}{`))
          .map((l) => {
            const labels = Object.fromEntries(
              [...l.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as const),
            );
            return { labels, value: Number(l.slice(l.lastIndexOf(' ') + 1)) };
          });
      const podOf = { vpa: 'a', vpb: 'b', dpc: 'c' } as Record<string, string>;

      const netdev = series('podwire_netdev_transmit_packets_total');
      expect(netdev.map((s) => s.labels.device).sort()).toEqual(['dpc', 'vpa', 'vpb']);
      for (const s of netdev) {
        expect(s.labels, s.labels.device).toMatchObject({
          node: NODE,
          namespace: 'shop',
          pod: podOf[s.labels.device!],
          interface: 'eth0',
          network: 'blue',
          tier: 'standard',
        });
      }
      const qdiscDrops = series('podwire_qdisc_dropped_packets_total');
      expect(new Set(qdiscDrops.map((s) => s.labels.device))).toEqual(new Set(['vpa', 'vpb', 'dpc']));
      for (const s of qdiscDrops) {
        expect(s.labels, `${s.labels.device} ${s.labels.kind}`).toMatchObject({
          namespace: 'shop',
          pod: podOf[s.labels.device!],
        });
      }
      for (const dev of ['vpa', 'dpc']) {
        const tbfSeries = qdiscDrops.find((s) => s.labels.device === dev && s.labels.kind === 'tbf');
        const drops = await tcDrops(dev);
        expect(drops, dev).toBeGreaterThan(0);
        expect(tbfSeries?.value, dev).toBe(drops);
      }
      expect(metrics).toMatch(/^podwire_collector_unattributed_devices\{kind="netdev"\} 0$/m);
    } finally {
      child.kill('SIGINT');
    }
  }, 60_000);
});
