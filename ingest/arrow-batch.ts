/**
 * Batches of rows as Arrow IPC streams, built column by column into typed arrays from the
 * schema's column definitions. Chosen by measurement over TabSeparated (bench/ingest.ts,
 * ingest/README.md): chDB parses a 29-column TSV flow row at ~190k rows/s, while an Arrow
 * batch loads at ~1M rows/s and builds in ~0.6 µs a row here. Strings are
 * dictionary-encoded (most are LowCardinality: namespaces, pods, tiers), so a batch
 * stores each distinct string once.
 */
import {
  Binary,
  Dictionary,
  Int32,
  makeData,
  makeVector,
  RecordBatchStreamWriter,
  Table,
  TimestampMicrosecond,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { type ArrowKind, type Column, TimeRangeError } from './columns.js';
import type { RowOf, TableDef } from './schema.js';

/** A batch ready to insert: Arrow IPC (the writer's format) or TabSeparated lines. */
export interface EncodedBatch {
  readonly format: 'ArrowStream' | 'TabSeparated';
  readonly columns: readonly string[];
  readonly rows: number;
  readonly body: Buffer;
  /**
   * Set when the body is pooled (see BodyPool): whoever takes the batch (the writer)
   * releases it once it is stored, spooled or dropped; a store that reads the body after
   * that (an insert cut short by a timeout still running) retains it until done.
   */
  readonly lease?: BodyLease;
}

/** A pooled body's reference count: back to its pool when the last holder releases it. */
export interface BodyLease {
  retain(): void;
  release(): void;
}

/**
 * Reused batch bodies. A big body in fresh memory costs its page faults on the event
 * loop: filling a new 36 MB buffer (a 250k-row flow batch) took 150–280 ms here, the same
 * bytes into a buffer already touched ~2–15 ms (measured; this VM's faults are slow). So
 * the flow sink's bodies come from this pool, and are SharedArrayBuffers so the embedded
 * engine's worker reads them without a copy. At most `keep` free buffers are kept.
 */
export class BodyPool {
  private readonly free: SharedArrayBuffer[] = [];

  constructor(private readonly keep = 3) {}

  /** A body of `n` bytes and its lease (count 1). */
  take(n: number): { body: Buffer; lease: BodyLease } {
    const i = this.free.findIndex((b) => b.byteLength >= n);
    // headroom: batches of one stream vary a little in size
    const sab = i >= 0 ? this.free.splice(i, 1)[0] : new SharedArrayBuffer(Math.ceil(n * 1.1) + 4096);
    let holders = 1;
    const lease: BodyLease = {
      retain: () => {
        holders++;
      },
      release: () => {
        if (--holders === 0 && this.free.length < this.keep) this.free.push(sab);
      },
    };
    return { body: Buffer.from(sab, 0, n), lease };
  }

  /** Free buffers and their bytes (for tests and diagnostics). */
  get stats(): { free: number; bytes: number } {
    return { free: this.free.length, bytes: this.free.reduce((s, b) => s + b.byteLength, 0) };
  }
}

export interface ColumnBuilder {
  push(v: unknown): void;
  vector(n: number): Vector;
}

export type NumericArray = Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array;
const NUMERIC: Partial<Record<ArrowKind, new (n: number) => NumericArray>> = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f64: Float64Array,
};

/** A numeric column whose typed array a columnar sink fills directly (see flow-arrow.ts). */
export class NumericColumn implements ColumnBuilder {
  private a: NumericArray;
  private n = 0;

  constructor(kind: ArrowKind, cap: number) {
    const A = NUMERIC[kind];
    if (A === undefined) throw new TypeError(`not a numeric Arrow column kind: ${kind}`);
    this.a = new A(cap);
  }

  /** The backing array, grown to hold `len` values; values up to `len` count as pushed. */
  reserve(len: number): NumericArray {
    if (len > this.a.length) {
      const b = new (this.a.constructor as new (n: number) => NumericArray)(Math.max(len, this.a.length * 2));
      b.set(this.a);
      this.a = b;
    }
    this.n = len;
    return this.a;
  }

  push(v: unknown): void {
    this.reserve(this.n + 1)[this.n - 1] = v as number;
  }

