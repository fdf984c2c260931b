/**
 * The disk spool (ingest/spool.ts): record format, rotation, ordered replay, the replay
 * position, torn tails and corrupt files — and, on the real embedded chDB store, a
 * corrupted spool file left by an earlier run: a clear error, the file quarantined, every
 * other record replayed exactly once.
 */
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../ingest/migrations.js';
import { DEFAULT_RETENTION, vf_counters } from '../../ingest/schema.js';
import {
  decodeHeader,
  readSpoolFile,
  SPOOL_HEADER_BYTES,
  Spool,
  type SpoolBatch,
  SpoolError,
  SpoolFullError,
  type SpoolOptions,
  type SpoolRecord,
} from '../../ingest/spool.js';
import { openStore, type Store } from '../../ingest/store.js';
import { BatchWriter } from '../../ingest/writer.js';
import { vfRow } from './fixtures/vf-rows.mjs';

const root = mkdtempSync(join(tmpdir(), 'podwire-spool-'));
let n = 0;
const freshDir = () => join(root, `s${++n}`);

function batch(i: number, rows = 3): SpoolBatch {
  let body = '';
  for (let r = 0; r < rows; r++) body += `${i}\t${r}\tpayload-${i}-${r}\n`;
  return {
    table: 't',
    columns: ['a', 'b', 'c'],
    token: `tok-${i}`,
    rows,
    format: 'TabSeparated',
    body: Buffer.from(body),
    closedAt: 1e12 + i,
  };
}

interface Seen {
  logs: string[];
  quarantined: string[];
  torn: { file: string; offset: number; bytes: number }[];
  corruptRows: number;
}

function opts(dir: string, seen: Seen, more: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    dir,
    table: 't',
    fsync: 'never',
    log: (level, message) => seen.logs.push(`${level}: ${message}`),
    hooks: {
      quarantined: (f) => seen.quarantined.push(f),
      tornTail: (file, offset, bytes) => seen.torn.push({ file, offset, bytes }),
      corruptRows: (rows) => {
        seen.corruptRows += rows;
      },
    },
    ...more,
  };
}

const newSeen = (): Seen => ({ logs: [], quarantined: [], torn: [], corruptRows: 0 });

/** Replays everything: the tokens in order. */
async function replayAll(s: Spool): Promise<string[]> {
  const out: string[] = [];
  for (let r = await s.next(); r; r = await s.next()) {
    out.push(r.token);
    await s.ack();
  }
  return out;
}

const spoolFiles = (dir: string) =>
  readdirSync(join(dir, 't'))
    .filter((f) => /^\d+\.spool$/.test(f))
    .sort();

/** Offsets of the records in a spool file. */
function recordOffsets(path: string): number[] {
  const data = readFileSync(path);
  const offs: number[] = [];
  for (let off = 0; off < data.length; ) {
    offs.push(off);
    const h = decodeHeader(data.subarray(off, off + SPOOL_HEADER_BYTES));
    if (typeof h === 'string') throw new Error(h);
    off += SPOOL_HEADER_BYTES + h.metaLength + h.bodyLength;
  }
  return offs;
}

