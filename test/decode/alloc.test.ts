/**
 * Allocation sanity check (not a timing test): once warm, decodeFrame allocates nothing per
 * packet, so a million decodes must not trigger the young-generation collections that even
 * 16 bytes per packet (16 MB) would.
 */
import { GCProfiler } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../collector/decode/frame.js';
import { DecodedPacket, decodeConfig } from '../../collector/decode/packet.js';
import { corpus, EXTRA_VXLAN_PORT } from './corpus.js';

/** Young-generation collections while `fn` runs. */
function youngGcs(fn: () => number): number {
  const profiler = new GCProfiler();
  profiler.start();
  const sum = fn();
  const result = profiler.stop();
  if (Number.isNaN(sum)) throw new Error('unreachable: keeps the result alive');
  return (result?.statistics ?? []).filter((s) => s.gcType === 'Scavenge' || s.gcType === 'MinorMarkSweep')
    .length;
}

describe('allocation', () => {
  it('decodes a million mixed frames without young-generation GCs', () => {
    const samples = corpus(0xa110c, 4);
    // one contiguous buffer, like a capture reader hands over
    const buf = Buffer.concat(samples.map((s) => s.frame));
    const offsets = new Int32Array(samples.length);
    const lengths = new Int32Array(samples.length);
    for (let i = 0, o = 0; i < samples.length; o += samples[i].frame.length, i++) {
      offsets[i] = o;
      lengths[i] = samples[i].frame.length;
    }
    const cfg = decodeConfig([EXTRA_VXLAN_PORT]);
    const out = new DecodedPacket();
    const run = (n: number) => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const k = i % samples.length;
        // kept a small integer: a sum growing past 2^31 would box (allocate) in the harness itself
        sum = (sum + decodeFrame(buf, offsets[k], lengths[k], lengths[k], 1, out, cfg) + out.srcPort) | 0;
      }
      return sum;
    };
    // control: the same loop keeping one 2-element array per packet alive for a moment
    let sink: number[] = [];
    const allocating = (n: number) => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const k = i % samples.length;
        sink = [decodeFrame(buf, offsets[k], lengths[k], lengths[k], 1, out, cfg), out.srcPort];
        sum = (sum + sink[1]) | 0;
      }
      return sum;
    };
    run(200_000); // warm up: let the optimizing compiler settle
    allocating(200_000);
    const control = youngGcs(() => allocating(1_000_000));
    const real = youngGcs(() => run(1_000_000));
    console.log(`young-generation GCs over 1M decodes: ${real} (control allocating 1M arrays: ${control})`);
    expect(sink.length).toBe(2);
    expect(control).toBeGreaterThanOrEqual(2);
    expect(real).toBeLessThanOrEqual(1); // one allowed for a collection already due; 16 B/packet would give ~8
  });
});
