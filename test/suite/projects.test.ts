/**
 * The vitest projects behind `npm run test:unit`: `unit` and `integration` split the suite
 * between them — every test file in exactly one, neither empty — as vitest itself lists
 * them (`vitest list --project NAME`).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/helpers.js';

function listed(project: string): string[] {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'list', '--filesOnly', '--project', project],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/^\[\w+\]\s+/, '').trim());
}

describe('vitest projects', () => {
  it('unit and integration hold every test file once between them', () => {
    const unit = listed('unit');
    const integration = listed('integration');
    const all = (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `test/${f}`);
    expect(unit.length).toBeGreaterThan(10);
    expect(integration.length).toBeGreaterThan(10);
    expect(unit.filter((f) => integration.includes(f))).toEqual([]);
    expect([...unit, ...integration].sort()).toEqual(all.sort());
    // this file runs vitest: it is no unit test
    expect(integration).toContain('test/suite/projects.test.ts');
  });
});
