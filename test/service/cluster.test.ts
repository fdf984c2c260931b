/**
 * podwire as a cluster runs it: two `podwire node` (each simulating one demo node's
 * SmartNIC), two `podwire collect` (each one TOR's sFlow), one `podwire serve`, separate
 * processes sharing one store. The store is chDB behind a STAND-IN ClickHouse HTTP front
 * (test/helpers/chdb-http-front.ts): the only real server here (18.16) cannot hold the
 * schema, and chDB is one process's engine. What this proves: every role reaches the
 * store through the server transport with its own writers, and what serve answers is
 * exactly what the collectors stored. What it cannot: a real server's concurrency,
 * replication and Distributed tables (the cluster DDL is tested on chDB in
 * test/ingest/shard-retry.test.ts).
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { ensureBuilt, ROOT, spawnPodwire, tempDir } from '../cli/helpers.js';
import { type ChdbFront, startChdbFront } from '../helpers/chdb-http-front.js';
import { freeUdpPort } from '../helpers/ports.js';

type Proc = ReturnType<typeof spawnPodwire>;

let tmp: { dir: string; remove: () => Promise<void> };
let front: ChdbFront;
const procs: Proc[] = [];

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('podwire-cluster-');
  front = await startChdbFront(join(tmp.dir, 'chdb'));
});
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await front?.close();
  await tmp?.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: () => T | undefined | null, ms: number, why: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = what();
    if (v !== undefined && v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out: ${why}`);
    await sleep(100);
  }
}

const INVENTORY = join(ROOT, 'test/fixtures/sflow/inventory.json');

/** A role with its config; resolves with its base URL once it serves /readyz. */
async function start(role: string, name: string, config: object, env?: Record<string, string>) {
  const file = join(tmp.dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ dataDir: join(tmp.dir, name), http: { listen: '127.0.0.1:0' }, ...config }),
  );
  const p = spawnPodwire([role, '--config', file, '--status-every', '0'], env);
  procs.push(p);
  const url = await until(
    () => (p.child.exitCode !== null ? null : /health\s+(http:\/\/[^/\s]+)\/healthz/.exec(p.out.stderr)?.[1]),
    60_000,
    `${name} starts: ${p.out.stderr}`,
  );
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${url}/readyz`)).status === 200) return { p, url };
    await sleep(200);
  }
  throw new Error(`${name}: /readyz never 200: ${p.out.stderr}`);
}

async function stop(p: Proc): Promise<string> {
  p.child.kill('SIGTERM');
  await p.exited;
  expect(p.child.exitCode, p.out.stderr).toBe(0);
  return p.out.stderr;
}

describe('a cluster of podwire processes on one store (chDB behind a stand-in HTTP front)', () => {
  it('two nodes and two collectors write, serve answers exactly what they stored', async () => {
    const store = { clickhouseUrl: `${front.url}/podwire` };
    const files = { sources: [{ type: 'file', path: INVENTORY }] };
    const ports = [await freeUdpPort(), await freeUdpPort()];
    const collectors = await Promise.all(
      ports.map((port, i) =>
        start('collect', `collect-${i}`, {
          store,
          endpoints: files,
          mirror: { type: 'sflow', listen: `127.0.0.1:${port}`, readers: 0 },
          flows: { windowSeconds: 1 },
        }),
      ),
    );
    // the store URL as a Secret gives it: in the environment
    const nodes = await Promise.all(
      ['node-a', 'node-b'].map((n) =>
        start(
          'node',
          n,
          { nic: { sources: ['demo'], node: n, intervalSeconds: 1 } },
          {
            PODWIRE_CLICKHOUSE_URL: store.clickhouseUrl,
          },
        ),
      ),
    );
    const serve = await start('serve', 'serve', { store, endpoints: files });
    const from = Math.floor(Date.now() / 1000) - 60;

    const datagrams = await readSflowCapture(join(ROOT, 'test/fixtures/sflow/pmacct-export.pcap'));
    const sock = createSocket('udp4');
    for (const port of ports)
      for (const d of datagrams)
        await new Promise<void>((r, j) => sock.send(d.data, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    sock.close();
    await sleep(2500); // a few NIC collections; the 1 s windows close by the clock

    const stored = (await Promise.all(collectors.map((c) => stop(c.p)))).map((err) => {
      const m = /stored ([\d,]+) flow rows, ([\d,]+) packet samples/.exec(err);
      expect(m, err).not.toBeNull();
      expect(err).toMatch(/nothing left unflushed/);
      return { flows: Number(m![1].replaceAll(',', '')), samples: Number(m![2].replaceAll(',', '')) };
    });
    const vfRows = (await Promise.all(nodes.map((n) => stop(n.p)))).map((err) =>
      Number(/stored ([\d,]+) VF counter rows/.exec(err)?.[1].replaceAll(',', '')),
    );
    expect(stored.every((s) => s.flows > 0)).toBe(true);
    expect(vfRows.every((n) => n > 0)).toBe(true);

    // every raw flow row serve pages through is one a collector stored
    const to = Math.floor(Date.now() / 1000) + 60;
    let rows = 0;
    let cursor: string | null = null;
    do {
      const q =
        cursor === null
          ? `from=${from}&to=${to}&limit=1000`
          : `cursor=${encodeURIComponent(cursor)}&limit=1000`;
      const page = (await (await fetch(`${serve.url}/api/v1/flows?${q}`)).json()) as {
        flows: unknown[];
        next: string | null;
      };
      rows += page.flows.length;
      cursor = page.next;
    } while (cursor !== null);
    console.log(
      `cluster: collectors stored ${stored.map((s) => s.flows).join(' + ')} flow rows, serve paged ${rows}; nodes stored ${vfRows.join(' + ')} VF rows; ${front.requests.inserts} inserts through the front`,
    );
    expect(rows).toBe(stored[0].flows + stored[1].flows);
    // both TORs sent the same export: each collector stored the same flows
    expect(stored[0].flows).toBe(stored[1].flows);

    const vf = await (await fetch(`${serve.url}/api/v1/vf-counters?from=${from}&to=${to}&step=60`)).text();
    expect(vf).toMatch(/node-a/);
    expect(vf).toMatch(/node-b/);
    const alerts = (await (await fetch(`${serve.url}/api/v1/alerts`)).json()) as { source?: string };
    expect(alerts.source).toBe('sla_events');
    const status = (await (await fetch(`${serve.url}/api/v1/status`)).json()) as { role: string };
    expect(status.role).toBe('serve');
    await stop(serve.p);
    expect(front.requests.inserts).toBeGreaterThan(0);
  }, 180_000);
});
