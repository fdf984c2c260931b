/**
 * `podwire flows` over the shipped demo capture: every packet lands in exactly one flow,
 * and each flow equals the trace records grouped by the flow key (window, observation
 * point, VLAN, VNI, MACs, IPs, ports, protocol, endpoints) — for 10 s and 1 min windows,
 * in jsonl and as a table.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type FlowRec,
  isoToUs,
  type PacketRec,
  parseJsonl,
  podwire,
  type Result,
  SAMPLE_INVENTORY,
  SAMPLE_PCAP,
  summary,
  tshark,
  windowOf,
} from './helpers.js';

const input = ['--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY];

let traced: PacketRec[];
let traceStderr: string;
let wirePackets: number;
let flows10: Result;
let flows60: Result;
let table: Result;
/** bytes of the pod's own (innermost) Ethernet frame, by frame number, as tshark places it */
let podBytes: Map<number, number>;

beforeAll(async () => {
  await ensureBuilt();
  let trace: Result;
  let frames: string;
  let pdml: string;
  [trace, flows10, flows60, table, frames, pdml] = await Promise.all([
    podwire(['trace', ...input]),
    podwire(['flows', ...input]),
    podwire(['flows', ...input, '--window', '1m']),
    podwire(['flows', ...input, '--format', 'table']),
    tshark(['-r', SAMPLE_PCAP, '-T', 'fields', '-e', 'frame.number']),
    tshark(['-r', SAMPLE_PCAP, '-T', 'pdml', '-j', 'frame eth']),
  ]);
  for (const r of [trace, flows10, flows60, table]) expect(r.code, r.stderr).toBe(0);
  traced = parseJsonl<PacketRec>(trace.stdout);
  traceStderr = trace.stderr;
  wirePackets = frames.trim().split('\n').length;
  podBytes = podFrameBytes(pdml);
});

/**
 * A flow counts the bytes of the pod's own frame: for a VXLAN or ERSPAN packet, the inner
 * Ethernet frame (wire length minus the encapsulation), where trace's `length` is the
 * captured frame's. From tshark's PDML: the frame's size minus the innermost eth's position.
 */
function podFrameBytes(pdml: string): Map<number, number> {
  const out = new Map<number, number>();
  let frame = 0;
  let size = 0;
  for (const line of pdml.split('\n')) {
    const f = /<proto name="frame" showname="Frame (\d+):[^"]*" size="(\d+)"/.exec(line);
    if (f) {
      frame = Number(f[1]);
      size = Number(f[2]);
      continue;
    }
    const e = /<proto name="eth" .*pos="(\d+)"/.exec(line);
    if (e) out.set(frame, size - Number(e[1]));
  }
  return out;
}

const pod = (e: { namespace: string; pod: string } | null) => (e === null ? '-' : `${e.namespace}/${e.pod}`);
const hasPorts = (proto: string | null) => proto === 'tcp' || proto === 'udp';

/** The flow key of a trace record, as the README lists it (endpoints included). */
function traceKey(r: PacketRec, windowSeconds: number): string {
  const ports = hasPorts(r.proto) ? [r.src_port, r.dst_port] : [null, null];
  return JSON.stringify([
    windowOf(r.ts, windowSeconds),
    r.erspan?.session ?? -1,
    r.vlan,
    r.vni,
    r.src_mac,
    r.dst_mac,
    r.src_ip,
    r.dst_ip,
    r.proto,
    ...ports,
    pod(r.src),
    pod(r.dst),
  ]);
}

function flowKey(f: FlowRec): string {
  return JSON.stringify([
    Date.parse(f.window_start) / 1000,
    f.observation,
    f.vlan,
    f.vni,
    f.src_mac,
    f.dst_mac,
    f.src_ip,
    f.dst_ip,
    f.proto,
    f.src_port,
    f.dst_port,
    pod(f.src),
    pod(f.dst),
  ]);
}

/** `new Date(µs / 1000).toISOString()`: the µs time truncated to ms. */
const msIso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();

