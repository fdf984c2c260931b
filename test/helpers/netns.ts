/**
 * A small network-namespace lab for tests that drive the real kernel: namespaces, veth
 * pairs, bridges, VXLAN devices, tc mirrors, and commands run inside a namespace.
 *
 * Every namespace of one lab is named `<prefix>-<name>`, the prefix `pw` + 4 random hex
 * digits. Links are created directly inside the lab's namespaces (never in the caller's),
 * so deleting the namespaces removes everything. The lab records its owner PID in
 * `<tmp>/podwire-netlab/<prefix>.pid`; `NetLab.create()` first deletes the namespaces of
 * labs whose owner died without cleaning up. `cleanup()` is idempotent.
 *
 * Commands run through execFile with argument arrays: nothing is ever parsed by a shell.
 */
import { type ChildProcess, execFile, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const LAB_NS_RE = /^(pw[0-9a-f]{4})-/;
const OWNER_DIR = join(tmpdir(), 'podwire-netlab');

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell); rejects with its stderr in the message on failure. */
export async function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
  try {
    const r = await execFileP(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: unknown };
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${String(e.code)}): ${String(e.stderr ?? e.message).trim()}`,
    );
  }
}

async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['-j', 'netns', 'list']);
  if (stdout.trim() === '') return [];
  return (JSON.parse(stdout) as { name: string }[]).map((n) => n.name);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills the processes still inside a namespace (ours: the namespace is ours), then deletes it. */
async function deleteNamespace(ns: string): Promise<void> {
  let pids: number[] = [];
  try {
    const { stdout } = await run('ip', ['netns', 'pids', ns]);
    pids = stdout
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    // the namespace is already gone
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  try {
    await run('ip', ['netns', 'del', ns]);
  } catch (err) {
    if (!/No such file|does not exist|Invalid argument/.test((err as Error).message)) throw err;
  }
}

/**
 * Deletes namespaces left by labs whose owner process is gone (a crashed run). Labs without
 * an owner file are not ours and are left alone.
 */
export async function removeStaleLabs(): Promise<string[]> {
  let owners: string[] = [];
  try {
    owners = readdirSync(OWNER_DIR).filter((f) => f.endsWith('.pid'));
  } catch {
    return [];
  }
  const stale = new Set<string>();
  for (const f of owners) {
    const pid = Number(readFileSync(join(OWNER_DIR, f), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) stale.add(f.slice(0, -'.pid'.length));
  }
  if (stale.size === 0) return [];
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const m = LAB_NS_RE.exec(ns);
    if (m && stale.has(m[1]!)) {
      await deleteNamespace(ns);
      removed.push(ns);
    }
  }
  for (const prefix of stale) rmSync(join(OWNER_DIR, `${prefix}.pid`), { force: true });
  return removed;
}

export type Direction = 'ingress' | 'egress';

export interface VxlanOptions {
  vni: number;
  /** UDP destination port (4789 is the IANA port) */
  dstport: number;
  /** local VTEP address */
  local: string;
  /** the remote VTEP (unicast, point to point) */
  remote: string;
  /** the underlay device */
  dev: string;
}

export class NetLab {
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private cleaned = false;

  private constructor(readonly prefix: string) {}

  /** A new, empty lab with a fresh prefix; removes crashed labs' namespaces first. */
  static async create(): Promise<NetLab> {
    await removeStaleLabs();
    const existing = new Set(await listNamespaces());
    let prefix: string;
    do prefix = `pw${randomBytes(2).toString('hex')}`;
    while ([...existing].some((n) => n.startsWith(`${prefix}-`)));
    mkdirSync(OWNER_DIR, { recursive: true });
    writeFileSync(join(OWNER_DIR, `${prefix}.pid`), `${process.pid}\n`);
    return new NetLab(prefix);
  }

  /** The full namespace name of a lab namespace. */
  ns(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** Creates a namespace with loopback up and IPv6 off (no router/neighbour solicitation noise). */
  async addNamespace(name: string): Promise<string> {
    const ns = this.ns(name);
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await this.exec(name, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
    await this.exec(name, 'sysctl', ['-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    return ns;
  }

  /** `ip -n NS ARGS…` in a lab namespace. */
  ip(name: string, args: string[]): Promise<RunResult> {
    return run('ip', ['-n', this.ns(name), ...args]);
  }

  /** A veth pair with one end in each namespace (may be the same), both ends up. */
  async veth(nsA: string, devA: string, nsB: string, devB: string, mtu?: number): Promise<void> {
    await this.ip(nsA, ['link', 'add', devA, 'type', 'veth', 'peer', 'name', devB, 'netns', this.ns(nsB)]);
    if (mtu !== undefined) {
      await this.ip(nsA, ['link', 'set', devA, 'mtu', String(mtu)]);
      await this.ip(nsB, ['link', 'set', devB, 'mtu', String(mtu)]);
    }
    await this.up(nsA, devA);
    await this.up(nsB, devB);
  }

  up(name: string, dev: string): Promise<RunResult> {
    return this.ip(name, ['link', 'set', dev, 'up']);
  }

  /** Adds an address in CIDR form (e.g. 10.10.0.11/24). */
  addAddress(name: string, dev: string, cidr: string): Promise<RunResult> {
    return this.ip(name, ['addr', 'add', cidr, 'dev', dev]);
  }

  /** A Linux bridge (STP off: ports forward at once), up. */
  async bridge(name: string, dev: string): Promise<void> {
    await this.ip(name, ['link', 'add', dev, 'type', 'bridge', 'stp_state', '0']);
    await this.up(name, dev);
  }

  attach(name: string, dev: string, bridge: string): Promise<RunResult> {
    return this.ip(name, ['link', 'set', dev, 'master', bridge]);
  }

  /** A kernel VXLAN device to one remote VTEP, up. */
  async vxlan(name: string, dev: string, o: VxlanOptions): Promise<void> {
    await this.ip(name, [
      'link',
      'add',
      dev,
      'type',
      'vxlan',
      'id',
      String(o.vni),
      'dstport',
      String(o.dstport),
      'local',
      o.local,
      'remote',
      o.remote,
      'dev',
      o.dev,
    ]);
    await this.up(name, dev);
  }

  /**
   * Mirrors every frame a device receives (ingress) and/or sends (egress) out of `target`:
   * `tc filter add dev DEV ingress|egress matchall action mirred egress mirror dev TARGET`.
   * Kernels without cls_matchall get the equivalent catch-all u32 filter (match 0/0 at 0).
   */
  async mirror(name: string, dev: string, target: string, directions: Direction[] = ['ingress', 'egress']) {
    const ns = this.ns(name);
    try {
      await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'clsact']);
    } catch (err) {
      if (!/File exists|Exclusivity flag on/.test((err as Error).message)) throw err;
    }
    const action = ['action', 'mirred', 'egress', 'mirror', 'dev', target];
    for (const dir of directions) {
      try {
        await run('tc', ['-n', ns, 'filter', 'add', 'dev', dev, dir, 'matchall', ...action]);
      } catch (err) {
        if (!/classifier not found|Unknown filter/i.test((err as Error).message)) throw err;
        await run('tc', [
          '-n',
          ns,
          'filter',
          'add',
          'dev',
          dev,
          dir,
          'protocol',
          'all',
          'u32',
          'match',
          'u32',
          '0',
          '0',
          ...action,
        ]);
      }
    }
  }

  /** The MAC address of a link, lower case (from `ip -j link show`). */
  async mac(name: string, dev: string): Promise<string> {
    const { stdout } = await this.ip(name, ['-j', 'link', 'show', 'dev', dev]);
    const [link] = JSON.parse(stdout) as { address?: string }[];
    if (!link?.address) throw new Error(`${this.ns(name)}/${dev}: no link-layer address`);
    return link.address.toLowerCase();
  }

  /** Runs a command inside a lab namespace and waits for it (`ip netns exec NS CMD ARGS…`). */
  exec(name: string, cmd: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.ns(name), cmd, ...args], timeoutMs);
  }

  /**
   * Starts a command inside a lab namespace without waiting. `ip netns exec` execs the
   * command, so the child's PID is the command's own (signals reach it directly). The lab
   * kills it on cleanup if it is still running.
   */
  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(name), cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts,
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills what the lab started, deletes its namespaces (and with them every link). Idempotent. */
  async cleanup(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.children.clear();
    const errors: string[] = [];
    // the lab's own namespaces, plus any created under its prefix by other means
    const mine = new Set(this.namespaces);
    try {
      for (const ns of await listNamespaces()) if (ns.startsWith(`${this.prefix}-`)) mine.add(ns);
    } catch (err) {
      errors.push((err as Error).message);
    }
    for (const ns of mine) {
      try {
        await deleteNamespace(ns);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    this.namespaces.length = 0;
    if (errors.length === 0) rmSync(join(OWNER_DIR, `${this.prefix}.pid`), { force: true });
    this.cleaned = true;
    if (errors.length > 0) throw new Error(`netlab ${this.prefix} cleanup: ${errors.join('; ')}`);
  }

  get isCleaned(): boolean {
    return this.cleaned;
  }
}

/** Waits until `pattern` appears in a child's stream (accumulated), or rejects on exit/timeout. */
export function waitForOutput(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  const s = child[stream];
  if (!s) return Promise.reject(new Error(`child has no piped ${stream}`));
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (fn: () => void) => {
      clearTimeout(timer);
      s.off('data', onData);
      child.off('exit', onExit);
      fn();
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) done(() => resolve(text));
    };
    const onExit = (code: number | null, sig: string | null) =>
      done(() => reject(new Error(`exited (${code ?? sig}) before ${pattern} on ${stream}: ${text}`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`timed out waiting for ${pattern} on ${stream}: ${text}`))),
      timeoutMs,
    );
    s.on('data', onData);
    child.once('exit', onExit);
  });
}
