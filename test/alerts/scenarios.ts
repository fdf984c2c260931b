/**
 * The boundary cases of the SLA rules as hand-written series (the exporter's labels, a
 * scrape every 15 s, rules evaluated every 15 s) with the alerts expected of them. The same
 * scenarios run under the real promtool (promtool.test.ts) and through the in-process
 * evaluator (evaluator.test.ts). Expected annotations are expanded by alerts/template.ts.
 *
 * A target that goes away is written as Prometheus records it: a stale marker at the first
 * missed scrape, then nothing.
 */
import { DEFAULT_TIERS, defaultModel, type TierModel } from '../../alerts/model.js';
import { ALERTS, type AlertingRule, buildRules, isAlert } from '../../alerts/rules.js';
import { expand } from '../../alerts/template.js';
import type { AlertCheck, ExpectedAlert, InputSeries, Sample, TestGroup } from './promtool.js';

export const STEP = 15; // seconds between scrapes, and between rule evaluations
export const STEPS = 60; // 15 minutes of input
export const END = STEP * STEPS;
const tier = (name: string) => DEFAULT_TIERS.find((t) => t.name === name)!;
export const MIN = tier('standard').min / 8; // bytes per second
export const MAX = tier('standard').max / 8;
export const B = ALERTS.guaranteeBreached;
export const C = ALERTS.atCeiling;

interface Vf {
  vf: number;
  pod: string;
  tier: string;
}

export const vfLabels = (v: Vf) => ({
  node: 'node-a',
  pf: 'ens1f0',
  vf: String(v.vf),
  namespace: 'shop',
  pod: v.pod,
  interface: 'eth0',
  network: 'shop-l2',
  vlan: '100',
  tier: v.tier,
  instance: '127.0.0.1:9742',
  job: 'podwire',
});
const alertLabels = (v: Vf, severity: string) => ({
  severity,
  node: 'node-a',
  pf: 'ens1f0',
  vf: String(v.vf),
  namespace: 'shop',
  pod: v.pod,
  tier: v.tier,
});

/** A counter growing `perSecond` from `from`, sampled every STEP for `n` samples. */
const counter = (perSecond: number, n = STEPS + 1, from = 0): number[] =>
  Array.from({ length: n }, (_, i) => Math.round(from + perSecond * STEP * i));
const gauge = (v: number, n = STEPS + 1): number[] => Array.from({ length: n }, () => v);
/** a target down for `n` scrapes: a stale marker, then nothing */
const down = (n: number): Sample[] => ['stale', ...Array<Sample>(n - 1).fill('_')];

/** The exporter's series of one VF: transmit bytes, QoS and transmit drops, the tier gauges. */
function vfSeries(v: Vf, s: { tx: Sample[]; qos: Sample[]; min?: Sample[]; max?: Sample[] }): InputSeries[] {
  const t = tier(v.tier);
  const labels = vfLabels(v);
  const n = s.tx.length;
  const like = (xs: Sample[], x: number): Sample[] => xs.map((y) => (typeof y === 'number' ? x : y));
  const out: InputSeries[] = [
    { metric: 'podwire_vf_transmit_bytes_total', labels, values: s.tx },
    { metric: 'podwire_vf_qos_dropped_packets_total', labels, values: s.qos },
    { metric: 'podwire_vf_transmit_dropped_packets_total', labels, values: like(s.tx, 0) },
    { metric: 'podwire_vf_tier_min_bytes_per_second', labels, values: s.min ?? gauge(t.min / 8, n) },
  ];
  if (t.max > 0) {
    out.push({
      metric: 'podwire_vf_tier_max_bytes_per_second',
      labels,
      values: s.max ?? like(s.tx, t.max / 8),
    });
  }
  return out;
}

/** The rule of that name whose labels (severity, problem…) the alert's labels all carry. */
function rule(model: TierModel, name: string, l: Record<string, string>): AlertingRule {
  const r = buildRules(model)
    .flatMap((g) => g.rules)
    .find(
      (x): x is AlertingRule =>
        isAlert(x) && x.alert === name && Object.entries(x.labels).every(([k, v]) => l[k] === v),
    );
  if (!r) throw new Error(`no rule ${name} with labels ${JSON.stringify(l)}`);
  return r;
}

/** An alert as promtool lists it: the rule's labels and its annotations, expanded for `value`. */
export function firing(
  model: TierModel,
  name: string,
  l: Record<string, string>,
  value: number,
): ExpectedAlert {
  const r = rule(model, name, l);
  const exprLabels = Object.fromEntries(Object.entries(l).filter(([k]) => !(k in r.labels)));
  const annotations = Object.fromEntries(
    Object.entries(r.annotations).map(([k, t]) => [k, expand(t, exprLabels, value)]),
  );
  return { labels: l, annotations };
}

