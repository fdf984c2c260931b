/**
 * A small PromQL parser: enough of the language (selectors, ranges, subqueries, offset and
 * @, calls, aggregations with by/without before or after, binary operators with their
 * precedence, bool and vector matching) to walk an expression the way grafana/dashboard-linter
 * walks Prometheus' own AST. Grafana variables stand where Prometheus takes a duration or a
 * number (`[$__rate_interval]`, `> $threshold`); inside label values they are just text.
 * The real check that an expression is valid is the Prometheus test that runs it.
 */

export type Node =
  | { type: 'number'; value: string }
  | { type: 'string'; value: string }
  | { type: 'vector'; name: string; matchers: Matcher[] }
  | { type: 'matrix'; expr: Node; range: string }
  | { type: 'subquery'; expr: Node; range: string; step: string }
  | { type: 'offset'; expr: Node; by: string }
  | { type: 'call'; func: string; args: Node[] }
  | { type: 'aggregate'; op: string; grouping: string[]; without: boolean; args: Node[] }
  | { type: 'binary'; op: string; lhs: Node; rhs: Node; bool: boolean }
  | { type: 'unary'; op: string; expr: Node }
  | { type: 'paren'; expr: Node };

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export class PromQLSyntaxError extends Error {
  constructor(message: string, expr: string, pos: number) {
    super(`${message} at ${pos} in ${JSON.stringify(expr)}`);
    this.name = 'PromQLSyntaxError';
  }
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/** Binary operators by precedence, lowest first; `^` is right-associative. */
const LEVELS: readonly (readonly string[])[] = [
  ['or'],
  ['and', 'unless'],
  ['==', '!=', '<=', '<', '>=', '>'],
  ['+', '-'],
  ['*', '/', '%', 'atan2'],
  ['^'],
];
const COMPARISONS = new Set(LEVELS[2]);

type Tok = { kind: 'id' | 'num' | 'str' | 'dur' | 'var' | 'op'; text: string; pos: number };

const OPS = [
  '==',
  '!=',
  '<=',
  '>=',
  '=~',
  '!~',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '<',
  '>',
  '=',
  ',',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ':',
  '@',
];

/** Token patterns, tried in order: a duration before a number, so `5m` is one token. */
const LEXEMES: readonly (readonly [Tok['kind'], RegExp])[] = [
  ['var', /^\$(\{[^}]+\}|\w+)/],
  ['dur', /^(\d+(ms|[smhdwy]))+(?![\w.])/],
  ['num', /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/],
  // a metric name may start with ':' in Prometheus, but no podwire name does, and ':' opens a subquery step
  ['id', /^[a-zA-Z_][a-zA-Z0-9_:]*/],
];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const rest = src.slice(i);
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' && c !== '`' ? 2 : 1;
      if (j >= src.length) throw new PromQLSyntaxError('unterminated string', src, i);
      out.push({ kind: 'str', text: src.slice(i + 1, j), pos: i });
      i = j + 1;
      continue;
    }
    const lexeme = LEXEMES.map(([kind, re]) => [kind, re.exec(rest)?.[0]] as const).find(([, t]) => t);
    if (lexeme !== undefined) {
      out.push({ kind: lexeme[0], text: lexeme[1]!, pos: i });
      i += lexeme[1]!.length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op === undefined) throw new PromQLSyntaxError(`unexpected ${JSON.stringify(c)}`, src, i);
    out.push({ kind: 'op', text: op, pos: i });
    i += op.length;
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Tok[],
  ) {}

  private peek(k = 0): Tok | undefined {
    return this.toks[this.i + k];
  }
  private fail(msg: string): never {
    throw new PromQLSyntaxError(msg, this.src, this.peek()?.pos ?? this.src.length);
  }
  private isOp(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind === 'op' && t.text === text;
  }
  private isWord(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind === 'id' && t.text.toLowerCase() === text;
  }
  private expectOp(text: string): void {
    if (!this.isOp(text)) this.fail(`expected '${text}'`);
    this.i++;
  }

  parse(): Node {
    const n = this.expr(0);
    if (this.peek() !== undefined) this.fail('unexpected token');
    return n;
  }

  private binaryOpAt(level: number): string | null {
    const t = this.peek();
    if (t === undefined) return null;
    const text = t.kind === 'id' ? t.text.toLowerCase() : t.kind === 'op' ? t.text : null;
    return text !== null && LEVELS[level]!.includes(text) ? text : null;
  }

  private expr(level: number): Node {
    if (level === LEVELS.length) return this.unary();
    let lhs = this.expr(level + 1);
    for (;;) {
      const op = this.binaryOpAt(level);
      if (op === null) return lhs;
      this.i++;
      let bool = false;
      if (COMPARISONS.has(op) && this.isWord('bool')) {
        bool = true;
        this.i++;
      }
      this.vectorMatching();
      // `^` binds right to left
      const rhs = op === '^' ? this.expr(level) : this.expr(level + 1);
      lhs = { type: 'binary', op, lhs, rhs, bool };
      if (op === '^') return lhs;
    }
  }

  /** on/ignoring (labels) [group_left/group_right [(labels)]] */
  private vectorMatching(): void {
    if (this.isWord('on') || this.isWord('ignoring')) {
      this.i++;
      this.labelList();
    }
    if (this.isWord('group_left') || this.isWord('group_right')) {
      this.i++;
      if (this.isOp('(')) this.labelList();
    }
  }

  private labelList(): string[] {
    this.expectOp('(');
    const labels: string[] = [];
    while (!this.isOp(')')) {
      const t = this.peek();
      if (t === undefined || (t.kind !== 'id' && t.kind !== 'str')) this.fail('expected a label name');
      labels.push(t.text);
      this.i++;
      if (this.isOp(',')) this.i++;
      else if (!this.isOp(')')) this.fail("expected ',' or ')'");
    }
    this.i++;
    return labels;
  }

  private unary(): Node {
    if (this.isOp('-') || this.isOp('+')) {
      const op = this.peek()!.text;
      this.i++;
      return { type: 'unary', op, expr: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private duration(): string {
    const t = this.peek();
    if (t === undefined || (t.kind !== 'dur' && t.kind !== 'var' && t.kind !== 'num'))
      this.fail('expected a duration');
    this.i++;
    return t.text;
  }

  private postfix(n: Node): Node {
    for (;;) {
      if (this.isOp('[')) {
        this.i++;
        const range = this.duration();
        if (this.isOp(':')) {
          this.i++;
          const step = this.isOp(']') ? '' : this.duration();
          this.expectOp(']');
          n = { type: 'subquery', expr: n, range, step };
        } else {
          this.expectOp(']');
          if (n.type !== 'vector') this.fail('a range needs an instant vector selector');
          n = { type: 'matrix', expr: n, range };
        }
      } else if (this.isWord('offset')) {
        this.i++;
        const neg = this.isOp('-');
        if (neg) this.i++;
        n = { type: 'offset', expr: n, by: (neg ? '-' : '') + this.duration() };
      } else if (this.isOp('@')) {
        this.i++;
        const t = this.peek();
        if (t === undefined) this.fail('expected a time after @');
        this.i++;
        if (t.kind === 'id' && this.isOp('(')) {
          this.expectOp('(');
          this.expectOp(')');
        }
      } else {
        return n;
      }
    }
  }

  private primary(): Node {
    const t = this.peek();
    if (t === undefined) this.fail('unexpected end');
    if (t.kind === 'num' || t.kind === 'var') {
      this.i++;
      return { type: 'number', value: t.text };
    }
    if (t.kind === 'str') {
      this.i++;
      return { type: 'string', value: t.text };
    }
    if (t.kind === 'op' && t.text === '(') {
      this.i++;
      const e = this.expr(0);
      this.expectOp(')');
      return { type: 'paren', expr: e };
    }
    if (t.kind === 'op' && t.text === '{') return this.selector('');
    if (t.kind !== 'id') this.fail('unexpected token');
    const word = t.text;
    if (/^(inf|nan)$/i.test(word)) {
      this.i++;
      return { type: 'number', value: word };
    }
    if (
      AGGREGATIONS.has(word.toLowerCase()) &&
      (this.isOp('(', 1) || this.isWord('by', 1) || this.isWord('without', 1))
    ) {
      return this.aggregate();
    }
    if (this.isOp('(', 1)) {
      this.i += 2;
      const args = this.args();
      return { type: 'call', func: word, args };
    }
    this.i++;
    return this.selector(word);
  }

  private args(): Node[] {
    const args: Node[] = [];
    while (!this.isOp(')')) {
      args.push(this.expr(0));
      if (this.isOp(',')) this.i++;
      else if (!this.isOp(')')) this.fail("expected ',' or ')'");
    }
    this.i++;
    return args;
  }

  private aggregate(): Node {
    const op = this.peek()!.text.toLowerCase();
    this.i++;
    let grouping: string[] = [];
    let without = false;
    const clause = () => {
      if (this.isWord('by') || this.isWord('without')) {
        without = this.isWord('without');
        this.i++;
        grouping = this.labelList();
      }
    };
    clause();
    this.expectOp('(');
    const args = this.args();
    clause();
    return { type: 'aggregate', op, grouping, without, args };
  }

  private selector(name: string): Node {
    const matchers: Matcher[] = [];
    if (this.isOp('{')) {
      this.i++;
      while (!this.isOp('}')) {
        const l = this.peek();
        if (l === undefined || (l.kind !== 'id' && l.kind !== 'str')) this.fail('expected a label name');
        this.i++;
        const op = this.peek();
        if (op === undefined || op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) {
          this.fail('expected a label matcher operator');
        }
        this.i++;
        const v = this.peek();
        if (v === undefined || v.kind !== 'str') this.fail('expected a quoted label value');
        this.i++;
        matchers.push({ label: l.text, op: op.text as Matcher['op'], value: v.text });
        if (this.isOp(',')) this.i++;
        else if (!this.isOp('}')) this.fail("expected ',' or '}'");
      }
      this.i++;
    }
    if (name === '' && matchers.length === 0) this.fail('a selector needs a name or a matcher');
    return { type: 'vector', name, matchers };
  }
}

export function parsePromQL(expr: string): Node {
  return new Parser(expr, tokenize(expr)).parse();
}

/** The children of a node, in order. */
export function children(n: Node): Node[] {
  switch (n.type) {
    case 'matrix':
    case 'subquery':
    case 'offset':
    case 'unary':
    case 'paren':
      return [n.expr];
    case 'call':
    case 'aggregate':
      return n.args;
    case 'binary':
      return [n.lhs, n.rhs];
    default:
      return [];
  }
}

/** Calls `visit` on every node with its ancestors (outermost first). */
export function walk(
  n: Node,
  visit: (node: Node, parents: readonly Node[]) => void,
  parents: Node[] = [],
): void {
  visit(n, parents);
  parents.push(n);
  for (const c of children(n)) walk(c, visit, parents);
  parents.pop();
}

/** The metric name of a selector: its name, or a `__name__="…"` matcher. */
export function metricName(n: Node & { type: 'vector' }): string {
  return n.name || (n.matchers.find((m) => m.label === '__name__' && m.op === '=')?.value ?? '');
}
