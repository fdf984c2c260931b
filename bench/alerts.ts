/**
 * bench:alerts — the in-process SLA evaluator over 5,000 VFs (79 nodes of 64 VFs, the demo
 * tiers), one round per simulated second for 12 minutes: long enough for the 5-minute `for`
 * of the production rules to fire, and to take in the evaluator's sweep of expired series
 * and label sets (every 10 minutes: round 600). The input is the exporter's NIC state as the feed reads
 * it, its counters advanced in place each round by a seeded traffic model: most VFs between
 * their minimum and maximum, some sending little, 2 % squeezed below their minimum with
 * drops from 30 s on (they breach), 1 % at their ceiling with QoS drops, and the counters
 * of 1 % back to 0 at 200 s (an exporter restart). Time is simulated (a controlled clock),
 * so rounds run back to back; each is timed from the feed of the state to the end of the
 * rules — what `podwire all` does per collection, Alertmanager and the store aside. (No NIC
 * is simulated: its garbage would be collected inside the evaluator's timings.)
 *
 * Then Prometheus is asked the same question: the series the evaluator was fed for 128 of
 * the VFs (the first node's 64 and 64 spread over the others) go to `promtool test rules`
 * with the generated rules and, as the expected alerts at every 5th second, what the
 * evaluator raised for those VFs (guarantee breached, at ceiling, the first node's
 * saturation): promtool passes only if Prometheus raises exactly those, labels and
 * annotations.
 *
 * Target: eval p99 < 10 ms. Last line: `eval_p99_ms: N`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SlaEvaluator } from '../alerts/evaluator.js';
import { VfFeed } from '../alerts/feed.js';
import { DEFAULT_TIERS, defaultModel } from '../alerts/model.js';
import { ruleFileYaml } from '../alerts/rule-file.js';
import { ALERTS, buildRules, recordedNames } from '../alerts/rules.js';
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { parseInventory } from '../collector/attribution/inventory.js';
import { DEMO_PF } from '../collector/nic/demo.js';
import type { VfSample } from '../collector/nic/types.js';
import { EndpointJoin } from '../node-exporter/join.js';
import { VF_COUNTER_FIELDS, VF_COUNTERS, VF_TIER_MAX, VF_TIER_MIN } from '../node-exporter/metrics.js';
import type { NicState, VfState } from '../node-exporter/nic-state.js';
import { requireTools } from './tools.js';

const VFS = Number(process.env.BENCH_VFS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 720);
/** rings fill over the longest per-VF range (two 60 s windows): measured after it */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 130);
const CHECK_EVERY = 5;
const T0 = Date.UTC(2026, 10, 26, 14, 0, 0);
const REFERENCE = process.env.BENCH_REFERENCE !== '0';

if (REFERENCE) {
  requireTools(
    'bench:alerts',
    [{ cmd: 'promtool', pkg: 'prometheus', why: "Prometheus's verdict on the same input" }],
    'or run with BENCH_REFERENCE=0 to time the evaluator alone',
  );
}

const TIERS = ['high', 'standard', 'standard', 'best-effort', 'standard', 'high', 'best-effort', 'standard'];
const NAMESPACES = ['shop', 'payments', 'search', 'media', 'analytics', 'ml'];
const hex = (n: number) => (n & 255).toString(16).padStart(2, '0');

/** VFS L2 endpoints, 64 a node. */
function inventory() {
  const json = { version: 1, nodes: [] as { name: string; vteps: string[] }[], endpoints: [] as unknown[] };
  for (let i = 0; i < VFS; i++) {
    const n = Math.floor(i / 64);
    const v = i % 64;
    const node = `node-${n}`;
    if (v === 0) json.nodes.push({ name: node, vteps: [`192.168.${n >> 8}.${n & 255}`] });
    const ns = NAMESPACES[i % NAMESPACES.length];
    json.endpoints.push({
      namespace: ns,
      pod: `pod-${n}-${v}`,
      node,
      interface: 'eth0',
      network: `${ns}-l2`,
      mode: 'l2',
      vlan: 100 + (i % NAMESPACES.length),
      mac: `02:${hex(n >> 8)}:${hex(n)}:00:00:${hex(v)}`,
      ips: [`10.${n >> 8}.${n & 255}.${v + 10}`],
      vf: { pf: DEMO_PF, index: v },
      tier: TIERS[v % TIERS.length],
      from: '2026-01-01T00:00:00Z',
    });
  }
  return parseInventory(json, 'bench inventory');
}

