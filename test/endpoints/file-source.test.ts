/**
 * The file source on a real temp directory with real fs watching (no poll): valid →
 * invalid → valid edits, replacement by rename, the last good inventory staying in force.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEndpointSource } from '../../collector/endpoints/factory.js';
import { FileSource } from '../../collector/endpoints/file.js';
import { LiveInventory } from '../../collector/endpoints/live-inventory.js';
import { ipAt, l2, T0 } from './records.js';
import { waitFor } from './wait.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'podwire-file-source-'));
  dirs.push(d);
  return d;
}

const inventory = (endpoints: unknown[]) =>
  JSON.stringify({ version: 1, nodes: [{ name: 'node-a', vteps: ['192.168.50.1'] }], endpoints }, null, 2);

describe('file endpoint source', () => {
  it('valid → invalid → valid: a clear error naming the field, the last good inventory stays in force', async () => {
    const dir = await tmp();
    const path = join(dir, 'inventory.json');
    await writeFile(path, inventory([l2({ pod: 'web-1' })]));
    const logs: string[] = [];
    let now = T0;
    const live = new LiveInventory({ log: (m) => logs.push(m), now: () => now });
    const src = new FileSource({ path, debounceMs: 20, pollMs: 0, log: (m) => logs.push(m), now: () => now });
    await live.attach(src);
    expect(ipAt(live.index, 100, '10.10.0.11', T0)).toBe('shop/web-1@node-a');
    expect(live.index.vtepNode4(0xc0a83201)).toBe('node-a');

    // invalid: a bad VLAN and a bad MAC
    now = T0 + 10_000_000;
    await writeFile(path, inventory([l2({ pod: 'web-2', vlan: 5000, mac: 'nope' } as never)]));
    await waitFor(() => src.health().errors === 1, 'the error');
    expect(src.health().lastError).toMatch(/endpoints\.0\.vlan: .*4094/);
    expect(src.health().lastError).toMatch(/endpoints\.0\.mac: expected a MAC address/);
    expect(src.health().lastError).toMatch(/the last good inventory stays in force/);
    expect(logs.join('\n')).toMatch(/endpoints\.0\.vlan/);
    expect(ipAt(live.index, 100, '10.10.0.11', now)).toBe('shop/web-1@node-a');
    // not JSON at all
    await writeFile(path, '{ "version": 1, ');
    await waitFor(() => src.health().errors === 2, 'the JSON error');
    expect(src.health().lastError).toMatch(/not valid JSON/);

    // valid again: web-1 replaced by web-2 (same address)
    now = T0 + 20_000_000;
    const reads = src.reads;
    await writeFile(path, inventory([l2({ pod: 'web-2', mac: '02:00:00:00:02:02' })]));
    await waitFor(() => src.reads > reads, 'the good read');
    expect(src.health().ok).toBe(true);
    expect(ipAt(live.index, 100, '10.10.0.11', T0 + 15_000_000)).toBe('shop/web-1@node-a');
    expect(ipAt(live.index, 100, '10.10.0.11', T0 + 25_000_000)).toBe('shop/web-2@node-a');
    expect(live.stats()).toMatchObject({ live: 1, history: 1 });
    await live.close();
  });

  it('follows a file replaced by rename (as editors and config management write it)', async () => {
    const dir = await tmp();
    const path = join(dir, 'inventory.json');
    await writeFile(path, inventory([l2()]));
    const live = new LiveInventory({ log: () => {} });
    const src = (await createEndpointSource({ type: 'file', path, debounceMs: 20 })) as FileSource;
    await live.attach(src);
    const reads = src.reads;
    await writeFile(
      join(dir, 'inventory.json.tmp'),
      inventory([l2(), l2({ pod: 'web-9', mac: '02:00:00:00:09:09', ips: ['10.10.0.99'] })]),
    );
    await rename(join(dir, 'inventory.json.tmp'), path);
    await waitFor(() => src.reads > reads, 'the re-read');
    expect(live.stats().live).toBe(2);
    await live.close();
  });

  it('refuses to start on a missing or invalid file', async () => {
    const dir = await tmp();
    const src = new FileSource({ path: join(dir, 'missing.json'), pollMs: 0 });
    await expect(src.start(() => {})).rejects.toThrow(/missing\.json: cannot read inventory/);
    await writeFile(join(dir, 'bad.json'), inventory([{ ...l2(), mode: 'l3' }]));
    const bad = new FileSource({ path: join(dir, 'bad.json'), pollMs: 0 });
    await expect(bad.start(() => {})).rejects.toThrow(/endpoints\.0\.mode/);
  });
});
