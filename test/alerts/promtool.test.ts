/**
 * The generated rules under the real promtool: `check rules` accepts them, and `test rules`
 * runs the boundary cases of the issue on hand-written series (the exporter's labels, a
 * scrape every 15 s, rules evaluated every 15 s): just below the minimum with drops fires
 * after its `for` and not a scrape earlier; just above, or below without drops, never;
 * best-effort never breaches; at the ceiling with drops warns after its `for`; a restart
 * (a gap, counters from 0), a counter reset, the first window after the start and a VF
 * handed to another pod do not fire — and a rule with a `for` shorter than the rate window
 * (which the model refuses) does fire on those same inputs, which is why it is refused.
 * Expected annotations are expanded by alerts/template.ts, so Go's templates check ours.
 */
import { describe, expect, it } from 'vitest';
import { alertSettingsSchema, DEFAULT_TIERS, defaultModel, type TierModel } from '../../alerts/model.js';
import { ruleFileYaml } from '../../alerts/rule-file.js';
import { ALERTS, type AlertingRule, buildRules, isAlert } from '../../alerts/rules.js';
import { expand } from '../../alerts/template.js';
import {
  type AlertCheck,
  type ExpectedAlert,
  type InputSeries,
  type Sample,
  seriesName,
  type TestGroup,
  unitTestYaml,
  withFiles,
} from './promtool.js';

const STEP = 15; // seconds between scrapes, and between rule evaluations
const STEPS = 60; // 15 minutes of input
const tier = (name: string) => DEFAULT_TIERS.find((t) => t.name === name)!;
const MIN = tier('standard').min / 8; // bytes per second
const MAX = tier('standard').max / 8;

interface Vf {
  vf: number;
  pod: string;
  tier: string;
}

