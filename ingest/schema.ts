/**
 * The ClickHouse schema: one definition per table. DDL (ddl.ts), row encoders (encode.ts)
 * and row types (`RowOf`) are derived from these definitions.
 */
import { type Column, c, type ValueOf } from './columns.js';

export type Columns = Readonly<
  Record<string, Column<never> | Column<number> | Column<string> | Column<Uint8Array>>
>;

export interface TableDef<C extends Columns = Columns> {
  readonly name: string;
  readonly columns: C;
  /** ENGINE without the Replicated prefix: MergeTree, SummingMergeTree(...) */
  readonly engine: string;
  readonly partitionBy?: string;
  readonly orderBy: readonly string[];
  /**
   * The columns a cluster's Distributed table shards by (`cityHash64` of them, ddl.ts): a
   * function of the row, so a retried batch splits across shards exactly as the first try
   * did and each shard's part deduplicates by the batch's token. A random key (`rand()`)
   * splits a retry differently: a shard that took the first try's part drops the retry's
   * as a duplicate, losing the rows that now went to it and doubling those that moved.
   */
  readonly shardBy: readonly string[];
  /**
   * The traffic-time column (when the traffic was on the wire): it windows, partitions and
   * answers queries. Retention does not count from it but from the arrival column
   * (`received`, see ARRIVAL), so an import of an old capture is kept for the full retention.
   */
  readonly time?: string;
  /** the setting that holds this table's retention, in days, counted from arrival (none: kept) */
  readonly retention?: keyof RetentionDays;
  /** fed by a materialized view from this table, aggregating as its SELECT says */
  readonly from?: { readonly table: string; readonly select: string };
}

export type RowOf<T extends TableDef> = { -readonly [K in keyof T['columns']]: ValueOf<T['columns'][K]> };

/**
 * Arrival time: when the row reached the store, filled by ClickHouse (`DEFAULT now()`), never
 * sent by podwire's encoders (so it is not in `columns` or `RowOf`). Every table's TTL counts
 * from it — the second of the two clocks (ARCHITECTURE.md): traffic time windows and answers
 * queries, arrival time drives retention, as Akvorado's TimeReceived does. Rows replayed from
 * the spool arrive when they are replayed, so retention never ends before its promise.
 * A rollup keeps the latest arrival of the rows it sums (SimpleAggregateFunction(max)), so a
 * bucket that keeps getting rows lives as long as its newest row.
 */
export const ARRIVAL = {
  name: 'received',
  type: "DateTime('UTC')",
  rollupType: "SimpleAggregateFunction(max, DateTime('UTC'))",
  codec: 'DoubleDelta, ZSTD(1)',
  default: 'now()',
} as const;

/**
 * What `received` is for rows stored before the column existed (an upgrade from a release
 * whose TTL counted from traffic time): their traffic time, which is what their retention
 * counted from until then.
 */
export function arrivalBackfill(t: TableDef): string {
  if (t.time === undefined) return ARRIVAL.default;
  return t.columns[t.time]?.type.startsWith('DateTime64') ? `toDateTime(${t.time})` : t.time;
}

/** The arrival column's type in this table: a rollup keeps the max of what it sums. */
export const arrivalType = (t: TableDef) => (t.from ? ARRIVAL.rollupType : ARRIVAL.type);

/** Retention per table, in days (configurable; these are the defaults of the issue). */
export interface RetentionDays {
  flows: number;
  flows_1m: number;
  flows_1h: number;
  packet_samples: number;
  vf_counters: number;
  vf_counters_1h: number;
  sla_events: number;
}

/**
 * The longest retention a table takes: arrival + retention must stay within what DateTime
 * holds (2106-02-07), or the TTL wraps to a past time and ClickHouse deletes rows as they
 * arrive. Ten years keeps that true until 2096.
 */
export const MAX_RETENTION_DAYS = 3660;

export const DEFAULT_RETENTION: RetentionDays = {
  flows: 7,
  flows_1m: 30,
  flows_1h: 365,
  packet_samples: 3,
  vf_counters: 30,
  vf_counters_1h: 365,
  sla_events: 365,
};

/** The attribution of one side of a flow or sample, as columns prefixed src_ / dst_. */
const side = <P extends 'src' | 'dst'>(p: P) =>
  ({
    [`${p}_namespace`]: c.lowString(),
    [`${p}_pod`]: c.lowString(),
    [`${p}_node`]: c.lowString(),
    [`${p}_interface`]: c.lowString(),
    [`${p}_network`]: c.lowString(),
    [`${p}_tier`]: c.lowString(),
  }) as Record<`${P}_${'namespace' | 'pod' | 'node' | 'interface' | 'network' | 'tier'}`, Column<string>>;

