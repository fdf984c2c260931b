/**
 * podwire against real exporter output (test/fixtures/netflow/: softflowd 1.1.0 and
 * pmacct nfprobe exports of generated pcaps, captured with tcpdump). For each export,
 * podwire's flow records equal nfdump's (nfcapd on 127.0.0.1 fed the same datagrams) and
 * tshark's cflow reading field by field — addresses, ports, protocol, MACs, VLAN, packets,
 * bytes — and, scaled by the sampling rate podwire found in the export, the pcap's ground
 * truth: equal unsampled, within the sampling error at 1 in 10 (compare.ts). psamp's
 * packet sections decode to the pcap's own frames, VXLAN inner pods included.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pcapFile } from '../../collector/capture/pcap-writer.js';
import { diffAgainstTruth, isSubset, sorted } from './compare.js';
import { EXPORTS } from './exporter-tools.js';
import { type CaptureName, capturePackets, demoInventory } from './exporter-traffic.js';
import { FIXTURES, type FixtureIndex, readFixtureIndex } from './fixtures.js';
import { type PodwireFlow, podwireRead } from './podwire-read.js';
import { nfdumpRead, tsharkRead } from './references.js';
import { groundTruth, innermostFrames, type Truth } from './truth.js';

let index: FixtureIndex = {};
const truths = new Map<CaptureName, { truth: Truth; path: string }>();
let dir = '';

beforeAll(async () => {
  index = await readFixtureIndex();
  dir = await mkdtemp(join(tmpdir(), 'podwire-netflow-fixtures-'));
  for (const name of new Set(EXPORTS.map((e) => e.capture))) {
    const path = join(dir, `${name}.pcap`);
    await writeFile(path, pcapFile(capturePackets(name)));
    truths.set(name, { path, truth: await groundTruth(path) });
  }
  return () => rm(dir, { recursive: true, force: true });
});

const plain = (r: PodwireFlow) => {
  const { rate: _r, srcPod: _s, dstPod: _d, ...f } = r;
  return f;
};

describe.each(EXPORTS.filter((e) => !e.psamp))('podwire reads $name', (spec) => {
  it('per flow as nfdump and tshark read it, and as the pcap holds it once scaled', async () => {
    const kept = index[spec.name];
    const capture = join(FIXTURES, `${spec.name}.pcap`);
    const ours = await podwireRead(capture, kept.port);
    const nf = await nfdumpRead(capture, kept.port);
    const ts = await tsharkRead(capture, kept.port);

    // nothing malformed, no record without its template
    expect(Object.keys(ours.summary).filter((k) => /malformed|missing|refused|expired|lost/.test(k))).toEqual(
      [],
    );
    expect(ours.summary.records).toBe(nf.flows.length);
    // field by field against both decoders
    expect(sorted(ours.records.map(plain))).toEqual(sorted(nf.flows));
    if (spec.v9CountShort) expect(isSubset(ts.flows, ours.records.map(plain))).toBe(true);
    else expect(sorted(ours.records.map(plain))).toEqual(sorted(ts.flows));
    // the rate podwire took from the export's options is the exporter's
    expect(new Set(ours.records.map((r) => r.rate))).toEqual(new Set([spec.samplingRate]));
    // scaled back: the pcap's truth
    const truth = truths.get(spec.capture)!.truth;
    expect(diffAgainstTruth(ours.records, truth, spec, spec.samplingRate)).toEqual([]);
    // the flow table holds the scaled counts of every record
    const scaled = ours.records.reduce((n, r) => n + r.packets * r.rate, 0);
    expect(ours.flows.reduce((n, f) => n + f.packets, 0)).toBe(scaled);
  }, 180_000);
});

describe.each(EXPORTS.filter((e) => e.psamp))('podwire reads $name', (spec) => {
  it('each packet section decodes as tshark reads the pcap frame (innermost pod frame)', async () => {
    const kept = index[spec.name];
    const ours = await podwireRead(join(FIXTURES, `${spec.name}.pcap`), kept.port);
    const frames = await innermostFrames(truths.get(spec.capture)!.path);
    expect(ours.records.map((r) => [r.vlan, r.src, r.dst, r.proto, r.sport, r.dport])).toEqual(
      frames.map((f) => [f.vlan, f.src, f.dst, f.proto, f.sport, f.dport]),
    );
    // attributed like a mirror: the demo's pods on both ends where the inventory has them
    const pods = new Set(demoInventory().endpoints.map((e) => e.pod as string));
    const attributed = ours.records.filter((r) => r.srcPod !== null);
    expect(attributed.length).toBeGreaterThan(ours.records.length / 2);
    for (const r of attributed) expect(pods.has(r.srcPod!)).toBe(true);
  }, 180_000);
});
