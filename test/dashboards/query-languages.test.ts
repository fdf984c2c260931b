/**
 * What the dashboards' tests rely on to stand in for Grafana: the PromQL parser the lint
 * walks, Grafana's variable interpolation and interval arithmetic, and the ClickHouse
 * plugin's macro expansion (pkg/macros/macros.go: `$__timeFilter(col)` →
 * `col >= toDateTime(FROM) AND col <= toDateTime(TO)` in whole seconds, and so on); and the
 * SLA rules' recordings and alerts as the dashboards look them up.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Grafana's ${variable} syntax
import { describe, expect, it } from 'vitest';
import { alertSettingsSchema, DEFAULT_TIERS, defaultModel } from '../../alerts/model.js';
import { ALERTS, VF_KEY } from '../../alerts/rules.js';
import { expandMacros, MACRO_NAMES } from '../../dashboards/clickhouse-macros.js';
import {
  interpolate,
  panelIntervalMs,
  percentEncode,
  promIntervalValues,
  rateIntervalMs,
  roundInterval,
  variableRefs,
} from '../../dashboards/grafana-vars.js';
import { RuleMetrics } from '../../dashboards/metrics.js';
import { type Node, PromQLSyntaxError, parsePromQL, walk } from '../../dashboards/promql.js';

/** A compact rendering of the tree, to compare shapes. */
function show(n: Node): string {
  switch (n.type) {
    case 'number':
    case 'string':
      return n.value;
    case 'vector':
      return (
        n.name +
        (n.matchers.length ? `{${n.matchers.map((m) => `${m.label}${m.op}${m.value}`).join(',')}}` : '')
      );
    case 'matrix':
      return `${show(n.expr)}[${n.range}]`;
    case 'subquery':
      return `${show(n.expr)}[${n.range}:${n.step}]`;
    case 'offset':
      return `(${show(n.expr)} offset ${n.by})`;
    case 'call':
      return `${n.func}(${n.args.map(show).join(', ')})`;
    case 'aggregate':
      return `${n.op}${n.grouping.length ? `${n.without ? '-' : '+'}(${n.grouping.join(',')})` : ''}(${n.args.map(show).join(', ')})`;
    case 'binary':
      return `(${show(n.lhs)} ${n.op}${n.bool ? ' bool' : ''} ${show(n.rhs)})`;
    case 'unary':
      return `(${n.op}${show(n.expr)})`;
    case 'paren':
      return show(n.expr);
  }
}

describe('PromQL parser', () => {
  it.each([
    ['a + b * c', '(a + (b * c))'],
    ['a - b - c', '((a - b) - c)'],
    ['a ^ b ^ c', '(a ^ (b ^ c))'],
    ['a or b and c unless d', '(a or ((b and c) unless d))'],
    ['a > bool 0.95 * b', '(a > bool (0.95 * b))'],
    ['-a * 2', '((-a) * 2)'],
    [
      'sum by (node) (rate(x_total{a="1",b!~"2"}[$__rate_interval])) * 8',
      '(sum+(node)(rate(x_total{a=1,b!~2}[$__rate_interval])) * 8)',
    ],
    ['sum(rate(x[5m])) without (pod)', 'sum-(pod)(rate(x[5m]))'],
    ['topk(10, sum by (a, b) (y))', 'topk(10, sum+(a,b)(y))'],
    ['a / on (tier) group_left (x) b', '(a / b)'],
    ['max_over_time(rate(x[1m])[1h:30s])', 'max_over_time(rate(x[1m])[1h:30s])'],
    ['rate(x[1m] offset 5m)', 'rate((x[1m] offset 5m))'],
    [
      'histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))',
      'histogram_quantile(0.99, sum+(le)(rate(h_bucket[$__rate_interval])))',
    ],
    ['{__name__="up", job="p"}', '{__name__=up,job=p}'],
    ['podwire:vf_transmit_bytes:rate1m > $threshold', '(podwire:vf_transmit_bytes:rate1m > $threshold)'],
    ['label_replace(a, "d", "t", "", "")', 'label_replace(a, d, t, , )'],
    ['count(ALERTS{alertstate="firing"}) or vector(0)', '(count(ALERTS{alertstate=firing}) or vector(0))'],
  ])('%s', (expr, tree) => {
    expect(show(parsePromQL(expr))).toBe(tree);
  });

  it.each(['sum(rate(x[5m])', 'x{a=}', 'rate(x[])', 'a +', 'sum by (a (x)', '"unterminated', 'x{a="1"'])(
    'refuses %s',
    (expr) => {
      expect(() => parsePromQL(expr)).toThrow(PromQLSyntaxError);
    },
  );

  it('walks every node with its ancestors', () => {
    const seen: string[] = [];
    walk(parsePromQL('sum(rate(x_total[1m]))'), (n, parents) => {
      if (n.type === 'vector') seen.push(parents.map((p) => p.type).join('>'));
    });
    expect(seen).toEqual(['aggregate>call>matrix']);
  });
});

