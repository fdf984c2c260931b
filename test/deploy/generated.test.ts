/**
 * The generated parts of deploy/ (PrometheusRule, Grafana dashboards and data sources) are
 * what scripts/deploy-generate.mjs makes from the podwire CLI now: a change to the rules,
 * the dashboards or an overlay's tiers that was not regenerated fails here
 * (`npm run deploy:generate` writes them).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './manifests.js';

const out = mkdtempSync(join(tmpdir(), 'podwire-deploy-generated-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const files = (base: string) =>
  (readdirSync(join(base, 'deploy'), { recursive: true }) as string[])
    .filter((f) => f.split('/').includes('generated') && f.endsWith('.yaml'))
    .sort();

describe('deploy/ generated files', () => {
  it('equal fresh output of scripts/deploy-generate.mjs (npm run deploy:generate), file for file', () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'deploy-generate.mjs'), '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const fresh = files(out);
    expect(fresh).toEqual([
      'overlays/cluster/generated/grafana-dashboards.yaml',
      'overlays/cluster/generated/grafana-datasources.yaml',
      'overlays/cluster/generated/prometheusrule.yaml',
      'overlays/single/generated/prometheusrule.yaml',
    ]);
    expect(files(ROOT)).toEqual(fresh);
    for (const f of fresh)
      expect(readFileSync(join(ROOT, 'deploy', f), 'utf8'), `deploy/${f}: run npm run deploy:generate`).toBe(
        readFileSync(join(out, 'deploy', f), 'utf8'),
      );
  });
});
