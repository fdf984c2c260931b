/** A child process whose output the test keeps in full, and stopping it as Ctrl-C does. */
import type { ChildProcess } from 'node:child_process';

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Keeps a spawned child's stdout and stderr (piped) and its exit status. */
export function running(child: ChildProcess): Running {
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** `p`, or null when it has not settled within `ms`. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGINT (what Ctrl-C sends), then the exit status; SIGKILL and fail after `ms`. */
export async function interrupt(r: Running, ms = 15_000) {
  r.child.kill('SIGINT');
  const status = await within(r.exited, ms);
  if (status === null) {
    r.child.kill('SIGKILL');
    throw new Error(`did not exit within ${ms / 1000} s of SIGINT; stderr: ${r.stderr()}`);
  }
  return status;
}
