/**
 * The merge of several readers' batches back into arrival order (collector/udp/merge.ts):
 * records released only once every input has advanced past them, stalled inputs not
 * waited for (and what they send late counted), one input passed straight through.
 */
import { describe, expect, it } from 'vitest';
import { BatchWriter, type DatagramRecord } from '../../collector/udp/batch.js';
import { DatagramMerge } from '../../collector/udp/merge.js';

/** A batch of records whose payload is their order number (u32), stamped with that order. */
function batch(orders: number[]): { buf: ArrayBuffer; used: number; count: number } {
  const w = new BatchWriter();
  for (const o of orders) {
    const msg = new Uint8Array(4);
    new DataView(msg.buffer).setUint32(0, o);
    w.append(msg, o * 1000, o, 4, new Uint8Array([10, 0, 0, 1]), 6343);
  }
  return w.take();
}

function collect(inputs: number, stall = 1e9) {
  const got: number[] = [];
  const done: number[] = [];
  const m = new DatagramMerge(inputs, stall, (u8: Uint8Array, r: DatagramRecord) => {
    got.push(new DataView(u8.buffer).getUint32(r.payloadOffset));
  });
  const push = (k: number, orders: number[], id: number) => {
    const b = batch(orders);
    m.push(k, b.buf, b.used, b.count, () => done.push(id));
  };
  return { m, got, done, push };
}

describe('DatagramMerge', () => {
  it('holds records until every input has advanced past them, then releases them in order', () => {
    const { m, got, done, push } = collect(2);
    push(0, [1, 3, 5, 7], 1);
    m.advance(0, 8);
    m.release();
    // input 1 has said nothing: it may still send something older than 1
    expect(got).toEqual([]);
    push(1, [2, 4, 6], 2);
    m.advance(1, 6);
    m.release();
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(done).toEqual([2]);
    // a mark: input 1 read nothing more up to 9
    m.advance(1, 9);
    m.release();
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(done).toEqual([2, 1]);
    expect(m.reordered).toBe(0);
    expect(m.held).toBe(0);
  });

  it('does not wait for an input stalled far behind the others; what it sends late is counted', () => {
    const { m, got, push } = collect(2, 100);
    m.advance(1, 0);
    push(0, [10, 20, 300], 1);
    m.advance(0, 300);
    m.release();
    // input 1 is 300 behind, more than the stall bound of 100: not waited for
    expect(got).toEqual([10, 20, 300]);
    push(1, [15], 2);
    m.advance(1, 301);
    m.release();
    expect(got).toEqual([10, 20, 300, 15]);
    expect(m.reordered).toBe(1);
  });

  it('an ended input is not waited for; flush delivers everything held', () => {
    const { m, got, push } = collect(3);
    push(0, [5], 1);
    m.advance(0, 5);
    m.end(1);
    m.release();
    expect(got).toEqual([]);
    m.end(2);
    m.release();
    expect(got).toEqual([5]);
    push(0, [9], 2);
    expect(m.allEnded).toBe(false);
    m.flush();
    expect(got).toEqual([5, 9]);
  });

  it('one input needs no marks: records go through at once, in its order', () => {
    const { m, got, push } = collect(1);
    push(0, [3, 1, 2], 1);
    m.release();
    expect(got).toEqual([3, 1, 2]);
  });
});
