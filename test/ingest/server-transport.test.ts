/**
 * The server transport of ingest/store.ts against a real, old ClickHouse server: Debian's
 * clickhouse-server 18.16, started by test/helpers/clickhouse-server.ts. Transport only:
 * plain types the old server knows (no DateTime64, IPv6, LowCardinality, CODEC or TTL),
 * so the podwire schema itself is not created here.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store, StoreError } from '../../ingest/store.js';
import { type ClickHouseServer, freePorts, startClickHouseServer } from '../helpers/clickhouse-server.js';
import { run } from '../helpers/netns.js';

const DB = 'podwire';

let server: ClickHouseServer;
let store: Store;

async function rows<T>(query: string): Promise<T[]> {
  const rs = await store.client.query({ query, format: 'JSONEachRow' });
  return (await rs.json()) as T[];
}

async function count(table: string): Promise<number> {
  return Number((await rows<{ n: string }>(`SELECT count() AS n FROM ${DB}.${table}`))[0]!.n);
}

/** A TCP relay to the server that counts the bytes it carries each way. */
async function countingProxy(
  port: number,
): Promise<{ url: string; up: () => number; down: () => number; close: () => Promise<void> }> {
  let up = 0;
  let down = 0;
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      up += d.length;
    });
    upstream.on('data', (d: Buffer) => {
      down += d.length;
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((res) => proxy.listen(0, '127.0.0.1', () => res()));
  const proxyPort = (proxy.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    up: () => up,
    down: () => down,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => res());
      }),
  };
}