describe('Grafana variables (as TemplateSrv substitutes them)', () => {
  it('finds every syntax and leaves unknown names as written', () => {
    const text = 'a $x b ${y} c ${z:percentencode} d [[w]] e $unknown';
    expect(variableRefs(text).map((r) => [r.name, r.format])).toEqual([
      ['x', undefined],
      ['y', undefined],
      ['z', 'percentencode'],
      ['w', undefined],
      ['unknown', undefined],
    ]);
    expect(interpolate(text, { x: '1', y: '2', z: "o'k", w: '4' })).toBe('a 1 b 2 c o%27k d 4 e $unknown');
  });

  it('percent-encodes to URL-safe characters only, and back', () => {
    const values = ["x' OR 1=1 --", "\\'", 'a\nb', '(*)!~', 'ünïcode ✓', '%27', '"', '`', '$__fromTime'];
    for (let i = 0; i < 200; i++) {
      values.push(
        String.fromCharCode(...Array.from({ length: 12 }, (_, j) => ((i * 7919 + j * 104729) % 0xd7ff) + 1)),
      );
    }
    for (const v of values) {
      const e = percentEncode(v);
      expect(e).toMatch(/^[A-Za-z0-9\-_.~%]*$/);
      expect(decodeURIComponent(e)).toBe(v);
    }
  });

  it('rounds intervals as Grafana does and derives $__rate_interval from the scrape interval', () => {
    expect(roundInterval(60)).toBe(50);
    expect(roundInterval(14_000)).toBe(15_000);
    expect(roundInterval(80_000)).toBe(60_000);
    // 1 h over 1000 points: 3.6 s rounds to 5 s; the 15 s scrape interval is the floor
    expect(panelIntervalMs({ fromMs: 0, toMs: 3_600_000, maxDataPoints: 1000 })).toBe(5000);
    expect(panelIntervalMs({ fromMs: 0, toMs: 3_600_000, maxDataPoints: 1000, minIntervalMs: 15_000 })).toBe(
      15_000,
    );
    expect(rateIntervalMs(15_000, 15_000)).toBe(60_000);
    expect(rateIntervalMs(120_000, 15_000)).toBe(135_000);
    expect(
      promIntervalValues({ fromMs: 0, toMs: 6 * 3_600_000, maxDataPoints: 1000, scrapeIntervalMs: 15_000 }),
    ).toEqual({
      __interval: '20s',
      __interval_ms: '20000',
      __rate_interval: '1m',
      __rate_interval_ms: '60000',
      __range: '6h',
      __range_s: '21600',
      __range_ms: '21600000',
    });
  });
});

describe('ClickHouse plugin macros', () => {
  // 2026-01-02T03:04:05.678Z to 2026-01-02T04:04:05.999Z, 20 s interval
  const ctx = { fromMs: 1767323045678, toMs: 1767326645999, intervalMs: 20_000 };

  it.each([
    [
      '$__timeFilter(window_start)',
      'window_start >= toDateTime(1767323045) AND window_start <= toDateTime(1767326645)',
    ],
    [
      '$__timeFilter_ms(time)',
      'time >= fromUnixTimestamp64Milli(1767323045678) AND time <= fromUnixTimestamp64Milli(1767326645999)',
    ],
    ['$__timeFrom(t)', 't >= toDateTime(1767323045)'],
    ['$__timeTo(t)', 't <= toDateTime(1767326645)'],
    ['$__fromTime', 'toDateTime(1767323045)'],
    ['$__toTime_ms', 'fromUnixTimestamp64Milli(1767326645999)'],
    ['$__dateFilter(d)', "d >= toDate('2026-01-02') AND d <= toDate('2026-01-02')"],
    [
      '$__dt(d, t)',
      "(d >= toDate('2026-01-02') AND d <= toDate('2026-01-02')) AND (t >= toDateTime(1767323045) AND t <= toDateTime(1767326645))",
    ],
    ['$__timeInterval(window_start)', 'toStartOfInterval(toDateTime(window_start), INTERVAL 20 second)'],
    ['$__timeInterval_ms(time)', 'toStartOfInterval(toDateTime64(time, 3), INTERVAL 20000 millisecond)'],
    ['x / $__interval_s', 'x / 20'],
    ["$__timeGroup(t, '5m')", 'toStartOfInterval(toDateTime(t), INTERVAL 300 second)'],
    [
      '$__timeFilter( cast(t as DateTime) )',
      'cast(t as DateTime) >= toDateTime(1767323045) AND cast(t as DateTime) <= toDateTime(1767326645)',
    ],
    [
      '$__timeInterval($__fromTime)',
      'toStartOfInterval(toDateTime(toDateTime(1767323045)), INTERVAL 20 second)',
    ],
  ])('%s', (sql, expanded) => {
    expect(expandMacros(sql, ctx)).toBe(expanded);
  });

  it('takes at least a second for $__interval_s, and whole seconds', () => {
    expect(expandMacros('$__interval_s', { ...ctx, intervalMs: 200 })).toBe('1');
    expect(expandMacros('$__interval_s', { ...ctx, intervalMs: 2500 })).toBe('2');
  });

  it('leaves comments and quoted text alone', () => {
    const sql =
      "SELECT '$__fromTime' AS a, `$__toTime` -- $__timeFilter(x)\n/* $__interval_s */ FROM t WHERE $__timeFilter(w)";
    expect(expandMacros(sql, ctx)).toBe(
      "SELECT '$__fromTime' AS a, `$__toTime` -- $__timeFilter(x)\n/* $__interval_s */ FROM t WHERE w >= toDateTime(1767323045) AND w <= toDateTime(1767326645)",
    );
  });

  it('refuses a macro it does not know, and a wrong argument count', () => {
    expect(() => expandMacros('SELECT $__interval', ctx)).toThrow(/not a macro/);
    expect(() => expandMacros('WHERE $__timeFilter(a, b)', ctx)).toThrow(/expected 1 argument/);
    expect(() => expandMacros('WHERE $__timeFilter', ctx)).toThrow(/expected 1 argument/);
    expect(MACRO_NAMES.has('timeFilter')).toBe(true);
  });
});

