/**
 * Horizons: from which traffic time on each table still holds every row it was given.
 * Raw flows keep fewer days than the rollups (schema.ts DEFAULT_RETENTION), so a piece of
 * a range that raw flows no longer hold must be read from a rollup (queries.ts
 * flowPartsFor), and the raw-only lists must say where raw rows start.
 *
 * A horizon is the later of two times, both read from the store:
 *
 * - the oldest traffic time the table holds at all: `min(window_start)` (the table's time
 *   column). That column is the partition key, so a modern engine answers min() and
 *   count() from the parts' min/max index without reading rows (measured on chDB with
 *   20M raw flows: ~6 ms, where `min(received)`, a column scan, took ~60–90 ms and grows
 *   with the table). `system.parts` min_time (18.16 has it too) would read the same
 *   metadata, but only the answering server's parts: a cluster's Distributed table has
 *   none, its shards' local tables do. min() goes through the Distributed table, and the
 *   same SQL runs on ClickHouse 18.16 (a scan of one column there): one query everywhere.
 * - the retention cut: now − the table's TTL, where rows may have expired. Retention counts
 *   from arrival (`received`), not traffic time, so the oldest traffic time alone does not
 *   say a range is whole: an import of a month-old capture puts old traffic times into raw
 *   flows after the live rows of that month expired. A row that arrived after the cut is
 *   never expired, and traffic arrives after it happened, so every row with traffic time at
 *   or after the cut is still there. Only when something arrived before the cut can
 *   anything have expired: the store's first arrival is read as `min(received)` of
 *   flows_1h (the longest kept; small, so the scan is cheap — a bucket keeps its latest
 *   arrival, so this is up to an hour late for the store's first hour). While it is after
 *   the cut (a store younger than the retention, an import into it), nothing expired and
 *   the oldest traffic time is the horizon. The TTL is read from the table's definition
 *   (`system.tables`; a cluster's local table `<name>_local` holds it); a table without one
 *   (18.16 knows no TTL) has no cut. For flows_1h itself the first-arrival test is moot
 *   (nothing is coarser to answer instead), so it matters only for what it reports.
 *
 * Before the horizon a table may still hold some rows (an import, rows the TTL has not
 * removed yet): the horizon says from where it holds all of them. `null`: the table holds
 * nothing. A table missing from a Horizons object is taken as holding everything (no
 * rerouting), which is what a caller gets that passes `{}`.
 *
 * Looked up lazily per store and database, cached `ttlMs` (60 s): a stale value is served
 * while one refresh runs. Table names come from HORIZON_TABLES (a fixed whitelist) and
 * the database name is a checked identifier (ddl.ts ident): no input reaches the SQL, and
 * no query parameter is needed (18.16 has none).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ident } from './ddl.js';
import type { QueryContext } from './queries.js';
import { ARRIVAL, flows, flows_1h, flows_1m, packet_samples } from './schema.js';

/** The tables a horizon is read for (their traffic-time columns are the schema's `time`). */
export const HORIZON_TABLES = { flows, flows_1m, flows_1h, packet_samples } as const;
export type HorizonTable = keyof typeof HORIZON_TABLES;

/** Seconds since the epoch per table; null: holds nothing; absent: holds everything. */
export type Horizons = Partial<Record<HorizonTable, number | null>>;

/** What one table holds, as read from the store. */
export interface TableHolding {
  rows: number;
  /** oldest traffic time held, seconds (null when empty) */
  oldest: number | null;
  /** retention in days from the table's TTL (null: none) */
  retentionDays: number | null;
}

async function json<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  // no settings: 18.16 refuses ones it does not know
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return (await rs.json()) as T[];
}

/** `TTL received + toIntervalDay(7)` (how ClickHouse prints ddl.ts's TTL) → 7. */
export function ttlDays(createQuery: string): number | null {
  const m = new RegExp(
    `\\bTTL\\s+${ARRIVAL.name}\\s*\\+\\s*(?:toIntervalDay\\((\\d+)\\)|INTERVAL\\s+(\\d+)\\s+DAY)`,
    'i',
  ).exec(createQuery);
  return m === null ? null : Number(m[1] ?? m[2]);
}

