/**
 * SQL for the ClickHouse panels, derived from the ingest schema (ingest/schema.ts): table
 * names, column names and each table's traffic-time column come from the table definitions,
 * so a renamed column fails the build here, not a panel at run time. Time ranges filter on
 * traffic time (`window_start`, `time`), never on arrival (`received`), which only drives
 * retention.
 *
 * Dashboard variables reach SQL only as `decodeURLComponent('${name:percentencode}')`:
 * Grafana percent-encodes the value (quotes and backslashes included), so no value can end
 * the string literal it sits in — the ClickHouse plugin has no query parameters, and this is
 * what stands in for them.
 */
import type { TableDef } from '../ingest/schema.js';

/** Column names of a table, checked by the compiler: `cols(flows).src_pod === 'src_pod'`. */
export type ColumnNames<T extends TableDef> = { readonly [K in keyof T['columns'] & string]: K };

export interface SqlTable<T extends TableDef> {
  /** `database.table` */
  readonly ref: string;
  /** the table's columns, by name */
  readonly c: ColumnNames<T>;
  /** the traffic-time column */
  readonly time: string;
  /** `$__timeFilter(time)`: the panel's range on traffic time */
  readonly timeFilter: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Database names reach SQL text, so only plain identifiers are taken. */
export function checkDatabaseName(name: string, what = 'database'): string {
  if (!IDENTIFIER.test(name))
    throw new Error(`${what}: '${name}' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  return name;
}

export function sqlTable<T extends TableDef>(def: T, database: string): SqlTable<T> {
  if (def.time === undefined) throw new Error(`table ${def.name} has no traffic-time column`);
  const c = Object.fromEntries(Object.keys(def.columns).map((k) => [k, k])) as ColumnNames<T>;
  return {
    ref: `${checkDatabaseName(database)}.${def.name}`,
    c,
    time: def.time,
    timeFilter: `$__timeFilter(${def.time})`,
  };
}

/** A dashboard variable's value as an SQL string expression (see the module comment). */
export const sqlVar = (name: string) => `decodeURLComponent('\${${name}:percentencode}')`;

/**
 * The value a variable's "All" stands for. Grafana formats a custom all value with
 * percentencode like any other, but an empty one is no custom value (it would send every
 * option instead), so "All" is `.*` — as a Prometheus regex would say it.
 */
export const ALL_VALUE = '.*';

/** Whether `name` is at its "All" value. */
export const isAll = (name: string) => `${sqlVar(name)} = '${ALL_VALUE}'`;

/** IP protocol numbers as names (IANA), for tables and legends. */
export function protocolName(column: string): string {
  const names: [number, string][] = [
    [1, 'icmp'],
    [6, 'tcp'],
    [17, 'udp'],
    [47, 'gre'],
    [50, 'esp'],
    [58, 'icmpv6'],
    [132, 'sctp'],
    [255, 'non-ip'],
  ];
  return `transform(${column}, [${names.map(([n]) => n).join(', ')}], [${names.map(([, s]) => `'${s}'`).join(', ')}], toString(${column}))`;
}

/**
 * A bucket of at least `minSeconds` (a rollup's resolution) and at least the panel's
 * interval, and the expression that turns a byte sum over it into bits per second.
 */
export function bucket(
  timeColumn: string,
  minSeconds: number,
): { start: string; bitsPerSecond: (bytes: string) => string } {
  const width = `greatest($__interval_s, ${minSeconds})`;
  return {
    start: `toStartOfInterval(${timeColumn}, toIntervalSecond(${width}))`,
    bitsPerSecond: (bytes) => `${bytes} * 8 / ${width}`,
  };
}
