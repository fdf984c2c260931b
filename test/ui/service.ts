/** `podwire all` on the demo (embedded chDB), as the browser tests run it: its URL and a stop. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from '../cli/helpers.js';

export async function startService(dir: string, extra: Record<string, unknown> = {}) {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      endpoints: { sources: [{ type: 'demo', seed: 7, nodes: 3, pods: 60, churnPerHour: 0 }] },
      mirror: { type: 'demo', packetsPerSecond: 3000 },
      flows: { windowSeconds: 2 },
      samples: { oneIn: 20 },
      http: { listen: '127.0.0.1:0' },
      ...extra,
    }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'all', '--config', config, '--status-every', '0'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /metrics\s+(http:\/\/\S+)\/metrics/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`podwire all exited (${code}): ${err}`)));
  });
  return {
    url,
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
      }),
  };
}