/** One table's rows, oldest traffic time and TTL (two small queries). */
export async function readHolding(ctx: QueryContext, table: HorizonTable): Promise<TableHolding> {
  const db = ident(ctx.database);
  const col = HORIZON_TABLES[table]?.time;
  if (col === undefined) throw new Error(`no horizon for table ${table}`);
  const [r] = await json<{ n: string | number; w: string | number }>(
    ctx.client,
    `SELECT count() AS n, toUnixTimestamp(min(${col})) AS w FROM ${db}.${table}`,
  );
  const rows = Number(r?.n ?? 0);
  const defs = await json<{ name: string; q: string }>(
    ctx.client,
    `SELECT name, create_table_query AS q FROM system.tables WHERE database = '${db}' AND name IN ('${table}', '${table}_local')`,
  );
  const days = defs.map((d) => ttlDays(d.q)).find((d) => d !== null) ?? null;
  return { rows, oldest: rows > 0 ? Number(r.w) : null, retentionDays: days };
}

/** The store's first arrival: the oldest `received` of flows_1h (null: it is empty). */
export async function readFirstArrival(ctx: QueryContext): Promise<number | null> {
  const [r] = await json<{ n: string | number; r: string | number }>(
    ctx.client,
    `SELECT count() AS n, toUnixTimestamp(min(${ARRIVAL.name})) AS r FROM ${ident(ctx.database)}.flows_1h`,
  );
  return Number(r?.n ?? 0) > 0 ? Number(r.r) : null;
}

/**
 * The horizon of a holding at `nowSec`, given the store's first arrival (see the top of
 * this file): its oldest traffic time, or the retention cut where rows can have expired.
 */
export function horizonOf(h: TableHolding, nowSec: number, firstArrival: number | null): number | null {
  if (h.oldest === null) return null;
  if (h.retentionDays === null) return h.oldest;
  const cut = nowSec - h.retentionDays * 86_400;
  if (firstArrival !== null && firstArrival >= cut) return h.oldest;
  return Math.max(h.oldest, cut);
}

/** Every table's horizon, read now. */
export async function readHorizons(ctx: QueryContext, nowSec: number): Promise<Horizons> {
  const out: Horizons = {};
  // one after another: the embedded engine answers one query at a time anyway
  const first = await readFirstArrival(ctx);
  for (const t of Object.keys(HORIZON_TABLES) as HorizonTable[])
    out[t] = horizonOf(await readHolding(ctx, t), nowSec, first);
  return out;
}

/** Where a table's rows start, as an answer reports it. */
export interface Holding {
  /** the traffic time from which every row is held (null: nothing held, or not known) */
  holdsFrom: number | null;
  /** the range starts before holdsFrom, or nothing is held: older rows may be gone */
  partial: boolean;
}

/**
 * What a range starting at `from` finds in the tables of `horizons` together: the oldest
 * horizon among them (a table missing from the object holds everything: never partial).
 */
export function holdingOf(from: number, horizons: readonly (number | null | undefined)[]): Holding {
  if (horizons.some((h) => h === undefined)) return { holdsFrom: null, partial: false };
  const held = horizons.filter((h): h is number => h !== null && h !== undefined);
  if (held.length === 0) return { holdsFrom: null, partial: true };
  const holdsFrom = Math.min(...held);
  return { holdsFrom, partial: from < holdsFrom };
}

interface Entry {
  value?: Horizons;
  at: number;
  pending?: Promise<Horizons>;
}

/** Horizons per store and database, read lazily and kept `ttlMs` (stale served while refreshed). */
export class HorizonCache {
  private readonly byClient = new WeakMap<ClickHouseClient, Map<string, Entry>>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(o: { ttlMs?: number; now?: () => number } = {}) {
    this.ttlMs = o.ttlMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  async get(ctx: QueryContext): Promise<Horizons> {
    const m = this.byClient.get(ctx.client) ?? new Map<string, Entry>();
    this.byClient.set(ctx.client, m);
    const entry = m.get(ctx.database) ?? { at: 0 };
    m.set(ctx.database, entry);
    if (entry.value !== undefined && this.now() - entry.at < this.ttlMs) return entry.value;
    entry.pending ??= readHorizons(ctx, Math.floor(this.now() / 1000))
      .then((v) => {
        entry.value = v;
        entry.at = this.now();
        return v;
      })
      .finally(() => {
        entry.pending = undefined;
      });
    if (entry.value !== undefined) {
      // stale: answer from it; a failed refresh leaves it and is tried again next time
      entry.pending.catch(() => {});
      return entry.value;
    }
    return entry.pending;
  }

  /** Forgets what was read (after the caller changed the store itself). */
  clear(ctx: QueryContext): void {
    this.byClient.get(ctx.client)?.delete(ctx.database);
  }
}

/** The cache the query functions use when not given horizons. */
export const horizonCache = new HorizonCache();
