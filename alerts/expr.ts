/**
 * The rule expressions, as a small typed tree: the one definition that both the PromQL
 * written into the rule files (`promql()`) and the in-process evaluator (engine.ts) read.
 * Only what the rules need is here — instant and range selectors, rate/resets/over_time,
 * aggregation by labels, arithmetic, comparisons (filter or `bool`), `and`/`or`/`unless`
 * with optional `on(...)`, `time()` and `vector(c)` — each with PromQL's semantics.
 */

export type Matchers = Readonly<Record<string, string>>;

export interface Selector {
  readonly metric: string;
  /** equality matchers */
  readonly match?: Matchers;
}

export type RangeFn = 'rate' | 'resets' | 'sum_over_time' | 'count_over_time';
export type AggFn = 'sum' | 'max' | 'min' | 'count';
export type ArithOp = '+' | '-' | '*' | '/';
export type CmpOp = '<' | '>' | '<=' | '>=' | '==' | '!=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinOp = ArithOp | CmpOp | SetOp;

export type Expr =
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'time' }
  | { readonly kind: 'vector'; readonly value: number }
  | { readonly kind: 'sel'; readonly sel: Selector }
  | { readonly kind: 'range'; readonly fn: RangeFn; readonly sel: Selector; readonly seconds: number }
  | { readonly kind: 'agg'; readonly fn: AggFn; readonly by: readonly string[]; readonly arg: Expr }
  | {
      readonly kind: 'bin';
      readonly op: BinOp;
      readonly lhs: Expr;
      readonly rhs: Expr;
      /** comparisons: 0/1 instead of filtering */
      readonly bool?: boolean;
      /** match on these labels only (one-to-one) */
      readonly on?: readonly string[];
    };

// ── builders ───────────────────────────────────────────────────────────────────────────

type Operand = Expr | number;
const ex = (e: Operand): Expr => (typeof e === 'number' ? { kind: 'num', value: e } : e);

export const num = (value: number): Expr => ({ kind: 'num', value });
export const time = (): Expr => ({ kind: 'time' });
export const vector = (value: number): Expr => ({ kind: 'vector', value });
export const sel = (metric: string, match?: Matchers): Expr => ({
  kind: 'sel',
  sel: match ? { metric, match } : { metric },
});
const range =
  (fn: RangeFn) =>
  (metric: string, seconds: number, match?: Matchers): Expr => ({
    kind: 'range',
    fn,
    sel: match ? { metric, match } : { metric },
    seconds,
  });
export const rate = range('rate');
export const resets = range('resets');
export const sumOverTime = range('sum_over_time');
export const countOverTime = range('count_over_time');
const agg =
  (fn: AggFn) =>
  (by: readonly string[], arg: Expr): Expr => ({ kind: 'agg', fn, by, arg });
export const sumBy = agg('sum');
export const maxBy = agg('max');
export const minBy = agg('min');
export const countBy = agg('count');

export interface BinOpts {
  bool?: boolean;
  on?: readonly string[];
}
export const bin = (op: BinOp, lhs: Operand, rhs: Operand, o: BinOpts = {}): Expr => ({
  kind: 'bin',
  op,
  lhs: ex(lhs),
  rhs: ex(rhs),
  ...(o.bool ? { bool: true } : {}),
  ...(o.on ? { on: o.on } : {}),
});
export const add = (a: Operand, b: Operand, o?: BinOpts) => bin('+', a, b, o);
export const sub = (a: Operand, b: Operand, o?: BinOpts) => bin('-', a, b, o);
export const mul = (a: Operand, b: Operand, o?: BinOpts) => bin('*', a, b, o);
export const div = (a: Operand, b: Operand, o?: BinOpts) => bin('/', a, b, o);
export const lt = (a: Operand, b: Operand, o?: BinOpts) => bin('<', a, b, o);
export const gt = (a: Operand, b: Operand, o?: BinOpts) => bin('>', a, b, o);
export const ge = (a: Operand, b: Operand, o?: BinOpts) => bin('>=', a, b, o);
export const eq = (a: Operand, b: Operand, o?: BinOpts) => bin('==', a, b, o);
export const and = (a: Expr, b: Expr, o?: BinOpts) => bin('and', a, b, o);
export const or = (a: Expr, b: Expr, o?: BinOpts) => bin('or', a, b, o);
export const unless = (a: Expr, b: Expr, o?: BinOpts) => bin('unless', a, b, o);

// ── PromQL ─────────────────────────────────────────────────────────────────────────────

/** PromQL's binary operator precedence (higher binds tighter). */
const PRECEDENCE: Record<BinOp, number> = {
  '*': 5,
  '/': 5,
  '+': 4,
  '-': 4,
  '==': 3,
  '!=': 3,
  '<': 3,
  '>': 3,
  '<=': 3,
  '>=': 3,
  and: 2,
  unless: 2,
  or: 1,
};

export const isComparison = (op: BinOp): op is CmpOp =>
  op === '<' || op === '>' || op === '<=' || op === '>=' || op === '==' || op === '!=';
export const isSetOp = (op: BinOp): op is SetOp => op === 'and' || op === 'or' || op === 'unless';

/** A duration as PromQL writes it: 90 → 1m30s, 3600 → 1h, 86400 → 1d. */
export function duration(seconds: number): string {
  if (!(Number.isInteger(seconds) && seconds > 0))
    throw new RangeError(`duration ${seconds}: whole seconds > 0`);
  let s = seconds;
  let out = '';
  for (const [unit, n] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= n) {
      out += `${Math.floor(s / n)}${unit}`;
      s %= n;
    }
  }
  return out;
}

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}

function selector(s: Selector): string {
  const m = s.match ? Object.entries(s.match) : [];
  if (m.length === 0) return s.metric;
  return `${s.metric}{${m.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

/** The expression as PromQL, with parentheses only where precedence needs them. */
export function promql(e: Expr): string {
  switch (e.kind) {
    case 'num':
      return number(e.value);
    case 'time':
      return 'time()';
    case 'vector':
      return `vector(${number(e.value)})`;
    case 'sel':
      return selector(e.sel);
    case 'range':
      return `${e.fn}(${selector(e.sel)}[${duration(e.seconds)}])`;
    case 'agg':
      return `${e.fn} by (${e.by.join(', ')}) (${promql(e.arg)})`;
    case 'bin': {
      const p = PRECEDENCE[e.op];
      const side = (x: Expr, right: boolean) => {
        const s = promql(x);
        if (x.kind !== 'bin') return s;
        const q = PRECEDENCE[x.op];
        return q < p || (right && q === p) ? `(${s})` : s;
      };
      const mods = `${e.bool ? ' bool' : ''}${e.on ? ` on (${e.on.join(', ')})` : ''}`;
      return `${side(e.lhs, false)} ${e.op}${mods} ${side(e.rhs, true)}`;
    }
  }
}

/** Every metric an expression reads, with each range it reads it over (0: instant). */
export function reads(e: Expr, out = new Map<string, number[]>()): Map<string, number[]> {
  const add = (metric: string, seconds: number) => {
    const r = out.get(metric);
    if (r === undefined) out.set(metric, [seconds]);
    else if (!r.includes(seconds)) r.push(seconds);
  };
  switch (e.kind) {
    case 'sel':
      add(e.sel.metric, 0);
      break;
    case 'range':
      add(e.sel.metric, e.seconds);
      break;
    case 'agg':
      reads(e.arg, out);
      break;
    case 'bin':
      reads(e.lhs, out);
      reads(e.rhs, out);
      break;
    default:
      break;
  }
  return out;
}
