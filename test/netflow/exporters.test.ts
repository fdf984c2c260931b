/**
 * The real exporters, run now: softflowd 1.1.0 and pmacct's nfprobe play the generated
 * pcaps (exporter-traffic.ts) to 127.0.0.1, tcpdump captures each export on lo, and
 * nfdump and tshark decode it. Per flow, both decoders agree with each other field by
 * field, and with the pcap's ground truth (tshark on the pcap): packets and bytes equal,
 * or, sampled, within the sampling error once scaled back (compare.ts). The records equal
 * those of the kept fixture (the exporters are deterministic, but for pmacct's random
 * sampling): the fixtures in test/fixtures/netflow/ are what these tools make today.
 *
 * UPDATE_NETFLOW_FIXTURES=1 copies each export capture into test/fixtures/netflow/ and
 * rewrites fixtures.json (port, datagrams, exporter output).
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { freeUdpPort } from '../helpers/ports.js';
import { captureLoopback, stopCapture } from '../sflow/tools.js';
import { diffAgainstTruth, isSubset, sorted } from './compare.js';
import { EXPORTS, type ExportSpec, runExporter } from './exporter-tools.js';
import { type CaptureName, writeCapture } from './exporter-traffic.js';
import { FIXTURES, type FixtureIndex, psampSections, readFixtureIndex } from './fixtures.js';
import { nfdumpRead, tsharkRead } from './references.js';
import { groundTruth, keyOf, type Truth } from './truth.js';

const UPDATE = process.env.UPDATE_NETFLOW_FIXTURES === '1';

let dir = '';
const pcaps = new Map<CaptureName, { path: string; truth: Truth }>();
let index: FixtureIndex = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podwire-netflow-'));
  for (const name of new Set(EXPORTS.map((e) => e.capture))) {
    const path = await writeCapture(dir, name);
    pcaps.set(name, { path, truth: await groundTruth(path) });
  }
  // an update of some exports (vitest -t) keeps the others' entries
  index = await readFixtureIndex().catch((err) => {
    if (UPDATE) return {};
    throw err;
  });
});

afterAll(async () => {
  if (UPDATE) await writeFile(join(FIXTURES, 'fixtures.json'), `${JSON.stringify(index, null, 2)}\n`);
  if (process.env.KEEP_NETFLOW_TMP === '1') console.log(`kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
});

async function exportOnce(spec: ExportSpec): Promise<{ path: string; port: number; log: string }> {
  const port = await freeUdpPort();
  const path = join(dir, `${spec.name}.pcap`);
  const tcpdump = await captureLoopback(path, port);
  let log = '';
  try {
    log = await runExporter(spec, pcaps.get(spec.capture)!.path, port, dir);
    // the exporter has exited: what it sent is on lo; tcpdump (immediate mode) has it soon
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await stopCapture(tcpdump);
  }
  return { path, port, log };
}

describe.each(EXPORTS.filter((e) => !e.psamp))('$name → nfdump, tshark and the pcap', (spec) => {
  it('per-flow packets and bytes (and MACs, VLANs) agree', async () => {
    const { path, port, log } = await exportOnce(spec);
    const truth = pcaps.get(spec.capture)!.truth;
    const datagrams = await readSflowCapture(path, port);
    if (spec.exporter === 'softflowd') {
      // softflowd's closing statistics: every datagram it sent was captured
      const sent = /Flows exported: \d+ \(\d+ records\) in (\d+) packets \(0 failures\)/.exec(log);
      expect(sent, log).not.toBeNull();
      expect(datagrams).toHaveLength(Number(sent![1]));
      // the frames it ignored are the pcap's non-IP ones (QinQ S-tags)
      if (spec.samplingRate === 1)
        expect(log).toContain(`Ignored packets: ${truth.nonIp} (${truth.nonIp} non-IP`);
    }
    const nf = await nfdumpRead(path, port);
    const ts = await tsharkRead(path, port);
    expect(ts.headers.every((h) => h.version === spec.version)).toBe(true);
    if (spec.v9CountShort) expect(isSubset(ts.flows, nf.flows)).toBe(true);
    else expect(sorted(nf.flows)).toEqual(sorted(ts.flows));
    expect(diffAgainstTruth(nf.flows, truth, spec, spec.samplingRate)).toEqual([]);
    if (spec.samplingRate === 1) {
      const exported = nf.flows.reduce((n, f) => n + f.packets, 0);
      expect(exported).toBe(truth.frames - truth.nonIp);
    }

    if (UPDATE) {
      await copyFile(path, join(FIXTURES, `${spec.name}.pcap`));
      index[spec.name] = { port, datagrams: datagrams.length, exporterLog: log.trim().split('\n') };
      return;
    }
    // the kept fixture holds the same records (but for random sampling)
    const kept = index[spec.name];
    expect(kept, `no fixture for ${spec.name}: UPDATE_NETFLOW_FIXTURES=1`).toBeDefined();
    const fixture = await tsharkRead(join(FIXTURES, `${spec.name}.pcap`), kept.port);
    if (spec.random)
      expect(fixture.flows.map((f) => keyOf(f)).sort()).toEqual(ts.flows.map((f) => keyOf(f)).sort());
    else expect(sorted(fixture.flows)).toEqual(sorted(ts.flows));
  }, 180_000);
});

describe.each(EXPORTS.filter((e) => e.psamp))('$name: packet sections', (spec) => {
  it('each sampled packet is exported whole (dataLinkFrameSection = the pcap frame)', async () => {
    const { path, port } = await exportOnce(spec);
    const frames = await pcapFrames(pcaps.get(spec.capture)!.path);
    const sections = await psampSections(path, port);
    expect(sections.map((s) => s.frame)).toEqual(
      frames.map((f) => f.subarray(0, 1428 - 16 - 4 - 18).toString('hex')),
    );
    expect(sections.map((s) => s.sequence)).toEqual(frames.map((_, i) => i + 1));
    if (UPDATE) {
      await copyFile(path, join(FIXTURES, `${spec.name}.pcap`));
      const datagrams = await readSflowCapture(path, port);
      index[spec.name] = { port, datagrams: datagrams.length, exporterLog: [] };
    }
  }, 180_000);
});

async function pcapFrames(path: string): Promise<Buffer[]> {
  const { readCaptureFile } = await import('../../collector/capture/reader.js');
  const out: Buffer[] = [];
  await readCaptureFile(path, (c) => {
    out.push(Buffer.from(c.data.subarray(c.offset, c.offset + c.capLength)));
  });
  return out;
}
