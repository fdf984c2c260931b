/**
 * `podwire all` with a `netflow` mirror: softflowd's IPFIX export (the fixture) replayed
 * to its listener on 127.0.0.1 ends up in the store (per-VLAN bytes and packets through
 * /api/top-talkers equal the pcap's), in the per-exporter metrics on /metrics, in
 * /api/status and on the status line. Restarted on the same data directory, it decodes
 * the export's later datagrams (which carry no templates) at once: the templates were
 * persisted.
 */
import { createSocket } from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pcapFile } from '../../collector/capture/pcap-writer.js';
import { STATE_FILE } from '../../collector/netflow/state-file.js';
import { type CapturedDatagram, readSflowCapture } from '../../collector/sflow/replay.js';
import { ensureBuilt, spawnPodwire, tempDir } from '../cli/helpers.js';
import { freeUdpPort } from '../helpers/ports.js';
import { expectedFlows } from './compare.js';
import { EXPORTS } from './exporter-tools.js';
import { capturePackets, demoInventory } from './exporter-traffic.js';
import { FIXTURES, readFixtureIndex } from './fixtures.js';
import { groundTruth } from './truth.js';

let tmp: { dir: string; remove: () => Promise<void> };
const running: ReturnType<typeof spawnPodwire>[] = [];
beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('netflow-service');
});
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});
afterAll(async () => {
  await tmp?.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: () => Promise<T | undefined> | T | undefined,
  ms: number,
  why: () => string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${why()}`);
    await sleep(200);
  }
}

async function send(datagrams: CapturedDatagram[], port: number): Promise<void> {
  const sock = createSocket('udp4');
  for (const d of datagrams) {
    await new Promise<void>((r, j) => sock.send(d.data, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  }
  sock.close();
}

/** A metric's value for exporter 127.0.0.1 (undefined: no such series yet). */
function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\{exporter="127\\.0\\.0\\.1"\\} (\\d+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
}

describe('podwire all with a netflow mirror', () => {
  it('a softflowd export lands in the store, the per-exporter metrics and the status; templates survive a restart', async () => {
    const spec = EXPORTS.find((e) => e.name === 'softflowd-ipfix-ether')!;
    const kept = (await readFixtureIndex())[spec.name];
    const datagrams = await readSflowCapture(join(FIXTURES, `${spec.name}.pcap`), kept.port);
    const pcap = join(tmp.dir, 'demo.pcap');
    writeFileSync(pcap, pcapFile(capturePackets(spec.capture)));
    const truth = expectedFlows(await groundTruth(pcap), spec);
    const byVlan = new Map<number, { bytes: number; packets: number }>();
    for (const t of truth.values()) {
      const v = byVlan.get(t.vlan) ?? { bytes: 0, packets: 0 };
      v.bytes += t.bytes;
      v.packets += t.packets;
      byVlan.set(t.vlan, v);
    }

    const inventory = join(tmp.dir, 'inventory.json');
    writeFileSync(inventory, JSON.stringify(demoInventory()));
    const port = await freeUdpPort();
    const dataDir = join(tmp.dir, 'data');
    const config = join(tmp.dir, 'netflow.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir,
        endpoints: { sources: [{ type: 'file', path: inventory }] },
        nic: { sources: [] },
        mirror: { type: 'netflow', listen: `127.0.0.1:${port}` },
        flows: { windowSeconds: 1 },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    const start = async () => {
      const run = spawnPodwire(['all', '--config', config, '--status-every', '1s']);
      running.push(run);
      const url = await until(
        () => /metrics\s+(http:\/\/\S+)\/metrics/.exec(run.out.stderr)?.[1],
        30_000,
        () => run.out.stderr,
      );
      expect(run.out.stderr).toContain(`listening for NetFlow/IPFIX on 127.0.0.1:${port}`);
      return { run, url };
    };
    const stop = async (run: ReturnType<typeof spawnPodwire>) => {
      run.child.kill('SIGTERM');
      const [code] = await run.exited;
      expect(code, run.out.stderr).toBe(0);
    };

    // ── first run: the whole export ─────────────────────────────────────────────────
    const from = Math.floor(Date.now() / 1000) - 60;
    const first = await start();
    await send(datagrams, port);
    const metrics = await until(
      async () => {
        const m = await (await fetch(`${first.url}/metrics`)).text();
        return metric(m, 'podwire_netflow_records_total') === truth.size ? m : undefined;
      },
      20_000,
      () => first.run.out.stderr,
    );
    expect(metric(metrics, 'podwire_netflow_datagrams_total')).toBe(datagrams.length);
    expect(metric(metrics, 'podwire_netflow_template_missing_total')).toBe(0);
    expect(metric(metrics, 'podwire_netflow_templates')).toBeGreaterThan(0);
    expect(metrics).toMatch(/^podwire_netflow_sampling_rate\{exporter="127\.0\.0\.1",domain="0"\} 1$/m);
    // read by the mirror's reader thread (mirror.readers, default 1): nothing dropped or out of order
    expect(metrics).toMatch(/^podwire_netflow_overload_drops_total 0$/m);
    expect(metrics).toMatch(/^podwire_netflow_reordered_datagrams_total 0$/m);

    // the store: per VLAN (flows without a VNI), what the pcap holds
    const stored = await until(
      async () => {
        const to = Math.floor(Date.now() / 1000) + 60;
        const r = (await (
          await fetch(`${first.url}/api/top-talkers?by=vlan&limit=100&from=${from}&to=${to}`)
        ).json()) as { rows: { vlan: number; bytes: number; packets: number }[] };
        const got = new Map(r.rows.map((x) => [x.vlan, { bytes: x.bytes, packets: x.packets }]));
        return [...byVlan].every(([v, t]) => got.get(v)?.packets === t.packets) ? got : undefined;
      },
      20_000,
      () => first.run.out.stderr,
    );
    expect(stored).toEqual(byVlan);

    const status = (await (await fetch(`${first.url}/api/status`)).json()) as {
      netflow: Record<string, number | string | null>;
      packets: { seen: number; attributed: number };
    };
    expect(status.netflow).toMatchObject({
      listen: `127.0.0.1:${port}`,
      exporters: 1,
      datagrams: datagrams.length,
      records: truth.size,
      kernelDrops: 0,
    });
    expect(status.packets.attributed).toBeGreaterThan(0);
    await until(
      () =>
        /netflow 127\.0\.0\.1:\d+: \d+ datagrams from 1 exporters, \d+ records/.test(first.run.out.stderr)
          ? true
          : undefined,
      5000,
      () => first.run.out.stderr,
    );
    expect(first.run.out.stderr).toMatch(
      new RegExp(
        `netflow 127\\.0\\.0\\.1:${port}: ${datagrams.length} datagrams from 1 exporters, ${truth.size} records, 0 malformed or undecodable, 0 kernel drops`,
      ),
    );
    await stop(first.run);
    expect(existsSync(join(dataDir, STATE_FILE))).toBe(true);

    // ── restart: datagrams after the first carry no templates, and decode at once ───────
    const later = datagrams.slice(1);
    const second = await start();
    await send(later, port);
    const m2 = await until(
      async () => {
        const m = await (await fetch(`${second.url}/metrics`)).text();
        return metric(m, 'podwire_netflow_datagrams_total') === later.length ? m : undefined;
      },
      20_000,
      () => second.run.out.stderr,
    );
    await sleep(300);
    const records = metric(
      await (await fetch(`${second.url}/metrics`)).text(),
      'podwire_netflow_records_total',
    );
    expect(metric(m2, 'podwire_netflow_template_missing_total')).toBe(0);
    expect(records).toBeGreaterThan(0);
    // the first datagram held the templates and the rest of the records
    const firstRecords = (status.netflow.records as number) - (records ?? 0);
    expect(firstRecords).toBeGreaterThan(0);
    expect(firstRecords).toBeLessThan(truth.size);
    await stop(second.run);
  }, 120_000);

  it("a packet report export (softflowd -v psamp) gives packet samples: each report's frame, attributed, in the store", async () => {
    const spec = EXPORTS.find((e) => e.name === 'softflowd-psamp')!;
    const kept = (await readFixtureIndex())[spec.name];
    const datagrams = await readSflowCapture(join(FIXTURES, `${spec.name}.pcap`), kept.port);
    const inventory = join(tmp.dir, 'inventory-psamp.json');
    writeFileSync(inventory, JSON.stringify(demoInventory()));
    const port = await freeUdpPort();
    const config = join(tmp.dir, 'psamp.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(tmp.dir, 'data-psamp'),
        endpoints: { sources: [{ type: 'file', path: inventory }] },
        nic: { sources: [] },
        mirror: { type: 'netflow', listen: `127.0.0.1:${port}` },
        samples: { oneIn: 1 },
        flows: { windowSeconds: 1 },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    const run = spawnPodwire(['all', '--config', config]);
    running.push(run);
    const url = await until(
      () => /metrics\s+(http:\/\/\S+)\/metrics/.exec(run.out.stderr)?.[1],
      30_000,
      () => run.out.stderr,
    );
    const from = Math.floor(Date.now() / 1000) - 60;
    await send(datagrams, port);
    const records = await until(
      async () => {
        const m = await (await fetch(`${url}/metrics`)).text();
        const n = metric(m, 'podwire_netflow_records_total');
        return n !== undefined && n > 0 && metric(m, 'podwire_netflow_datagrams_total') === datagrams.length
          ? n
          : undefined;
      },
      20_000,
      () => run.out.stderr,
    );
    type Sample = { src_pod: string; dst_pod: string; frame_hex: string; vlan: number };
    const samples = await until(
      async () => {
        const to = Math.floor(Date.now() / 1000) + 60;
        const r = (await (
          await fetch(`${url}/api/v1/packets?from=${from}&to=${to}&limit=10000`)
        ).json()) as Sample[];
        return r.length === records ? r : undefined;
      },
      20_000,
      () => run.out.stderr,
    );
    // one sample per packet report, its frame kept, and the demo pods found in it
    expect(samples.every((x) => x.frame_hex.length >= 28)).toBe(true);
    expect(samples.filter((x) => x.src_pod !== '' || x.dst_pod !== '').length).toBeGreaterThan(records / 2);
    run.child.kill('SIGTERM');
    const [code] = await run.exited;
    expect(code, run.out.stderr).toBe(0);
  }, 120_000);

  it('a netflow port in use is a usage error naming the config key', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
    const { port } = taken.address();
    const config = join(tmp.dir, 'taken.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(tmp.dir, 'data-taken'),
        nic: { sources: [] },
        mirror: { type: 'netflow', listen: `127.0.0.1:${port}` },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    try {
      const run = spawnPodwire(['all', '--config', config]);
      running.push(run);
      const [code] = await run.exited;
      expect(code, run.out.stderr).toBe(2);
      expect(run.out.stderr).toMatch(
        new RegExp(
          `cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE \\(set mirror\\.listen in the config\\)`,
        ),
      );
    } finally {
      taken.close();
    }
  }, 60_000);
});
