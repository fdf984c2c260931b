/**
 * A built CLI and a temporary directory holding the demo inventory, for a suite that runs
 * `podwire flows --netflow` (registers its hooks; read `dir` and `inventory` in tests).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ensureBuilt, tempDir } from '../cli/helpers.js';
import { demoInventory } from './exporter-traffic.js';

export function cliSuiteFiles(name: string): { readonly dir: string; readonly inventory: string } {
  let tmp: { dir: string; remove: () => Promise<void> } | undefined;
  const files = { dir: '', inventory: '' };
  beforeAll(async () => {
    await ensureBuilt();
    tmp = await tempDir(name);
    files.dir = tmp.dir;
    files.inventory = join(tmp.dir, 'inventory.json');
    await writeFile(files.inventory, JSON.stringify(demoInventory()));
  });
  afterAll(async () => {
    await tmp?.remove();
  });
  return files;
}
