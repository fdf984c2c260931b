/**
 * A real Prometheus for tests: Debian's `prometheus` (installed by scripts/setup-tools.sh),
 * run as a plain child process with its config and TSDB in a temporary directory, listening
 * on 127.0.0.1 on a free port, optionally with rule files and Alertmanagers to send to.
 * `startPrometheus()` resolves once /-/ready answers;
 * `query()` runs an instant PromQL query through the HTTP API; `stop()` sends SIGTERM,
 * waits, and removes the directory. The child runs under `setpriv --pdeathsig KILL`, and a
 * process 'exit' hook kills it, so none is left behind.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../helpers/clickhouse-server.js';
import { startDaemon } from '../helpers/daemon.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  readonly url: string;
  query(promql: string): Promise<PromSeries[]>;
  /** Polls `promql` until `done(result)` or the timeout (then throws with the last result and the log). */
  waitFor(promql: string, done: (r: PromSeries[]) => boolean, timeoutMs?: number): Promise<PromSeries[]>;
  log(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(options: {
  /** host:port targets of job "podwire" */
  targets: string[];
  scrapeIntervalSeconds?: number;
  /** rule files (their text), evaluated every evaluationIntervalSeconds */
  ruleFiles?: string[];
  evaluationIntervalSeconds?: number;
  /** host:port of Alertmanagers the alerts go to */
  alertmanagers?: string[];
}): Promise<Prometheus> {
  if (!existsSync(PROMETHEUS_BIN)) {
    throw new Error(
      `${PROMETHEUS_BIN} is missing: run scripts/setup-tools.sh as root (Debian package prometheus)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'podwire-prometheus-'));
  const interval = options.scrapeIntervalSeconds ?? 1;
  const config = join(dir, 'prometheus.yml');
  const rules = (options.ruleFiles ?? []).map((text, i) => {
    const f = join(dir, `rules-${i}.yml`);
    writeFileSync(f, text);
    return f;
  });
  const list = (xs: string[]) => `[${xs.map((t) => JSON.stringify(t)).join(', ')}]`;
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${interval}s`,
      `  scrape_timeout: ${interval}s`,
      `  evaluation_interval: ${options.evaluationIntervalSeconds ?? 60}s`,
      ...(rules.length > 0 ? [`rule_files: ${list(rules)}`] : []),
      ...(options.alertmanagers?.length
        ? [
            'alerting:',
            '  alertmanagers:',
            '    - static_configs:',
            `        - targets: ${list(options.alertmanagers)}`,
          ]
        : []),
      'scrape_configs:',
      '  - job_name: podwire',
      '    static_configs:',
      `      - targets: ${list(options.targets)}`,
      '',
    ].join('\n'),
  );
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  const { log, stop } = await startDaemon({
    name: 'prometheus',
    bin: PROMETHEUS_BIN,
    args,
    dir,
    readyUrl: `${url}/-/ready`,
  });

  const query = async (promql: string): Promise<PromSeries[]> => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: PromSeries[] };
    };
    if (body.status !== 'success' || body.data?.resultType !== 'vector') {
      throw new Error(`query ${promql}: ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data.result;
  };

  return {
    url,
    query,
    async waitFor(promql, ok, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      let last: PromSeries[] = [];
      for (;;) {
        last = await query(promql);
        if (ok(last)) return last;
        if (Date.now() > end) {
          throw new Error(
            `waited ${timeoutMs} ms for ${promql}; last result ${JSON.stringify(last)}; prometheus log:\n${log()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    log,
    stop,
  };
}
