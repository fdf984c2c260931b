/**
 * Every ClickHouse panel and variable of the dashboards, its variables substituted and the
 * plugin's macros expanded as Grafana would send it (no Grafana here: the expansion is
 * dashboards/clickhouse-macros.ts), runs on embedded chDB against the store of a real demo
 * run (`podwire all --duration` on demo defaults, but for short SLA timings — a NIC
 * collection every 2 s, a 10 s rate window and `for` — so the noisy neighbour's victims are
 * paged and stored in sla_events within the run) and returns rows. The packet trace filters
 * are each tried with a value from the store and must return only matching samples; a
 * hostile value cannot leave the string it is substituted in.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentEncode } from '../../dashboards/grafana-vars.js';
import { openStore, type Store } from '../../ingest/store.js';
import { BIN, ensureBuilt, ROOT, tempDir } from '../cli/helpers.js';
import { dashboardsJson, type PanelQuery, renderSql, sqlQueries, type TimeRange } from './panel-queries.js';

const RUN_SECONDS = 45;

let tmp: { dir: string; remove: () => Promise<void> };
let store: Store;
let range: TimeRange;

const rows = async <T = Record<string, unknown>>(sql: string): Promise<T[]> => {
  const rs = await store.client.query({ query: sql, format: 'JSONEachRow' });
  return (await rs.json()) as T[];
};

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('podwire-dash-ch-');
  const dataDir = join(tmp.dir, 'data');
  const config = join(tmp.dir, 'podwire.json');
  writeFileSync(
    config,
    JSON.stringify({
      nic: { intervalSeconds: 2 },
      alerts: {
        rateWindowSeconds: 10,
        forSeconds: {
          guaranteeBreached: 10,
          atCeiling: 10,
          nodeSaturated: 10,
          collectionBroken: 60,
          unattributedTraffic: 60,
        },
      },
    }),
  );
  const child = spawn(
    process.execPath,
    [
      BIN,
      'all',
      '--config',
      config,
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--duration',
      `${RUN_SECONDS}s`,
      '--status-every',
      '0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  expect(code, stderr).toBe(0);
  store = await openStore({ dataDir: join(dataDir, 'clickhouse'), database: 'podwire' });
  // the dashboard's range: the traffic the run stored (traffic time, whatever today's date)
  const [t] = await rows<{ from: string; to: string }>(
    `SELECT least(
       (SELECT toUnixTimestamp(min(window_start)) FROM podwire.flows_1m),
       (SELECT toUnixTimestamp(min(time)) FROM podwire.vf_counters),
       (SELECT toUnixTimestamp(toDateTime(min(time))) FROM podwire.packet_samples)) AS from,
     greatest(
       (SELECT toUnixTimestamp(max(window_start)) FROM podwire.flows_1m),
       (SELECT toUnixTimestamp(max(time)) FROM podwire.vf_counters),
       (SELECT toUnixTimestamp(toDateTime(max(time))) FROM podwire.packet_samples)) AS to`,
  );
  // a minute past the last traffic: the 1-minute rollup's last bucket starts before it
  range = { fromMs: Number(t!.from) * 1000, toMs: (Number(t!.to) + 60) * 1000 };
  expect(range.toMs - range.fromMs).toBeGreaterThan(RUN_SECONDS * 1000 - 20_000);
}, 180_000);

afterAll(async () => {
  await store?.close();
  await tmp?.remove();
});

const boards = dashboardsJson();
const queries = sqlQueries(boards);

/** The pod bandwidth dashboard's pod: the first (namespace, pod) with VF counters and flows. */
async function podVars(): Promise<Record<string, string>> {
  const [p] = await rows<{ namespace: string; pod: string }>(
    `SELECT namespace, pod FROM podwire.vf_counters
     WHERE pod != '' AND (namespace, pod) IN (SELECT src_namespace, src_pod FROM podwire.flows_1m)
     ORDER BY namespace, pod LIMIT 1`,
  );
  expect(p).toBeDefined();
  return { namespace: p!.namespace, pod: p!.pod };
}

/**
 * A dashboard's variables at their defaults: text boxes as saved (empty), "All" where offered
 * (its custom all value). The pod dashboard's pod comes from Prometheus in Grafana; here, the
 * first one of the store.
 */
async function defaults(dashboard: string): Promise<Record<string, string>> {
  const d = boards.find((b) => b.uid === dashboard)!;
  const vars: Record<string, string> = {};
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'textbox') vars[v.name] = String(v.query ?? '');
    else if (v.type === 'query' && v.includeAll) vars[v.name] = String(v.allValue);
  }
  return dashboard === 'podwire-pod' ? { ...vars, ...(await podVars()) } : vars;
}

/** Substitutes as Grafana does for the plugin: `${x:percentencode}` percent-encoded. */
const render = (q: PanelQuery, vars: Record<string, string>) => renderSql(q, vars, range);

