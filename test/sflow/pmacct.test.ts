/**
 * Against a real exporter: pmacct's pmacctd plays a generated pcap of VLAN-tagged (and
 * untagged) pod traffic through its sfprobe plugin (sampling rate 1: every packet becomes
 * a flow sample) to podwire on 127.0.0.1. podwire's per-flow packets and bytes must equal
 * what tshark counts in the pcap, its VLANs the frames', its pods the inventory's; tcpdump
 * captures the export on lo and tshark must decode it exactly as podwire does.
 *
 * UPDATE_SFLOW_FIXTURE=1 copies the pcap, the export capture and the inventory into
 * test/fixtures/sflow/ (the fast replay tests and the benchmark use them).
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SflowListener } from '../../collector/sflow/listener.js';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { ensureBuilt, type FlowRec, parseJsonl, spawnPodwire } from '../cli/helpers.js';
import { waitForOutput } from '../helpers/netns.js';
import { freeUdpPort } from '../helpers/ports.js';
import {
  collectingIntake,
  inventory,
  podOfIp,
  podTraffic,
  podwireSamples,
  type SflowFixture,
  totals,
} from './helpers.js';
import {
  captureLoopback,
  FILLER_VLAN,
  fillerFrames,
  pmacctExport,
  stopCapture,
  tsharkGroundTruth,
  tsharkSamples,
  writePcap,
} from './tools.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sflow/', import.meta.url));
const PACKETS = 600;
/** frames after the pods' traffic that push it out of pmacctd (see tools.ts) */
const FILLER = 200;
const AGENT = '10.0.0.1';

let dir = '';
let pcap = '';
let truth: Awaited<ReturnType<typeof tsharkGroundTruth>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podwire-sflow-'));
  pcap = join(dir, 'pods.pcap');
  const traffic = podTraffic(PACKETS);
  const last = traffic[traffic.length - 1];
  await writePcap(pcap, [...traffic, ...fillerFrames(FILLER, last.tsSec + last.tsNsec / 1e9)]);
  await writeFile(join(dir, 'inventory.json'), JSON.stringify(inventory(), null, 2));
  truth = withoutFiller(await tsharkGroundTruth(pcap));
});

afterAll(async () => {
  if (process.env.KEEP_SFLOW_TMP !== '1') await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves when `done()` holds, or after `timeoutMs` (the assertions then say what is missing). */
async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done() && Date.now() < end) await sleep(50);
}

/** Resolves when `count()` has not changed for `quietMs`. */
async function settled(count: () => number, quietMs = 300): Promise<void> {
  for (;;) {
    const n = count();
    await new Promise((r) => setTimeout(r, quietMs));
    if (count() === n) return;
  }
}

function withoutFiller<T>(m: Map<string, T>): Map<string, T> {
  return new Map([...m].filter(([k]) => !k.startsWith(`${FILLER_VLAN} `)));
}

const truthTotals = () => new Map([...truth].map(([k, v]) => [k, { packets: v.packets, bytes: v.bytes }]));

