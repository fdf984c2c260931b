/**
 * Halves of an encoded batch, in its own format: what the writer inserts instead when the
 * store refuses a batch as bad data, down to the rows it refuses alone (writer.ts). An
 * Arrow batch is sliced and serialized again (each half keeps the whole dictionaries: small
 * next to the rows); TabSeparated rows are cut at a line end (a value's own newlines are
 * escaped, so every newline ends a row).
 */
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import type { EncodedBatch } from './arrow-batch.js';

/** Rows [0, mid) and [mid, rows) of a batch of 2 rows or more (mid = rows / 2, rounded down). */
export function splitBatch(b: EncodedBatch): [EncodedBatch, EncodedBatch] {
  if (b.rows < 2) throw new RangeError(`a batch of ${b.rows} rows cannot be split`);
  const mid = Math.floor(b.rows / 2);
  return b.format === 'ArrowStream' ? splitArrow(b, mid) : splitTsv(b, mid);
}

function splitArrow(b: EncodedBatch, mid: number): [EncodedBatch, EncodedBatch] {
  const t = tableFromIPC(b.body);
  if (t.numRows !== b.rows) throw new Error(`the Arrow batch holds ${t.numRows} rows, not ${b.rows}`);
  const half = (from: number, to: number): EncodedBatch => {
    const u8 = tableToIPC(t.slice(from, to), 'stream');
    return {
      format: 'ArrowStream',
      columns: b.columns,
      rows: to - from,
      body: Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength),
    };
  };
  return [half(0, mid), half(mid, b.rows)];
}

function splitTsv(b: EncodedBatch, mid: number): [EncodedBatch, EncodedBatch] {
  let at = -1;
  for (let i = 0; i < mid; i++) {
    at = b.body.indexOf(10, at + 1);
    if (at === -1) throw new Error(`the TabSeparated batch holds fewer than ${mid} rows, not ${b.rows}`);
  }
  const cut = at + 1;
  return [
    { format: 'TabSeparated', columns: b.columns, rows: mid, body: b.body.subarray(0, cut) },
    { format: 'TabSeparated', columns: b.columns, rows: b.rows - mid, body: b.body.subarray(cut) },
  ];
}
