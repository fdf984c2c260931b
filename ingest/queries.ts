/**
 * Typed queries for the API and dashboards. Every value from a caller travels as a
 * ClickHouse query parameter ({name:Type}); SQL text is only ever assembled from fixed
 * fragments chosen from whitelists here, never from input.
 */

import type { ClickHouseClient } from '@clickhouse/client';
import { DATETIME_RANGE, DATETIME64_MIN_SECONDS, DATETIME64_RANGE_US } from './columns.js';
import { type Holding, type Horizons, holdingOf, horizonCache } from './horizon.js';

export interface QueryContext {
  client: ClickHouseClient;
  database: string;
}

/** A time range in seconds since the epoch: [from, to). */
export interface Range {
  from: number;
  to: number;
}

const TABLE_SECONDS = { flows: 0, flows_1m: 60, flows_1h: 3600 } as const;
export type FlowTableName = keyof typeof TABLE_SECONDS;

/**
 * The coarsest flow table that answers a range exactly: a rollup when both ends fall on
 * its bucket boundaries (and the step, if any, is a multiple of its bucket).
 */
export function flowTableFor(range: Range, step = 0): FlowTableName {
  for (const t of ['flows_1h', 'flows_1m'] as const) {
    const b = TABLE_SECONDS[t];
    if (range.from % b === 0 && range.to % b === 0 && step % b === 0) return t;
  }
  return 'flows';
}

/** One piece of a range and the table that answers it. */
export interface FlowPart extends Range {
  table: FlowTableName;
}

/** Finest first: where a table no longer holds a time, the next one answers it. */
const FINE_FIRST: readonly FlowTableName[] = ['flows', 'flows_1m', 'flows_1h'];

/**
 * Where a table holds every row from (ingest/horizon.ts), up to its next bucket boundary
 * (a rollup bucket is read whole): absent −∞, null (holds nothing) +∞.
 */
const startOf = (h: Horizons, t: FlowTableName): number => {
  const v = h[t];
  if (v === undefined) return Number.NEGATIVE_INFINITY;
  if (v === null) return Number.POSITIVE_INFINITY;
  const b = TABLE_SECONDS[t];
  return b === 0 ? v : Math.ceil(v / b) * b;
};

/**
 * Where each table (FINE_FIRST order) is read from: its horizon up to its bucket boundary,
 * raised to the next finer table's when it falls in that table's first bucket. A rollup's
 * oldest row is bucket-floored (its first hour row starts before the traffic it holds), so
 * a store that began mid-hour would otherwise send that hour's start to flows_1h; and
 * what a coarser table holds only in the bucket where the finer one starts, the finer one
 * holds too, or neither holds it whole (the answer says partial).
 */
export function effectiveStarts(horizons: Horizons): number[] {
  const starts = FINE_FIRST.map((t) => startOf(horizons, t));
  for (let i = 1; i < starts.length; i++) {
    const b = TABLE_SECONDS[FINE_FIRST[i]];
    const finer = starts[i - 1];
    if (Number.isFinite(finer) && Number.isFinite(starts[i]) && starts[i] >= Math.floor(finer / b) * b)
      starts[i] = Math.max(starts[i], finer);
  }
  return starts;
}

/**
 * A range cut into pieces each answered by the coarsest table that answers it exactly:
 * the hour-aligned middle from flows_1h, the minute-aligned stretches around it from
 * flows_1m, the sub-minute ends from raw flows. A rollup bucket holds the rows whose
 * window_start falls in it, so the pieces together hold exactly the rows of the range.
 * "The last hour" (never aligned) then reads two short raw ends and the rollups, not an
 * hour of raw flows. With a step, only tables whose bucket divides it take part (a bucket
 * of the answer must not straddle two rollup buckets).
 *
 * With horizons (ingest/horizon.ts), a time before a table's horizon is never read from
 * it: the finest table that still holds it answers instead, whatever the step, its piece
 * widened outward to that table's buckets. A table holds from its horizon on, so the
 * tables allowed only grow along the range: it is walked oldest first, one stretch per
 * set of allowed tables, and a stretch that ends on a coarser bucket moves the next one's
 * start to that bucket's end. Inside the range the pieces still tile it exactly; only its
 * two ends can widen (FlowCoverage.widened). Before every table's horizon the tables that
 * hold the earliest answer with what they have (FlowCoverage.partial says so). Pure: no
 * store, no clock.
 */
