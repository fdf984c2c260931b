/**
 * Flows straight from the flow table's rows into Arrow batches of the `flows` table: the
 * hot sink of the packet path. Hand-written for measured speed: building a FlowRecord and
 * a row object per flow and going through the generic builder cost ~2.5 µs a flow, this
 * reads the rows' fields directly and interns each endpoint's strings once per batch.
 * Every column of the `flows` definition must have an extractor here (checked at load).
 */
import { FixedSizeBinary, makeData, makeVector, type Vector } from 'apache-arrow';
import type { FlowBatch } from '../collector/flows/flow-table.js';
import {
  builderFor,
  type ColumnBuilder,
  type DictionaryColumn,
  type EncodedBatch,
  encodeArrow,
  NumericColumn,
} from './arrow-batch.js';
import type { Column } from './columns.js';
import type { ObservationName } from './flow-rows.js';
import { flows } from './schema.js';

type Side = 'src' | 'dst';
type Attr = 'namespace' | 'pod' | 'node' | 'interface' | 'network' | 'tier';
const ATTRS: readonly Attr[] = ['namespace', 'pod', 'node', 'interface', 'network', 'tier'];

/** What fills each column: a number per flow, or a string column with its own logic. */
type Extract =
  | { kind: 'num'; get: (b: FlowBatch, i: number) => number }
  | { kind: 'obs' }
  | { kind: 'ip'; side: Side }
  | { kind: 'ep'; side: Side; attr: Attr };

const num = (get: (b: FlowBatch, i: number) => number): Extract => ({ kind: 'num', get });

const EXTRACT: Record<string, Extract> = {
  window_start: num((b, i) => b.windowStart(i)),
  window_seconds: num((b) => b.windowSeconds),
  observation: { kind: 'obs' },
  vlan: num((b, i) => b.vlan(i)),
  vni: num((b, i) => b.vni(i)),
  src_mac: num((b, i) => b.srcMac(i)),
  dst_mac: num((b, i) => b.dstMac(i)),
  src_ip: { kind: 'ip', side: 'src' },
  dst_ip: { kind: 'ip', side: 'dst' },
  src_port: num((b, i) => b.srcPort(i)),
  dst_port: num((b, i) => b.dstPort(i)),
  protocol: num((b, i) => {
    const p = b.protocol(i);
    return p < 0 ? 255 : p;
  }),
  tcp_flags: num((b, i) => b.tcpFlags(i)),
  bytes: num((b, i) => b.bytes(i)),
  packets: num((b, i) => b.packets(i)),
  samples: num((b, i) => b.packets(i) / b.samplingRate(i)),
  sampling_rate: num((b, i) => b.samplingRate(i)),
};
for (const side of ['src', 'dst'] as const)
  for (const attr of ATTRS) EXTRACT[`${side}_${attr}`] = { kind: 'ep', side, attr };

const COLUMNS = Object.keys(flows.columns);
for (const c of COLUMNS) if (!EXTRACT[c]) throw new Error(`flow-arrow.ts: no extractor for flows.${c}`);
for (const c of Object.keys(EXTRACT))
  if (!(c in flows.columns)) throw new Error(`flow-arrow.ts: flows has no column ${c}`);

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
  private readonly plan = COLUMNS.map((c) => EXTRACT[c]);
  /** per endpoint id + 1 (0 = none): the dictionary id of each attribute column */
  private epIds = new Map<number, Int32Array>();
  private obsIds = new Map<number, number>();
  rows = 0;

  constructor(
    private readonly names: ObservationName,
    private readonly capacity = 65536,
  ) {
    this.reset();
  }

  private reset(): void {
    this.builders = COLUMNS.map((c, i) => {
      const kind = (flows.columns[c as keyof typeof flows.columns] as Column<unknown>).arrow;
      const k = this.plan[i].kind;
      if (k === 'num') return new NumericColumn(kind, this.capacity);
      if (k === 'ip') return new Ip6Column(this.capacity);
      return builderFor(kind, this.capacity);
    });
    this.epIds.clear();
    this.obsIds.clear();
    this.rows = 0;
  }

  /** Adds flows [from, to) of a batch. */
  add(b: FlowBatch, from = 0, to = b.count): void {
    const plan = this.plan;
    const eps = b.endpointList;
    for (let c = 0; c < plan.length; c++) {
      const x = plan[c];
      const col = this.builders[c];
      if (x.kind === 'num') {
        // straight into the column's typed array: a push() per value was a third of the cost
        const n0 = this.rows;
        const a = (col as NumericColumn).reserve(n0 + to - from);
        const get = x.get;
        for (let i = from; i < to; i++) a[n0 + i - from] = get(b, i);
      } else if (x.kind === 'obs') {
        const d = col as DictionaryColumn;
        for (let i = from; i < to; i++) {
          const o = b.observation(i);
          let id = this.obsIds.get(o);
          if (id === undefined) {
            id = d.intern(this.names(o));
            this.obsIds.set(o, id);
          }
          d.pushId(id);
        }
      } else if (x.kind === 'ip') {
        // 16 bytes per address (IPv4 mapped), as ClickHouse stores IPv6: formatting and
        // then parsing text addresses was the largest cost of a flow row on both sides
        const n0 = this.rows;
        const bytes = (col as Ip6Column).reserve(n0 + to - from);
        const side = x.side === 'src' ? 0 : 1;
        for (let i = from; i < to; i++) b.ipBytes(i, side, bytes, (n0 + i - from) * 16);
      } else {
        const d = col as DictionaryColumn;
        const a = ATTRS.indexOf(x.attr);
        for (let i = from; i < to; i++) {
          const ep = x.side === 'src' ? b.srcEndpoint(i) : b.dstEndpoint(i);
          const key = ep < 0 ? -1 : ep;
          let ids = this.epIds.get(key);
          if (ids === undefined) {
            ids = new Int32Array(ATTRS.length * 2).fill(-1);
            this.epIds.set(key, ids);
          }
          const slot = (x.side === 'src' ? 0 : ATTRS.length) + a;
          let id = ids[slot];
          if (id < 0) {
            id = d.intern(ep < 0 ? '' : eps[ep][x.attr]);
            ids[slot] = id;
          }
          d.pushId(id);
        }
      }
    }
    this.rows += to - from;
  }

  /** The batch so far, and a fresh builder for the next one. */
  finish(): EncodedBatch {
    const out = encodeArrow(COLUMNS, this.builders, this.rows);
    this.reset();
    return out;
  }
}
