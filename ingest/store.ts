/**
 * The two backends behind one interface, both through the official @clickhouse/client:
 * embedded chDB (the default: a data directory owned by one process) or a ClickHouse
 * server or cluster by URL. The same SQL runs on both.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client';
import type { EncodedBatch } from './arrow-batch.js';
import { EmbeddedEngine } from './embedded-engine.js';

export interface StoreOptions {
  /** a server: http(s)://user:password@host:8123/database; absent = embedded chDB */
  url?: string;
  /** embedded data directory (default ./data/clickhouse) */
  dataDir?: string;
  database?: string;
  /** cluster name for ReplicatedMergeTree + Distributed tables (server only) */
  cluster?: string;
  username?: string;
  password?: string;
  /** embedded only: the engine thread's nice value (default 10, below the event loop) */
  engineNice?: number;
}

export interface Store {
  readonly kind: 'chdb' | 'server';
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly cluster: string | undefined;
  /** where it is: the data directory or the URL without credentials */
  readonly location: string;
  /**
   * Inserts one batch of TabSeparated rows. `dedupToken` makes a retried batch a no-op
   * (insert_deduplication_token); it is omitted where the server does not know it.
   */
  insertTsv(table: string, columns: readonly string[], body: Buffer, dedupToken: string): Promise<void>;
  /** Inserts one encoded batch (Arrow or TSV: see arrow-batch.ts); same token rules. */
  insertBatch(table: string, batch: EncodedBatch, dedupToken: string): Promise<void>;
  /**
   * The batch formats `insertBatch` can take here: chDB takes both; a server those it
   * lists as input formats (ClickHouse before ~20 has no ArrowStream: 18.16 answers
   * "Unknown format ArrowStream").
   */
  readonly insertFormats: readonly EncodedBatch['format'][];
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * Settings sent with every query. chDB's connection keeps settings on its session, so
 * every setting podwire relies on is sent every time rather than set once.
 */
export const BASE_SETTINGS: ClickHouseSettings = {
  // 64-bit counters as strings in JSON: a server does this by default, chDB does not
  output_format_json_quote_64bit_integers: 1,
  date_time_output_format: 'iso',
};

/** Dedup tokens travel inside SQL text on chDB: only this alphabet is accepted. */
const TOKEN_RE = /^[A-Za-z0-9:._-]{1,200}$/;

function checkToken(token: string): string {
  if (!TOKEN_RE.test(token)) throw new StoreError(`invalid dedup token ${JSON.stringify(token)}`);
  return token;
}

const INSERT_SETTINGS = {
  // a retried batch's materialized-view blocks are deduplicated too
  deduplicate_blocks_in_dependent_materialized_views: 1,
  // an import of a long capture spans many day partitions in one batch: the default limit
  // (100) would refuse the whole batch ("Too many partitions for single INSERT block")
  max_partitions_per_insert_block: '0',
} as const;

/**
 * A server's settings for one insert. On a cluster the Distributed table inserts in the
 * foreground (`insert_distributed_sync`): it answers once every shard has its part, each
 * part carrying the batch's token, so a retry after a failure is deduplicated on the shards
 * that took it (the split is the same: TableDef.shardBy) and stored on the others. In the
 * background mode the Distributed table would queue the parts on the writer's node and the
 * insert would succeed before any shard has them.
 */
export function insertSettings(dedup: boolean, cluster: boolean) {
  const distributed: ClickHouseSettings = cluster ? { insert_distributed_sync: 1 } : {};
  return (token: string): ClickHouseSettings =>
    dedup ? { ...INSERT_SETTINGS, ...distributed, insert_deduplication_token: token } : distributed;
}

/** INSERT_SETTINGS as a SETTINGS clause (chDB's file insert carries them in its SQL). */
const INSERT_SETTINGS_SQL = Object.entries(INSERT_SETTINGS)
  .map(([k, v]) => `${k} = ${v}`)
  .join(', ');

export async function openStore(o: StoreOptions = {}): Promise<Store> {
  return o.url ? openServer(o) : openEmbedded(o);
}

const OWNER_FILE = 'podwire.owner';

async function openEmbedded(o: StoreOptions): Promise<Store> {
  const dir = resolve(o.dataDir ?? 'data/clickhouse');
  mkdirSync(dir, { recursive: true });
  const tmpDir = join(dir, 'podwire-tmp');
  mkdirSync(tmpDir, { recursive: true });
  let engine: EmbeddedEngine;
  try {
    // the session opens now (and takes the directory's lock), in the engine's own thread
    engine = await EmbeddedEngine.open({ path: dir, tmpDir, nice: o.engineNice });
  } catch (err) {
    let owner = '';
    try {
      owner = readFileSync(join(dir, OWNER_FILE), 'utf8').trim();
    } catch {
      // no owner file: the lock holder is not a podwire, or wrote none
    }
    throw new StoreError(
      `cannot open the embedded ClickHouse data directory ${dir}: another process owns it` +
        (owner ? ` (${owner})` : '') +
        ` — stop it, or give this one another --data-dir (${(err as Error).message})`,
    );
  }
  writeFileSync(join(dir, OWNER_FILE), `podwire pid ${process.pid} since ${new Date().toISOString()}\n`);
  const database = o.database ?? 'podwire';
  const client = createClient({
    connection: engine as unknown as NonNullable<
      NonNullable<Parameters<typeof createClient>[0]>['connection']
    >,
    clickhouse_settings: BASE_SETTINGS,
  });
  // chDB's default database is an overlay that cannot hold everything: use an Atomic one
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database} ENGINE = Atomic` });
  // Arrow goes through a file the engine reads (chDB's client path turns a binary body
  // into a string), TSV inline after its INSERT; the path and the token are ours, never
  // user input.
  const insertBatch = async (table: string, batch: EncodedBatch, dedupToken: string) => {
    // the engine reads the body until it answers, even after the writer gave up waiting
    batch.lease?.retain();
    try {
      await insertBody(table, batch, dedupToken);
    } finally {
      batch.lease?.release();
    }
  };
  const insertBody = (table: string, batch: EncodedBatch, dedupToken: string) =>
    engine.insertData({
      target: `${database}.${table}`,
      columns: batch.columns,
      settings: `insert_deduplication_token = '${checkToken(dedupToken)}', ${INSERT_SETTINGS_SQL}`,
      format: batch.format,
      body: batch.body,
    });
  return {
    kind: 'chdb',
    client,
    database,
    cluster: undefined,
    location: dir,
    insertTsv: (table, columns, body, dedupToken) =>
      insertBatch(table, { format: 'TabSeparated', columns, rows: 0, body }, dedupToken),
    insertFormats: ['ArrowStream', 'TabSeparated'],
    insertBatch,
    async ping() {
      return (await client.ping()).success;
    },
    async close() {
      await client.close();
      await engine.close();
    },
  };
}

async function openServer(o: StoreOptions): Promise<Store> {
  const url = new URL(o.url!);
  const database = o.database ?? (url.pathname.length > 1 ? url.pathname.slice(1) : 'podwire');
  url.pathname = '/';
  const username = o.username ?? (decodeURIComponent(url.username) || undefined);
  const password = o.password ?? (decodeURIComponent(url.password) || undefined);
  url.username = '';
  url.password = '';
  const connection = {
    url: url.toString(),
    username,
    password,
    compression: { request: true, response: true },
  };
  // A server rejects every query that carries a setting it does not know (18.16 has no
  // date_time_output_format), so ask first without settings which ones it knows.
  const probe = createClient(connection);
  let version: string;
  let known: string[];
  let formats: EncodedBatch['format'][];
  try {
    const ping = await probe.ping();
    if (!ping.success) {
      throw new StoreError(`cannot reach ClickHouse at ${url}: ${(ping as { error: Error }).error.message}`);
    }
    const names = Object.keys(BASE_SETTINGS)
      .map((n) => `'${n}'`)
      .join(', ');
    const rs = await probe.query({
      query:
        `SELECT version() AS v, groupArray(name) AS known, (SELECT groupArray(name) FROM system.formats ` +
        `WHERE is_input = 1 AND name IN ('ArrowStream', 'TabSeparated')) AS formats FROM system.settings WHERE name IN (${names})`,
      format: 'JSONEachRow',
    });
    ({
      v: version,
      known,
      formats,
    } = ((await rs.json()) as { v: string; known: string[]; formats: EncodedBatch['format'][] }[])[0]);
  } finally {
    await probe.close();
  }
  const client = createClient({
    ...connection,
    clickhouse_settings: Object.fromEntries(Object.entries(BASE_SETTINGS).filter(([k]) => known.includes(k))),
  });
  // insert_deduplication_token needs ClickHouse 22.2+; an older server just retries
  const [major, minor] = version.split('.').map(Number);
  const dedup = major > 22 || (major === 22 && minor >= 2);
  const settings = insertSettings(dedup, o.cluster !== undefined);
  const insertTsv = async (table: string, columns: readonly string[], body: Buffer, dedupToken: string) => {
    await client.insert({
      table: `${database}.${table}`,
      columns: columns as [string, ...string[]],
      values: Readable.from([body], { objectMode: false }),
      format: 'TabSeparated',
      clickhouse_settings: settings(dedupToken),
    });
  };
  return {
    kind: 'server',
    client,
    database,
    cluster: o.cluster,
    location: url.toString(),
    insertTsv,
    insertFormats: formats,
    async insertBatch(table, batch, dedupToken) {
      if (batch.format === 'TabSeparated') return insertTsv(table, batch.columns, batch.body, dedupToken);
      // the client's insert() knows no Arrow format: send the body with exec(); the request
      // reads the body until the server answers (see EncodedBatch.lease)
      batch.lease?.retain();
      try {
        const r = await client.exec({
          query: `INSERT INTO ${database}.${table} (${batch.columns.join(', ')}) FORMAT ${batch.format}`,
          values: Readable.from([batch.body], { objectMode: false }),
          clickhouse_settings: settings(dedupToken),
        });
        r.stream.resume();
      } finally {
        batch.lease?.release();
      }
    },
    async ping() {
      return (await client.ping()).success;
    },
    async close() {
      await client.close();
    },
  };
}
