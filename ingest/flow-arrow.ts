/**
 * Flows straight from the flow table's rows into Arrow batches of the `flows` table: the
 * hot sink of the packet path. Hand-written for measured speed: building a FlowRecord and
 * a row object per flow and going through the generic builder cost ~2.5 µs a flow, this
 * reads the rows' fields directly and interns each endpoint's strings once per batch.
 * Every column of the `flows` definition must have an extractor here (checked at load).
 */
import { FixedSizeBinary, makeData, makeVector, type Vector } from 'apache-arrow';
import type { Endpoint } from '../collector/attribution/endpoint-index.js';
import type { FlowBatch } from '../collector/flows/flow-table.js';
import {
  BodyPool,
  type ColumnBuilder,
  DictionaryColumn,
  type EncodedBatch,
  encodeArrow,
  type NumericArray,
  NumericColumn,
} from './arrow-batch.js';
import type { Column } from './columns.js';
import type { ObservationName } from './flow-rows.js';
import { flows } from './schema.js';

type Attr = 'namespace' | 'pod' | 'node' | 'interface' | 'network' | 'tier';
const ATTRS: readonly Attr[] = ['namespace', 'pod', 'node', 'interface', 'network', 'tier'];

/** The numeric columns, filled by `fillNumeric`. */
const NUMERIC_COLUMNS = [
  'window_start',
  'window_seconds',
  'vlan',
  'vni',
  'src_mac',
  'dst_mac',
  'src_port',
  'dst_port',
  'protocol',
  'tcp_flags',
  'bytes',
  'packets',
  'samples',
  'sampling_rate',
] as const;
const EP_COLUMNS = ['src', 'dst'].flatMap((side) => ATTRS.map((a) => `${side}_${a}`));
const HANDLED = new Set<string>([...NUMERIC_COLUMNS, 'observation', 'src_ip', 'dst_ip', ...EP_COLUMNS]);

const COLUMNS = Object.keys(flows.columns);
for (const c of COLUMNS) if (!HANDLED.has(c)) throw new Error(`flow-arrow.ts: no extractor for flows.${c}`);
for (const c of HANDLED)
  if (!(c in flows.columns)) throw new Error(`flow-arrow.ts: flows has no column ${c}`);

/**
 * Fills numeric column `name` for flows [from, to) of `b` into `a` from index `n0`. One
 * loop per column, each calling one FlowBatch accessor: every load and store stays
 * monomorphic and the accessor inlines. (One shared loop calling a closure per column cost
 * ~30 ns a value: a third of the packet path's whole budget for a flow.)
 */
function fillNumeric(
  name: string,
  b: FlowBatch,
  from: number,
  to: number,
  a: NumericArray,
  n0: number,
): void {
  const d = n0 - from;
  switch (name) {
    case 'window_start':
      for (let i = from; i < to; i++) a[i + d] = b.windowStart(i);
      return;
    case 'window_seconds':
      a.fill(b.windowSeconds, n0, n0 + to - from);
      return;
    case 'vlan':
      for (let i = from; i < to; i++) a[i + d] = b.vlan(i);
      return;
    case 'vni':
      for (let i = from; i < to; i++) a[i + d] = b.vni(i);
      return;
    case 'src_mac':
      for (let i = from; i < to; i++) a[i + d] = b.srcMac(i);
      return;
    case 'dst_mac':
      for (let i = from; i < to; i++) a[i + d] = b.dstMac(i);
      return;
    case 'src_port':
      for (let i = from; i < to; i++) a[i + d] = b.srcPort(i);
      return;
    case 'dst_port':
      for (let i = from; i < to; i++) a[i + d] = b.dstPort(i);
      return;
    case 'protocol':
      // 255: no IP layer
      for (let i = from; i < to; i++) a[i + d] = b.protocol(i) & 0xff;
      return;
    case 'tcp_flags':
      for (let i = from; i < to; i++) a[i + d] = b.tcpFlags(i);
      return;
    case 'bytes':
      for (let i = from; i < to; i++) a[i + d] = b.bytes(i);
      return;
    case 'packets':
      for (let i = from; i < to; i++) a[i + d] = b.packets(i);
      return;
    case 'samples':
      for (let i = from; i < to; i++) a[i + d] = b.packets(i) / b.samplingRate(i);
      return;
    case 'sampling_rate':
      for (let i = from; i < to; i++) a[i + d] = b.samplingRate(i);
      return;
    default:
      throw new Error(`flow-arrow.ts: no numeric extractor for flows.${name}`);
  }
}

/** IPv6 addresses as FixedSizeBinary(16): ClickHouse casts them to IPv6 without parsing. */
class Ip6Column implements ColumnBuilder {
  private a: Uint8Array;

  constructor(cap: number) {
    this.a = new Uint8Array(cap * 16);
  }

  /** The backing bytes, grown to hold `len` addresses. */
  reserve(len: number): Uint8Array {
    if (len * 16 > this.a.length) {
      const b = new Uint8Array(Math.max(len * 16, this.a.length * 2));
      b.set(this.a);
      this.a = b;
    }
    return this.a;
  }

  push(): void {
    throw new Error('Ip6Column is filled through reserve()');
  }

  vector(len: number): Vector {
    return makeVector(
      makeData({
        type: new FixedSizeBinary(16),
        length: len,
        nullCount: 0,
        data: this.a.subarray(0, len * 16),
      }),
    );
  }
}

