/**
 * The schema, migrations and every query on embedded chDB (the modern engine): flows of
 * the demo capture go through the real packet path into the real store, and the rollups
 * and queries are checked against sums computed from the packet path's own records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { parseInventory } from '../../collector/attribution/inventory.js';
import { pcapFile } from '../../collector/capture/pcap-writer.js';
import { CaptureReader } from '../../collector/capture/reader.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { type FlowBatch, type FlowRecord, FlowTable } from '../../collector/flows/flow-table.js';
import { PacketPath } from '../../collector/packet-path.js';
import { demoScenario } from '../../collector/synth/scenario.js';
import { ArrowBatchBuilder } from '../../ingest/arrow-batch.js';
import { dateTimeText } from '../../ingest/columns.js';
import { createTableSql, type DdlOptions, storedColumns } from '../../ingest/ddl.js';
import { rowEncoder } from '../../ingest/encode.js';
import { FlowArrowBuilder } from '../../ingest/flow-arrow.js';
import { flowRow } from '../../ingest/flow-rows.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION, SchemaError } from '../../ingest/migrations.js';
import {
  flowTableFor,
  packetTrace,
  podBandwidth,
  topTalkers,
  vfCounterSeries,
} from '../../ingest/queries.js';
import { DEFAULT_RETENTION, flows, packet_samples, TABLES, vf_counters } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';

/**
 * The demo capture's first second. The whole suite runs with the capture and every row
 * shifted years back and forward: retention counts from arrival, so what is stored and
 * every answer must be the same whenever the traffic happened (and on any day the suite
 * runs) — the guard of "tests hold on any date".
 */
const DEMO_START = Date.parse('2026-11-26T10:00:00Z') / 1000;
const SHIFTS_DAYS = [0, -10 * 365, 30 * 365];
/** per shift, every query answer with times made relative to the shift */
const answers = new Map<number, unknown[]>();

