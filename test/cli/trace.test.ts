/**
 * `podwire trace` over the shipped demo capture, checked three ways: against tshark (frame
 * numbers and the innermost frame's addresses, tags, VNI and ERSPAN session), against a
 * small reference attribution computed from the inventory, and against the scenario's own
 * story (overlapping tenants, QinQ, VXLAN, ERSPAN, IPv6, an IP reused half way, unknown
 * VLAN). Also: `--format table`, `--limit`, `--vxlan-port` and a reader that goes away
 * (`podwire trace … | head -n 3`).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcapFile } from '../../collector/capture/pcap-writer.js';
import { ethernet, IpProtocol, ipv4, tcp, udp, vxlan } from '../../collector/synth/frames.js';
import { demoScenario } from '../../collector/synth/scenario.js';
import {
  BIN,
  type EndpointRec,
  ensureBuilt,
  isoToUs,
  type PacketRec,
  parseJsonl,
  podwire,
  ROOT,
  SAMPLE_INVENTORY,
  SAMPLE_PCAP,
  summary,
  tempDir,
  tshark,
} from './helpers.js';

interface InvEndpoint {
  namespace: string;
  pod: string;
  node: string;
  interface: string;
  network: string;
  mode: 'l2' | 'overlay';
  vlan?: number;
  vni?: number;
  mac: string;
  ips: string[];
  tier: string;
  from: string;
  to: string | null;
}
interface Inventory {
  version: 1;
  nodes: { name: string; vteps: string[] }[];
  endpoints: InvEndpoint[];
}

const inventory = JSON.parse(readFileSync(SAMPLE_INVENTORY, 'utf8')) as Inventory;
const scenario = demoScenario();

let records: PacketRec[];
let stderr: string;
/** tshark's view of each frame, by frame number */
let wire: Map<number, TsharkFrame>;
let tmp: Awaited<ReturnType<typeof tempDir>>;

interface TsharkFrame {
  len: number;
  vlanIds: number[];
  sTags: number[];
  erspanSession: number | null;
  erspanVersion: number | null;
  vni: number | null;
  /** innermost Ethernet and IP addresses */
  ethSrc: string;
  ethDst: string;
  ipSrc: string | null;
  ipDst: string | null;
  tcpPorts: [number, number] | null;
  udpPorts: [number, number] | null;
}

const FIELDS = [
  'frame.number',
  'frame.len',
  'vlan.id',
  'ieee8021ad.id',
  'erspan.spanid',
  'erspan.version',
  'vxlan.vni',
  'eth.src',
  'eth.dst',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
];

async function tsharkFrames(file: string): Promise<Map<number, TsharkFrame>> {
  const args = ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=/t'];
  const text = await tshark([...args, ...FIELDS.flatMap((f) => ['-e', f])]);
  const out = new Map<number, TsharkFrame>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const c = line.split('\t');
    const all = (i: number) => (c[i] === '' || c[i] === undefined ? [] : c[i].split(','));
    const last = (i: number) => all(i).at(-1) ?? null;
    const num = (i: number) => (last(i) === null ? null : Number(last(i)));
    const ports = (a: number, b: number): [number, number] | null =>
      last(a) === null ? null : [Number(last(a)), Number(last(b))];
    // the innermost IP header is the last of IPv4 and IPv6 headers; in this capture a
    // frame's innermost packet is IPv6 only when no IPv4 header follows it (IPv6 frames
    // here are never tunnelled)
    const v6 = last(11) !== null && last(9) === null;
    out.set(Number(c[0]), {
      len: Number(c[1]),
      vlanIds: all(2).map(Number),
      sTags: all(3).map(Number),
      erspanSession: num(4),
      erspanVersion: num(5),
      vni: num(6),
      ethSrc: last(7)!,
      ethDst: last(8)!,
      ipSrc: v6 ? last(11) : last(9),
      ipDst: v6 ? last(12) : last(10),
      tcpPorts: ports(13, 14),
      udpPorts: ports(15, 16),
    });
  }
  return out;
}

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('trace');
  const [r, frames] = await Promise.all([
    podwire(['trace', '--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY]),
    tsharkFrames(SAMPLE_PCAP),
  ]);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  records = parseJsonl<PacketRec>(r.stdout);
  stderr = r.stderr;
  wire = frames;
});
afterAll(() => tmp?.remove());

