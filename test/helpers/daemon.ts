/**
 * A real server program for tests (Prometheus, Alertmanager…) as a plain child process:
 * its files in a temporary directory, under `setpriv --pdeathsig KILL` and killed by a
 * process 'exit' hook so none is left behind, its output kept, ready once `readyUrl`
 * answers 200. `stop()` sends SIGTERM (SIGKILL after 10 s), waits, and removes the directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

const SETPRIV_BIN = '/usr/bin/setpriv';
const live = new Set<ChildProcess>();
let hooked = false;

export interface Daemon {
  log(): string;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** its name in errors */
  name: string;
  bin: string;
  args: string[];
  /** its temporary directory (cwd; removed by stop) */
  dir: string;
  /** polled until it answers 200 (30 s at most) */
  readyUrl: string;
  /** how much of its output is kept, in characters */
  keepOutput?: number;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const [cmd, argv] = existsSync(SETPRIV_BIN)
    ? [SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', o.bin, ...o.args]]
    : [o.bin, o.args];
  const child = spawn(cmd, argv, { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const append = (d: string) => {
    output = (output + d).slice(-(o.keepOutput ?? 200_000));
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  let exited: string | null = null;
  const done = new Promise<void>((resolve) => {
    const end = (why: string) => {
      exited = why;
      live.delete(child);
      resolve();
    };
    child.once('close', (code, sig) => end(sig ? `signal ${sig}` : `code ${code}`));
    child.once('error', (err) => end(`spawn error: ${err.message}`));
  });
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    }
    rmSync(o.dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`${o.name} exited (${exited}) before it was ready; its log:\n${output}`);
    }
    try {
      if ((await fetch(o.readyUrl)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${o.name} was not ready within 30 s; its log:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { log: () => output, stop };
}
