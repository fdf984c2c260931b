/**
 * A real Alertmanager for tests: Debian's `prometheus-alertmanager` (0.25, installed by
 * scripts/setup-tools.sh) as a plain child process on 127.0.0.1, with a temporary config
 * and storage path and its cluster listener off. It routes every alert to one webhook
 * (`webhookUrl`, resolved ones too) at once: group_wait and group_interval of a second.
 * Like the Prometheus helper: `setpriv --pdeathsig KILL`, killed on exit, directory removed.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../helpers/clickhouse-server.js';
import { startDaemon } from '../helpers/daemon.js';

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

export interface Alertmanager {
  readonly url: string;
  readonly hostPort: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startAlertmanager(o: { webhookUrl: string }): Promise<Alertmanager> {
  if (!existsSync(ALERTMANAGER_BIN)) {
    throw new Error(
      `${ALERTMANAGER_BIN} is missing: run scripts/setup-tools.sh as root (Debian package prometheus-alertmanager)`,
    );
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
  const url = `http://${hostPort}`;
  const { log, stop } = await startDaemon({
    name: 'alertmanager',
    bin: ALERTMANAGER_BIN,
    args,
    dir,
    readyUrl: `${url}/-/ready`,
    keepOutput: 100_000,
  });
  return { url, hostPort, log, stop };
}