/** What a flow and a packet sample both say of the pod's packet, and who sent and got it. */
const packetColumns = {
  vlan: c.uint16(),
  /** -1 when not tunnelled */
  vni: c.int32(),
  src_mac: c.mac(),
  dst_mac: c.mac(),
  src_ip: c.ipv6(),
  dst_ip: c.ipv6(),
  src_port: c.uint16(),
  dst_port: c.uint16(),
  /** IP protocol; 255 when the packet had no IP layer */
  protocol: c.uint8(),
  tcp_flags: c.uint8(),
  ...side('src'),
  ...side('dst'),
};

const flowColumns = {
  window_start: c.dateTime(),
  window_seconds: c.uint16(),
  /** where the traffic was seen: 'erspan:7', 'sflow:10.0.0.1:12', 'capture:eth0', … */
  observation: c.lowString(),
  ...packetColumns,
  /** scaled by the sampling rate */
  bytes: c.uint64(),
  packets: c.uint64(),
  /** packets actually seen */
  samples: c.uint64(),
  sampling_rate: c.uint32(),
};

/**
 * Raw flows. ORDER BY serves the two main queries: a pod's time series reads one
 * (src_namespace, src_pod) prefix range in time order; top talkers over a time range read
 * the day partitions of the range (PARTITION BY day prunes the rest) and the rollups
 * answer long ranges. Low-cardinality columns first also compress best.
 */
export const flows: TableDef<typeof flowColumns> = {
  name: 'flows',
  columns: flowColumns,
  engine: 'MergeTree',
  partitionBy: 'toYYYYMMDD(window_start)',
  orderBy: ['src_namespace', 'src_pod', 'window_start', 'dst_namespace', 'dst_pod'],
  shardBy: ['src_namespace', 'src_pod', 'dst_namespace', 'dst_pod'],
  time: 'window_start',
  retention: 'flows',
};

const rollupColumns = {
  window_start: c.dateTime(),
  observation: c.lowString(),
  vlan: c.uint16(),
  vni: c.int32(),
  protocol: c.uint8(),
  src_namespace: c.lowString(),
  src_pod: c.lowString(),
  dst_namespace: c.lowString(),
  dst_pod: c.lowString(),
  bytes: c.uint64(),
  packets: c.uint64(),
  samples: c.uint64(),
  flows: c.uint64(),
};

/**
 * The rollups keep the pod-to-pod key and the sums only. A pod's node, interface, network
 * and tier are in the raw flows (and the inventory); carrying them in the rollups doubled
 * the cost of every insert (measured: their materialized views dominate ingest time).
 */
const rollupKey = [
  'src_namespace',
  'src_pod',
  'window_start',
  'dst_namespace',
  'dst_pod',
  'observation',
  'vlan',
  'vni',
  'protocol',
];

const rollupSelect = (bucket: string, from: string, count: string) => `SELECT
  ${bucket}(window_start) AS window_start, observation, vlan, vni, protocol,
  src_namespace, src_pod, dst_namespace, dst_pod,
  sum(bytes) AS bytes, sum(packets) AS packets, sum(samples) AS samples, ${count} AS flows,
  max(received) AS received
FROM {db}.${from}
GROUP BY window_start, observation, vlan, vni, protocol, src_namespace, src_pod, dst_namespace, dst_pod`;

/** Per-minute pod-to-pod rollup (no 5-tuple): SummingMergeTree fed by a materialized view. */
export const flows_1m: TableDef<typeof rollupColumns> = {
  name: 'flows_1m',
  columns: rollupColumns,
  engine: 'SummingMergeTree((bytes, packets, samples, flows))',
  partitionBy: 'toYYYYMMDD(window_start)',
  orderBy: rollupKey,
  shardBy: ['src_namespace', 'src_pod', 'dst_namespace', 'dst_pod'],
  time: 'window_start',
  retention: 'flows_1m',
  from: { table: 'flows', select: rollupSelect('toStartOfMinute', 'flows', 'count()') },
};

/** Per-hour rollup, for long ranges: fed from the 1-minute rollup, not from raw flows. */
export const flows_1h: TableDef<typeof rollupColumns> = {
  name: 'flows_1h',
  columns: rollupColumns,
  engine: 'SummingMergeTree((bytes, packets, samples, flows))',
  partitionBy: 'toYYYYMM(window_start)',
  orderBy: rollupKey,
  shardBy: ['src_namespace', 'src_pod', 'dst_namespace', 'dst_pod'],
  time: 'window_start',
  retention: 'flows_1h',
  from: { table: 'flows_1m', select: rollupSelect('toStartOfHour', 'flows_1m', 'sum(flows)') },
};

