/** `podwire dashboards`: flags in, the generator in dashboards/ writes, a summary out. */
import { DEFAULT_DASHBOARDS_OPTIONS } from '../dashboards/boards/index.js';
import { checkUid } from '../dashboards/datasources.js';
import { generate, LintError } from '../dashboards/generate.js';
import { CLICKHOUSE_PASSWORD_ENV, clickhouseConnection } from '../dashboards/provisioning.js';
import { checkDatabaseName } from '../dashboards/sql.js';
import { loadAllConfig, parseAllConfig } from './all-config.js';
import { ExitCode, parseDuration, UserError } from './errors.js';

export interface DashboardsFlags {
  out: string;
  config?: string;
  prometheusUid: string;
  clickhouseUid: string;
  prometheusUrl: string;
  scrapeInterval: string;
  clickhouseUrl: string;
  database?: string;
  grafanaPath?: string;
  folder: string;
  datasources: boolean;
}

const usage = <T>(fn: () => T): T => {
  try {
    return fn();
  } catch (err) {
    throw new UserError((err as Error).message);
  }
};

export async function dashboards(f: DashboardsFlags): Promise<void> {
  const uids = {
    prometheus: usage(() => checkUid(f.prometheusUid, '--prometheus-uid')),
    clickhouse: usage(() => checkUid(f.clickhouseUid, '--clickhouse-uid')),
  };
  const ch = usage(() => clickhouseConnection(f.clickhouseUrl));
  const database = usage(() =>
    checkDatabaseName(
      f.database ?? ch.database,
      f.database === undefined ? 'the database of --clickhouse-url' : '--database',
    ),
  );
  const scrape = parseDuration(f.scrapeInterval, '--scrape-interval');
  if (!Number.isInteger(scrape)) throw new UserError('--scrape-interval: whole seconds');
  // the tiers and alert settings the rules were generated from (podwire rules --config)
  const cfg = f.config === undefined ? parseAllConfig({}) : await loadAllConfig(f.config);
  try {
    const { files, panels } = await generate({
      out: f.out,
      dashboards: {
        ...DEFAULT_DASHBOARDS_OPTIONS,
        uids,
        database,
        model: { tiers: cfg.tiers, alerts: cfg.alerts },
      },
      provisioning: {
        prometheusUrl: f.prometheusUrl,
        scrapeIntervalSeconds: scrape,
        clickhouse: { ...ch, database },
        dashboardsPath: f.grafanaPath,
        folder: f.folder,
      },
      withDatasources: f.datasources,
    });
    for (const file of files) process.stdout.write(`${file}\n`);
    process.stderr.write(
      `podwire: wrote ${files.filter((x) => x.endsWith('.json')).length} dashboards (${panels} panels, lint clean) and the provisioning files to ${f.out}` +
        (f.datasources ? `; Grafana reads the ClickHouse password from $${CLICKHOUSE_PASSWORD_ENV}` : '') +
        '\n',
    );
    if (ch.hasPassword) {
      process.stderr.write(
        `podwire: the password in --clickhouse-url is not written to the provisioning file; set $${CLICKHOUSE_PASSWORD_ENV} where Grafana runs\n`,
      );
    }
  } catch (err) {
    if (err instanceof LintError) throw new UserError(err.message, ExitCode.INTERNAL);
    throw err;
  }
}
