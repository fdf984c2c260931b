/**
 * End to end, with the real tools (the demo SmartNIC stands in for SR-IOV hardware): the
 * exporter on a demo NIC whose noisy neighbour floods its node → a real Prometheus (Debian)
 * scraping it every second and evaluating the generated rules (short timings: 10 s rate
 * window and `for`) → a real Alertmanager 0.25 (Debian, a plain child process) → a webhook
 * in this test, which gets guarantee-breached for the demo's victims with the right
 * labels, then resolved after the episode. Beside it the in-process evaluator, fed the
 * same exporter state as `podwire all` feeds it, raises and resolves the same alerts
 * through a second real Alertmanager, and writes them to sla_events in embedded chDB.
 *
 * Real time runs here (Prometheus scrapes on its own clock); the episode is placed
 * relative to the start and squeezes its victims at any time of day.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertSettingsSchema, DEFAULT_TIERS, type TierModel } from '../../alerts/model.js';
import { ruleFileYaml } from '../../alerts/rule-file.js';
import { ALERTS, buildRules } from '../../alerts/rules.js';
import { type SlaAssembly, startSla } from '../../alerts/service.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { NicCollector } from '../../collector/nic/collector.js';
import { createDemoSource, demoInventory } from '../../collector/nic/demo.js';
import { migrate } from '../../ingest/migrations.js';
import { DEFAULT_RETENTION } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';
import { NodeExporter } from '../../node-exporter/exporter.js';
import { fromCollectorState } from '../../node-exporter/nic-state.js';
import { type Prometheus, startPrometheus } from '../exporter/prometheus-server.js';
import { type Alertmanager, startAlertmanager } from './alertmanager-server.js';

interface Received {
  at: number;
  status: string;
  labels: Record<string, string>;
}

/** The webhook Alertmanager notifies: every alert of every notification, by path. */
async function webhook(): Promise<{ server: Server; url: string; got: Map<string, Received[]> }> {
  const got = new Map<string, Received[]>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const msg = JSON.parse(body) as { alerts: { status: string; labels: Record<string, string> }[] };
      const list = got.get(req.url!) ?? [];
      for (const a of msg.alerts) list.push({ at: Date.now(), status: a.status, labels: a.labels });
      got.set(req.url!, list);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, got };
}