const none = (at: number, alertname: string): AlertCheck => ({ at, alertname, alerts: [] });
export const every = (from: number, to: number, alertname: string): AlertCheck[] => {
  const out: AlertCheck[] = [];
  for (let t = from; t <= to; t += STEP) out.push(none(t, alertname));
  return out;
};

const model = defaultModel();
const drops = counter(100 / STEP);

export function breachBoundaries(): TestGroup {
  const low: Vf = { vf: 1, pod: 'web-low', tier: 'standard' };
  const above: Vf = { vf: 2, pod: 'web-above', tier: 'standard' };
  const quiet: Vf = { vf: 3, pod: 'web-quiet', tier: 'standard' };
  const be: Vf = { vf: 4, pod: 'batch-be', tier: 'best-effort' };
  const breach = firing(model, B, alertLabels(low, 'page'), 0.94 * MIN);
  return {
    name: 'just below the minimum with drops fires after its for; just above, without drops, best-effort: never',
    scrapeSeconds: STEP,
    input: [
      ...vfSeries(low, { tx: counter(0.94 * MIN), qos: drops }),
      ...vfSeries(above, { tx: counter(0.96 * MIN), qos: drops }),
      // sends little: half its minimum, nothing dropped
      ...vfSeries(quiet, { tx: counter(0.5 * MIN), qos: gauge(7) }),
      // best-effort (minimum 0), squeezed: drops and a low rate
      ...vfSeries(be, { tx: counter(0.1 * (tier('best-effort').max / 8)), qos: drops }),
    ],
    checks: [
      // pending from the first rate (15 s), so firing 5 minutes later and not a scrape before
      none(5 * 60, B),
      { at: 5 * 60 + 15, alertname: B, alerts: [breach] },
      { at: END, alertname: B, alerts: [breach] },
    ],
  };
}

export function ceiling(): TestGroup {
  const top: Vf = { vf: 5, pod: 'api-top', tier: 'standard' };
  const under: Vf = { vf: 6, pod: 'api-under', tier: 'standard' };
  const warn = firing(model, C, alertLabels(top, 'warning'), 0.97 * MAX);
  return {
    name: 'at the ceiling with QoS drops warns after its for',
    scrapeSeconds: STEP,
    input: [
      ...vfSeries(top, { tx: counter(0.97 * MAX), qos: drops }),
      // just under the ceiling share, dropping: not at its ceiling
      ...vfSeries(under, { tx: counter(0.94 * MAX), qos: drops }),
    ],
    // a window not yet full reads low, so pending from 1m (not 15 s): firing at 11m
    checks: [none(10 * 60 + 45, C), { at: 11 * 60, alertname: C, alerts: [warn] }, none(END, B)],
  };
}

/** A pod held at exactly its minimum while it wants more: the guarantee is honoured. */
const atMin: Vf = { vf: 8, pod: 'db-0', tier: 'standard' };

export function restart(): TestGroup {
  // the exporter is down from 4m00 to 4m30 (three scrapes missed), then counts from 0
  const before = 16;
  const gap = 3;
  const after = STEPS + 1 - before - gap;
  return {
    name: 'exporter restart',
    scrapeSeconds: STEP,
    input: vfSeries(atMin, {
      tx: [...counter(MIN, before), ...down(gap), ...counter(MIN, after)],
      qos: [...counter(100 / STEP, before), ...down(gap), ...counter(100 / STEP, after)],
      min: [...gauge(MIN, before), ...down(gap), ...gauge(MIN, after)],
    }),
    checks: every(0, END, B),
  };
}

export function reset(): TestGroup {
  // the counters go back to 0 between two scrapes (no gap)
  const at = 16;
  return {
    name: 'counter reset',
    scrapeSeconds: STEP,
    input: vfSeries(atMin, {
      tx: [...counter(MIN, at), ...counter(MIN, STEPS + 1 - at)],
      qos: [...counter(100 / STEP, at), ...counter(100 / STEP, STEPS + 1 - at)],
    }),
    checks: every(0, END, B),
  };
}

export function firstWindow(): TestGroup {
  return {
    name: 'first window after the start',
    scrapeSeconds: STEP,
    input: vfSeries(atMin, { tx: counter(MIN), qos: counter(100 / STEP) }),
    checks: every(0, END, B),
  };
}