function expectFlowsMatchTrace(flows: FlowRec[], windowSeconds: number): void {
  const groups = new Map<string, PacketRec[]>();
  for (const r of traced) {
    const k = traceKey(r, windowSeconds);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [r]);
    else g.push(r);
  }
  // one flow per group: nothing split, nothing merged
  expect(flows.length).toBe(groups.size);
  const seen = new Set<string>();
  for (const f of flows) {
    const k = flowKey(f);
    expect(seen.has(k), `flow emitted twice: ${k}`).toBe(false);
    seen.add(k);
    const g = groups.get(k);
    expect(g, `no trace records for flow ${k}`).toBeDefined();
    const recs = g!;
    expect(f.window_seconds).toBe(windowSeconds);
    expect(f.packets, k).toBe(recs.length);
    expect(f.bytes, k).toBe(recs.reduce((a, r) => a + podBytes.get(r.frame)!, 0));
    expect(f.samples).toBe(f.packets);
    expect(f.sampling_rate).toBe(1);
    expect(f.tcp_flags, k).toBe(recs.reduce((a, r) => a | (r.tcp_flags ?? 0), 0));
    // the same endpoints, matched by the same key
    expect(f.src, k).toEqual(recs[0].src);
    expect(f.dst, k).toEqual(recs[0].dst);
    const times = recs.map((r) => isoToUs(r.ts));
    expect(f.first_seen, k).toBe(msIso(Math.min(...times)));
    expect(f.last_seen, k).toBe(msIso(Math.max(...times)));
  }
}

describe('podwire flows on samples/mirror.pcap', () => {
  it('the flows hold every packet and byte of the capture', () => {
    const flows = parseJsonl<FlowRec>(flows10.stdout);
    expect(traced.length).toBe(wirePackets);
    expect(flows.reduce((a, f) => a + f.packets, 0)).toBe(wirePackets);
    expect(podBytes.size).toBe(wirePackets);
    expect(flows.reduce((a, f) => a + f.bytes, 0)).toBe(
      traced.reduce((a, r) => a + podBytes.get(r.frame)!, 0),
    );
    // untunnelled packets count their whole frame
    for (const r of traced.filter((x) => x.tunnel === undefined && x.erspan === undefined))
      expect(podBytes.get(r.frame), `frame ${r.frame}`).toBe(r.length);
    const s = summary(flows10.stderr);
    expect(s.packets).toBe(wirePackets);
    expect(s.bytes).toBe(summary(traceStderr).bytes);
    expect(s.attributed).toBe(summary(traceStderr).attributed);
    expect(s.flows).toBe(flows.length);
    expect(s.flow_table_overflows).toBe(0);
    expect(s.late_packets).toBe(0);
  });

  it('each 10 s flow equals the trace records of its key', () => {
    const flows = parseJsonl<FlowRec>(flows10.stdout);
    expectFlowsMatchTrace(flows, 10);
    // emitted window by window
    const starts = flows.map((f) => Date.parse(f.window_start));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    // ERSPAN copies are flows of their own observation point, apart from the direct traffic
    expect(new Set(flows.map((f) => f.observation))).toEqual(new Set([-1, 7, 8]));
    // ICMP has no ports
    for (const f of flows.filter((x) => !hasPorts(x.proto)))
      expect([f.src_port, f.dst_port]).toEqual([null, null]);
  });

  it('--window 1m: fewer, longer flows with the same totals', () => {
    const f10 = parseJsonl<FlowRec>(flows10.stdout);
    const f60 = parseJsonl<FlowRec>(flows60.stdout);
    expect(f60.length).toBeLessThan(f10.length);
    expect(f60.reduce((a, f) => a + f.packets, 0)).toBe(wirePackets);
    expect(f60.reduce((a, f) => a + f.bytes, 0)).toBe(f10.reduce((a, f) => a + f.bytes, 0));
    expect(new Set(f60.map((f) => f.window_seconds))).toEqual(new Set([60]));
    expectFlowsMatchTrace(f60, 60);
    expect(summary(flows60.stderr).flows).toBe(f60.length);
  });

  it('--format table prints a header and one row per flow, in jsonl order', () => {
    const flows = parseJsonl<FlowRec>(flows10.stdout);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^window\s+observed\s+context\s+proto\s+addresses\s+packets\s+bytes\s+pods$/);
    const rows = lines.slice(1);
    expect(rows.length).toBe(flows.length);
    for (const [i, row] of rows.entries()) {
      const f = flows[i];
      const cols = row.trim().split(/\s{2,}/);
      expect(cols.length, row).toBe(8);
      const [window, observed, context, proto, , packets, bytes, pods] = cols;
      expect(window).toBe(f.window_start.slice(11, 19));
      expect(observed).toBe(f.observation >= 0 ? `erspan ${f.observation}` : '-');
      expect(context).toBe(f.vni !== null ? `vni ${f.vni}` : `vlan ${f.vlan}`);
      expect(proto).toBe(f.proto ?? '-');
      expect([Number(packets), Number(bytes)]).toEqual([f.packets, f.bytes]);
      expect(pods).toBe(`${pod(f.src)} > ${pod(f.dst)}`);
    }
  });
});
