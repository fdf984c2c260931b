/**
 * `podwire sample` regenerates the shipped demo byte for byte (it is seeded), and
 * `podwire tour` shows flows, traced packets and where to look
 * next, then exits 0.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoScenario } from '../../collector/synth/scenario.js';
import { ensureBuilt, podwire, SAMPLE_INVENTORY, SAMPLE_PCAP, summary, tempDir } from './helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('sample');
});
afterAll(() => tmp?.remove());

describe('podwire sample', () => {
  let written: string | undefined;

  it('--out DIR (or ./samples) writes the capture byte-identical to samples/ and the same inventory', async () => {
    const out = join(tmp.dir, 'nested', 'demo');
    // and without --out, into ./samples of the working directory
    const [r, byDefault] = await Promise.all([
      podwire(['sample', '--out', out]),
      podwire(['sample'], { cwd: tmp.dir }),
    ]);
    for (const x of [r, byDefault]) expect(x.code, x.stderr).toBe(0);
    const packets = demoScenario().packets.length;
    expect(r.stderr).toMatch(
      new RegExp(`wrote ${packets} packets to .*mirror\\.pcap and .*inventory\\.json`),
    );
    for (const dir of [out, join(tmp.dir, 'samples')]) {
      expect(
        readFileSync(join(dir, 'mirror.pcap')).equals(readFileSync(SAMPLE_PCAP)),
        `${dir}/mirror.pcap`,
      ).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8'))).toEqual(
        JSON.parse(readFileSync(SAMPLE_INVENTORY, 'utf8')),
      );
    }
    written = out;
  });

  // Fails while samples/inventory.json is the Biome-formatted version of what `podwire
  // sample` writes (biome.json formats samples/): then a regenerated sample fails lint.
  it('--out DIR writes inventory.json byte-identical to samples/inventory.json', () => {
    expect(written).toBeDefined();
    expect(readFileSync(join(written!, 'inventory.json'), 'utf8')).toBe(
      readFileSync(SAMPLE_INVENTORY, 'utf8'),
    );
  });
});

describe('podwire tour', () => {
  it('prints the flows, the first packets traced and where to look next; exits 0', async () => {
    const r = await podwire(['tour'], { timeoutMs: 15_000 });
    expect(r.signal).toBeNull();
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    const lines = out.split('\n');

    const flowsAt = lines.findIndex((l) => l.startsWith('Flows (10 s windows)'));
    const packetsAt = lines.findIndex((l) => l.startsWith('First packets'));
    const nextAt = lines.findIndex((l) => l.startsWith('Where to look next'));
    expect(flowsAt).toBeGreaterThan(0);
    expect(packetsAt).toBeGreaterThan(flowsAt);
    expect(nextAt).toBeGreaterThan(packetsAt);
    expect(out).toContain(`demo capture: ${SAMPLE_PCAP}`);
    expect(out).toContain(`inventory:    ${SAMPLE_INVENTORY}`);

    // the flows table: a header and one row per flow the closing line counts
    const flowLines = lines.slice(flowsAt + 1, packetsAt).filter((l) => l.trim() !== '');
    expect(flowLines[0]).toMatch(
      /^window\s+observed\s+context\s+proto\s+addresses\s+packets\s+bytes\s+pods$/,
    );
    const flowSummary = r.stderr.split('\n').find((l) => l.includes(' flows='));
    expect(flowSummary).toBeDefined();
    expect(flowLines.length - 1).toBe(summary(flowSummary!).flows);
    expect(out).toMatch(/shop\/web-1 > shop\/web-2/);
    expect(out).toMatch(/bank\/teller-1 > bank\/vault-0/);

    // the first 25 packets, traced
    const packetLines = lines.slice(packetsAt + 1, nextAt).filter((l) => l.trim() !== '');
    expect(packetLines[0]).toMatch(/^\s*frame\s+time\s+context\s+proto\s+addresses\s+pods$/);
    expect(packetLines.slice(1).map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );

    // the hints: commands a user can paste
    const hints = lines.slice(nextAt + 1).join('\n');
    expect(hints).toContain(`npx podwire trace --pcap ${SAMPLE_PCAP} --inventory ${SAMPLE_INVENTORY}`);
    expect(hints).toContain(
      `npx podwire flows --pcap ${SAMPLE_PCAP} --inventory ${SAMPLE_INVENTORY} --format table`,
    );
    expect(hints).toMatch(/podwire trace --capture \S+ --inventory/);
    expect(hints).toContain('npx podwire --help');

    // both runs read the whole demo
    const packets = demoScenario().packets.length;
    const summaries = r.stderr.split('\n').filter((l) => l.startsWith('podwire: packets='));
    expect(summaries.length).toBe(2);
    for (const s of summaries) expect(summary(s).packets).toBe(packets);
  });
});
