#!/usr/bin/env node
// Builds the page (ui/) into dist/ui with esbuild: one minified ES module bundle (uPlot
// included) and its CSS, plus index.html and style.css. Prints the gzipped size of the
// script; more than the budget fails the build.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const SCRIPT_BUDGET_BYTES = 150 * 1024;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'ui', 'src', 'main.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
  legalComments: 'none',
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'ui', f), join(out, f));
const script = readFileSync(join(out, 'app.js'));
const gz = gzipSync(script, { level: 9 }).length;
process.stdout.write(
  `ui: dist/ui/app.js ${(script.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (budget ${SCRIPT_BUDGET_BYTES / 1024} KB)\n`,
);
if (gz > SCRIPT_BUDGET_BYTES) {
  process.stderr.write('ui: the script is over its budget\n');
  process.exit(1);
}
