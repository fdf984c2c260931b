/**
 * The queries /api/v1 adds to ingest/queries.ts: tenant-scoped variants of the common
 * questions, the flow list with keyset pagination, a pod's peers, SLA events, and the
 * store probe of /readyz. Kept apart from queries.ts (which the caching and rollup work
 * reshapes) so each can change without the other.
 *
 * Scope: a tenant's namespaces travel as one Array(String) query parameter, `{scope:…}`,
 * and every filter is `has({scope:Array(String)}, x_namespace)`: never a list spliced into
 * SQL. A row with one side in scope shows the other as external: its namespace, pod, node,
 * interface, network, tier, MAC and IP are blank (the frame bytes too, which carry them).
 * A tenant's address and pod filters match only the in-scope side: asking for another
 * tenant's MAC finds nothing, not the tenant's own packets to it.
 */
import type { Horizons } from './horizon.js';
import {
  checkRange,
  coverageOf,
  type FlowCoverage,
  flowPartsFor,
  flowRowsSql,
  horizonsFor,
  n,
  type PacketSampleRow,
  type QueryContext,
  QueryError,
  rows as queryRows,
  type Range,
  TALKER_KEYS,
  type TalkerKey,
  TIME_LIMITS,
  type TopTalkersResult,
  talkerRow,
  type VfCounterPoint,
} from './queries.js';

/** A tenant's namespaces; undefined: every namespace (admin). */
export type Namespaces = readonly string[] | undefined;

/** Tenant queries read their columns by name where an alias shares it (queries.ts's default is 0). */
const rows = <T>(
  ctx: QueryContext,
  query: string,
  params: Record<string, unknown>,
  settings: Record<string, number> = { prefer_column_name_to_alias: 1 },
) => queryRows<T>(ctx, query, params, settings);

const inScope = (side: 'src' | 'dst' | '') =>
  `has({scope:Array(String)}, ${side === '' ? 'namespace' : `${side}_namespace`})`;

/**
 * A condition on either side (`src_x = …` or `dst_x = …`); for a tenant, only a side in
 * scope may match.
 */
function eitherSide(cond: (side: 'src' | 'dst') => string, scoped: boolean): string {
  const s = (side: 'src' | 'dst') => (scoped ? `((${cond(side)}) AND ${inScope(side)})` : `(${cond(side)})`);
  return `(${s('src')} OR ${s('dst')})`;
}

/** A side's column as the caller may see it: blank when that side is outside the scope. */
function seen(side: 'src' | 'dst', expr: string, scoped: boolean, blank = "''"): string {
  return scoped ? `if(${inScope(side)}, ${expr}, ${blank})` : expr;
}

const scopeParam = (ns: Namespaces) => (ns === undefined ? {} : { scope: [...ns] });

// ── top talkers, scoped ─────────────────────────────────────────────────────────────

/**
 * Top talkers as a tenant sees them: pods and namespaces of its own that sent; pairs with
 * at least one side its own (the other side blank: external); VLANs and VNIs counting its
 * own traffic only.
 */
export async function scopedTopTalkers(
  ctx: QueryContext,
  q: Range & { by: TalkerKey; limit: number; namespaces: readonly string[]; horizons?: Horizons },
): Promise<TopTalkersResult> {
  checkRange(q);
  if (TALKER_KEYS[q.by] === undefined) throw new QueryError(`top talkers by '${q.by}'`);
  const either = `(${inScope('src')} OR ${inScope('dst')})`;
  const k = {
    pod: {
      select: 'src_namespace AS namespace, src_pod AS pod',
      where: `src_pod != '' AND ${inScope('src')}`,
    },
    namespace: { select: 'src_namespace AS namespace', where: `src_namespace != '' AND ${inScope('src')}` },
    pair: {
      select:
        ['namespace', 'pod'].flatMap((c) => [`${seen('src', `src_${c}`, true)} AS s_${c}`]).join(', ') +
        ', ' +
        ['namespace', 'pod'].map((c) => `${seen('dst', `dst_${c}`, true)} AS d_${c}`).join(', '),
      where: either,
    },
    vlan: { select: 'vlan', where: `vni < 0 AND ${either}` },
    vni: { select: 'vni', where: `vni >= 0 AND ${either}` },
  }[q.by];
  const group = q.by === 'pair' ? 's_namespace, s_pod, d_namespace, d_pod' : k.select.replace(/\S+ AS /g, '');
  // the range's pieces from the coarsest tables that answer them (ingest/queries.ts)
  const horizons = await horizonsFor(ctx, q.horizons);
  const parts = flowPartsFor(q, 0, horizons);
  const part = flowRowsSql(
    parts,
    'src_namespace, src_pod, dst_namespace, dst_pod, vlan, vni, bytes, packets',
    k.where,
  );
  const out = await rows<Record<string, string | number>>(
    ctx,
    `SELECT ${k.select}, sum(bytes) AS bytes, sum(packets) AS packets
FROM (${part.sql})
GROUP BY ${group} ORDER BY bytes DESC, ${group} LIMIT {limit:UInt32}`,
    { ...part.params, limit: q.limit, scope: [...q.namespaces] },
    { prefer_column_name_to_alias: 0 },
  );
  return {
    ...coverageOf(q, parts, horizons),
    rows: out.map((r): TopTalkersResult['rows'][number] => {
      if (q.by === 'pair')
        return {
          src_namespace: r.s_namespace,
          src_pod: r.s_pod,
          dst_namespace: r.d_namespace,
          dst_pod: r.d_pod,
          bytes: n(r.bytes),
          packets: n(r.packets),
        };
      return talkerRow(r);
    }),
  };
}

