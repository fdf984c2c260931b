/**
 * `podwire flows` over the demo capture with one record's time corrupted (stamped in 2100,
 * the file otherwise intact): the windows still close as the capture goes on, no packet is
 * late, every packet is in a flow, and the summary counts the time outlier.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type FlowRec,
  parseJsonl,
  podwire,
  SAMPLE_INVENTORY,
  SAMPLE_PCAP,
  summary,
  tempDir,
} from './helpers.js';

const Y2100 = Date.parse('2100-01-01T00:00:00Z') / 1000;

/** A copy of a classic little-endian pcap with record `n` (0-based) stamped `sec`. */
function restamp(pcap: Buffer, n: number, sec: number): Buffer {
  const out = Buffer.from(pcap);
  let at = 24;
  for (let i = 0; i < n; i++) at += 16 + out.readUInt32LE(at + 8);
  out.writeUInt32LE(sec, at);
  return out;
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('time-outliers');
});
afterAll(() => tmp?.remove());

describe('podwire flows with a record stamped in 2100', () => {
  it.each([
    ['in the middle', 100],
    ['first', 0],
  ])('%s: windows close, nothing is late, the outlier is counted and kept at its time', async (_, n) => {
    const original = await readFile(SAMPLE_PCAP);
    const path = join(tmp.dir, `corrupt-${n}.pcap`);
    await writeFile(path, restamp(original, n, Y2100));
    const [r, clean] = await Promise.all([
      podwire(['flows', '--pcap', path, '--inventory', SAMPLE_INVENTORY]),
      podwire(['flows', '--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY]),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = summary(r.stderr);
    expect(s.late_packets).toBe(0);
    expect(s.time_outliers).toBe(1);
    const flows = parseJsonl<FlowRec>(r.stdout);
    expect(flows.reduce((a, f) => a + f.packets, 0)).toBe(summary(clean.stderr).packets);
    const odd = flows.filter((f) => f.window_start.startsWith('2100-'));
    expect(odd.map((f) => [f.window_start, f.packets])).toEqual([['2100-01-01T00:00:00.000Z', 1]]);
    // the capture's own windows came out in order, as on the intact file
    const starts = flows.filter((f) => !odd.includes(f)).map((f) => Date.parse(f.window_start));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });
});
