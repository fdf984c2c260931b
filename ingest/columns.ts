/**
 * Column types of the ClickHouse schema, each carrying its ClickHouse type, its codec and
 * the TypeScript type of its values, plus how to write a value as TSV: the DDL, the row
 * encoders and the row types are all derived from these, never retyped.
 */

/** How a column travels in an Arrow batch (ClickHouse casts to the column type on insert). */
export type ArrowKind = 'u8' | 'u16' | 'u32' | 'i32' | 'f64' | 'dt64' | 'str' | 'bin';

export interface Column<T> {
  readonly type: string;
  readonly codec?: string;
  readonly arrow: ArrowKind;
  /** a time column: the values it holds, [min, max] in its unit (see TimeRangeError) */
  readonly range?: readonly [number, number];
  /** the value as it appears in a TSV insert (escaped) */
  readonly tsv: (v: T) => string;
  /** phantom: the TypeScript type of the column's values */
  readonly _t?: T;
}

const num = (v: number) => String(v);

/** DateTime holds whole seconds 1970-01-01 .. 2106-02-07 06:28:15 UTC (a UInt32). */
export const DATETIME_RANGE = [0, 0xffffffff] as const;
/**
 * DateTime64(6) holds 1900-01-01 .. 2299-12-31 23:59:59.999999 UTC. Queries may ask for any
 * of it; podwire writes times from 1970 on (what every capture format can stamp).
 */
export const DATETIME64_RANGE_US = [0, Date.UTC(2300, 0, 1) * 1000 - 1] as const;
export const DATETIME64_MIN_SECONDS = Date.UTC(1900, 0, 1) / 1000;

/**
 * A time a column cannot hold. The store would not refuse it: ClickHouse clamps such a
 * time in text and an Arrow UInt32 wraps it, so the row would be stored at a wrong time.
 * The encoders refuse the row instead, and the writer counts it (`time_out_of_range`).
 */
export class TimeRangeError extends RangeError {
  constructor(column: string, value: number, range: readonly [number, number]) {
    super(`${column}: time ${value} is outside what the column holds [${range[0]}, ${range[1]}]`);
    this.name = 'TimeRangeError';
  }
}

/** Throws TimeRangeError unless v is within the column's range. */
export function checkTime(column: string, v: number, range: readonly [number, number]): number {
  if (!(v >= range[0] && v <= range[1])) throw new TimeRangeError(column, v, range);
  return v;
}

/** TSV escaping (ClickHouse's TabSeparated): backslash, tab, newline. */
export function tsvEscape(s: string): string {
  if (!/[\\\t\n\r\0']/.test(s)) return s;
  return s.replace(/[\\\t\n\r\0']/g, (c) =>
    c === '\\'
      ? '\\\\'
      : c === '\t'
        ? '\\t'
        : c === '\n'
          ? '\\n'
          : c === '\r'
            ? '\\r'
            : c === '\0'
              ? '\\0'
              : "\\'",
  );
}

function col<T>(type: string, arrow: ArrowKind, tsv: (v: T) => string, codec?: string): Column<T> {
  return codec === undefined ? { type, arrow, tsv } : { type, arrow, tsv, codec };
}

function timeCol(
  type: string,
  arrow: ArrowKind,
  text: (v: number) => string,
  range: readonly [number, number],
  codec: string,
): Column<number> {
  return { type, arrow, codec, range, tsv: (v) => text(checkTime(type, v, range)) };
}

const HEX = Array.from({ length: 256 }, (_, i) => `\\x${i.toString(16).padStart(2, '0')}`);

/** Bytes as a TSV string value: every byte as a \xHH escape (safe for any byte). */
export function bytesText(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Seconds since the epoch → 'YYYY-MM-DD hh:mm:ss' in UTC (the server's time zone is set to UTC). */
export function dateTimeText(sec: number): string {
  const d = new Date(sec * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** µs since the epoch → DateTime64(6) text. */
export function dateTime64Text(us: number): string {
  const sec = Math.floor(us / 1e6);
  return `${dateTimeText(sec)}.${pad(us - sec * 1e6, 6)}`;
}

export const c = {
  /** seconds since the epoch, UTC */
  dateTime: (codec = 'DoubleDelta, ZSTD(1)') =>
    timeCol("DateTime('UTC')", 'u32', dateTimeText, DATETIME_RANGE, codec),
  /** microseconds since the epoch, UTC */
  dateTime64: (codec = 'DoubleDelta, ZSTD(1)') =>
    timeCol("DateTime64(6, 'UTC')", 'dt64', dateTime64Text, DATETIME64_RANGE_US, codec),
  uint8: () => col<number>('UInt8', 'u8', num),
  uint16: () => col<number>('UInt16', 'u16', num),
  uint32: () => col<number>('UInt32', 'u32', num),
  int32: () => col<number>('Int32', 'i32', num),
  /** counters: exact in a JS number below 2^53 */
  uint64: (codec = 'T64, ZSTD(1)') => col<number>('UInt64', 'f64', num, codec),
  float64: (codec?: string) => col<number>('Float64', 'f64', num, codec),
  /** a 48-bit MAC as a number (MACNumToString() in queries) */
  mac: () => col<number>('UInt64', 'f64', num, 'ZSTD(1)'),
  /** IPv4 addresses are stored IPv4-mapped ('::ffff:10.0.0.1'); '' stores '::' */
  ipv6: () => col<string>('IPv6', 'str', (v) => (v === '' ? '::' : v), 'ZSTD(1)'),
  string: (codec?: string) => col<string>('String', 'str', tsvEscape, codec),
  lowString: () => col<string>('LowCardinality(String)', 'str', tsvEscape),
  /** raw bytes (a frame's first bytes), written as \xHH escapes */
  bytes: () => col<Uint8Array>('String', 'bin', bytesText, 'ZSTD(3)'),
} as const;

export type ValueOf<C> = C extends Column<infer T> ? T : never;