  /** Empty again, keeping the array (a batch's bytes are serialized by then). */
  clear(): void {
    this.n = 0;
  }

  vector(len: number): Vector {
    return makeVector(this.a.subarray(0, len));
  }
}

/** A dictionary-encoded string column; `intern` + `pushId` let a sink cache ids per key. */
export class DictionaryColumn implements ColumnBuilder {
  private idx: Int32Array;
  private n = 0;
  private readonly ids = new Map<string, number>();
  private values: string[] = [];

  constructor(cap: number) {
    this.idx = new Int32Array(cap);
  }

  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  /** The id array, grown to hold `len` rows; rows up to `len` count as pushed (fill them). */
  reserveIds(len: number): Int32Array {
    if (len > this.idx.length) {
      const b = new Int32Array(Math.max(len, this.idx.length * 2));
      b.set(this.idx);
      this.idx = b;
    }
    this.n = len;
    return this.idx;
  }

  /** Empty again (dictionary too), keeping the id array. */
  clear(): void {
    this.n = 0;
    this.ids.clear();
    this.values = [];
  }

  pushId(id: number): void {
    if (this.n === this.idx.length) {
      const b = new Int32Array(this.idx.length * 2);
      b.set(this.idx);
      this.idx = b;
    }
    this.idx[this.n++] = id;
  }

  push(v: unknown): void {
    this.pushId(this.intern(v as string));
  }

  vector(len: number): Vector {
    const dict = vectorFromArray(this.values, new Utf8());
    return makeVector(
      makeData({
        type: new Dictionary(new Utf8(), new Int32()),
        length: len,
        nullCount: 0,
        data: this.idx.subarray(0, len),
        dictionary: dict,
      }),
    );
  }
}

function timestamp(cap: number): ColumnBuilder {
  let a = new BigInt64Array(cap);
  let n = 0;
  return {
    push(v) {
      if (n === a.length) {
        const b = new BigInt64Array(a.length * 2);
        b.set(a);
        a = b;
      }
      a[n++] = BigInt(Math.round(v as number));
    },
    vector(len) {
      return makeVector(
        makeData({
          type: new TimestampMicrosecond('UTC'),
          length: len,
          nullCount: 0,
          data: a.subarray(0, len),
        }),
      );
    },
  };
}

function binary(): ColumnBuilder {
  const parts: Uint8Array[] = [];
  return {
    push(v) {
      parts.push(v as Uint8Array);
    },
    vector(len) {
      const offsets = new Int32Array(len + 1);
      let total = 0;
      for (let i = 0; i < len; i++) {
        offsets[i] = total;
        total += parts[i].length;
      }
      offsets[len] = total;
      const data = new Uint8Array(total);
      for (let i = 0; i < len; i++) data.set(parts[i], offsets[i]);
      return makeVector(
        makeData({ type: new Binary(), length: len, nullCount: 0, valueOffsets: offsets, data }),
      );
    },
  };
}

export function builderFor(kind: ArrowKind, cap: number): ColumnBuilder {
  switch (kind) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'i32':
    case 'f64':
      return new NumericColumn(kind, cap);
    case 'dt64':
      return timestamp(cap);
    case 'str':
      return new DictionaryColumn(cap);
    case 'bin':
      return binary();
  }
}

const CHECK_NUMBER = 0;
const CHECK_FINITE = 1;
const CHECK_STRING = 2;
const CHECK_BYTES = 3;
const CHECK_WHAT = ['a number', 'a finite number', 'a string', 'a Uint8Array'];

/** Accumulates rows of one table; `finish()` returns the batch as an Arrow IPC stream. */
export class ArrowBatchBuilder<T extends TableDef> {
  readonly columns: readonly string[];
  private readonly builders: ColumnBuilder[];
  /** per column, what its values must be (see add) */
  private readonly checks: Uint8Array;
  /** the row being added, checked before any value is pushed */
  private readonly values: unknown[];
  /** per column, the times it holds (time columns only) */
  private readonly ranges: (readonly [number, number] | undefined)[];
  rows = 0;

