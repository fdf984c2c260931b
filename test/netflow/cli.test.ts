/**
 * `podwire flows --netflow` from the command line: usage errors, and softflowd's IPFIX
 * export (the fixture, MACs and VLANs) replayed to it over 127.0.0.1 — its flows, summed
 * per key, hold the pcap's per-flow packets and bytes, attributed to the demo's pods, and
 * the summary line counts the datagrams and records.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pcapFile } from '../../collector/capture/pcap-writer.js';
import { STATE_FILE } from '../../collector/netflow/state-file.js';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { type FlowRec, parseJsonl, podwire, spawnPodwire } from '../cli/helpers.js';
import { waitForOutput } from '../helpers/netns.js';
import { freeUdpPort } from '../helpers/ports.js';
import { cliSuiteFiles } from './cli-suite.js';
import { expectedFlows } from './compare.js';
import { EXPORTS } from './exporter-tools.js';
import { capturePackets } from './exporter-traffic.js';
import { FIXTURES, readFixtureIndex } from './fixtures.js';
import { groundTruth } from './truth.js';

const files = cliSuiteFiles('netflow');

describe('podwire flows --netflow', () => {
  it('usage errors exit 2 with a message', async () => {
    const cases: [string[], RegExp][] = [
      [['--netflow', '127.0.0.1:2055', '--pcap', 'x.pcap'], /exactly one input, not --pcap and --netflow/],
      [['--netflow', '--sflow'], /exactly one input, not --sflow and --netflow/],
      [[], /give exactly one input: .*--netflow ADDR:PORT/],
      [['--netflow', 'localhost:2055'], /--netflow: "localhost" is not an IPv4 or IPv6 address/],
      [['--netflow', '127.0.0.1:0'], /--netflow: "0" is not a port/],
      [['--netflow', '127.0.0.1'], /--netflow: "127.0.0.1" is not ADDR:PORT \(examples: 127.0.0.1:2055/],
      [
        ['--netflow', '127.0.0.1:2055', '--netflow-sampling-rate', '0'],
        /--netflow-sampling-rate: a whole number >= 1/,
      ],
      [
        ['--pcap', 'x.pcap', '--netflow-sampling-rate', '10'],
        /--netflow-sampling-rate applies to --netflow only/,
      ],
      [['--netflow', '127.0.0.1:2055', '--sflow-workers', '2'], /--sflow-workers applies to --sflow only/],
      [
        ['--netflow', '127.0.0.1:2055', '--snaplen', '128'],
        /--snaplen applies to --pcap and --capture, not --netflow/,
      ],
      [['--pcap', 'x.pcap', '--duration', '1s'], /--duration applies to --sflow and --netflow only/],
      [
        ['--netflow', '127.0.0.1:2055', '--untagged-scope', 'vlan:0'],
        /--untagged-scope: "vlan:0" is not a tenant scope/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = await podwire(['flows', ...args, '--inventory', files.inventory]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  });

  it('a port it cannot bind exits 1 naming the address', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
    const { port } = taken.address();
    try {
      const r = await podwire(['flows', '--netflow', `127.0.0.1:${port}`, '--inventory', files.inventory]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      taken.close();
    }
  });

  it('softflowd IPFIX replayed: per-flow packets and bytes, MACs, VLANs and pods; summary counts', async () => {
    const spec = EXPORTS.find((e) => e.name === 'softflowd-ipfix-ether')!;
    const kept = (await readFixtureIndex())[spec.name];
    const datagrams = await readSflowCapture(join(FIXTURES, `${spec.name}.pcap`), kept.port);
    const pcap = join(files.dir, 'demo.pcap');
    await writeFile(pcap, pcapFile(capturePackets(spec.capture)));
    const truth = expectedFlows(await groundTruth(pcap), spec);

    const port = await freeUdpPort();
    const run = spawnPodwire(['flows', '--netflow', `127.0.0.1:${port}`, '--inventory', files.inventory]);
    await waitForOutput(run.child, 'stderr', /listening for NetFlow\/IPFIX on/);
    const sock = createSocket('udp4');
    for (const d of datagrams) {
      await new Promise<void>((r, j) => sock.send(d.data, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    }
    sock.close();
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGINT');
    const [code] = (await run.exited) as [number | null];
    expect(code, run.out.stderr).toBe(0);

    const got = new Map<string, { packets: number; bytes: number }>();
    for (const f of parseJsonl<FlowRec & { observation_point: string }>(run.out.stdout)) {
      expect(f.observation_point).toMatch(/^netflow:127\.0\.0\.1:\d+$/);
      const k = `${f.vlan} ${f.src_mac} > ${f.dst_mac} ${f.src_ip}:${f.src_port ?? 0} > ${f.dst_ip}:${f.dst_port ?? 0}`;
      const t = got.get(k) ?? { packets: 0, bytes: 0 };
      t.packets += f.packets;
      t.bytes += f.bytes;
      got.set(k, t);
      // the demo's pods where the inventory knows both ends on the flow's VLAN
      if (f.vlan === 100 && f.src_ip === '10.10.0.11' && f.dst_ip === '10.10.0.12') {
        expect([f.src?.pod, f.dst?.pod]).toEqual(['web-1', 'web-2']);
      }
    }
    const want = new Map(
      [...truth.values()].map((t) => [
        `${t.vlan} ${t.srcMac} > ${t.dstMac} ${t.src}:${t.sport} > ${t.dst}:${t.dport}`,
        { packets: t.packets, bytes: t.bytes },
      ]),
    );
    expect(got).toEqual(want);

    const line = run.out.stderr.split('\n').find((l) => l.startsWith('podwire: netflow '));
    expect(line, run.out.stderr).toBeDefined();
    const counts = Object.fromEntries(
      line!
        .slice('podwire: netflow '.length)
        .split(' ')
        .map((kv) => kv.split('=')),
    );
    expect(Number(counts.datagrams)).toBe(datagrams.length);
    expect(Number(counts.records)).toBe(truth.size);
    expect(counts.kernel_drops).toBe('0');
    expect(run.out.stderr).toMatch(/podwire: exporter 127\.0\.0\.1: datagrams=\d+ records=\d+/);
    expect(run.out.stderr).toMatch(/podwire: exporter 127\.0\.0\.1 v10 domain 0: .*sampling_rate=1/);
  });

  it('--store: the flows go to the embedded store, the templates to the data directory', async () => {
    const kept = (await readFixtureIndex())['softflowd-ipfix-ether'];
    const datagrams = await readSflowCapture(join(FIXTURES, 'softflowd-ipfix-ether.pcap'), kept.port);
    const dataDir = join(files.dir, 'store');
    const port = await freeUdpPort();
    const run = spawnPodwire([
      'flows',
      '--netflow',
      `127.0.0.1:${port}`,
      '--inventory',
      files.inventory,
      '--store',
      '--data-dir',
      dataDir,
    ]);
    await waitForOutput(run.child, 'stderr', /listening for NetFlow\/IPFIX on/, 30_000);
    const sock = createSocket('udp4');
    for (const d of datagrams) {
      await new Promise<void>((r, j) => sock.send(d.data, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    }
    sock.close();
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGINT');
    const [code] = (await run.exited) as [number | null];
    expect(code, run.out.stderr).toBe(0);
    const printed = parseJsonl<FlowRec>(run.out.stdout).length;
    expect(printed).toBeGreaterThan(0);
    expect(run.out.stderr).toMatch(new RegExp(`stored ${printed} flows in ${dataDir}/clickhouse`));
    const state = JSON.parse(readFileSync(join(dataDir, STATE_FILE), 'utf8')) as {
      exporters: { exporter: string }[];
    };
    expect(state.exporters.map((e) => e.exporter)).toEqual(['127.0.0.1']);
  }, 60_000);
});
