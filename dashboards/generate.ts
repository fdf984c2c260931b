/**
 * `npm run dashboards` / `podwire dashboards --out DIR`: the dashboards as JSON and the Grafana
 * provisioning files that load them, after the lint passed on them (a dashboard that fails
 * it is never written).
 *
 *   DIR/dashboards/podwire-*.json
 *   DIR/provisioning/datasources/podwire.yaml   (unless withDatasources is false)
 *   DIR/provisioning/dashboards/podwire.yaml
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildDashboards, type DashboardsOptions } from './boards/index.js';
import { type DashboardJson, formatProblem, lintDashboards } from './lint.js';
import {
  dashboardProviderYaml,
  datasourcesYaml,
  type ProvisioningOptions,
  provisionedDatasources,
} from './provisioning.js';

export interface GenerateOptions {
  out: string;
  dashboards: DashboardsOptions;
  provisioning: Omit<ProvisioningOptions, 'uids' | 'dashboardsPath'> & { dashboardsPath?: string };
  /** write the data sources file (false: the uids name data sources Grafana already has) */
  withDatasources: boolean;
}

export class LintError extends Error {
  constructor(readonly problems: string[]) {
    super(`the dashboards fail the lint:\n  ${problems.join('\n  ')}`);
    this.name = 'LintError';
  }
}

export interface Generated {
  files: string[];
  panels: number;
}

export async function generate(o: GenerateOptions): Promise<Generated> {
  const out = resolve(o.out);
  const dashboardsDir = join(out, 'dashboards');
  const prov: ProvisioningOptions = {
    ...o.provisioning,
    uids: o.dashboards.uids,
    dashboardsPath: o.provisioning.dashboardsPath ?? dashboardsDir,
  };
  const boards = buildDashboards(o.dashboards);
  const json = boards.map((b) => JSON.parse(JSON.stringify(b.dashboard)) as DashboardJson);
  const problems = lintDashboards(json, provisionedDatasources(prov));
  if (problems.length > 0) throw new LintError(problems.map(formatProblem));

  const files: string[] = [];
  const write = async (path: string, text: string) => {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, text);
    files.push(path);
  };
  for (const [i, b] of boards.entries()) {
    await write(join(dashboardsDir, `${b.file}.json`), `${JSON.stringify(json[i], null, 2)}\n`);
  }
  if (o.withDatasources)
    await write(join(out, 'provisioning', 'datasources', 'podwire.yaml'), datasourcesYaml(prov));
  await write(join(out, 'provisioning', 'dashboards', 'podwire.yaml'), dashboardProviderYaml(prov));
  const panels = json.reduce((n, d) => n + (d.panels ?? []).filter((p) => p.type !== 'row').length, 0);
  return { files, panels };
}