// ── packet samples, scoped ──────────────────────────────────────────────────────────

export interface SampleFilter extends Range {
  mac?: string;
  ip?: string;
  vlan?: number;
  vni?: number;
  namespace?: string;
  pod?: string;
  limit: number;
  namespaces: Namespaces;
}

/** The WHERE conditions of the filters a flow or sample query shares. */
function addressFilters(
  q: { mac?: string; ip?: string; vlan?: number; vni?: number; namespace?: string; pod?: string },
  scoped: boolean,
): string[] {
  const where: string[] = [];
  if (q.mac !== undefined) where.push(eitherSide((s) => `${s}_mac = MACStringToNum({mac:String})`, scoped));
  if (q.ip !== undefined) where.push(eitherSide((s) => `${s}_ip = toIPv6({ip:String})`, scoped));
  if (q.vlan !== undefined) where.push('vlan = {vlan:UInt16}');
  if (q.vni !== undefined) where.push('vni = {vni:Int32}');
  if (q.namespace !== undefined) where.push(eitherSide((s) => `${s}_namespace = {namespace:String}`, scoped));
  if (q.pod !== undefined) where.push(eitherSide((s) => `${s}_pod = {pod:String}`, scoped));
  if (scoped) where.push(`(${inScope('src')} OR ${inScope('dst')})`);
  return where;
}

const ip = (side: 'src' | 'dst') => `replaceRegexpOne(toString(${side}_ip), '^::ffff:', '')`;

/** The attribution and address columns of both sides, each blank when outside the scope. */
function sideColumns(scoped: boolean, extra: readonly string[]): string {
  const out: string[] = [];
  for (const s of ['src', 'dst'] as const) {
    out.push(`${seen(s, `MACNumToString(${s}_mac)`, scoped)} AS o_${s}_mac`);
    out.push(`${seen(s, ip(s), scoped)} AS o_${s}_ip`);
    for (const c of ['namespace', 'pod', 'node', ...extra])
      out.push(`${seen(s, `${s}_${c}`, scoped)} AS o_${s}_${c}`);
  }
  return out.join(',\n  ');
}

/** `o_x` → `x`, numbers as numbers. */
function unprefix(
  r: Record<string, string | number>,
  numeric: readonly string[],
): Record<string, string | number> {
  const o: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(r)) {
    const key = k.startsWith('o_') ? k.slice(2) : k;
    o[key] = numeric.includes(key) ? n(v) : v;
  }
  return o;
}

/** Packet samples (either direction), as a scope sees them: packetTrace's rows. */
export async function scopedPacketTrace(ctx: QueryContext, q: SampleFilter): Promise<PacketSampleRow[]> {
  checkRange(q, TIME_LIMITS.dateTime64);
  const scoped = q.namespaces !== undefined;
  const where = [
    "time >= toDateTime64({from:Float64}, 6, 'UTC')",
    "time < toDateTime64({to:Float64}, 6, 'UTC')",
    ...addressFilters(q, scoped),
  ];
  const frame = scoped
    ? `if(${inScope('src')} AND ${inScope('dst')}, lower(hex(frame)), '')`
    : 'lower(hex(frame))';
  const out = await rows<Record<string, string | number>>(
    ctx,
    `SELECT toString(time) AS o_time, observation, vlan, vni, ethertype, src_port, dst_port, protocol,
  ${sideColumns(scoped, [])},
  ${frame} AS frame_hex
FROM {db}.packet_samples
WHERE ${where.join(' AND ')}
ORDER BY time LIMIT {limit:UInt32}`,
    { ...defined(q), ...scopeParam(q.namespaces) },
  );
  return out.map(
    (r) =>
      unprefix(r, [
        'vlan',
        'vni',
        'ethertype',
        'src_port',
        'dst_port',
        'protocol',
      ]) as unknown as PacketSampleRow,
  );
}