export function flowPartsFor(range: Range, step = 0, horizons: Horizons = {}): FlowPart[] {
  const starts = effectiveStarts(horizons);
  const held = Math.min(...starts);
  const out: FlowPart[] = [];
  let at = range.from;
  while (at < range.to) {
    // before every table: those that hold the earliest answer (nothing older is held)
    const allowed = FINE_FIRST.filter((_t, i) => starts[i] <= Math.max(at, held));
    // the stretch ends where one more table starts to hold every row
    const next = Math.min(range.to, ...starts.filter((s) => s > at));
    const parts = exactParts(at, next, step, allowed);
    out.push(...parts);
    at = parts.length === 0 ? next : (parts.at(-1)?.to ?? next);
  }
  return merge(out);
}

/**
 * [from, to) from the allowed tables: the coarsest ones dividing the step in the middle,
 * the finest allowed at the ends (widened to its bucket when it is a rollup).
 */
function exactParts(from: number, to: number, step: number, allowed: readonly FlowTableName[]): FlowPart[] {
  const finest = allowed[0];
  const grains = [...allowed]
    .reverse()
    .filter((t) => t !== 'flows' && step % TABLE_SECONDS[t] === 0 && t !== finest);
  const cut = (a0: number, z0: number, i: number): FlowPart[] => {
    if (z0 <= a0) return [];
    const table = grains[i];
    if (table === undefined) {
      const b = TABLE_SECONDS[finest];
      if (b === 0) return [{ table: finest, from: a0, to: z0 }];
      return [{ table: finest, from: Math.floor(a0 / b) * b, to: Math.ceil(z0 / b) * b }];
    }
    const b = TABLE_SECONDS[table];
    const a = Math.ceil(a0 / b) * b;
    const z = Math.floor(z0 / b) * b;
    if (a >= z) return cut(a0, z0, i + 1);
    return [...cut(a0, a, i + 1), { table, from: a, to: z }, ...cut(z, z0, i + 1)];
  };
  return cut(from, to, 0);
}

/** Adjacent pieces of one table as one (a widened piece can meet the next piece of its table). */
function merge(parts: FlowPart[]): FlowPart[] {
  const out: FlowPart[] = [];
  for (const p of parts) {
    const last = out.at(-1);
    if (last !== undefined && last.table === p.table && last.to === p.from) last.to = p.to;
    else out.push({ ...p });
  }
  return out;
}

/** Which tables answered a range, and whether the answer is for exactly that range. */
export interface FlowCoverage extends Holding {
  /** the coarsest table that answered part of the range */
  table: FlowTableName;
  /** the pieces in time order, each with the table that answered it */
  tables: FlowPart[];
  /**
   * a piece went to a coarser table (the finer one no longer holds it) and was widened to
   * its buckets: the answer covers tables[0].from to the last piece's to, not the range asked
   */
  widened: boolean;
}

/**
 * The coverage of a range read as `parts` (flowPartsFor) under `horizons`; holdsFrom and
 * partial are those of the flow tables together (the earliest start among them).
 */
export function coverageOf(range: Range, parts: readonly FlowPart[], horizons: Horizons = {}): FlowCoverage {
  const table = COARSE_FIRST.find((t) => parts.some((p) => p.table === t)) ?? 'flows';
  const first = parts[0];
  const last = parts.at(-1);
  const widened =
    first !== undefined && last !== undefined && (first.from < range.from || last.to > range.to);
  const held = holdingOf(
    range.from,
    effectiveStarts(horizons).map((v) =>
      v === Number.NEGATIVE_INFINITY ? undefined : v === Number.POSITIVE_INFINITY ? null : v,
    ),
  );
  return { table, tables: parts.map((p) => ({ ...p })), widened, ...held };
}

/** The pieces of a range (flowPartsFor), or all of it from `table` when one is asked for. */
const partsOf = (q: Range & { table?: FlowTableName }, horizons: Horizons, step = 0): FlowPart[] =>
  q.table === undefined ? flowPartsFor(q, step, horizons) : [{ table: q.table, from: q.from, to: q.to }];

const COARSE_FIRST: readonly FlowTableName[] = ['flows_1h', 'flows_1m', 'flows'];

/**
 * The rows of `columns` in a range as SQL (one table, or a UNION ALL of the pieces of
 * flowPartsFor), with `where` (a fixed fragment) applied in every piece, and the query
 * parameters of the pieces' ends. Table names and column lists come from here, never input.
 */
