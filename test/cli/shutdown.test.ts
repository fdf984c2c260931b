/**
 * Stop signals sent for real to a real `podwire flows --store` and `podwire all`, while
 * their flush cannot finish: the folder the embedded store reads its insert files from is
 * an ext4 filesystem (a loop device) the test freezes (fsfreeze: every write to it waits
 * in the kernel), so every insert hangs as it would on a stalled disk. The first signal
 * starts the flush; a second one must not kill the process (it used to: exit 130, the open
 * window lost, lock files left) but say what is left; a third abandons the flush: what was
 * not stored is spooled, the spool's locks are released, exit 3. The next start replays
 * the spool: every flow stored once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSpoolFile } from '../../ingest/spool.js';
import { openStore } from '../../ingest/store.js';
import { type FreezableDisk, mountFreezable } from '../helpers/small-disk.js';
import { BIN, ensureBuilt, podwire, ROOT, SAMPLE_INVENTORY, SAMPLE_PCAP, tempDir } from './helpers.js';

let tmp: { dir: string; remove: () => Promise<void> };
const disks: FreezableDisk[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('shutdown');
});
afterEach(() => {
  for (const d of disks) d.thaw();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  for (const d of disks) d.unmount();
  await tmp?.remove();
});

interface Proc {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** resolves once stderr matches (from `from` on), with the match */
  said(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
}

