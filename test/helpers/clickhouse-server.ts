/**
 * A real ClickHouse server for tests: Debian's `clickhouse-server` (installed by
 * scripts/setup-tools.sh) run as a plain foreground child process on 127.0.0.1, with
 * its own minimal config, free ports chosen at runtime and a temporary data directory.
 *
 * Lifecycle: `startClickHouseServer()` resolves once `GET /ping` answers "Ok.". `stop()`
 * sends SIGTERM and waits for the exit; `start()` starts it again on the same data
 * directory and ports; `kill()` sends SIGKILL (a crash). `destroy()` stops it for good
 * and removes the temporary directory (config, and the data unless the caller gave
 * `dataDir` or asked to `keep` it).
 *
 * No process is left behind: the server runs under `setpriv --pdeathsig KILL`, so the
 * kernel kills it when this process dies however it dies; a process 'exit' hook kills
 * it and removes its temporary directory on a normal exit; and every start sweeps the
 * temporary directories (and servers) of owners that died without cleaning up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLICKHOUSE_SERVER_BIN = '/usr/sbin/clickhouse-server';
const SETPRIV_BIN = '/usr/bin/setpriv';
const ROOT_PREFIX = 'podwire-clickhouse-';
const OWNER_FILE = 'owner.pid';
const SERVER_PID_FILE = 'server.pid';
const KEEP_FILE = 'KEEP';
const LOG_LIMIT = 1 << 20;

export interface ClickHouseServerOptions {
  /** ClickHouse's data directory (created if absent; never removed). Default: a temporary one. */
  dataDir?: string;
  /** keep the temporary directory (config + data) after destroy(), for a post-mortem */
  keep?: boolean;
  /** how long to wait for /ping to answer "Ok." (default 30 s) */
  readyTimeoutMs?: number;
}

export interface ClickHouseServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly httpPort: number;
  /** the native protocol port */
  readonly tcpPort: number;
  readonly dataDir: string;
  /** the server's pid while it runs */
  readonly pid: number | undefined;
  /** SIGTERM, then waits for the exit (SIGKILL after 20 s). The data stays; start() again. */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and ports; resolves when /ping answers. */
  start(): Promise<void>;
  /** SIGKILL, now (a crash). The exit is awaited by the next start()/stop(). */
  kill(): void;
  /** Stops it and removes the temporary directory (unless kept). Idempotent. */
  destroy(): Promise<void>;
  /** Everything the server printed (all runs, the last MiB). */
  log(): string;
}

/** Free TCP ports on 127.0.0.1, distinct from one another (all held until all are known). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res());
      });
      ports.push((s.address() as { port: number }).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
  }
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function writeConfig(confDir: string, dataDir: string, httpPort: number, tcpPort: number): string {
  const d = dataDir.endsWith('/') ? dataDir : `${dataDir}/`;
  // no interserver_http_port: nothing listens but HTTP and native, and only on 127.0.0.1
  const config = `<yandex>
 <logger><level>warning</level><console>1</console></logger>
 <listen_host>127.0.0.1</listen_host>
 <http_port>${httpPort}</http_port>
 <tcp_port>${tcpPort}</tcp_port>
 <path>${xml(d)}</path>
 <tmp_path>${xml(d)}tmp/</tmp_path>
 <user_files_path>${xml(d)}user_files/</user_files_path>
 <format_schema_path>${xml(d)}format_schemas/</format_schema_path>
 <mark_cache_size>268435456</mark_cache_size>
 <max_concurrent_queries>50</max_concurrent_queries>
 <default_profile>default</default_profile>
 <default_database>default</default_database>
 <users_config>users.xml</users_config>
</yandex>
`;
  const users = `<yandex>
 <profiles><default><max_threads>2</max_threads></default></profiles>
 <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
 <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;
  writeFileSync(join(confDir, 'config.xml'), config);
  writeFileSync(join(confDir, 'users.xml'), users);
  return join(confDir, 'config.xml');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the temporary directories of helpers whose owner process is gone (a crashed
 * run), killing their server first if it still runs there. Kept directories are left.
 */
