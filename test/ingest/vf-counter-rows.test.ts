/**
 * vf_counters rows while a NIC source fails: a delta is written once, for the collection
 * that measured it. The collector keeps a failing source's VFs (not yet stale) with their
 * last delta; writing that delta every round until they turn stale counted it 3 times in
 * vf_counters and its rollup.
 */
import { describe, expect, it } from 'vitest';
import { NicCollector } from '../../collector/nic/collector.js';
import type { NicReading, VfSample } from '../../collector/nic/types.js';
import { vfCounterRows } from '../../ingest/sample-rows.js';

const vf = (index: number, txBytes: number): VfSample => ({
  node: 'node-a',
  pf: 'ens1f0',
  vf: index,
  mac: '',
  vlan: 0,
  qos: 0,
  minTxRate: 0,
  maxTxRate: 0,
  spoofCheck: null,
  trust: null,
  linkState: null,
  pciAddress: null,
  rxBytes: 0,
  rxPackets: 0,
  rxDropped: 0,
  rxBroadcast: 0,
  rxMulticast: 0,
  txBytes,
  txPackets: 0,
  txDropped: 0,
});

type Step = Omit<NicReading, 'at'> | Error;

/** Collects each step (a reading, or a failed read) 15 s apart; the rows of each round. */
async function rounds(steps: Step[][]): Promise<number[][]> {
  let t = Date.parse('2026-11-26T10:00:00Z');
  let i = 0;
  const sources = steps[0]!.map((_, k) => ({
    name: `s${k}`,
    read: async () => {
      const step = steps[i]![k]!;
      if (step instanceof Error) throw step;
      return step;
    },
  }));
  const c = new NicCollector({ sources, intervalMs: 15_000, clock: () => t, log: () => {} });
  const out: number[][] = [];
  for (; i < steps.length; i++) {
    const s = await c.collect();
    out.push(vfCounterRows(s, () => null).map((r) => r.tx_bytes));
    t += 15_000;
  }
  return out;
}

const reading = (...vfs: VfSample[]) => ({ vfs, qdiscs: [], netdevs: [] });

describe('vfCounterRows while a source fails', () => {
  it('writes a delta once: the failing rounds before the VF turns stale write nothing', async () => {
    const down = new Error('ip: command timed out');
    const rows = await rounds([
      [reading(vf(0, 1000))],
      [reading(vf(0, 5000))],
      [down],
      [down],
      [down],
      [reading(vf(0, 9000))],
    ]);
    expect(rows).toEqual([[], [4000], [], [], [], [4000]]);
    expect(rows.flat().reduce((a, b) => a + b, 0)).toBe(8000);
  });

  it('with two sources, each increase is written once: rows follow the source the totals follow', async () => {
    const down = new Error('ip: command timed out');
    const rows = await rounds([
      [reading(vf(0, 100)), reading(vf(0, 100))],
      [reading(vf(0, 700)), reading(vf(0, 700))],
      // the first source fails (not yet stale: the totals still follow it); the second
      // measures 200 more, which the first source's next delta covers
      [down, reading(vf(0, 900))],
      [reading(vf(0, 1000)), reading(vf(0, 1000))],
    ]);
    expect(rows).toEqual([[], [600], [], [300]]);
  });
});
