/**
 * Shared by the CLI suites: run `node bin/podwire.js …` as a user does (argument arrays, no
 * shell), build dist/ first only when it is missing or older than its sources, parse jsonl
 * output and the summary line, and write inputs to a temporary folder.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'podwire.js');
export const SAMPLE_PCAP = join(ROOT, 'samples', 'mirror.pcap');
export const SAMPLE_INVENTORY = join(ROOT, 'samples', 'inventory.json');

/** The folders tsconfig.build.json compiles into dist/. */
const SOURCE_DIRS = ['cli', 'api', 'collector', 'bench', 'node-exporter', 'ingest', 'dashboards', 'alerts'];

function* sources(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts')) yield p;
  }
}

const outputOf = (src: string) => join(ROOT, 'dist', relative(ROOT, src).replace(/\.ts$/, '.js'));

/** Sources whose compiled .js is missing or older than they are. */
export function staleOutputs(): string[] {
  const stale: string[] = [];
  for (const d of SOURCE_DIRS) {
    for (const src of sources(join(ROOT, d))) {
      const out = outputOf(src);
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) stale.push(src);
    }
  }
  return stale;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds dist/ when it is missing or stale (npm test's pretest has normally built it).
 * CLI suites run in parallel workers: a lock folder keeps them from compiling at once.
 */
export async function ensureBuilt(): Promise<void> {
  if (staleOutputs().length === 0) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const lock = join(ROOT, 'dist', '.cli-test-build.lock');
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // another suite is building; a lock older than 2 minutes is left over from a crash
      if (Date.now() - started > 120_000) rmdirSync(lock);
      await sleep(100);
    }
  }
  try {
    if (staleOutputs().length === 0) return;
    const tsc = () =>
      run(process.execPath, [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        'tsconfig.build.json',
      ]);
    let r = await tsc();
    if (r.code === 0 && staleOutputs().some((src) => !existsSync(outputOf(src)))) {
      // outputs deleted under an up-to-date .tsbuildinfo: tsc does not write them again
      rmSync(join(ROOT, 'dist', '.tsbuildinfo'), { force: true });
      r = await tsc();
    }
    if (r.code !== 0) throw new Error(`build failed (tsc exit ${r.code}):\n${r.stdout}${r.stderr}`);
    // tsc (incremental) does not rewrite an output whose source was only touched: the build
    // succeeded, so those outputs are current; mark them so the next run does not rebuild
    const now = new Date();
    for (const src of staleOutputs()) {
      if (!existsSync(outputOf(src))) throw new Error(`the build did not write ${outputOf(src)}`);
      utimesSync(outputOf(src), now, now);
    }
  } finally {
    rmdirSync(lock);
  }
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** piped into stdin: a Buffer, or { file } streamed from disk */
  stdin?: Buffer | { file: string };
  cwd?: string;
  timeoutMs?: number;
  /** added to the environment */
  env?: Record<string, string>;
}

/** Runs a program with an argument array; resolves when it exits (never rejects on exit codes). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = {
      cwd: opts.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 20_000,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
    };
    const child = spawn(cmd, args, spawnOpts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    // the CLI may stop reading stdin early (a bad option): that is not the test's failure
    child.stdin!.on('error', () => {});
    if (opts.stdin === undefined) child.stdin!.end();
    else if (Buffer.isBuffer(opts.stdin)) child.stdin!.end(opts.stdin);
    else createReadStream(opts.stdin.file).pipe(child.stdin!);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** `podwire ARGS…` from the project root. */
export function podwire(args: readonly string[], opts: RunOptions = {}): Promise<Result> {
  return run(process.execPath, [BIN, ...args], opts);
}

