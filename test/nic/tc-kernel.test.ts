/**
 * Real kernel: two network namespaces joined by a veth pair, an HTB root with one 10 Mbit/s
 * class and a TBF leaf (rate 10mbit burst 32kbit latency 50ms) on the sender's end, and
 * iperf3 pushing 50 Mbit/s of UDP for 2 s through it, so the scheduler drops most of it.
 *
 *   tx: va (10.77.0.1) ── htb 1: ── class 1:10 ── tbf 10: ══ veth ══ rx: vb (10.77.0.2) iperf3 -s
 *
 * Then, read back to back after the traffic stopped:
 * - the tc source (`tc -n NS …`) reports exactly what `tc -s -j qdisc show` and
 *   `tc -s class show` say (bytes, packets, drops, overlimits, requeues, backlog), drops > 0;
 * - the collector's monotonic totals rose by exactly tc's own differences;
 * - the netdev source, reading the namespace's sysfs (mounted on a temp dir through
 *   nsenter, since a sysfs mount shows the network namespace of whoever mounts it), matches
 *   /sys/class/net/va/statistics as seen inside the namespace;
 * - the iproute2 source runs the real `ip -n NS -s -d -j link show dev va` (a veth: no VFs).
 *
 * All traffic stays inside the lab's namespaces; the mount and the namespaces are removed
 * in afterAll whatever happens.
 */
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NicCollector } from '../../collector/nic/collector.js';
import { createIproute2Source } from '../../collector/nic/iproute2.js';
import { createNetdevSource } from '../../collector/nic/netdev.js';
import { createTcSource } from '../../collector/nic/tc.js';
import { NetLab, run, waitForOutput } from '../helpers/netns.js';

const TX_IP = '10.77.0.1';
const RX_IP = '10.77.0.2';
const PORT = '5201';
const STAT_FILES = [
  'rx_bytes',
  'rx_packets',
  'rx_dropped',
  'rx_errors',
  'tx_bytes',
  'tx_packets',
  'tx_dropped',
  'tx_errors',
];

let lab: NetLab;
let txNs: string;
let sysRoot: string | null = null;
let mounted = false;

/** `tc -s -j qdisc show dev va` in the sender namespace, straight from tc (the oracle). */
async function tcQdiscs() {
  const { stdout } = await run('tc', ['-n', txNs, '-s', '-j', 'qdisc', 'show', 'dev', 'va']);
  return (JSON.parse(stdout) as Record<string, unknown>[]).map((q) => ({
    kind: q.kind as string,
    handle: q.handle as string,
    bytes: q.bytes as number,
    packets: q.packets as number,
    drops: q.drops as number,
    overlimits: q.overlimits as number,
    requeues: q.requeues as number,
    backlog: q.backlog as number,
    qlen: q.qlen as number,
  }));
}

/** The htb class's "Sent …" line from `tc -s class show dev va`, by a plain regex. */
async function tcClassSent() {
  const { stdout } = await run('tc', ['-n', txNs, '-s', 'class', 'show', 'dev', 'va']);
  const m =
    /class htb 1:10 [^\n]*\n Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+) requeues (\d+)\)/.exec(
      stdout,
    );
  if (!m) throw new Error(`no htb class 1:10 in:\n${stdout}`);
  const [bytes, packets, drops, overlimits, requeues] = m.slice(1).map(Number);
  return { bytes, packets, drops, overlimits, requeues };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  lab = await NetLab.create();
  txNs = await lab.addNamespace('tx');
  await lab.addNamespace('rx');
  await lab.veth('tx', 'va', 'rx', 'vb');
  await lab.addAddress('tx', 'va', `${TX_IP}/24`);
  await lab.addAddress('rx', 'vb', `${RX_IP}/24`);
  const tc = (args: string[]) => run('tc', ['-n', txNs, ...args]);
  await tc(['qdisc', 'add', 'dev', 'va', 'root', 'handle', '1:', 'htb', 'default', '10']);
  await tc([
    'class',
    'add',
    'dev',
    'va',
    'parent',
    '1:',
    'classid',
    '1:10',
    'htb',
    'rate',
    '10mbit',
    'ceil',
    '10mbit',
  ]);
  await tc([
    'qdisc',
    'add',
    'dev',
    'va',
    'parent',
    '1:10',
    'handle',
    '10:',
    'tbf',
    'rate',
    '10mbit',
    'burst',
    '32kbit',
    'latency',
    '50ms',
  ]);
  sysRoot = mkdtempSync(join(tmpdir(), `podwire-${lab.prefix}-sys-`));
  await run('nsenter', [`--net=/run/netns/${txNs}`, 'mount', '-t', 'sysfs', 'sysfs', sysRoot]);
  mounted = true;
});

afterAll(async () => {
  try {
    if (mounted && sysRoot !== null) {
      await run('umount', [sysRoot]);
      mounted = false;
    }
  } finally {
    // rmdir, never a recursive rm: if the umount failed this is still a live sysfs
    if (sysRoot !== null && !mounted) rmdirSync(sysRoot);
    await lab?.cleanup();
  }
});

