#!/usr/bin/env node
// Entry point of the `podwire` command: the compiled CLI (npm ci / npm run build make dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/podwire.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('podwire: not built yet — run `npm run build` (npm ci does it for you)\n');
  process.exit(70);
}
await import(cli.href);