/** Runs tshark (quietly: its root warning goes to stderr); resolves with stdout. */
export async function tshark(args: readonly string[]): Promise<string> {
  const r = await run('tshark', args);
  if (r.code !== 0) throw new Error(`tshark ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

// The jsonl records as the README documents them (extras appear when they apply).
export interface EndpointRec {
  namespace: string;
  pod: string;
  node: string;
  interface: string;
  network: string;
  tier: string;
  by: 'mac' | 'ip';
}

export interface PacketRec {
  frame: number;
  ts: string;
  length: number;
  vlan: number | null;
  vni: number | null;
  src_mac: string | null;
  dst_mac: string | null;
  src_ip: string | null;
  dst_ip: string | null;
  proto: string | null;
  src_port: number | null;
  dst_port: number | null;
  src: EndpointRec | null;
  dst: EndpointRec | null;
  vlans?: number[];
  tunnel?: {
    src_ip: string;
    dst_ip: string;
    src_node: string | null;
    dst_node: string | null;
    outer_vlan: number;
  };
  erspan?: { session: number; type: number };
  tcp_flags?: number;
  icmp_type?: number;
  icmp_code?: number;
  fragment_offset?: number;
  status?: string;
  src_unattributed?: string;
  dst_unattributed?: string;
}

export interface FlowRec {
  window_start: string;
  window_seconds: number;
  observation: number;
  vlan: number;
  vni: number | null;
  src_mac: string;
  dst_mac: string;
  src_ip: string | null;
  dst_ip: string | null;
  proto: string | null;
  src_port: number | null;
  dst_port: number | null;
  tcp_flags: number;
  bytes: number;
  packets: number;
  samples: number;
  sampling_rate: number;
  src: EndpointRec | null;
  dst: EndpointRec | null;
  first_seen: string;
  last_seen: string;
}

/** Parses jsonl line by line (naming the line that does not parse). */
export function parseJsonl<T>(text: string): T[] {
  expect(text === '' || text.endsWith('\n'), 'output ends with a newline').toBe(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line, i) => {
      try {
        return JSON.parse(line) as T;
      } catch {
        throw new Error(`line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
      }
    });
}

/** The `podwire: packets=… bytes=…` summary line on stderr, as numbers by key. */
export function summary(stderr: string): Record<string, number> {
  const line = stderr.split('\n').find((l) => l.startsWith('podwire: packets='));
  if (line === undefined) throw new Error(`no summary line on stderr:\n${stderr}`);
  const out: Record<string, number> = {};
  for (const kv of line.slice('podwire: '.length).split(' ')) {
    const [k, v] = kv.split('=');
    out[k] = Number(v);
  }
  return out;
}

/** A failure as the README promises it: the exit code, a message, no stack trace. */
export function expectCleanFailure(r: Result, code: number, message: RegExp): void {
  expect(r.stderr, 'message').toMatch(message);
  expect(r.code, `exit code (stderr: ${r.stderr})`).toBe(code);
  expect(r.stderr).not.toMatch(/^\s+at .+[:(]\d+:\d+\)?$/m);
  expect(r.stderr).not.toMatch(/internal error|Error: |TypeError|RangeError/);
}

/** A temporary folder, removed by the returned function. */
export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `podwire-cli-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Window start (seconds) of an ISO timestamp. */
export function windowOf(iso: string, windowSeconds: number): number {
  const sec = Math.floor(Date.parse(iso) / 1000);
  return Math.floor(sec / windowSeconds) * windowSeconds;
}

/** "…T10:00:00.409867Z" → µs since the epoch (exact, whatever the fraction digits). */
export function isoToUs(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d+)Z$/.exec(iso);
  if (!m) throw new Error(`not an ISO timestamp with a fraction: ${iso}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number(m[2].padEnd(9, '0').slice(0, 6));
}

/** `podwire ARGS` running in the background: its output so far (`out`), and its exit. */
export function spawnPodwire(
  args: readonly string[],
  env?: Record<string, string>,
): {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<unknown[]>;
} {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b: Buffer) => {
    out.stdout += b;
  });
  child.stderr!.on('data', (b: Buffer) => {
    out.stderr += b;
  });
  return { child, out, exited: once(child, 'exit') };
}