/** Builds one Arrow batch of `flows` rows from flow-table batches (or slices of them). */
export class FlowArrowBuilder {
  private builders: ColumnBuilder[] = [];
  private readonly numeric: { name: string; col: NumericColumn }[] = [];
  /** the 12 endpoint attribute columns: src_namespace … src_tier, dst_namespace … dst_tier */
  private epCols: DictionaryColumn[] = [];
  private obsCol!: DictionaryColumn;
  private srcIpCol!: Ip6Column;
  private dstIpCol!: Ip6Column;
  /**
   * Dictionary ids of each endpoint's strings in this batch, at (ep + 1) * 12 + column
   * (ep -1: unattributed), valid where stamp[(ep + 1) * 2 + side] is this batch's
   * generation: typed arrays indexed by endpoint id, not a Map lookup per value.
   */
  private epDict = new Int32Array(0);
  private epStamp = new Int32Array(0);
  private generation = 0;
  private obsIds = new Map<number, number>();
  rows = 0;

  constructor(
    private readonly names: ObservationName,
    private readonly capacity = 65536,
    /** where batch bodies come from (see BodyPool: reused memory, shared with the engine) */
    private readonly pool = new BodyPool(),
  ) {
    this.reset();
  }

  /**
   * Empty for the next batch. The column arrays are made once and reused: finish() has
   * serialized their bytes by then, and fresh 64k-row arrays per batch (~5 MB) kept the
   * garbage collector busy with external memory.
   */
  private reset(): void {
    if (this.builders.length === 0) {
      this.builders = COLUMNS.map((c) => {
        if ((NUMERIC_COLUMNS as readonly string[]).includes(c)) {
          const kind = (flows.columns[c as keyof typeof flows.columns] as Column<unknown>).arrow;
          const col = new NumericColumn(kind, this.capacity);
          this.numeric.push({ name: c, col });
          return col;
        }
        if (c === 'src_ip' || c === 'dst_ip') {
          const ip = new Ip6Column(this.capacity);
          if (c === 'src_ip') this.srcIpCol = ip;
          else this.dstIpCol = ip;
          return ip;
        }
        const d = new DictionaryColumn(this.capacity);
        if (c === 'observation') this.obsCol = d;
        return d;
      });
      this.epCols = EP_COLUMNS.map((c) => this.builders[COLUMNS.indexOf(c)] as DictionaryColumn);
    } else {
      for (const { col } of this.numeric) col.clear();
      this.obsCol.clear();
      for (const d of this.epCols) d.clear();
    }
    this.generation++;
    this.obsIds.clear();
    this.rows = 0;
  }

  /** Offset of the endpoint's ids for one side in epDict, interning its strings on first use. */
  private epBase(ep: number, side: 0 | 1, eps: readonly Endpoint[]): number {
    const key = ep + 1;
    if (key * 2 + 2 > this.epStamp.length) {
      const n = Math.max(key + 1, eps.length + 1, (this.epStamp.length / 2) * 2);
      const stamp = new Int32Array(n * 2);
      stamp.set(this.epStamp);
      const dict = new Int32Array(n * 12);
      dict.set(this.epDict);
      this.epStamp = stamp;
      this.epDict = dict;
    }
    const base = key * 12 + side * 6;
    if (this.epStamp[key * 2 + side] !== this.generation) {
      const e = ep < 0 ? null : eps[ep];
      for (let k = 0; k < 6; k++)
        this.epDict[base + k] = this.epCols[side * 6 + k].intern(e === null ? '' : e[ATTRS[k]]);
      this.epStamp[key * 2 + side] = this.generation;
    }
    return base;
  }

  /** Adds flows [from, to) of a batch. */
  add(b: FlowBatch, from = 0, to = b.count): void {
    const n0 = this.rows;
    const n = to - from;
    for (const { name, col } of this.numeric) fillNumeric(name, b, from, to, col.reserve(n0 + n), n0);

    const obs = this.obsCol.reserveIds(n0 + n);
    for (let i = from; i < to; i++) {
      const o = b.observation(i);
      let id = this.obsIds.get(o);
      if (id === undefined) {
        id = this.obsCol.intern(this.names(o));
        this.obsIds.set(o, id);
      }
      obs[n0 + i - from] = id;
    }

    // 16 bytes per address (IPv4 mapped), as ClickHouse stores IPv6: formatting and then
    // parsing text addresses was the largest cost of a flow row on both sides
    const src = this.srcIpCol.reserve(n0 + n);
    const dst = this.dstIpCol.reserve(n0 + n);
    for (let i = from; i < to; i++) {
      const at = (n0 + i - from) * 16;
      b.ipBytes(i, 0, src, at);
      b.ipBytes(i, 1, dst, at);
    }

    const eps = b.endpointList;
    const cols = this.epCols;
    const ids: Int32Array[] = cols.map((c) => c.reserveIds(n0 + n));
    for (let i = from; i < to; i++) {
      const s = this.epBase(b.srcEndpoint(i), 0, eps);
      const d = this.epBase(b.dstEndpoint(i), 1, eps);
      const dict = this.epDict;
      const r = n0 + i - from;
      for (let k = 0; k < 6; k++) {
        ids[k][r] = dict[s + k];
        ids[6 + k][r] = dict[d + k];
      }
    }
    this.rows += n;
  }
  /** The batch so far, and a fresh builder for the next one. */
  finish(): EncodedBatch {
    const out = encodeArrow(COLUMNS, this.builders, this.rows, this.pool);
    this.reset();
    return out;
  }
}
