import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EndpointRec, type FlowRec, type PacketRec, parseJsonl } from '../cli/helpers.js';
import { NetLab, run, waitForOutput } from '../helpers/netns.js';
import { type Running, running, interrupt as stopWith, within } from '../helpers/running.js';

const BIN = fileURLToPath(new URL('../../bin/podwire.js', import.meta.url));

const VNI = 5001;
const VXLAN_PORT = 4789;
const VTEP_A = '192.168.50.1';
const VTEP_B = '192.168.50.2';
const WEB_L2 = '10.10.0.11';
const DB_L2 = '10.10.0.12';
const WEB_OV = '172.16.1.10';
const API_OV = '172.16.1.20';
const IPERF_PORT = 5201;
const CAPTURE_IFACE = 'cap1';

interface Macs {
  webEth0: string;
  dbEth0: string;
  webNet1: string;
  apiNet1: string;
}

let lab: NetLab | undefined;
let dir = '';
let inventoryPath = '';
let macs: Macs;

/** Builds the topology of the header comment; returns the pods' MACs. */
async function buildTopology(l: NetLab): Promise<Macs> {
  for (const ns of ['node-a', 'node-b', 'pod-web', 'pod-db', 'pod-api', 'collector'])
    await l.addNamespace(ns);

  // underlay between the nodes; 1550 bytes so the VXLAN devices keep a 1500-byte MTU
  await l.veth('node-a', 'ul0', 'node-b', 'ul0', 1550);
  await l.addAddress('node-a', 'ul0', `${VTEP_A}/24`);
  await l.addAddress('node-b', 'ul0', `${VTEP_B}/24`);

  // L2 network "blue", untagged: pod-web and pod-db on node-a's bridge
  await l.bridge('node-a', 'br-l2');
  await l.veth('pod-web', 'eth0', 'node-a', 'vweb0');
  await l.veth('pod-db', 'eth0', 'node-a', 'vdb0');
  await l.attach('node-a', 'vweb0', 'br-l2');
  await l.attach('node-a', 'vdb0', 'br-l2');
  await l.addAddress('pod-web', 'eth0', `${WEB_L2}/24`);
  await l.addAddress('pod-db', 'eth0', `${DB_L2}/24`);

  // overlay "overlay-1", VNI 5001: pod-web (node-a) and pod-api (node-b) bridged to VXLAN
  for (const [node, local, remote] of [
    ['node-a', VTEP_A, VTEP_B],
    ['node-b', VTEP_B, VTEP_A],
  ] as const) {
    await l.bridge(node, 'br-ov');
    await l.vxlan(node, 'vxlan0', { vni: VNI, dstport: VXLAN_PORT, local, remote, dev: 'ul0' });
    await l.attach(node, 'vxlan0', 'br-ov');
  }
  await l.veth('pod-web', 'net1', 'node-a', 'vweb1');
  await l.veth('pod-api', 'net1', 'node-b', 'vapi1');
  await l.attach('node-a', 'vweb1', 'br-ov');
  await l.attach('node-b', 'vapi1', 'br-ov');
  await l.addAddress('pod-web', 'net1', `${WEB_OV}/24`);
  await l.addAddress('pod-api', 'net1', `${API_OV}/24`);

  // the mirror port: node-a's underlay (VXLAN) and pod-db's bridge port (plain L2), both ways
  await l.veth('node-a', 'cap0', 'collector', CAPTURE_IFACE);
  await l.mirror('node-a', 'ul0', 'cap0', ['ingress', 'egress']);
  await l.mirror('node-a', 'vdb0', 'cap0', ['ingress', 'egress']);

  return {
    webEth0: await l.mac('pod-web', 'eth0'),
    dbEth0: await l.mac('pod-db', 'eth0'),
    webNet1: await l.mac('pod-web', 'net1'),
    apiNet1: await l.mac('pod-api', 'net1'),
  };
}

