/**
 * The disk spool of the batching writer (writer.ts): where batches go while the store is
 * down or failing, replayed in order once it is back.
 *
 * Layout, under the spool directory (default `data/spool`):
 *
 *     writer-id                 this installation's writer id (random, made once): dedup tokens start with it
 *     <table>/LOCK              pid and start time of the process that owns the table's spool
 *     <table>/0000000007.spool  append-only spool files, replayed oldest (lowest number) first
 *     <table>/replay.pos        how far replay got: "<file number> <offset>"
 *     <table>/0000000003.spool.corrupt   a quarantined file (see below), kept for inspection
 *
 * (Rows the store refuses as bad data go to the writer's quarantine folder, not here:
 * quarantine.ts.)
 *
 * A spool file is a sequence of records, each one batch:
 *
 *     offset size
 *      0     4   magic 'PWSP'
 *      4     1   format version (1)
 *      5     3   reserved (0)
 *      8     4   meta length M (u32 LE)
 *     12     4   body length B (u32 LE)
 *     16     4   row count (u32 LE)
 *     20     4   CRC32 of meta + body
 *     24     8   when the batch closed, ms since the epoch (f64 LE)
 *     32     4   CRC32 of bytes 0..31 (the header)
 *     36     M   meta: UTF-8 JSON {table, columns, token[, format][, error]}
 *     36+M   B   body: the batch as the store takes it, in `format`
 *
 * `format` is the batch's: 'ArrowStream' (an Arrow IPC stream, what the writer sends by
 * default) or 'TabSeparated' (newline-terminated TSV rows). A record without it is
 * TabSeparated: the writer leaves it out for TSV batches, so TSV records are byte for byte
 * what they were before Arrow batches (format version 1 throughout: spools written before
 * replay unchanged). A writer too old to know the field would send an Arrow record as
 * TSV; the store refuses it as bad data and it is set aside, not lost. An unknown
 * `format` makes the record corrupt (see below).
 *
 * The header has its own CRC so that a damaged length is told apart from a torn write.
 *
 * Appends: a record is written with ONE writev on a file opened O_APPEND, so a killed
 * process (SIGKILL) leaves whole records behind; a record counts as spooled only once it
 * is written (and, with `fsync: 'always'`, the default, fdatasync'ed: it then survives a
 * power loss too; `'never'` leaves that to the OS and survives only process crashes). A
 * new file's directory entry is fsync'ed as well. Files rotate at `maxFileBytes`, and a
 * process never appends to a file an earlier process left: it starts a new one.
 *
 * Replay reads files oldest first, record by record. What can go wrong on disk:
 * - a torn last record (the file ends inside it: a crash cut the append short — power
 *   loss, a full disk): detected by the length in the header running past the end of the
 *   file, logged (file, offset, bytes), counted, and the tail TRUNCATED — discarded; every
 *   complete record before it replays. Only an append that never completed is lost.
 * - a corrupt record (bad magic, header CRC or data CRC): a clear error naming the file and
 *   offset; the rows of the record are counted as dropped when its header is intact;
 *   reading resynchronises on the next valid record header (magic + header CRC + data
 *   CRC) so the complete records after the damage still replay; when the file is done it
 *   is renamed `<name>.corrupt` (quarantined, kept for inspection, counted), and replay
 *   continues with the next files.
 * After each replayed record the position is written to `replay.pos` (not fsync'ed): a
 * restart resumes there; where the position was lost (or could not be written: a full
 * disk, logged once), records replay again and their dedup tokens keep them from being
 * stored twice.
 *
 * A full disk: an append that fails takes back what part of it got written, and a file it
 * had just started is removed (no empty files pile up while the disk stays full); the
 * batch is the caller's to count. `rows` says how many rows wait for replay (counted from
 * the record headers of files an earlier process left).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writevSync,
} from 'node:fs';
import { type FileHandle, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { EncodedBatch } from './arrow-batch.js';

export const SPOOL_MAGIC = Buffer.from('PWSP', 'latin1');
export const SPOOL_VERSION = 1;
export const SPOOL_HEADER_BYTES = 36;
/** a record larger than this is taken for a damaged header, not read into memory */
const MAX_RECORD_BYTES = 1 << 30;

