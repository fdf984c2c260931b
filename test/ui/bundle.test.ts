/**
 * The page's build (scripts/build-ui.mjs, part of npm run build): esbuild bundles ui/ into
 * dist/ui, prints the script's gzipped size, and that size is within the 150 KB budget.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { ROOT } from '../cli/helpers.js';

it('builds the page; its script is under 150 KB gzipped, as the build prints', () => {
  const out = execFileSync(process.execPath, ['scripts/build-ui.mjs'], { cwd: ROOT, encoding: 'utf8' });
  const m = /ui: dist\/ui\/app\.js [\d.]+ KB, ([\d.]+) KB gzipped \(budget 150 KB\)/.exec(out);
  expect(m, out).not.toBeNull();
  const script = readFileSync(join(ROOT, 'dist', 'ui', 'app.js'));
  const gz = gzipSync(script, { level: 9 }).length;
  expect(Number(m![1])).toBeCloseTo(gz / 1024, 1);
  expect(gz).toBeLessThan(150 * 1024);
  // uPlot is in the bundle (no script from elsewhere: the page's CSP allows only its own)
  expect(script.toString()).toContain('uplot');
  const html = readFileSync(join(ROOT, 'dist', 'ui', 'index.html'), 'utf8');
  expect(html).toContain('src="/ui/app.js"');
  expect(html).not.toMatch(/<script>|https?:\/\//);
});