describe('spool files', () => {
  it('appends, rotates by size, and replays every record once, oldest first, across a restart', async () => {
    const dir = freshDir();
    const seen = newSeen();
    const s = await Spool.open(opts(dir, seen, { maxFileBytes: 400 }));
    expect(s.isEmpty()).toBe(true);
    let bytes = 0;
    for (let i = 0; i < 20; i++) bytes += await s.append(batch(i));
    expect(s.bytes).toBe(bytes);
    expect(spoolFiles(dir).length).toBeGreaterThan(3);
    expect(s.isEmpty()).toBe(false);
    await s.close();

    const s2 = await Spool.open(opts(dir, seen, { maxFileBytes: 400 }));
    expect(s2.bytes).toBe(bytes);
    // new batches go behind the old ones
    await s2.append(batch(20));
    const tokens = await replayAll(s2);
    expect(tokens).toEqual(Array.from({ length: 21 }, (_, i) => `tok-${i}`));
    expect(s2.isEmpty()).toBe(true);
    expect(s2.bytes).toBe(0);
    expect(spoolFiles(dir)).toEqual([]);
    await s2.close();
    expect(seen.logs.filter((l) => !l.startsWith('info'))).toEqual([]);
  });

  it('a record round-trips byte for byte (table, columns, token, rows, body, time)', async () => {
    const dir = freshDir();
    const s = await Spool.open(opts(dir, newSeen()));
    const b = { ...batch(7, 5), body: Buffer.from('a\\tb\t\\x00\tü\n'.repeat(5)) };
    await s.append(b);
    const r = await s.next();
    expect(r).toMatchObject({
      table: 't',
      columns: ['a', 'b', 'c'],
      token: 'tok-7',
      rows: 5,
      closedAt: b.closedAt,
    });
    expect(r!.body.equals(b.body)).toBe(true);
    // next() gives the same record until ack()
    expect((await s.next())!.token).toBe('tok-7');
    await s.ack();
    expect(await s.next()).toBeNull();
    await s.close();
  });

  it("keeps each record's format: TSV records as before (no format in the meta), Arrow ones marked; an unknown format is corrupt", async () => {
    const dir = freshDir();
    const seen = newSeen();
    const s = await Spool.open(opts(dir, seen));
    const arrow = {
      ...batch(1),
      format: 'ArrowStream' as const,
      body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 1, 2]),
    };
    await s.append(batch(0));
    await s.append(arrow);
    // a record from a future writer, with a format this one does not know
    await s.append({ ...batch(2), format: 'Parquet' as 'ArrowStream' });
    await s.append(batch(3));
    await s.close();
    const path = join(dir, 't', spoolFiles(dir)[0]);
    const data = readFileSync(path);
    const offs = recordOffsets(path);
    const metas = offs.map((off) => {
      const h = decodeHeader(data.subarray(off, off + SPOOL_HEADER_BYTES));
      if (typeof h === 'string') throw new Error(h);
      const at = off + SPOOL_HEADER_BYTES;
      return JSON.parse(data.subarray(at, at + h.metaLength).toString());
    });
    expect(metas.map((m) => m.format)).toEqual([undefined, 'ArrowStream', 'Parquet', undefined]);
    const { records } = await readSpoolFile(path);
    expect(records.slice(0, 2).map((r) => r.format)).toEqual(['TabSeparated', 'ArrowStream']);

    const s2 = await Spool.open(opts(dir, seen));
    const got: [string, string, boolean][] = [];
    for (let r = await s2.next(); r; r = await s2.next()) {
      got.push([
        r.token,
        r.format,
        r.body.equals(r.token === 'tok-1' ? arrow.body : batch(Number(r.token.slice(4))).body),
      ]);
      await s2.ack();
    }
    await s2.close();
    expect(got).toEqual([
      ['tok-0', 'TabSeparated', true],
      ['tok-1', 'ArrowStream', true],
      ['tok-3', 'TabSeparated', true],
    ]);
    expect(seen.corruptRows).toBe(3);
    expect(seen.logs.join('\n')).toContain(
      `corrupt record at offset ${offs[2]} (unknown batch format "Parquet")`,
    );
  });

  it('resumes replay where it stopped (replay.pos) instead of replaying the whole file again', async () => {
    const dir = freshDir();
    const s = await Spool.open(opts(dir, newSeen()));
    for (let i = 0; i < 6; i++) await s.append(batch(i));
    for (let i = 0; i < 3; i++) {
      await s.next();
      await s.ack();
    }
    await s.close();
    const s2 = await Spool.open(opts(dir, newSeen()));
    expect(await replayAll(s2)).toEqual(['tok-3', 'tok-4', 'tok-5']);
    await s2.close();
  });

  it('counts the rows waiting: appended, replayed, and those an earlier process left (from the replay position on)', async () => {
    const dir = freshDir();
    const s = await Spool.open(opts(dir, newSeen(), { maxFileBytes: 400 }));
    for (let i = 0; i < 6; i++) await s.append(batch(i, i + 1));
    expect(s.rows).toBe(21);
    await s.next();
    await s.ack();
    expect(s.rows).toBe(20);
    await s.close();
    const s2 = await Spool.open(opts(dir, newSeen()));
    expect(spoolFiles(dir).length).toBeGreaterThan(1);
    expect(s2.rows).toBe(20);
    await replayAll(s2);
    expect(s2.rows).toBe(0);
    await s2.close();
  });

  it('abandonSync (a process about to exit): appends the batches with no await into a new file, and releases the lock', async () => {
    const dir = freshDir();
    const s = await Spool.open(opts(dir, newSeen()));
    await s.append(batch(0));
    const r = s.abandonSync([batch(1, 5), batch(2, 7)]);
    expect(r).toEqual({ written: 2, error: undefined });
    expect(readdirSync(join(dir, 't'))).not.toContain('LOCK');
    expect(spoolFiles(dir).length).toBe(2);
    const s2 = await Spool.open(opts(dir, newSeen()));
    expect(s2.rows).toBe(3 + 5 + 7);
    expect(await replayAll(s2)).toEqual(['tok-0', 'tok-1', 'tok-2']);
    await s2.close();
  });

  it('a replay position that does not point at a record is ignored: the file replays from its start', async () => {
    const dir = freshDir();
    const s = await Spool.open(opts(dir, newSeen()));
    for (let i = 0; i < 3; i++) await s.append(batch(i));
    await s.close();
    const file = spoolFiles(dir)[0];
    writeFileSync(join(dir, 't', 'replay.pos'), `${file.slice(0, 10)} ${String(5).padStart(16, '0')}\n`);
    const s2 = await Spool.open(opts(dir, newSeen()));
    expect(await replayAll(s2)).toEqual(['tok-0', 'tok-1', 'tok-2']);
    await s2.close();
  });

  it('a torn last record (kill -9 / power loss mid-append) is truncated: every complete record replays', async () => {
    for (const cut of [10, SPOOL_HEADER_BYTES + 5]) {
      const dir = freshDir();
      const seen = newSeen();
      const s = await Spool.open(opts(dir, seen));
      for (let i = 0; i < 5; i++) await s.append(batch(i));
      await s.close();
      const path = join(dir, 't', spoolFiles(dir)[0]);
      const last = recordOffsets(path)[4];
      truncateSync(path, last + cut); // the last append got only `cut` bytes out
      const s2 = await Spool.open(opts(dir, seen));
      expect(await replayAll(s2)).toEqual(['tok-0', 'tok-1', 'tok-2', 'tok-3']);
      expect(seen.torn).toEqual([{ file: path, offset: last, bytes: cut }]);
      expect(seen.quarantined).toEqual([]);
      expect(seen.logs.join('\n')).toMatch(new RegExp(`torn last record at offset ${last}`));
      expect(spoolFiles(dir)).toEqual([]);
      await s2.close();
    }
  });

  it('a corrupt record: a clear error naming file and offset, the records after it still replay, the file is quarantined', async () => {
    const dir = freshDir();
    const seen = newSeen();
    const s = await Spool.open(opts(dir, seen, { maxFileBytes: 300 }));
    for (let i = 0; i < 12; i++) await s.append(batch(i));
    await s.close();
    const files = spoolFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(3);
    // first file: a flipped byte in the body of its second record (data CRC)
    const first = join(dir, 't', files[0]);
    const data = readFileSync(first);
    const offs = recordOffsets(first);
    expect(offs.length).toBeGreaterThanOrEqual(3);
    data[offs[1] + SPOOL_HEADER_BYTES + 60] ^= 0xff;
    writeFileSync(first, data);
    // second file: its first record's header overwritten (bad magic)
    const second = join(dir, 't', files[1]);
    const data2 = readFileSync(second);
    const n2 = recordOffsets(second).length;
    data2.fill(0x41, 0, 8);
    writeFileSync(second, data2);
    const s2 = await Spool.open(opts(dir, seen, { maxFileBytes: 300 }));
    const tokens = await replayAll(s2);
    await s2.close();
    // record 1 of the first file and record 0 of the second are lost, nothing else
    const lost = new Set([`tok-1`, `tok-${offs.length}`]);
    expect(tokens).toEqual(Array.from({ length: 12 }, (_, i) => `tok-${i}`).filter((t) => !lost.has(t)));
    expect(n2).toBeGreaterThanOrEqual(2);
    expect(seen.corruptRows).toBe(3); // the data-CRC record's header was intact: its rows are counted
    expect(seen.quarantined.sort()).toEqual([`${first}.corrupt`, `${second}.corrupt`]);
    const errors = seen.logs.filter((l) => l.startsWith('error'));
    expect(errors.join('\n')).toContain(
      `spool ${first}: corrupt record at offset ${offs[1]} (data CRC mismatch), 3 rows lost`,
    );
    expect(errors.join('\n')).toContain(`spool ${second}: corrupt record at offset 0 (bad magic)`);
    expect(errors.join('\n')).toContain(`quarantined as ${first}.corrupt`);
    expect(readdirSync(join(dir, 't')).filter((f) => f.endsWith('.corrupt')).length).toBe(2);
    expect(spoolFiles(dir)).toEqual([]);
  });

  it('one process per spool: a second open is refused; a lock left by a dead process is taken over', async () => {
    const dir = freshDir();
    const s = await Spool.open(opts(dir, newSeen()));
    await expect(Spool.open(opts(dir, newSeen()))).rejects.toThrow(SpoolError);
    await s.close();
    // pid 2^22+1 is above pid_max on Linux: no such process
    writeFileSync(join(dir, 't', 'LOCK'), '4194305 123\n');
    const s2 = await Spool.open(opts(dir, newSeen()));
    await s2.close();
  });

  it('keeps the writer id across opens and a fresh run id per open', async () => {
    const dir = freshDir();
    const a = await Spool.open(opts(dir, newSeen()));
    await a.close();
    const b = await Spool.open(opts(dir, newSeen()));
    await b.close();
    expect(a.writerId).toMatch(/^[0-9a-f]{16}$/);
    expect(b.writerId).toBe(a.writerId);
    expect(b.runId).not.toBe(a.runId);
  });

  it('refuses appends past its size limit (SpoolFullError), and fails clearly when the disk does', async () => {
    const dir = freshDir();
    const s = await Spool.open(opts(dir, newSeen(), { maxBytes: 500 }));
    await s.append(batch(0));
    await s.append(batch(1));
    await expect(async () => {
      for (let i = 2; i < 10; i++) await s.append(batch(i));
    }).rejects.toThrow(SpoolFullError);
    expect(s.bytes).toBeLessThanOrEqual(500);
    await s.close();

    const dir2 = freshDir();
    const s2 = await Spool.open(opts(dir2, newSeen()));
    rmSync(join(dir2, 't'), { recursive: true });
    writeFileSync(join(dir2, 't'), 'not a directory');
    await expect(s2.append(batch(0))).rejects.toThrow(/cannot append to the spool .*ENOTDIR/);
    await s2.close();
  });
});

