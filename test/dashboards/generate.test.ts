/**
 * `podwire dashboards --out DIR`, run as a user does: the dashboard JSON and the Grafana
 * provisioning files, with the user's data source uids and database, parsed back (YAML by
 * js-yaml, which the Kubernetes client brings) and checked against each other (no Grafana
 * here to load them: they are read as Grafana's provisioning would read them).
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the environment reference Grafana expands
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardJson, lintDashboards } from '../../dashboards/lint.js';
import { ensureBuilt, podwire, tempDir } from '../cli/helpers.js';

const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

let tmp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('podwire-dash-gen-');
});
afterAll(async () => {
  await tmp?.remove();
});

interface Datasources {
  apiVersion: number;
  datasources: {
    uid: string;
    type: string;
    url?: string;
    jsonData: Record<string, unknown>;
    secureJsonData?: Record<string, string>;
  }[];
}
interface Providers {
  apiVersion: number;
  providers: { type: string; folder: string; options: { path: string } }[];
}

const read = (path: string) => readFileSync(path, 'utf8');
const boards = (dir: string) =>
  readdirSync(join(dir, 'dashboards')).map(
    (f) => JSON.parse(read(join(dir, 'dashboards', f))) as DashboardJson,
  );

describe('podwire dashboards (stand-in for Grafana: its provisioning files parsed here)', () => {
  it('writes six dashboards and provisioning files that name each other', async () => {
    const out = join(tmp.dir, 'default');
    const r = await podwire(['dashboards', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote 6 dashboards \(\d+ panels, lint clean\)/);
    const ds = yaml.load(read(join(out, 'provisioning/datasources/podwire.yaml'))) as Datasources;
    const prov = yaml.load(read(join(out, 'provisioning/dashboards/podwire.yaml'))) as Providers;
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources.map((d) => [d.uid, d.type])).toEqual([
      ['podwire-prometheus', 'prometheus'],
      ['podwire-clickhouse', 'grafana-clickhouse-datasource'],
    ]);
    // the password is never written: Grafana expands the environment variable
    expect(ds.datasources[1]!.secureJsonData).toEqual({ password: '${PODWIRE_CLICKHOUSE_PASSWORD}' });
    expect(prov.providers[0]).toMatchObject({
      type: 'file',
      folder: 'podwire',
      options: { path: join(out, 'dashboards') },
    });
    const ds2 = boards(out);
    expect(ds2.map((d) => d.uid).sort()).toEqual(
      [
        'podwire-cluster',
        'podwire-flows',
        'podwire-health',
        'podwire-packets',
        'podwire-pod',
        'podwire-tiers',
      ].sort(),
    );
    expect(lintDashboards(ds2, ds.datasources)).toEqual([]);
  });

  it("uses a user's uids, database and Grafana path", async () => {
    const out = join(tmp.dir, 'user');
    const r = await podwire([
      'dashboards',
      '--out',
      out,
      '--prometheus-uid',
      'prom-main',
      '--clickhouse-uid',
      'ch_main',
      '--clickhouse-url',
      'https://grafana:secret@ch.example:8443/netobs',
      '--grafana-path',
      '/var/lib/grafana/dashboards/podwire',
      '--scrape-interval',
      '30s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/password in --clickhouse-url is not written/);
    const text = read(join(out, 'provisioning/datasources/podwire.yaml'));
    expect(text).not.toContain('secret');
    const ds = yaml.load(text) as Datasources;
    expect(ds.datasources.map((d) => d.uid)).toEqual(['prom-main', 'ch_main']);
    expect(ds.datasources[0]!.jsonData).toMatchObject({ timeInterval: '30s' });
    expect(ds.datasources[1]!.jsonData).toMatchObject({
      host: 'ch.example',
      port: 8443,
      secure: true,
      username: 'grafana',
      defaultDatabase: 'netobs',
    });
    const prov = yaml.load(read(join(out, 'provisioning/dashboards/podwire.yaml'))) as Providers;
    expect(prov.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards/podwire');
    const all = readdirSync(join(out, 'dashboards'))
      .map((f) => read(join(out, 'dashboards', f)))
      .join('\n');
    expect(all).toContain('netobs.flows_1m');
    expect(all).not.toContain('podwire.flows');
    for (const d of boards(out)) {
      for (const v of d.templating?.list ?? []) {
        if (v.type === 'datasource') expect(['prom-main', 'ch_main']).toContain(v.current?.value);
      }
    }
    expect(lintDashboards(boards(out), ds.datasources)).toEqual([]);
  });

  it('leaves the data sources file out with --no-datasources', async () => {
    const out = join(tmp.dir, 'nods');
    const r = await podwire(['dashboards', '--out', out, '--no-datasources', '--prometheus-uid', 'existing']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'provisioning/datasources'))).toBe(false);
    expect(existsSync(join(out, 'provisioning/dashboards/podwire.yaml'))).toBe(true);
  });

  it.each([
    [['--prometheus-uid', 'has space'], /--prometheus-uid: 'has space' is not a Grafana uid/],
    [['--database', 'x;DROP TABLE flows'], /--database: 'x;DROP TABLE flows' is not a plain identifier/],
    [['--clickhouse-url', 'ftp://h/db'], /--clickhouse-url: http:\/\/ or https:\/\//],
    [['--scrape-interval', 'soon'], /--scrape-interval: "soon" is not a duration/],
  ])('refuses %j as a usage error', async (args, message) => {
    const r = await podwire(['dashboards', '--out', join(tmp.dir, 'bad'), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(tmp.dir, 'bad'))).toBe(false);
  });
});
