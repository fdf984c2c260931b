/**
 * The flow sink between the flow table and the writer: closed windows are cut into Arrow
 * batches of batchRows while the store keeps up, grow up to maxBatchRows while it is
 * behind (`busy`), go out partial once old enough on tick(), and wait when the writer
 * pushes back. Batches are read back with apache-arrow: every flow exactly once.
 */
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { DecodedPacket, IpProto, Layer } from '../../collector/decode/packet.js';
import { type FlowBatch, FlowTable } from '../../collector/flows/flow-table.js';
import type { EncodedBatch } from '../../ingest/arrow-batch.js';
import { FlowSink } from '../../ingest/flow-sink.js';

const T0 = Date.parse('2026-11-26T00:00:00Z') / 1000;

/** One closed window of `n` distinct flows, packet i carrying 100 + i % 7 bytes. */
function windowOf(n: number): FlowBatch {
  const out: FlowBatch[] = [];
  const t = new FlowTable({
    index: new EndpointIndex(),
    counters: new AttributionCounters(),
    maxFlows: n + 1,
    onFlows: (b) => out.push(b),
  });
  const p = new DecodedPacket();
  p.layers = Layer.ETHERNET | Layer.IPV4 | Layer.UDP;
  p.ipVersion = 4;
  p.protocol = IpProto.UDP;
  for (let i = 0; i < n; i++) {
    p.src4 = 0x0a000000 + (i >>> 16);
    p.dst4 = 0x0a010000;
    p.srcPort = i & 0xffff;
    p.dstPort = 53;
    p.innerLength = 100 + (i % 7);
    t.add(p, T0, T0 * 1e6, -1, 1);
  }
  t.flush();
  expect(out).toHaveLength(1);
  return out[0]!;
}

const expectedBytes = (n: number) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += 100 + (i % 7);
  return s;
};

function collect(opts: { busy?: () => boolean; maxAgeMs?: number; slow?: boolean } = {}) {
  const sent: EncodedBatch[] = [];
  let release: (() => void) | null = null;
  const sink = new FlowSink({
    names: (o) => (o < 0 ? 'test' : `erspan:${o}`),
    batchRows: 50_000,
    maxBatchRows: 250_000,
    maxAgeMs: opts.maxAgeMs,
    busy: opts.busy,
    send: (b) => {
      sent.push(b);
      if (!opts.slow) return true;
      return new Promise<void>((r) => {
        release = r;
      });
    },
  });
  const rows = () => sent.map((b) => b.rows);
  const read = () => {
    let n = 0;
    let bytes = 0;
    const ports = new Set<number>();
    for (const b of sent) {
      const t = tableFromIPC(b.body);
      n += t.numRows;
      for (const v of t.getChild('bytes')!) bytes += Number(v);
      for (const v of t.getChild('src_port')!) ports.add(Number(v));
    }
    return { n, bytes, ports: ports.size };
  };
  return { sink, sent, rows, read, release: () => release?.() };
}

describe('FlowSink', () => {
  it('cuts a window into batchRows-row batches while the store keeps up', async () => {
    const c = collect({ busy: () => false });
    c.sink.onFlows(windowOf(120_000));
    while (c.sink.pending > 0) await c.sink.pump();
    expect(c.rows()).toEqual([50_000, 50_000]);
    await c.sink.flush();
    expect(c.rows()).toEqual([50_000, 50_000, 20_000]);
    expect(c.read()).toEqual({ n: 120_000, bytes: expectedBytes(120_000), ports: 65_536 });
  });

  it('grows batches up to maxBatchRows while the writer is busy, and back when it is not', async () => {
    let busy = true;
    const c = collect({ busy: () => busy });
    c.sink.onFlows(windowOf(300_000));
    while (c.sink.pending > 0) {
      await c.sink.pump();
      if (c.sent.length === 1) busy = false;
    }
    await c.sink.flush();
    expect(c.rows()[0]).toBe(250_000);
    expect(c.rows().slice(1)).toEqual([50_000]);
    expect(c.read().n).toBe(300_000);
  });

  it('sends a partial batch once it is maxAgeMs old (tick), not before', async () => {
    const young = collect({ maxAgeMs: 60_000 });
    young.sink.onFlows(windowOf(1000));
    await young.sink.tick();
    expect(young.rows()).toEqual([]);
    const old = collect({ maxAgeMs: 0 });
    old.sink.onFlows(windowOf(1000));
    await old.sink.tick();
    expect(old.rows()).toEqual([1000]);
    expect(old.read().bytes).toBe(expectedBytes(1000));
  });

  it('waits while the writer pushes back', async () => {
    const c = collect({ slow: true, busy: () => false });
    c.sink.onFlows(windowOf(120_000));
    let done = false;
    const p = (async () => {
      while (c.sink.pending > 0) await c.sink.pump();
      done = true;
    })();
    await new Promise((r) => setTimeout(r, 50));
    // the first batch went out and the sink waits for it to be taken
    expect(c.rows()).toEqual([50_000]);
    expect(done).toBe(false);
    c.release();
    await new Promise((r) => setTimeout(r, 20));
    c.release();
    await p;
    expect(done).toBe(true);
    expect(c.rows()).toEqual([50_000, 50_000]);
  });
});