export type IngestLogLevel = 'info' | 'warn' | 'error';
export type IngestLog = (level: IngestLogLevel, message: string) => void;

export const stderrLog: IngestLog = (level, message) => {
  process.stderr.write(`podwire ingest ${level}: ${message}\n`);
};

export class SpoolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpoolError';
  }
}

/** The spool is at its size limit: the batch was not spooled. */
export class SpoolFullError extends SpoolError {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolFullError';
  }
}

/** One batch as the spool keeps it. */
export interface SpoolBatch {
  table: string;
  columns: readonly string[];
  /** insert_deduplication_token */
  token: string;
  rows: number;
  /** how `body` is encoded */
  format: EncodedBatch['format'];
  /** the batch: an Arrow IPC stream or TabSeparated rows (see `format`) */
  body: Buffer;
  /** when the batch closed, ms since the epoch */
  closedAt: number;
}

/** A record read back, with where it is. */
export interface SpoolRecord extends SpoolBatch {
  file: string;
  offset: number;
}

export interface SpoolHooks {
  /** a file was renamed `*.corrupt` */
  quarantined?(file: string): void;
  /** a torn last record was discarded */
  tornTail?(file: string, offset: number, bytes: number): void;
  /** a corrupt record whose header was intact: its rows are lost */
  corruptRows?(rows: number): void;
}

export interface SpoolOptions {
  /** the spool directory; the table's files live in `<dir>/<table>/` */
  dir: string;
  table: string;
  /** 'always' (default): fdatasync each record before it counts as spooled; 'never': the OS decides */
  fsync?: 'always' | 'never';
  /** a file is closed and a new one started past this size (default 64 MiB) */
  maxFileBytes?: number;
  /** appends fail with SpoolFullError past this many bytes of spool files (default 2 GiB; 0 = no limit) */
  maxBytes?: number;
  log?: IngestLog;
  hooks?: SpoolHooks;
}

export const SPOOL_DEFAULTS = {
  fsync: 'always' as const,
  maxFileBytes: 64 * 1024 * 1024,
  maxBytes: 2 * 1024 * 1024 * 1024,
};

interface SpoolFile {
  no: number;
  path: string;
  /** complete bytes: appended by this process, or the size found on open */
  size: number;
  /** rows of its records: appended by this process, or counted from the headers on open */
  rows: number;
  /** rows of its records replayed or skipped */
  rowsDone: number;
  /** append handle: only the active file has one */
  append?: FileHandle;
  read?: FileHandle;
  corrupt: boolean;
}

const FILE_RE = /^(\d{10})\.spool$/;
const ANY_FILE_RE = /^(\d{10})\.spool/;
const fileName = (no: number) => `${String(no).padStart(10, '0')}.spool`;

const BATCH_FORMATS: readonly string[] = ['ArrowStream', 'TabSeparated'] satisfies EncodedBatch['format'][];

/** Encodes a record: header, meta and body, ready for one writev. */
export function encodeRecord(b: SpoolBatch, error?: string): Buffer[] {
  const m: { table: string; columns: readonly string[]; token: string; format?: string; error?: string } = {
    table: b.table,
    columns: b.columns,
    token: b.token,
  };
  // absent means TabSeparated: TSV records stay as they were before the field
  if (b.format !== 'TabSeparated') m.format = b.format;
  if (error !== undefined) m.error = error;
  const meta = Buffer.from(JSON.stringify(m));
  const h = Buffer.alloc(SPOOL_HEADER_BYTES);
  SPOOL_MAGIC.copy(h, 0);
  h[4] = SPOOL_VERSION;
  h.writeUInt32LE(meta.length, 8);
  h.writeUInt32LE(b.body.length, 12);
  h.writeUInt32LE(b.rows, 16);
  h.writeUInt32LE(crc32(b.body, crc32(meta)), 20);
  h.writeDoubleLE(b.closedAt, 24);
  h.writeUInt32LE(crc32(h.subarray(0, 32)), 32);
  return [h, meta, b.body];
}

