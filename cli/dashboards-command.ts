/** The `podwire dashboards` command's flags (the work is in ./dashboards.ts, loaded when run). */
import type { Command } from 'commander';

export function addDashboardsCommand(
  program: Command,
  run: (fn: () => Promise<void>) => Promise<void>,
): void {
  program
    .command('dashboards')
    .description(
      'Grafana dashboards (JSON) and the provisioning files that load them, for your data source uids',
    )
    .requiredOption('--out <dir>', 'output folder (dashboards/ and provisioning/ inside)')
    .option(
      '--config <file>',
      "the service config whose tiers: and alerts: the panels use, as podwire rules does (default: the demo's)",
    )
    .option(
      '--prometheus-uid <uid>',
      'uid of the Prometheus data source the dashboards default to',
      'podwire-prometheus',
    )
    .option(
      '--clickhouse-uid <uid>',
      'uid of the ClickHouse data source they default to',
      'podwire-clickhouse',
    )
    .option(
      '--prometheus-url <url>',
      'Prometheus URL for the provisioned data source',
      'http://127.0.0.1:9090',
    )
    .option('--scrape-interval <duration>', "Prometheus' scrape interval of podwire", '15s')
    .option(
      '--clickhouse-url <url>',
      'the ClickHouse server podwire stores to: http(s)://user@host:8123/database',
      'http://default@127.0.0.1:8123/podwire',
    )
    .option('--database <name>', 'ClickHouse database (default: the one in --clickhouse-url)')
    .option('--grafana-path <dir>', 'where Grafana reads the dashboard JSON (default: OUT/dashboards)')
    .option('--folder <name>', 'Grafana folder of the dashboards', 'podwire')
    .option('--no-datasources', 'no data sources file: the uids name data sources Grafana already has')
    .action((o) =>
      run(async () => {
        const { dashboards } = await import('./dashboards.js');
        await dashboards(o);
      }),
    );
}
