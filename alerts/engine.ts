/**
 * Evaluates the rule expressions (expr.ts) over the series store, with PromQL's semantics
 * for what the rules use: rate() with Prometheus 2.x's extrapolation and counter-reset
 * correction over the closed range [t − range, t], resets(), sum/count_over_time(),
 * aggregation by labels, one-to-one vector matching (all labels, or `on (…)`) whose result
 * keeps the left side's labels (only the `on` labels with `on`), comparisons that filter or
 * (`bool`) give 0/1, `and`/`or`/`unless`, and scalars. Errors Prometheus raises (two series
 * on one side matching alike) are thrown, so a rule fails as it would there.
 *
 * Vectors are parallel arrays of interned label sets and values; matching marks the label
 * sets themselves with the operation's epoch, so no hash map is built per operation.
 */
import type { BinOp, Expr, Selector } from './expr.js';
import { isComparison, isSetOp, reads } from './expr.js';
import type { LabelSet, Labels } from './labels.js';
import { LOOKBACK_MS, type MetricStore, type Series, type SeriesStore, type Window } from './store.js';
import { type Vec, VecPool } from './vec.js';

export type Val = number | Vec;

export class RuleEvalError extends Error {}

const sigOf = new WeakMap<readonly string[], string>();
const sig = (names: readonly string[]) => {
  let s = sigOf.get(names);
  if (s === undefined) {
    s = names.join('\u0000');
    sigOf.set(names, s);
  }
  return s;
};

function arith(op: BinOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    default:
      throw new RuleEvalError(`not arithmetic: ${op}`);
  }
}

function compare(op: BinOp, a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default:
      throw new RuleEvalError(`not a comparison: ${op}`);
  }
}

/** Prometheus 2.x extrapolatedRate for one series over [start, end] (ms), its samples a..b. */
function extrapolatedRate(
  m: MetricStore,
  s: Series,
  a: number,
  b: number,
  start: number,
  end: number,
  rangeSec: number,
): number {
  const firstT = m.timeOf(a);
  const lastT = m.timeOf(b);
  const firstV = m.value(s, a);
  let result = m.value(s, b) - firstV + (m.correction(s, b) - m.correction(s, a));
  let toStart = (firstT - start) / 1000;
  const toEnd = (end - lastT) / 1000;
  const sampled = (lastT - firstT) / 1000;
  const avg = sampled / (m.sampleCount(s, b) - m.sampleCount(s, a));
  if (result > 0 && firstV >= 0) {
    const toZero = sampled * (firstV / result);
    if (toZero < toStart) toStart = toZero;
  }
  const threshold = avg * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : avg / 2;
  interval += toEnd < threshold ? toEnd : avg / 2;
  result = result * (interval / sampled);
  return result / rangeSec;
}

/** The metrics an expression node reads (cached per node). */
const readsOf = new WeakMap<Expr, ReadonlySet<string>>();
function metricsOf(e: Expr): ReadonlySet<string> {
  let r = readsOf.get(e);
  if (r === undefined) {
    r = new Set(reads(e).keys());
    readsOf.set(e, r);
  }
  return r;
}

/** How an aggregation grouped its last input: its label sets, each one's group, the groups. */
class AggPlan {
  constructor(
    readonly input: readonly LabelSet[],
    readonly groups: readonly LabelSet[],
    readonly slot: Int32Array,
    /** 1 where the input is its group's first (the group's value starts there) */
    readonly first: Uint8Array,
  ) {}

  /** Whether x holds the very same label sets, in the same order. */
  fits(x: Vec): boolean {
    const input = this.input;
    if (x.n !== input.length) return false;
    const ls = x.ls;
    for (let i = 0; i < input.length; i++) if (ls[i] !== input[i]) return false;
    return true;
  }
}

