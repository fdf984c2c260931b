/**
 * The in-process SLA evaluator: the rule groups of rules.ts, run in order over the series
 * store at each round, as one Prometheus rule group runs (a rule reads what the rules
 * before it recorded at the same instant). Recording rules write their vectors back into
 * the store; alerting rules keep Prometheus's alert states (alert-state.ts). Rules that
 * need what only Prometheus has (`up`) are skipped. The caller feeds the inputs (feed.ts)
 * and then calls `round(t)` with the same instant: time comes only from the caller.
 */
import { type Alert, AlertRuleState, type Transition } from './alert-state.js';
import { Engine } from './engine.js';
import { reads } from './expr.js';
import { type LabelSet, Labels } from './labels.js';
import type { TierModel } from './model.js';
import { buildRules, isAlert, type Rule, type RuleGroup } from './rules.js';
import { SeriesStore } from './store.js';
import { Vec } from './vec.js';

/**
 * How often expired series and unused label sets are forgotten, ms of evaluation time: a
 * sweep walks every series (~15 ms at 5,000 VFs), so it runs seldom; memory then holds at
 * most this long's churn.
 */
const SWEEP_EVERY_MS = 10 * 60_000;

interface Step {
  readonly rule: Rule;
  readonly name: string;
  readonly state: AlertRuleState | null;
}

export interface RoundResult {
  readonly transitions: Transition[];
  /** rules that failed this round, with Prometheus-like messages */
  readonly errors: { rule: string; message: string }[];
}

export class SlaEvaluator {
  readonly labels = new Labels();
  readonly store: SeriesStore;
  readonly engine: Engine;
  readonly groups: readonly RuleGroup[];
  /** metrics the rules read that no rule records: what must be fed */
  readonly inputs: ReadonlySet<string>;
  rounds = 0;
  lastRoundAt: number | null = null;
  private lastSweep: number | null = null;
  private readonly steps: Step[] = [];
  private readonly scalar = new Vec();
  /** other holders of label sets (the feeds' caches), kept by the sweep */
  private readonly holders: (() => Iterable<LabelSet>)[] = [];

  /**
   * `keep`: recorded series wanted beyond what the alerts read (the service's
   * podwire_sla_* gauges). A recording rule nothing reads (podwire:vf_at_ceiling:bool is
   * for dashboards) is left out: the alerts come out the same, for less work a round.
   */
  constructor(model: TierModel, keep: readonly string[] = []) {
    this.groups = buildRules(model);
    const rules = this.groups.flatMap((g) => g.rules).filter((r) => !(isAlert(r) && r.only === 'prometheus'));
    // what the alerts need, back through the recording rules they read
    const needed = new Set<string>(keep);
    for (const r of rules) if (isAlert(r)) for (const m of reads(r.expr).keys()) needed.add(m);
    for (const r of [...rules].reverse()) {
      if (!isAlert(r) && needed.has(r.record)) for (const m of reads(r.expr).keys()) needed.add(m);
    }
    const ranges = new Map<string, number[]>();
    const recorded = new Set<string>();
    for (const rule of rules) {
      if (!isAlert(rule) && !needed.has(rule.record)) continue;
      reads(rule.expr, ranges);
      if (!isAlert(rule)) {
        recorded.add(rule.record);
        if (!ranges.has(rule.record)) ranges.set(rule.record, [0]);
      }
      this.steps.push({
        rule,
        name: isAlert(rule) ? rule.alert : rule.record,
        state: isAlert(rule) ? new AlertRuleState(rule, this.labels) : null,
      });
    }
    this.store = new SeriesStore(new Map([...ranges].map(([k, r]) => [k, r.filter((x) => x > 0)])));
    this.inputs = new Set([...ranges.keys()].filter((k) => !recorded.has(k)));
    this.engine = new Engine(this.labels, this.store);
  }

  /** Registers another holder of label sets (a feed's cache) for the sweep. */
  holdsLabels(f: () => Iterable<LabelSet>): void {
    this.holders.push(f);
  }

  /** Runs every rule at t (ms); the inputs must have been fed at t. */
  round(t: number): RoundResult {
    const transitions: Transition[] = [];
    const errors: { rule: string; message: string }[] = [];
    const begun = new Set<string>();
    for (const s of this.steps) {
      let v: Vec;
      try {
        const r = this.engine.eval(s.rule.expr, t);
        if (typeof r === 'number') {
          v = this.scalar.reset();
          v.push(this.labels.empty, r);
        } else v = r;
      } catch (err) {
        errors.push({ rule: s.name, message: (err as Error).message });
        v = this.scalar.reset();
      }
      if (s.state !== null) {
        transitions.push(...s.state.eval(t, v));
        continue;
      }
      const rule = s.rule as Extract<Rule, { record: string }>;
      const m = this.store.get(rule.record)!;
      if (!begun.has(rule.record)) {
        begun.add(rule.record);
        m.begin(t);
      }
      const extra = rule.labels;
      if (extra === undefined) m.putAll(v);
      else for (let i = 0; i < v.n; i++) m.put(this.labels.intern({ ...v.ls[i].labels, ...extra }), v.v[i]);
      this.engine.recorded(rule.record);
    }
    this.rounds++;
    this.lastRoundAt = t;
    // the first round sweeps too (little to do then): the sweep's path then has type
    // feedback when round() is optimized, so the first real sweep does not deoptimize it
    if (this.lastSweep === null || t - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = t;
      this.sweep(t);
    }
    return { transitions, errors };
  }

  /** Active alerts (pending and firing), firing first. */
  alerts(): Alert[] {
    const out: Alert[] = [];
    for (const s of this.steps) {
      if (s.state === null) continue;
      for (const a of s.state.active.values()) if (a.state !== 'inactive') out.push(a);
    }
    return out.sort((a, b) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1));
  }

  /** Every alert held, resolved ones (kept 15 minutes, still notified) included. */
  *held(): Generator<Alert> {
    for (const s of this.steps) if (s.state !== null) yield* s.state.active.values();
  }

  /** The recorded value of `metric` for a label set, if any (for event details). */
  valueOf(metric: string, ls: LabelSet): number | undefined {
    const m = this.store.get(metric);
    if (m === undefined) return undefined;
    return m.cur.valueOf(ls);
  }

  private sweep(t: number): void {
    this.store.prune(t);
    this.labels.sweep((keep) => {
      this.store.eachLabelSet(keep);
      for (const a of this.held()) {
        keep(a.labels);
        keep(a.exprLabels);
      }
      for (const h of this.holders) for (const ls of h()) keep(ls);
    });
  }
}