describe('pmacctd sfprobe → podwire', () => {
  it('per-flow packets, bytes, VLANs and pods match the pcap; tshark decodes the export as podwire does', async () => {
    const c = collectingIntake();
    const listener = await SflowListener.open({
      host: '127.0.0.1',
      port: 0,
      onDatagram: (m, tUs) => c.intake.receive(m, 0, m.length, tUs),
    });
    const exportPath = join(dir, 'export.pcap');
    const capture = await captureLoopback(exportPath, listener.port);
    let captureReport = '';
    try {
      await pmacctExport({
        pcap,
        port: listener.port,
        dir,
        agentIp: AGENT,
        // pmacctd keeps packet order: once PACKETS samples are in, every pod packet is
        until: async () => {
          await until(() => c.intake.decodeStats.flowSamples >= PACKETS, 20_000);
          await settled(() => listener.stats.datagrams);
        },
      });
    } finally {
      captureReport = await stopCapture(capture);
    }
    await listener.drain();
    const kernelDrops = await listener.kernelDrops();
    await listener.close();
    c.table.flush();

    expect(kernelDrops).toBe(0);
    const summary = c.intake.summary();
    expect(summary).toMatchObject({ lost_datagrams: 0, lost_samples: 0 });
    // every pod packet, and the filler that pushed them out but the last few pmacctd held
    expect(summary.flow_samples).toBeGreaterThanOrEqual(PACKETS);
    expect(summary.flow_samples).toBeLessThanOrEqual(PACKETS + FILLER);
    expect(Object.keys(summary).filter((k) => k.startsWith('malformed') || k.startsWith('decode_'))).toEqual(
      [],
    );

    const got = new Map([...totals(c.flows)].map(([k, v]) => [k, { packets: v.packets, bytes: v.bytes }]));
    expect(withoutFiller(got)).toEqual(truthTotals());
    for (const f of c.flows.filter((x) => x.vlan !== FILLER_VLAN)) {
      expect(f.src?.pod, `${f.srcIp} in ${f.vlan}`).toBe(podOfIp(f.srcIp));
      expect(f.dst?.pod, `${f.dstIp} in ${f.vlan}`).toBe(podOfIp(f.dstIp));
      expect(f.src?.vlan).toBe(f.vlan);
      expect(c.intake.observations.name(f.observation)).toBe(`sflow:${AGENT}:1`);
    }
    expect(new Set(c.flows.map((f) => f.vlan))).toEqual(new Set([0, 100, 101, FILLER_VLAN]));

    // the export as tcpdump captured it: tshark and podwire agree sample by sample
    const datagrams = await readSflowCapture(exportPath, listener.port);
    expect(datagrams.length, captureReport).toBe(listener.stats.datagrams);
    const ours = podwireSamples(datagrams);
    const theirs = await tsharkSamples(exportPath, listener.port);
    expect(theirs).toHaveLength(summary.flow_samples);
    expect(ours.samples).toEqual(theirs);

    if (process.env.UPDATE_SFLOW_FIXTURE === '1') {
      await copyFile(exportPath, join(FIXTURES, 'pmacct-export.pcap'));
      await copyFile(join(dir, 'inventory.json'), join(FIXTURES, 'inventory.json'));
      const fixture: SflowFixture = {
        port: listener.port,
        agent: AGENT,
        podPackets: PACKETS,
        fillerVlan: FILLER_VLAN,
        truth: Object.fromEntries(truthTotals()),
      };
      await writeFile(join(FIXTURES, 'fixture.json'), `${JSON.stringify(fixture, null, 2)}\n`);
    }
  });

  it('podwire flows --sflow from the command line, stopped by SIGINT: flows and summary', async () => {
    await ensureBuilt();
    const port = await freeUdpPort();
    const {
      child: cli,
      out,
      exited,
    } = spawnPodwire(['flows', '--sflow', `127.0.0.1:${port}`, '--inventory', join(dir, 'inventory.json')]);
    // the CLI shows nothing before it stops: watch the export on lo to know when every
    // pod packet has been sent
    const exportPath = join(dir, 'export-cli.pcap');
    const capture = await captureLoopback(exportPath, port);
    try {
      await waitForOutput(cli, 'stderr', /listening for sFlow on/);
      await pmacctExport({
        pcap,
        port,
        dir,
        agentIp: AGENT,
        until: async () => {
          const exported = async () => {
            const dgs = await readSflowCapture(exportPath, port).catch(() => []);
            return dgs.reduce((n, d) => n + (d.data.length >= 28 ? d.data.readUInt32BE(24) : 0), 0);
          };
          const end = Date.now() + 20_000;
          while ((await exported()) < PACKETS && Date.now() < end) await sleep(200);
          await sleep(300);
        },
      });
    } finally {
      await stopCapture(capture);
      cli.kill('SIGINT');
    }
    const [code] = (await exited) as [number | null];
    expect(code, out.stderr).toBe(0);
    const flows = parseJsonl<FlowRec & { observation_point: string }>(out.stdout);
    const got = new Map<string, { packets: number; bytes: number }>();
    for (const f of flows.filter((x) => x.vlan !== FILLER_VLAN)) {
      const k = `${f.vlan} ${f.src_ip}:${f.src_port} > ${f.dst_ip}:${f.dst_port}`;
      const t = got.get(k) ?? { packets: 0, bytes: 0 };
      t.packets += f.packets;
      t.bytes += f.bytes;
      got.set(k, t);
      expect(f.observation_point).toBe(`sflow:${AGENT}:1`);
      expect(f.src?.pod).toBe(podOfIp(f.src_ip!));
    }
    expect(got).toEqual(truthTotals());
    const samples = Number(/ flow_samples=(\d+)/.exec(out.stderr)?.[1]);
    expect(samples).toBeGreaterThanOrEqual(PACKETS);
    expect(out.stderr).toMatch(/lost_datagrams=0 lost_samples=0 kernel_drops=0 /);
    expect(out.stderr).toMatch(new RegExp(`agent ${AGENT}: datagrams=\\d+ flow_samples=${samples} `));
  });
});

describe('pmacctd sampling 1 in 10 → podwire', () => {
  it('every sample stands for 10 packets and 10 × its frame’s bytes, as tshark reads the export', async () => {
    const c = collectingIntake();
    const listener = await SflowListener.open({
      host: '127.0.0.1',
      port: 0,
      onDatagram: (m, tUs) => c.intake.receive(m, 0, m.length, tUs),
    });
    const exportPath = join(dir, 'export-10.pcap');
    const capture = await captureLoopback(exportPath, listener.port);
    try {
      await pmacctExport({
        pcap,
        port: listener.port,
        dir,
        agentIp: AGENT,
        samplingRate: 10,
        // which packets are sampled is random: wait for the export to start (pmacctd
        // sleeps 2 s first), then for it to go quiet
        until: async () => {
          await until(() => listener.stats.datagrams > 0, 20_000);
          await settled(() => listener.stats.datagrams, 500);
        },
      });
    } finally {
      await stopCapture(capture);
    }
    await listener.drain();
    await listener.close();
    c.table.flush();
    const theirs = await tsharkSamples(exportPath, listener.port);
    // about a tenth of the 800 frames (binomial: 80 ± 3σ)
    expect(theirs.length).toBeGreaterThan(50);
    expect(theirs.length).toBeLessThan(115);
    expect(new Set(theirs.map((t) => t.samplingRate))).toEqual(new Set([10]));
    const s = c.intake.summary();
    expect(s).toMatchObject({ flow_samples: theirs.length, lost_datagrams: 0, lost_samples: 0 });
    const packets = c.flows.reduce((n, f) => n + f.packets, 0);
    const bytes = c.flows.reduce((n, f) => n + f.bytes, 0);
    expect(packets).toBe(10 * theirs.length);
    expect(bytes).toBe(theirs.reduce((n, t) => n + 10 * (t.frameLength - t.stripped), 0));
    expect(new Set(c.flows.map((f) => f.samplingRate))).toEqual(new Set([10]));
    expect(c.flows.reduce((n, f) => n + f.samples, 0)).toBe(theirs.length);
  });
});
