/**
 * Row encoders derived from the schema: a table's rows as TabSeparated lines, in the
 * table's column order. TabSeparated was chosen by measurement (see bench/ingest.ts and the
 * ingest README): chDB takes it through its raw insert at ~1M rows/s, where its client
 * path turns binary formats (Arrow, RowBinary) into strings and corrupts them.
 */
import type { Column } from './columns.js';
import type { RowOf, TableDef } from './schema.js';

export interface RowEncoder<T extends TableDef> {
  readonly table: string;
  readonly columns: readonly string[];
  /** one row as a TSV line, newline included */
  line(row: RowOf<T>): string;
}

export function rowEncoder<T extends TableDef>(t: T): RowEncoder<T> {
  const names = Object.keys(t.columns);
  const cols = names.map((n) => t.columns[n] as Column<unknown>);
  return {
    table: t.name,
    columns: names,
    line(row) {
      const r = row as Record<string, unknown>;
      let s = '';
      for (let i = 0; i < names.length; i++) {
        const v = r[names[i]];
        if (v === undefined || v === null) throw new TypeError(`${t.name}.${names[i]}: missing value`);
        s += (i === 0 ? '' : '\t') + cols[i].tsv(v);
      }
      return `${s}\n`;
    },
  };
}
