/**
 * The collector: a failing source (rejecting, throwing, hanging, returning garbage,
 * partially failing) is logged once per change, counted, and never stops the others;
 * totals stay monotonic across device resets and wraps; things that vanish turn stale and
 * are removed; VFs reported by several sources are merged; the interval timer runs rounds.
 * Also once with the real sysfs/netdev sources on a temp tree next to a tc that cannot run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NETDEV_COUNTERS,
  NicCollector,
  type NicLogLevel,
  QDISC_COUNTERS,
  VF_COUNTERS,
} from '../../collector/nic/collector.js';
import { createDemoSource } from '../../collector/nic/demo.js';
import { createIproute2Source, IPROUTE2_WIDTHS } from '../../collector/nic/iproute2.js';
import { createNetdevSource } from '../../collector/nic/netdev.js';
import { createSysfsSource } from '../../collector/nic/sysfs.js';
import { createTcSource, TC_WIDTHS } from '../../collector/nic/tc.js';
import type { NicReading, NicSource, QdiscSample, VfSample } from '../../collector/nic/types.js';

type Reading = Omit<NicReading, 'at'>;

function vf(over: Partial<VfSample>): VfSample {
  return {
    node: 'n',
    pf: 'ens1f0',
    vf: 0,
    mac: '02:00:00:00:00:01',
    vlan: 100,
    qos: 0,
    minTxRate: 0,
    maxTxRate: 0,
    spoofCheck: null,
    trust: null,
    linkState: null,
    pciAddress: null,
    rxBytes: null,
    rxPackets: null,
    rxDropped: null,
    rxBroadcast: null,
    rxMulticast: null,
    txBytes: null,
    txPackets: null,
    txDropped: null,
    ...over,
  };
}

function qdisc(over: Partial<QdiscSample>): QdiscSample {
  return {
    node: 'n',
    interface: 'va',
    kind: 'tbf',
    handle: '10:',
    parent: 'root',
    level: 'qdisc',
    bytes: 0,
    packets: 0,
    drops: 0,
    overlimits: 0,
    requeues: 0,
    backlogBytes: 0,
    backlogPackets: 0,
    ...over,
  };
}

const empty = (): Reading => ({ vfs: [], qdiscs: [], netdevs: [] });

/** A source that plays a script: each read takes the next step (the last one repeats). */
function scripted(
  name: string,
  steps: (Reading | Error | (() => Promise<Reading>))[],
): NicSource & { reads: number } {
  const s = {
    name,
    reads: 0,
    read(): Promise<Reading> {
      const step = steps[Math.min(s.reads, steps.length - 1)]!;
      s.reads++;
      if (step instanceof Error) return Promise.reject(step);
      if (typeof step === 'function') return step();
      return Promise.resolve(step);
    },
  };
  return s;
}