const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('end to end: demo exporter → Prometheus with the generated rules → Alertmanager → webhook (demo SmartNIC as the SR-IOV stand-in)', () => {
  it('pages guarantee-breached for the noisy neighbour victims, then resolves; the in-process evaluator does the same', async () => {
    const model: TierModel = {
      tiers: DEFAULT_TIERS,
      alerts: alertSettingsSchema.parse({
        rateWindowSeconds: 10,
        keepFiringForSeconds: 5,
        forSeconds: {
          guaranteeBreached: 10,
          atCeiling: 10,
          nodeSaturated: 10,
          collectionBroken: 60,
          unattributedTraffic: 60,
        },
      }),
    };
    const inv = demoInventory({ nodes: 1, vfsPerNode: 8, overlayPerNode: 0 });
    const index = EndpointIndex.fromInventory(inv);
    const episode = { afterMs: 4000, durationMs: 40_000, everyMs: 0, share: 0.97 };
    // the episode counts from the NIC's start
    const nicStart = Date.now();
    const nic = createDemoSource({ inventory: inv, episode, start: nicStart });
    const collector = new NicCollector({ sources: [nic], intervalMs: 1000 });
    let sla: SlaAssembly | null = null;
    const exporter = new NodeExporter({
      provider: {
        async collect() {
          const state = fromCollectorState(await collector.collect(), Date.now());
          void sla?.service.observe(state);
          return state;
        },
      },
      index,
      host: '127.0.0.1',
      port: 0,
      intervalMs: 1000,
      log: () => {},
    });
    const hook = await webhook();
    cleanup.push(() => new Promise((r) => hook.server.close(r)));
    const amProm: Alertmanager = await startAlertmanager({ webhookUrl: `${hook.url}/prometheus` });
    cleanup.push(() => amProm.stop());
    const amEval: Alertmanager = await startAlertmanager({ webhookUrl: `${hook.url}/evaluator` });
    cleanup.push(() => amEval.stop());

    const dir = mkdtempSync(join(tmpdir(), 'podwire-e2e-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store: Store = await openStore({ dataDir: join(dir, 'ch'), database: 'podwire' });
    cleanup.push(() => store.close());
    await migrate(store.client, { database: store.database, retention: DEFAULT_RETENTION });
    const logs: string[] = [];
    sla = await startSla({
      tiers: model.tiers,
      alerts: model.alerts,
      alertmanager: { url: amEval.url, resendSeconds: 60, timeoutMs: 5000 },
      demo: false,
      store,
      spoolDir: join(dir, 'spool'),
      registry: exporter.registry.prom,
      index: () => index,
      intervalMs: 1000,
      log: (l) => logs.push(l),
    });
    const { url } = await exporter.start();
    cleanup.push(() => exporter.stop());
    const started = Date.now();
    const prom: Prometheus = await startPrometheus({
      targets: [new URL(url).host],
      scrapeIntervalSeconds: 1,
      ruleFiles: [ruleFileYaml(buildRules(model), 'e2e')],
      evaluationIntervalSeconds: 1,
      alertmanagers: [amProm.hostPort],
    });
    cleanup.push(() => prom.stop());

    // ground truth from the NIC: who it cut below 95 % of the minimum, and who ever dropped
    const cutEvery = new Map<string, boolean>();
    const everCut = new Set<string>();
    const dropped = new Set<string>();
    const breaches = (path: string) =>
      (hook.got.get(path) ?? []).filter((a) => a.labels.alertname === ALERTS.guaranteeBreached);
    const settled = (path: string) => {
      const b = breaches(path);
      const firing = new Set(b.filter((a) => a.status === 'firing').map((a) => a.labels.pod));
      const resolved = new Set(b.filter((a) => a.status === 'resolved').map((a) => a.labels.pod));
      return firing.size > 0 && [...firing].every((p) => resolved.has(p));
    };
    const deadline = started + 110_000;
    while (Date.now() < deadline && !(settled('/prometheus') && settled('/evaluator'))) {
      const tick = nic.lastTickView();
      const since = tick.at - nicStart;
      const inEpisode = since > episode.afterMs + 2000 && since < episode.afterMs + episode.durationMs;
      for (const v of tick.vfs) {
        if (v.pod === null) continue;
        const k = v.pod;
        const cut = v.droppedBps > 0 && v.sentBps < 0.95 * v.minBps;
        if (cut) everCut.add(k);
        if (v.droppedBps > 0) dropped.add(k);
        if (inEpisode) cutEvery.set(k, (cutEvery.get(k) ?? true) && cut);
      }
      await sleep(500);
    }
    const elapsed = (Date.now() - started) / 1000;
    const victims = [...cutEvery].filter(([, all]) => all).map(([k]) => k);
    const context = () =>
      `after ${elapsed} s; victims ${victims}; webhook ${JSON.stringify([...hook.got])}; evaluator log ${logs}; prometheus log ${prom.log().slice(-2000)}`;
    expect(victims.length, context()).toBeGreaterThan(0);
    expect(settled('/prometheus'), context()).toBe(true);
    expect(settled('/evaluator'), context()).toBe(true);

    const firingPods = (path: string) =>
      new Set(
        breaches(path)
          .filter((a) => a.status === 'firing')
          .map((a) => a.labels.pod),
      );
    const viaProm = firingPods('/prometheus');
    // every victim the NIC cut all through the episode is paged; nobody the NIC never cut is
    for (const v of victims) expect(viaProm.has(v), `${v}: ${context()}`).toBe(true);
    for (const p of viaProm) expect(everCut.has(p), `${p} paged but never cut: ${context()}`).toBe(true);
    // the right labels: the VF and its pod, its tier, page
    const victim = victims[0];
    const ep = inv.endpoints.find((e) => e.pod === victim)!;
    const alert = breaches('/prometheus').find((a) => a.labels.pod === victim && a.status === 'firing')!;
    expect(alert.labels).toEqual({
      alertname: ALERTS.guaranteeBreached,
      severity: 'page',
      namespace: ep.namespace,
      pod: ep.pod,
      node: ep.node,
      pf: ep.mode === 'l2' ? ep.vf!.pf : '',
      vf: ep.mode === 'l2' ? String(ep.vf!.index) : '',
      tier: ep.tier,
    });
    // the in-process evaluator pages and resolves the same alerts, labels and all
    const labelsOf = (path: string) =>
      new Set(
        breaches(path)
          .filter((a) => a.status === 'firing')
          .map((a) => JSON.stringify(Object.entries(a.labels).sort())),
      );
    expect([...labelsOf('/evaluator')].sort(), context()).toEqual([...labelsOf('/prometheus')].sort());

    // every breach it raised is in sla_events: fired and resolved, with the VF's figures
    await sla.close();
    const rs = await store.client.query({
      query: `SELECT pod, state, min_rate, delivered_rate, drop_rate, started, time FROM podwire.sla_events
              WHERE rule = {rule:String} ORDER BY pod, time`,
      query_params: { rule: ALERTS.guaranteeBreached },
      format: 'JSONEachRow',
    });
    const rows = (await rs.json()) as {
      pod: string;
      state: string;
      min_rate: number;
      delivered_rate: number;
      drop_rate: number;
      started: string;
      time: string;
    }[];
    for (const pod of firingPods('/evaluator')) {
      const mine = rows.filter((r) => r.pod === pod);
      expect(
        mine.map((r) => r.state),
        pod,
      ).toEqual(['firing', 'resolved']);
      const tier = DEFAULT_TIERS.find((t) => t.name === inv.endpoints.find((e) => e.pod === pod)!.tier)!;
      for (const r of mine) {
        expect(r.min_rate).toBe(tier.min);
        expect(r.delivered_rate).toBeLessThan(0.95 * tier.min);
        expect(r.drop_rate).toBeGreaterThan(0);
        const at = (x: string) => Date.parse(x);
        expect(at(r.started)).toBeGreaterThanOrEqual(Math.floor(nicStart / 1000) * 1000);
        expect(at(r.started)).toBeLessThanOrEqual(at(r.time));
      }
    }
    console.log(
      `e2e: ${viaProm.size} victims paged by Prometheus and by the evaluator (${[...viaProm].join(', ')}); settled after ${elapsed} s`,
    );
  }, 180_000);
});