/** Query parameters without the filters that were not given (and without the scope list). */
function defined(o: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'namespaces' && k !== 'cursor'),
  );
}

// ── VF counters, scoped ─────────────────────────────────────────────────────────────

/** VF counter deltas of a tenant's pods only (vfCounterSeries' rows). */
export async function scopedVfCounterSeries(
  ctx: QueryContext,
  q: Range & { step: number; node?: string; namespace?: string; pod?: string; namespaces: readonly string[] },
): Promise<VfCounterPoint[]> {
  checkRange(q);
  const hourly = q.from % 3600 === 0 && q.to % 3600 === 0 && q.step % 3600 === 0;
  const where = [
    "time >= toDateTime({from:UInt32}, 'UTC')",
    "time < toDateTime({to:UInt32}, 'UTC')",
    inScope(''),
  ];
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
    { ...defined(q), scope: [...q.namespaces] },
    { prefer_column_name_to_alias: 0 },
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

// ── the flow list ───────────────────────────────────────────────────────────────────

export interface FlowFilter extends Range {
  namespace?: string;
  pod?: string;
  mac?: string;
  ip?: string;
  vlan?: number;
  vni?: number;
  protocol?: number;
  port?: number;
  namespaces: Namespaces;
}

/** Where a page starts: after `skip` rows of the sort key (window, hash). */
export interface FlowPosition {
  window: number;
  /** cityHash64 of the whole stored row, decimal */
  hash: string;
  /** rows of exactly this key already returned (identical rows are interchangeable) */
  skip: number;
}

const ROW_HASH = `cityHash64(window_start, window_seconds, observation, vlan, vni, src_mac, dst_mac, src_ip, dst_ip,
  src_port, dst_port, protocol, tcp_flags, src_namespace, src_pod, src_node, src_interface, src_network, src_tier,
  dst_namespace, dst_pod, dst_node, dst_interface, dst_network, dst_tier, bytes, packets, samples, sampling_rate)`;

export type FlowRow = Record<string, string | number>;

/**
 * One page of raw flows, newest window first, in a total order (window, hash of the row):
 * pages neither repeat nor skip a row however the store merges its parts. Returns the rows
 * and where the next page starts (null: this was the last).
 */
export async function flowsPage(
  ctx: QueryContext,
  q: FlowFilter & { limit: number; after?: FlowPosition },
): Promise<{ rows: FlowRow[]; next: FlowPosition | null }> {
  checkRange(q);
  const scoped = q.namespaces !== undefined;
  const where = [
    "window_start >= toDateTime({from:UInt32}, 'UTC')",
    "window_start < toDateTime({to:UInt32}, 'UTC')",
    ...addressFilters(q, scoped),
  ];
  if (q.protocol !== undefined) where.push('protocol = {protocol:UInt8}');
  if (q.port !== undefined) where.push('(src_port = {port:UInt16} OR dst_port = {port:UInt16})');
  const skip = q.after?.skip ?? 0;
  if (q.after !== undefined)
    where.push(`(window_start, ${ROW_HASH}) <= (toDateTime({cw:UInt32}, 'UTC'), {ch:UInt64})`);
  const out = await rows<FlowRow>(
    ctx,
    `SELECT toUnixTimestamp(window_start) AS o_window, toString(${ROW_HASH}) AS row_hash, window_seconds, observation,
  vlan, vni, src_port, dst_port, protocol, tcp_flags,
  ${sideColumns(scoped, ['interface', 'network', 'tier'])},
  bytes, packets, samples, sampling_rate
FROM {db}.flows
WHERE ${where.join(' AND ')}
ORDER BY window_start DESC, ${ROW_HASH} DESC LIMIT {lim:UInt32}`,
    {
      ...defined(q),
      ...scopeParam(q.namespaces),
      ...(q.after === undefined ? {} : { cw: q.after.window, ch: q.after.hash }),
      lim: q.limit + skip + 1,
    },
  );
  // the first `skip` rows of the cursor's own key were on earlier pages
  let dropped = 0;
  const fresh = out.filter((r) => {
    const same = q.after !== undefined && n(r.o_window) === q.after.window && r.row_hash === q.after.hash;
    if (same && dropped < skip) {
      dropped++;
      return false;
    }
    return true;
  });
  const page = fresh.slice(0, q.limit);
  let next: FlowPosition | null = null;
  if (fresh.length > q.limit) {
    const last = page[page.length - 1];
    const key = (r: FlowRow) => `${r.o_window}|${r.row_hash}`;
    let same = page.filter((r) => key(r) === key(last)).length;
    if (q.after !== undefined && n(last.o_window) === q.after.window && last.row_hash === q.after.hash)
      same += skip;
    next = { window: n(last.o_window), hash: String(last.row_hash), skip: same };
  }
  const numeric = [
    'window',
    'window_seconds',
    'vlan',
    'vni',
    'src_port',
    'dst_port',
    'protocol',
    'tcp_flags',
  ];
  const big = ['bytes', 'packets', 'samples', 'sampling_rate'];
  return {
    rows: page.map(({ row_hash: _h, ...r }) => unprefix(r, [...numeric, ...big])),
    next,
  };
}

// ── a pod's peers ───────────────────────────────────────────────────────────────────

export interface Peer {
  namespace: string;
  pod: string;
  /** bytes the pod sent to this peer, and received from it */
  txBytes: number;
  rxBytes: number;
}

/** Who a pod talked to over a range, biggest first; peers outside the scope are one blank row. */
export async function podPeers(
  ctx: QueryContext,
  q: Range & { namespace: string; pod: string; limit: number; namespaces: Namespaces; horizons?: Horizons },
): Promise<FlowCoverage & { peers: Peer[] }> {
  checkRange(q);
  const scoped = q.namespaces !== undefined;
  const isSrc = 'src_namespace = {ns:String} AND src_pod = {pod:String}';
  const isDst = 'dst_namespace = {ns:String} AND dst_pod = {pod:String}';
  const peerNs = `if(${isSrc}, dst_namespace, src_namespace)`;
  const peerPod = `if(${isSrc}, dst_pod, src_pod)`;
  const visible = (e: string) => (scoped ? `if(has({scope:Array(String)}, ${peerNs}), ${e}, '')` : e);
  const horizons = await horizonsFor(ctx, q.horizons);
  const parts = flowPartsFor(q, 0, horizons);
  const part = flowRowsSql(
    parts,
    'src_namespace, src_pod, dst_namespace, dst_pod, bytes',
    `(${isSrc}) OR (${isDst})`,
  );
  const out = await rows<Record<string, string>>(
    ctx,
    `SELECT ${visible(peerNs)} AS peer_namespace, ${visible(peerPod)} AS peer_pod,
  sumIf(bytes, ${isSrc}) AS tx, sumIf(bytes, ${isDst}) AS rx
FROM (${part.sql})
GROUP BY peer_namespace, peer_pod ORDER BY tx + rx DESC, peer_namespace, peer_pod LIMIT {limit:UInt32}`,
    { ...part.params, ns: q.namespace, pod: q.pod, limit: q.limit, ...scopeParam(q.namespaces) },
    { prefer_column_name_to_alias: 0 },
  );
  return {
    ...coverageOf(q, parts, horizons),
    peers: out.map((r) => ({
      namespace: r.peer_namespace,
      pod: r.peer_pod,
      txBytes: n(r.tx),
      rxBytes: n(r.rx),
    })),
  };
}

// ── SLA events ──────────────────────────────────────────────────────────────────────

/** SLA alert state changes, newest first; a tenant sees its namespaces' only. */
export async function slaEvents(
  ctx: QueryContext,
  q: Range & { namespace?: string; pod?: string; limit: number; namespaces: Namespaces },
): Promise<Record<string, string | number>[]> {
  checkRange(q);
  const where = ["time >= toDateTime({from:UInt32}, 'UTC')", "time < toDateTime({to:UInt32}, 'UTC')"];
  if (q.namespace !== undefined) where.push('namespace = {namespace:String}');
  if (q.pod !== undefined) where.push('pod = {pod:String}');
  if (q.namespaces !== undefined) where.push(inScope(''));
  const out = await rows<Record<string, string | number>>(
    ctx,
    `SELECT toString(time) AS o_time, rule, severity, namespace, pod, node, tier, state, value,
  toString(started) AS o_started, min_rate, delivered_rate, drop_rate, details
FROM {db}.sla_events
WHERE ${where.join(' AND ')}
ORDER BY time DESC, rule, namespace, pod LIMIT {limit:UInt32}`,
    { ...defined(q), ...scopeParam(q.namespaces) },
  );
  return out.map((r) => unprefix(r, ['value', 'min_rate', 'delivered_rate', 'drop_rate']));
}

/** Whether the store answers (readiness): a trivial query within `timeoutMs`. */
export async function storeAnswers(ctx: QueryContext, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const ok = rows<{ one: number }>(
      ctx,
      'SELECT 1 AS one FROM {db}.flows_1h LIMIT 0 UNION ALL SELECT 1 AS one',
      {},
    );
    const late = new Promise<null>((r) => {
      timer = setTimeout(() => r(null), timeoutMs);
    });
    const r = await Promise.race([ok, late]);
    return r !== null && r.length === 1;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