export class Engine {
  /**
   * Results of this instant's evaluations, by expression node: rules share subexpressions
   * (the breach condition is recorded as the SLI and alerted on), and a node evaluates
   * alike until a metric it reads is recorded anew (`recorded`).
   */
  private memo = new Map<Expr, Val>();
  private memoAt = Number.NaN;
  private readonly pool = new VecPool();
  /** the last grouping of each aggregation node (see aggregate) */
  private readonly plans = new Map<Expr, AggPlan>();
  private readonly spanScratch: Window = { first: 0, last: 0 };
  private readonly windowScratch: Window = { first: 0, last: 0 };

  constructor(
    readonly labels: Labels,
    readonly store: SeriesStore,
  ) {}

  /** A recording rule wrote `metric`: results that read it are stale. */
  recorded(metric: string): void {
    for (const e of this.memo.keys()) if (metricsOf(e).has(metric)) this.memo.delete(e);
  }

  /** Evaluates `e` at t (ms since the epoch). */
  eval(e: Expr, t: number): Val {
    if (t !== this.memoAt) {
      // a new instant: the last one's results are done with, their vectors free again
      this.memo.clear();
      this.pool.release();
      this.memoAt = t;
    }
    if (e.kind === 'num' || e.kind === 'time') return this.compute(e, t);
    let v = this.memo.get(e);
    if (v === undefined) {
      v = this.compute(e, t);
      this.memo.set(e, v);
    }
    return v;
  }

  private compute(e: Expr, t: number): Val {
    switch (e.kind) {
      case 'num':
        return e.value;
      case 'time':
        return t / 1000;
      case 'vector': {
        const v = this.pool.take();
        v.push(this.labels.empty, e.value);
        return v;
      }
      case 'sel':
        return this.instant(e.sel, t);
      case 'range':
        return this.range(e.fn, e.sel, e.seconds, t);
      case 'agg':
        return this.aggregate(e, this.vector(e.arg, t));
      case 'bin':
        return this.binary(e, t);
    }
  }

  private vector(e: Expr, t: number): Vec {
    const v = this.eval(e, t);
    if (typeof v === 'number') throw new RuleEvalError('expected a vector, got a scalar');
    return v;
  }

  private metric(s: Selector): MetricStore {
    const m = this.store.get(s.metric);
    if (m === undefined) throw new RuleEvalError(`metric ${s.metric} is not in the store`);
    return m;
  }

  private matches(ls: LabelSet, s: Selector): boolean {
    if (s.match === undefined) return true;
    for (const k in s.match) if ((ls.labels[k] ?? '') !== s.match[k]) return false;
    return true;
  }

  private instant(s: Selector, t: number): Vec {
    const m = this.metric(s);
    if (t - m.curT > LOOKBACK_MS || m.curT > t) return this.pool.take();
    if (s.match === undefined) return m.cur;
    const out = this.pool.take();
    const cur = m.cur;
    for (let i = 0; i < cur.n; i++) if (this.matches(cur.ls[i], s)) out.push(cur.ls[i], cur.v[i]);
    return out;
  }

  private range(fn: string, s: Selector, seconds: number, t: number): Vec {
    const m = this.metric(s);
    const ms = seconds * 1000;
    const start = t - ms;
    if (ms > m.fineMs) return this.coarseRange(fn, m, s, start, t);
    const out = this.pool.take();
    const span = m.span(start, t, this.spanScratch);
    if (span === null) return out;
    const w = this.windowScratch;
    for (const series of m.list) {
      if (m.within(series, span, w) === null) continue;
      if (s.match !== undefined && !this.matches(series.ls, s)) continue;
      const a = w.first;
      const b = w.last;
      let v: number;
      switch (fn) {
        case 'rate':
          if (a === b) continue;
          v = extrapolatedRate(m, series, a, b, start, t, seconds);
          break;
        case 'resets':
          v = m.resetCount(series, b) - m.resetCount(series, a);
          break;
        case 'sum_over_time':
          v = m.cumulative(series, b) - m.cumulative(series, a) + m.value(series, a);
          break;
        case 'count_over_time':
          v = m.sampleCount(series, b) - m.sampleCount(series, a) + 1;
          break;
        default:
          throw new RuleEvalError(`unknown range function ${fn}`);
      }
      out.push(series.ls, v);
    }
    return out;
  }