/** A seeded uniform draw in [0, 1) per (i, salt). */
function draw(i: number, salt: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

type Kind = 'normal' | 'little' | 'victim' | 'ceiling' | 'restart';

/** The exporter's state, its counters advanced in place by the traffic model each round. */
function traffic(inv: ReturnType<typeof inventory>) {
  const tx = VF_COUNTER_FIELDS.indexOf('txBytes');
  const rx = VF_COUNTER_FIELDS.indexOf('rxBytes');
  const qos = VF_COUNTER_FIELDS.indexOf('qosDropped');
  const txd = VF_COUNTER_FIELDS.indexOf('txDropped');
  const vfs: VfState[] = [];
  const kinds: Kind[] = [];
  const rates: { min: number; max: number }[] = [];
  for (const [i, ep] of inv.endpoints.entries()) {
    if (ep.mode !== 'l2' || !ep.vf) continue;
    const t = DEFAULT_TIERS.find((x) => x.name === ep.tier)!;
    const sample = {
      node: ep.node,
      pf: ep.vf.pf,
      vf: ep.vf.index,
      vlan: ep.vlan,
      minTxRate: t.min,
      maxTxRate: t.max,
    } as VfSample;
    vfs.push({ sample, totals: VF_COUNTER_FIELDS.map(() => 0) });
    const d = draw(i, 1);
    kinds.push(
      t.min > 0 && d < 0.02
        ? 'victim'
        : d < 0.03
          ? 'ceiling'
          : d < 0.04
            ? 'restart'
            : d < 0.14 && t.min > 0
              ? 'little'
              : 'normal',
    );
    rates.push({ min: t.min / 8, max: t.max / 8 });
  }
  /** the state after round `round` (−1: the state objects, untouched) */
  return (round: number): NicState => {
    for (let i = 0; round >= 0 && i < vfs.length; i++) {
      const tot = vfs[i].totals as number[];
      const { min, max } = rates[i];
      const noise = 0.9 + 0.2 * draw(i, 100 + round);
      let bytes: number;
      let dropped = 0;
      switch (kinds[i]) {
        case 'victim':
          bytes = round >= 30 ? 0.4 * min * noise : 1.1 * min * noise;
          dropped = round >= 30 ? 2000 : 0;
          break;
        case 'ceiling':
          bytes = max;
          dropped = 500;
          break;
        case 'little':
          bytes = 0.1 * min * noise;
          break;
        default:
          bytes = (min + (max - min) * 0.3 * draw(i, 2)) * noise + 1e6;
      }
      if (kinds[i] === 'restart' && round === 200) for (let k = 0; k < tot.length; k++) tot[k] = 0;
      tot[tx] += Math.round(bytes);
      tot[rx] += Math.round(bytes * 0.7);
      tot[qos] += dropped;
      tot[txd] += 0;
    }
    return {
      at: T0 + round * 1000,
      vfs,
      netdevs: [],
      qdiscs: [],
      sources: [],
      counterEvents: { reset: 0, wrap: 0, jump: 0, invalid: 0 },
    };
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

interface Check {
  at: number;
  alertname: string;
  alerts: { labels: Record<string, string>; annotations: Record<string, string> }[];
}

/** promtool's verdict: exactly the evaluator's alerts on the recorded input, or not. */
function promtool(
  recorded: Map<string, { metric: string; labels: Record<string, string>; values: number[] }>,
  checks: Check[],
  rules: string,
): { ok: boolean; output: string; seconds: number } {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-bench-alerts-'));
  try {
    const q = JSON.stringify;
    const lines = [
      'rule_files: [rules.yml]',
      'evaluation_interval: 1s',
      'tests:',
      '  - interval: 1s',
      '    input_series:',
    ];
    for (const r of recorded.values()) {
      const labels = Object.entries(r.labels)
        .map(([k, v]) => `${k}=${q(v)}`)
        .join(', ');
      const values = Array.from({ length: ROUNDS }, (_, i) =>
        r.values[i] === undefined ? '_' : String(r.values[i]),
      );
      lines.push(`      - series: ${q(`${r.metric}{${labels}}`)}`, `        values: ${q(values.join(' '))}`);
    }
    lines.push('    alert_rule_test:');
    for (const c of checks) {
      lines.push(`      - eval_time: ${c.at}s`, `        alertname: ${c.alertname}`);
      if (c.alerts.length === 0) {
        lines.push('        exp_alerts: []');
        continue;
      }
      lines.push('        exp_alerts:');
      for (const a of c.alerts) {
        lines.push('          - exp_labels:');
        for (const [k, v] of Object.entries(a.labels)) lines.push(`              ${k}: ${q(v)}`);
        lines.push('            exp_annotations:');
        for (const [k, v] of Object.entries(a.annotations)) lines.push(`              ${k}: ${q(v)}`);
      }
    }
    writeFileSync(join(dir, 'rules.yml'), rules);
    writeFileSync(join(dir, 'test.yml'), `${lines.join('\n')}\n`);
    const started = performance.now();
    const r = spawnSync('promtool', ['test', 'rules', 'test.yml'], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    return { ok: r.status === 0, output: r.stdout + r.stderr, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()[0];
  const inv = inventory();
  const index = EndpointIndex.fromInventory(inv);
  const next = traffic(inv);
  const model = defaultModel();
  // as the service runs it: the alerts, and the tier gauges of podwire_sla_*
  const R = recordedNames(model.alerts.rateWindowSeconds);
  const ev = new SlaEvaluator(model, [R.tierBreached, R.tierBudgetRemaining]);
  const feed = new VfFeed(ev, new EndpointJoin(() => index));

  // the VFs whose input goes to promtool: the first node's, and 64 spread over the rest
  const watched = new Set<string>();
  for (let v = 0; v < 64; v++) watched.add(`node-0/${v}`);
  for (let k = 0; k < 64; k++) {
    const i = 64 + Math.floor((k * (VFS - 64)) / 64);
    watched.add(`node-${Math.floor(i / 64)}/${i % 64}`);
  }
  // what the watched VFs are fed, kept in arrays made once (the recording must not leave
  // garbage for the collector to collect inside the timed rounds)
  const recorded = new Map<string, { metric: string; labels: Record<string, string>; values: number[] }>();
  const fed = VF_COUNTERS.map((d, i) => ({ name: d.name, i })).filter((c) => ev.inputs.has(c.name));
  const slots = new Map<VfState, { series: { values: number[] }[]; max: boolean }>();
  const recJoin = new EndpointJoin(() => index);
  recJoin.refresh(T0);
  for (const v of next(-1).vfs) {
    const s = v.sample;
    if (!watched.has(`${s.node}/${s.vf}`)) continue;
    const ep = recJoin.vf(s.node, s.pf, s.vf, T0)!;
    const labels = {
      node: s.node,
      pf: s.pf,
      vf: String(s.vf),
      namespace: ep.namespace,
      pod: ep.pod,
      interface: ep.interface,
      network: ep.network,
      vlan: String(s.vlan),
      tier: ep.tier,
    };
    const names = [
      ...fed.map((c) => c.name),
      VF_TIER_MIN.name,
      ...(s.maxTxRate > 0 ? [VF_TIER_MAX.name] : []),
    ];
    const series = names.map((metric) => {
      const r = { metric, labels, values: new Array<number>(ROUNDS).fill(Number.NaN) };
      recorded.set(`${metric}${s.node}/${s.vf}`, r);
      return r;
    });
    slots.set(v, { series, max: s.maxTxRate > 0 });
  }
  const record = (state: NicState, round: number) => {
    for (const [v, slot] of slots) {
      let k = 0;
      for (const c of fed) slot.series[k++].values[round] = v.totals[c.i]!;
      slot.series[k++].values[round] = v.sample.minTxRate / 8;
      if (slot.max) slot.series[k].values[round] = v.sample.maxTxRate / 8;
    }
    void state;
  };

  const times: number[] = [];
  const checks: Check[] = [];
  const names = [ALERTS.guaranteeBreached, ALERTS.atCeiling, ALERTS.nodeSaturated];
  let compared = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const state = next(r);
    const started = performance.now();
    feed.ingest(state);
    ev.round(state.at);
    times.push(performance.now() - started);
    if (REFERENCE) record(state, r);
    if (REFERENCE && r % CHECK_EVERY === 0) {
      for (const alertname of names) {
        const alerts = ev
          .alerts()
          .filter((a) => a.state === 'firing' && a.rule.alert === alertname)
          .filter((a) => {
            const l = a.labels.labels;
            return l.vf !== undefined ? watched.has(`${l.node}/${l.vf}`) : l.node === 'node-0';
          })
          .map((a) => {
            const { alertname: _n, ...labels } = a.labels.labels;
            return { labels, annotations: { ...a.annotations } };
          });
        compared += alerts.length;
        checks.push({ at: r, alertname, alerts });
      }
    }
  }
  const measured = times.slice(WARMUP);
  const byName = new Map<string, number>();
  for (const a of ev.alerts()) {
    const k = `${a.rule.alert} ${a.state}`;
    byName.set(k, (byName.get(k) ?? 0) + 1);
  }
  console.log(
    `bench:alerts: ${VFS} VFs, ${ROUNDS} rounds of 1 s (simulated), ${ev.store.seriesCount} series held`,
  );
  console.log(
    `round: p50 ${pct(measured, 50).toFixed(2)} ms, p99 ${pct(measured, 99).toFixed(2)} ms, max ${Math.max(...measured).toFixed(2)} ms (after ${WARMUP} warm-up rounds)`,
  );
  if (process.env.BENCH_DEBUG) {
    const worst = times
      .map((x, i) => [x, i])
      .slice(WARMUP)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 12);
    console.log(`slowest rounds: ${worst.map(([x, i]) => `${i}:${x.toFixed(1)}`).join(' ')}`);
  }
  console.log(`alerts at the end: ${[...byName].map(([n, c]) => `${n} ${c}`).join(', ') || 'none'}`);
  console.log(
    `rss ${(process.memoryUsage.rss() / 1e6).toFixed(0)} MB; load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`,
  );
  if (REFERENCE) {
    const p = promtool(recorded, checks, ruleFileYaml(buildRules(model), 'bench:alerts'));
    if (!p.ok) {
      console.log(`promtool: Prometheus DISAGREES (${p.seconds.toFixed(1)} s):\n${p.output.slice(0, 4000)}`);
      process.exitCode = 1;
    } else {
      console.log(
        `promtool: Prometheus raises the same alerts on the same input: ${recorded.size} series of ${watched.size} VFs, ${checks.length} checks, ${compared} firing alerts compared (${p.seconds.toFixed(1)} s)`,
      );
    }
  }
  console.log(`eval_p99_ms: ${pct(measured, 99).toFixed(2)}`);
}

await main();