export function flowRowsSql(
  parts: readonly FlowPart[],
  columns: string,
  where = '1',
): { sql: string; params: Record<string, number>; table: FlowTableName } {
  const params: Record<string, number> = {};
  const selects = parts.map((p, i) => {
    params[`from${i}`] = p.from;
    params[`to${i}`] = p.to;
    return `SELECT ${columns} FROM {db}.${p.table}
WHERE window_start >= toDateTime({from${i}:UInt32}, 'UTC') AND window_start < toDateTime({to${i}:UInt32}, 'UTC') AND (${where})`;
  });
  const table = COARSE_FIRST.find((t) => parts.some((p) => p.table === t)) ?? 'flows';
  return { sql: selects.join('\nUNION ALL\n'), params, table };
}

/** The horizons a query uses: those given, else the store's (cached, ingest/horizon.ts). */
export const horizonsFor = (ctx: QueryContext, given?: Horizons): Promise<Horizons> =>
  given === undefined ? horizonCache.get(ctx) : Promise.resolve(given);

/**
 * What the time columns hold, seconds since the epoch, for either end of a range:
 * DateTime (flows, the rollups, vf_counters) 1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z;
 * DateTime64(6) (packet_samples) 1900-01-01 to 2300-01-01, ClickHouse's documented range
 * for it. Beyond them a UInt32 parameter wraps (answering another range) or the store
 * refuses the value; DateTime64 past its range is unsupported.
 */
export const TIME_LIMITS = {
  dateTime: { min: DATETIME_RANGE[0], max: DATETIME_RANGE[1], columns: "the store's DateTime columns" },
  dateTime64: {
    min: DATETIME64_MIN_SECONDS,
    max: Math.ceil(DATETIME64_RANGE_US[1] / 1e6),
    columns: 'the packet samples DateTime64(6) column',
  },
} as const;
export type TimeLimits = (typeof TIME_LIMITS)[keyof typeof TIME_LIMITS];

/** A query the caller got wrong (the API answers 400 with its message), never a store failure. */
export class QueryError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

const isoSeconds = (sec: number): string => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

/** What is wrong with a time range, naming the end (`from: …`), or null. */
export function rangeProblem(r: Partial<Range>, limits: TimeLimits = TIME_LIMITS.dateTime): string | null {
  for (const end of ['from', 'to'] as const) {
    const v = r[end];
    if (v !== undefined && !(v >= limits.min && v <= limits.max)) {
      return `${end}: must be between ${isoSeconds(limits.min)} and ${isoSeconds(limits.max)} (what ${limits.columns} hold)`;
    }
  }
  if (r.from !== undefined && r.to !== undefined && !(r.to > r.from)) return "to: must be after 'from'";
  return null;
}

export function checkRange(r: Range, limits: TimeLimits = TIME_LIMITS.dateTime): void {
  if (!Number.isFinite(r.from) || !Number.isFinite(r.to)) {
    throw new QueryError(`bad time range [${r.from}, ${r.to})`);
  }
  const problem = rangeProblem(r, limits);
  if (problem !== null) throw new QueryError(problem);
}

export async function rows<T>(
  ctx: QueryContext,
  query: string,
  params: Record<string, unknown>,
  // chDB keeps settings on its session: every setting a query relies on is sent each time
  settings: Record<string, number> = { prefer_column_name_to_alias: 0 },
): Promise<T[]> {
  const rs = await ctx.client.query({
    query: query.replaceAll('{db}', ctx.database),
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: settings,
  });
  return (await rs.json()) as T[];
}

export const n = (v: number | string) => Number(v);

