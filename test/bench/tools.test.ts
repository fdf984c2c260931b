/**
 * The benchmarks that compare against reference tools check for them first: on a machine
 * where `npm test` has not installed them yet, a benchmark says which tool is missing and
 * how to install it, at once, instead of dying with `spawn tcpdump ENOENT` after its runs.
 * PATH is emptied for the child to make the tools missing (the real ones stay installed).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../cli/helpers.js';

beforeAll(() => ensureBuilt());

function benchWithoutTools(script: string) {
  return spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', script)], {
    cwd: ROOT,
    env: { ...process.env, PATH: '/nonexistent' },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('benchmarks without their reference tools', () => {
  it.each([
    ['packets.js', 'bench:packets', /tcpdump \(Debian package tcpdump\)/],
    ['sflow.js', 'bench:sflow', /tshark \(Debian package tshark\)/],
  ])('%s names what is missing and how to install it', (script, bench, tool) => {
    const r = benchWithoutTools(script);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${bench}: missing a tool it runs:`);
    expect(r.stderr).toMatch(tool);
    expect(r.stderr).toContain('bash scripts/setup-tools.sh');
    expect(r.stderr).toMatch(/BENCH_REFERENCE=0/);
    expect(r.stderr).not.toMatch(/ENOENT|^\s+at /m);
  });
});