interface Header {
  metaLength: number;
  bodyLength: number;
  rows: number;
  dataCrc: number;
  closedAt: number;
}

/** The header at the start of `h`, or why it is not one. */
export function decodeHeader(h: Buffer): Header | string {
  if (h.length < SPOOL_HEADER_BYTES) return 'short header';
  if (h.compare(SPOOL_MAGIC, 0, 4, 0, 4) !== 0) return 'bad magic';
  if (h.readUInt32LE(32) !== crc32(h.subarray(0, 32))) return 'header CRC mismatch';
  if (h[4] !== SPOOL_VERSION) return `unknown format version ${h[4]}`;
  const metaLength = h.readUInt32LE(8);
  const bodyLength = h.readUInt32LE(12);
  if (metaLength + bodyLength > MAX_RECORD_BYTES)
    return `implausible record length ${metaLength + bodyLength}`;
  return {
    metaLength,
    bodyLength,
    rows: h.readUInt32LE(16),
    dataCrc: h.readUInt32LE(20),
    closedAt: h.readDoubleLE(24),
  };
}

/** Locks held by this process, so a second writer for the same table here is refused too. */
const heldLocks = new Set<string>();

/** The start time of a process (Linux /proc), to tell a live lock holder from a reused pid. */
function processStart(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = processStart(pid);
  return start === undefined || now === undefined || now === start;
}

function acquireLock(lock: string): void {
  if (heldLocks.has(lock)) throw new SpoolError(`spool ${lock}: already open in this process`);
  const mine = `${process.pid} ${processStart(process.pid) ?? '-'}\n`;
  try {
    writeFileSync(lock, mine, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const [pidText, start] = readFileSync(lock, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    if (
      pid !== process.pid &&
      Number.isInteger(pid) &&
      pid > 0 &&
      alive(pid, start === '-' ? undefined : start)
    ) {
      throw new SpoolError(
        `spool ${lock}: in use by process ${pid} — one process per spool directory (give this one another data dir)`,
      );
    }
    // left by a process that is gone
    writeFileSync(lock, mine);
  }
  heldLocks.add(lock);
}

/** This installation's writer id: made once, kept in `<dir>/writer-id`. */
export function writerIdOf(dir: string): string {
  const path = join(dir, 'writer-id');
  if (existsSync(path)) {
    const id = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
  }
  const id = randomBytes(8).toString('hex');
  writeFileSync(path, `${id}\n`);
  return id;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new SpoolError(`unexpected end of file at ${position + got}`);
    got += bytesRead;
  }
  return buf;
}

/** Rows of the complete records of a spool file from `from`, by their headers (stops at damage). */
async function countRows(path: string, from: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    let rows = 0;
    for (let off = from; off + SPOOL_HEADER_BYTES <= size; ) {
      const h = decodeHeader(await readExactly(fh, SPOOL_HEADER_BYTES, off));
      if (typeof h === 'string') break;
      const end = off + SPOOL_HEADER_BYTES + h.metaLength + h.bodyLength;
      if (end > size) break;
      rows += h.rows;
      off = end;
    }
    return rows;
  } finally {
    await fh.close();
  }
}

type ReadResult =
  | { kind: 'record'; record: SpoolRecord; end: number }
  | { kind: 'torn'; bytes: number; rows?: number }
  | { kind: 'corrupt'; reason: string; rows?: number };

/**
 * One table's spool: appends at the tail, replay reads from the head. Its operations run
 * one at a time in the order they are called (the writer's sender, and its overflow from
 * producers that do not wait); a record from `next()` stays current until `ack()`.
 */
