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
import type { AggFn, BinOp, Expr, Selector } from './expr.js';
import { isComparison, isSetOp } from './expr.js';
import type { LabelSet, Labels } from './labels.js';
import { LOOKBACK_MS, type MetricStore, type Ring, type SeriesStore } from './store.js';

export interface Vec {
  readonly ls: LabelSet[];
  readonly v: number[];
}
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

/** Prometheus 2.x extrapolatedRate for one series over [start, end] (ms), samples a..b. */
function extrapolatedRate(
  r: Ring,
  a: number,
  b: number,
  start: number,
  end: number,
  rangeSec: number,
): number {
  const firstT = r.time(a);
  const lastT = r.time(b);
  const firstV = r.value(a);
  let result = r.value(b) - firstV + (r.correction(b) - r.correction(a));
  let toStart = (firstT - start) / 1000;
  const toEnd = (end - lastT) / 1000;
  const sampled = (lastT - firstT) / 1000;
  const avg = sampled / (b - a);
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

export class Engine {
  private epoch = 0;

  constructor(
    readonly labels: Labels,
    readonly store: SeriesStore,
  ) {}

  /** Evaluates `e` at t (ms since the epoch). */
  eval(e: Expr, t: number): Val {
    switch (e.kind) {
      case 'num':
        return e.value;
      case 'time':
        return t / 1000;
      case 'vector':
        return { ls: [this.labels.empty], v: [e.value] };
      case 'sel':
        return this.instant(e.sel, t);
      case 'range':
        return this.range(e.fn, e.sel, e.seconds, t);
      case 'agg':
        return this.aggregate(e.fn, e.by, this.vector(e.arg, t));
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
    if (t - m.curT > LOOKBACK_MS || m.curT > t) return { ls: [], v: [] };
    if (s.match === undefined) return { ls: m.curLs, v: m.curV };
    const out: Vec = { ls: [], v: [] };
    for (let i = 0; i < m.curLs.length; i++) {
      if (this.matches(m.curLs[i], s)) {
        out.ls.push(m.curLs[i]);
        out.v.push(m.curV[i]);
      }
    }
    return out;
  }

  private range(fn: string, s: Selector, seconds: number, t: number): Vec {
    const m = this.metric(s);
    const ms = seconds * 1000;
    const start = t - ms;
    const out: Vec = { ls: [], v: [] };
    if (ms > m.fineMs) return this.coarseRange(fn, m, s, start);
    for (const series of m.series.values()) {
      const r = series.fine;
      if (r === null || r.len === 0 || series.lastT < start) continue;
      if (!this.matches(series.ls, s)) continue;
      const a = r.lowerBound(start);
      const b = r.upperBound(t) - 1;
      const n = b - a + 1;
      if (n < 1) continue;
      let v: number;
      switch (fn) {
        case 'rate':
          if (n < 2) continue;
          v = extrapolatedRate(r, a, b, start, t, seconds);
          break;
        case 'resets':
          v = r.resetCount(b) - r.resetCount(a);
          break;
        case 'sum_over_time':
          v = r.cumulative(b) - r.cumulative(a) + r.value(a);
          break;
        case 'count_over_time':
          v = n;
          break;
        default:
          throw new RuleEvalError(`unknown range function ${fn}`);
      }
      out.ls.push(series.ls);
      out.v.push(v);
    }
    return out;
  }

  /** Ranges beyond the fine ring: sum_over_time only (store.ts). */
  private coarseRange(fn: string, m: MetricStore, s: Selector, start: number): Vec {
    if (fn !== 'sum_over_time')
      throw new RuleEvalError(`${fn} over more than ${m.fineMs / 1000} s is not supported`);
    const out: Vec = { ls: [], v: [] };
    for (const series of m.series.values()) {
      if (series.lastT < start || !this.matches(series.ls, s)) continue;
      const v = m.coarseSum(series, start);
      if (v === null) continue;
      out.ls.push(series.ls);
      out.v.push(v);
    }
    return out;
  }

  private aggregate(fn: AggFn, by: readonly string[], x: Vec): Vec {
    const e = ++this.epoch;
    const g = sig(by);
    const out: Vec = { ls: [], v: [] };
    for (let i = 0; i < x.ls.length; i++) {
      const k = x.ls[i].project(by, g);
      const v = x.v[i];
      if (k.mark !== e) {
        k.mark = e;
        k.slot = out.ls.length;
        out.ls.push(k);
        out.v.push(fn === 'count' ? 1 : v);
        continue;
      }
      const j = k.slot;
      const cur = out.v[j];
      if (fn === 'sum') out.v[j] = cur + v;
      else if (fn === 'count') out.v[j] = cur + 1;
      else if (fn === 'max') {
        if (cur < v || Number.isNaN(cur)) out.v[j] = v;
      } else if (cur > v || Number.isNaN(cur)) out.v[j] = v;
    }
    return out;
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
    const out: Vec = { ls: [], v: [] };
    for (let i = 0; i < x.ls.length; i++) {
      const a = swap ? s : x.v[i];
      const b = swap ? x.v[i] : s;
      if (isComparison(e.op)) {
        const keep = compare(e.op, a, b);
        if (e.bool) {
          out.ls.push(x.ls[i]);
          out.v.push(keep ? 1 : 0);
        } else if (keep) {
          out.ls.push(x.ls[i]);
          out.v.push(x.v[i]); // the vector's value, whichever side it is on
        }
      } else {
        out.ls.push(x.ls[i]);
        out.v.push(arith(e.op, a, b));
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
    const e = ++this.epoch;
    for (let i = 0; i < r.ls.length; i++) {
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
    const epoch = this.markRight(r, e.on);
    const out: Vec = { ls: [], v: [] };
    // with on(…), results carry only the on labels: two left series alike are an error
    const seen = e.on ? new Set<LabelSet>() : null;
    for (let i = 0; i < l.ls.length; i++) {
      const k = this.key(l.ls[i], e.on);
      if (k.mark !== epoch) continue;
      const a = l.v[i];
      const b = r.v[k.slot];
      let v: number;
      if (isComparison(e.op)) {
        const keep = compare(e.op, a, b);
        if (!keep && !e.bool) continue;
        v = e.bool ? (keep ? 1 : 0) : a;
      } else {
        v = arith(e.op, a, b);
      }
      const ls = e.on ? k : l.ls[i];
      if (seen) {
        if (seen.has(ls))
          throw new RuleEvalError(
            `multiple matches for labels ${ls.key}: many-to-one matching must be explicit`,
          );
        seen.add(ls);
      }
      out.ls.push(ls);
      out.v.push(v);
    }
    return out;
  }

  private setOp(op: BinOp, l: Vec, r: Vec, on: readonly string[] | undefined): Vec {
    const out: Vec = { ls: [], v: [] };
    if (op === 'or') {
      const e = ++this.epoch;
      for (let i = 0; i < l.ls.length; i++) {
        this.key(l.ls[i], on).mark = e;
        out.ls.push(l.ls[i]);
        out.v.push(l.v[i]);
      }
      for (let i = 0; i < r.ls.length; i++) {
        if (this.key(r.ls[i], on).mark === e) continue;
        out.ls.push(r.ls[i]);
        out.v.push(r.v[i]);
      }
      return out;
    }
    const e = ++this.epoch;
    for (let i = 0; i < r.ls.length; i++) this.key(r.ls[i], on).mark = e;
    const want = op === 'and';
    for (let i = 0; i < l.ls.length; i++) {
      if ((this.key(l.ls[i], on).mark === e) === want) {
        out.ls.push(l.ls[i]);
        out.v.push(l.v[i]);
      }
    }
    return out;
  }
}
