/**
 * `podwire all` end to end, the way `npm start` runs it: the demo agent, the demo SmartNIC,
 * the demo mirror through the real packet path, embedded chDB and the HTTP server — for a
 * bounded time, then the store is opened and checked: flows for every demo pod with the
 * right namespace and tier, packet samples and VF counters; /metrics shows per-pod series
 * while it runs; a clean stop leaves nothing unflushed and a restart goes on with the same
 * data. Bad configs and a taken port are clean usage errors.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DemoAgent } from '../../collector/endpoints/demo.js';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { openStore } from '../../ingest/store.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { BIN, ensureBuilt, expectCleanFailure, podwire, ROOT, tempDir } from './helpers.js';

let tmp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('podwire-all-');
});
/** services a failed test left running */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await tmp?.remove();
});

/** The demo as the test runs it: no churn (every pod lives throughout), short windows. */
const DEMO = { type: 'demo', seed: 7, nodes: 3, pods: 60, churnPerHour: 0 };

function config(dataDir: string): string {
  const path = join(dataDir, '..', `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      dataDir,
      endpoints: { sources: [DEMO] },
      nic: { sources: ['demo'], intervalSeconds: 1 },
      mirror: { type: 'demo', packetsPerSecond: 3000 },
      flows: { windowSeconds: 2 },
      samples: { oneIn: 50 },
      http: { listen: '127.0.0.1:0' },
    }),
  );
  return path;
}

interface Run {
  child: ChildProcess;
  url: Promise<string>;
  done: Promise<{ code: number | null; stderr: string }>;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, 'all', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  let gotUrl: (u: string) => void;
  const url = new Promise<string>((r) => {
    gotUrl = r;
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const m = /metrics\s+(http:\/\/\S+)\/metrics/.exec(err);
    if (m) gotUrl(m[1]!);
  });
  const done = new Promise<{ code: number | null; stderr: string }>((r) =>
    child.on('exit', (code) => r({ code, stderr: err })),
  );
  return { child, url, done };
}

async function query<T>(dataDir: string, sql: string): Promise<T[]> {
  const store = await openStore({ dataDir: join(dataDir, 'clickhouse'), database: 'podwire' });
  try {
    const rs = await store.client.query({ query: sql, format: 'JSONEachRow' });
    return (await rs.json()) as T[];
  } finally {
    await store.close();
  }
}

describe('podwire all (demo agent, demo SmartNIC, demo mirror — stand-ins for a cluster and SR-IOV hardware)', () => {
  it('stores attributed flows for every demo pod, serves per-pod metrics and the API, stops clean, restarts on the same data', async () => {
    const dataDir = join(tmp.dir, 'a');
    const cfg = config(dataDir);
    const run = start(['--config', cfg, '--duration', '12s', '--status-every', '0']);
    const url = await run.url;
    expect(new URL(url).hostname).toBe('127.0.0.1');
    // let a few windows close and collections run, then look while it runs
    await new Promise((r) => setTimeout(r, 7000));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const tx = metrics
      .split('\n')
      .filter((l) => l.startsWith('podwire_vf_transmit_bytes_total{') && /pod="[^"]+"/.test(l));
    expect(tx.length).toBeGreaterThan(10);
    expect(metrics).toMatch(/^podwire_endpoints_live(\{[^}]*\})? \d+/m);
    expect(metrics).toMatch(/^podwire_ingest_rows_written_total\{table="flows"\} [1-9]/m);
    const talkers = (await (await fetch(`${url}/api/top-talkers?by=pod&limit=5`)).json()) as {
      rows: { pod: string; bytes: number }[];
    };
    expect(talkers.rows.length).toBe(5);
    expect(talkers.rows[0]!.bytes).toBeGreaterThan(0);
    // the in-process SLA evaluator runs a round per NIC collection
    expect(metrics).toMatch(/^podwire_sla_evaluations_total [1-9]/m);
    const alerts = (await (await fetch(`${url}/api/alerts`)).json()) as {
      evaluatedAt: string;
      alerts: unknown[];
    };
    expect(Date.parse(alerts.evaluatedAt)).toBeGreaterThan(0);
    expect(Array.isArray(alerts.alerts)).toBe(true);
    const bad = await fetch(`${url}/api/top-talkers?by=nonsense`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^by: /);

    const first = await run.done;
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/nothing left unflushed/);
    const stored = Number(/stored ([\d,]+) flow rows/.exec(first.stderr)![1]!.replaceAll(',', ''));
    expect(stored).toBeGreaterThan(1000);
    // one spool folder per table, none holding a batch
    const tables = readdirSync(join(dataDir, 'spool'), { withFileTypes: true }).filter((d) =>
      d.isDirectory(),
    );
    expect(tables.map((d) => d.name).sort()).toEqual([
      'flows',
      'packet_samples',
      'sla_events',
      'vf_counters',
    ]);
    for (const t of tables) expect(readdirSync(join(dataDir, 'spool', t.name)), t.name).toEqual([]);

    // every pod of the demo cluster sent flows, under its own namespace and tier
    const agent = new DemoAgent({ seed: DEMO.seed, nodes: DEMO.nodes, pods: DEMO.pods, churnPerHour: 0 });
    const pods = new Map(agent.current().map((e) => [`${e.namespace}/${e.pod}`, e]));
    const rows = await query<{ ns: string; pod: string; tiers: string[]; packets: string }>(
      dataDir,
      `SELECT src_namespace AS ns, src_pod AS pod, groupUniqArray(src_tier) AS tiers, sum(packets) AS packets
       FROM podwire.flows GROUP BY ns, pod`,
    );
    const seen = new Map(rows.map((r) => [`${r.ns}/${r.pod}`, r]));
    for (const [key, ep] of pods) {
      const r = seen.get(key);
      expect(r, `flows from ${key}`).toBeDefined();
      expect(r!.tiers).toEqual([ep.tier]);
    }
    // nothing the mirror sent is unattributed, and the store holds what the writer said
    expect(seen.has('/')).toBe(false);
    const [{ n, samples, vfRows, vfPods }] = await query<Record<string, string>>(
      dataDir,
      `SELECT (SELECT count() FROM podwire.flows) AS n, (SELECT count() FROM podwire.packet_samples) AS samples,
        (SELECT count() FROM podwire.vf_counters) AS vfRows, (SELECT uniqExact(pod) FROM podwire.vf_counters WHERE pod != '') AS vfPods`,
    );
    expect(Number(n)).toBe(stored);
    expect(Number(samples)).toBeGreaterThan(100);
    expect(Number(vfRows)).toBeGreaterThan(0);
    expect(Number(vfPods)).toBeGreaterThan(10);

    // a restart on the same data goes on
    const again = start(['--config', cfg, '--duration', '4s', '--status-every', '0']);
    const second = await again.done;
    expect(second.code, second.stderr).toBe(0);
    const [{ n2 }] = await query<{ n2: string }>(dataDir, 'SELECT count() AS n2 FROM podwire.flows');
    expect(Number(n2)).toBeGreaterThan(stored);
  }, 90_000);

  it('stops cleanly on SIGINT, storing the flows still open', async () => {
    const dataDir = join(tmp.dir, 'b');
    const run = start(['--config', config(dataDir), '--status-every', '0']);
    await run.url;
    await new Promise((r) => setTimeout(r, 3000));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const stored = Number(/stored ([\d,]+) flow rows/.exec(r.stderr)![1]!.replaceAll(',', ''));
    expect(stored).toBeGreaterThan(0);
    const [{ n }] = await query<{ n: string }>(dataDir, 'SELECT count() AS n FROM podwire.flows');
    expect(Number(n)).toBe(stored);
  }, 60_000);

  it('takes sFlow from a switch (pmacct export replayed to its listener): attributed flows stored, per-agent metrics', async () => {
    const dataDir = join(tmp.dir, 'sflow');
    const port = await freeUdpPort();
    const path = join(tmp.dir, 'sflow.json');
    writeFileSync(
      path,
      JSON.stringify({
        dataDir,
        endpoints: { sources: [{ type: 'file', path: join(ROOT, 'test/fixtures/sflow/inventory.json') }] },
        nic: { sources: [], intervalSeconds: 1 },
        mirror: { type: 'sflow', listen: `127.0.0.1:${port}` },
        samples: { oneIn: 5 },
        flows: { windowSeconds: 2 },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    const run = start(['--config', path, '--status-every', '0']);
    const url = await run.url;
    const datagrams = await readSflowCapture(join(ROOT, 'test/fixtures/sflow/pmacct-export.pcap'));
    expect(datagrams.length).toBeGreaterThan(10);
    const sock = createSocket('udp4');
    for (const d of datagrams) {
      await new Promise<void>((r, j) => sock.send(d.data, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    }
    sock.close();
    await new Promise((r) => setTimeout(r, 3500));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    // the sFlow families are read when /metrics is scraped (at most a second old), not at a collection
    expect(metrics).toMatch(/^podwire_sflow_datagrams_total\{agent="10\.0\.0\.1"\} \d+/m);
    expect(metrics).toMatch(/^podwire_sflow_lost_datagrams_total\{agent="10\.0\.0\.1"\} 0$/m);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const rows = await query<{ obs: string; pod: string; packets: string }>(
      dataDir,
      `SELECT observation AS obs, src_pod AS pod, sum(packets) AS packets FROM podwire.flows
       WHERE src_pod != '' GROUP BY obs, pod ORDER BY pod`,
    );
    expect(rows.length).toBeGreaterThan(2);
    for (const row of rows) expect(row.obs).toMatch(/^sflow:10\.0\.0\.1:\d+$/);
    expect(rows.map((x) => x.pod)).toContain('web-1');
    // and the sampled headers are packet samples: which pod sent this, with its sampling rate
    const samples = await query<{ obs: string; pod: string; rate: string; len: string; bytes: string }>(
      dataDir,
      `SELECT observation AS obs, src_pod AS pod, sampling_rate AS rate, frame_length AS len, length(frame) AS bytes
       FROM podwire.packet_samples WHERE src_pod != ''`,
    );
    expect(samples.length).toBeGreaterThan(0);
    for (const x of samples) {
      expect(x.obs).toMatch(/^sflow:10\.0\.0\.1:\d+$/);
      expect(Number(x.rate)).toBeGreaterThanOrEqual(1);
      expect(Number(x.bytes)).toBeGreaterThan(0);
      expect(Number(x.bytes)).toBeLessThanOrEqual(Math.min(128, Number(x.len)));
    }
  }, 60_000);

  it('starts without an endpoint source whose API server is down (stand-in: nothing listens), saying so', async () => {
    const dataDir = join(tmp.dir, 'k8s-down');
    const path = join(tmp.dir, 'k8s-down.json');
    const dead = await freeTcpPort();
    writeFileSync(
      path,
      JSON.stringify({
        dataDir,
        endpoints: { sources: [{ type: 'kubernetes', server: `http://127.0.0.1:${dead}` }] },
        nic: { sources: [] },
        mirror: { type: 'none' },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    const run = start(['--config', path, '--status-every', '0']);
    const url = await run.url;
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /endpoint source kubernetes: no initial listing after 10 s; starting without it/,
    );
  }, 60_000);

  it('refuses a broken config naming each bad field, and a taken port', async () => {
    const path = join(tmp.dir, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify({
        endpoints: { sources: [{ type: 'file' }] },
        nic: { sources: ['tc'] },
        flows: { windowSeconds: 0 },
        http: { listen: 'nowhere' },
        colour: 'blue',
      }),
    );
    const r = await podwire(['all', '--config', path]);
    expectCleanFailure(r, 2, /invalid configuration/);
    for (const field of ['endpoints.sources.0.path', 'nic.sources.0', 'flows.windowSeconds', 'http.listen']) {
      expect(r.stderr).toContain(`  ${field}: `);
    }
    expect(r.stderr).toMatch(/Unrecognized key: "colour"/);
    writeFileSync(path, '{ not json');
    expectCleanFailure(await podwire(['all', '--config', path]), 2, /not valid JSON/);
    expectCleanFailure(
      await podwire(['all', '--config', join(tmp.dir, 'missing.json')]),
      2,
      /cannot read the config/,
    );
    expectCleanFailure(
      await podwire(['all', '--listen', '0.0.0.0:9999']),
      2,
      /beyond loopback the API needs tokens \(api.tokens/,
    );

    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = join(tmp.dir, 'c');
      const taken = await podwire(['all', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
        timeoutMs: 60_000,
      });
      expectCleanFailure(taken, 2, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      expect(existsSync(join(dataDir, 'clickhouse'))).toBe(true);
    } finally {
      blocker.close();
    }
  }, 90_000);
});
