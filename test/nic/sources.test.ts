/**
 * The command-running sources (iproute2, tc) with an injected exec: the exact argument
 * lists (with and without a namespace), per-device failures reported while the other
 * devices are read, everything failing rejects; and the default exec's errors against real
 * processes (missing binary, non-zero exit with stderr, timeout).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ExecFn, execCommand } from '../../collector/nic/exec.js';
import { createIproute2Source } from '../../collector/nic/iproute2.js';
import { createTcSource } from '../../collector/nic/tc.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** An exec that answers from a table keyed by the joined command line, recording calls. */
function fakeExec(answers: Record<string, string | Error>) {
  const calls: string[] = [];
  const exec: ExecFn = async (file, args, { timeoutMs }) => {
    const line = [file, ...args].join(' ');
    calls.push(`${line} (${timeoutMs})`);
    const a = answers[line];
    if (a === undefined) throw new Error(`${line}: exited with code 1: Cannot find device`);
    if (a instanceof Error) throw a;
    return a;
  };
  return { exec, calls };
}

describe('iproute2 source', () => {
  it('runs ip -s -d -j link show dev PF per PF (inside a namespace with -n) and parses the VFs', async () => {
    const { exec, calls } = fakeExec({
      'ip -n lab-ns -s -d -j link show dev ens1f0': fixture('ip-link-iproute2-6x.json'),
      'ip -n lab-ns -s -d -j link show dev enp94s0f0': fixture('ip-link-iproute2-4x-old.json'),
    });
    const src = createIproute2Source({ node: 'n', devices: ['ens1f0', 'enp94s0f0'], netns: 'lab-ns', exec });
    const r = await src.read();
    expect(calls).toEqual([
      'ip -n lab-ns -s -d -j link show dev ens1f0 (5000)',
      'ip -n lab-ns -s -d -j link show dev enp94s0f0 (5000)',
    ]);
    expect(r.vfs.map((v) => `${v.pf}/${v.vf}`)).toEqual([
      'ens1f0/0',
      'ens1f0/1',
      'ens1f0/2',
      'ens1f0/3',
      'enp94s0f0/0',
      'enp94s0f0/1',
    ]);
    expect(r.errors).toBeUndefined();
  });

  it('reports one PF failing while reading the others; all failing rejects', async () => {
    const { exec, calls } = fakeExec({
      '/sbin/ip -s -d -j link show dev ens1f0': fixture('ip-link-iproute2-6x.json'),
      '/sbin/ip -s -d -j link show dev ens2f0': 'not json',
    });
    const src = createIproute2Source({
      node: 'n',
      devices: ['ens1f0', 'ens2f0', 'ens3f0'],
      ipPath: '/sbin/ip',
      timeoutMs: 750,
      exec,
    });
    const r = await src.read();
    expect(calls[0]).toBe('/sbin/ip -s -d -j link show dev ens1f0 (750)');
    expect(r.vfs).toHaveLength(4);
    expect(r.errors).toEqual([
      expect.stringMatching(/^ens2f0: ip link JSON: not valid JSON/),
      expect.stringMatching(/^ens3f0: .*Cannot find device/),
    ]);
    const none = createIproute2Source({ node: 'n', devices: ['ens3f0'], exec });
    await expect(none.read()).rejects.toThrow(/ens3f0: .*Cannot find device/);
  });

  it('rejects bad names before running anything', () => {
    expect(() => createIproute2Source({ node: 'n', devices: ['-s'] })).toThrow(/invalid name/);
    expect(() => createIproute2Source({ node: 'n', devices: ['a b'] })).toThrow(/invalid name/);
    expect(() => createIproute2Source({ node: 'n', devices: ['x'], netns: '../x' })).toThrow(/netns/);
  });
});

describe('tc source', () => {
  it('reads qdiscs (JSON) and classes (text from tc -j class) per device', async () => {
    const { exec, calls } = fakeExec({
      'tc -n ns1 -s -j qdisc show dev va': fixture('tc-qdisc-htb-tbf.json'),
      'tc -n ns1 -s -j class show dev va': fixture('tc-class-htb-iproute2-6.1.txt'),
    });
    const r = await createTcSource({ node: 'n', devices: ['va'], netns: 'ns1', exec }).read();
    expect(calls.map((c) => c.replace(/ \(\d+\)$/, ''))).toEqual([
      'tc -n ns1 -s -j qdisc show dev va',
      'tc -n ns1 -s -j class show dev va',
    ]);
    expect(r.qdiscs.map((q) => `${q.level} ${q.kind} ${q.handle}`)).toEqual([
      'qdisc htb 1:',
      'qdisc tbf 10:',
      'qdisc clsact ffff:',
      'class htb 1:10',
    ]);
    expect(r.errors).toBeUndefined();
  });

  it('can skip classes; reports class or device failures; all devices failing rejects', async () => {
    const { exec, calls } = fakeExec({
      'tc -s -j qdisc show dev a': fixture('tc-qdisc-htb-tbf.json'),
      'tc -s -j class show dev a': new Error('tc -s -j class show dev a: timed out after 5000 ms'),
    });
    const noClasses = await createTcSource({ node: 'n', devices: ['a'], classes: false, exec }).read();
    expect(noClasses.qdiscs).toHaveLength(3);
    expect(calls).toHaveLength(1);
    const r = await createTcSource({ node: 'n', devices: ['a', 'b'], exec }).read();
    expect(r.qdiscs).toHaveLength(3);
    expect(r.errors).toEqual([
      expect.stringMatching(/^a classes: .*timed out/),
      expect.stringMatching(/^b: .*Cannot find device/),
    ]);
    await expect(createTcSource({ node: 'n', devices: ['b'], exec }).read()).rejects.toThrow(/^b: /);
  });
});

describe('execCommand (the default exec)', () => {
  it('says when the command is missing', async () => {
    await expect(execCommand('/nonexistent/podwire-ip', ['-j'], { timeoutMs: 2000 })).rejects.toThrow(
      '/nonexistent/podwire-ip -j: command not found (/nonexistent/podwire-ip)',
    );
  });

  it('carries the exit code and stderr of a failing command', async () => {
    await expect(
      execCommand('ip', ['-j', 'link', 'show', 'dev', 'pw-no-such-dev'], { timeoutMs: 5000 }),
    ).rejects.toThrow(
      /ip -j link show dev pw-no-such-dev: exited with code 1: Device "pw-no-such-dev" does not exist/,
    );
  });

  it('kills a command that takes too long', async () => {
    const t0 = Date.now();
    await expect(execCommand('sleep', ['5'], { timeoutMs: 100 })).rejects.toThrow(
      'sleep 5: timed out after 100 ms',
    );
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('resolves with stdout', async () => {
    expect(await execCommand('ip', ['-j', 'link', 'show', 'dev', 'lo'], { timeoutMs: 5000 })).toMatch(
      /"ifname":"lo"/,
    );
  });
});