function inventory(m: Macs) {
  const from = new Date(Date.now() - 60_000).toISOString();
  const common = { namespace: 'shop', from, to: null };
  return {
    version: 1,
    nodes: [
      { name: 'node-a', vteps: [VTEP_A] },
      { name: 'node-b', vteps: [VTEP_B] },
    ],
    endpoints: [
      // pod-web is multi-homed: an L2 leg (eth0) and an overlay leg (net1)
      {
        ...common,
        pod: 'web',
        node: 'node-a',
        interface: 'eth0',
        network: 'blue',
        mode: 'l2',
        vlan: 0,
        mac: m.webEth0,
        ips: [WEB_L2],
        tier: 'high',
      },
      {
        ...common,
        pod: 'db',
        node: 'node-a',
        interface: 'eth0',
        network: 'blue',
        mode: 'l2',
        vlan: 0,
        mac: m.dbEth0,
        ips: [DB_L2],
        tier: 'best-effort',
      },
      {
        ...common,
        pod: 'web',
        node: 'node-a',
        interface: 'net1',
        network: 'overlay-1',
        mode: 'overlay',
        vni: VNI,
        mac: m.webNet1,
        ips: [WEB_OV],
        tier: 'high',
      },
      {
        ...common,
        pod: 'api',
        node: 'node-b',
        interface: 'net1',
        network: 'overlay-1',
        mode: 'overlay',
        vni: VNI,
        mac: m.apiNet1,
        ips: [API_OV],
        tier: 'best-effort',
      },
    ],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const startIn = (l: NetLab, ns: string, cmd: string, args: string[]): Running =>
  running(l.spawn(ns, cmd, args));
const interrupt = (r: Running) => stopWith(r, 10_000);

/** `podwire CMD --capture cap1 --inventory …` in the collector namespace, once it captures. */
async function startPodwire(l: NetLab, command: 'trace' | 'flows', extra: string[] = []): Promise<Running> {
  const r = startIn(l, 'collector', process.execPath, [
    BIN,
    command,
    '--capture',
    CAPTURE_IFACE,
    '--inventory',
    inventoryPath,
    ...extra,
  ]);
  // printed once tcpdump reports "listening on IFACE" (its socket is bound)
  await waitForOutput(r.child, 'stderr', new RegExp(`podwire: capturing on ${CAPTURE_IFACE}\\b`), 15_000);
  return r;
}

async function ping(l: NetLab, from: string, to: string, count: number) {
  const { stdout } = await l.exec(from, 'ping', [
    '-n',
    '-q',
    '-c',
    String(count),
    '-i',
    '0.2',
    '-W',
    '2',
    to,
  ]);
  expect(stdout).toMatch(new RegExp(`${count} packets transmitted, ${count} received`));
}

/** One iperf3 run from pod-web to pod-api (one-off server), 1 s at 10 Mbit/s. */
async function iperf(l: NetLab, udp: boolean) {
  const server = startIn(l, 'pod-api', 'iperf3', [
    '-s',
    '-1',
    '--forceflush',
    '-B',
    API_OV,
    '-p',
    String(IPERF_PORT),
  ]);
  await waitForOutput(server.child, 'stdout', /Server listening/, 10_000);
  const args = ['-c', API_OV, '-p', String(IPERF_PORT), '-t', '1', '-b', '10M', '-J'];
  if (udp) args.push('-u', '-l', '1200');
  const { stdout } = await l.exec('pod-web', 'iperf3', args, 20_000);
  await within(server.exited, 5_000);
  const result = JSON.parse(stdout) as { error?: string; end: { sum?: { packets?: number; bytes: number } } };
  expect(result.error).toBeUndefined();
  return result;
}

const pod = (e: EndpointRec | null) => (e === null ? null : `${e.namespace}/${e.pod}`);

describe('live capture: pods as network namespaces, VXLAN between node namespaces, tc mirror to a capture port', () => {
  beforeAll(async () => {
    lab = await NetLab.create();
    try {
      macs = await buildTopology(lab);
      dir = await mkdtemp(join(tmpdir(), 'podwire-live-'));
      inventoryPath = join(dir, 'inventory.json');
      await writeFile(inventoryPath, JSON.stringify(inventory(macs), null, 2));
    } catch (err) {
      await lab.cleanup();
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await lab?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the lab mirrors VXLAN (VNI 5001) between pod-web and pod-api and plain frames pod-web ↔ pod-db (checked with tcpdump + tshark)', async () => {
    const l = lab!;
    const file = join(dir, 'lab.pcap');
    const tcpdump = startIn(l, 'collector', 'tcpdump', [
      '-i',
      CAPTURE_IFACE,
      '-n',
      '--immediate-mode',
      '-U',
      '-s',
      '0',
      '-w',
      file,
    ]);
    await waitForOutput(tcpdump.child, 'stderr', /listening on/, 10_000);
    await ping(l, 'pod-web', API_OV, 2);
    await ping(l, 'pod-web', DB_L2, 2);
    await sleep(300);
    await interrupt(tcpdump);

    const { stdout } = await l.exec('collector', 'tshark', [
      '-n',
      '-r',
      file,
      '-Y',
      'icmp.type == 8',
      '-T',
      'fields',
      '-E',
      'occurrence=l',
      '-e',
      'vxlan.vni',
      '-e',
      'eth.src',
      '-e',
      'eth.dst',
      '-e',
      'ip.dst',
    ]);
    const rows = stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t'));
    expect(rows).toContainEqual([String(VNI), macs.webNet1, macs.apiNet1, API_OV]);
    expect(rows).toContainEqual(['', macs.webEth0, macs.dbEth0, DB_L2]);
    // each echo request is mirrored exactly once (underlay egress; pod-db's port egress)
    expect(rows.filter((r) => r[0] === String(VNI))).toHaveLength(2);
    expect(rows.filter((r) => r[0] === '')).toHaveLength(2);
  });

  it('podwire trace --capture attributes live ping and iperf3 packets to the right pods: VXLAN by inner MAC with VTEP nodes, plain L2 by MAC in VLAN 0', async () => {
    const l = lab!;
    const pw = await startPodwire(l, 'trace');
    await ping(l, 'pod-web', API_OV, 3);
    await ping(l, 'pod-web', DB_L2, 3);
    const udp = await iperf(l, true);
    await iperf(l, false);
    await sleep(500);
    const status = await interrupt(pw);
    expect(status, pw.stderr()).toEqual({ code: 0, signal: null });
    expect(pw.stderr()).toMatch(/podwire: packets=\d+/);

    const recs = parseJsonl<PacketRec>(pw.stdout());
    expect(recs.length).toBeGreaterThan(0);
    expect(recs.map((r) => r.frame)).toEqual(recs.map((_, i) => i + 1));
    // every packet read was printed (the summary counts what the capture delivered)
    expect(pw.stderr()).toContain(`podwire: packets=${recs.length} `);

    // overlay: every tunnelled IP packet is VNI 5001 between web and api, by MAC, VTEPs → nodes
    const overlay = recs.filter((r) => r.vni === VNI && r.proto !== null);
    expect(overlay.length).toBeGreaterThan(0);
    for (const r of overlay) {
      const fromWeb = r.src_ip === WEB_OV;
      expect(r.src_mac).toBe(fromWeb ? macs.webNet1 : macs.apiNet1);
      expect(r.dst_mac).toBe(fromWeb ? macs.apiNet1 : macs.webNet1);
      expect(r.dst_ip).toBe(fromWeb ? API_OV : WEB_OV);
      expect(r.src).toEqual({
        namespace: 'shop',
        pod: fromWeb ? 'web' : 'api',
        node: fromWeb ? 'node-a' : 'node-b',
        interface: 'net1',
        network: 'overlay-1',
        tier: fromWeb ? 'high' : 'best-effort',
        by: 'mac',
      });
      expect(pod(r.dst)).toBe(fromWeb ? 'shop/api' : 'shop/web');
      expect(r.dst?.by).toBe('mac');
      expect(r.tunnel).toMatchObject(
        fromWeb
          ? { src_ip: VTEP_A, dst_ip: VTEP_B, src_node: 'node-a', dst_node: 'node-b' }
          : { src_ip: VTEP_B, dst_ip: VTEP_A, src_node: 'node-b', dst_node: 'node-a' },
      );
    }
    const echo = (r: PacketRec, type: number) => r.proto === 'icmp' && r.icmp_type === type;
    expect(overlay.filter((r) => echo(r, 8) && r.src_ip === WEB_OV)).toHaveLength(3);
    expect(overlay.filter((r) => echo(r, 0) && r.src_ip === API_OV)).toHaveLength(3);
    const iperfUdp = overlay.filter(
      (r) => r.proto === 'udp' && r.dst_port === IPERF_PORT && r.src_ip === WEB_OV,
    );
    // data datagrams: 1200 bytes + UDP 8 + IPv4 20 + Ethernet 14, inside VXLAN 8 + UDP 8 + IPv4 20 + Ethernet 14;
    // iperf3 also sends one small "connect" datagram first. A busy machine may drop a few (kernel ring).
    const sent = udp.end.sum!.packets!;
    const data = iperfUdp.filter((r) => r.length === 1200 + 42 + 50);
    expect(iperfUdp.length - data.length).toBe(1);
    expect(data.length).toBeLessThanOrEqual(sent);
    expect(data.length).toBeGreaterThanOrEqual(Math.floor(sent * 0.9));
    // TCP: the data connection(s) and iperf3's control connection, both ways
    expect(overlay.some((r) => r.proto === 'tcp' && r.dst_port === IPERF_PORT && r.src_ip === WEB_OV)).toBe(
      true,
    );
    expect(overlay.some((r) => r.proto === 'tcp' && r.src_port === IPERF_PORT && r.src_ip === API_OV)).toBe(
      true,
    );

    // plain L2: untagged frames between web's eth0 and db, VLAN 0, by MAC, no tunnel
    const plain = recs.filter((r) => r.vni === null && r.proto === 'icmp');
    expect(plain).toHaveLength(6);
    for (const r of plain) {
      const fromWeb = r.src_ip === WEB_L2;
      expect(r.vlan).toBe(0);
      expect(r.tunnel).toBeUndefined();
      expect(r.src_mac).toBe(fromWeb ? macs.webEth0 : macs.dbEth0);
      expect(r.src).toMatchObject({
        pod: fromWeb ? 'web' : 'db',
        interface: 'eth0',
        network: 'blue',
        by: 'mac',
      });
      expect(r.dst).toMatchObject({
        pod: fromWeb ? 'db' : 'web',
        interface: 'eth0',
        network: 'blue',
        by: 'mac',
      });
    }
    expect(plain.filter((r) => echo(r, 8) && r.src_ip === WEB_L2 && r.dst_ip === DB_L2)).toHaveLength(3);
    expect(plain.filter((r) => echo(r, 0) && r.src_ip === DB_L2 && r.dst_ip === WEB_L2)).toHaveLength(3);

    // the underlay carries nothing but the tunnel (and the VTEPs' ARP): no unattributed pod IP traffic
    expect(recs.filter((r) => r.proto !== null && r.src === null)).toEqual([]);
  });

  it('podwire flows --capture counts exactly the echo requests ping sent, per pod pair, and flushes open flows on SIGINT', async () => {
    const l = lab!;
    const pw = await startPodwire(l, 'flows', ['--window', '60s']);
    await ping(l, 'pod-web', API_OV, 5);
    await ping(l, 'pod-web', DB_L2, 4);
    await iperf(l, true);
    await sleep(500);
    const status = await interrupt(pw);
    expect(status, pw.stderr()).toEqual({ code: 0, signal: null });
    expect(pw.stderr()).toMatch(/flows=\d+/);

    const flows = parseJsonl<FlowRec>(pw.stdout());
    const sum = (fs: FlowRec[]) => fs.reduce((n, f) => n + f.packets, 0);
    const icmp = (src: string, dst: string) =>
      flows.filter((f) => f.proto === 'icmp' && f.src_ip === src && f.dst_ip === dst);

    // pod-web → pod-api over VXLAN: 5 echo requests, 5 replies back
    const toApi = icmp(WEB_OV, API_OV);
    expect(sum(toApi)).toBe(5);
    for (const f of toApi) {
      expect(f.vni).toBe(VNI);
      expect(pod(f.src)).toBe('shop/web');
      expect(pod(f.dst)).toBe('shop/api');
      expect(f.src?.by).toBe('mac');
      expect(f.dst?.by).toBe('mac');
    }
    expect(sum(icmp(API_OV, WEB_OV))).toBe(5);

    // pod-web → pod-db on the L2 bridge, untagged
    const toDb = icmp(WEB_L2, DB_L2);
    expect(sum(toDb)).toBe(4);
    for (const f of toDb) {
      expect(f.vlan).toBe(0);
      expect(f.vni).toBeNull();
      expect(pod(f.src)).toBe('shop/web');
      expect(pod(f.dst)).toBe('shop/db');
      expect(f.src?.by).toBe('mac');
    }
    expect(sum(icmp(DB_L2, WEB_L2))).toBe(4);

    // iperf3 UDP: a flow to port 5201 from web to api
    const udp = flows.filter((f) => f.proto === 'udp' && f.dst_port === IPERF_PORT && f.src_ip === WEB_OV);
    expect(sum(udp)).toBeGreaterThan(0);
    expect(udp.every((f) => pod(f.src) === 'shop/web' && pod(f.dst) === 'shop/api' && f.vni === VNI)).toBe(
      true,
    );
  });

  it('leaves no namespace behind after cleanup', async () => {
    // runs last in the file: cleanup is idempotent, so afterAll's second call is harmless
    const l = lab!;
    await l.cleanup();
    const { stdout } = await run('ip', ['netns', 'list']);
    expect(stdout).not.toContain(`${l.prefix}-`);
    await l.cleanup();
  });
});
