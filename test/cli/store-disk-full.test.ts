/**
 * `podwire flows --store` on a real full disk (a tmpfs mounted by the test, as root).
 * Everything full (the store and its spool on one small disk): the flows cannot be stored
 * nor spooled — the summary says DROPPED and why, the exit code is 1 as the README says,
 * no stack trace, no empty spool files. The store's disk alone full for a while: the flows
 * spool, replay once the disk has room, and the summary does not claim rows wait in the
 * spool when none do.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../ingest/store.js';
import { mountTmpfs, type SmallDisk } from '../helpers/small-disk.js';
import { BIN, ensureBuilt, ROOT, SAMPLE_INVENTORY, SAMPLE_PCAP, tempDir } from './helpers.js';

let tmp: { dir: string; remove: () => Promise<void> };
const disks: SmallDisk[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('store-disk-full');
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of disks) d.unmount();
  await tmp?.remove();
});

interface Flows {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<number | null>;
  /** resolves once stderr matches */
  said(pattern: RegExp, ms?: number): Promise<void>;
}

/** `podwire flows --pcap - --store --data-dir DIR`, its capture fed by the test through stdin. */
function flowsFromStdin(dataDir: string): Flows {
  const child = spawn(
    process.execPath,
    // a retention the fixture's dates stay within whatever the date (TTLs count from the traffic's time)
    [BIN, 'flows', '--pcap', '-', '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b: Buffer) => {
    out.stdout += b;
  });
  child.stderr!.on('data', (b: Buffer) => {
    out.stderr += b;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const said = async (pattern: RegExp, ms = 30_000) => {
    const end = Date.now() + ms;
    while (!pattern.test(out.stderr)) {
      if (child.exitCode !== null)
        throw new Error(`exited (${child.exitCode}) before ${pattern}: ${out.stderr}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}: ${out.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, out, exited, said };
}

/** The writer's spool lock exists: the store is open and migrated, the writer ready. */
async function ready(dataDir: string, f: Flows): Promise<void> {
  const lock = join(dataDir, 'spool', 'flows', 'LOCK');
  const end = Date.now() + 30_000;
  while (!existsSync(lock)) {
    if (f.child.exitCode !== null) throw new Error(`exited (${f.child.exitCode}): ${f.out.stderr}`);
    if (Date.now() > end) throw new Error(`not ready: ${f.out.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const printedFlows = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).length;

describe('podwire flows --store on a full disk', () => {
  it('store and spool on one full disk: the summary says DROPPED and why, exit 1, no stack trace, no empty spool files', async () => {
    const dataDir = join(tmp.dir, 'all-full');
    const disk = mountTmpfs(dataDir, '16m');
    disks.push(disk);
    const f = flowsFromStdin(dataDir);
    await ready(dataDir, f);
    const filler = disk.fill();
    f.child.stdin!.end(readFileSync(SAMPLE_PCAP));
    const code = await f.exited;
    const n = printedFlows(f.out.stdout);
    expect(n).toBeGreaterThan(50);
    expect(f.out.stderr).toMatch(
      new RegExp(
        `stored 0 flows in .*; ${n} rows DROPPED \\(spool_error: ${n}\\): they could not be stored nor spooled`,
      ),
    );
    expect(f.out.stderr, 'no stack trace').not.toMatch(/^\s+at .+[:(]\d+:\d+\)?$/m);
    expect(f.out.stderr).not.toMatch(/wait in the spool|spooled for/);
    expect(code, f.out.stderr).toBe(1);
    const spool = join(dataDir, 'spool', 'flows');
    expect(
      readdirSync(spool).filter((x) => x.endsWith('.spool') && statSync(join(spool, x)).size === 0),
    ).toEqual([]);
    rmSync(filler);
  });

  it("the store's disk full for a while: the flows spool, replay once it has room, and the summary claims no rows wait in the spool", async () => {
    const dataDir = join(tmp.dir, 'store-full');
    const disk = mountTmpfs(join(dataDir, 'clickhouse'), '16m');
    disks.push(disk);
    const f = flowsFromStdin(dataDir);
    await ready(dataDir, f);
    const filler = disk.fill();
    // most windows of the capture close while it is read; their flows go to the store (full)
    f.child.stdin!.write(readFileSync(SAMPLE_PCAP));
    await f.said(/insert into .* failed .*: spooling to /);
    rmSync(filler);
    await f.said(/flows: spool replayed: direct sends resume/);
    f.child.stdin!.end();
    const code = await f.exited;
    const n = printedFlows(f.out.stdout);
    expect(code, f.out.stderr).toBe(0);
    expect(f.out.stderr).toMatch(new RegExp(`stored ${n} flows in `));
    expect(f.out.stderr).not.toMatch(/wait in the spool|spooled for later|DROPPED/);
    const store = await openStore({ dataDir: join(dataDir, 'clickhouse') });
    try {
      const rs = await store.client.query({
        query: 'SELECT count() AS n FROM podwire.flows',
        format: 'JSONEachRow',
      });
      expect(((await rs.json()) as { n: string }[])[0].n).toBe(String(n));
    } finally {
      await store.close();
    }
  });
});