// ---- on the real embedded store -------------------------------------------------------

let store: Store;

/** The ids (rx_bytes) of a vf_counters record, whatever its format. */
function idsOf(r: SpoolRecord): number[] {
  if (r.format === 'ArrowStream') return [...(tableFromIPC(r.body).getChild('rx_bytes')?.toArray() ?? [])];
  return r.body
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => Number(line.split('\t')[7]));
}

async function scalars(query: string): Promise<Record<string, number>> {
  const rs = await store.client.query({ query, format: 'JSONEachRow' });
  const row = ((await rs.json()) as Record<string, string>[])[0];
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

describe('spool replay into chDB', () => {
  beforeAll(async () => {
    store = await openStore({ dataDir: join(root, 'ch') });
    await migrate(store.client, { database: store.database, retention: DEFAULT_RETENTION });
  });

  afterAll(async () => {
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a corrupted spool file: a clear error, the file quarantined, the other files replay exactly once', async () => {
    const spoolDir = freshDir();
    const tag = 'corrupt-file';
    // an earlier run spooled everything (its store was down): 40 batches of 100 rows
    const down: Store = {
      ...store,
      insertTsv: async () => {
        throw new Error('connect ECONNREFUSED (fault-injected store)');
      },
      insertBatch: async () => {
        throw new Error('connect ECONNREFUSED (fault-injected store)');
      },
      ping: async () => false,
    };
    const first = await BatchWriter.open({
      store: down,
      table: vf_counters,
      spoolDir,
      maxRows: 100,
      spool: { fsync: 'never', maxFileBytes: 64 * 1024 },
      log: () => {},
    });
    for (let i = 0; i < 4000; i++) first.write(vfRow(tag, i));
    await first.flush();
    expect(first.stats()).toMatchObject({ spooled: 4000, written: 0, dropped: 0 });
    await first.close();

    // a disk error hits the middle of the second file
    const tableDir = join(spoolDir, 'vf_counters');
    const files = readdirSync(tableDir)
      .filter((f) => f.endsWith('.spool'))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    const bad = join(tableDir, files[1]);
    const badRecords = (await readSpoolFile(bad)).records;
    const data = readFileSync(bad);
    const mid = Math.floor(data.length / 2);
    data.fill(0, mid, mid + 64);
    writeFileSync(bad, data);
    // the records the damage hits (records are contiguous): their ids are lost
    const lostIds = new Set<number>();
    let countedLost = 0; // rows of damaged records whose header is intact
    badRecords.forEach((r, i) => {
      const end = i + 1 < badRecords.length ? badRecords[i + 1].offset : data.length;
      if (r.offset < mid + 64 && end > mid) {
        if (!(r.offset < mid + 64 && r.offset + SPOOL_HEADER_BYTES > mid)) countedLost += r.rows;
        for (const id of idsOf(r)) lostIds.add(id);
      }
    });
    expect(lostIds.size).toBeGreaterThan(0);
    expect((await readSpoolFile(bad)).problems.length).toBeGreaterThan(0);

    const logs: string[] = [];
    const w = await BatchWriter.open({
      store,
      table: vf_counters,
      spoolDir,
      retryMinMs: 20,
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
    await w.drain();
    const st = w.stats();
    await w.close();

    const errors = logs.filter((l) => l.startsWith('error')).join('\n');
    expect(errors).toMatch(new RegExp(`spool ${bad}: corrupt record at offset \\d+ \\(`));
    expect(errors).toContain(`quarantined as ${bad}.corrupt`);
    expect(statSync(`${bad}.corrupt`).size).toBe(data.length);
    expect(readdirSync(tableDir).filter((f) => f.endsWith('.spool'))).toEqual([]);

    const got = await scalars(
      `SELECT count() AS n, uniqExact(rx_bytes) AS ids, sum(rx_bytes) AS s FROM podwire.vf_counters WHERE node = '${tag}'`,
    );
    // every row of every undamaged record, exactly once
    let expectSum = 0;
    for (let i = 0; i < 4000; i++) if (!lostIds.has(i)) expectSum += i;
    expect(got).toEqual({ n: 4000 - lostIds.size, ids: 4000 - lostIds.size, s: expectSum });
    expect(st).toMatchObject({ replayed: got.n, written: got.n, spooling: false });
    const metrics = await w.registry.metrics();
    expect(metrics).toContain('podwire_ingest_spool_quarantined_files_total{table="vf_counters"} 1');
    expect(metrics).toContain(`podwire_ingest_rows_replayed_total{table="vf_counters"} ${got.n}`);
    expect(metrics).toContain('podwire_ingest_spool_bytes{table="vf_counters"} 0');
    // the damaged record's header survived: its rows are counted as dropped, not lost silently
    expect(metrics).toContain(
      `podwire_ingest_rows_dropped_total{table="vf_counters",reason="corrupt"} ${countedLost}`,
    );
  });
});