function storeSuite(shiftDays: number): void {
  const at = `traffic on ${new Date((DEMO_START + shiftDays * 86_400) * 1000).toISOString().slice(0, 10)}`;
  describe(at, () => {
    const mine: unknown[] = [];
    answers.set(shiftDays, mine);
    /** an answer of this shift, times made relative to it, for the comparison across shifts */
    const keep = (what: string, v: unknown) => mine.push([what, v]);
    const dir = mkdtempSync(join(tmpdir(), 'podwire-schema-'));
    let store: Store;
    let ddl: DdlOptions;
    const records: FlowRecord[] = [];
    const batches: FlowBatch[] = [];
    const HOUR = DEMO_START + shiftDays * 86_400;

    async function expectRollupsMatchRaw(): Promise<void> {
      for (const [t, bucket] of [
        ['flows_1m', 'toStartOfMinute'],
        ['flows_1h', 'toStartOfHour'],
      ]) {
        const raw = `SELECT ${bucket}(window_start) AS w, src_pod, dst_pod, vlan, vni, sum(bytes) AS b, sum(packets) AS p, count() AS n FROM pw.flows GROUP BY w, src_pod, dst_pod, vlan, vni`;
        const roll = `SELECT window_start AS w, src_pod, dst_pod, vlan, vni, sum(bytes) AS b, sum(packets) AS p, sum(flows) AS n FROM pw.${t} GROUP BY w, src_pod, dst_pod, vlan, vni`;
        const diff = await scalar(`SELECT count() FROM ((${raw}) EXCEPT (${roll}))`);
        const diff2 = await scalar(`SELECT count() FROM ((${roll}) EXCEPT (${raw}))`);
        expect([t, diff, diff2]).toEqual([t, 0, 0]);
      }
    }

    async function scalar(query: string): Promise<number> {
      const rs = await store.client.query({ query, format: 'JSONEachRow' });
      return Number(Object.values(((await rs.json()) as Record<string, string>[])[0])[0]);
    }

    beforeAll(async () => {
      store = await openStore({ dataDir: join(dir, 'ch'), database: 'pw' });
      ddl = { database: store.database, retention: DEFAULT_RETENTION };
      await migrate(store.client, ddl);
      // the demo capture through the real packet path
      const { inventory, packets } = demoScenario(HOUR);
      const index = EndpointIndex.fromInventory(parseInventory(inventory));
      const counters = new AttributionCounters();
      const table = new FlowTable({
        index,
        counters,
        onFlows: (b) => {
          batches.push(b);
          records.push(...b.records());
        },
      });
      const path = new PacketPath({ index, decode: decodeConfig(), flows: table, counters });
      const reader = new CaptureReader(path.handle);
      reader.push(pcapFile(packets));
      reader.end();
      table.flush();
      const enc = rowEncoder(flows);
      const body = Buffer.from(
        records.map((f) => enc.line(flowRow(f, (o) => (o < 0 ? 'capture:demo' : `erspan:${o}`)))).join(''),
      );
      await store.insertTsv('flows', enc.columns, body, 'schema-test-1');
    });

    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    describe('schema and migrations (chDB)', () => {
      it('creates every table with the columns and types of its definition', async () => {
        for (const t of TABLES) {
          const rs = await store.client.query({
            query:
              'SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position',
            query_params: { db: store.database, t: t.name },
            format: 'JSONEachRow',
          });
          const cols = (await rs.json()) as { name: string; type: string }[];
          // the definition's columns, then the arrival column the store fills
          expect(cols.map((c) => c.name)).toEqual([...Object.keys(t.columns), 'received']);
          expect(cols.map((c) => c.type)).toEqual(storedColumns(t).map((c) => c.type));
        }
      });

      it('is idempotent: a second run applies nothing and records the version once', async () => {
        const again = await migrate(store.client, ddl);
        expect(again).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [], changes: [] });
        expect(await scalar(`SELECT count() FROM pw.schema_migrations`)).toBe(MIGRATIONS.length);
      });

      it('refuses a database whose schema is newer than this code', async () => {
        await store.client.insert({
          table: 'pw.schema_migrations',
          values: [{ version: SCHEMA_VERSION + 1, name: 'from the future' }],
          format: 'JSONEachRow',
        });
        await expect(migrate(store.client, ddl)).rejects.toThrow(SchemaError);
        await expect(migrate(store.client, ddl)).rejects.toThrow(/newer than this podwire knows/);
        await store.client.command({
          query: `ALTER TABLE pw.schema_migrations DELETE WHERE version > ${SCHEMA_VERSION} SETTINGS mutations_sync = 1`,
        });
      });

      it('counts every TTL from arrival (received), never from traffic time', async () => {
        const rs = await store.client.query({
          query:
            "SELECT name, create_table_query AS q FROM system.tables WHERE database = 'pw' AND engine LIKE '%MergeTree'",
          format: 'JSONEachRow',
        });
        const q = Object.fromEntries(
          ((await rs.json()) as { name: string; q: string }[]).map((r) => [r.name, r.q]),
        );
        for (const t of TABLES)
          expect([t.name, q[t.name]]).toEqual([
            t.name,
            expect.stringContaining(`TTL received + toIntervalDay(${DEFAULT_RETENTION[t.retention!]})`),
          ]);
      });

      it('keeps TTLs in step with the configured retention at every start', async () => {
        await migrate(store.client, {
          ...ddl,
          retention: { ...DEFAULT_RETENTION, flows: 2, packet_samples: 1 },
        });
        const rs = await store.client.query({
          query:
            "SELECT name, create_table_query AS q FROM system.tables WHERE database = 'pw' AND name IN ('flows', 'packet_samples', 'flows_1h')",
          format: 'JSONEachRow',
        });
        const q = Object.fromEntries(
          ((await rs.json()) as { name: string; q: string }[]).map((r) => [r.name, r.q]),
        );
        expect(q.flows).toContain('TTL received + toIntervalDay(2)');
        expect(q.packet_samples).toContain('TTL received + toIntervalDay(1)');
        expect(q.flows_1h).toContain(`toIntervalDay(${DEFAULT_RETENTION.flows_1h})`);
        await migrate(store.client, ddl);
      });

      it('generates cluster DDL that ClickHouse parses: ReplicatedMergeTree on every shard, Distributed over it', async () => {
        const sql = TABLES.flatMap((t) => createTableSql(t, { ...ddl, cluster: 'podwire' }));
        expect(
          sql.filter((s) => /ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}/.test(s)),
        ).toHaveLength(TABLES.length);
        expect(sql.filter((s) => s.includes('ENGINE = Distributed(podwire, pw, '))).toHaveLength(
          TABLES.length,
        );
        expect(sql.filter((s) => s.includes('MATERIALIZED VIEW'))).toHaveLength(3);
        for (const s of sql) {
          // parse only: there is no ZooKeeper or cluster here
          await store.client
            .query({ query: `EXPLAIN AST ${s}`, format: 'TabSeparated' })
            .then((r) => r.text());
        }
      });
    });

    describe('flows and rollups (chDB)', () => {
      it('stores every flow of the packet path', async () => {
        expect(await scalar('SELECT count() FROM pw.flows')).toBe(records.length);
        expect(await scalar('SELECT sum(packets) FROM pw.flows')).toBe(
          records.reduce((s, f) => s + f.packets, 0),
        );
        expect(await scalar('SELECT sum(bytes) FROM pw.flows')).toBe(
          records.reduce((s, f) => s + f.bytes, 0),
        );
      });

      it('keeps the 1-minute and 1-hour rollups equal to the raw sums', async () => {
        await expectRollupsMatchRaw();
        expect(await scalar('SELECT count() FROM pw.flows_1h')).toBeGreaterThan(0);
      });

      it('a retried batch (same dedup token) is stored once, in the rollups too', async () => {
        const enc = rowEncoder(flows);
        const body = Buffer.from(records.map((f) => enc.line(flowRow(f, () => 'capture:demo'))).join(''));
        await store.insertTsv('flows', enc.columns, body, 'schema-test-1');
        expect(await scalar('SELECT count() FROM pw.flows')).toBe(records.length);
        expect(await scalar('SELECT sum(flows) FROM pw.flows_1m')).toBe(records.length);
      });
    });

    describe('Arrow batches (chDB)', () => {
      it('store exactly the rows TSV stores, and feed the rollups the same way', async () => {
        const b = new ArrowBatchBuilder(flows, 16);
        for (const f of records) b.add(flowRow(f, () => 'arrow:demo'));
        const batch = b.finish();
        expect(batch.rows).toBe(records.length);
        await store.insertBatch('flows', batch, 'arrow-1');
        await store.insertBatch('flows', batch, 'arrow-1'); // a retry: deduplicated
        const cols = Object.keys(flows.columns)
          .filter((c) => c !== 'observation')
          .join(', ');
        const tsv = `SELECT ${cols} FROM pw.flows WHERE observation != 'arrow:demo'`;
        const arrow = `SELECT ${cols} FROM pw.flows WHERE observation = 'arrow:demo'`;
        expect(await scalar(`SELECT count() FROM (${arrow})`)).toBe(records.length);
        expect(await scalar(`SELECT count() FROM ((${tsv}) EXCEPT (${arrow}))`)).toBe(0);
        expect(await scalar(`SELECT count() FROM ((${arrow}) EXCEPT (${tsv}))`)).toBe(0);
        await expectRollupsMatchRaw();
        for (const t of ['flows', 'flows_1m', 'flows_1h']) {
          await store.client.command({
            query: `ALTER TABLE pw.${t} DELETE WHERE observation = 'arrow:demo' SETTINGS mutations_sync = 1`,
          });
        }
      });

      it('built straight from flow-table batches, store exactly the rows of the generic path', async () => {
        const fast = new FlowArrowBuilder((o) => (o < 0 ? 'fast:capture:demo' : `fast:erspan:${o}`), 8);
        for (const b of batches) {
          // in slices, as a sink cutting big window batches into insert-sized ones does
          const half = b.count >> 1;
          fast.add(b, 0, half);
          fast.add(b, half);
        }
        const batch = fast.finish();
        expect(batch.rows).toBe(records.length);
        expect(fast.rows).toBe(0);
        await store.insertBatch('flows', batch, 'fast-1');
        const cols = Object.keys(flows.columns)
          .filter((c) => c !== 'observation')
          .join(', ');
        const generic = `SELECT ${cols}, replaceOne(observation, 'erspan:', '') AS o FROM pw.flows WHERE observation NOT LIKE 'fast:%'`;
        const direct = `SELECT ${cols}, replaceOne(replaceOne(observation, 'fast:', ''), 'erspan:', '') AS o FROM pw.flows WHERE observation LIKE 'fast:%'`;
        expect(await scalar(`SELECT count() FROM (${direct})`)).toBe(records.length);
        expect(await scalar(`SELECT count() FROM ((${generic}) EXCEPT (${direct}))`)).toBe(0);
        expect(await scalar(`SELECT count() FROM ((${direct}) EXCEPT (${generic}))`)).toBe(0);
        for (const t of ['flows', 'flows_1m', 'flows_1h']) {
          await store.client.command({
            query: `ALTER TABLE pw.${t} DELETE WHERE observation LIKE 'fast:%' SETTINGS mutations_sync = 1`,
          });
        }
      });

      it('carry every column kind: µs times, raw bytes, IPv6 and IPv4 addresses', async () => {
        const b = new ArrowBatchBuilder(packet_samples);
        const frame = Uint8Array.from([0, 1, 2, 0x27, 0x5c, 9, 10, 255]);
        const row = {
          time: HOUR * 1e6 + 123456,
          observation: 'arrow',
          frame,
          frame_length: 64,
          vlan: 4094,
          vni: 16777215,
          src_mac: 0xffffffffffff,
          dst_mac: 0,
          src_ip: '2001:db8::1',
          dst_ip: '192.0.2.1',
          src_port: 65535,
          dst_port: 0,
          protocol: 58,
          tcp_flags: 0,
          src_namespace: 'ns',
          src_pod: "it's",
          src_node: 'n\ttab',
          src_interface: '',
          src_network: '',
          src_tier: '',
          dst_namespace: '',
          dst_pod: '',
          dst_node: '',
          dst_interface: '',
          dst_network: '',
          dst_tier: '',
          sampling_rate: 4294967295,
          ethertype: 0x86dd,
        };
        b.add(row);
        await store.insertBatch('packet_samples', b.finish(), 'arrow-kinds');
        const rs = await store.client.query({
          query: `SELECT toString(time) AS t, hex(frame) AS f, vlan, vni, MACNumToString(src_mac) AS m, toString(src_ip) AS s, toString(dst_ip) AS d,
          src_port, sampling_rate, src_pod, src_node FROM pw.packet_samples WHERE observation = 'arrow'`,
          format: 'JSONEachRow',
        });
        expect(await rs.json()).toEqual([
          {
            t: `${dateTimeText(HOUR)}.123456`,
            f: '000102275C090AFF',
            vlan: 4094,
            vni: 16777215,
            m: 'FF:FF:FF:FF:FF:FF',
            s: '2001:db8::1',
            d: '::ffff:192.0.2.1',
            src_port: 65535,
            sampling_rate: 4294967295,
            src_pod: "it's",
            src_node: 'n\ttab',
          },
        ]);
      });
    });

    describe('queries (chDB)', () => {
      const range = { from: HOUR, to: HOUR + 3600 };

      it('picks the coarsest table that answers a range exactly', () => {
        expect(flowTableFor(range)).toBe('flows_1h');
        expect(flowTableFor({ from: HOUR, to: HOUR + 120 })).toBe('flows_1m');
        expect(flowTableFor({ from: HOUR + 5, to: HOUR + 120 })).toBe('flows');
        expect(flowTableFor(range, 60)).toBe('flows_1m');
      });

      it('per-pod bandwidth series match the packet path, from raw and from a rollup', async () => {
        const expected = new Map<number, { tx: number; rx: number }>();
        for (const f of records) {
          const t = Math.floor(f.windowStart / 60) * 60;
          const e = expected.get(t) ?? { tx: 0, rx: 0 };
          if (f.src?.pod === 'web-1' && f.src.namespace === 'shop') e.tx += f.bytes;
          if (f.dst?.pod === 'web-1' && f.dst.namespace === 'shop') e.rx += f.bytes;
          expected.set(t, e);
        }
        const q = { namespace: 'shop', pod: 'web-1', step: 60, from: HOUR, to: HOUR + 120 };
        const fromRollup = await podBandwidth({ client: store.client, database: 'pw' }, q);
        const fromRaw = await podBandwidth(
          { client: store.client, database: 'pw' },
          { ...q, from: HOUR - 1 },
        );
        for (const series of [fromRollup.points, fromRaw.points]) {
          expect(series.length).toBeGreaterThan(0);
          for (const p of series) {
            expect(p.txBitsPerSecond).toBe(((expected.get(p.t)?.tx ?? 0) * 8) / 60);
            expect(p.rxBitsPerSecond).toBe(((expected.get(p.t)?.rx ?? 0) * 8) / 60);
          }
        }
        expect(fromRollup.points).toEqual(fromRaw.points);
        keep(
          'podBandwidth',
          fromRollup.points.map((p) => ({ ...p, t: p.t - HOUR })),
        );
      });

      it('top talkers agree between the 1-hour rollup and raw flows, for every grouping', async () => {
        const ctx = { client: store.client, database: 'pw' };
        for (const by of ['pod', 'pair', 'namespace', 'vlan', 'vni'] as const) {
          const fromRollup = await topTalkers(ctx, { ...range, by, limit: 50 });
          keep(`topTalkers ${by}`, fromRollup.rows);
          const fromRaw = await topTalkers(ctx, { ...range, by, limit: 50, table: 'flows' });
          expect(fromRollup.table).toBe('flows_1h');
          expect(fromRollup.rows).toEqual(fromRaw.rows);
          expect(fromRaw.rows.length).toBeGreaterThan(0);
        }
        const pods = await topTalkers(ctx, { ...range, by: 'pod', limit: 1 });
        const bySrc = new Map<string, number>();
        for (const f of records)
          if (f.src)
            bySrc.set(
              `${f.src.namespace}/${f.src.pod}`,
              (bySrc.get(`${f.src.namespace}/${f.src.pod}`) ?? 0) + f.bytes,
            );
        const top = [...bySrc].sort((a, b) => b[1] - a[1])[0];
        expect(`${pods.rows[0].namespace}/${pods.rows[0].pod}`).toBe(top[0]);
        expect(pods.rows[0].bytes).toBe(top[1]);
      });

      it('rejects a top-talkers grouping outside the whitelist and a backwards range', async () => {
        const ctx = { client: store.client, database: 'pw' };
        await expect(
          topTalkers(ctx, { ...range, by: 'src_pod; DROP TABLE pw.flows' as 'pod' }),
        ).rejects.toThrow(/expected one of/);
        await expect(topTalkers(ctx, { from: HOUR, to: HOUR, by: 'pod' })).rejects.toThrow(/after 'from'/);
      });

      it('finds packet samples by MAC, VLAN, IP, VNI and pod, passing input only as parameters', async () => {
        const enc = rowEncoder(packet_samples);
        const base = {
          observation: 'erspan:7',
          frame: Buffer.from('0200000001020200000001018100', 'hex'),
          frame_length: 100,
          src_port: 41000,
          dst_port: 8080,
          protocol: 6,
          tcp_flags: 2,
          src_node: 'node-a',
          src_interface: 'eth0',
          src_network: 'blue',
          src_tier: 'high',
          dst_node: 'node-b',
          dst_interface: 'eth0',
          dst_network: 'blue',
          dst_tier: 'high',
          sampling_rate: 1,
        };
        const rowsIn = [
          {
            ...base,
            time: HOUR * 1e6 + 1,
            vlan: 100,
            vni: -1,
            src_mac: 0x020000000101,
            dst_mac: 0x020000000102,
            src_ip: '10.10.0.11',
            dst_ip: '10.10.0.12',
            ethertype: 0x0800,
            src_namespace: 'shop',
            src_pod: 'web-1',
            dst_namespace: 'shop',
            dst_pod: 'web-2',
          },
          {
            ...base,
            time: HOUR * 1e6 + 2,
            vlan: 0,
            vni: 5001,
            src_mac: 0x0a58ac100105,
            dst_mac: 0x0a58ac100106,
            src_ip: 'fd01::5',
            dst_ip: 'fd01::6',
            ethertype: 0x86dd,
            src_namespace: 'shop',
            src_pod: 'api-1',
            dst_namespace: 'shop',
            dst_pod: 'api-2',
          },
        ];
        await store.insertTsv(
          'packet_samples',
          enc.columns,
          Buffer.from(rowsIn.map((r) => enc.line(r)).join('')),
          'samples-1',
        );
        const ctx = { client: store.client, database: 'pw' };
        const r = { from: HOUR, to: HOUR + 1 };
        expect((await packetTrace(ctx, { ...r, mac: '02:00:00:00:01:02' })).map((x) => x.src_pod)).toEqual([
          'web-1',
        ]);
        expect((await packetTrace(ctx, { ...r, ip: '10.10.0.11' })).map((x) => x.dst_pod)).toEqual(['web-2']);
        expect((await packetTrace(ctx, { ...r, vni: 5001 })).map((x) => [x.src_ip, x.dst_ip])).toEqual([
          ['fd01::5', 'fd01::6'],
        ]);
        expect((await packetTrace(ctx, { ...r, vlan: 100, pod: 'web-2' }))[0].frame_hex).toBe(
          '0200000001020200000001018100',
        );
        expect((await packetTrace(ctx, { ...r, vni: 5001 })).map((x) => x.ethertype)).toEqual([0x86dd]);
        expect(await packetTrace(ctx, { ...r, pod: "x' OR 1=1 --" })).toEqual([]);
        expect(await packetTrace(ctx, { from: HOUR + 1, to: HOUR + 2 })).toEqual([]);
        keep(
          'packetTrace',
          (await packetTrace(ctx, r)).map((x) => ({ ...x, time: '' })),
        );
      });

      it('VF counter series from raw rows and from the hourly rollup agree', async () => {
        const enc = rowEncoder(vf_counters);
        const lines: string[] = [];
        for (let i = 0; i < 120; i++) {
          for (const vf of [3, 4]) {
            lines.push(
              enc.line({
                time: HOUR + i * 30,
                node: 'node-a',
                pf: 'ens1f0',
                vf,
                namespace: 'shop',
                pod: `web-${vf - 2}`,
                tier: 'high',
                rx_bytes: 1000 + i,
                rx_packets: 10,
                rx_dropped: i % 7 === 0 ? 1 : 0,
                tx_bytes: 2000 + vf,
                tx_packets: 20,
                tx_dropped: 0,
                qos_dropped: i % 11 === 0 ? 3 : 0,
                min_rate: 1e9,
                max_rate: 1e10,
              }),
            );
          }
        }
        await store.insertTsv('vf_counters', enc.columns, Buffer.from(lines.join('')), 'vf-1');
        const ctx = { client: store.client, database: 'pw' };
        const hourly = await vfCounterSeries(ctx, { from: HOUR, to: HOUR + 3600, step: 3600, pod: 'web-1' });
        const raw = await vfCounterSeries(ctx, { from: HOUR, to: HOUR + 3599, step: 3600, pod: 'web-1' });
        expect(hourly).toEqual(raw);
        expect(hourly).toHaveLength(1);
        let rx = 0;
        for (let i = 0; i < 120; i++) rx += 1000 + i;
        expect(hourly[0]).toMatchObject({ vf: 3, rxBytes: rx, txBytes: 120 * 2003, qosDropped: 11 * 3 });
        keep(
          'vfCounterSeries',
          hourly.map((p) => ({ ...p, t: p.t - HOUR })),
        );
      });

      it('keeps every row of every table through TTL merges (OPTIMIZE FINAL), whatever the traffic date', async () => {
        const counts = async () => {
          const out: Record<string, number> = {};
          for (const t of TABLES) out[t.name] = await scalar(`SELECT count() FROM pw.${t.name}`);
          return out;
        };
        const before = await counts();
        expect(before.flows).toBe(records.length);
        expect(before.packet_samples).toBeGreaterThan(0);
        expect(before.vf_counters).toBeGreaterThan(0);
        for (const t of TABLES) await store.client.command({ query: `OPTIMIZE TABLE pw.${t.name} FINAL` });
        // the rollups may merge rows of one key into one, so compare their sums instead
        expect(await scalar('SELECT count() FROM pw.flows')).toBe(before.flows);
        expect(await scalar('SELECT count() FROM pw.packet_samples')).toBe(before.packet_samples);
        expect(await scalar('SELECT count() FROM pw.vf_counters')).toBe(before.vf_counters);
        expect(await scalar('SELECT sum(flows) FROM pw.flows_1h')).toBe(records.length);
        expect(await scalar('SELECT sum(samples) FROM pw.vf_counters_1h')).toBe(before.vf_counters);
        await expectRollupsMatchRaw();
        keep('counts', before);
      });
    });
  });
}

for (const d of SHIFTS_DAYS) storeSuite(d);

describe('the same traffic at any date', () => {
  it('is stored and answered identically whether it happened years ago, now or years ahead', () => {
    const [first, ...rest] = SHIFTS_DAYS.map((d) => answers.get(d));
    expect(first?.length).toBeGreaterThanOrEqual(8);
    for (const other of rest) expect(other).toEqual(first);
  });
});