function harness(
  sources: NicSource[],
  opts: { staleAfterMs?: number; removeAfterMs?: number; readTimeoutMs?: number } = {},
) {
  const logs: [NicLogLevel, string][] = [];
  let now = 1_000_000;
  const c = new NicCollector({
    sources,
    intervalMs: 1000,
    log: (level, message) => logs.push([level, message]),
    clock: () => now,
    ...opts,
  });
  return {
    c,
    logs,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('NicCollector', () => {
  it('keeps going when a source fails, logs once per change of message, counts every failure', async () => {
    const good = scripted('good', [
      { ...empty(), vfs: [vf({ rxBytes: 100 })] },
      { ...empty(), vfs: [vf({ rxBytes: 300 })] },
    ]);
    const bad = scripted('bad', [
      new Error('ip: command not found'),
      new Error('ip: command not found'),
      new Error('ip: command not found'),
      new Error('Device "x" does not exist'),
      empty(),
    ]);
    const h = harness([good, bad]);
    for (let i = 0; i < 6; i++) {
      await h.c.collect();
      h.advance(1000);
    }
    expect(h.logs).toEqual([
      ['warn', 'nic source bad: ip: command not found'],
      ['warn', 'nic source bad: Device "x" does not exist'],
      ['info', 'nic source bad: recovered'],
    ]);
    const s = h.c.state;
    expect(s.collections).toBe(6);
    const [gh, bh] = s.sources;
    expect(gh).toMatchObject({
      name: 'good',
      status: 'ok',
      errors: 0,
      reads: 6,
      lastError: null,
      samples: 1,
    });
    expect(bh).toMatchObject({ name: 'bad', status: 'ok', errors: 4, reads: 6, lastError: null, samples: 0 });
    expect(bh!.lastSuccessAt).toBe(1_000_000 + 5000);
    expect(typeof bh!.lastDurationMs).toBe('number');
    expect(s.vfs).toHaveLength(1);
    expect(s.vfs[0]!.counters.rxBytes).toMatchObject({ value: 300, total: 200 });
  });

  it('survives sources that throw synchronously, hang, or return garbage', async () => {
    const throwing: NicSource = {
      name: 'throwing',
      read() {
        throw new Error('sync boom');
      },
    };
    const hanging: NicSource = { name: 'hanging', read: () => new Promise(() => {}) };
    const garbage = { name: 'garbage', read: async () => ({ vfs: 'no' }) } as unknown as NicSource;
    const ok = scripted('ok', [{ ...empty(), qdiscs: [qdisc({ drops: 5 })] }]);
    const h = harness([throwing, hanging, garbage, ok], { readTimeoutMs: 50 });
    const s = await h.c.collect();
    expect(s.sources.map((x) => [x.name, x.status, x.lastError])).toEqual([
      ['throwing', 'failed', 'sync boom'],
      ['hanging', 'failed', 'read timed out after 50 ms'],
      ['garbage', 'failed', 'read() returned no vfs/qdiscs/netdevs arrays'],
      ['ok', 'ok', null],
    ]);
    expect(s.qdiscs).toHaveLength(1);
    expect(h.logs).toHaveLength(3);
  });

  it('marks a source partial when it reports errors, keeps its data, logs once', async () => {
    const partial = scripted('tc', [
      { ...empty(), qdiscs: [qdisc({})], errors: ['vb: Cannot find device "vb"'] },
      { ...empty(), qdiscs: [qdisc({})], errors: ['vb: Cannot find device "vb"'] },
    ]);
    const h = harness([partial]);
    await h.c.collect();
    const s = await h.c.collect();
    expect(s.sources[0]).toMatchObject({
      status: 'partial',
      errors: 2,
      lastError: 'vb: Cannot find device "vb"',
    });
    expect(s.qdiscs).toHaveLength(1);
    expect(h.logs).toEqual([['warn', 'nic source tc: vb: Cannot find device "vb"']]);
  });

  it('keeps totals monotonic across a device reset and a 32-bit wrap', async () => {
    const U32 = 2 ** 32;
    const seq = [
      [100, U32 - 100],
      [200, U32 - 40],
      [50, 60], // rx reset (driver reload); drops wrapped
      [150, 70],
    ];
    const src = scripted(
      'nic',
      seq.map(([rx, drops]) => ({
        ...empty(),
        vfs: [vf({ rxBytes: rx! })],
        qdiscs: [qdisc({ drops: drops! })],
      })),
    );
    // the kernel's widths: VF bytes 64-bit (a decrease is a reset), qdisc drops 32-bit
    const h = harness([
      { ...src, read: () => src.read(), counterWidths: { ...IPROUTE2_WIDTHS, ...TC_WIDTHS } },
    ]);
    const totals: number[][] = [];
    for (let i = 0; i < seq.length; i++) {
      const s = await h.c.collect();
      totals.push([s.vfs[0]!.counters.rxBytes!.total, s.qdiscs[0]!.counters.drops!.total]);
      h.advance(1000);
    }
    expect(totals).toEqual([
      [0, 0],
      [100, 60],
      [150, 160],
      [250, 170],
    ]);
    expect(h.c.state.counters).toMatchObject({ resets: 1, wraps: 1, jumps: 0 });
    const rx = h.c.state.vfs[0]!.counters.rxBytes!;
    expect(rx).toMatchObject({ value: 150, delta: 100, rate: 100, resets: 1 });
  });

  it('state is a snapshot: a later round does not change an earlier state', async () => {
    const src = scripted('nic', [
      { ...empty(), vfs: [vf({ rxBytes: 1 })] },
      { ...empty(), vfs: [vf({ rxBytes: 9 })] },
    ]);
    const h = harness([src]);
    await h.c.collect();
    h.advance(1000);
    const before = await h.c.collect();
    h.advance(1000);
    await h.c.collect();
    expect(before.vfs[0]!.counters.rxBytes!.total).toBe(8);
    expect(h.c.state.vfs[0]!.counters.rxBytes!.delta).toBe(0);
  });

  it('marks a vanished VF stale, then removes it with its series', async () => {
    const both = { ...empty(), vfs: [vf({ vf: 0, rxBytes: 1 }), vf({ vf: 1, rxBytes: 1 })] };
    const one = { ...empty(), vfs: [vf({ vf: 0, rxBytes: 2 })] };
    const src = scripted('nic', [both, one]);
    const h = harness([src], { staleAfterMs: 2500, removeAfterMs: 5500 });
    await h.c.collect();
    const stale: [number, boolean][] = [];
    for (let i = 1; i <= 7; i++) {
      h.advance(1000);
      const s = await h.c.collect();
      const v1 = s.vfs.find((v) => v.sample.vf === 1);
      stale.push([i, v1 === undefined ? null : v1.stale] as [number, boolean]);
    }
    expect(stale).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, true],
      [5, true],
      [6, null],
      [7, null],
    ]);
    expect(h.c.state.vfs.map((v) => v.key)).toEqual(['n|ens1f0|0']);
    expect(h.c.state.counters.removed).toBe(1);
  });

  it('merges VFs from several sources: settings from the first, blanks and missing counters from the others', async () => {
    const ip = scripted('iproute2', [
      {
        ...empty(),
        vfs: [vf({ vlan: 100, maxTxRate: 1e10, trust: false, rxBytes: 10, txBytes: 20, rxDropped: null })],
      },
    ]);
    const sys = scripted('sysfs', [
      {
        ...empty(),
        vfs: [vf({ vlan: 0, mac: '', pciAddress: '0000:3b:00.2', rxBytes: 11, txBytes: 21, rxDropped: 3 })],
      },
    ]);
    const h = harness([ip, sys]);
    const s = await h.c.collect();
    expect(s.vfs).toHaveLength(1);
    const m = s.vfs[0]!;
    expect(m.sources).toEqual(['iproute2', 'sysfs']);
    expect(m.source).toBe('iproute2');
    expect(m.sample).toMatchObject({
      vlan: 100,
      maxTxRate: 1e10,
      mac: '02:00:00:00:00:01',
      pciAddress: '0000:3b:00.2',
      trust: false,
      rxBytes: 10,
      txBytes: 20,
      rxDropped: 3,
    });
    expect(m.counterSources).toEqual({ rxBytes: 'iproute2', txBytes: 'iproute2', rxDropped: 'sysfs' });
  });

  it('tracks the optional qosDropped counter when a source reports it', async () => {
    const demo = scripted('demo', [
      { ...empty(), vfs: [vf({ rxBytes: 1, qosDropped: 10 })] },
      { ...empty(), vfs: [vf({ rxBytes: 2, qosDropped: 35 })] },
    ]);
    const plain = scripted('plain', [{ ...empty(), vfs: [vf({ vf: 1, rxBytes: 1 })] }]);
    const h = harness([demo, plain]);
    await h.c.collect();
    h.advance(1000);
    const s = await h.c.collect();
    expect(s.vfs[0]!.counters.qosDropped).toMatchObject({ total: 25, rate: 25 });
    expect(s.vfs[0]!.sample.qosDropped).toBe(35);
    expect(s.vfs[1]!.counters.qosDropped).toBeUndefined();
    expect(s.vfs[1]!.sample.qosDropped).toBeNull();
  });

  it('takes counters from the next source once the first one has been failing long enough', async () => {
    const ip = scripted('iproute2', [{ ...empty(), vfs: [vf({ rxBytes: 10 })] }, new Error('ip gone')]);
    const sys = scripted('sysfs', [{ ...empty(), vfs: [vf({ rxBytes: 500 })] }]);
    const h = harness([ip, sys], { staleAfterMs: 1500, removeAfterMs: 60_000 });
    expect((await h.c.collect()).vfs[0]!.counterSources.rxBytes).toBe('iproute2');
    h.advance(1000);
    expect((await h.c.collect()).vfs[0]!.counterSources.rxBytes).toBe('iproute2'); // not stale yet
    h.advance(1000);
    const s = await h.c.collect();
    expect(s.vfs[0]!.counterSources.rxBytes).toBe('sysfs');
    expect(s.vfs[0]!.source).toBe('sysfs');
    expect(s.vfs[0]!.stale).toBe(false);
  });

  it('shares one round between concurrent collect() calls; start()/stop() run rounds on the interval', async () => {
    const src = scripted('nic', [empty()]);
    const c = new NicCollector({ sources: [src], intervalMs: 20, log: () => {} });
    const [a, b] = await Promise.all([c.collect(), c.collect()]);
    expect(a).toBe(b);
    expect(src.reads).toBe(1);
    c.start();
    await new Promise((r) => setTimeout(r, 110));
    await c.stop();
    const n = c.state.collections;
    expect(n).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 60));
    expect(c.state.collections).toBe(n);
  });

  it('totals(), the exporter view, says what the snapshot says: merged VFs, fresh things only', async () => {
    const ip = scripted('iproute2', [
      { ...empty(), vfs: [vf({ vf: 0, rxBytes: 10, rxDropped: null }), vf({ vf: 1, rxBytes: 5 })] },
      { ...empty(), vfs: [vf({ vf: 0, rxBytes: 40, rxDropped: null })] },
    ]);
    const sys = scripted('sysfs', [
      {
        ...empty(),
        vfs: [vf({ vf: 0, mac: '', pciAddress: '0000:3b:00.2', rxBytes: 11, rxDropped: 3 })],
        qdiscs: [qdisc({ drops: 1 })],
      },
      { ...empty(), vfs: [vf({ vf: 0, mac: '', rxBytes: 12, rxDropped: 9 })], qdiscs: [qdisc({ drops: 7 })] },
    ]);
    const h = harness([ip, sys], { staleAfterMs: 1500, removeAfterMs: 60_000 });
    for (let round = 0; round < 3; round++) {
      if (round > 0) h.advance(1000);
      await h.c.collectRound();
      const t = h.c.totals();
      const s = h.c.state;
      const fresh = s.vfs.filter((v) => !v.stale);
      expect(t.vfs.map((v) => v.sample)).toEqual(fresh.map((v) => v.sample));
      expect(t.vfs.map((v) => v.totals)).toEqual(
        fresh.map((v) => VF_COUNTERS.map((n) => v.counters[n]?.total ?? null)),
      );
      expect(t.qdiscs.map((q) => q.totals)).toEqual(
        s.qdiscs.filter((q) => !q.stale).map((q) => QDISC_COUNTERS.map((n) => q.counters[n]?.total ?? null)),
      );
      expect(t.at).toBe(s.at);
    }
    // VF 1 vanished after the first round and is stale by the third: in neither view
    expect(h.c.totals().vfs.map((v) => v.sample.vf)).toEqual([0]);
    // rxDropped only from sysfs (iproute2 reports none): 3 → 9 → 9
    expect(h.c.totals().vfs[0]!.totals[VF_COUNTERS.indexOf('rxDropped')]).toBe(6);
  });

  it('rejects two sources with one name', () => {
    expect(() => new NicCollector({ sources: [scripted('a', [empty()]), scripted('a', [empty()])] })).toThrow(
      /two sources named "a"/,
    );
  });

  it('with real sources: netdev on a temp sysfs tree keeps working while tc cannot start', async () => {
    const root = mkdtempSync(join(tmpdir(), 'podwire-nic-'));
    try {
      const stats = join(root, 'class/net/pf0vf0/statistics');
      mkdirSync(stats, { recursive: true });
      const write = (rx: number) => {
        for (const f of [
          'rx_bytes',
          'rx_packets',
          'rx_dropped',
          'rx_errors',
          'tx_bytes',
          'tx_packets',
          'tx_dropped',
          'tx_errors',
        ]) {
          writeFileSync(join(stats, f), `${f === 'rx_bytes' ? rx : 0}\n`);
        }
      };
      write(1000);
      const netdev = createNetdevSource({ node: 'n', devices: [], match: /^pf0vf/, root });
      const tc = createTcSource({ node: 'n', devices: ['pf0vf0'], tcPath: '/nonexistent/tc' });
      const h = harness([tc, netdev]);
      await h.c.collect();
      write(1600);
      h.advance(1000);
      const s = await h.c.collect();
      expect(s.netdevs[0]!.counters.rxBytes).toMatchObject({ total: 600, rate: 600 });
      expect(s.sources[0]).toMatchObject({ name: 'tc', status: 'failed', errors: 2 });
      expect(s.sources[0]!.lastError).toMatch(
        /pf0vf0: \/nonexistent\/tc -s -j qdisc show dev pf0vf0: command not found/,
      );
      expect(h.logs).toHaveLength(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/**
 * Counter widths: each source says how wide each counter it reads is (the kernel's or
 * device's own width), and only a 32-bit counter wraps. A 64-bit counter that goes down
 * was reset (a VF re-created, a qdisc replaced): its delta is the new value, never the
 * ~2^32 a wrap would invent.
 */
describe('counter widths', () => {
  const ipLink = (rxBytes: number) =>
    JSON.stringify([
      {
        ifname: 'ens1f0',
        vfinfo_list: [
          {
            vf: 0,
            address: '02:00:00:00:01:01',
            stats: {
              rx: { bytes: rxBytes, packets: 10, multicast: 0, broadcast: 0, dropped: 0 },
              tx: { tx_bytes: 0, tx_packets: 0, dropped: 0 },
            },
          },
        ],
      },
    ]);
  const U32 = 2 ** 32;

  it('a VF re-created (stand-in `ip -j link` output): 64-bit rx_bytes 4,000,000,000 → 10,000,000 is a reset, not a wrap', async () => {
    let rx = 4_000_000_000;
    const ip = createIproute2Source({ node: 'n', devices: ['ens1f0'], exec: async () => ipLink(rx) });
    const h = harness([ip]);
    await h.c.collect();
    rx = 10_000_000;
    h.advance(1000);
    const s = await h.c.collect();
    expect(s.vfs[0]!.counters.rxBytes).toMatchObject({ last: 'reset', delta: 10_000_000, total: 10_000_000 });
    expect(s.counters).toMatchObject({ resets: 1, wraps: 0 });
  });

  it('netdev and sysfs counters (temp sysfs tree stand-in) are 64-bit: going down is a reset', async () => {
    const root = mkdtempSync(join(tmpdir(), 'podwire-width-'));
    try {
      const stats = join(root, 'class/net/pf0vf0/statistics');
      const vfStats = join(root, 'class/net/ens1f0/device/sriov/0/stats');
      mkdirSync(stats, { recursive: true });
      mkdirSync(vfStats, { recursive: true });
      const write = (bytes: number) => {
        for (const f of [
          'rx_bytes',
          'rx_packets',
          'rx_dropped',
          'rx_errors',
          'tx_bytes',
          'tx_packets',
          'tx_dropped',
          'tx_errors',
        ])
          writeFileSync(join(stats, f), `${f === 'rx_bytes' ? bytes : 0}\n`);
        writeFileSync(join(vfStats, 'tx_bytes'), `${bytes}\n`);
      };
      write(U32 - 1000);
      const h = harness([
        createNetdevSource({ node: 'n', devices: ['pf0vf0'], root }),
        createSysfsSource({ node: 'n', devices: ['ens1f0'], root }),
      ]);
      await h.c.collect();
      write(500);
      h.advance(1000);
      const s = await h.c.collect();
      expect(s.netdevs[0]!.counters.rxBytes).toMatchObject({ last: 'reset', delta: 500 });
      expect(s.vfs[0]!.counters.txBytes).toMatchObject({ last: 'reset', delta: 500 });
      expect(s.counters.wraps).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('tc (stand-in `tc -s -j` output): bytes and packets are 64-bit, drops/overlimits/requeues 32-bit wrap', async () => {
    let v = U32 - 100;
    const json = () =>
      JSON.stringify([
        {
          kind: 'tbf',
          handle: '10:',
          root: true,
          bytes: v,
          packets: v,
          drops: v,
          overlimits: v,
          requeues: v,
          backlog: 0,
          qlen: 0,
        },
      ]);
    const tc = createTcSource({ node: 'n', devices: ['va'], classes: false, exec: async () => json() });
    const h = harness([tc]);
    await h.c.collect();
    v = 50;
    h.advance(1000);
    const c = (await h.c.collect()).qdiscs[0]!.counters;
    expect([c.bytes, c.packets].map((x) => [x!.last, x!.delta])).toEqual([
      ['reset', 50],
      ['reset', 50],
    ]);
    expect([c.drops, c.overlimits, c.requeues].map((x) => [x!.last, x!.delta])).toEqual([
      ['wrap', 150],
      ['wrap', 150],
      ['wrap', 150],
    ]);
  });

  it('every source declares the width of every counter of the kinds it reads', () => {
    const opts = { node: 'n', devices: ['x'] };
    const declared: [NicSource, ('vf' | 'qdisc' | 'netdev')[]][] = [
      [createIproute2Source(opts), ['vf']],
      [createSysfsSource(opts), ['vf']],
      [createNetdevSource(opts), ['netdev']],
      [createTcSource(opts), ['qdisc']],
      [createDemoSource(), ['vf', 'qdisc', 'netdev']],
    ];
    const names = { vf: VF_COUNTERS, qdisc: QDISC_COUNTERS, netdev: NETDEV_COUNTERS };
    for (const [src, kinds] of declared) {
      for (const k of kinds) {
        const w = src.counterWidths?.[k] as Record<string, number> | undefined;
        expect(Object.keys(w ?? {}).sort(), `${src.name} ${k}`).toEqual([...names[k]].sort());
        for (const n of names[k]) expect([32, 64], `${src.name} ${k}.${n}`).toContain(w![n]);
      }
    }
  });

  it('an undeclared counter is taken as 64-bit (a decrease is a reset); a declared 32-bit one wraps', async () => {
    const read = (rx: number): Reading => ({ ...empty(), vfs: [vf({ rxBytes: rx, rxPackets: rx })] });
    let rx = U32 - 100;
    const bare: NicSource = { name: 'bare', read: async () => read(rx) };
    const narrow: NicSource = {
      name: 'narrow',
      counterWidths: {
        vf: { ...Object.fromEntries(VF_COUNTERS.map((n) => [n, 64])), rxPackets: 32 } as never,
      },
      read: async () => read(rx),
    };
    const h = harness([bare]);
    const h2 = harness([narrow]);
    await Promise.all([h.c.collect(), h2.c.collect()]);
    rx = 20;
    h.advance(1000);
    h2.advance(1000);
    const [a, b] = await Promise.all([h.c.collect(), h2.c.collect()]);
    expect(a.vfs[0]!.counters.rxPackets).toMatchObject({ last: 'reset', delta: 20 });
    expect(b.vfs[0]!.counters.rxPackets).toMatchObject({ last: 'wrap', delta: 120 });
    expect(b.vfs[0]!.counters.rxBytes).toMatchObject({ last: 'reset', delta: 20 });
  });
});