describe('the SLA rules as the dashboards query them (dashboards/metrics.ts)', () => {
  const rules = new RuleMetrics(defaultModel());
  const R = rules.R;
  /** the labels a selector may match: each one tried alone */
  const accepts = (record: string, label: string) => {
    try {
      rules.sel(record, { [label]: 'x' });
      return true;
    } catch {
      return false;
    }
  };
  const LABELS = [...VF_KEY, 'instance', 'job', 'interface', 'vlan'];

  it('knows each recording by the labels its rule leaves: per VF, per node, per tier', () => {
    for (const r of [R.vfTransmitRate, R.vfQosDropRate, R.vfMin, R.vfMax, R.vfBreached, R.vfAtCeiling]) {
      expect(LABELS.filter((l) => accepts(r, l)).sort(), r).toEqual([...VF_KEY].sort());
    }
    for (const r of [R.nodeTransmitRate, R.nodeReceiveRate])
      expect(LABELS.filter((l) => accepts(r, l))).toEqual(['node']);
    // the objective's tier is a label the rule sets, not one an expression leaves
    for (const r of [R.tierBreached, R.tierGuaranteed, R.tierObjective, R.tierBudgetRemaining])
      expect(
        LABELS.filter((l) => accepts(r, l)),
        r,
      ).toEqual(['tier']);
  });

  it('refuses a name the rules do not record, and a label a recording does not have', () => {
    expect(() => rules.sel('podwire:vf_transmit_bytes:rate5m')).toThrow(/the rules record no/);
    expect(() => rules.sel(R.nodeTransmitRate, { pod: 'web' })).toThrow(/has no label pod/);
  });

  it('names its recordings for the model’s rate window', () => {
    const model = { tiers: DEFAULT_TIERS, alerts: alertSettingsSchema.parse({ rateWindowSeconds: 30 }) };
    const r30 = new RuleMetrics(model);
    expect(r30.R.vfTransmitRate).toBe('podwire:vf_transmit_bytes:rate30s');
    expect(r30.sel(r30.R.vfTransmitRate, { pod: 'web' })).toBe(
      'podwire:vf_transmit_bytes:rate30s{pod="web"}',
    );
    expect(() => r30.sel(R.vfTransmitRate)).toThrow(/the rules record no/);
  });

  it('selects ALERTS of the alerts the rules define, with the labels those alerts carry', () => {
    expect(new Set(rules.alertNames)).toEqual(new Set(Object.values(ALERTS)));
    const q = rules.alerts({ alertstate: 'firing', problem: ['!=', ''] });
    expect(parsePromQL(q).type).toBe('vector');
    expect(q).toMatch(/^ALERTS\{alertstate="firing", problem!="", alertname=~"[A-Za-z|]+"\}$/);
    for (const l of ['severity', 'namespace', 'pod', 'tier', 'direction', 'problem', 'agent', 'interface'])
      expect(() => rules.alerts({ [l]: 'x' }), l).not.toThrow();
    expect(() => rules.alerts({ colour: 'red' })).toThrow(/has no label colour/);
  });
});