  /** Ranges beyond the fine ring: sum_over_time only (store.ts). */
  private coarseRange(fn: string, m: MetricStore, s: Selector, start: number, t: number): Vec {
    if (fn !== 'sum_over_time')
      throw new RuleEvalError(`${fn} over more than ${m.fineMs / 1000} s is not supported`);
    const out = this.pool.take();
    const w: Window = { first: 0, last: 0 };
    for (const series of m.list) {
      if (m.lastT(series) < start || !this.matches(series.ls, s)) continue;
      const v = m.coarseSum(series, start, t, w);
      if (v === null) continue;
      out.push(series.ls, v);
    }
    return out;
  }

  /**
   * `fn by (…)` of x. An aggregation sees the same input series in the same order round
   * after round (a feed puts the VFs in a steady order), so the grouping of the last input
   * is kept as a plan per node: when the input's label sets are the very same ones, the
   * groups are array lookups — no projection, no marking of label sets scattered in memory.
   */
  private aggregate(e: Extract<Expr, { kind: 'agg' }>, x: Vec): Vec {
    let plan = this.plans.get(e);
    if (plan === undefined || !plan.fits(x)) {
      plan = this.plan(e.by, x);
      this.plans.set(e, plan);
    }
    const fn = e.fn;
    const out = this.pool.take();
    for (let j = 0; j < plan.groups.length; j++) out.push(plan.groups[j], 0);
    const slot = plan.slot;
    const first = plan.first;
    const v = out.v;
    for (let i = 0; i < x.n; i++) {
      const j = slot[i];
      const y = x.v[i];
      if (first[i] === 1) {
        v[j] = fn === 'count' ? 1 : y;
        continue;
      }
      const cur = v[j];
      if (fn === 'sum') v[j] = cur + y;
      else if (fn === 'count') v[j] = cur + 1;
      else if (fn === 'max') {
        if (cur < y || Number.isNaN(cur)) v[j] = y;
      } else if (cur > y || Number.isNaN(cur)) v[j] = y;
    }
    return out;
  }

  /** Groups x's series by their projection on `by`, in order of first appearance. */
  private plan(by: readonly string[], x: Vec): AggPlan {
    const e = this.labels.nextEpoch();
    const g = sig(by);
    const groups: LabelSet[] = [];
    const slot = new Int32Array(x.n);
    const first = new Uint8Array(x.n);
    for (let i = 0; i < x.n; i++) {
      const k = x.ls[i].project(by, g);
      if (k.mark !== e) {
        k.mark = e;
        k.slot = groups.length;
        groups.push(k);
        first[i] = 1;
      }
      slot[i] = k.slot;
    }
    return new AggPlan(x.ls.slice(0, x.n), groups, slot, first);
  }

  private binary(e: Extract<Expr, { kind: 'bin' }>, t: number): Val {
    const l = this.eval(e.lhs, t);
    const r = this.eval(e.rhs, t);
    const op = e.op;
    if (isSetOp(op)) {
      if (typeof l === 'number' || typeof r === 'number') throw new RuleEvalError(`${op} needs two vectors`);
      return this.setOp(op, l, r, e.on);
    }
    if (typeof l === 'number' && typeof r === 'number') {
      if (isComparison(op)) {
        if (!e.bool) throw new RuleEvalError('comparisons between scalars must use bool');
        return compare(op, l, r) ? 1 : 0;
      }
      return arith(op, l, r);
    }
    if (typeof l === 'number' || typeof r === 'number') return this.scalarOp(e, l, r);
    return this.vectorOp(e, l, r);
  }

