/**
 * `podwire --help`, `--version` and bad usage: every documented command and exit code is
 * listed, and every usage or configuration mistake exits 2 with a message saying what is
 * wrong (never a stack trace).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  expectCleanFailure,
  podwire,
  ROOT,
  SAMPLE_INVENTORY,
  SAMPLE_PCAP,
  tempDir,
} from './helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('usage');
});
afterAll(() => tmp?.remove());

describe('podwire --help and --version', () => {
  it('--help lists every command and the exit codes', async () => {
    const r = await podwire(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['trace', 'flows', 'node', 'all', 'dashboards', 'rules', 'token', 'sample', 'tour']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    }
    expect(r.stdout).toMatch(/Exit codes:/);
    for (const code of [
      '0 ok',
      '1 input could not be read completely',
      '2 bad usage or configuration',
      '70 internal error',
    ]) {
      expect(r.stdout).toContain(code);
    }
  });

  it('each command has its own --help with its options', async () => {
    const [trace, flows] = await Promise.all([podwire(['trace', '--help']), podwire(['flows', '--help'])]);
    expect(trace.code).toBe(0);
    expect(flows.code).toBe(0);
    for (const opt of [
      '--pcap',
      '--capture',
      '--filter',
      '--inventory',
      '--format',
      '--vxlan-port',
      '--quiet',
    ]) {
      expect(trace.stdout).toContain(opt);
      expect(flows.stdout).toContain(opt);
    }
    expect(flows.stdout).toContain('--window');
    expect(flows.stdout).toContain('--max-flows');
  });

  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await podwire(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });
});

// each case is its own process: run them side by side
describe.concurrent('bad usage exits 2 and says what is wrong', () => {
  const input = ['--pcap', SAMPLE_PCAP, '--inventory', SAMPLE_INVENTORY];
  const cases: [string, () => string[], RegExp][] = [
    ['an unknown command', () => ['bogus'], /unknown command 'bogus'[\s\S]*podwire --help/],
    ['a typo in a command', () => ['trac'], /unknown command 'trac'[\s\S]*Did you mean trace\?/],
    [
      'an unknown option',
      () => ['trace', ...input, '--bogus'],
      /unknown option '--bogus'[\s\S]*podwire --help/,
    ],
    ['a bad --format', () => ['trace', ...input, '--format', 'xml'], /'xml' is invalid.*jsonl, table/],
    ['no --inventory', () => ['trace', '--pcap', SAMPLE_PCAP], /required option '--inventory <file>'/],
    [
      'no input at all',
      () => ['trace', '--inventory', SAMPLE_INVENTORY],
      /give exactly one input: --pcap .* --capture/,
    ],
    [
      'both --pcap and --capture',
      () => ['trace', ...input, '--capture', 'lo'],
      /give exactly one input: --pcap .* --capture/,
    ],
    [
      '--filter without --capture',
      () => ['flows', ...input, '--filter', 'tcp'],
      /--filter applies to --capture only/,
    ],
    [
      '--capture-buffer without --capture',
      () => ['flows', ...input, '--capture-buffer', '64'],
      /--capture-buffer applies to --capture only/,
    ],
    [
      'a --capture-buffer of 0 MiB',
      () => ['trace', '--capture', 'lo', '--inventory', SAMPLE_INVENTORY, '--capture-buffer', '0'],
      /--capture-buffer: a whole number of MiB, 1\.\.4096/,
    ],
    [
      'a --snaplen too small for the headers',
      () => ['trace', '--capture', 'lo', '--inventory', SAMPLE_INVENTORY, '--snaplen', '20'],
      /--snaplen: a whole number of bytes, 64\.\.262144/,
    ],
    [
      'an --untagged-scope that is no scope',
      () => ['trace', ...input, '--untagged-scope', 'vlan:5000'],
      /--untagged-scope: "vlan:5000" is not a tenant scope: expected vni:N \(0\.\.16777215\) or vlan:N \(1\.\.4094\)/,
    ],
    [
      '--untagged-scope with --sflow',
      () => ['flows', '--sflow', '--inventory', SAMPLE_INVENTORY, '--untagged-scope', 'vni:1'],
      /--untagged-scope applies to --pcap, --capture and --netflow, not --sflow/,
    ],
    [
      'a --window that is no duration',
      () => ['flows', ...input, '--window', 'soon'],
      /--window: "soon" is not a duration/,
    ],
    ['a zero --window', () => ['flows', ...input, '--window', '0s'], /--window: must be greater than zero/],
    [
      'a --window in milliseconds',
      () => ['flows', ...input, '--window', '500ms'],
      /--window: 500ms is not a whole number of seconds/,
    ],
    [
      'a --window longer than the table holds',
      () => ['flows', ...input, '--window', '31m'],
      /--window: 31m is longer than the longest window, 30m \(1800 s\)/,
    ],
    [
      'a --window that straddles minutes',
      () => ['flows', ...input, '--window', '7s'],
      /--window: 7s does not divide a minute/,
    ],
    ['a --max-flows of 0', () => ['flows', ...input, '--max-flows', '0'], /--max-flows: a whole number >= 1/],
    [
      'a --limit that is no number',
      () => ['trace', ...input, '--limit', 'x'],
      /--limit: a whole number >= 0/,
    ],
    [
      '--vxlan-port 0',
      () => ['trace', ...input, '--vxlan-port', '0'],
      /--vxlan-port: "0" is not a port \(1\.\.65535\)/,
    ],
    [
      '--vxlan-port 65536',
      () => ['trace', ...input, '--vxlan-port', '8472', '--vxlan-port', '65536'],
      /--vxlan-port: "65536" is not a port/,
    ],
    [
      '--vxlan-port abc',
      () => ['flows', ...input, '--vxlan-port', 'abc'],
      /--vxlan-port: "abc" is not a port/,
    ],
    [
      'a missing inventory file',
      () => ['trace', '--pcap', SAMPLE_PCAP, '--inventory', join(tmp.dir, 'nope.json')],
      /nope\.json: cannot read inventory/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await podwire(args());
      expectCleanFailure(r, 2, message);
      expect(r.stdout).toBe('');
    });
  }

  it('an inventory that is not JSON', async () => {
    const file = join(tmp.dir, 'broken.json');
    await writeFile(file, '{"version": 1, "nodes": [');
    const r = await podwire(['trace', '--pcap', SAMPLE_PCAP, '--inventory', file]);
    expectCleanFailure(r, 2, /broken\.json: not valid JSON/);
    expect(r.stdout).toBe('');
  });

  it('an inventory with bad fields names each one by its path', async () => {
    const inv = JSON.parse(readFileSync(SAMPLE_INVENTORY, 'utf8'));
    inv.nodes[1].vteps = ['192.168.50.300'];
    inv.endpoints[0].vlan = 5000;
    inv.endpoints[2].mac = 'not-a-mac';
    inv.endpoints[3].ips = ['172.16.1.254', '1.2.3'];
    inv.endpoints[4].mode = 'l3';
    inv.endpoints[5].hostInterface = 'veth/../x';
    const file = join(tmp.dir, 'bad-fields.json');
    await writeFile(file, JSON.stringify(inv));
    const r = await podwire(['flows', '--pcap', SAMPLE_PCAP, '--inventory', file]);
    expectCleanFailure(r, 2, /bad-fields\.json: invalid inventory/);
    for (const path of [
      'nodes.1.vteps.0',
      'endpoints.0.vlan',
      'endpoints.2.mac',
      'endpoints.3.ips.1',
      'endpoints.4',
      'endpoints.5.hostInterface',
    ]) {
      expect(r.stderr).toMatch(new RegExp(`^\\s+${path.replaceAll('.', '\\.')}\\b`, 'm'));
    }
    // a field that is fine is not named
    expect(r.stderr).not.toMatch(/endpoints\.1\./);
    expect(r.stdout).toBe('');
  });
});
