/**
 * The spool on a full disk: a real filesystem (a 1 MiB tmpfs mounted by the test, as root)
 * that fills up while the store is down (fault-injected wrapper of the real chDB store).
 * Failed appends leave no empty spool files behind; the rows that could not be spooled are
 * counted; what waits in the spool is told apart from what was ever spooled; and replay on
 * the still-full disk (replay.pos cannot be written) stores every spooled row once,
 * without a stack trace.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../ingest/migrations.js';
import { DEFAULT_RETENTION, vf_counters } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';
import { BatchWriter } from '../../ingest/writer.js';
import { mountTmpfs, type SmallDisk } from '../helpers/small-disk.js';
import { faultStore } from './fixtures/fault-store.js';
import { vfRow } from './fixtures/vf-rows.mjs';

const root = mkdtempSync(join(tmpdir(), 'podwire-disk-full-'));
const mnt = join(root, 'small-disk');
let disk: SmallDisk;
let store: Store;

async function scalars(query: string): Promise<Record<string, number>> {
  const rs = await store.client.query({ query, format: 'JSONEachRow' });
  const row = ((await rs.json()) as Record<string, string>[])[0];
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

beforeAll(async () => {
  disk = mountTmpfs(mnt, '1m');
  store = await openStore({ dataDir: join(root, 'ch') });
  await migrate(store.client, { database: store.database, retention: DEFAULT_RETENTION });
});

afterAll(async () => {
  await store?.close();
  try {
    disk?.unmount();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

describe('the spool on a full disk (a real 1 MiB tmpfs)', () => {
  it('failed appends leave no empty files and are counted; what waits is not what was ever spooled; replay with replay.pos unwritable stores every row once', async () => {
    const logs: string[] = [];
    const f = { down: true };
    const spoolDir = join(mnt, 'spool');
    const w = await BatchWriter.open({
      store: faultStore(f, () => store),
      table: vf_counters,
      spoolDir,
      quarantineDir: join(root, 'quarantine'),
      maxRows: 500,
      maxAgeMs: 60_000,
      retryMinMs: 20,
      retryMaxMs: 100,
      spool: { fsync: 'never' },
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
    const tag = 'disk-full';
    const N = 40_000;
    for (let id = 0; id < N; id++) {
      const r = w.write(vfRow(tag, id));
      if (r !== true) await r;
    }
    await w.flush();
    let st = w.stats();
    expect(st.accepted).toBe(N);
    expect(st.spooled, 'some batches fitted').toBeGreaterThan(0);
    expect(st.droppedBy.spool_error, 'the disk filled up').toBeGreaterThan(0);
    expect(st.spooled + st.dropped).toBe(N);
    const tableDir = join(spoolDir, 'vf_counters');
    const files = readdirSync(tableDir).filter((x) => x.endsWith('.spool'));
    expect(
      files.filter((x) => statSync(join(tableDir, x)).size === 0),
      'empty spool files',
    ).toEqual([]);
    expect(files.length).toBe(1);
    expect(st.spoolRows).toBe(st.spooled);
    expect(await w.registry.metrics()).toContain(
      `podwire_ingest_spool_rows{table="vf_counters"} ${st.spooled}`,
    );

    // still full when the store comes back: replay.pos cannot be written
    const filler = disk.fill();
    f.down = false;
    await w.drain();
    st = w.stats();
    expect(st).toMatchObject({ written: st.spooled, replayed: st.spooled, spoolRows: 0, spooling: false });
    expect(await w.registry.metrics()).toContain('podwire_ingest_spool_rows{table="vf_counters"} 0');
    const stored = await scalars(
      `SELECT count() AS n, uniqExact(rx_bytes) AS ids FROM podwire.vf_counters WHERE node = '${tag}'`,
    );
    expect(stored).toEqual({ n: st.spooled, ids: st.spooled });
    const text = logs.join('\n');
    expect(text).toMatch(/replay position .*replay\.pos.*ENOSPC/);
    expect(text, 'no stack trace').not.toMatch(/\n\s+at /);
    await w.close();
    rmSync(filler);
  });
});
