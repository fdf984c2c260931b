/**
 * The generated rules under the real promtool: `check rules` accepts them, and `test rules`
 * runs the boundary cases of the issue (scenarios.ts): just below the minimum with drops
 * fires after its `for` and not a scrape earlier; just above, or below without drops,
 * never; best-effort never breaches; at the ceiling with drops warns after its `for`; a
 * restart (a gap, counters from 0), a counter reset, the first window after the start and
 * a VF handed to another pod do not fire — and a rule whose `for` is shorter than the rate
 * window (the model refuses one) does fire on those same inputs. Then the in-process
 * evaluator replays each scenario and promtool checks that Prometheus raises exactly its
 * alerts, labels and annotations, at every evaluation.
 */
import { describe, expect, it } from 'vitest';
import { SlaEvaluator } from '../../alerts/evaluator.js';
import { alertSettingsSchema, defaultModel, type TierModel } from '../../alerts/model.js';
import { firingAlerts, replay } from '../../alerts/replay.js';
import { ruleFileYaml } from '../../alerts/rule-file.js';
import { ALERTS, buildRules } from '../../alerts/rules.js';
import { type AlertCheck, type TestGroup, unitTestYaml, withFiles } from './promtool.js';
import { END, firstWindow, reset, restart, SCENARIOS, STEP } from './scenarios.js';

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

/** The default model with another breach `for`, bypassing the model's validation. */
function withFor(seconds: number): TierModel {
  const m = defaultModel();
  return {
    tiers: m.tiers,
    alerts: { ...m.alerts, forSeconds: { ...m.alerts.forSeconds!, guaranteeBreached: seconds } },
  };
}

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

  for (const scenario of SCENARIOS) {
    const g = scenario();
    it(`promtool test rules: ${g.name}`, () => {
      const r = run(model, [g]);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/SUCCESS/);
    });
  }

  it('the restart, reset and first-window inputs fire a rule whose for is shorter than the rate window (why the model refuses one)', () => {
    expect(() => alertSettingsSchema.parse({ forSeconds: { guaranteeBreached: 30 } })).toThrow(
      /at least rateWindowSeconds/,
    );
    for (const g of [restart(), reset(), firstWindow()]) {
      const r = run(withFor(30), [g]);
      expect(r.code, `${g.name}: ${r.output}`).not.toBe(0);
      expect(r.output, g.name).toMatch(/alertname: PodwireGuaranteeBreached/);
    }
  });

  it('the in-process evaluator raises exactly the alerts Prometheus raises, at every evaluation of every scenario', () => {
    const names = [...new Set(Object.values(ALERTS))];
    const groups: TestGroup[] = SCENARIOS.map((scenario) => {
      const g = scenario();
      const ev = new SlaEvaluator(model);
      const checks: AlertCheck[] = [];
      let fired = 0;
      replay(ev, g.input, { scrapeSeconds: STEP, evalSeconds: STEP, untilSeconds: END }, (t) => {
        for (const alertname of names) {
          const alerts = firingAlerts(ev, alertname);
          fired += alerts.length;
          checks.push({ at: t, alertname, alerts });
        }
      });
      return { ...g, name: `evaluator: ${g.name} (${fired} firing alert-evaluations)`, checks };
    });
    // the scenarios do fire: the comparison is not between two empty sets
    expect(groups.some((g) => /\((\d+) firing/.exec(g.name)![1] !== '0')).toBe(true);
    const r = run(model, groups);
    expect(r.code, r.output.slice(0, 5000)).toBe(0);
  });
});
