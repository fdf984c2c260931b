/**
 * `podwire dashboards --out DIR`, run as a user does: the dashboard JSON and the Grafana
 * provisioning files, with the user's data source uids and database, parsed back (YAML by
 * js-yaml, which the Kubernetes client brings) and checked against each other (no Grafana
 * here to load them: they are read as Grafana's provisioning would read them).
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the environment reference Grafana expands
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

  /** The `podwire:` names the dashboards read, and those the rule file records. */
  const recordings = (dir: string, rulesDir: string) => {
    const queried = new Set(
      boards(dir).flatMap((d) =>
        (d.panels ?? []).flatMap((p) =>
          (p.targets ?? []).flatMap((t) => String(t.expr ?? '').match(/podwire:[\w:]+/g) ?? []),
        ),
      ),
    );
    const rules = read(join(rulesDir, 'podwire-rules.yml'));
    const recorded = new Set([...rules.matchAll(/^\s+- record: (\S+)$/gm)].map((m) => m[1]!));
    const alerts = new Set([...rules.matchAll(/^\s+- alert: (\S+)$/gm)].map((m) => m[1]!));
    return { queried, recorded, alerts };
  };

  it('reads only recording rules and alerts that podwire rules generates (the default tiers)', async () => {
    const out = join(tmp.dir, 'names');
    const rulesDir = join(tmp.dir, 'names-rules');
    expect((await podwire(['dashboards', '--out', out])).code).toBe(0);
    expect((await podwire(['rules', '--out', rulesDir])).code).toBe(0);
    const { queried, recorded, alerts } = recordings(out, rulesDir);
    expect(queried.size).toBeGreaterThan(10);
    for (const name of queried) expect(recorded, name).toContain(name);
    const all = readdirSync(join(out, 'dashboards'))
      .map((f) => read(join(out, 'dashboards', f)))
      .join('\n');
    const filter = /alertname=~\\"([^"\\]+)\\"/.exec(all)![1]!;
    expect(new Set(filter.split('|'))).toEqual(alerts);
  });

  it("--config: a user's tiers, capacity and rate window, as podwire rules --config uses them", async () => {
    const config = join(tmp.dir, 'podwire.json');
    writeFileSync(
      config,
      JSON.stringify({
        tiers: [
          { name: 'gold', min: 5e9, max: 10e9, objective: 99.99 },
          { name: 'bronze', min: 0, max: 1e9 },
        ],
        alerts: { nodeCapacityBps: 40e9, rateWindowSeconds: 30, unattributedRatio: 0.02 },
      }),
    );
    const out = join(tmp.dir, 'config');
    const rulesDir = join(tmp.dir, 'config-rules');
    const r = await podwire(['dashboards', '--out', out, '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect((await podwire(['rules', '--config', config, '--out', rulesDir])).code).toBe(0);
    const { queried, recorded } = recordings(out, rulesDir);
    expect(queried).toContain('podwire:vf_transmit_bytes:rate30s');
    expect(queried).not.toContain('podwire:vf_transmit_bytes:rate1m');
    for (const name of queried) expect(recorded, name).toContain(name);
    const byUid = new Map(boards(out).map((d) => [d.uid, JSON.stringify(d)]));
    // the node capacity: the dashed line and the share of it
    expect(byUid.get('podwire-cluster')).toContain('/ 40000000000');
    expect(byUid.get('podwire-cluster')).toContain('"value":40000000000');
    expect(byUid.get('podwire-cluster')).not.toContain('20000000000');
    // the tiers' objectives: gold's budget, none for the demo's tiers
    const tiers = byUid.get('podwire-tiers')!;
    expect(tiers).toContain("transform(tier_name, ['gold'], [0.9999], nan)");
    expect(tiers).not.toMatch(/'high'|'standard'/);
    // the unattributed-traffic threshold
    expect(byUid.get('podwire-health')).toContain('"value":0.02');
    const ds = yaml.load(read(join(out, 'provisioning/datasources/podwire.yaml'))) as Datasources;
    expect(lintDashboards(boards(out), ds.datasources)).toEqual([]);
  });

  it('--config: a bad config is refused with the field at fault', async () => {
    const config = join(tmp.dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ tiers: [{ name: 'gold', min: 5e9, max: 1e9 }] }));
    const r = await podwire(['dashboards', '--out', join(tmp.dir, 'bad-config'), '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tiers\.0: max must be 0 \(unlimited\) or at least min/);
    expect(existsSync(join(tmp.dir, 'bad-config'))).toBe(false);
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
