import { describe, expect, it } from 'vitest';
import type { FlowBatch } from '../../collector/flows/flow-table.js';
import { type FlowBatchSink, fanOut } from '../../collector/flows/sink.js';

const batch = (n: number) => ({ n }) as unknown as FlowBatch;

describe('flow batch sinks', () => {
  it('fans each batch out to every sink, in order, the same object to each', () => {
    const seen: [string, FlowBatch][] = [];
    const sink = (name: string): FlowBatchSink => ({ onFlows: (b) => void seen.push([name, b]) });
    const both = fanOut([sink('store'), sink('jsonl')]);
    const a = batch(1);
    const b = batch(2);
    both.onFlows(a);
    both.onFlows(b);
    expect(seen.map(([n]) => n)).toEqual(['store', 'jsonl', 'store', 'jsonl']);
    expect(seen[0][1]).toBe(a);
    expect(seen[1][1]).toBe(a);
    expect(seen[3][1]).toBe(b);
  });

  it('one sink is itself (no extra call on the hot path)', () => {
    const only: FlowBatchSink = { onFlows: () => {} };
    expect(fanOut([only])).toBe(only);
  });
});