describe('ClickHouse panels on chDB, a demo run’s store (no Grafana: the plugin’s macros expanded here)', () => {
  it('has SQL panels to check', () => {
    expect(queries.length).toBeGreaterThan(15);
  });

  it.each(queries.map((q) => [`${q.dashboard} / ${q.panel} ${q.refId}`, q] as const))(
    '%s returns rows',
    async (_name, q) => {
      const out = await rows(render(q, await defaults(q.dashboard)));
      expect(out.length).toBeGreaterThan(0);
    },
  );

  it('the flows dashboard’s namespace filter, from its own variable query, narrows every panel', async () => {
    const v = queries.find((q) => q.dashboard === 'podwire-flows' && q.type === 'variable')!;
    const namespaces = (await rows<Record<string, string>>(render(v, {}))).map((r) => Object.values(r)[0]!);
    expect(namespaces.length).toBeGreaterThan(1);
    const ns = namespaces[0]!;
    const pairs = queries.find((q) => q.dashboard === 'podwire-flows' && q.panel === 'Top pod pairs')!;
    const out = await rows<{ src_namespace: string; dst_namespace: string }>(
      render(pairs, { namespace: ns }),
    );
    expect(out.length).toBeGreaterThan(0);
    for (const r of out) expect([r.src_namespace, r.dst_namespace]).toContain(ns);
    for (const q of queries.filter((x) => x.dashboard === 'podwire-flows' && x.type !== 'variable')) {
      expect((await rows(render(q, { namespace: ns }))).length, q.panel).toBeGreaterThan(0);
    }
  });

  it('the tier dashboard per tier: each guaranteed tier has rows, best effort none (it has no minimum)', async () => {
    const perPod = queries.find(
      (q) => q.dashboard === 'podwire-tiers' && q.panel === 'Minutes in breach per pod',
    )!;
    for (const tier of ['high', 'standard']) {
      const out = await rows<{ tier: string }>(render(perPod, { tier }));
      expect(out.length, tier).toBeGreaterThan(0);
      expect(new Set(out.map((r) => r.tier))).toEqual(new Set([tier]));
    }
    expect(await rows(render(perPod, { tier: 'best-effort' }))).toEqual([]);
  });

  it('the SLA events table lists the noisy neighbour’s victims with their minimum, delivered rate and drops', async () => {
    const q = queries.find((x) => x.dashboard === 'podwire-tiers' && x.panel === 'SLA events')!;
    type Row = Record<string, string | number>;
    const out = await rows<Row>(render(q, await defaults(q.dashboard)));
    const breaches = out.filter((r) => r.rule === 'PodwireGuaranteeBreached' && r.state === 'firing');
    expect(breaches.length, JSON.stringify(out.slice(0, 5))).toBeGreaterThan(0);
    for (const r of breaches) {
      expect(r.pod).not.toBe('');
      expect(r.node).not.toBe('');
      expect(['high', 'standard']).toContain(r.tier);
      // below 95 % of its minimum while the NIC dropped its traffic
      expect(Number(r.delivered_rate)).toBeLessThan(0.95 * Number(r.min_rate));
      expect(Number(r.drop_rate)).toBeGreaterThan(0);
      // fired after its `for`: its condition began earlier
      const at = (v: string | number) => Date.parse(String(v));
      expect(at(r.started)).toBeLessThan(at(r.time));
    }
    // one node's data plane is flooded: its pods are the victims
    expect(new Set(breaches.map((r) => r.node)).size).toBe(1);
    // the tier filter keeps that tier's events only
    const tier = String(breaches[0]!.tier);
    const narrowed = await rows<Row>(render(q, { tier }));
    expect(narrowed.length).toBeGreaterThan(0);
    expect(new Set(narrowed.map((r) => r.tier))).toEqual(new Set([tier]));
  });

  describe('packet trace filters', () => {
    const samples = () =>
      queries.find((q) => q.dashboard === 'podwire-packets' && q.panel === 'Packet samples')!;
    const none = { mac: '', ip: '', vlan: '', vni: '', namespace: '', pod: '' };
    type Row = Record<string, string | number>;

    it.each([
      ['mac', (r: Row) => [r.source_mac, r.destination_mac]],
      ['ip', (r: Row) => [r.source_ip, r.destination_ip]],
      ['vlan', (r: Row) => [String(r.vlan_id)]],
      ['vni', (r: Row) => [String(r.vni_id)]],
      ['namespace', (r: Row) => [String(r.sender).split('/')[0], String(r.receiver).split('/')[0]]],
      ['pod', (r: Row) => [String(r.sender).split('/')[1], String(r.receiver).split('/')[1]]],
    ] as const)('by %s: only samples that match, in either direction', async (filter, values) => {
      const all = await rows<Row>(render(samples(), none));
      // a value from a stored sample: an overlay one for the VNI, else the first
      const pick = all.find((r) => (filter === 'vni' ? Number(r.vni_id) >= 0 : String(r.sender) !== ''))!;
      const value = String(values(pick)[0]);
      const out = await rows<Row>(render(samples(), { ...none, [filter]: value }));
      expect(out.length).toBeGreaterThan(0);
      expect(out.length).toBeLessThan(all.length);
      for (const r of out) expect(values(r).map(String), JSON.stringify(r)).toContain(value);
    });

    it('a hostile value stays a value: quotes and backslashes match nothing and break nothing', async () => {
      for (const evil of ["x' OR 1=1 --", "\\' OR 1=1 OR pod = \\'", "');DROP TABLE podwire.flows;--"]) {
        const sql = render(samples(), { ...none, pod: evil });
        expect(sql).toContain(percentEncode(evil));
        expect(await rows(sql)).toEqual([]);
      }
      expect((await rows('SELECT count() AS n FROM podwire.flows')).length).toBe(1);
    });
  });
});
