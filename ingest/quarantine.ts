/**
 * The quarantine: rows the store refused as bad data, set aside by the batching writer
 * (writer.ts) once it has split their batch down to them, so that no good row goes with
 * them. Next to the spool, one folder per table (default `DATA_DIR/quarantine/<table>/`):
 *
 *     2026-12-03T23-06-59.515Z-<token>-CANNOT_PARSE_IPV6.tsv    the rows, TabSeparated
 *     2026-12-03T23-06-59.515Z-<token>-CANNOT_PARSE_IPV6.json   what and why (below)
 *
 * The `.tsv` holds the rows in the table's columns, in order, one line each: readable as it
 * is, and replayable once corrected (`replay` in the `.json` is the statement:
 * `clickhouse-client --query "…" < FILE.tsv`). The `.json`: table, database, columns, rows,
 * reason (the store's error name, e.g. CANNOT_PARSE_IPV6), error (its first line), token
 * (the batch's dedup token), at, file, replay. A batch that cannot be read back as rows
 * (an Arrow body apache-arrow refuses) is kept as it was sent: `.arrows` and format
 * `ArrowStream`.
 *
 * Bounded: past `maxBytes` of files (default 64 MiB per table) refused rows are counted
 * (by the writer) but not kept, and the log says so once per refusal.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncodedBatch } from './arrow-batch.js';

export const QUARANTINE_DEFAULTS = { maxBytes: 64 * 1024 * 1024 };

export interface QuarantineOptions {
  /** the quarantine folder; the table's files go in `<dir>/<table>/` */
  dir: string;
  table: string;
  database: string;
  /** files beyond this many bytes are not written (default 64 MiB) */
  maxBytes?: number;
  /** fdatasync each file before it counts as kept (default true) */
  fsync?: boolean;
}

/** Rows refused for one reason, as they will be kept. */
export interface RefusedRows {
  /** TabSeparated rows (readable), or the batch as it was sent when it cannot be read */
  batch: EncodedBatch;
  /** the store's error name (CANNOT_PARSE_IPV6, …) */
  reason: string;
  /** the store's error, first line */
  error: string;
  token: string;
}

export class Quarantine {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly fsync: boolean;
  private used: number;

  constructor(private readonly o: QuarantineOptions) {
    this.dir = join(o.dir, o.table);
    this.maxBytes = o.maxBytes ?? QUARANTINE_DEFAULTS.maxBytes;
    this.fsync = o.fsync ?? true;
    this.used = existsSync(this.dir)
      ? readdirSync(this.dir).reduce((n, f) => n + statSync(join(this.dir, f)).size, 0)
      : 0;
  }

  /** bytes of files in the table's quarantine folder */
  get bytes(): number {
    return this.used;
  }

  /**
   * Writes the rows and their description. Resolves with the `.tsv` (or `.arrows`) path, or
   * null when the quarantine is full (nothing written). Throws when the disk fails.
   */
  async keep(r: RefusedRows): Promise<string | null> {
    const tsv = r.batch.format === 'TabSeparated';
    const base = `${new Date().toISOString().replace(/:/g, '-')}-${r.token.replace(/:/g, '-')}-${r.reason}`;
    const file = `${base}${tsv ? '.tsv' : '.arrows'}`;
    const cols = r.batch.columns.join(', ');
    const meta = Buffer.from(
      `${JSON.stringify(
        {
          table: this.o.table,
          database: this.o.database,
          columns: r.batch.columns,
          rows: r.batch.rows,
          format: r.batch.format,
          reason: r.reason,
          error: r.error,
          token: r.token,
          at: new Date().toISOString(),
          file,
          replay: `clickhouse-client --query "INSERT INTO ${this.o.database}.${this.o.table} (${cols}) FORMAT ${r.batch.format}" < ${file}`,
        },
        null,
        2,
      )}\n`,
    );
    const size = r.batch.body.length + meta.length;
    if (this.used + size > this.maxBytes) return null;
    await mkdir(this.dir, { recursive: true });
    const paths = [join(this.dir, file), join(this.dir, `${base}.json`)];
    try {
      await this.write(paths[0], r.batch.body);
      await this.write(paths[1], meta);
    } catch (err) {
      // no half-kept rows: a .tsv without its reason, or a torn one (a full disk)
      for (const p of paths) await rm(p, { force: true }).catch(() => {});
      throw err;
    }
    this.used += size;
    return paths[0];
  }

  private async write(path: string, data: Buffer): Promise<void> {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      if (this.fsync) await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}