/** Query parameters without the filters that were not given. */
function defined(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export interface BandwidthPoint {
  /** bucket start, seconds */
  t: number;
  /** sent by the pod (it was the source), bits per second over the bucket */
  txBitsPerSecond: number;
  rxBitsPerSecond: number;
  txPackets: number;
  rxPackets: number;
}

/** Either side of a flow is this pod (a fixed fragment; the values are parameters). */
export const POD_SIDE = `((src_namespace = {ns:String} AND src_pod = {pod:String}) OR (dst_namespace = {ns:String} AND dst_pod = {pod:String}))`;

/** A pod's bandwidth per step and the tables that answered it. */
export interface BandwidthResult extends FlowCoverage {
  points: BandwidthPoint[];
}

/**
 * A pod's bandwidth, both directions, in buckets of `step` seconds (rollups where they
 * answer, and where raw flows no longer hold the range: see flowPartsFor).
 */
export async function podBandwidth(
  ctx: QueryContext,
  q: Range & { namespace: string; pod: string; step: number; table?: FlowTableName; horizons?: Horizons },
): Promise<BandwidthResult> {
  checkRange(q);
  if (!(Number.isInteger(q.step) && q.step > 0))
    throw new QueryError('step must be a whole number of seconds > 0');
  const horizons = await horizonsFor(ctx, q.horizons);
  const parts = partsOf(q, horizons, q.step);
  const part = flowRowsSql(
    parts,
    'window_start, src_namespace, src_pod, dst_namespace, dst_pod, bytes, packets',
    POD_SIDE,
  );
  const out = await rows<{ t: string; tx: string; rx: string; txp: string; rxp: string }>(
    ctx,
    `SELECT toUnixTimestamp(toStartOfInterval(window_start, toIntervalSecond({step:UInt32}))) AS t,
  sumIf(bytes, src_namespace = {ns:String} AND src_pod = {pod:String}) AS tx,
  sumIf(bytes, dst_namespace = {ns:String} AND dst_pod = {pod:String}) AS rx,
  sumIf(packets, src_namespace = {ns:String} AND src_pod = {pod:String}) AS txp,
  sumIf(packets, dst_namespace = {ns:String} AND dst_pod = {pod:String}) AS rxp
FROM (${part.sql})
GROUP BY t ORDER BY t`,
    { ...part.params, ns: q.namespace, pod: q.pod, step: q.step },
  );
  const points = out.map((r) => ({
    t: n(r.t),
    txBitsPerSecond: (n(r.tx) * 8) / q.step,
    rxBitsPerSecond: (n(r.rx) * 8) / q.step,
    txPackets: n(r.txp),
    rxPackets: n(r.rxp),
  }));
  return { ...coverageOf(q, parts, horizons), points };
}

/** What top talkers are grouped by: fixed SQL per choice (a whitelist, not input). */
export const TALKER_KEYS = {
  pod: {
    select: 'src_namespace AS namespace, src_pod AS pod',
    group: 'namespace, pod',
    where: "src_pod != ''",
  },
  pair: {
    select: 'src_namespace, src_pod, dst_namespace, dst_pod',
    group: 'src_namespace, src_pod, dst_namespace, dst_pod',
    where: "src_pod != '' OR dst_pod != ''",
  },
  namespace: { select: 'src_namespace AS namespace', group: 'namespace', where: "src_namespace != ''" },
  vlan: { select: 'vlan', group: 'vlan', where: 'vni < 0' },
  vni: { select: 'vni', group: 'vni', where: 'vni >= 0' },
} as const;
export type TalkerKey = keyof typeof TALKER_KEYS;

export interface TopTalkersResult extends FlowCoverage {
  rows: (Record<string, string | number> & { bytes: number; packets: number })[];
}

/**
 * The biggest senders over a range, each piece of it from the coarsest table that answers
 * it exactly (flowPartsFor), or all from `table` when given.
 */
export async function topTalkers(
  ctx: QueryContext,
  q: Range & { by: TalkerKey; limit?: number; table?: FlowTableName; horizons?: Horizons },
): Promise<TopTalkersResult> {
  checkRange(q);
  const k = TALKER_KEYS[q.by];
  if (k === undefined)
    throw new QueryError(`top talkers by '${q.by}': expected one of ${Object.keys(TALKER_KEYS).join(', ')}`);
  const horizons = await horizonsFor(ctx, q.horizons);
  const parts = partsOf(q, horizons);
  const part = flowRowsSql(
    parts,
    'src_namespace, src_pod, dst_namespace, dst_pod, vlan, vni, bytes, packets',
    k.where,
  );
  const out = await rows<Record<string, string | number>>(
    ctx,
    `SELECT ${k.select}, sum(bytes) AS bytes, sum(packets) AS packets
FROM (${part.sql})
GROUP BY ${k.group} ORDER BY bytes DESC, ${k.group} LIMIT {limit:UInt32}`,
    { ...part.params, limit: q.limit ?? 10 },
  );
  return { ...coverageOf(q, parts, horizons), rows: out.map(talkerRow) };
}

/** A top-talker row as JSON: the numbers ClickHouse sends as strings made numbers. */
export function talkerRow(r: Record<string, string | number>): TopTalkersResult['rows'][number] {
  const o: Record<string, string | number> = {};
  for (const [key, v] of Object.entries(r)) o[key] = key === 'vlan' || key === 'vni' ? n(v) : v;
  return { ...o, bytes: n(r.bytes), packets: n(r.packets) };
}

export interface PacketTraceQuery extends Range {
  mac?: string;
  vlan?: number;
  ip?: string;
  vni?: number;
  namespace?: string;
  pod?: string;
  limit?: number;
}

export interface PacketSampleRow {
  time: string;
  observation: string;
  vlan: number;
  vni: number;
  src_mac: string;
  dst_mac: string;
  /** the frame's EtherType after its tags (0x0806 ARP, …): non-IP frames have '::' addresses */
  ethertype: number;
  src_ip: string;
  dst_ip: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  src_namespace: string;
  src_pod: string;
  src_node: string;
  dst_namespace: string;
  dst_pod: string;
  dst_node: string;
  frame_hex: string;
}

/** Packet samples matching every filter given (either direction for MAC, IP and pod). */
export async function packetTrace(ctx: QueryContext, q: PacketTraceQuery): Promise<PacketSampleRow[]> {
  checkRange(q, TIME_LIMITS.dateTime64);
  const where = [
    "time >= toDateTime64({from:Float64}, 6, 'UTC')",
    "time < toDateTime64({to:Float64}, 6, 'UTC')",
  ];
  if (q.mac !== undefined)
    where.push('(src_mac = MACStringToNum({mac:String}) OR dst_mac = MACStringToNum({mac:String}))');
  if (q.vlan !== undefined) where.push('vlan = {vlan:UInt16}');
  if (q.vni !== undefined) where.push('vni = {vni:Int32}');
  if (q.ip !== undefined) where.push('(src_ip = toIPv6({ip:String}) OR dst_ip = toIPv6({ip:String}))');
  if (q.namespace !== undefined)
    where.push('(src_namespace = {namespace:String} OR dst_namespace = {namespace:String})');
  if (q.pod !== undefined) where.push('(src_pod = {pod:String} OR dst_pod = {pod:String})');
  const out = await rows<Omit<PacketSampleRow, 'time'> & { time_text: string }>(
    ctx,
    `SELECT toString(time) AS time_text, observation, vlan, vni,
  MACNumToString(src_mac) AS src_mac, MACNumToString(dst_mac) AS dst_mac, ethertype,
  replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS src_ip, replaceRegexpOne(toString(dst_ip), '^::ffff:', '') AS dst_ip,
  src_port, dst_port, protocol, src_namespace, src_pod, src_node, dst_namespace, dst_pod, dst_node,
  lower(hex(frame)) AS frame_hex
FROM {db}.packet_samples
WHERE ${where.join(' AND ')}
ORDER BY time LIMIT {limit:UInt32}`,
    defined({ ...q, limit: q.limit ?? 1000 }),
    // WHERE means the stored columns even where SELECT formats them under the same name
    { prefer_column_name_to_alias: 1 },
  );
  return out.map(({ time_text, ...r }) => ({
    ...r,
    time: time_text,
    vlan: n(r.vlan),
    vni: n(r.vni),
    src_port: n(r.src_port),
    dst_port: n(r.dst_port),
    protocol: n(r.protocol),
  }));
}

export interface VfCounterPoint {
  t: number;
  node: string;
  pf: string;
  vf: number;
  namespace: string;
  pod: string;
  rxBytes: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
  qosDropped: number;
}

/** VF counter deltas summed per bucket; the hourly rollup answers hour-aligned ranges. */
export async function vfCounterSeries(
  ctx: QueryContext,
  q: Range & { step: number; node?: string; namespace?: string; pod?: string },
): Promise<VfCounterPoint[]> {
  checkRange(q);
  const hourly = q.from % 3600 === 0 && q.to % 3600 === 0 && q.step % 3600 === 0;
  const where = ["time >= toDateTime({from:UInt32}, 'UTC')", "time < toDateTime({to:UInt32}, 'UTC')"];
  if (q.node !== undefined) where.push('node = {node:String}');
  if (q.namespace !== undefined) where.push('namespace = {namespace:String}');
  if (q.pod !== undefined) where.push('pod = {pod:String}');
  const out = await rows<Record<string, string>>(
    ctx,
    `SELECT toUnixTimestamp(toStartOfInterval(time, toIntervalSecond({step:UInt32}))) AS t, node, pf, vf, namespace, pod,
  sum(rx_bytes) AS rx_bytes, sum(tx_bytes) AS tx_bytes, sum(rx_dropped) AS rx_dropped, sum(tx_dropped) AS tx_dropped,
  sum(qos_dropped) AS qos_dropped
FROM {db}.${hourly ? 'vf_counters_1h' : 'vf_counters'}
WHERE ${where.join(' AND ')}
GROUP BY t, node, pf, vf, namespace, pod ORDER BY t, node, pf, vf`,
    defined({ ...q }),
  );
  return out.map((r) => ({
    t: n(r.t),
    node: r.node,
    pf: r.pf,
    vf: n(r.vf),
    namespace: r.namespace,
    pod: r.pod,
    rxBytes: n(r.rx_bytes),
    txBytes: n(r.tx_bytes),
    rxDropped: n(r.rx_dropped),
    txDropped: n(r.tx_dropped),
    qosDropped: n(r.qos_dropped),
  }));
}
