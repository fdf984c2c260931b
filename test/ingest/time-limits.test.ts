/**
 * Rows the store would refuse, or store at a wrong time, because of their traffic time: an
 * import spanning many day partitions goes in whole; a time a column cannot hold is refused
 * by the encoders and counted by the writer (`time_out_of_range`), never clamped or wrapped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrowBatchBuilder } from '../../ingest/arrow-batch.js';
import { DATETIME_RANGE, DATETIME64_RANGE_US, TimeRangeError } from '../../ingest/columns.js';
import { rowEncoder } from '../../ingest/encode.js';
import { migrate } from '../../ingest/migrations.js';
import { DEFAULT_RETENTION, flows, packet_samples } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';
import { BatchWriter } from '../../ingest/writer.js';
import { flowRowAt, sampleRowAt } from './rows.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-time-limits-'));
let store: Store;

beforeAll(async () => {
  store = await openStore({ dataDir: join(dir, 'ch'), database: 'pw' });
  await migrate(store.client, { database: 'pw', retention: DEFAULT_RETENTION });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function count(query: string): Promise<number> {
  const rs = await store.client.query({ query, format: 'JSONEachRow' });
  return Number(Object.values(((await rs.json()) as Record<string, string>[])[0])[0]);
}

describe('traffic time limits of the store (chDB)', () => {
  it('stores a batch whose rows span 400 day partitions in one insert (an import of a long capture)', async () => {
    const b = new ArrowBatchBuilder(flows);
    const start = 1_600_000_000 - (1_600_000_000 % 86_400);
    for (let d = 0; d < 400; d++) b.add(flowRowAt(start + d * 86_400, `pod-${d}`));
    await store.insertBatch('flows', b.finish(), 'partitions-1');
    expect(await count('SELECT count() FROM pw.flows')).toBe(400);
    expect(await count('SELECT uniqExact(toYYYYMMDD(window_start)) FROM pw.flows')).toBe(400);
    expect(await count('SELECT sum(flows) FROM pw.flows_1h')).toBe(400);
  });

  it('refuses, in Arrow and in TSV, a time its column cannot hold (the store would clamp or wrap it)', () => {
    const arrow = new ArrowBatchBuilder(flows);
    const tsv = rowEncoder(flows);
    for (const t of [DATETIME_RANGE[1] + 1, -1, Number.NaN]) {
      expect(() => arrow.add(flowRowAt(t, 'x'))).toThrow(TimeRangeError);
      expect(() => tsv.line(flowRowAt(t, 'x'))).toThrow(TimeRangeError);
    }
    expect(arrow.rows).toBe(0);
    const samples = new ArrowBatchBuilder(packet_samples);
    expect(() => samples.add(sampleRowAt(DATETIME64_RANGE_US[1] + 1e6))).toThrow(
      /outside what the column holds/,
    );
    samples.add(sampleRowAt(DATETIME64_RANGE_US[1] - 1e6));
    arrow.add(flowRowAt(DATETIME_RANGE[1], 'last-second'));
    expect([arrow.rows, samples.rows]).toEqual([1, 1]);
  });

  it('the writer counts such a row as dropped, reason time_out_of_range, and stores the rest', async () => {
    const registry = new Registry();
    const w = await BatchWriter.open({
      store,
      table: flows,
      spoolDir: join(dir, 'spool'),
      registry,
      log: () => {},
    });
    w.write(flowRowAt(1_700_000_000, 'in-range'));
    expect(() => w.write(flowRowAt(2 ** 32 + 60, 'year-2106+'))).toThrow(TimeRangeError);
    await w.flush();
    await w.close();
    expect(w.stats()).toMatchObject({ accepted: 1, written: 1, dropped: 1 });
    const text = await registry.metrics();
    expect(text).toMatch(/podwire_ingest_rows_dropped_total\{[^}]*reason="time_out_of_range"[^}]*\} 1/);
    expect(await count("SELECT count() FROM pw.flows WHERE src_pod IN ('in-range', 'year-2106+')")).toBe(1);
  });
});
