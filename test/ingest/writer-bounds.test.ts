/**
 * Every queue is bounded, whatever the producer does. A store slower than its input: a
 * real ClickHouse 18.16 server paused with SIGSTOP (its inserts hang) under producers that
 * do not wait for the writer (as the packet path cannot); and a fault-injected slow store
 * (a wrapper of the real chDB store that delays each insert) under the flow table's sink.
 * Memory stays bounded — the writer's queue, the sink's queue — what does not fit spools
 * (or is counted as dropped, with a reason), and once the store keeps up again every row
 * is stored exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { DecodedPacket, IpProto, Layer } from '../../collector/decode/packet.js';
import { FlowTable } from '../../collector/flows/flow-table.js';
import { c } from '../../ingest/columns.js';
import { FlowSink } from '../../ingest/flow-sink.js';
import { migrate } from '../../ingest/migrations.js';
import { DEFAULT_RETENTION, flows, type TableDef, vf_counters } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';
import { BatchWriter } from '../../ingest/writer.js';
import { type ClickHouseServer, startClickHouseServer } from '../helpers/clickhouse-server.js';
import { mountFreezable } from '../helpers/small-disk.js';
import { faultStore, sleep, until } from './fixtures/fault-store.js';
import { vfRow } from './fixtures/vf-rows.mjs';

const root = mkdtempSync(join(tmpdir(), 'podwire-bounds-'));
let n = 0;
const freshDir = () => join(root, `b${++n}`);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function scalars(s: Store, query: string): Promise<Record<string, number>> {
  const rs = await s.client.query({ query, format: 'JSONEachRow' });
  const row = ((await rs.json()) as Record<string, string>[])[0];
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

describe('a real ClickHouse 18.16 server paused with SIGSTOP, producers that do not wait', () => {
  let server: ClickHouseServer;
  let old: Store;
  const events = {
    name: 'bounds_events',
    columns: { id: c.uint64(), tag: c.string() },
    engine: 'MergeTree',
    orderBy: ['id'],
    shardBy: ['id'],
  } satisfies TableDef;

  beforeAll(async () => {
    server = await startClickHouseServer();
    old = await openStore({ url: server.url });
    await old.client.command({ query: 'CREATE DATABASE IF NOT EXISTS podwire' });
    await old.client.command({
      query: 'CREATE TABLE podwire.bounds_events (id UInt64, tag String) ENGINE = MergeTree ORDER BY id',
    });
  }, 120_000);

  afterAll(async () => {
    if (server?.pid) process.kill(server.pid, 'SIGCONT');
    await old?.close();
    await server?.destroy();
  });

  it('the queue stays within its bound, the rest spools (counted as over the queue), and every row is stored once after SIGCONT', async () => {
    const logs: string[] = [];
    const dir = freshDir();
    const w = await BatchWriter.open({
      store: old,
      table: events,
      spoolDir: join(dir, 'spool'),
      quarantineDir: join(dir, 'quarantine'),
      maxRows: 1000,
      maxAgeMs: 60_000,
      queueBatches: 4,
      // the paused server's insert must not time out: it lands once the server runs again
      insertTimeoutMs: 120_000,
      retryMinMs: 50,
      retryMaxMs: 200,
      spool: { fsync: 'never' },
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
    const tag = 'sigstop';
    const N = 100_000;
    process.kill(server.pid!, 'SIGSTOP');
    let maxQueued = 0;
    let maxBytes = 0;
    let batchBytes = 0;
    try {
      for (let id = 0; id < N; id++) {
        // the packet path's way: write, never wait
        void w.write({ id, tag });
        if (id % 1000 === 999) {
          const st = w.stats();
          maxQueued = Math.max(maxQueued, st.queuedBatches);
          maxBytes = Math.max(maxBytes, st.queuedBytes);
          batchBytes = Math.max(batchBytes, st.queuedBytes / Math.max(1, st.queuedBatches));
          await new Promise((r) => setImmediate(r));
        }
      }
      // (no flush(): it would wait for the paused insert) the overflow is on disk
      await until(
        () => {
          const st = w.stats();
          return st.queuedBatches * 1000 + st.spoolRows + st.dropped === N;
        },
        20_000,
        'the overflow to reach the spool',
      );
      const st = w.stats();
      // 4 queued × 2 (the hard bound), plus the one in flight
      expect(maxQueued).toBeLessThanOrEqual(9);
      expect(maxBytes).toBeLessThanOrEqual(9 * batchBytes);
      expect(st.overflowed, 'rows spooled over the full queue').toBeGreaterThan(N / 2);
      expect(st.spooled).toBeGreaterThanOrEqual(st.overflowed);
      expect(st.written).toBe(0);
      // every row is in memory (the paused insert), in the spool, or counted
      expect(st.queuedBatches * 1000 + st.spoolRows + st.dropped).toBe(N);
      const metrics = await w.registry.metrics();
      expect(metrics).toContain(
        `podwire_ingest_rows_overflowed_total{table="bounds_events"} ${st.overflowed}`,
      );
    } finally {
      process.kill(server.pid!, 'SIGCONT');
    }
    await w.drain();
    const st = w.stats();
    expect(st).toMatchObject({ accepted: N, written: N, dropped: 0, spoolRows: 0 });
    expect(
      await scalars(
        old,
        `SELECT count() AS n, uniqExact(id) AS ids, sum(id) AS s FROM podwire.bounds_events WHERE tag = '${tag}'`,
      ),
    ).toEqual({
      n: N,
      ids: N,
      s: (N * (N - 1)) / 2,
    });
    expect(logs.join('\n')).toMatch(/queue is full .* spooling/);
    await w.close();
  });
});

describe('the flow sink under a fault-injected slow store (a wrapper of the real chDB store that delays each insert)', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ dataDir: join(root, 'ch') });
    await migrate(store.client, { database: store.database, retention: DEFAULT_RETENTION });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('and a stalled spool disk (ext4 on a loop device, frozen): the queue and its overflow stay bounded, past them batches are dropped as overload and counted; after the thaw every other row is stored once', async () => {
    const disk = mountFreezable(join(root, 'stalled-spool'), 32);
    try {
      const w = await BatchWriter.open({
        store: faultStore({ delayMs: 300 }, () => store),
        table: vf_counters,
        spoolDir: disk.path,
        quarantineDir: join(freshDir(), 'quarantine'),
        maxRows: 500,
        maxAgeMs: 60_000,
        queueBatches: 2,
        queueBytes: 200_000,
        retryMinMs: 20,
        retryMaxMs: 100,
        spool: { fsync: 'never' },
        log: () => {},
      });
      disk.freeze();
      const tag = 'overload';
      const N = 20_000;
      let maxQueued = 0;
      let maxOverflow = 0;
      for (let id = 0; id < N; id++) {
        void w.write(vfRow(tag, id));
        if (id % 500 === 499) {
          const st = w.stats();
          maxQueued = Math.max(maxQueued, st.queuedBatches);
          maxOverflow = Math.max(maxOverflow, st.overflowBatches);
          await new Promise((r) => setImmediate(r));
        }
      }
      const frozen = w.stats();
      expect(maxQueued).toBeLessThanOrEqual(2 * 2 + 1);
      // the overflow waits behind one stalled append, within queueBytes (a few 500-row batches)
      expect(maxOverflow).toBeGreaterThan(0);
      expect(maxOverflow).toBeLessThanOrEqual(12);
      expect(frozen.droppedBy.overload).toBeGreaterThan(0);
      expect(await w.registry.metrics()).toContain(
        `podwire_ingest_rows_dropped_total{table="vf_counters",reason="overload"} ${frozen.droppedBy.overload}`,
      );
      disk.thaw();
      await w.drain();
      const st = w.stats();
      expect(st).toMatchObject({ accepted: N, dropped: frozen.droppedBy.overload, spoolRows: 0 });
      expect(st.written + st.dropped).toBe(N);
      expect(
        await scalars(
          store,
          `SELECT count() AS n, uniqExact(rx_bytes) AS ids FROM podwire.vf_counters WHERE node = '${tag}'`,
        ),
      ).toEqual({ n: st.written, ids: st.written });
      await w.close();
    } finally {
      disk.unmount();
    }
  });

  it('windows closing faster than the store takes them: the sink holds at most maxPendingRows, the writer its bound, and every flow is stored once', async () => {
    const slow = faultStore({ delayMs: 300 }, () => store);
    const dir = freshDir();
    const w = await BatchWriter.open({
      store: slow,
      table: flows,
      spoolDir: join(dir, 'spool'),
      quarantineDir: join(dir, 'quarantine'),
      queueBatches: 2,
      retryMinMs: 20,
      retryMaxMs: 100,
      spool: { fsync: 'never' },
      log: () => {},
    });
    const sink = new FlowSink({
      names: () => 'bounds',
      batchRows: 5000,
      maxBatchRows: 10_000,
      maxPendingRows: 20_000,
      send: (b) => w.writeEncoded(b),
      busy: () => w.stats().queuedBatches > 0,
    });
    const table = new FlowTable({
      index: new EndpointIndex(),
      counters: new AttributionCounters(),
      windowSeconds: 1,
      maxFlows: 1 << 17,
      onFlows: sink.onFlows,
    });
    // the sink's consumer, as the service runs it
    let stop = false;
    const pumping = (async () => {
      while (!stop) {
        await sink.tick();
        await sleep(20);
      }
    })();
    const p = new DecodedPacket();
    p.layers = Layer.ETHERNET | Layer.IPV4 | Layer.UDP;
    p.ipVersion = 4;
    p.protocol = IpProto.UDP;
    p.dstPort = 53;
    p.innerLength = 100;
    const T0 = 1_800_000_000;
    const windows = 24;
    const perWindow = 10_000;
    let maxPending = 0;
    let maxQueued = 0;
    for (let win = 0; win < windows; win++) {
      for (let i = 0; i < perWindow; i++) {
        p.src4 = 0x0a000000 + win;
        p.dst4 = 0x0a010000;
        p.srcPort = i;
        table.add(p, T0 + win, (T0 + win) * 1e6 + i, -1, 1);
      }
      // a window closes once traffic 1 s past its end arrives: the previous one is out
      maxPending = Math.max(maxPending, sink.pending);
      maxQueued = Math.max(maxQueued, w.stats().queuedBatches);
      await new Promise((r) => setImmediate(r));
    }
    table.flush();
    maxPending = Math.max(maxPending, sink.pending);
    expect(maxPending).toBeLessThanOrEqual(20_000 + perWindow);
    expect(sink.overflowed).toBeGreaterThan(0);
    stop = true;
    await pumping;
    await sink.flush();
    expect(maxQueued).toBeLessThanOrEqual(2 * 2 + 1);
    await w.drain();
    const total = windows * perWindow;
    expect(w.stats()).toMatchObject({ written: total, dropped: 0, spoolRows: 0 });
    expect(
      await scalars(
        store,
        `SELECT count() AS n, uniqExact(src_ip, src_port) AS k FROM podwire.flows WHERE observation = 'bounds'`,
      ),
    ).toEqual({ n: total, k: total });
    await w.close();
  });
});
