import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../ingest/store.js';
import { type FlowRec, parseJsonl } from '../cli/helpers.js';
import { NetLab, waitForOutput } from '../helpers/netns.js';
import { interrupt, type Running, running } from '../helpers/running.js';

const BIN = fileURLToPath(new URL('../../bin/podwire.js', import.meta.url));

const VNI = 5001;
const VTEP_A = '192.168.60.1';
const VTEP_B = '192.168.60.2';
const WEB = '172.16.2.10';
const API = '172.16.2.20';
const PORT = 5201;

let lab: NetLab;
let dir = '';
let inventoryPath = '';

async function buildTopology(l: NetLab): Promise<{ web: string; api: string }> {
  for (const ns of ['node-a', 'node-b', 'pod-web', 'pod-api', 'collector']) await l.addNamespace(ns);
  await l.veth('node-a', 'ul0', 'node-b', 'ul0', 1550);
  await l.addAddress('node-a', 'ul0', `${VTEP_A}/24`);
  await l.addAddress('node-b', 'ul0', `${VTEP_B}/24`);
  for (const [node, local, remote] of [
    ['node-a', VTEP_A, VTEP_B],
    ['node-b', VTEP_B, VTEP_A],
  ] as const) {
    await l.bridge(node, 'br-ov');
    await l.vxlan(node, 'vxlan0', { vni: VNI, dstport: 4789, local, remote, dev: 'ul0' });
    await l.attach(node, 'vxlan0', 'br-ov');
  }
  await l.veth('pod-web', 'net1', 'node-a', 'vweb1');
  await l.veth('pod-api', 'net1', 'node-b', 'vapi1');
  await l.attach('node-a', 'vweb1', 'br-ov');
  await l.attach('node-b', 'vapi1', 'br-ov');
  await l.addAddress('pod-web', 'net1', `${WEB}/24`);
  await l.addAddress('pod-api', 'net1', `${API}/24`);
  await l.veth('node-a', 'cap0', 'collector', 'cap1');
  await l.mirror('node-a', 'ul0', 'cap0');
  await l.veth('node-a', 'pm0', 'collector', 'pm1');
  await l.mirror('node-a', 'vweb1', 'pm0');
  return { web: await l.mac('pod-web', 'net1'), api: await l.mac('pod-api', 'net1') };
}