export function handOver(): TestGroup {
  const old: Vf = { vf: 7, pod: 'cache-old', tier: 'standard' };
  const neu: Vf = { vf: 7, pod: 'cache-new', tier: 'standard' };
  const held = 25; // samples 0 … 6m00 belong to the old pod; the VF moves at 6m15
  const tx = counter(0.5 * MIN, held);
  const qos = counter(100 / STEP, held);
  const rest = STEPS + 1 - held;
  const gone = (xs: number[]): Sample[] => [...xs, ...down(rest)];
  const later = (xs: number[]): Sample[] => [...Array<Sample>(held).fill('_'), ...xs];
  const last = (xs: number[]) => xs[xs.length - 1];
  const breach = firing(model, B, alertLabels(old, 'page'), 0.5 * MIN);
  return {
    name: 'a VF handed to another pod: the old pod resolves after keep_firing_for, the new one never fires',
    scrapeSeconds: STEP,
    input: [
      ...vfSeries(old, {
        tx: gone(tx),
        qos: gone(qos),
        min: gone(gauge(MIN, held)),
        max: gone(gauge(MAX, held)),
      }),
      // the VF's counters go on under the new pod, which sends little and drops nothing
      ...vfSeries(neu, {
        tx: later(counter(0.2 * MIN, rest, last(tx) + 0.2 * MIN * STEP)),
        qos: later(gauge(last(qos), rest)),
        min: later(gauge(MIN, rest)),
        max: later(gauge(MAX, rest)),
      }),
    ],
    checks: [
      { at: 6 * 60, alertname: B, alerts: [breach] },
      // the condition is gone at 6m15; keep_firing_for (2m) holds it until then
      { at: 8 * 60, alertname: B, alerts: [breach] },
      ...every(8 * 60 + 15, END, B),
    ],
  };
}

export function budgetBurn(): TestGroup {
  const high: Vf = { vf: 9, pod: 'pay-0', tier: 'high' };
  const ok: Vf = { vf: 10, pod: 'web-ok', tier: 'standard' };
  const hmin = tier('high').min / 8;
  const burn = (severity: string) => firing(model, ALERTS.budgetBurn, { severity, tier: 'high' }, 1);
  return {
    name: 'error budget burn: a tier in breach pages and tickets; one meeting its guarantee does not',
    scrapeSeconds: STEP,
    input: [
      ...vfSeries(high, { tx: counter(0.5 * hmin), qos: drops }),
      // at its minimum, dropping: its first (partial) windows read low, which the SLI must not count
      ...vfSeries(ok, { tx: counter(MIN), qos: drops }),
    ],
    checks: [{ at: 5 * 60, alertname: ALERTS.budgetBurn, alerts: [burn('page'), burn('ticket')] }],
  };
}

export function captureKernelDrops(): TestGroup {
  const target = { instance: '127.0.0.1:9742', job: 'podwire' };
  const capture = (
    iface: string,
    perSecond: { read: number; kernel: number; nic?: number },
  ): InputSeries[] => [
    {
      metric: 'podwire_capture_packets_total',
      labels: { ...target, interface: iface },
      values: counter(perSecond.read),
    },
    {
      metric: 'podwire_capture_dropped_packets_total',
      labels: { ...target, interface: iface, reason: 'kernel' },
      values: counter(perSecond.kernel),
    },
    {
      metric: 'podwire_capture_dropped_packets_total',
      labels: { ...target, interface: iface, reason: 'interface' },
      values: counter(perSecond.nic ?? 0),
    },
  ];
  const l = {
    severity: 'warning',
    problem: 'capture_kernel_drops',
    instance: target.instance,
    interface: 'mirror0',
  };
  const broken = firing(model, ALERTS.collectionBroken, l, 0.02);
  return {
    name: "a live capture's kernel drops above the loss threshold break collection after its for; below it, or dropped by the interface, never",
    scrapeSeconds: STEP,
    input: [
      // 2 % of what reached the capture dropped by the kernel
      ...capture('mirror0', { read: 980, kernel: 20 }),
      // 0.5 %: under the 1 % threshold
      ...capture('mirror1', { read: 995, kernel: 5 }),
      // the interface drops a lot before any capture sees it: not the capture's loss
      ...capture('mirror2', { read: 1000, kernel: 0, nic: 500 }),
    ],
    // pending from the first rate (15 s): firing 5 minutes later and not a scrape before
    checks: [
      none(5 * 60, ALERTS.collectionBroken),
      { at: 5 * 60 + 15, alertname: ALERTS.collectionBroken, alerts: [broken] },
      { at: END, alertname: ALERTS.collectionBroken, alerts: [broken] },
    ],
  };
}

/** Every scenario, for the tests that run them all. */
export const SCENARIOS = [
  breachBoundaries,
  ceiling,
  restart,
  reset,
  firstWindow,
  handOver,
  budgetBurn,
  captureKernelDrops,
];
