/**
 * `flowJsonLine` (cli/format.ts), the jsonl line `podwire flows` prints, written straight
 * from a batch's rows, is exactly `JSON.stringify(flowJson(record))` — over the benchmark's
 * traffic mix (VLAN, QinQ, VXLAN, IPv6, unattributed sides, several windows), the shipped
 * demo capture, endpoint names that JSON must escape, and with an observation point.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flowJson, flowJsonLine } from '../../cli/format.js';
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { loadInventory, parseInventory } from '../../collector/attribution/inventory.js';
import { pcapFileHeader, pcapRecord } from '../../collector/capture/pcap-writer.js';
import { readCaptureFile } from '../../collector/capture/reader.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { type FlowBatch, FlowTable } from '../../collector/flows/flow-table.js';
import { PacketPath } from '../../collector/packet-path.js';
import { mixedTraffic } from '../../collector/synth/scenario.js';

async function batchesOf(pcap: string, index: EndpointIndex): Promise<FlowBatch[]> {
  const batches: FlowBatch[] = [];
  const counters = new AttributionCounters();
  const flows = new FlowTable({ index, counters, onFlows: (b) => batches.push(b) });
  const path = new PacketPath({ index, decode: decodeConfig(), flows, counters });
  await readCaptureFile(pcap, path.handle);
  flows.flush();
  return batches;
}

function expectSameLines(batches: FlowBatch[], point?: (o: number) => string): number {
  let n = 0;
  for (const b of batches) {
    const records = b.records();
    const order = b.order();
    expect(order.length).toBe(records.length);
    order.forEach((i, k) => {
      const p = point?.(b.observation(i));
      expect(flowJsonLine(b, i, p)).toBe(JSON.stringify(flowJson(records[k], p)));
      n++;
    });
  }
  return n;
}

describe('flowJsonLine', () => {
  it('writes what JSON.stringify(flowJson) writes, over the bench mix with names to escape', async () => {
    const { inventory, frames, t0 } = mixedTraffic({ pods: 400, distinct: 3000 });
    const names = ['quo"te', 'back\\slash', 'tab\there', 'ünïcødé', 'line\nbreak', '\u2028sep'];
    inventory.endpoints.forEach((e, i) => {
      if (i % 7 === 0) (e as Record<string, unknown>).pod = `${names[i % names.length]}-${i}`;
      if (i % 11 === 0) (e as Record<string, unknown>).tier = names[(i + 1) % names.length];
    });
    const dir = mkdtempSync(join(tmpdir(), 'podwire-jsonline-'));
    const pcap = join(dir, 'mix.pcap');
    const recs = [pcapFileHeader()];
    // 25 s of traffic: three 10 s windows, every frame a few times
    for (let i = 0; i < 12_000; i++) {
      const t = t0 + (25 * i) / 12_000;
      const sec = Math.floor(t);
      recs.push(
        pcapRecord({
          tsSec: sec,
          tsNsec: Math.round((t - sec) * 1e6) * 1000,
          data: frames[(i * 7) % frames.length].frame,
        }),
      );
    }
    writeFileSync(pcap, Buffer.concat(recs));
    const index = EndpointIndex.fromInventory(parseInventory(JSON.parse(JSON.stringify(inventory))));
    const batches = await batchesOf(pcap, index);
    expect(batches.length).toBeGreaterThan(1);
    const n = expectSameLines(batches);
    expect(n).toBeGreaterThan(1000);
    expectSameLines(batches, (o) => `sflow:10.0.0."${o}":${o & 0xff}`);
  });

  it('writes what JSON.stringify(flowJson) writes over the demo capture', async () => {
    const root = new URL('../../samples/', import.meta.url).pathname;
    const index = EndpointIndex.fromInventory(await loadInventory(join(root, 'inventory.json')));
    expect(expectSameLines(await batchesOf(join(root, 'mirror.pcap'), index))).toBeGreaterThan(10);
  });
});
