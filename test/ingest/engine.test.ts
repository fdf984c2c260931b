/**
 * The embedded engine in its worker thread (ingest/embedded-engine.ts) and the pooled batch
 * bodies (arrow-batch.ts BodyPool): the engine's threads run below the event loop's
 * priority, errors keep ClickHouse's code, a closed store can be reopened; a pooled body
 * holds the IPC stream apache-arrow writes, and is reused only once released.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { BodyPool, builderFor, encodeArrow } from '../../ingest/arrow-batch.js';
import { openStore } from '../../ingest/store.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** nice value per thread name of this process (/proc/self/task/<tid>/stat, field 19) */
function threadNice(): { name: string; tid: number; nice: number }[] {
  return readdirSync('/proc/self/task').map((t) => {
    const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      name: readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim(),
      tid: Number(t),
      nice: Number(fields[16]),
    };
  });
}

describe('embedded engine (chDB in a worker thread)', () => {
  it('runs the engine threads below the event loop: the main thread at nice 0, ClickHouse pools at 10', async () => {
    const store = await openStore({ dataDir: join(dir, 'a'), database: 'pw' });
    try {
      await store.client.command({ query: 'CREATE TABLE pw.t (a UInt64) ENGINE = MergeTree ORDER BY a' });
      await store.client.command({ query: 'INSERT INTO pw.t SELECT number FROM numbers(100000)' });
      const threads = threadNice();
      expect(threads.find((t) => t.tid === process.pid)?.nice).toBe(0);
      const engine = threads.filter((t) =>
        /^(BgSchPool|MergeMutate|ThreadPool|QueryPipelineEx|BgStrmSchPool)/.test(t.name),
      );
      expect(engine.length).toBeGreaterThan(3);
      expect(engine.filter((t) => t.nice !== 10)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("keeps ClickHouse's code and text on a failed statement, and answers later ones", async () => {
    const store = await openStore({ dataDir: join(dir, 'b'), database: 'pw' });
    try {
      const err = await store.client
        .query({ query: 'SELECT no_such_column', format: 'JSONEachRow' })
        .catch((e) => e);
      expect(err).toMatchObject({ code: '47', type: 'UNKNOWN_IDENTIFIER' });
      expect(err.message).toMatch(
        /^Code: 47\. DB::Exception: Unknown expression identifier `no_such_column`/,
      );
      const rs = await store.client.query({
        query: 'SELECT {x:UInt8} + 1 AS y',
        query_params: { x: 41 },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ y: 42 }]);
    } finally {
      await store.close();
    }
    await expect(store.client.query({ query: 'SELECT 1' })).rejects.toThrow(/closed/);
  });

  it('opens the same data directory again after a close, with the data kept', async () => {
    const at = join(dir, 'c');
    const first = await openStore({ dataDir: at, database: 'pw' });
    await first.client.command({ query: 'CREATE TABLE pw.k (a UInt64) ENGINE = MergeTree ORDER BY a' });
    await first.client.command({ query: 'INSERT INTO pw.k VALUES (7)' });
    await first.close();
    const again = await openStore({ dataDir: at, database: 'pw' });
    try {
      const rs = await again.client.query({ query: 'SELECT sum(a) AS s FROM pw.k', format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ s: '7' }]);
    } finally {
      await again.close();
    }
  });
});

describe('pooled batch bodies', () => {
  const columns = ['n', 's'];
  const batchOf = (rows: number, pool?: BodyPool) => {
    const b = [builderFor('u32', 16), builderFor('str', 16)];
    for (let i = 0; i < rows; i++) {
      b[0].push(i);
      b[1].push(`pod-${i % 13}`);
    }
    return encodeArrow(columns, b, rows, pool);
  };

  it("hold the same stream as apache-arrow's own tableToIPC (same rows, same columns)", () => {
    const pooled = batchOf(5000, new BodyPool());
    const plain = batchOf(5000);
    expect(pooled.lease).toBeDefined();
    // (the bytes differ only in the dictionary ids apache-arrow numbers per process)
    const [a, b] = [tableFromIPC(pooled.body), tableFromIPC(plain.body)];
    expect(a.numRows).toBe(5000);
    for (const c of columns) expect([...(a.getChild(c) ?? [])]).toEqual([...(b.getChild(c) ?? [])]);
    expect(a.getChild('s')?.get(4999)).toBe(`pod-${4999 % 13}`);
  });

  it('are reused once released, never while a holder retains one', () => {
    const pool = new BodyPool(2);
    const a = batchOf(1000, pool);
    a.lease?.retain(); // a store still reading it
    a.lease?.release(); // the writer is done
    const b = batchOf(1000, pool);
    expect(b.body.buffer).not.toBe(a.body.buffer);
    a.lease?.release();
    expect(pool.stats.free).toBe(1);
    const c = batchOf(900, pool);
    expect(c.body.buffer).toBe(a.body.buffer);
    expect(pool.stats.free).toBe(0);
  });
});
