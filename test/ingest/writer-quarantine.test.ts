/**
 * Bad rows never cost good ones. Non-IP frames (ARP, captured from the kernel in a network
 * namespace) store in packet_samples with `::` addresses and their EtherType; and a batch
 * the store refuses as bad data is split until only the refused rows are left, which go to
 * the quarantine folder (TabSeparated rows, readable and replayable, with the store's
 * reason) and are counted — on embedded chDB (Arrow batches), on the spool's replay path,
 * with the store failing half-way through the split, and on a real ClickHouse 18.16 server
 * (TabSeparated only).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribution } from '../../collector/attribution/attribute.js';
import { openCapture, readCaptureSource } from '../../collector/capture/reader.js';
import { decodeFrame } from '../../collector/decode/frame.js';
import { DecodedPacket, decodeConfig } from '../../collector/decode/packet.js';
import { c, tsvEscape } from '../../ingest/columns.js';
import { migrate } from '../../ingest/migrations.js';
import { capturedFrame, packetSampleRow } from '../../ingest/sample-rows.js';
import { DEFAULT_RETENTION, flows, packet_samples, type RowOf, type TableDef } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';
import { BatchWriter, type WriterOptions } from '../../ingest/writer.js';
import { type ClickHouseServer, startClickHouseServer } from '../helpers/clickhouse-server.js';
import { NetLab, waitForOutput } from '../helpers/netns.js';
import { faultStore, until } from './fixtures/fault-store.js';
import { flowRow } from './rows.js';

const root = mkdtempSync(join(tmpdir(), 'podwire-quarantine-'));
let n = 0;
const freshDir = () => join(root, `q${++n}`);

let store: Store;

beforeAll(async () => {
  store = await openStore({ dataDir: join(root, 'ch') });
  await migrate(store.client, { database: store.database, retention: DEFAULT_RETENTION });
});

afterAll(async () => {
  await store?.close();
  rmSync(root, { recursive: true, force: true });
});

async function scalars(s: Store, query: string): Promise<Record<string, number>> {
  const rs = await s.client.query({ query, format: 'JSONEachRow' });
  const row = ((await rs.json()) as Record<string, string>[])[0];
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

function open<T extends TableDef>(
  o: Partial<WriterOptions<T>> & { store: Store; table: T },
  logs: string[] = [],
): Promise<BatchWriter<T>> {
  const dir = freshDir();
  return BatchWriter.open({
    spoolDir: join(dir, 'spool'),
    quarantineDir: join(dir, 'quarantine'),
    retryMinMs: 20,
    retryMaxMs: 200,
    spool: { fsync: 'never' },
    log: (level, m) => logs.push(`${level}: ${m}`),
    ...o,
  });
}

interface Kept {
  meta: {
    table: string;
    database: string;
    columns: string[];
    rows: number;
    reason: string;
    error: string;
    file: string;
    replay: string;
  };
  lines: string[];
}

/** What the quarantine folder of a table holds: each `.json` with the rows of its `.tsv`. */
function quarantined(dir: string): Kept[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const meta = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Kept['meta'];
      const text = readFileSync(join(dir, meta.file), 'utf8');
      return { meta, lines: text.split('\n').filter((l) => l !== '') };
    });
}

const row = (tag: string, id: number, srcIp: string) => flowRow(tag, { srcPort: id, srcIp });

/** ids 0..total-1, the ones in `bad` with an address the store refuses */
const flowRows = (tag: string, total: number, bad: readonly number[]) =>
  Array.from({ length: total }, (_, id) =>
    row(tag, id, bad.includes(id) ? `not-an-address-${id}` : '::ffff:10.0.0.1'),
  );