describe('ingest server transport', () => {
  beforeAll(async () => {
    server = await startClickHouseServer();
    store = await openStore({ url: server.url });
    await store.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  });

  afterAll(async () => {
    await store?.close();
    await server?.destroy();
  });

  it('transport-only (ClickHouse 18.16): openStore by URL, ping, version', async () => {
    expect(store.kind).toBe('server');
    expect(store.database).toBe(DB);
    expect(store.location).toBe(`${server.url}/`);
    expect(await store.ping()).toBe(true);
    const [{ v }] = await rows<{ v: string }>('SELECT version() AS v');
    expect(v, 'these tests are written for the 18.16 server of Debian').toMatch(/^18\.16\./);
  });

  it('transport-only (ClickHouse 18.16): the helper server listens on 127.0.0.1 only, HTTP + native, no interserver port', async () => {
    const { stdout } = await run('ss', ['-Hltnp']);
    const mine = stdout.split('\n').filter((l) => l.includes(`pid=${server.pid},`));
    const local = mine.map((l) => l.trim().split(/\s+/)[3]).sort();
    expect(local).toEqual([`127.0.0.1:${server.httpPort}`, `127.0.0.1:${server.tcpPort}`].sort());
  });

  it('transport-only (ClickHouse 18.16): JSONEachRow insert + select on a MergeTree table', async () => {
    await store.client.command({
      query: `CREATE TABLE ${DB}.t_json (ts DateTime('UTC'), name String, n UInt64, x Float64, tags Array(String))
        ENGINE = MergeTree ORDER BY (name, ts)`,
    });
    const input = [
      { ts: '2026-11-26 00:00:01', name: 'a', n: '18446744073709551615', x: 1.5, tags: ['p', 'q'] },
      { ts: '2026-11-26 00:00:02', name: 'b', n: '0', x: -0.25, tags: [] },
      { ts: '2026-11-26 00:00:03', name: 'c "quoted"\ttab\nnewline ü', n: '42', x: 1e-300, tags: ['\\'] },
    ];
    await store.client.insert({ table: `${DB}.t_json`, values: input, format: 'JSONEachRow' });
    // 64-bit integers come back as strings (output_format_json_quote_64bit_integers, which
    // 18.16 knows); DateTime in the server's text form (18.16 has no date_time_output_format)
    const out = await rows<(typeof input)[number]>(
      `SELECT ts, name, n, x, tags FROM ${DB}.t_json ORDER BY ts`,
    );
    expect(out).toEqual(input);
  });

  it('transport-only (ClickHouse 18.16): store.insertTsv works without insert_deduplication_token', async () => {
    await store.client.command({
      query: `CREATE TABLE ${DB}.t_tsv (a UInt32, s String, d Date) ENGINE = MergeTree ORDER BY a`,
    });
    const body = Buffer.from('1\tone\t2026-11-26\n2\ttab\\there\t2026-11-27\n3\tnew\\nline\t2026-11-28\n');
    await store.insertTsv('t_tsv', ['a', 's', 'd'], body, 'batch-1');
    expect(await rows(`SELECT a, s, toString(d) AS d FROM ${DB}.t_tsv ORDER BY a`)).toEqual([
      { a: 1, s: 'one', d: '2026-11-26' },
      { a: 2, s: 'tab\there', d: '2026-11-27' },
      { a: 3, s: 'new\nline', d: '2026-11-28' },
    ]);
    // the token is not sent to a server that does not know it, so a retried batch lands
    // again: the old server has no insert deduplication for a plain MergeTree
    await store.insertTsv('t_tsv', ['a', 's', 'd'], body, 'batch-1');
    expect(await count('t_tsv')).toBe(6);
  });

  it('transport-only (ClickHouse 18.16): compressed request and response round-trip a few MB', async () => {
    await store.client.command({
      query: `CREATE TABLE ${DB}.t_big (i UInt32, pod String, ns String, bytes UInt64) ENGINE = MergeTree ORDER BY i`,
    });
    const lines: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      lines.push(
        `${i}\tpod-${(i * 7919) % 5000}-abcdefghij\tnamespace-${i % 37}-klmnopqrstuvwxyz\t${i * 1_000_003}`,
      );
    }
    const body = Buffer.from(`${lines.join('\n')}\n`);
    expect(body.length).toBeGreaterThan(3_000_000);

    // through a relay that counts the bytes on the wire, with a second store
    const proxy = await countingProxy(server.httpPort);
    const viaProxy = await openStore({ url: proxy.url });
    try {
      await viaProxy.insertTsv('t_big', ['i', 'pod', 'ns', 'bytes'], body, 'big-1');
      const sent = proxy.up();
      const rs = await viaProxy.client.query({
        query: `SELECT i, pod, ns, bytes FROM ${DB}.t_big ORDER BY i`,
        format: 'TabSeparated',
      });
      const text = await rs.text();
      const received = proxy.down();
      expect(Buffer.from(text).equals(body)).toBe(true);
      // gzip both ways: far fewer bytes on the wire than the payload
      expect(sent).toBeLessThan(body.length / 4);
      expect(received).toBeLessThan(body.length / 4);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
    const [agg] = await rows<{ n: string; s: string }>(
      `SELECT count() AS n, sum(bytes) AS s FROM ${DB}.t_big`,
    );
    const expected = (BigInt(59_999 * 60_000) / 2n) * 1_000_003n;
    expect(agg).toEqual({ n: '60000', s: expected.toString() });
  });

  it("transport-only (ClickHouse 18.16): a bad query's Error carries the server's message and code", async () => {
    const err = await store.client
      .query({ query: 'SELECT no_such_column FROM system.one', format: 'JSONEachRow' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Unknown identifier: no_such_column/);
    expect((err as Error).message).toMatch(/Code: 47\b/);

    // DDL with a type the old server lacks
    await expect(
      store.client.command({
        query: `CREATE TABLE ${DB}.t_bad (t DateTime64(3)) ENGINE = MergeTree ORDER BY t`,
      }),
    ).rejects.toThrow(/Unknown data type family: DateTime64/);

    // an insert the server cannot parse
    await expect(
      store.insertTsv('t_tsv', ['a', 's', 'd'], Buffer.from('x\ty\tz\n'), 'bad-1'),
    ).rejects.toThrow(/Cannot parse/);
  });

  it('transport-only (ClickHouse 18.16): a wrong port gives a StoreError naming the URL', async () => {
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    const err = await openStore({ url }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(`cannot reach ClickHouse at ${url}/`);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('transport-only (ClickHouse 18.16): server stopped → ping false, restarted → the same store works again', async () => {
    const before = await count('t_tsv');
    await server.stop();
    expect(await store.ping().catch(() => false)).toBe(false);
    await expect(store.client.query({ query: 'SELECT 1' })).rejects.toThrow(/ECONNREFUSED/);

    await server.start();
    expect(await store.ping()).toBe(true);
    expect(await count('t_tsv')).toBe(before);

    // a crash (SIGKILL) and a restart: the data on disk survives, the store reconnects
    server.kill();
    await server.start();
    expect(await store.ping()).toBe(true);
    await store.insertTsv('t_tsv', ['a', 's', 'd'], Buffer.from('9\tafter\t2026-11-29\n'), 'after-1');
    expect(await count('t_tsv')).toBe(before + 1);
    expect(server.log()).toContain('start #3');
  });
});