  private scalarOp(e: Extract<Expr, { kind: 'bin' }>, l: Val, r: Val): Vec {
    const swap = typeof l === 'number';
    const x = (swap ? r : l) as Vec;
    const s = (swap ? l : r) as number;
    const out = this.pool.take();
    const cmp = isComparison(e.op);
    for (let i = 0; i < x.n; i++) {
      const xv = x.v[i];
      const a = swap ? s : xv;
      const b = swap ? xv : s;
      if (cmp) {
        const keep = compare(e.op, a, b);
        if (e.bool) out.push(x.ls[i], keep ? 1 : 0);
        else if (keep) out.push(x.ls[i], xv); // the vector's value, whichever side it is on
      } else {
        out.push(x.ls[i], arith(e.op, a, b));
      }
    }
    return out;
  }

  /** The matching key of a label set: itself, or its projection on `on`. */
  private key(ls: LabelSet, on: readonly string[] | undefined): LabelSet {
    return on === undefined ? ls : ls.project(on, sig(on));
  }

  /** Marks the right side's keys with a fresh epoch; two alike are Prometheus's error. */
  private markRight(r: Vec, on: readonly string[] | undefined): number {
    const e = this.labels.nextEpoch();
    for (let i = 0; i < r.n; i++) {
      const k = this.key(r.ls[i], on);
      if (k.mark === e) {
        throw new RuleEvalError(`found duplicate series for the match group ${k.key} on the right hand-side`);
      }
      k.mark = e;
      k.slot = i;
    }
    return e;
  }

  private vectorOp(e: Extract<Expr, { kind: 'bin' }>, l: Vec, r: Vec): Vec {
    const out = this.pool.take();
    const cmp = isComparison(e.op);
    const op = e.op;
    const bool = e.bool === true;
    const emit = (ls: LabelSet, a: number, b: number) => {
      if (!cmp) out.push(ls, arith(op, a, b));
      else if (bool) out.push(ls, compare(op, a, b) ? 1 : 0);
      else if (compare(op, a, b)) out.push(ls, a);
    };
    // the common case: both sides are the same series in the same order (per-VF vectors)
    if (e.on === undefined && l.n === r.n) {
      let i = 0;
      while (i < l.n && l.ls[i] === r.ls[i]) i++;
      if (i === l.n) {
        for (let j = 0; j < i; j++) emit(l.ls[j], l.v[j], r.v[j]);
        return out;
      }
    }
    const epoch = this.markRight(r, e.on);
    // with on(…), results carry only the on labels: two left series alike are an error
    const seen = e.on ? new Set<LabelSet>() : null;
    for (let i = 0; i < l.n; i++) {
      const k = this.key(l.ls[i], e.on);
      if (k.mark !== epoch) continue;
      const ls = e.on ? k : l.ls[i];
      if (seen) {
        if (seen.has(ls))
          throw new RuleEvalError(
            `multiple matches for labels ${ls.key}: many-to-one matching must be explicit`,
          );
        seen.add(ls);
      }
      emit(ls, l.v[i], r.v[k.slot]);
    }
    return out;
  }

  private setOp(op: BinOp, l: Vec, r: Vec, on: readonly string[] | undefined): Vec {
    const out = this.pool.take();
    if (op === 'or') {
      const e = this.labels.nextEpoch();
      for (let i = 0; i < l.n; i++) {
        this.key(l.ls[i], on).mark = e;
        out.push(l.ls[i], l.v[i]);
      }
      for (let i = 0; i < r.n; i++) if (this.key(r.ls[i], on).mark !== e) out.push(r.ls[i], r.v[i]);
      return out;
    }
    const e = this.labels.nextEpoch();
    for (let i = 0; i < r.n; i++) this.key(r.ls[i], on).mark = e;
    const want = op === 'and';
    for (let i = 0; i < l.n; i++) if ((this.key(l.ls[i], on).mark === e) === want) out.push(l.ls[i], l.v[i]);
    return out;
  }
}
