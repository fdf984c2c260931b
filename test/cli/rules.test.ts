/**
 * `podwire rules --config FILE --out DIR` (what `npm run alerts` runs with the defaults):
 * the rule file and the Alertmanager example for a user's tiers, accepted by the real
 * promtool and amtool; a bad tier is a usage error naming its field.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectCleanFailure, podwire, tempDir } from './helpers.js';

let tmp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('rules');
});
afterAll(async () => {
  await tmp?.remove();
});

describe('podwire rules', () => {
  it("writes rules for the config's tiers that promtool accepts, and an Alertmanager example amtool accepts", async () => {
    const cfg = join(tmp.dir, 'service.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        tiers: [
          { name: 'gold', min: 5e9, max: 10e9, objective: 99.99 },
          { name: 'bronze', min: 0, max: 1e9 },
        ],
        alerts: { nodeCapacityBps: 40e9, forSeconds: { guaranteeBreached: 120 } },
      }),
    );
    const out = join(tmp.dir, 'out');
    const r = await podwire(['rules', '--config', cfg, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const rules = join(out, 'podwire-rules.yml');
    const am = join(out, 'alertmanager.example.yml');
    expect(r.stdout.trim().split('\n')).toEqual([rules, am]);
    const text = readFileSync(rules, 'utf8');
    expect(text).toContain(`from ${cfg}`);
    expect(text).toContain('expr: "vector(0.9999)"');
    expect(text).toContain('tier: "gold"');
    expect(text).not.toContain('tier: "bronze"'); // no objective, no SLO series
    expect(text).toMatch(/alert: PodwireGuaranteeBreached[\s\S]*?for: 2m\n/);
    expect(text).toContain('podwire:node_transmit_bytes:rate1m > 4500000000'); // 90 % of 40 Gb/s in bytes
    const check = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const amtool = spawnSync('amtool', ['check-config', am], { encoding: 'utf8' });
    expect(amtool.status, amtool.stdout + amtool.stderr).toBe(0);
  });

  it('without a config: the demo tiers, into the folder given', async () => {
    const out = join(tmp.dir, 'default');
    const r = await podwire(['rules', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(out, 'podwire-rules.yml'), 'utf8');
    expect(text).toContain('high (min 2000 Mb/s, max 8000 Mb/s, SLO 99.9%)');
    expect(text).toMatch(/alert: PodwireGuaranteeBreached[\s\S]*?for: 5m\n\s+keep_firing_for: 2m/);
  });

  it('a bad tier is a usage error naming its field; nothing is written', async () => {
    const cfg = join(tmp.dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ tiers: [{ name: 'gold', min: 5e9, max: 1e9 }] }));
    const out = join(tmp.dir, 'bad-out');
    const r = await podwire(['rules', '--config', cfg, '--out', out]);
    expectCleanFailure(r, 2, /tiers\.0: max must be 0 \(unlimited\) or at least min/);
    expect(existsSync(out)).toBe(false);
  });
});
