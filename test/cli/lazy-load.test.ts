/**
 * Each command loads only what it uses (issue 14): `trace` and `flows` over a capture do not
 * import the Kubernetes client, Arrow, the ClickHouse clients, the HTTP server or the metrics
 * registry, and the endpoint source factory imports the Kubernetes client only for a
 * `kubernetes` source. Checked by what the process loaded (a loader hook lists every module),
 * not by time: the time is in bench:packets.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, podwire, ROOT, run, SAMPLE_INVENTORY, SAMPLE_PCAP, tempDir } from './helpers.js';

const TRACER = join(ROOT, 'test', 'cli', 'load-trace.mjs');

/** packages a capture read never needs (each costs 0.05–0.7 s to import) */
const HEAVY = [
  '@kubernetes/client-node',
  'apache-arrow',
  '@clickhouse/client',
  'chdb',
  'hono',
  '@hono/zod-openapi',
  'prom-client',
];

const packagesIn = (urls: string[]) =>
  new Set(
    urls.flatMap((u) => {
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
      return m === null ? [] : [m[1]];
    }),
  );

let dir: { dir: string; remove: () => Promise<void> };
let n = 0;

/** Runs node with the tracer; resolves with the exit, stderr and the URLs loaded. */
async function traced(args: string[]): Promise<{ code: number | null; stderr: string; urls: string[] }> {
  const file = join(dir.dir, `loads-${n++}.txt`);
  await writeFile(file, '');
  const r = await run(process.execPath, ['--import', pathToFileURL(TRACER).href, ...args], {
    env: { LOAD_TRACE: file },
  });
  const urls = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  return { code: r.code, stderr: r.stderr, urls };
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await tempDir('podwire-lazy-');
});
afterAll(() => dir.remove());

describe('what a command loads', () => {
  it('the tracer sees a package when one is loaded (the control)', async () => {
    const r = await traced(['--input-type=module', '-e', "await import('apache-arrow')"]);
    expect(r.code).toBe(0);
    expect(packagesIn(r.urls).has('apache-arrow')).toBe(true);
  });

  for (const cmd of ['trace', 'flows']) {
    it(`podwire ${cmd} over a capture loads none of the service's heavy packages`, async () => {
      const r = await traced([
        join(ROOT, 'bin', 'podwire.js'),
        cmd,
        '--pcap',
        SAMPLE_PCAP,
        '--inventory',
        SAMPLE_INVENTORY,
      ]);
      expect(r.stderr).toMatch(/packets=\d+/);
      expect(r.code).toBe(0);
      // the command itself ran (the tracer saw its module)
      expect(r.urls.some((u) => u.endsWith(`/dist/cli/${cmd}.js`))).toBe(true);
      const loaded = packagesIn(r.urls);
      expect(HEAVY.filter((p) => loaded.has(p))).toEqual([]);
    });
  }

  it('the same runs as podwire does without the tracer (it changes nothing the user sees)', async () => {
    const plain = await podwire(['flows', '--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY, '-q']);
    const file = join(dir.dir, 'loads-flows.txt');
    const withTracer = await run(
      process.execPath,
      [
        '--import',
        pathToFileURL(TRACER).href,
        join(ROOT, 'bin', 'podwire.js'),
        'flows',
        '--pcap',
        SAMPLE_PCAP,
        '--inventory',
        SAMPLE_INVENTORY,
        '-q',
      ],
      { env: { LOAD_TRACE: file } },
    );
    expect(withTracer.stdout).toBe(plain.stdout);
    expect(plain.stdout.length).toBeGreaterThan(0);
  });

  it('the endpoint source factory loads the Kubernetes client only for a kubernetes source', async () => {
    const factory = pathToFileURL(join(ROOT, 'dist', 'collector', 'endpoints', 'factory.js')).href;
    const make = (config: object) =>
      traced([
        '--input-type=module',
        '-e',
        `const { createEndpointSource } = await import(${JSON.stringify(factory)});\n` +
          `const s = await createEndpointSource(${JSON.stringify(config)});\n` +
          'console.error(s.name);',
      ]);
    const file = await make({ type: 'file', path: SAMPLE_INVENTORY });
    expect(file.code).toBe(0);
    expect(packagesIn(file.urls).has('@kubernetes/client-node')).toBe(false);
    const k8s = await make({ type: 'kubernetes', server: 'http://127.0.0.1:8001' });
    expect(k8s.code).toBe(0);
    expect(packagesIn(k8s.urls).has('@kubernetes/client-node')).toBe(true);
  });
});