export function removeStaleServers(): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(ROOT_PREFIX));
  } catch {
    return removed;
  }
  for (const e of entries) {
    const root = join(tmpdir(), e);
    const owner = readPid(join(root, OWNER_FILE));
    if (owner === undefined || pidAlive(owner) || existsSync(join(root, KEEP_FILE))) continue;
    const server = readPid(join(root, SERVER_PID_FILE));
    if (server !== undefined) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${server}/cmdline`, 'utf8');
      } catch {
        // gone
      }
      // only a clickhouse-server started with this root's config (pids get reused)
      if (cmdline.includes(root)) {
        try {
          process.kill(server, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    }
    rmSync(root, { recursive: true, force: true });
    removed.push(root);
  }
  return removed;
}

/** GET /ping once; true when it answers "Ok.". */
function pingOnce(httpPort: number, timeoutMs: number): Promise<boolean> {
  return new Promise((res) => {
    const req = get(
      { host: '127.0.0.1', port: httpPort, path: '/ping', agent: false, timeout: timeoutMs },
      (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => {
          body += d;
        });
        r.on('end', () => res(r.statusCode === 200 && body.trim() === 'Ok.'));
        r.on('error', () => res(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(false));
  });
}

const live = new Set<Instance>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // synchronous only: SIGKILL whatever still runs and remove what is not kept
  process.on('exit', () => {
    for (const inst of live) inst.cleanupSync();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Instance implements ClickHouseServer {
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  private runs = 0;
  private destroyed = false;
  /** SIGTERM or SIGKILL sent to the current child: it is on its way out */
  private signalled = false;
  private readonly usePdeathsig = existsSync(SETPRIV_BIN);

  constructor(
    private readonly root: string,
    readonly dataDir: string,
    readonly httpPort: number,
    readonly tcpPort: number,
    private readonly keep: boolean,
    private readonly readyTimeoutMs: number,
  ) {
    this.url = `http://127.0.0.1:${httpPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  log(): string {
    return this.output;
  }

  private tail(n = 4000): string {
    const t = this.output.trim();
    return t.length > n ? `…${t.slice(-n)}` : t || '(no output)';
  }

  private append(s: string): void {
    this.output += s;
    if (this.output.length > LOG_LIMIT) this.output = this.output.slice(-LOG_LIMIT);
  }

  private running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.destroyed) throw new Error(`clickhouse-server ${this.url} was destroyed`);
    if (this.running() && !this.signalled) return;
    // a stopped or killed predecessor must be gone before the ports and data are reused
    await this.exited;
    const config = join(this.root, 'config.xml');
    const args = [`--config-file=${config}`];
    const [cmd, argv] = this.usePdeathsig
      ? [SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', CLICKHOUSE_SERVER_BIN, ...args]]
      : [CLICKHOUSE_SERVER_BIN, args];
    this.runs++;
    this.append(`--- podwire: start #${this.runs}: ${CLICKHOUSE_SERVER_BIN} ${args.join(' ')}\n`);
    const child = spawn(cmd, argv, { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.signalled = false;
    let exitInfo: string | undefined;
    let spawnError: Error | undefined;
    this.exited = new Promise<void>((res) => {
      child.once('close', (code, sig) => {
        exitInfo = sig ? `signal ${sig}` : `code ${code}`;
        this.append(`--- podwire: exited (${exitInfo})\n`);
        res();
      });
      child.once('error', (err) => {
        spawnError = err;
        exitInfo = `spawn error: ${err.message}`;
        res();
      });
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => this.append(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => this.append(d));
    if (child.pid !== undefined) writeFileSync(join(this.root, SERVER_PID_FILE), `${child.pid}\n`);

    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      if (exitInfo !== undefined || spawnError) {
        throw new Error(
          `clickhouse-server exited (${exitInfo}) before answering ${this.url}/ping` +
            ` (data ${this.dataDir}); its log:\n${this.tail()}`,
        );
      }
      if (await pingOnce(this.httpPort, 1000)) return;
      if (Date.now() > deadline) {
        this.kill();
        await this.exited;
        throw new Error(
          `clickhouse-server did not answer ${this.url}/ping within ${this.readyTimeoutMs} ms` +
            ` (data ${this.dataDir}); killed it. Its log:\n${this.tail()}`,
        );
      }
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    if (!this.running()) return this.exited;
    this.signalled = true;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), 20_000);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (!this.running()) return;
    this.signalled = true;
    this.child!.kill('SIGKILL');
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      await this.stop();
    } finally {
      this.destroyed = true;
      live.delete(this);
      this.removeFiles();
    }
  }

  /** For the process 'exit' hook: synchronous. */
  cleanupSync(): void {
    this.kill();
    this.destroyed = true;
    this.removeFiles();
  }

  private removeFiles(): void {
    if (this.keep) return;
    // the root holds the config and (unless the caller gave a dataDir) the data
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Starts a ClickHouse server on free 127.0.0.1 ports; resolves once /ping answers.
 * Call destroy() when done (a forgotten one is cleaned up when the process exits).
 */
export async function startClickHouseServer(opts: ClickHouseServerOptions = {}): Promise<ClickHouseServer> {
  if (!existsSync(CLICKHOUSE_SERVER_BIN)) {
    throw new Error(
      `${CLICKHOUSE_SERVER_BIN} is missing: run scripts/setup-tools.sh as root (Debian package clickhouse-server)`,
    );
  }
  installExitHook();
  removeStaleServers();
  const root = mkdtempSync(join(tmpdir(), ROOT_PREFIX));
  writeFileSync(join(root, OWNER_FILE), `${process.pid}\n`);
  if (opts.keep) writeFileSync(join(root, KEEP_FILE), 'kept by ClickHouseServerOptions.keep\n');
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : join(root, 'data');
  mkdirSync(dataDir, { recursive: true });

  // a port found free can be taken before the server binds it: retry with new ones
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [httpPort, tcpPort] = (await freePorts(2)) as [number, number];
    writeConfig(root, dataDir, httpPort, tcpPort);
    const inst = new Instance(
      root,
      dataDir,
      httpPort,
      tcpPort,
      opts.keep ?? false,
      opts.readyTimeoutMs ?? 30_000,
    );
    live.add(inst);
    try {
      await inst.start();
      return inst;
    } catch (err) {
      lastErr = err;
      live.delete(inst);
      inst.kill();
      if (!/Address already in use/i.test(inst.log())) {
        if (!opts.keep) rmSync(root, { recursive: true, force: true });
        throw err;
      }
    }
  }
  if (!opts.keep) rmSync(root, { recursive: true, force: true });
  throw lastErr;
}
