/**
 * Every PromQL expression of the dashboards — panel targets and query variables — runs on a
 * real Prometheus (Debian's) scraping the real exporter: `podwire all` on demo defaults (the
 * demo SmartNIC, agent and mirror), and a second `podwire all` taking sFlow (the pmacct export
 * of test/fixtures/sflow replayed to it), so the sFlow panels have their series. Prometheus
 * loads the rule file `podwire rules` generates for the same tiers and settings the
 * dashboards are built for, so the recording rules the panels read have series, and the demo's
 * noisy neighbour puts podwire alerts in ALERTS. Each query is sent as Grafana's Prometheus
 * data source would send it (no Grafana here): variables at their defaults, resolved by their
 * own label_values queries; `$__rate_interval`, `$__interval` and `$__range` from the time
 * range and the provisioned scrape interval; range queries for graphs, instant queries for
 * stats and tables. Each must return data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_FILE } from '../../alerts/rule-file.js';
import { ALERTS, RECORDED } from '../../alerts/rules.js';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { DEFAULT_DASHBOARDS_OPTIONS } from '../../dashboards/boards/index.js';
import { DATASOURCES } from '../../dashboards/datasources.js';
import { interpolate } from '../../dashboards/grafana-vars.js';
import type { DashboardJson } from '../../dashboards/lint.js';
import { BIN, ensureBuilt, podwire, ROOT, tempDir } from '../cli/helpers.js';
import { type Prometheus, startPrometheus } from '../exporter/prometheus-server.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import {
  dashboardsJson,
  type PanelQuery,
  promQueries,
  queryVariables,
  renderPromQL,
  type TimeRange,
} from './panel-queries.js';

/** What the provisioned Prometheus data source says podwire is scraped at (timeInterval). */
const GRAFANA_SCRAPE_MS = 15_000;

let tmp: { dir: string; remove: () => Promise<void> };
const children: ChildProcess[] = [];
let prom: Prometheus;
let startedMs: number;
const dashboards: DashboardJson[] = dashboardsJson();
const queries = promQueries(dashboards);

function startAll(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, 'all', ...args, '--status-every', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, stderr: () => err };
}

async function waitListening(url: string, log: () => string): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).status < 500) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`podwire at ${url} never answered: ${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('podwire-dash-prom-');
  // the demo, as npm start runs it
  const demoPort = await freeTcpPort();
  const demo = startAll(['--data-dir', join(tmp.dir, 'demo'), '--listen', `127.0.0.1:${demoPort}`]);
  // an sFlow collector, fed the pmacct export once
  const sflowPort = await freeUdpPort();
  const sflowHttp = await freeTcpPort();
  const cfg = join(tmp.dir, 'sflow.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      dataDir: join(tmp.dir, 'sflow'),
      endpoints: { sources: [{ type: 'file', path: join(ROOT, 'test/fixtures/sflow/inventory.json') }] },
      nic: { sources: [] },
      mirror: { type: 'sflow', listen: `127.0.0.1:${sflowPort}` },
      http: { listen: `127.0.0.1:${sflowHttp}` },
    }),
  );
  const sflow = startAll(['--config', cfg]);
  // the rules for the tiers and settings the dashboards are built for (the defaults), as a user generates them
  const rules = await podwire(['rules', '--out', join(tmp.dir, 'rules')]);
  expect(rules.code, rules.stderr).toBe(0);
  await waitListening(`http://127.0.0.1:${demoPort}`, demo.stderr);
  await waitListening(`http://127.0.0.1:${sflowHttp}`, sflow.stderr);
  prom = await startPrometheus({
    targets: [`127.0.0.1:${demoPort}`, `127.0.0.1:${sflowHttp}`],
    ruleFiles: [readFileSync(join(tmp.dir, 'rules', RULE_FILE), 'utf8')],
    evaluationIntervalSeconds: 1,
  });
  startedMs = Date.now();
  const sock = createSocket('udp4');
  for (const d of await readSflowCapture(join(ROOT, 'test/fixtures/sflow/pmacct-export.pcap'))) {
    await new Promise<void>((r, j) => sock.send(d.data, sflowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
  }
  sock.close();
  // the demo NIC collects every 15 s: wait for rates over the dashboards' shortest window
  await prom.waitFor(
    'sum(rate(podwire_vf_transmit_bytes_total[1m])) > 0 and on() count(podwire_sflow_datagrams_total) > 0',
    (r) => r.length > 0,
    90_000,
  );
  // the SLI judges a VF once it has been scraped for longer than the rate window (a minute),
  // and the noisy neighbour's victims are pending by then
  await prom.waitFor(
    `sum(${RECORDED.tierGuaranteed}) > 0 and on() count(ALERTS{alertname="${ALERTS.guaranteeBreached}"}) > 0`,
    (r) => r.length > 0,
    120_000,
  );
}, 330_000);

afterAll(async () => {
  await prom?.stop();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) =>
      c.exitCode === null && c.signalCode === null ? new Promise((r) => c.on('exit', r)) : null,
    ),
  );
  await tmp?.remove();
});

interface PromResponse {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
  };
}