const sampleColumns = {
  time: c.dateTime64(),
  observation: c.lowString(),
  /** the first 128 bytes of the frame as captured */
  frame: c.bytes(),
  frame_length: c.uint32(),
  ...packetColumns,
  sampling_rate: c.uint32(),
  /** the pod's frame's EtherType (after its tags): 0x0806 for ARP, whose addresses are '::' */
  ethertype: c.uint16(),
};

/** Packet samples for "which pod sent this": looked up by time range and addresses. */
export const packet_samples: TableDef<typeof sampleColumns> = {
  name: 'packet_samples',
  columns: sampleColumns,
  engine: 'MergeTree',
  partitionBy: 'toYYYYMMDD(time)',
  orderBy: ['time', 'vlan', 'vni'],
  shardBy: ['time', 'observation', 'frame'],
  time: 'time',
  retention: 'packet_samples',
};

/** A VF and its pod, and the counter deltas of one interval: shared by raw and rollup. */
const vfBase = {
  time: c.dateTime(),
  node: c.lowString(),
  pf: c.lowString(),
  vf: c.uint16(),
  namespace: c.lowString(),
  pod: c.lowString(),
  tier: c.lowString(),
  rx_bytes: c.uint64(),
  rx_packets: c.uint64(),
  rx_dropped: c.uint64(),
  tx_bytes: c.uint64(),
  tx_packets: c.uint64(),
  tx_dropped: c.uint64(),
  qos_dropped: c.uint64(),
};

const vfColumns = {
  ...vfBase,
  /** the VF's configured rates, bits per second */
  min_rate: c.uint64(),
  max_rate: c.uint64(),
};

/** Per-VF counter deltas per collection interval. */
export const vf_counters: TableDef<typeof vfColumns> = {
  name: 'vf_counters',
  columns: vfColumns,
  engine: 'MergeTree',
  partitionBy: 'toYYYYMMDD(time)',
  orderBy: ['node', 'pf', 'vf', 'time'],
  shardBy: ['node', 'pf', 'vf'],
  time: 'time',
  retention: 'vf_counters',
};

const vfRollupColumns = {
  ...vfBase,
  samples: c.uint64(),
};

/** Hourly VF counter rollup. */
export const vf_counters_1h: TableDef<typeof vfRollupColumns> = {
  name: 'vf_counters_1h',
  columns: vfRollupColumns,
  engine:
    'SummingMergeTree((rx_bytes, rx_packets, rx_dropped, tx_bytes, tx_packets, tx_dropped, qos_dropped, samples))',
  partitionBy: 'toYYYYMM(time)',
  orderBy: ['node', 'pf', 'vf', 'time', 'namespace', 'pod', 'tier'],
  shardBy: ['node', 'pf', 'vf'],
  time: 'time',
  retention: 'vf_counters_1h',
  from: {
    table: 'vf_counters',
    select: `SELECT toStartOfHour(time) AS time, node, pf, vf, namespace, pod, tier,
  sum(rx_bytes) AS rx_bytes, sum(rx_packets) AS rx_packets, sum(rx_dropped) AS rx_dropped,
  sum(tx_bytes) AS tx_bytes, sum(tx_packets) AS tx_packets, sum(tx_dropped) AS tx_dropped,
  sum(qos_dropped) AS qos_dropped, count() AS samples, max(received) AS received
FROM {db}.vf_counters
GROUP BY time, node, pf, vf, namespace, pod, tier`,
  },
};

const slaColumns = {
  time: c.dateTime(),
  rule: c.lowString(),
  severity: c.lowString(),
  namespace: c.lowString(),
  pod: c.lowString(),
  tier: c.lowString(),
  /** firing | resolved */
  state: c.lowString(),
  value: c.float64(),
  details: c.string('ZSTD(1)'),
  /** when the alert's condition began; a resolved row's `time` is when it ended */
  started: c.dateTime(),
  node: c.lowString(),
  /** a VF alert: its guaranteed minimum and delivered transmit rate, bits per second */
  min_rate: c.float64(),
  delivered_rate: c.float64(),
  /** a VF alert: QoS and transmit drops, packets per second */
  drop_rate: c.float64(),
};

/** SLA alert state changes (written by the in-process evaluator, alerts/events.ts). */
export const sla_events: TableDef<typeof slaColumns> = {
  name: 'sla_events',
  columns: slaColumns,
  engine: 'MergeTree',
  partitionBy: 'toYYYYMM(time)',
  orderBy: ['namespace', 'pod', 'time'],
  shardBy: ['namespace', 'pod'],
  time: 'time',
  retention: 'sla_events',
};

/** Every table, in creation order (a rollup after its source). */
export const TABLES: readonly TableDef[] = [
  flows,
  flows_1m,
  flows_1h,
  packet_samples,
  vf_counters,
  vf_counters_1h,
  sla_events,
] as unknown as readonly TableDef[];
