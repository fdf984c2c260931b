/**
 * A real Alertmanager for tests: Debian's `prometheus-alertmanager` (0.25, installed by
 * scripts/setup-tools.sh) as a plain child process on 127.0.0.1, with a temporary config
 * and storage path and its cluster listener off. It routes every alert to one webhook
 * (`webhookUrl`, resolved ones too) at once: group_wait and group_interval of a second.
 * Like the Prometheus helper: `setpriv --pdeathsig KILL`, killed on exit, directory removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../helpers/clickhouse-server.js';

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';
const SETPRIV_BIN = '/usr/bin/setpriv';

export interface Alertmanager {
  readonly url: string;
  readonly hostPort: string;
  log(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

export async function startAlertmanager(o: { webhookUrl: string }): Promise<Alertmanager> {
  if (!existsSync(ALERTMANAGER_BIN)) {
    throw new Error(
      `${ALERTMANAGER_BIN} is missing: run scripts/setup-tools.sh as root (Debian package prometheus-alertmanager)`,
    );
  }
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'podwire-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    [
      'route:',
      '  receiver: hook',
      '  group_by: [alertname, namespace, pod, tier, node]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${JSON.stringify(o.webhookUrl)}`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  const [port] = await freePorts(1);
  const hostPort = `127.0.0.1:${port}`;
  const args = [
    `--config.file=${config}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=${hostPort}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
  const [cmd, argv] = existsSync(SETPRIV_BIN)
    ? [SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', ALERTMANAGER_BIN, ...args]]
    : [ALERTMANAGER_BIN, args];
  const child = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const append = (d: string) => {
    output = (output + d).slice(-100_000);
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  let exited: string | null = null;
  const done = new Promise<void>((resolve) => {
    child.once('close', (code, sig) => {
      exited = sig ? `signal ${sig}` : `code ${code}`;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      exited = `spawn error: ${err.message}`;
      live.delete(child);
      resolve();
    });
  });
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://${hostPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`alertmanager exited (${exited}) before it was ready; its log:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager was not ready within 30 s; its log:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, hostPort, log: () => output, stop };
}
