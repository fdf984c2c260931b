/**
 * `podwire flows --store`: flows of a capture land in embedded ClickHouse (chDB), and a
 * second process cannot take a data directory that another one owns.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../ingest/store.js';
import { run } from '../helpers/netns.js';
import {
  BIN,
  ensureBuilt,
  expectCleanFailure,
  podwire,
  ROOT,
  SAMPLE_INVENTORY,
  SAMPLE_PCAP,
  tempDir,
} from './helpers.js';

/** the first second of samples/mirror.pcap (its traffic is dated; what is stored must not depend on it) */
const SAMPLE_START = Date.parse('2026-11-26T10:00:00Z') / 1000;

let tmp: { dir: string; remove: () => Promise<void> };

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('podwire-store-');
});
afterAll(async () => {
  await tmp?.remove();
});

describe('podwire flows --store', () => {
  it('stores every flow it prints into embedded ClickHouse, with the packet totals', async () => {
    const dataDir = join(tmp.dir, 'a');
    const r = await podwire(
      ['flows', '--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir],
      {
        timeoutMs: 60_000,
      },
    );
    expect(r.code).toBe(0);
    const printed = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { packets: number; bytes: number });
    expect(r.stderr).toMatch(new RegExp(`stored ${printed.length} flows in ${dataDir}/clickhouse`));
    // a second run on the same data with another retention: the TTL follows it
    const again = await podwire(
      [
        'flows',
        '--pcap',
        SAMPLE_PCAP,
        '--inventory',
        SAMPLE_INVENTORY,
        '--store',
        '--data-dir',
        dataDir,
        '--retention',
        'flows=14,packet_samples=1',
        '-q',
      ],
      { timeoutMs: 60_000 },
    );
    expect(again.code, again.stderr).toBe(0);
    const store = await openStore({ dataDir: join(dataDir, 'clickhouse'), database: 'podwire' });
    try {
      const rs = await store.client.query({
        query: `SELECT count() AS n, sum(packets) AS p, sum(bytes) AS b, uniqExact(observation) AS o,
          countIf(src_pod = 'web-1' AND src_namespace = 'shop') AS web1 FROM podwire.flows`,
        format: 'JSONEachRow',
      });
      const [row] = (await rs.json()) as Record<string, string>[];
      // the same capture twice: every flow stored twice (the writer dedups retried batches, not reruns)
      expect(Number(row.n)).toBe(2 * printed.length);
      expect(Number(row.p)).toBe(2 * printed.reduce((s, f) => s + f.packets, 0));
      expect(Number(row.b)).toBe(2 * printed.reduce((s, f) => s + f.bytes, 0));
      // the capture itself and the two ERSPAN sessions in it
      expect(Number(row.o)).toBe(3);
      expect(Number(row.web1)).toBeGreaterThan(0);
      for (const [table, days] of [
        ['flows', 14],
        ['packet_samples', 1],
        ['flows_1m', 30],
      ] as const) {
        const ddl = await store.client.query({
          query:
            'SELECT create_table_query AS q FROM system.tables WHERE database = {db:String} AND name = {t:String}',
          query_params: { db: 'podwire', t: table },
          format: 'JSONEachRow',
        });
        const [{ q }] = (await ddl.json()) as { q: string }[];
        expect(q, table).toMatch(new RegExp(`TTL .*toIntervalDay\\(${days}\\)`));
      }
    } finally {
      await store.close();
    }
  });

  it('keeps a capture from any date for the full retention: shifted 400 days back or 20 years ahead (editcap), every flow stays through TTL merges', async () => {
    for (const [name, seconds] of [
      ['old', -400 * 86_400],
      ['ahead', 20 * 365 * 86_400],
    ] as const) {
      const pcap = join(tmp.dir, `${name}.pcap`);
      await run('editcap', ['-t', String(seconds), SAMPLE_PCAP, pcap]);
      const dataDir = join(tmp.dir, `shift-${name}`);
      const r = await podwire(
        ['flows', '--pcap', pcap, '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir],
        {
          timeoutMs: 60_000,
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const printed = r.stdout.trim().split('\n').length;
      expect(r.stderr).toMatch(new RegExp(`stored ${printed} flows in `));
      const store = await openStore({ dataDir: join(dataDir, 'clickhouse'), database: 'podwire' });
      try {
        for (const t of ['flows', 'flows_1m', 'flows_1h', 'packet_samples'])
          await store.client.command({ query: `OPTIMIZE TABLE podwire.${t} FINAL` });
        const rs = await store.client.query({
          query: `SELECT (SELECT count() FROM podwire.flows) AS raw, (SELECT sum(flows) FROM podwire.flows_1m) AS m,
            (SELECT sum(flows) FROM podwire.flows_1h) AS h, (SELECT min(toUnixTimestamp(window_start)) FROM podwire.flows) AS t`,
          format: 'JSONEachRow',
        });
        const [row] = (await rs.json()) as Record<string, string>[];
        expect({ name, raw: +row.raw, m: +row.m, h: +row.h }).toEqual({
          name,
          raw: printed,
          m: printed,
          h: printed,
        });
        // the traffic kept its own time (the sample capture's, shifted)
        expect(Math.abs(+row.t - (SAMPLE_START + seconds))).toBeLessThan(3600);
      } finally {
        await store.close();
      }
    }
  });

  it('stores a capture read from stdin that is already waiting there while the store starts (chDB must not read stdin)', async () => {
    const dataDir = join(tmp.dir, 'stdin');
    const child = spawn(
      process.execPath,
      [BIN, 'flows', '--pcap', '-', '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    // the whole capture is in the pipe before podwire opens and migrates the store
    child.stdin!.end(readFileSync(SAMPLE_PCAP));
    const [code] = await once(child, 'exit');
    expect(code, err).toBe(0);
    const printed = out.trim().split('\n').length;
    expect(err).toMatch(new RegExp(`stored ${printed} flows in `));
  });

  it('refuses a data directory another process owns, naming it; the owner is unharmed', async () => {
    const dataDir = join(tmp.dir, 'b');
    // the owner reads its capture from a pipe we keep open, so it holds the store meanwhile
    const owner = spawn(
      process.execPath,
      [BIN, 'flows', '--pcap', '-', '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir, '-q'],
      {
        cwd: ROOT,
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    try {
      // wait until it owns the directory
      const ownerFile = join(dataDir, 'clickhouse', 'podwire.owner');
      for (let i = 0; i < 200; i++) {
        try {
          if (readFileSync(ownerFile, 'utf8').includes(`pid ${owner.pid}`)) break;
        } catch {
          // not yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const second = await podwire(
        ['flows', '--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir],
        {
          timeoutMs: 60_000,
        },
      );
      expectCleanFailure(second, 2, new RegExp(`another process owns it \\(podwire pid ${owner.pid} since`));
      owner.stdin!.end(readFileSync(SAMPLE_PCAP));
      const [code] = await once(owner, 'exit');
      expect(code).toBe(0);
    } finally {
      owner.kill();
    }
  });

  it('rejects a retention for a table that does not exist, of zero days, or past what DateTime holds', async () => {
    const base = [
      'flows',
      '--pcap',
      SAMPLE_PCAP,
      '--inventory',
      SAMPLE_INVENTORY,
      '--store',
      '--data-dir',
      join(tmp.dir, 'c'),
    ];
    expectCleanFailure(
      await podwire([...base, '--retention', 'flows=3,bogus=1']),
      2,
      /--retention: no table bogus/,
    );
    expectCleanFailure(await podwire([...base, '--retention', 'flows=0']), 2, /at least 1 day/);
    expectCleanFailure(await podwire([...base, '--retention', 'flows']), 2, /is not TABLE=DAYS/);
    // 100 years from arrival is past 2106: the TTL would wrap and delete rows as they arrive
    expectCleanFailure(await podwire([...base, '--retention', 'flows=36500']), 2, /at most 3660 days/);
  });

  it('says clearly that a cluster needs a server URL', async () => {
    const r = await podwire([
      'flows',
      '--pcap',
      SAMPLE_PCAP,
      '--inventory',
      SAMPLE_INVENTORY,
      '--clickhouse-cluster',
      'c1',
    ]);
    expectCleanFailure(r, 2, /--clickhouse-cluster needs --clickhouse-url/);
  });
});