const labels = (v: Vf) => ({
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

/** The exporter's series of one VF: transmit bytes, QoS and transmit drops, the tier gauges. */
function vfSeries(
  v: Vf,
  s: { tx: Sample[]; qos: Sample[]; txDropped?: Sample[]; min?: Sample[]; max?: Sample[] },
) {
  const t = tier(v.tier);
  const l = labels(v);
  const n = s.tx.length;
  const out: InputSeries[] = [
    { series: seriesName('podwire_vf_transmit_bytes_total', l), values: s.tx },
    { series: seriesName('podwire_vf_qos_dropped_packets_total', l), values: s.qos },
    {
      series: seriesName('podwire_vf_transmit_dropped_packets_total', l),
      values: s.txDropped ?? gauge(0, n),
    },
    { series: seriesName('podwire_vf_tier_min_bytes_per_second', l), values: s.min ?? gauge(t.min / 8, n) },
  ];
  if (t.max > 0) {
    out.push({
      series: seriesName('podwire_vf_tier_max_bytes_per_second', l),
      values: s.max ?? gauge(t.max / 8, n),
    });
  }
  return out;
}

function rule(model: TierModel, name: string, severity?: string): AlertingRule {
  const r = buildRules(model)
    .flatMap((g) => g.rules)
    .find(
      (x): x is AlertingRule =>
        isAlert(x) && x.alert === name && (!severity || x.labels.severity === severity),
    );
  if (!r) throw new Error(`no rule ${name}`);
  return r;
}

/** An alert as promtool lists it: the rule's labels and its annotations, expanded for `value`. */
function firing(model: TierModel, name: string, l: Record<string, string>, value: number): ExpectedAlert {
  const r = rule(model, name, l.severity);
  const exprLabels = Object.fromEntries(Object.entries(l).filter(([k]) => !(k in r.labels)));
  const annotations = Object.fromEntries(
    Object.entries(r.annotations).map(([k, t]) => [k, expand(t, exprLabels, value)]),
  );
  return { labels: l, annotations };
}

const none = (at: number, alertname: string): AlertCheck => ({ at, alertname, alerts: [] });
const every = (from: number, to: number, alertname: string): AlertCheck[] => {
  const out: AlertCheck[] = [];
  for (let t = from; t <= to; t += STEP) out.push(none(t, alertname));
  return out;
};

function run(model: TierModel, groups: TestGroup[]) {
  const rules = ruleFileYaml(buildRules(model), 'test rules');
  return withFiles(
    {
      'rules.yml': rules,
      'test.yml': unitTestYaml({ ruleFile: 'rules.yml', evaluationSeconds: STEP, groups }),
    },
    ['test', 'rules', 'test.yml'],
  );
}

/** The default model with other `for`s, bypassing the model's validation (for the counter-proofs). */
function withFor(seconds: number): TierModel {
  const m = defaultModel();
  return {
    tiers: m.tiers,
    alerts: { ...m.alerts, forSeconds: { ...m.alerts.forSeconds!, guaranteeBreached: seconds } } as never,
  };
}

const B = ALERTS.guaranteeBreached;
const C = ALERTS.atCeiling;

describe('generated rules under promtool', () => {
  const model = defaultModel();

  it('promtool check rules accepts the generated rule file', () => {
    const r = withFiles({ 'rules.yml': ruleFileYaml(buildRules(model), 'x') }, [
      'check',
      'rules',
      'rules.yml',
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('just below the minimum with drops fires after its for; just above, or without drops, never', () => {
    const low: Vf = { vf: 1, pod: 'web-low', tier: 'standard' };
    const above: Vf = { vf: 2, pod: 'web-above', tier: 'standard' };
    const quiet: Vf = { vf: 3, pod: 'web-quiet', tier: 'standard' };
    const be: Vf = { vf: 4, pod: 'batch-be', tier: 'best-effort' };
    const drops = counter(100 / STEP);
    const input = [
      ...vfSeries(low, { tx: counter(0.94 * MIN), qos: drops }),
      ...vfSeries(above, { tx: counter(0.96 * MIN), qos: drops }),
      // sends little: half its minimum, nothing dropped
      ...vfSeries(quiet, { tx: counter(0.5 * MIN), qos: gauge(7) }),
      // best-effort (minimum 0), squeezed: drops and a low rate
      ...vfSeries(be, { tx: counter(0.1 * (tier('best-effort').max / 8)), qos: drops }),
    ];
    const breach = firing(model, B, alertLabels(low, 'page'), 0.94 * MIN);
    expect(breach.annotations.description).toContain('117.5MB/s');
    const r = run(model, [
      {
        name: 'breach boundaries',
        scrapeSeconds: STEP,
        input,
        checks: [
          // pending from the first rate (15 s), so firing 5 minutes later and not a scrape before
          none(5 * 60, B),
          { at: 5 * 60 + 15, alertname: B, alerts: [breach] },
          { at: 15 * 60, alertname: B, alerts: [breach] },
        ],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('at the ceiling with QoS drops warns after its for', () => {
    const top: Vf = { vf: 5, pod: 'api-top', tier: 'standard' };
    const under: Vf = { vf: 6, pod: 'api-under', tier: 'standard' };
    const drops = counter(100 / STEP);
    const input = [
      ...vfSeries(top, { tx: counter(0.97 * MAX), qos: drops }),
      // just under the ceiling share, dropping: not at its ceiling
      ...vfSeries(under, { tx: counter(0.94 * MAX), qos: drops }),
    ];
    const warn = firing(model, C, alertLabels(top, 'warning'), 0.97 * MAX);
    const r = run(model, [
      {
        name: 'ceiling',
        scrapeSeconds: STEP,
        input,
        // a window not yet full reads low, so pending from 1m (not 15 s): firing at 11m
        checks: [none(10 * 60 + 45, C), { at: 11 * 60, alertname: C, alerts: [warn] }, none(15 * 60, B)],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  /** A pod held at exactly its minimum while it wants more: the guarantee is honoured. */
  const atMin: Vf = { vf: 8, pod: 'db-0', tier: 'standard' };
  const restart = (): InputSeries[] => {
    // the exporter is down from 3m45 to 4m45 (three scrapes missed), then counts from 0
    const before = 16;
    const gap = 3;
    const tx: Sample[] = [
      ...counter(MIN, before),
      ...Array<Sample>(gap).fill('_'),
      ...counter(MIN, STEPS + 1 - before - gap),
    ];
    const qos: Sample[] = [
      ...counter(100 / STEP, before),
      ...Array<Sample>(gap).fill('_'),
      ...counter(100 / STEP, STEPS + 1 - before - gap),
    ];
    const min: Sample[] = [
      ...gauge(MIN, before),
      ...Array<Sample>(gap).fill('_'),
      ...gauge(MIN, STEPS + 1 - before - gap),
    ];
    return vfSeries(atMin, { tx, qos, min, max: min.map((x) => (x === '_' ? x : MAX)) });
  };
  const reset = (): InputSeries[] => {
    // the counters go back to 0 between two scrapes (no gap)
    const at = 16;
    return vfSeries(atMin, {
      tx: [...counter(MIN, at), ...counter(MIN, STEPS + 1 - at)],
      qos: [...counter(100 / STEP, at), ...counter(100 / STEP, STEPS + 1 - at)],
    });
  };
  const fresh = (): InputSeries[] => vfSeries(atMin, { tx: counter(MIN), qos: counter(100 / STEP) });

  it('a restart, a counter reset and the first window after the start do not fire', () => {
    const r = run(model, [
      { name: 'exporter restart', scrapeSeconds: STEP, input: restart(), checks: every(0, 15 * 60, B) },
      { name: 'counter reset', scrapeSeconds: STEP, input: reset(), checks: every(0, 15 * 60, B) },
      { name: 'first window', scrapeSeconds: STEP, input: fresh(), checks: every(0, 15 * 60, B) },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('the same inputs fire a rule whose for is shorter than the rate window (why the model refuses one)', () => {
    expect(() => alertSettingsSchema.parse({ forSeconds: { guaranteeBreached: 30 } })).toThrow(
      /at least rateWindowSeconds/,
    );
    const short = withFor(30);
    for (const [name, input] of [
      ['exporter restart', restart()],
      ['counter reset', reset()],
      ['first window', fresh()],
    ] as const) {
      const r = run(short, [{ name, scrapeSeconds: STEP, input, checks: every(0, 15 * 60, B) }]);
      expect(r.code, `${name}: ${r.output}`).not.toBe(0);
      expect(r.output, name).toMatch(/alertname: PodwireGuaranteeBreached/);
    }
  });

  it('a VF handed to another pod: the old pod resolves after keep_firing_for, the new one never fires', () => {
    const old: Vf = { vf: 7, pod: 'cache-old', tier: 'standard' };
    const neu: Vf = { vf: 7, pod: 'cache-new', tier: 'standard' };
    const held = 25; // samples 0 … 6m00 belong to the old pod; the VF moves at 6m15
    const tx = counter(0.5 * MIN, held);
    const qos = counter(100 / STEP, held);
    const rest = STEPS + 1 - held;
    const gone = (xs: number[]): Sample[] => [...xs, 'stale', ...Array<Sample>(rest - 1).fill('_')];
    const later = (xs: number[]): Sample[] => [...Array<Sample>(held).fill('_'), ...xs];
    const last = (xs: number[]) => xs[xs.length - 1];
    const input = [
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
    ];
    const breach = firing(model, B, alertLabels(old, 'page'), 0.5 * MIN);
    const r = run(model, [
      {
        name: 'hand-over',
        scrapeSeconds: STEP,
        input,
        checks: [
          { at: 6 * 60, alertname: B, alerts: [breach] },
          // the condition is gone at 6m15; keep_firing_for (2m) holds it until then
          { at: 8 * 60, alertname: B, alerts: [breach] },
          ...every(8 * 60 + 15, 15 * 60, B),
        ],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('error budget burn: a tier in breach pages and tickets; a tier meeting its guarantee does not', () => {
    const high: Vf = { vf: 9, pod: 'pay-0', tier: 'high' };
    const ok: Vf = { vf: 10, pod: 'web-ok', tier: 'standard' };
    const hmin = tier('high').min / 8;
    const input = [
      ...vfSeries(high, { tx: counter(0.5 * hmin), qos: counter(100 / STEP) }),
      ...vfSeries(ok, { tx: counter(MIN), qos: counter(100 / STEP) }),
    ];
    const burn = (severity: string) => firing(model, ALERTS.budgetBurn, { severity, tier: 'high' }, 1);
    const r = run(model, [
      {
        name: 'burn',
        scrapeSeconds: STEP,
        input,
        checks: [{ at: 5 * 60, alertname: ALERTS.budgetBurn, alerts: [burn('page'), burn('ticket')] }],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });
});