describe('tc and netdev sources on a real kernel (veth, htb + tbf, iperf3 UDP above the limit)', () => {
  it('report what tc -s and /sys say, and the collector totals rise by the same amounts', async () => {
    const tcSource = createTcSource({ node: 'lab', devices: ['va'], netns: txNs });
    const netdevSource = createNetdevSource({ node: 'lab', devices: ['va'], root: sysRoot! });
    const collector = new NicCollector({
      sources: [tcSource, netdevSource],
      intervalMs: 60_000,
      log: () => {},
    });

    // baseline (no traffic yet: stable)
    const before = await tcQdiscs();
    const first = await collector.collect();
    expect(first.sources.map((s) => s.status)).toEqual(['ok', 'ok']);
    expect(first.qdiscs.map((q) => `${q.sample.level} ${q.sample.kind} ${q.sample.handle}`).sort()).toEqual([
      'class htb 1:10',
      'qdisc htb 1:',
      'qdisc tbf 10:',
    ]);

    const server = lab.spawn('rx', 'iperf3', ['-s', '-1', '--forceflush', '-B', RX_IP, '-p', PORT]);
    await waitForOutput(server, 'stdout', /Server listening/);
    const client = await lab.exec(
      'tx',
      'iperf3',
      ['-u', '-b', '50M', '-t', '2', '-c', RX_IP, '-p', PORT],
      20_000,
    );
    expect(client.stdout).toMatch(/iperf Done/);
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
    await sleep(200); // tbf's 50 ms queue drains

    // read tc, the source and tc again until nothing moved in between
    let oracle = await tcQdiscs();
    let reading = await tcSource.read();
    for (let i = 0; i < 5; i++) {
      const again = await tcQdiscs();
      if (JSON.stringify(again) === JSON.stringify(oracle)) break;
      oracle = again;
      reading = await tcSource.read();
    }
    expect(reading.errors).toBeUndefined();
    const fromSource = reading.qdiscs
      .filter((q) => q.level === 'qdisc')
      .map((q) => ({
        kind: q.kind,
        handle: q.handle,
        bytes: q.bytes,
        packets: q.packets,
        drops: q.drops,
        overlimits: q.overlimits,
        requeues: q.requeues,
        backlog: q.backlogBytes,
        qlen: q.backlogPackets,
      }));
    expect(fromSource).toEqual(oracle);
    const tbf = oracle.find((q) => q.kind === 'tbf')!;
    const htb = oracle.find((q) => q.kind === 'htb')!;
    expect(tbf.drops).toBeGreaterThan(100);
    expect(tbf.bytes).toBeGreaterThan(1_000_000);
    expect(htb.overlimits).toBeGreaterThan(0);

    const cls = reading.qdiscs.find((q) => q.level === 'class' && q.handle === '1:10')!;
    const sent = await tcClassSent();
    expect({
      bytes: cls.bytes,
      packets: cls.packets,
      drops: cls.drops,
      overlimits: cls.overlimits,
      requeues: cls.requeues,
    }).toEqual(sent);
    expect(cls.drops).toBe(tbf.drops);

    // the collector's totals rose by tc's own differences
    const after = await collector.collect();
    const now = await tcQdiscs();
    expect(now).toEqual(oracle);
    for (const kind of ['htb', 'tbf']) {
      const q = after.qdiscs.find((x) => x.sample.level === 'qdisc' && x.sample.kind === kind)!;
      const b = before.find((x) => x.kind === kind)!;
      const a = now.find((x) => x.kind === kind)!;
      expect(q.counters.drops!.total, `${kind} drops`).toBe(a.drops - b.drops);
      expect(q.counters.bytes!.total, `${kind} bytes`).toBe(a.bytes - b.bytes);
      expect(q.counters.packets!.total, `${kind} packets`).toBe(a.packets - b.packets);
      expect(q.counters.overlimits!.total, `${kind} overlimits`).toBe(a.overlimits - b.overlimits);
      expect(q.counters.drops!.rate!).toBeGreaterThan(0);
    }

    // netdev: the source against the namespace's own /sys, read back to back
    const { stdout } = await lab.exec(
      'tx',
      'cat',
      STAT_FILES.map((f) => `/sys/class/net/va/statistics/${f}`),
    );
    const sys = stdout.trim().split('\n').map(Number);
    const nd = (await netdevSource.read()).netdevs[0]!;
    expect([
      nd.rxBytes,
      nd.rxPackets,
      nd.rxDropped,
      nd.rxErrors,
      nd.txBytes,
      nd.txPackets,
      nd.txDropped,
      nd.txErrors,
    ]).toEqual(sys);
    expect(nd.txBytes).toBeGreaterThan(tbf.bytes - 10_000); // what tbf let through left by va
    const ndTracked = after.netdevs.find((n) => n.sample.interface === 'va')!;
    const firstNd = first.netdevs.find((n) => n.sample.interface === 'va')!;
    expect(ndTracked.counters.txBytes!.total).toBe(ndTracked.sample.txBytes - firstNd.sample.txBytes);
    expect(ndTracked.counters.txBytes!.total).toBeGreaterThan(1_000_000);
  });

  it('iproute2 source runs the real ip -n NS -s -d -j link show (a veth has no VFs); a missing PF rejects', async () => {
    const ok = await createIproute2Source({ node: 'lab', devices: ['va'], netns: txNs }).read();
    expect(ok).toEqual({ vfs: [], qdiscs: [], netdevs: [] });
    await expect(
      createIproute2Source({ node: 'lab', devices: ['ens99'], netns: txNs }).read(),
    ).rejects.toThrow(
      /ens99: ip -n \S+ -s -d -j link show dev ens99: exited with code 1: Device "ens99" does not exist/,
    );
  });
});