export class Spool {
  readonly dir: string;
  readonly table: string;
  /** dedup tokens of this process start with `${writerId}:${runId}` */
  readonly writerId: string;
  readonly runId: string;
  private readonly fsync: boolean;
  private readonly maxFileBytes: number;
  private readonly maxBytes: number;
  private readonly log: IngestLog;
  private readonly hooks: SpoolHooks;
  private readonly lock: string;
  private files: SpoolFile[] = [];
  private active: SpoolFile | undefined;
  private nextNo: number;
  /** replay position in files[0] */
  private readOffset = 0;
  private current: { record: SpoolRecord; end: number } | undefined;
  private pos: FileHandle | undefined;
  private totalBytes = 0;
  /** the last operation asked for (see serial) */
  private tail: Promise<void> = Promise.resolve();
  /** the last replay.pos write failed (logged once) */
  private posFailing = false;
  private closed = false;

  private constructor(o: SpoolOptions, tableDir: string, writerId: string, nextNo: number) {
    this.dir = tableDir;
    this.table = o.table;
    this.writerId = writerId;
    this.runId = randomBytes(6).toString('hex');
    this.fsync = (o.fsync ?? SPOOL_DEFAULTS.fsync) === 'always';
    this.maxFileBytes = o.maxFileBytes ?? SPOOL_DEFAULTS.maxFileBytes;
    this.maxBytes = o.maxBytes ?? SPOOL_DEFAULTS.maxBytes;
    this.log = o.log ?? stderrLog;
    this.hooks = o.hooks ?? {};
    this.lock = join(tableDir, 'LOCK');
    this.nextNo = nextNo;
  }