  constructor(
    readonly table: T,
    capacity = 1024,
  ) {
    this.columns = Object.keys(table.columns);
    const kinds = this.columns.map((c) => (table.columns[c] as Column<unknown>).arrow);
    this.builders = kinds.map((k) => builderFor(k, capacity));
    this.checks = Uint8Array.from(kinds, (k) =>
      k === 'str' ? CHECK_STRING : k === 'bin' ? CHECK_BYTES : k === 'dt64' ? CHECK_FINITE : CHECK_NUMBER,
    );
    this.values = new Array(this.columns.length);
    this.ranges = this.columns.map((c) => (table.columns[c] as Column<unknown>).range);
  }

  /**
   * Adds one row, or throws a TypeError (a missing value, or one of the wrong type) or a
   * TimeRangeError (a time the column cannot hold) and adds nothing: every value is read and checked before any is pushed, so a bad row
   * cannot leave the columns misaligned or fail the batch later in finish().
   */
  add(row: RowOf<T>): void {
    const r = row as Record<string, unknown>;
    const cols = this.columns;
    const vals = this.values;
    const checks = this.checks;
    for (let i = 0; i < cols.length; i++) {
      const v = r[cols[i]];
      if (v === undefined || v === null) throw new TypeError(`${this.table.name}.${cols[i]}: missing value`);
      const k = checks[i];
      if (
        k === CHECK_STRING
          ? typeof v !== 'string'
          : k === CHECK_BYTES
            ? !(v instanceof Uint8Array)
            : typeof v !== 'number' || (k === CHECK_FINITE && !Number.isFinite(v))
      ) {
        throw new TypeError(`${this.table.name}.${cols[i]}: not ${CHECK_WHAT[k]}: ${String(v).slice(0, 40)}`);
      }
      const range = this.ranges[i];
      if (range !== undefined && !((v as number) >= range[0] && (v as number) <= range[1]))
        throw new TimeRangeError(`${this.table.name}.${cols[i]}`, v as number, range);
      vals[i] = v;
    }
    for (let i = 0; i < cols.length; i++) this.builders[i].push(vals[i]);
    this.rows++;
  }

  finish(): EncodedBatch {
    const vectors: Record<string, Vector> = {};
    for (let i = 0; i < this.columns.length; i++)
      vectors[this.columns[i]] = this.builders[i].vector(this.rows);
    return {
      format: 'ArrowStream' as const,
      columns: this.columns,
      rows: this.rows,
      body: ipcBuffer(vectors),
    };
  }
}

/** The IPC stream of `rows` rows from column builders (in the table's column order). */
export function encodeArrow(
  columns: readonly string[],
  builders: readonly ColumnBuilder[],
  rows: number,
  pool?: BodyPool,
): EncodedBatch {
  const vectors: Record<string, Vector> = {};
  for (let i = 0; i < columns.length; i++) vectors[columns[i]] = builders[i].vector(rows);
  if (!pool) return { format: 'ArrowStream', columns, rows, body: ipcBuffer(vectors) };
  const { body, lease } = ipcInto(vectors, pool);
  return { format: 'ArrowStream', columns, rows, body, lease };
}

/**
 * The IPC stream written into a pooled body. The writer's chunks are views of the column
 * arrays (no copy); they are read from its byte queue (`_sink._values`, an internal of
 * apache-arrow 21, checked) because its only synchronous public output joins them into
 * fresh memory, the cost this avoids.
 */
function ipcInto(vectors: Record<string, Vector>, pool: BodyPool): { body: Buffer; lease: BodyLease } {
  const w = RecordBatchStreamWriter.writeAll(new Table(vectors));
  const values = (w as unknown as { _sink?: { _values?: unknown } })._sink?._values;
  const chunks = Array.isArray(values) ? (values as Uint8Array[]) : [w.toUint8Array(true)];
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = pool.take(n);
  let at = 0;
  for (const c of chunks) {
    out.body.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The IPC stream as a Buffer over the serializer's own bytes (Buffer.from(u8) would copy them). */
function ipcBuffer(vectors: Record<string, Vector>): Buffer {
  const u8 = tableToIPC(new Table(vectors), 'stream');
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