function inventory(m: { web: string; api: string }) {
  const common = {
    namespace: 'shop',
    network: 'overlay-1',
    mode: 'overlay',
    vni: VNI,
    interface: 'net1',
    from: new Date(Date.now() - 60_000).toISOString(),
  };
  return {
    version: 1,
    nodes: [
      { name: 'node-a', vteps: [VTEP_A] },
      { name: 'node-b', vteps: [VTEP_B] },
    ],
    endpoints: [
      { ...common, pod: 'web', node: 'node-a', mac: m.web, ips: [WEB] },
      { ...common, pod: 'api', node: 'node-b', mac: m.api, ips: [API] },
    ],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const startIn = (ns: string, cmd: string, args: string[]): Running => running(lab.spawn(ns, cmd, args));

/** Polls until `ok()`, failing with the process's stderr after 30 s or when it exits. */
async function until(ok: () => boolean, r: Running): Promise<void> {
  for (let i = 0; i < 300 && !ok() && r.child.exitCode === null; i++) await sleep(100);
  if (!ok()) throw new Error(`timed out; stderr: ${r.stderr()}`);
}

/** A reference tcpdump on IFACE, writing FILE, once it listens. */
async function reference(iface: string, file: string): Promise<Running> {
  const r = startIn('collector', 'tcpdump', ['-i', iface, '-n', '-B', '65536', '-s', '256', '-w', file]);
  await waitForOutput(r.child, 'stderr', /listening on/, 10_000);
  return r;
}

async function podwireFlows(iface: string, extra: string[] = []): Promise<Running> {
  const r = startIn('collector', process.execPath, [
    BIN,
    'flows',
    '--capture',
    iface,
    '--inventory',
    inventoryPath,
    '--window',
    '60s',
    ...extra,
  ]);
  await waitForOutput(r.child, 'stderr', new RegExp(`podwire: capturing on ${iface}\\b`), 15_000);
  return r;
}

/** The capture interface's receive drops, as the kernel counts them. */
async function rxDropped(iface: string): Promise<number> {
  const { stdout } = await lab.ip('collector', ['-j', '-s', 'link', 'show', 'dev', iface]);
  const [link] = JSON.parse(stdout) as { stats64: { rx: { dropped: number } } }[];
  return link!.stats64.rx.dropped;
}

/**
 * Waits until the interface has received nothing for a second: a new lab's bridges and
 * VTEPs announce themselves (IGMP reports, ARP) for a few seconds, and a frame of theirs
 * seen by only one of two captures started apart would be a false difference.
 */
async function quiet(iface: string): Promise<void> {
  const rx = async () => {
    const { stdout } = await lab.ip('collector', ['-j', '-s', 'link', 'show', 'dev', iface]);
    return (JSON.parse(stdout) as { stats64: { rx: { packets: number } } }[])[0]!.stats64.rx.packets;
  };
  let last = await rx();
  for (let i = 0; i < 30; i++) {
    await sleep(1000);
    const now = await rx();
    if (now === last) return;
    last = now;
  }
  throw new Error(`${iface} never went quiet`);
}

interface IperfEnd {
  bits_per_second: number;
  bytes: number;
  packets?: number;
}

/** One iperf3 run from pod-web to pod-api (one-off server); its sender totals. */
async function iperf(args: string[]): Promise<IperfEnd> {
  const server = startIn('pod-api', 'iperf3', ['-s', '-1', '--forceflush', '-B', API, '-p', String(PORT)]);
  await waitForOutput(server.child, 'stdout', /Server listening/, 10_000);
  const { stdout } = await lab.exec(
    'pod-web',
    'iperf3',
    ['-c', API, '-p', String(PORT), '-J', ...args],
    60_000,
  );
  await server.exited;
  const r = JSON.parse(stdout) as { error?: string; end: { sum_sent?: IperfEnd; sum?: IperfEnd } };
  expect(r.error).toBeUndefined();
  return (r.end.sum_sent ?? r.end.sum)!;
}

/** The counts of podwire's closing summary line. */
function summary(stderr: string): Record<string, number> {
  const line = stderr.split('\n').find((l) => l.startsWith('podwire: packets='));
  expect(line, stderr).toBeDefined();
  const out: Record<string, number> = {};
  for (const [, k, v] of line!.matchAll(/(\w+)=(\d+)/g)) out[k!] = Number(v);
  return out;
}

/** Frames and bytes (on the wire) of a capture file, by tshark. */
async function fileTotals(file: string): Promise<{ frames: number; bytes: number }> {
  const { stdout } = await lab.exec('collector', 'tshark', ['-n', '-r', file, '-q', '-z', 'io,stat,0']);
  const m = /\|\s*0\.0+\s*<>\s*(?:Dur|[\d.]+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return { frames: Number(m![1]), bytes: Number(m![2]) };
}

const mbps = (e: IperfEnd) => Math.round(e.bits_per_second / 1e6);

describe('live capture at rate: podwire against a reference tcpdump on the same mirror port', () => {
  beforeAll(async () => {
    lab = await NetLab.create();
    try {
      const macs = await buildTopology(lab);
      dir = await mkdtemp(join(tmpdir(), 'podwire-rate-'));
      inventoryPath = join(dir, 'inventory.json');
      await writeFile(inventoryPath, JSON.stringify(inventory(macs)));
      await lab.exec('pod-web', 'ping', ['-n', '-q', '-c', '1', '-W', '2', API]);
    } catch (err) {
      await lab.cleanup();
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await lab?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * podwire and the reference on cap1 around `traffic`: podwire must have read exactly the
   * reference's frames and bytes, neither dropped any in the kernel, and podwire's interface
   * drops are the kernel's rx_dropped of cap1 over the run. Returns what traffic said.
   */
  async function againstReference(name: string, traffic: () => Promise<string>): Promise<void> {
    const file = join(dir, `${name}.pcap`);
    await quiet('cap1');
    const ref = await reference('cap1', file);
    const pw = await podwireFlows('cap1');
    const dropped0 = await rxDropped('cap1');
    const said = await traffic();
    await sleep(1500);
    const status = await interrupt(pw);
    await sleep(1500); // the reference's last kernel block retires (it is not in immediate mode)
    await interrupt(ref);
    const dropped = (await rxDropped('cap1')) - dropped0;
    const s = summary(pw.stderr());
    const want = await fileTotals(file);
    console.log(
      `capture at rate, ${name}: ${said}; reference ${want.frames} frames ${want.bytes} bytes, ` +
        `${ref.stderr().match(/(\d+) packets? dropped by kernel/)?.[1]} kernel drops; podwire ${s.packets} packets ` +
        `${s.bytes} bytes, kernel_drops=${s.kernel_drops} interface_drops=${s.interface_drops} (cap1 rx_dropped +${dropped})`,
    );
    expect(ref.stderr()).toMatch(/\n0 packets dropped by kernel/);
    expect(s.kernel_drops).toBe(0);
    expect(status, pw.stderr()).toEqual({ code: 0, signal: null });
    expect(s.packets).toBe(want.frames);
    expect(s.bytes).toBe(want.bytes);
    expect(s.received_by_filter).toBe(want.frames);
    expect(s.interface_drops).toBe(dropped);
  }

  it('keeps up with iperf3 through VXLAN: TCP paced at 1 Gbit/s, then 1400-byte UDP as fast as the machine sends it; the same packets and bytes as the reference, no kernel drops', async () => {
    await againstReference('iperf3', async () => {
      // segmentation offload: large frames, as on a GRO'd tap
      const tcp = await iperf(['-t', '3', '-b', '1G']);
      const udp = await iperf(['-u', '-t', '2', '-b', '1G', '-l', '1400']);
      // the pacing held (a run the machine could not drive to rate proves nothing about it)
      expect(tcp.bits_per_second).toBeGreaterThan(0.9e9);
      return `iperf3 TCP ${mbps(tcp)} Mbit/s, UDP ${mbps(udp)} Mbit/s (${udp.packets} datagrams)`;
    });
  }, 90_000);

  it('keeps up with 1 Gbit/s of full-size frames (~83,000/s: VXLAN frames of a real transfer replayed by tcpreplay into the mirror port); the same packets and bytes as the reference', async () => {
    // the frames: a capture of iperf3's 1400-byte datagrams, whole (-s 0)
    const source = join(dir, 'replay-source.pcap');
    const grab = startIn('collector', 'tcpdump', [
      '-i',
      'cap1',
      '-n',
      '-B',
      '131072',
      '-s',
      '0',
      '-c',
      '40000',
      '-w',
      source,
      'udp port 4789 and greater 1400',
    ]);
    await waitForOutput(grab.child, 'stderr', /listening on/, 10_000);
    await iperf(['-u', '-t', '3', '-b', '400M', '-l', '1400']);
    await interrupt(grab).catch(() => grab.exited);
    await againstReference('tcpreplay', async () => {
      const { stdout } = await lab.exec(
        'node-a',
        'tcpreplay',
        ['-i', 'cap0', '--mbps', '1000', '--loop', '5', source],
        120_000,
      );
      const rated = /Rated: [\d.]+ Bps, ([\d.]+) Mbps, ([\d.]+) pps/.exec(stdout);
      expect(rated, stdout).not.toBeNull();
      expect(Number(rated![1])).toBeGreaterThan(900);
      return `tcpreplay ${rated![1]} Mbit/s, ${Math.round(Number(rated![2]))} frames/s`;
    });
  }, 120_000);

  it('says when its buffer overflowed: kernel drops on the summary line and on stderr, exit 1', async () => {
    // 1 MiB of 64-KiB slots (the old default's ring: tcpdump -s 0) holds 16 packets
    const pw = await podwireFlows('cap1', ['--capture-buffer', '1', '--snaplen', '262144']);
    await iperf(['-u', '-t', '1', '-b', '1G', '-l', '1400']);
    await sleep(500);
    const status = await interrupt(pw);
    const s = summary(pw.stderr());
    expect(s.kernel_drops).toBeGreaterThan(0);
    expect(s.packets + s.kernel_drops).toBe(s.received_by_filter);
    expect(pw.stderr()).toMatch(
      /podwire: WARNING: capture on cap1 lost packets of [\d,]+: [\d,]+ dropped by the kernel \(the capture buffer was full: raise --capture-buffer\)/,
    );
    expect(pw.stderr()).toContain(
      `podwire: capture on cap1: ${s.kernel_drops.toLocaleString('en')} packets dropped by the kernel; the output is incomplete`,
    );
    expect(status).toEqual({ code: 1, signal: null });
  }, 60_000);

  it("counts the interface's own drops (a veth backlog overflowing under unsegmented TCP) as the kernel does, and warns", async () => {
    // one segment per skb: a burst of MTU frames through the mirror overflows the backlog
    await lab.ip('pod-web', ['link', 'set', 'net1', 'gso_max_segs', '1']);
    try {
      const pw = await podwireFlows('cap1');
      const dropped0 = await rxDropped('cap1');
      await iperf(['-t', '2', '-b', '1G']);
      await sleep(1000);
      const status = await interrupt(pw);
      const dropped = (await rxDropped('cap1')) - dropped0;
      const s = summary(pw.stderr());
      expect(s.interface_drops).toBe(dropped);
      expect(dropped).toBeGreaterThan(0);
      expect(pw.stderr()).toContain(
        `${dropped.toLocaleString('en')} dropped by the interface before any capture saw them`,
      );
      // not podwire's loss: nothing dropped in its capture, exit 0
      expect(s.kernel_drops).toBe(0);
      expect(status).toEqual({ code: 0, signal: null });
    } finally {
      await lab.ip('pod-web', ['link', 'set', 'net1', 'gso_max_segs', '65535']);
    }
  }, 60_000);

  it("attributes a mirror of an overlay pod's own interface (untagged) with --untagged-scope vni:5001, and not without", async () => {
    const run = async (extra: string[]) => {
      const pw = await podwireFlows('pm1', extra);
      await lab.exec('pod-web', 'ping', ['-n', '-q', '-c', '3', '-i', '0.2', API]);
      await sleep(300);
      expect(await interrupt(pw), pw.stderr()).toEqual({ code: 0, signal: null });
      return parseJsonl<FlowRec>(pw.stdout()).filter((f) => f.proto === 'icmp');
    };
    const plain = await run([]);
    expect(plain.length).toBeGreaterThan(0);
    for (const f of plain) {
      expect(f.vni).toBeNull();
      expect(f.src).toBeNull();
      expect(f.dst).toBeNull();
    }
    const scoped = await run(['--untagged-scope', `vni:${VNI}`]);
    const toApi = scoped.filter((f) => f.src_ip === WEB && f.dst_ip === API);
    expect(toApi.reduce((n, f) => n + f.packets, 0)).toBe(3);
    for (const f of scoped) {
      expect(f.vni).toBe(VNI);
      const fromWeb = f.src_ip === WEB;
      expect(f.src).toMatchObject({ namespace: 'shop', pod: fromWeb ? 'web' : 'api', by: 'mac' });
      expect(f.dst).toMatchObject({ namespace: 'shop', pod: fromWeb ? 'api' : 'web', by: 'mac' });
    }
  }, 60_000);

  it('podwire all with a capture mirror: drops on the status line, in /api/status and podwire_capture_* metrics, a warning; mirror.untaggedScope attributes a pod-side mirror', async () => {
    const dataDir = join(dir, 'all-data');
    const config = join(dir, 'all.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir,
        endpoints: { sources: [{ type: 'file', path: inventoryPath }] },
        // /metrics is rendered on the NIC interval
        nic: { sources: [], intervalSeconds: 1 },
        // the old default's ring (16 slots of 64 KiB): it overflows, and must say so
        mirror: {
          type: 'capture',
          interface: 'pm1',
          bufferMiB: 1,
          snaplen: 262144,
          untaggedScope: `vni:${VNI}`,
        },
        flows: { windowSeconds: 1 },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    await quiet('pm1');
    const dropped0 = await rxDropped('pm1');
    const all = startIn('collector', process.execPath, [
      BIN,
      'all',
      '--config',
      config,
      '--status-every',
      '1s',
    ]);
    await until(
      () => /podwire: capturing on pm1\b/.test(all.stderr()) && /metrics\s+http:/.test(all.stderr()),
      all,
    );
    const url = /metrics\s+(http:\/\/\S+)\/metrics/.exec(all.stderr())![1]!;
    await iperf(['-u', '-t', '1', '-b', '1G', '-l', '1400']);
    // tcpdump reports every 5 s: wait for one after the traffic
    await sleep(6500);
    const curl = async (path: string) =>
      (await lab.exec('collector', 'curl', ['-sf', `${url}${path}`])).stdout;
    const metrics = await curl('/metrics');
    const status = JSON.parse(await curl('/api/status')) as {
      capture: {
        interface: string;
        packets: number;
        receivedByFilter: number;
        droppedByKernel: number;
        droppedByInterface: number;
      };
    };
    const dropped = (await rxDropped('pm1')) - dropped0;
    const value = (series: string) => {
      const m = new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics);
      expect(m, `${series} in\n${metrics}`).not.toBeNull();
      return Number(m![1]);
    };
    const packets = value('podwire_capture_packets_total{interface="pm1"}');
    const received = value('podwire_capture_received_packets_total{interface="pm1"}');
    const kernel = value('podwire_capture_dropped_packets_total{interface="pm1",reason="kernel"}');
    const ifDrops = value('podwire_capture_dropped_packets_total{interface="pm1",reason="interface"}');
    expect(kernel).toBeGreaterThan(0);
    expect(packets + kernel).toBe(received);
    expect(ifDrops).toBe(dropped);
    expect(status.capture).toEqual({
      interface: 'pm1',
      packets,
      receivedByFilter: received,
      droppedByKernel: kernel,
      droppedByInterface: ifDrops,
    });
    expect(all.stderr()).toContain(
      `capture pm1: ${kernel.toLocaleString('en')} dropped by the kernel, ${ifDrops.toLocaleString('en')} by the interface`,
    );
    expect(all.stderr()).toMatch(/podwire: WARNING: capture on pm1 lost packets.*raise mirror\.bufferMiB/);
    // the kernel's drops are a cause of collection-broken: the in-process evaluator (a round
    // per NIC interval) holds it pending (its `for` is 5 minutes) for the capture's interface
    expect(kernel / (kernel + packets)).toBeGreaterThan(0.01);
    type Alerts = { alerts: { name: string; state: string; labels: Record<string, string> }[] };
    const captureAlert = (a: Alerts) =>
      a.alerts.filter(
        (x) => x.name === 'PodwireCollectionBroken' && x.labels.problem === 'capture_kernel_drops',
      );
    let alerts: Alerts = { alerts: [] };
    for (let i = 0; i < 50 && captureAlert(alerts).length === 0; i++) {
      alerts = JSON.parse(await curl('/api/alerts')) as Alerts;
      if (captureAlert(alerts).length === 0) await sleep(100);
    }
    expect(captureAlert(alerts), JSON.stringify(alerts)).toEqual([
      expect.objectContaining({
        state: 'pending',
        labels: { severity: 'warning', problem: 'capture_kernel_drops', interface: 'pm1' },
      }),
    ]);
    expect(await interrupt(all), all.stderr()).toEqual({ code: 0, signal: null });

    // the pod-side mirror's untagged frames were attributed in VNI 5001
    const store = await openStore({ dataDir: join(dataDir, 'clickhouse'), database: 'podwire' });
    try {
      const rs = await store.client.query({
        query: `SELECT src_pod, dst_pod, vni, sum(packets) AS packets FROM podwire.flows
                WHERE protocol = 17 GROUP BY src_pod, dst_pod, vni`,
        format: 'JSONEachRow',
      });
      const rows = (await rs.json()) as { src_pod: string; dst_pod: string; vni: number; packets: string }[];
      // iperf3's datagrams to the server, and the server's one reply to its first
      const pairs = new Map(rows.map((r) => [`${r.src_pod}>${r.dst_pod}/${r.vni}`, Number(r.packets)]));
      expect([...pairs.keys()].sort()).toEqual([`api>web/${VNI}`, `web>api/${VNI}`]);
      expect(pairs.get(`web>api/${VNI}`)).toBeGreaterThan(0);
      expect(pairs.get(`web>api/${VNI}`)).toBeLessThanOrEqual(packets);
    } finally {
      await store.close();
    }
  }, 120_000);
});