// ------------------------------------------------------------ reference attribution

const isGroupMac = (mac: string) => (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;

function endpointRec(e: InvEndpoint, by: 'mac' | 'ip'): EndpointRec {
  return {
    namespace: e.namespace,
    pod: e.pod,
    node: e.node,
    interface: e.interface,
    network: e.network,
    tier: e.tier,
    by,
  };
}

/**
 * What the README's contract says a side attributes to: within the scope (VNI, else the
 * innermost VLAN), the endpoint bound at the packet's time by MAC first, then by IP; the
 * binding that started last wins.
 */
function expectedSide(r: PacketRec, side: 'src' | 'dst'): { ep: EndpointRec | null; reason?: string } {
  const inScope = inventory.endpoints.filter((e) =>
    r.vni !== null ? e.mode === 'overlay' && e.vni === r.vni : e.mode === 'l2' && (e.vlan ?? 0) === r.vlan,
  );
  if (inScope.length === 0) return { ep: null, reason: 'no_tenant_context' };
  const t = isoToUs(r.ts);
  const live = inScope.filter(
    (e) => Date.parse(e.from) * 1000 <= t && (e.to === null || t < Date.parse(e.to) * 1000),
  );
  const latest = (l: InvEndpoint[]) => l.sort((a, b) => Date.parse(b.from) - Date.parse(a.from))[0];
  const mac = r[`${side}_mac`];
  const ip = r[`${side}_ip`];
  const byMac = mac !== null && !isGroupMac(mac) ? live.filter((e) => e.mac === mac) : [];
  if (byMac.length > 0) return { ep: endpointRec(latest(byMac), 'mac') };
  const byIp = ip !== null ? live.filter((e) => e.ips.includes(ip)) : [];
  if (byIp.length > 0) return { ep: endpointRec(latest(byIp), 'ip') };
  return { ep: null, reason: ip === null ? 'unknown_mac' : 'unknown_ip' };
}

const pod = (e: EndpointRec | null) => (e === null ? null : `${e.namespace}/${e.pod}`);
const vtepNode = (ip: string) => inventory.nodes.find((n) => n.vteps.includes(ip))?.name ?? null;

// ------------------------------------------------------------------------- tests

describe('podwire trace on samples/mirror.pcap', () => {
  it('prints one jsonl record per packet, frames numbered 1..N like tshark', async () => {
    const n = scenario.packets.length;
    expect(records.length).toBe(n);
    expect(records.map((r) => r.frame)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const count = await tshark(['-r', SAMPLE_PCAP, '-T', 'fields', '-e', 'frame.number']);
    expect(count.trim().split('\n').length).toBe(n);
    expect(wire.size).toBe(n);
  });

  it('summary line on stderr: packets, bytes and attributed match the records', () => {
    const s = summary(stderr);
    expect(s.packets).toBe(records.length);
    expect(s.bytes).toBe(records.reduce((a, r) => a + r.length, 0));
    expect(s.bytes).toBe(scenario.packets.reduce((a, p) => a + p.data.length, 0));
    expect(s.attributed).toBe(records.filter((r) => r.src !== null || r.dst !== null).length);
    // a clean capture: no decode problem counted, none traced
    expect(Object.keys(s).filter((k) => k.startsWith('decode_'))).toEqual([]);
    expect(records.filter((r) => r.status !== undefined)).toEqual([]);
  });

  it("timestamps are the capture's, in ISO 8601 with microseconds", () => {
    for (const [i, r] of records.entries()) {
      const p = scenario.packets[i];
      expect(r.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(isoToUs(r.ts)).toBe(p.tsSec * 1e6 + Math.floor(p.tsNsec / 1000));
    }
  });

  it("addresses, tags, VNI and ERSPAN session are the innermost frame's, as tshark dissects them", () => {
    for (const r of records) {
      const w = wire.get(r.frame)!;
      const where = `frame ${r.frame}`;
      expect(r.length, where).toBe(w.len);
      expect([r.src_mac, r.dst_mac], where).toEqual([w.ethSrc, w.ethDst]);
      expect([r.src_ip, r.dst_ip], where).toEqual([w.ipSrc, w.ipDst]);
      expect(r.vni, where).toBe(w.vni);
      expect(r.erspan?.session ?? null, where).toBe(w.erspanSession);
      // tshark numbers ERSPAN versions 1 (type II) and 2 (type III)
      expect(r.erspan?.type ?? null, where).toBe(w.erspanVersion === null ? null : w.erspanVersion + 1);
      const ports = r.proto === 'tcp' ? w.tcpPorts : r.proto === 'udp' ? w.udpPorts : null;
      expect(r.src_port === null ? null : [r.src_port, r.dst_port], where).toEqual(ports);
      if (r.vni === null) {
        // untunnelled: the innermost tag; all tags (outer first) for QinQ
        expect(r.vlan, where).toBe(w.vlanIds.at(-1) ?? 0);
        const tags = [...w.sTags, ...w.vlanIds];
        if (tags.length > 1) expect(r.vlans, where).toEqual(tags);
        else expect(r.vlans, where).toBeUndefined();
      } else {
        // VXLAN: the pod's frame is untagged here; the outer tag is the tunnel's
        expect(r.vlan, where).toBe(0);
        expect(r.tunnel?.outer_vlan, where).toBe(w.vlanIds[0] ?? 0);
      }
    }
  });

  it('every side is attributed as the inventory says (MAC first, then IP, at the packet time)', () => {
    for (const r of records) {
      for (const side of ['src', 'dst'] as const) {
        const want = expectedSide(r, side);
        const where = `frame ${r.frame} ${side}`;
        expect(r[side], where).toEqual(want.ep);
        expect(r[`${side}_unattributed`], where).toBe(want.reason);
      }
    }
  });

  it('overlapping tenants: the same MAC and IP are shop/web-1 on VLAN 100 and bank/teller-1 on VLAN 101', () => {
    const mac = '02:00:00:00:01:01';
    const ip = '10.10.0.11';
    // the inventory really does give one MAC and IP to two pods in two VLANs
    const owners = inventory.endpoints.filter((e) => e.mac === mac && e.ips.includes(ip));
    expect(owners.map((e) => [e.vlan, `${e.namespace}/${e.pod}`]).sort()).toEqual([
      [100, 'shop/web-1'],
      [101, 'bank/teller-1'],
    ]);
    const sent = records.filter((r) => r.src_mac === mac && r.src_ip === ip);
    const byVlan = (v: number) => sent.filter((r) => r.vlan === v);
    expect(new Set(sent.map((r) => r.vlan))).toEqual(new Set([100, 101]));
    for (const [vlan, want] of [
      [100, 'shop/web-1'],
      [101, 'bank/teller-1'],
    ] as const) {
      // as many as tshark sees leaving that MAC and IP on that VLAN
      const onWire = [...wire.values()].filter(
        (w) => w.ethSrc === mac && w.ipSrc === ip && w.vlanIds.at(-1) === vlan,
      );
      expect(byVlan(vlan).length).toBe(onWire.length);
      expect(byVlan(vlan).length).toBeGreaterThan(0);
      for (const r of byVlan(vlan)) {
        expect(pod(r.src), `frame ${r.frame}`).toBe(want);
        expect(r.src?.by).toBe('mac');
      }
    }
    // teller-1 talks to vault-0, never to a shop pod
    expect(new Set(byVlan(101).map((r) => pod(r.dst)))).toEqual(new Set(['bank/vault-0']));
  });

  it('QinQ: vlan is the inner tag 102 and vlans lists [300, 102]', () => {
    const qinq = records.filter((r) => r.vlans !== undefined);
    expect(qinq.length).toBe([...wire.values()].filter((w) => w.sTags.length > 0).length);
    expect(qinq.length).toBeGreaterThan(0);
    for (const r of qinq) {
      expect(r.vlan).toBe(102);
      expect(r.vlans).toEqual([300, 102]);
      expect([pod(r.src), pod(r.dst)]).toEqual(['lab/probe-a', 'lab/probe-b']);
      expect(r.proto).toBe('udp');
    }
  });

  it('VXLAN: VNI 5001, the inner addresses, and the tunnel endpoints named by their VTEP nodes', () => {
    const tunnelled = records.filter((r) => r.tunnel !== undefined);
    expect(tunnelled.length).toBe([...wire.values()].filter((w) => w.vni !== null).length);
    expect(tunnelled.length).toBeGreaterThan(0);
    for (const r of tunnelled) {
      const t = r.tunnel!;
      expect(r.vni).toBe(5001);
      expect(r.src_ip).toMatch(/^172\.16\.1\./);
      expect(r.src_mac).toMatch(/^0a:58:ac:10:01:/);
      expect(t.src_ip).toMatch(/^192\.168\.50\./);
      expect(t.src_node).toBe(vtepNode(t.src_ip));
      expect(t.dst_node).toBe(vtepNode(t.dst_ip));
      expect(t.src_node).not.toBeNull();
      // the sending pod lives on the node of the VTEP that encapsulated its frame
      expect(r.src?.node).toBe(t.src_node);
      expect(r.dst?.node).toBe(t.dst_node);
    }
    const apiFrames = tunnelled.filter((r) => r.src_ip === '172.16.1.5');
    expect(apiFrames.length).toBeGreaterThan(0);
    for (const r of apiFrames) {
      expect([pod(r.src), pod(r.dst)]).toEqual(['shop/api-1', 'shop/api-2']);
      expect([r.tunnel!.src_node, r.tunnel!.dst_node]).toEqual(['node-b', 'node-c']);
    }
    // the gateway's overlay leg, tunnelled inside VLAN 4000
    const gw = tunnelled.filter((r) => r.proto === 'icmp');
    expect(gw.length).toBeGreaterThan(0);
    for (const r of gw) {
      expect([pod(r.src), pod(r.dst)]).toEqual(['shop/gateway-0', 'shop/api-1']);
      expect(r.src?.network).toBe('overlay-1');
      expect(r.tunnel!.outer_vlan).toBe(4000);
      expect(r.icmp_type).toBe(8);
    }
  });

  it('ERSPAN: session 7 (type II) and 8 (type III) copies still attribute the mirrored pods', () => {
    const s7 = records.filter((r) => r.erspan?.session === 7);
    const s8 = records.filter((r) => r.erspan?.session === 8);
    expect(s7.length + s8.length).toBe(records.filter((r) => r.erspan !== undefined).length);
    expect(s7.length).toBe([...wire.values()].filter((w) => w.erspanSession === 7).length);
    expect(s8.length).toBe([...wire.values()].filter((w) => w.erspanSession === 8).length);
    expect(s7.length).toBeGreaterThan(0);
    expect(s8.length).toBeGreaterThan(0);
    for (const r of s7) {
      expect(r.erspan).toEqual({ session: 7, type: 2 });
      expect(r.vlan).toBe(100);
      expect([pod(r.src), pod(r.dst)]).toEqual(['shop/web-1', 'shop/web-2']);
    }
    for (const r of s8) {
      expect(r.erspan).toEqual({ session: 8, type: 3 });
      expect(r.vni).toBe(5001);
      expect([pod(r.src), pod(r.dst)]).toEqual(['shop/api-1', 'shop/api-2']);
      expect([r.tunnel?.src_node, r.tunnel?.dst_node]).toEqual(['node-b', 'node-c']);
    }
  });

  it('IPv6 frames attribute to the web pods', () => {
    const v6 = records.filter((r) => r.src_ip?.includes(':'));
    expect(v6.length).toBe([...wire.values()].filter((w) => w.ipSrc?.includes(':')).length);
    expect(v6.length).toBeGreaterThan(0);
    for (const r of v6) {
      expect([r.src_ip, r.dst_ip]).toEqual(['fd00:10::11', 'fd00:10::12']);
      expect([pod(r.src), pod(r.dst)]).toEqual(['shop/web-1', 'shop/web-2']);
      expect([r.proto, r.src_port, r.dst_port]).toEqual(['udp', 5353, 5353]);
    }
  });

  it('the reused IP 10.10.0.70 is shop/batch-7 before the hand-over and shop/batch-8 after, by IP', () => {
    const ip = '10.10.0.70';
    const holders = inventory.endpoints.filter((e) => e.ips.includes(ip));
    expect(holders.map((e) => e.pod).sort()).toEqual(['batch-7', 'batch-8']);
    const handOver = holders.find((e) => e.pod === 'batch-8')!.from;
    expect(holders.find((e) => e.pod === 'batch-7')!.to).toBe(handOver);
    expect(Date.parse(handOver)).toBe(Date.parse('2026-11-26T10:00:30Z'));
    const cut = Date.parse(handOver) * 1000;

    const sent = records.filter((r) => r.src_ip === ip);
    const before = sent.filter((r) => isoToUs(r.ts) < cut);
    const after = sent.filter((r) => isoToUs(r.ts) >= cut);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    for (const r of sent) {
      // a router's MAC, not the pod's: only the IP can say
      expect(holders.map((e) => e.mac)).not.toContain(r.src_mac);
      expect(r.src?.by, `frame ${r.frame}`).toBe('ip');
      expect(r.dst).toBeNull();
      expect(r.dst_unattributed).toBe('unknown_ip');
    }
    for (const r of before) expect(pod(r.src), r.ts).toBe('shop/batch-7');
    for (const r of after) expect(pod(r.src), r.ts).toBe('shop/batch-8');
  });

  it('VLAN 999, which no tenant uses, is no_tenant_context on both sides', () => {
    expect(inventory.endpoints.some((e) => e.vlan === 999)).toBe(false);
    const v999 = records.filter((r) => r.vlan === 999);
    expect(v999.length).toBe([...wire.values()].filter((w) => w.vlanIds.at(-1) === 999).length);
    expect(v999.length).toBeGreaterThan(0);
    for (const r of v999) {
      expect([r.src, r.dst]).toEqual([null, null]);
      expect([r.src_unattributed, r.dst_unattributed]).toEqual(['no_tenant_context', 'no_tenant_context']);
    }
  });

  it('--format table prints a header and one row per packet; --limit prints only the first N', async () => {
    const r = await podwire([
      'trace',
      '--pcap',
      SAMPLE_PCAP,
      '--inventory',
      SAMPLE_INVENTORY,
      '--format',
      'table',
      '--limit',
      '12',
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*frame\s+time\s+context\s+proto\s+addresses\s+pods$/);
    expect(lines.length).toBe(13);
    for (const [i, line] of lines.slice(1).entries()) {
      const rec = records[i];
      expect(line).toMatch(
        new RegExp(`^\\s*${rec.frame}\\s+${rec.ts.slice(11, 26).replaceAll('.', '\\.')}\\s`),
      );
      expect(line).toContain(`${pod(rec.src) ?? '-'} > ${pod(rec.dst) ?? '-'}`);
      expect(line).toContain(rec.vni !== null ? `vni ${rec.vni}` : `vlan ${rec.vlan}`);
    }
    // all packets are still read and counted
    expect(summary(r.stderr).packets).toBe(records.length);
  });

  it('-q prints no summary line', async () => {
    const r = await podwire([
      'trace',
      '--pcap',
      SAMPLE_PCAP,
      '--inventory',
      SAMPLE_INVENTORY,
      '-q',
      '--limit',
      '1',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(parseJsonl<PacketRec>(r.stdout)).toEqual(records.slice(0, 1));
  });
});

describe('--vxlan-port', () => {
  it('decodes VXLAN on UDP 8472 only when asked to', async () => {
    // api-1 → api-2 on VNI 5001, between the VTEPs of node-b and node-c, to port 8472
    const inner = ethernet({
      src: '0a:58:ac:10:01:05',
      dst: '0a:58:ac:10:01:06',
      payload: ipv4({
        src: '172.16.1.5',
        dst: '172.16.1.6',
        proto: IpProtocol.TCP,
        payload: tcp({ sport: 43000, dport: 9090 }),
      }),
    });
    const frame = ethernet({
      src: '52:54:00:00:00:01',
      dst: '52:54:00:00:00:02',
      payload: ipv4({
        src: '192.168.50.2',
        dst: '192.168.50.3',
        proto: IpProtocol.UDP,
        payload: udp({ sport: 50000, dport: 8472, payload: vxlan({ vni: 5001, frame: inner }) }),
      }),
    });
    const file = join(tmp.dir, 'vxlan-8472.pcap');
    await writeFile(
      file,
      pcapFile([{ tsSec: Date.parse('2026-11-26T10:00:05Z') / 1000, tsNsec: 0, data: frame }]),
    );
    const args = ['trace', '--pcap', file, '--inventory', SAMPLE_INVENTORY];
    const [plain, flagged, other] = await Promise.all([
      podwire(args),
      podwire([...args, '--vxlan-port', '8472']),
      podwire([...args, '--vxlan-port', '4790']),
    ]);
    for (const r of [plain, flagged, other]) expect(r.code, r.stderr).toBe(0);

    // without the flag (or with another port) it is plain UDP between the VTEPs
    for (const r of [plain, other]) {
      const [rec] = parseJsonl<PacketRec>(r.stdout);
      expect(rec).toMatchObject({
        vni: null,
        proto: 'udp',
        src_ip: '192.168.50.2',
        dst_ip: '192.168.50.3',
        dst_port: 8472,
      });
      expect(rec.tunnel).toBeUndefined();
    }
    const [rec] = parseJsonl<PacketRec>(flagged.stdout);
    expect(rec).toMatchObject({
      vni: 5001,
      src_ip: '172.16.1.5',
      dst_ip: '172.16.1.6',
      proto: 'tcp',
      src_port: 43000,
      dst_port: 9090,
      tunnel: {
        src_ip: '192.168.50.2',
        dst_ip: '192.168.50.3',
        src_node: 'node-b',
        dst_node: 'node-c',
        outer_vlan: 0,
      },
    });
    expect([pod(rec.src), pod(rec.dst)]).toEqual(['shop/api-1', 'shop/api-2']);
  });
});

describe('output that goes away: podwire trace … | head -n 3, a full disk', () => {
  let big: string;
  let packets: number;

  beforeAll(async () => {
    // the demo 20 times over, a minute apart: far more output than a pipe buffers
    const recs = [];
    for (let k = 0; k < 20; k++)
      for (const p of scenario.packets) recs.push({ ...p, tsSec: p.tsSec + 60 * k });
    packets = recs.length;
    big = join(tmp.dir, 'big.pcap');
    await writeFile(big, pcapFile(recs));
  });

  /** Spawns podwire with stdout on a pipe and closes the pipe after `lines` lines. */
  function head(args: string[], lines: number) {
    return new Promise<{ code: number | null; stderr: string; got: string[] }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let got: string[] | undefined;
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (s: string) => {
        if (got !== undefined) return;
        text += s;
        const parts = text.split('\n');
        if (parts.length > lines) {
          got = parts.slice(0, lines);
          child.stdout.destroy();
        }
      });
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr, got: got ?? text.split('\n') }));
    });
  }

  it('a full disk (stdout on /dev/full): exit 1 with a message, no stack trace', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      for (const cmd of ['trace', 'flows']) {
        const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [BIN, cmd, '--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY],
            {
              cwd: ROOT,
              stdio: ['ignore', full, 'pipe'],
            },
          );
          let stderr = '';
          child.stderr!.on('data', (b: Buffer) => {
            stderr += b.toString();
          });
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, stderr }));
        });
        expect(r.stderr).toMatch(/^podwire: cannot write output: ENOSPC/m);
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(r.code, cmd).toBe(1);
      }
    } finally {
      closeSync(full);
    }
  });

  const cases: [string, string[], number][] = [
    ['trace jsonl', ['trace'], 3],
    ['trace table', ['trace', '--format', 'table'], 3],
    ['flows jsonl', ['flows'], 1],
  ];
  for (const [what, cmd, lines] of cases) {
    it(`${what}: exits 0 quietly (EPIPE is not an error), after reading all its input`, async () => {
      const r = await head([...cmd, '--pcap', big, '--inventory', SAMPLE_INVENTORY], lines);
      expect(r.got.length).toBe(lines);
      expect(r.stderr).not.toMatch(/EPIPE|Error|internal error|^\s+at /m);
      expect(r.code, r.stderr).toBe(0);
      // stderr still carries the summary of the whole input
      expect(summary(r.stderr).packets).toBe(packets);
    });
  }
});