async function api(path: string, params: Record<string, string>): Promise<PromResponse> {
  const r = await fetch(`${prom.url}/api/v1/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return (await r.json()) as PromResponse;
}

/** A label_values(selector, label) variable's options, as Grafana asks Prometheus for them. */
async function labelValues(query: string, vars: Record<string, string>, range: TimeRange): Promise<string[]> {
  const m = /^label_values\((.*),\s*(\w+)\)$/.exec(interpolate(query, vars));
  if (m === null) throw new Error(`not a label_values query: ${query}`);
  const params = new URLSearchParams({
    'match[]': m[1]!,
    start: String(range.fromMs / 1000),
    end: String(range.toMs / 1000),
  });
  const r = (await (await fetch(`${prom.url}/api/v1/label/${m[2]}/values?${params}`)).json()) as {
    status: string;
    data: string[];
  };
  expect(r.status).toBe('success');
  return r.data;
}

/** The dashboard's variables at their defaults: "All" where offered, else the first option. */
async function variablesOf(d: DashboardJson, range: TimeRange): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const v of queryVariables(d, DATASOURCES.prometheus.type)) {
    const options = await labelValues(String(v.query), vars, range);
    expect(options.length, `variable ${v.name} of ${d.uid}`).toBeGreaterThan(0);
    vars[v.name] = v.includeAll ? String(v.allValue) : options.sort()[0]!;
  }
  return vars;
}

const numbers = (r: PromResponse) =>
  (r.data?.result ?? []).flatMap((s) => (s.values ?? (s.value ? [s.value] : [])).map(([, v]) => Number(v)));

async function run(q: PanelQuery): Promise<PromResponse> {
  const range = { fromMs: startedMs, toMs: Date.now() };
  const d = dashboards.find((x) => x.uid === q.dashboard)!;
  const { expr, stepSeconds } = renderPromQL(q, await variablesOf(d, range), range, GRAFANA_SCRAPE_MS);
  expect(expr).not.toMatch(/\$/);
  const r = q.instant
    ? await api('query', { query: expr, time: String(range.toMs / 1000) })
    : await api('query_range', {
        query: expr,
        start: String(range.fromMs / 1000),
        end: String(range.toMs / 1000),
        step: String(stepSeconds),
      });
  expect(r.status, `${expr}: ${r.error}`).toBe('success');
  return r;
}

describe('PromQL of every dashboard on a real Prometheus scraping the demo exporter and an sFlow intake (no Grafana: its variables substituted here)', () => {
  it('has PromQL panels and variables to check', () => {
    expect(queries.length).toBeGreaterThan(40);
  });

  it.each(
    dashboards.flatMap((d) =>
      queryVariables(d, DATASOURCES.prometheus.type).map((v) => [`${d.uid} / $${v.name}`, d] as const),
    ),
  )('variable %s has options', async (_name, d) => {
    const vars = await variablesOf(d, { fromMs: startedMs, toMs: Date.now() });
    expect(Object.values(vars).every((v) => v !== '')).toBe(true);
  });

  it.each(queries.map((q) => [`${q.dashboard} / ${q.panel} ${q.refId}`, q] as const))(
    '%s returns data',
    async (_name, q) => {
      const r = await run(q);
      const values = numbers(r);
      expect(values.length, JSON.stringify(r.data)).toBeGreaterThan(0);
      expect(values.some((v) => Number.isFinite(v))).toBe(true);
      // a share, a rate: never negative — but an error budget, which goes below 0 once overspent
      const signed = /error budget/i.test(q.panel);
      if ((q.unit === 'percentunit' && !signed) || q.unit === 'bps' || q.unit === 'pps') {
        for (const v of values) if (Number.isFinite(v)) expect(v).toBeGreaterThanOrEqual(0);
      }
    },
  );

  it('the error budget left is shown for each tier with an objective, and for no other', async () => {
    const q = queries.find(
      (x) => x.dashboard === 'podwire-tiers' && x.panel === 'Error budget remaining per tier',
    )!;
    const r = await run(q);
    const tiers = (r.data?.result ?? []).map((s) => s.metric.tier).sort();
    const objectives = DEFAULT_DASHBOARDS_OPTIONS.model.tiers.filter((t) => t.objective !== undefined);
    expect(tiers).toEqual(objectives.map((t) => t.name).sort());
    expect(tiers).not.toContain('best-effort');
  });

  it('the active alerts table lists the noisy neighbour’s victims as the rules label them', async () => {
    const q = queries.find((x) => x.dashboard === 'podwire-cluster' && x.panel === 'Active alerts')!;
    const r = await run(q);
    const breached = (r.data?.result ?? []).filter((s) => s.metric.alertname === ALERTS.guaranteeBreached);
    expect(breached.length, JSON.stringify(r.data)).toBeGreaterThan(0);
    for (const s of breached) {
      expect(['pending', 'firing']).toContain(s.metric.alertstate);
      expect(s.metric).toMatchObject({ severity: 'page' });
      for (const l of ['namespace', 'pod', 'node', 'pf', 'vf', 'tier']) expect(s.metric[l], l).toBeTruthy();
    }
    // one node's data plane is flooded: its pods are the victims
    expect(new Set(breached.map((s) => s.metric.node)).size).toBe(1);
  });

  it('a pod’s use of its maximum is a share (0–1), not bits against bytes', async () => {
    const q = queries.find((x) => x.dashboard === 'podwire-pod' && x.panel === 'Use of the maximum')!;
    const values = numbers(await run(q)).filter(Number.isFinite);
    expect(values.length).toBe(1);
    expect(values[0]).toBeGreaterThanOrEqual(0);
    expect(values[0]).toBeLessThanOrEqual(1.05);
  });

  it('the cluster counts the pods the exporter has VFs for', async () => {
    const q = queries.find((x) => x.dashboard === 'podwire-cluster' && x.panel === 'Pods on VFs')!;
    const [n] = numbers(await run(q));
    const direct = await prom.query('count(podwire_vf_info{pod!=""})');
    expect(n).toBe(Number(direct[0]!.value[1]));
    expect(n).toBeGreaterThan(50);
  });
});