/** The tag's stored flows are exactly the ids 0..total-1 but `bad`, each once. */
async function expectGoodOnce(tag: string, total: number, bad: readonly number[]): Promise<void> {
  const good = Array.from({ length: total }, (_, i) => i).filter((i) => !bad.includes(i));
  expect(
    await scalars(
      store,
      `SELECT count() AS n, uniqExact(src_port) AS ids, sum(src_port) AS s FROM podwire.flows WHERE observation = '${tag}'`,
    ),
  ).toEqual({ n: good.length, ids: good.length, s: good.reduce((a, b) => a + b, 0) });
}

describe('non-IP frames', () => {
  let lab: NetLab;
  beforeAll(async () => {
    lab = await NetLab.create();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('ARP frames captured from the kernel store in packet_samples (:: addresses, EtherType kept) in the same batch as the IP rows', async () => {
    await lab.addNamespace('a');
    await lab.addNamespace('b');
    await lab.veth('a', 'a0', 'b', 'b0');
    await lab.addAddress('a', 'a0', '10.77.0.1/24');
    await lab.addAddress('b', 'b0', '10.77.0.2/24');
    const dir = freshDir();
    mkdirSync(dir);
    const pcap = join(dir, 'arp.pcap');
    const dump = lab.spawn('b', 'tcpdump', ['-i', 'b0', '-n', '-U', '--immediate-mode', '-w', pcap]);
    await waitForOutput(dump, 'stderr', /listening on b0/);
    // the first ping makes the kernel resolve the peer by ARP (request and reply)
    await lab.exec('a', 'ping', ['-c', '300', '-i', '0.002', '-q', '10.77.0.2']);
    dump.kill('SIGINT');
    await new Promise((r) => dump.once('exit', r));

    const rows: RowOf<typeof packet_samples>[] = [];
    const p = new DecodedPacket();
    const none = new Attribution();
    await readCaptureSource(await openCapture(pcap), (cp) => {
      decodeFrame(cp.data, cp.offset, cp.capLength, cp.wireLength, cp.linkType, p, decodeConfig());
      rows.push(packetSampleRow(capturedFrame(cp), p, none, 'capture:b0', 1));
    });
    // the EtherType as the frame says it (untagged frames here)
    const etherType = (r: RowOf<typeof packet_samples>) => (r.frame[12] << 8) | r.frame[13];
    const arp = rows.filter((r) => etherType(r) === 0x0806);
    expect(arp.length, 'the capture holds the ARP exchange').toBeGreaterThanOrEqual(2);
    expect(rows.length - arp.length).toBeGreaterThanOrEqual(600);

    const w = await open({ store, table: packet_samples, maxAgeMs: 60_000 });
    // mark the rows of this test (observation is the capture's name)
    for (const r of rows) w.write({ ...r, observation: 'arp-test' });
    await w.flush();
    expect(w.stats()).toMatchObject({ accepted: rows.length, written: rows.length, dropped: 0 });
    await w.close();
    expect(
      await scalars(
        store,
        `SELECT count() AS n,
           countIf(ethertype = 2054 AND src_ip = toIPv6('::') AND dst_ip = toIPv6('::') AND protocol = 255) AS arp,
           countIf(ethertype = 2048 AND src_ip = toIPv6('10.77.0.1')) AS from_a,
           countIf(ethertype = 2048 AND src_ip = toIPv6('10.77.0.2')) AS from_b,
           countIf(length(frame) > 0) AS framed
         FROM podwire.packet_samples WHERE observation = 'arp-test'`,
      ),
    ).toEqual({
      n: rows.length,
      arp: arp.length,
      from_a: rows.filter((r) => etherType(r) === 0x0800 && r.src_ip === '10.77.0.1').length,
      from_b: rows.filter((r) => etherType(r) === 0x0800 && r.src_ip === '10.77.0.2').length,
      framed: rows.length,
    });
  });
});

describe('a batch the store refuses as bad data is split until only the bad rows are set aside', () => {
  it('embedded chDB (Arrow): 3 bad rows among 500 — the 497 good ones are stored, the 3 quarantined with the reason, counted', async () => {
    const logs: string[] = [];
    const tag = 'split-arrow';
    const bad = [0, 137, 499];
    const w = await open({ store, table: flows, maxAgeMs: 60_000 }, logs);
    w.writeMany(flowRows(tag, 500, bad));
    await w.flush();
    const st = w.stats();
    expect(st).toMatchObject({ accepted: 500, written: 497, dropped: 3, rejected: 3, quarantined: 3 });
    expect(st.rejectedBy).toEqual({ CANNOT_PARSE_IPV6: 3 });
    await expectGoodOnce(tag, 500, bad);

    const kept = quarantined(join(w.quarantine.dir));
    expect(kept.map((k) => k.meta.reason)).toEqual(['CANNOT_PARSE_IPV6']);
    const [k] = kept;
    expect(k.meta).toMatchObject({ table: 'flows', database: 'podwire', rows: 3 });
    expect(k.meta.columns).toEqual(Object.keys(flows.columns));
    expect(k.meta.error).toMatch(/^Code: 676\. .*Invalid IPv6 value/);
    // readable: one TSV line per row, the table's columns in order
    expect(k.lines.map((l) => l.split('\t')[k.meta.columns.indexOf('src_ip')]).sort()).toEqual(
      bad.map((id) => `not-an-address-${id}`).sort(),
    );
    // replayable: corrected, the file goes in as it is written
    const fixed = Buffer.from(
      readFileSync(join(w.quarantine.dir, k.meta.file), 'utf8').replace(/not-an-address-\d+/g, '::1'),
    );
    expect(k.meta.replay).toContain(
      `INSERT INTO podwire.flows (${k.meta.columns.join(', ')}) FORMAT TabSeparated`,
    );
    await store.insertTsv('flows', k.meta.columns, fixed, 'quarantine-replay-1');
    expect(
      await scalars(
        store,
        `SELECT count() AS n FROM podwire.flows WHERE observation = '${tag}' AND src_ip = toIPv6('::1')`,
      ),
    ).toEqual({ n: 3 });

    const metrics = await w.registry.metrics();
    expect(metrics).toContain('podwire_ingest_rows_dropped_total{table="flows",reason="rejected"} 3');
    expect(metrics).toContain(
      'podwire_ingest_rows_rejected_total{table="flows",error="CANNOT_PARSE_IPV6"} 3',
    );
    expect(metrics).toMatch(/podwire_ingest_quarantine_bytes\{table="flows"\} [1-9]\d*/);
    expect(logs.join('\n')).toMatch(
      /3 of 500 rows refused by the store as bad data \(CANNOT_PARSE_IPV6\).*quarantine/,
    );
    await w.close();
  });

  it('a spooled batch with bad rows replays its good rows; the store going down half-way through the split (fault-injected) loses nothing', async () => {
    const tag = 'split-replay';
    const bad = [5, 6, 300, 777];
    const f = { down: true } as { down: boolean; downAfter?: number };
    const s = faultStore(f, () => store);
    const logs: string[] = [];
    const w = await open({ store: s, table: flows, maxAgeMs: 60_000 }, logs);
    w.writeMany(flowRows(tag, 1000, bad));
    await w.flush();
    expect(w.stats()).toMatchObject({ spooled: 1000, written: 0 });
    // back for three inserts (the refused batch and its first halves), then down again
    f.down = false;
    f.downAfter = 3;
    await until(() => s.calls.length >= 4 && f.down, 10_000, 'the split to be cut short');
    expect(w.stats().written).toBeLessThan(996);
    f.down = false;
    f.downAfter = undefined;
    await w.drain();
    const st = w.stats();
    expect(st).toMatchObject({ written: 996, rejected: 4, quarantined: 4, spooling: false, spoolRows: 0 });
    await expectGoodOnce(tag, 1000, bad);
    const kept = quarantined(w.quarantine.dir);
    expect(kept.reduce((a, k) => a + k.meta.rows, 0)).toBe(4);
    await w.close();
  });

  it('the quarantine is bounded: past its size the refused rows are still counted, and the log says they were not kept', async () => {
    const logs: string[] = [];
    const tag = 'split-bounded';
    const w = await open({ store, table: flows, maxAgeMs: 60_000, quarantine: { maxBytes: 3000 } }, logs);
    for (let b = 0; b < 4; b++) {
      w.writeMany(flowRows(tag, 20, [3]).map((r) => ({ ...r, src_port: r.src_port + b * 20 })));
      await w.flush();
    }
    const st = w.stats();
    expect(st).toMatchObject({ written: 76, rejected: 4, dropped: 4 });
    expect(st.quarantined).toBeGreaterThanOrEqual(1);
    expect(st.quarantined).toBeLessThan(4);
    const bytes = readdirSync(w.quarantine.dir).reduce(
      (a, f) => a + statSync(join(w.quarantine.dir, f)).size,
      0,
    );
    expect(bytes).toBeLessThanOrEqual(3000);
    expect(logs.join('\n')).toMatch(/quarantine .* is full .*not kept/);
    await w.close();
  });
});

describe('an old ClickHouse server (18.16): TabSeparated only', () => {
  let server: ClickHouseServer;
  let old: Store;
  // a plain table the old server knows; `port` is a number there, written as text here
  const events = {
    name: 'quarantine_events',
    columns: {
      id: c.uint64(),
      tag: c.string(),
      port: { type: 'UInt16', arrow: 'str', tsv: tsvEscape } as ReturnType<typeof c.string>,
    },
    engine: 'MergeTree',
    orderBy: ['id'],
    shardBy: ['id'],
  } satisfies TableDef;

  beforeAll(async () => {
    server = await startClickHouseServer();
    old = await openStore({ url: server.url });
    await old.client.command({ query: 'CREATE DATABASE IF NOT EXISTS podwire' });
    await old.client.command({
      query:
        'CREATE TABLE podwire.quarantine_events (id UInt64, tag String, port UInt16) ENGINE = MergeTree ORDER BY id',
    });
  }, 120_000);

  afterAll(async () => {
    await old?.close();
    await server?.destroy();
  });

  it('3 refused rows among 1000: the 997 others are stored, the 3 quarantined with the server reason', async () => {
    const tag = 'split-old';
    const bad = [1, 500, 998];
    const w = await open({ store: old, table: events, maxAgeMs: 60_000 });
    expect(w.format).toBe('TabSeparated');
    w.writeMany(
      Array.from({ length: 1000 }, (_, id) => ({
        id,
        tag,
        port: bad.includes(id) ? `port-${id}` : String(id % 65536),
      })),
    );
    await w.flush();
    await until(
      () => w.stats().written + w.stats().dropped === 1000,
      20_000,
      'every row stored or set aside',
    );
    expect(w.stats()).toMatchObject({ written: 997, rejected: 3, quarantined: 3 });
    expect(w.stats().rejectedBy).toEqual({ CANNOT_PARSE_INPUT_ASSERTION_FAILED: 3 });
    const rs = await old.client.query({
      query: `SELECT count() AS n, sum(id) AS s FROM podwire.quarantine_events WHERE tag = '${tag}'`,
      format: 'JSONEachRow',
    });
    const [row] = (await rs.json()) as { n: string; s: string }[];
    expect({ n: Number(row.n), s: Number(row.s) }).toEqual({ n: 997, s: (999 * 1000) / 2 - 1 - 500 - 998 });
    const kept = quarantined(w.quarantine.dir);
    expect(kept.flatMap((k) => k.lines.map((l) => l.split('\t')[2])).sort()).toEqual([
      'port-1',
      'port-500',
      'port-998',
    ]);
    expect(kept[0].meta.error).toMatch(/^Code: 27, .*Cannot parse input/);
    await w.close();
  });
});
