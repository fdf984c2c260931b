/**
 * `podwire node` end to end: the per-node exporter as a process — demo SmartNIC by default,
 * real netdev/tc sources on this machine's loopback, a failing source, bad flags, a port in
 * use, clean exit on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoInventory } from '../../collector/nic/demo.js';
import { BIN, ensureBuilt, expectCleanFailure, podwire } from './helpers.js';

beforeAll(ensureBuilt);

interface Running {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.kill('SIGKILL');
});

/** Starts `podwire node …` and waits for the line giving its /metrics URL. */
function startNode(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'node', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(child);
  let err = '';
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 20 s; stderr: ${err}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /(http:\/\/[^\s]+\/metrics)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err, exit });
      }
    });
    void exit.then((code) => reject(new Error(`exited ${code} before listening: ${err}`)));
  });
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

/** Sum of a metric's samples whose labels match all of `labels`. */
function sumOf(text: string, name: string, labels: Record<string, string> = {}): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('podwire node', () => {
  it('serves the demo SmartNIC per pod on 127.0.0.1 and exits 0 on SIGTERM', async () => {
    const n = await startNode(['--listen', '127.0.0.1:0', '--interval', '500ms']);
    expect(new URL(n.url).hostname).toBe('127.0.0.1');
    expect(n.stderr()).toMatch(/podwire node node-a: .* series from demo/);
    const first = await scrape(n.url);
    await sleep(1300);
    const second = await scrape(n.url);
    // every demo L2 pod of node-a has a VF with its pod, namespace and tier joined
    const bound = demoInventory().endpoints.filter((e) => e.node === 'node-a' && e.mode === 'l2');
    const info = first.split('\n').filter((l) => l.startsWith('podwire_vf_info{'));
    for (const ep of bound) {
      const line = info.find((l) => l.includes(`pod="${ep.pod}"`));
      expect(line, ep.pod).toBeDefined();
      expect(line).toContain(`namespace="${ep.namespace}"`);
      expect(line).toContain(`tier="${ep.tier}"`);
      expect(line).toContain(`vlan="${ep.mode === 'l2' ? ep.vlan : ''}"`);
    }
    // the PF's other VFs are free: listed, without a pod
    expect(info.filter((l) => l.includes('pod=""')).length).toBe(info.length - bound.length);
    const tx1 = sumOf(first, 'podwire_vf_transmit_bytes_total', { node: 'node-a' })!;
    const tx2 = sumOf(second, 'podwire_vf_transmit_bytes_total', { node: 'node-a' })!;
    expect(tx2).toBeGreaterThan(tx1);
    expect(sumOf(second, 'podwire_collector_scrape_success', { source: 'demo' })).toBe(1);
    n.child.kill('SIGTERM');
    expect(await n.exit).toBe(0);
  });

  it('reads real netdev and tc counters of loopback; a failing source is reported while the others go on', async () => {
    const n = await startNode([
      '--listen',
      '127.0.0.1:0',
      '--interval',
      '300ms',
      '--node',
      'this-node',
      '--source',
      'netdev:lo',
      '--source',
      'tc:lo',
      '--source',
      'iproute2:nosuchpf0',
    ]);
    expect(n.stderr()).toMatch(/no inventory: pods unlabelled/);
    const first = await scrape(n.url);
    // traffic on loopback: the scrapes themselves, and some more
    for (let i = 0; i < 20; i++) await fetch(n.url).then((r) => r.arrayBuffer());
    await sleep(800);
    const second = await scrape(n.url);
    const rx1 = sumOf(first, 'podwire_netdev_receive_bytes_total', { device: 'lo', node: 'this-node' });
    const rx2 = sumOf(second, 'podwire_netdev_receive_bytes_total', { device: 'lo', node: 'this-node' });
    expect(rx1).not.toBeNull();
    // 20 scrapes of several KiB went through lo between the two readings
    expect(rx2! - rx1!).toBeGreaterThan(20 * 1000);
    expect(sumOf(second, 'podwire_collector_scrape_success', { source: 'netdev' })).toBe(1);
    expect(sumOf(second, 'podwire_collector_scrape_success', { source: 'tc' })).toBe(1);
    expect(sumOf(second, 'podwire_collector_scrape_success', { source: 'iproute2' })).toBe(0);
    expect(sumOf(second, 'podwire_collector_scrape_errors_total', { source: 'iproute2' })).toBeGreaterThan(0);
    // logged once per change of the error, not once per collection
    const failures = n.stderr().match(/nic source iproute2: .*nosuchpf0/g) ?? [];
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeLessThanOrEqual(2);
    n.child.kill('SIGINT');
    expect(await n.exit).toBe(0);
  });

  it('rejects bad flags with a clear message and exit code 2', async () => {
    expectCleanFailure(await podwire(['node', '--source', 'bogus']), 2, /unknown kind; expected one of demo/);
    expectCleanFailure(await podwire(['node', '--source', 'tc']), 2, /expected tc:DEVICE/);
    expectCleanFailure(await podwire(['node', '--source', 'demo:eth0']), 2, /demo takes no devices/);
    expectCleanFailure(
      await podwire(['node', '--source', 'tc:a', '--source', 'tc:b']),
      2,
      /given twice: list its devices in one --source/,
    );
    expectCleanFailure(await podwire(['node', '--listen', 'localhost']), 2, /not HOST:PORT/);
    expectCleanFailure(
      await podwire(['node', '--interval', 'soon']),
      2,
      /--interval: "soon" is not a duration/,
    );
    expectCleanFailure(
      await podwire(['node', '--inventory', '/nonexistent/inv.json']),
      2,
      /cannot read inventory/,
    );
  });

  it('says which address is taken when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await podwire(['node', '--listen', `127.0.0.1:${port}`]);
      expectCleanFailure(r, 2, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    } finally {
      blocker.close();
    }
  });
});