function start(args: string[], stdin: 'pipe' | 'ignore'): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b: Buffer) => {
    out.stdout += b;
  });
  child.stderr!.on('data', (b: Buffer) => {
    out.stderr += b;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  const said = async (pattern: RegExp, ms = 30_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(out.stderr);
      if (m) return m;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`exited (${child.exitCode ?? child.signalCode}) before ${pattern}: ${out.stderr}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}: ${out.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { child, out, exited, said };
}

/** The embedded store's insert files go through DATA_DIR/clickhouse/podwire-tmp: a disk the test can freeze. */
function stallableStore(dataDir: string): FreezableDisk {
  const disk = mountFreezable(join(dataDir, 'clickhouse', 'podwire-tmp'), 16);
  disks.push(disk);
  return disk;
}

const spoolLocks = (dataDir: string) => {
  const spool = join(dataDir, 'spool');
  if (!existsSync(spool)) return [];
  return readdirSync(spool, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(spool, e.name, 'LOCK')))
    .map((e) => e.name);
};

/** Rows per table in the spool files waiting there. */
async function spooledRows(dataDir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const spool = join(dataDir, 'spool');
  for (const table of readdirSync(spool, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const dir = join(spool, table.name);
    for (const f of readdirSync(dir).filter((x) => /^\d+\.spool$/.test(x))) {
      const { records, problems } = await readSpoolFile(join(dir, f));
      expect(problems).toEqual([]);
      for (const r of records) out[table.name] = (out[table.name] ?? 0) + r.rows;
    }
  }
  return out;
}

/** Sends the three signals as a user at the keyboard would, checking what each one says. */
async function threeSignals(p: Proc, sig: NodeJS.Signals): Promise<number> {
  p.child.kill(sig);
  await p.said(new RegExp(`${sig}: stopping, storing what is open`));
  p.child.kill(sig);
  const second = await p.said(
    new RegExp(`${sig} again: still flushing (\\d+) rows; a third signal abandons`),
  );
  expect(Number(second[1])).toBeGreaterThan(0);
  // the second signal did not end it
  await new Promise((r) => setTimeout(r, 300));
  expect(p.child.exitCode, p.out.stderr).toBeNull();
  expect(p.child.signalCode).toBeNull();
  p.child.kill(sig);
  const third = await p.said(
    /a third time: flush abandoned; (\d+) rows spooled in (\S+) for the next start; exit 3/,
  );
  return Number(third[1]);
}

/** a pcap with no packets (its global header only) */
const EMPTY_PCAP = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');

describe('stop signals during the flush (real signals, real processes)', () => {
  it('podwire flows --store: a second SIGINT says what is left and does not kill; a third spools it, releases the locks, exits 3; the next start stores every flow once', async () => {
    const dataDir = join(tmp.dir, 'flows');
    const disk = stallableStore(dataDir);
    const p = start(
      ['flows', '--pcap', '-', '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir],
      'pipe',
    );
    const lock = join(dataDir, 'spool', 'flows', 'LOCK');
    for (let i = 0; !existsSync(lock); i++) {
      if (i > 3000 || p.child.exitCode !== null) throw new Error(`not ready: ${p.out.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    disk.freeze();
    // the capture arrives (the pipe stays open: a live input), its closed windows go to the store and hang
    p.child.stdin!.write(readFileSync(SAMPLE_PCAP));
    await new Promise((r) => setTimeout(r, 1500));
    const spooled = await threeSignals(p, 'SIGINT');
    disk.thaw();
    expect(await p.exited, p.out.stderr).toEqual({ code: 3, signal: null });
    const printed = p.out.stdout.split('\n').filter((l) => l.startsWith('{')).length;
    expect(printed).toBeGreaterThan(50);
    // nothing could be stored: every flow it printed is in the spool, and the locks are gone
    expect(spooled).toBe(printed);
    expect(await spooledRows(dataDir)).toEqual({ flows: printed });
    expect(spoolLocks(dataDir)).toEqual([]);

    // the next start replays them
    const emptyPcap = join(tmp.dir, 'empty.pcap');
    writeFileSync(emptyPcap, EMPTY_PCAP);
    const again = await podwire(
      ['flows', '--pcap', emptyPcap, '--inventory', SAMPLE_INVENTORY, '--store', '--data-dir', dataDir],
      { timeoutMs: 60_000 },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/wait in the spool|DROPPED/);
    const store = await openStore({ dataDir: join(dataDir, 'clickhouse') });
    try {
      const rs = await store.client.query({
        query: 'SELECT count() AS n FROM podwire.flows',
        format: 'JSONEachRow',
      });
      expect(Number(((await rs.json()) as { n: string }[])[0].n)).toBe(printed);
    } finally {
      await store.close();
    }
  });

  it('podwire all: a second SIGTERM says what is left and does not kill; a third spools flows, samples and VF rows, releases the locks, exits 3; the next start replays them', async () => {
    const dataDir = join(tmp.dir, 'all');
    const disk = stallableStore(dataDir);
    const cfg = join(tmp.dir, 'all.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        dataDir,
        endpoints: { sources: [{ type: 'demo', seed: 7, nodes: 3, pods: 60, churnPerHour: 0 }] },
        nic: { sources: ['demo'], intervalSeconds: 1 },
        mirror: { type: 'demo', packetsPerSecond: 3000 },
        // one long window: its flows are all open when the signals come
        flows: { windowSeconds: 600 },
        samples: { oneIn: 20 },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    const p = start(['all', '--config', cfg, '--status-every', '0'], 'ignore');
    await p.said(/metrics\s+http:\/\/\S+\/metrics/);
    // traffic, VF counters and packet samples for a while; then the store's disk stalls
    await new Promise((r) => setTimeout(r, 2500));
    disk.freeze();
    // more than a second: the mirror emits each second's traffic at once, so at least one
    // batch of samples (and VF rows) meets the stalled disk before the signals
    await new Promise((r) => setTimeout(r, 1500));
    const spooled = await threeSignals(p, 'SIGTERM');
    disk.thaw();
    expect(await p.exited, p.out.stderr).toEqual({ code: 3, signal: null });
    expect(spoolLocks(dataDir)).toEqual([]);
    const waiting = await spooledRows(dataDir);
    // what it said it spooled is what the spool holds (no more: earlier spooling replayed or is counted)
    expect(Object.values(waiting).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(spooled);
    expect(waiting.flows, JSON.stringify(waiting)).toBeGreaterThan(0);
    expect(waiting.packet_samples, JSON.stringify(waiting)).toBeGreaterThan(0);

    // the next start replays them: nothing is left in the spool when it stops
    const again = start(['all', '--config', cfg, '--duration', '3', '--status-every', '0'], 'ignore');
    expect(await again.exited, again.out.stderr).toEqual({ code: 0, signal: null });
    expect(again.out.stderr).toMatch(/nothing left unflushed/);
    expect(await spooledRows(dataDir)).toEqual({});
    const stored = Number(/stored ([\d,]+) flow rows/.exec(again.out.stderr)![1]!.replaceAll(',', ''));
    const store = await openStore({ dataDir: join(dataDir, 'clickhouse') });
    try {
      const rs = await store.client.query({
        query: 'SELECT count() AS n FROM podwire.flows',
        format: 'JSONEachRow',
      });
      // the second run stored the replayed flows (with its own)
      expect(stored).toBeGreaterThanOrEqual(waiting.flows);
      expect(Number(((await rs.json()) as { n: string }[])[0].n)).toBeGreaterThanOrEqual(stored);
    } finally {
      await store.close();
    }
  });
});
