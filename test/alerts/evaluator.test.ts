/**
 * The in-process evaluator alone (no promtool; promtool.test.ts sets it beside Prometheus):
 * the boundary scenarios' expected alerts, Prometheus's rate() arithmetic on known series,
 * the minute buckets of long ranges, template formatting as Go prints it, label sets
 * surviving a sweep, a failing rule that leaves the others running, and the model's
 * validation naming the bad field.
 */
import { describe, expect, it } from 'vitest';
import { SlaEvaluator } from '../../alerts/evaluator.js';
import { div, sel, sumOverTime } from '../../alerts/expr.js';
import { alertSettingsSchema, defaultModel, modelOf, tiersSchema } from '../../alerts/model.js';
import { firingAlerts, replay } from '../../alerts/replay.js';
import { RECORDED } from '../../alerts/rules.js';
import { formatG4, humanize, humanizePercentage } from '../../alerts/template.js';
import { END, SCENARIOS, STEP } from './scenarios.js';

describe('in-process evaluator', () => {
  for (const scenario of SCENARIOS) {
    const g = scenario();
    it(`raises the expected alerts: ${g.name}`, () => {
      const ev = new SlaEvaluator(defaultModel());
      const seen = new Map<string, string[]>();
      const key = (a: { labels: Record<string, string>; annotations: Record<string, string> }) =>
        JSON.stringify([Object.entries(a.labels).sort(), Object.entries(a.annotations).sort()]);
      replay(ev, g.input, { scrapeSeconds: STEP, evalSeconds: STEP, untilSeconds: END }, (t) => {
        for (const c of g.checks.filter((x) => x.at === t))
          seen.set(`${c.alertname}@${t}`, firingAlerts(ev, c.alertname).map(key));
      });
      for (const c of g.checks) {
        expect(seen.get(`${c.alertname}@${c.at}`)!.sort(), `${c.alertname} at ${c.at} s`).toEqual(
          c.alerts.map(key).sort(),
        );
      }
    });
  }

  it('computes rate() as Prometheus 2.x does: extrapolation, the zero point, counter resets', () => {
    const l = { node: 'n', pf: 'p', vf: '1', namespace: 'ns', pod: 'a', tier: 'standard' };
    const tx = 'podwire_vf_transmit_bytes_total';
    const rateAt = (values: (number | '_')[], at: number) => {
      const e = new SlaEvaluator(defaultModel());
      let out: number | undefined;
      replay(
        e,
        [{ metric: tx, labels: l, values }],
        { scrapeSeconds: 15, evalSeconds: 15, untilSeconds: at },
        (t) => {
          if (t === at) {
            const cur = e.store.get(RECORDED.vfTransmitRate)!.cur;
            out = cur.n > 0 ? cur.v[0] : undefined;
          }
        },
      );
      return out;
    };
    // a steady 100/s over a full window: exact
    expect(rateAt([0, 1500, 3000, 4500, 6000], 60)).toBeCloseTo(100, 9);
    // the first window after the start: 2 samples from 0, divided by the whole minute
    expect(rateAt([0, 1500], 15)).toBeCloseTo(1500 / 60, 9);
    // a series starting high (no zero point in reach): extrapolated half an interval back
    expect(rateAt([90_000, 91_500], 15)).toBeCloseTo((1500 * (22.5 / 15)) / 60, 9);
    // a reset: the value before it is added back
    expect(rateAt([0, 1500, 3000, 500, 2000], 60)).toBeCloseTo((2000 + 3000) / 60, 9);
    // one sample: no rate
    expect(rateAt([5], 0)).toBeUndefined();
  });

  it('sums ranges beyond six hours from minute buckets once the fine samples are gone', () => {
    const ev = new SlaEvaluator(defaultModel());
    const store = ev.store.get(RECORDED.tierBreached)!;
    const ls = ev.labels.intern({ tier: 'high' });
    // one sample of 1 every 10 s for 8 hours
    for (let t = 0; t <= 8 * 3600_000; t += 10_000) {
      store.begin(t);
      store.put(ls, 1);
    }
    const day = ev.engine.eval(sumOverTime(RECORDED.tierBreached, 86400), 8 * 3600_000);
    const sixH = ev.engine.eval(sumOverTime(RECORDED.tierBreached, 6 * 3600), 8 * 3600_000);
    if (typeof day === 'number' || typeof sixH === 'number') throw new Error('vectors expected');
    // 8 h of samples every 10 s: 2881; the buckets are exact but for their open minute
    expect(day.v[0]).toBe(2881);
    expect(sixH.v[0]).toBe(6 * 360 + 1);
  });

  it('formats templates as Go does (%.4g with SI prefixes)', () => {
    expect(humanize(117_500_000)).toBe('117.5M');
    expect(humanize(1234)).toBe('1.234k');
    expect(humanize(999.95)).toBe('1000'); // %.4g rounds up, no prefix change
    expect(humanize(0.012)).toBe('12m');
    expect(humanize(0)).toBe('0');
    expect(humanizePercentage(0.00123)).toBe('0.123%');
    expect(humanizePercentage(1)).toBe('100%');
    expect(formatG4(123456)).toBe('1.235e+05');
    expect(formatG4(0.00001234)).toBe('1.234e-05');
    expect(formatG4(Number.NaN)).toBe('NaN');
  });

  it('keeps every label set still held through a sweep, so matching by identity stays right', () => {
    const ev = new SlaEvaluator(defaultModel());
    const tx = 'podwire_vf_transmit_bytes_total';
    const l = (pod: string) => ({ node: 'n', pf: 'p', vf: '1', namespace: 'ns', pod, tier: 'standard' });
    // a round every 10 s for 2000 s, a new pod on the VF every 200 s; a sweep every 10 minutes
    let fresh = 0;
    const sizes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = i * 10_000;
      for (const name of ev.inputs) ev.store.get(name)!.begin(t);
      const ls = ev.labels.intern(l(`p${Math.floor(i / 20)}`));
      ev.store.get(tx)!.put(ls, i * 100);
      ev.store.get('podwire_vf_tier_min_bytes_per_second')!.put(ls, 125e6);
      ev.round(t);
      sizes[i] = ev.labels.size;
      const rec = ev.store.get(RECORDED.vfTransmitRate)!;
      if (rec.cur.n > 0) {
        // the recorded set is the one interned object for its labels
        const again = ev.labels.intern(rec.cur.ls[0].labels);
        expect(again).toBe(rec.cur.ls[0]);
        fresh++;
      }
    }
    expect(fresh).toBeGreaterThan(150);
    // 10 pods came and went: the label sets of those gone for longer than their series are
    // kept (two windows and the lookback, 7 minutes) were swept, so at most ~4 pods' remain
    const perPod = sizes[21]! - sizes[19]!;
    expect(perPod).toBeGreaterThan(0);
    expect(ev.labels.size).toBeLessThanOrEqual(sizes[19]! + 4 * perPod);
    expect(ev.labels.size).toBeLessThan(sizes[19]! + 9 * perPod);
  });

  it('refuses what Prometheus refuses: two series alike on one side of an on() match', () => {
    const ev = new SlaEvaluator(defaultModel());
    const m = ev.store.get(RECORDED.tierBreached)!;
    m.begin(0);
    m.put(ev.labels.intern({ tier: 'high', node: 'a' }), 1);
    m.put(ev.labels.intern({ tier: 'high', node: 'b' }), 1);
    const o = ev.store.get(RECORDED.tierObjective)!;
    o.begin(0);
    o.put(ev.labels.intern({ tier: 'high' }), 0.999);
    expect(() =>
      ev.engine.eval(div(sel(RECORDED.tierBreached), sel(RECORDED.tierObjective), { on: ['tier'] }), 0),
    ).toThrow(/many-to-one matching must be explicit/);
    expect(() =>
      ev.engine.eval(div(sel(RECORDED.tierObjective), sel(RECORDED.tierBreached), { on: ['tier'] }), 0),
    ).toThrow(/duplicate series for the match group/);
  });

  it('the model refuses a bad field by its path', () => {
    expect(() => tiersSchema.parse([{ name: 'gold', min: 5e9, max: 1e9 }])).toThrow(/max must be 0/);
    expect(() => tiersSchema.parse([{ name: 'x', min: 0, max: 1e9, objective: 99 }])).toThrow(/no objective/);
    expect(() => tiersSchema.parse([{ name: 'a b', min: 0, max: 0 }])).toThrow(/label value/);
    expect(() => alertSettingsSchema.parse({ nodeCapacityBps: -1 })).toThrow();
    const m = modelOf({ tiers: [{ name: 'gold', min: 5e9, max: 10e9, objective: 99.99 }] });
    expect(m.tiers.map((t) => t.name)).toEqual(['gold']);
    expect(m.alerts.forSeconds).toBeUndefined();
  });
});