  /**
   * Opens (creating) the table's spool and takes its lock. Files left by an earlier
   * process are queued for replay, from where `replay.pos` says replay got to.
   */
  static async open(o: SpoolOptions): Promise<Spool> {
    if (!/^[A-Za-z0-9_]+$/.test(o.table)) throw new SpoolError(`not a table name: ${o.table}`);
    const tableDir = join(o.dir, o.table);
    try {
      mkdirSync(tableDir, { recursive: true });
    } catch (err) {
      throw new SpoolError(`cannot create the spool directory ${tableDir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const writerId = writerIdOf(o.dir);
    acquireLock(join(tableDir, 'LOCK'));
    let spool: Spool | undefined;
    try {
      const names = await readdir(tableDir);
      let maxNo = 0;
      const found: SpoolFile[] = [];
      for (const name of names) {
        const any = ANY_FILE_RE.exec(name);
        if (any) maxNo = Math.max(maxNo, Number(any[1]));
        const m = FILE_RE.exec(name);
        if (!m) continue;
        const path = join(tableDir, name);
        const size = (await stat(path)).size;
        found.push({ no: Number(m[1]), path, size, rows: 0, rowsDone: 0, corrupt: false });
      }
      found.sort((a, b) => a.no - b.no);
      spool = new Spool(o, tableDir, writerId, maxNo + 1);
      spool.files = found;
      spool.totalBytes = found.reduce((s, f) => s + f.size, 0);
      await spool.restorePosition();
      for (const f of found) f.rows = await countRows(f.path, f === found[0] ? spool.readOffset : 0);
      return spool;
    } catch (err) {
      heldLocks.delete(join(tableDir, 'LOCK'));
      if (spool) await spool.pos?.close().catch(() => {});
      throw err;
    }
  }

  /** bytes of spool files on disk (quarantined `.corrupt` files not included) */
  get bytes(): number {
    return this.totalBytes;
  }

  /** rows waiting for replay (as the record headers say; a corrupt record's may be missing) */
  get rows(): number {
    let n = 0;
    for (const f of this.files) n += Math.max(0, f.rows - f.rowsDone);
    return n;
  }

  /** no record left to replay */
  isEmpty(): boolean {
    if (this.current) return false;
    const n = this.files.length;
    return n === 0 || (n === 1 && this.readOffset >= this.files[0].size);
  }

  /** spool files waiting for replay (paths, oldest first) */
  pendingFiles(): string[] {
    return this.files.map((f) => f.path);
  }

  /** Appends one batch. Throws SpoolFullError at the size limit, SpoolError when the disk fails. */
  append(b: SpoolBatch): Promise<number> {
    return this.serial(() => this.doAppend(b));
  }

  /**
   * Runs the operations one at a time, in the order they were asked for: the writer's
   * sender replays and spools while a producer's overflow is appended.
   */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.tail.then(op, op);
    this.tail = p.then(
      () => {},
      () => {},
    );
    return p;
  }

  private async doAppend(b: SpoolBatch): Promise<number> {
    if (this.closed) throw new SpoolError(`spool ${this.dir} is closed`);
    const parts = encodeRecord(b);
    const length = parts[0].length + parts[1].length + parts[2].length;
    if (this.maxBytes > 0 && this.totalBytes + length > this.maxBytes) {
      throw new SpoolFullError(
        `spool ${this.dir} is full (${this.totalBytes} + ${length} bytes > limit ${this.maxBytes})`,
      );
    }
    let f = this.active;
    try {
      if (!f) f = await this.startFile();
      const { bytesWritten } = await f.append!.writev(parts);
      if (bytesWritten !== length) throw new Error(`short write (${bytesWritten} of ${length} bytes)`);
      if (this.fsync) await f.append!.datasync();
    } catch (err) {
      const where = f?.path ?? this.dir;
      if (f) await this.abandonActive(f);
      throw new SpoolError(`cannot append to the spool ${where}: ${(err as Error).message}`, { cause: err });
    }
    f.size += length;
    f.rows += b.rows;
    this.totalBytes += length;
    if (f.size >= this.maxFileBytes) await this.endActive();
    return length;
  }

  /**
   * After a failed append: takes back what part of the record got written, and starts a
   * new file next time (a file never goes on after a failed append; if the truncate failed
   * too, replay finds a torn or corrupt tail there and handles it). A file left empty is
   * removed: a full disk must not leave a file per attempt.
   */
  private async abandonActive(f: SpoolFile): Promise<void> {
    if (f.append) {
      await f.append.truncate(f.size).catch(() => {});
      await f.append.close().catch(() => {});
      f.append = undefined;
    }
    if (this.active === f) this.active = undefined;
    if (f.size === 0) {
      await f.read?.close().catch(() => {});
      f.read = undefined;
      const i = this.files.indexOf(f);
      if (i !== -1) this.files.splice(i, 1);
      if (i === 0) this.readOffset = 0;
      await unlink(f.path).catch(() => {});
    }
  }

  private async startFile(): Promise<SpoolFile> {
    for (;;) {
      const no = this.nextNo++;
      const path = join(this.dir, fileName(no));
      let fh: FileHandle;
      try {
        fh = await open(
          path,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND,
          0o644,
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      const f: SpoolFile = { no, path, size: 0, rows: 0, rowsDone: 0, append: fh, corrupt: false };
      this.files.push(f);
      this.active = f;
      if (this.fsync) {
        try {
          await fsyncDir(this.dir);
        } catch (err) {
          await this.abandonActive(f);
          throw err;
        }
      }
      return f;
    }
  }

  private async endActive(): Promise<void> {
    const f = this.active;
    if (!f) return;
    this.active = undefined;
    const fh = f.append;
    f.append = undefined;
    await fh?.close();
  }

  /**
   * The next record to replay (the same one again until `ack()`), or null when the spool
   * is empty. Torn tails and corrupt records on the way are logged, counted and skipped;
   * finished files are deleted, damaged ones quarantined.
   */
  next(): Promise<SpoolRecord | null> {
    return this.serial(() => this.doNext());
  }

  private async doNext(): Promise<SpoolRecord | null> {
    if (this.current) return this.current.record;
    for (;;) {
      const f = this.files[0];
      if (!f) return null;
      if (this.readOffset >= f.size) {
        if (f === this.active) return null; // caught up with the appends
        await this.finishFile(f);
        continue;
      }
      f.read ??= await open(f.path, 'r');
      const r = await this.readAt(f, this.readOffset);
      if (r.kind === 'record') {
        this.current = { record: r.record, end: r.end };
        return r.record;
      }
      if (r.kind === 'torn') {
        this.log(
          'warn',
          `spool ${f.path}: torn last record at offset ${this.readOffset} (${r.bytes} bytes${r.rows === undefined ? '' : `, ${r.rows} rows`}: an append cut short by a crash) — discarded; the complete records before it replay`,
        );
        this.hooks.tornTail?.(f.path, this.readOffset, r.bytes);
        this.readOffset = f.size;
        continue;
      }
      // corrupt
      f.corrupt = true;
      const at = this.readOffset;
      const resume = await this.resync(f, at + 1);
      this.log(
        'error',
        `spool ${f.path}: corrupt record at offset ${at} (${r.reason})` +
          (r.rows === undefined ? '' : `, ${r.rows} rows lost`) +
          `; ${resume < f.size ? `resuming at the next valid record at offset ${resume}` : 'no valid record after it'}` +
          ` — the file will be quarantined as ${f.path}.corrupt; replay goes on`,
      );
      if (r.rows !== undefined) {
        this.hooks.corruptRows?.(r.rows);
        f.rowsDone += r.rows;
      }
      this.readOffset = resume;
    }
  }

  /** The record returned by `next()` is stored: move past it. */
  ack(): Promise<void> {
    return this.serial(() => this.doAck());
  }

  private async doAck(): Promise<void> {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    this.readOffset = c.end;
    const f = this.files[0];
    f.rowsDone += c.record.rows;
    await this.savePosition(f.no, this.readOffset);
    if (this.readOffset >= f.size) {
      // done with the file; when it is the active one, the spool is now empty: retire it
      if (f === this.active) await this.endActive();
      await this.finishFile(f);
    }
  }

  private async readAt(f: SpoolFile, offset: number): Promise<ReadResult> {
    const end = f.size;
    const remaining = end - offset;
    if (remaining < SPOOL_HEADER_BYTES) return { kind: 'torn', bytes: remaining };
    const h = await readExactly(f.read!, SPOOL_HEADER_BYTES, offset);
    const header = decodeHeader(h);
    if (typeof header === 'string') return { kind: 'corrupt', reason: header };
    const length = SPOOL_HEADER_BYTES + header.metaLength + header.bodyLength;
    if (offset + length > end) return { kind: 'torn', bytes: remaining, rows: header.rows };
    const data = await readExactly(
      f.read!,
      header.metaLength + header.bodyLength,
      offset + SPOOL_HEADER_BYTES,
    );
    if (crc32(data) !== header.dataCrc)
      return { kind: 'corrupt', reason: 'data CRC mismatch', rows: header.rows };
    let meta: { table?: unknown; columns?: unknown; token?: unknown; format?: unknown };
    try {
      meta = JSON.parse(data.subarray(0, header.metaLength).toString('utf8'));
    } catch {
      return { kind: 'corrupt', reason: 'unreadable meta', rows: header.rows };
    }
    if (
      typeof meta.table !== 'string' ||
      typeof meta.token !== 'string' ||
      !Array.isArray(meta.columns) ||
      !meta.columns.every((c) => typeof c === 'string')
    ) {
      return { kind: 'corrupt', reason: 'meta lacks table, columns or token', rows: header.rows };
    }
    const format = meta.format ?? 'TabSeparated';
    if (typeof format !== 'string' || !BATCH_FORMATS.includes(format)) {
      return { kind: 'corrupt', reason: `unknown batch format ${JSON.stringify(format)}`, rows: header.rows };
    }
    return {
      kind: 'record',
      end: offset + length,
      record: {
        table: meta.table,
        columns: meta.columns as string[],
        token: meta.token,
        rows: header.rows,
        format: format as EncodedBatch['format'],
        body: data.subarray(header.metaLength),
        closedAt: header.closedAt,
        file: f.path,
        offset,
      },
    };
  }

  /** The offset of the next record header (magic + header CRC, fitting in the file) at or after `from`, or the file size. */
  private async resync(f: SpoolFile, from: number): Promise<number> {
    const chunk = 1 << 20;
    let pos = from;
    while (pos + SPOOL_HEADER_BYTES <= f.size) {
      const n = Math.min(chunk, f.size - pos);
      const buf = await readExactly(f.read!, n, pos);
      for (let i = buf.indexOf(SPOOL_MAGIC); i !== -1; i = buf.indexOf(SPOOL_MAGIC, i + 1)) {
        const at = pos + i;
        if (at + SPOOL_HEADER_BYTES > f.size) return f.size;
        const h =
          i + SPOOL_HEADER_BYTES <= buf.length
            ? buf.subarray(i, i + SPOOL_HEADER_BYTES)
            : await readExactly(f.read!, SPOOL_HEADER_BYTES, at);
        const header = decodeHeader(h);
        if (
          typeof header !== 'string' &&
          at + SPOOL_HEADER_BYTES + header.metaLength + header.bodyLength <= f.size
        ) {
          return at;
        }
      }
      if (pos + n >= f.size) break;
      pos += n - (SPOOL_MAGIC.length - 1);
    }
    return f.size;
  }

  private async finishFile(f: SpoolFile): Promise<void> {
    await f.read?.close();
    f.read = undefined;
    await this.savePosition(f.no, f.size);
    if (f.corrupt) {
      const to = `${f.path}.corrupt`;
      await rename(f.path, to);
      this.log('error', `spool ${f.path}: quarantined as ${to} (see the corrupt record errors above)`);
      this.hooks.quarantined?.(to);
    } else {
      await unlink(f.path);
    }
    this.files.shift();
    this.totalBytes -= f.size;
    this.readOffset = 0;
  }

  /**
   * Writes how far replay got. Best effort: when it cannot be written (a full disk), a
   * restart replays from the last position saved, and the dedup tokens keep those batches
   * from being stored twice; that is logged once, until a save succeeds again.
   */
  private async savePosition(no: number, offset: number): Promise<void> {
    const path = join(this.dir, 'replay.pos');
    try {
      this.pos ??= await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      // fixed width: each write overwrites the whole previous one
      const line = `${String(no).padStart(10, '0')} ${String(offset).padStart(16, '0')}\n`;
      await this.pos.write(line, 0, 'latin1');
      this.posFailing = false;
    } catch (err) {
      if (!this.posFailing) {
        this.log(
          'warn',
          `spool ${this.dir}: cannot save the replay position in ${path} (${(err as Error).message}): replay goes on; after a restart the batches since the last saved position replay again, and their dedup tokens keep them from being stored twice`,
        );
      }
      this.posFailing = true;
    }
  }

  private async restorePosition(): Promise<void> {
    const f = this.files[0];
    if (!f) return;
    let text: string;
    try {
      text = await readFile(join(this.dir, 'replay.pos'), 'latin1');
    } catch {
      return;
    }
    const m = /^(\d+) (\d+)\n/.exec(text);
    if (!m || Number(m[1]) !== f.no) return;
    const offset = Number(m[2]);
    if (offset === 0 || offset > f.size) return;
    if (offset < f.size) {
      // only trust a position that points at a record header
      const fh = await open(f.path, 'r');
      try {
        const h = await readExactly(fh, Math.min(SPOOL_HEADER_BYTES, f.size - offset), offset);
        if (typeof decodeHeader(h) === 'string') return;
      } catch {
        return;
      } finally {
        await fh.close();
      }
    }
    this.readOffset = offset;
  }

  /** Closes the files (the spool stays on disk for the next start) and releases the lock. */
  close(): Promise<void> {
    return this.serial(() => this.doClose());
  }

  private async doClose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.endActive().catch(() => {});
    for (const f of this.files) {
      await f.read?.close().catch(() => {});
      f.read = undefined;
    }
    await this.pos?.close().catch(() => {});
    this.pos = undefined;
    try {
      await unlink(this.lock);
    } catch {
      // the directory went away: nothing to release
    }
    heldLocks.delete(this.lock);
  }

  /**
   * For a process about to exit with work left (a third stop signal): appends the batches
   * to a new file synchronously — no await, so nothing else runs meanwhile; an async
   * append still under way goes to its own file — closes the spool and releases its lock.
   * Returns how many of the batches were written (in order; when not all, `error` says
   * why the rest were not).
   */
  abandonSync(batches: readonly SpoolBatch[]): { written: number; error?: Error } {
    if (this.closed) return { written: 0, error: new SpoolError(`spool ${this.dir} is closed`) };
    this.closed = true;
    let written = 0;
    let error: Error | undefined;
    if (batches.length > 0) {
      let fd: number | undefined;
      let path = '';
      let size = 0;
      try {
        for (;;) {
          path = join(this.dir, fileName(this.nextNo++));
          try {
            fd = openSync(
              path,
              constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND,
              0o644,
            );
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          }
        }
        for (const b of batches) {
          const parts = encodeRecord(b);
          const length = parts[0].length + parts[1].length + parts[2].length;
          if (this.maxBytes > 0 && this.totalBytes + length > this.maxBytes) {
            throw new SpoolFullError(
              `spool ${this.dir} is full (${this.totalBytes} + ${length} bytes > limit ${this.maxBytes})`,
            );
          }
          const n = writevSync(fd, parts);
          if (n !== length) throw new Error(`short write (${n} of ${length} bytes)`);
          size += length;
          this.totalBytes += length;
          written++;
        }
        if (this.fsync) fdatasyncSync(fd);
      } catch (err) {
        error =
          err instanceof SpoolError
            ? err
            : new SpoolError(`cannot append to the spool ${path || this.dir}: ${(err as Error).message}`);
        if (fd !== undefined) {
          try {
            ftruncateSync(fd, size);
          } catch {
            // replay finds a torn tail and discards it
          }
        }
      }
      if (fd !== undefined) {
        closeSync(fd);
        if (size === 0) unlinkQuietly(path);
        else if (this.fsync) fsyncDirSync(this.dir);
      }
    }
    unlinkQuietly(this.lock);
    heldLocks.delete(this.lock);
    return { written, error };
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

function fsyncDirSync(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the records are written; only their directory entry may not survive a power loss
  }
}

/** Every record of one spool file, checked (for tools and tests): complete records, then what is wrong. */
export async function readSpoolFile(path: string): Promise<{ records: SpoolRecord[]; problems: string[] }> {
  const data = await readFile(path);
  const records: SpoolRecord[] = [];
  const problems: string[] = [];
  let off = 0;
  while (off < data.length) {
    const header = decodeHeader(data.subarray(off, off + SPOOL_HEADER_BYTES));
    if (typeof header === 'string') {
      problems.push(`${header} at offset ${off}`);
      break;
    }
    const end = off + SPOOL_HEADER_BYTES + header.metaLength + header.bodyLength;
    if (end > data.length) {
      problems.push(`torn record at offset ${off}`);
      break;
    }
    const payload = data.subarray(off + SPOOL_HEADER_BYTES, end);
    if (crc32(payload) !== header.dataCrc) {
      problems.push(`data CRC mismatch at offset ${off}`);
    } else {
      const meta = JSON.parse(payload.subarray(0, header.metaLength).toString('utf8'));
      records.push({
        table: meta.table,
        columns: meta.columns,
        token: meta.token,
        rows: header.rows,
        format: meta.format ?? 'TabSeparated',
        body: payload.subarray(header.metaLength),
        closedAt: header.closedAt,
        file: path,
        offset: off,
      });
    }
    off = end;
  }
  return { records, problems };
}
