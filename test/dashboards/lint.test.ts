/**
 * The dashboard lint: the generated dashboards pass it, and each rule fails on a hand-made
 * bad dashboard (a stand-in for what a person might save from Grafana: there is no Grafana
 * here) that is good in every other respect — so each case proves its rule, not another.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Grafana's ${variable} syntax, in dashboard JSON
import { describe, expect, it } from 'vitest';
import { DEFAULT_DASHBOARDS_OPTIONS } from '../../dashboards/boards/index.js';
import { DEFAULT_UIDS } from '../../dashboards/datasources.js';
import {
  type DashboardJson,
  LINT_RULES,
  type LintRule,
  lintDashboards,
  type PanelJson,
  type ProvisionedDatasourceRef,
} from '../../dashboards/lint.js';
import { provisionedDatasources } from '../../dashboards/provisioning.js';
import { dashboardsJson } from './panel-queries.js';

const PROVISIONED: ProvisionedDatasourceRef[] = [
  { uid: DEFAULT_UIDS.prometheus, type: 'prometheus' },
  { uid: DEFAULT_UIDS.clickhouse, type: 'grafana-clickhouse-datasource' },
];

const promDs = { type: 'prometheus', uid: '${prometheus}' };
const chDs = { type: 'grafana-clickhouse-datasource', uid: '${clickhouse}' };

/** A small dashboard that passes every rule: one Prometheus and one ClickHouse panel. */
function good(): DashboardJson {
  return {
    uid: 'good',
    title: 'Good',
    description: 'Passes the lint.',
    templating: {
      list: [
        {
          name: 'prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: { value: DEFAULT_UIDS.prometheus },
        },
        {
          name: 'clickhouse',
          type: 'datasource',
          query: 'grafana-clickhouse-datasource',
          current: { value: DEFAULT_UIDS.clickhouse },
        },
        {
          name: 'pod',
          type: 'query',
          datasource: promDs,
          query: 'label_values(podwire_vf_info, pod)',
          refresh: 2,
        },
      ],
    },
    panels: [
      {
        id: 1,
        type: 'timeseries',
        title: 'Transmit of $pod',
        description: 'Bits per second.',
        datasource: promDs,
        gridPos: { x: 0, y: 0, w: 12, h: 8 },
        fieldConfig: { defaults: { unit: 'bps' } },
        targets: [
          {
            refId: 'A',
            datasource: promDs,
            expr: 'sum(rate(podwire_vf_transmit_bytes_total{pod="$pod"}[$__rate_interval])) * 8',
          },
          {
            refId: 'B',
            datasource: promDs,
            expr: 'max(podwire_vf_tier_min_bytes_per_second{pod="$pod"}) * 8',
          },
        ],
      },
      {
        id: 2,
        type: 'table',
        title: 'Peers',
        description: 'From the flows.',
        datasource: chDs,
        gridPos: { x: 12, y: 0, w: 12, h: 8 },
        targets: [
          {
            refId: 'A',
            datasource: chDs,
            editorType: 'sql',
            pluginVersion: '4.20.0',
            queryType: 'table',
            format: 1,
            rawSql:
              "SELECT dst_pod, sum(bytes) AS bytes FROM podwire.flows_1m WHERE $__timeFilter(window_start) AND src_pod = decodeURLComponent('${pod:percentencode}') GROUP BY dst_pod",
          },
        ],
      },
    ],
  };
}

type Edit = (d: DashboardJson) => void;
const panel = (d: DashboardJson, i: number) => d.panels![i]!;
const target = (d: DashboardJson, i: number, t = 0) => panel(d, i).targets![t]!;

/** For each rule, edits that break only it. */
const BAD: Record<LintRule, [string, Edit][]> = {
  'template-datasource': [
    [
      'two data source variables for one type',
      (d) =>
        d.templating!.list!.push({
          name: 'prometheus_2',
          type: 'datasource',
          query: 'prometheus',
          current: { value: DEFAULT_UIDS.prometheus },
        }),
    ],
    [
      'a data source variable not named by the convention',
      (d) => {
        d.templating!.list![0]!.name = 'ds';
        panel(d, 0).datasource = { type: 'prometheus', uid: '${ds}' };
        for (const t of panel(d, 0).targets!) t.datasource = { type: 'prometheus', uid: '${ds}' };
        d.templating!.list![2]!.datasource = { type: 'prometheus', uid: '${ds}' };
      },
    ],
  ],
  'panel-datasource': [
    [
      'a panel with a fixed uid',
      (d) => Object.assign(panel(d, 0), { datasource: { type: 'prometheus', uid: DEFAULT_UIDS.prometheus } }),
    ],
    [
      'a query with a fixed uid',
      (d) => Object.assign(target(d, 1), { datasource: { type: chDs.type, uid: 'abc' } }),
    ],
    [
      'a type that is not its variable’s',
      (d) => Object.assign(panel(d, 1), { datasource: { type: 'prometheus', uid: '${clickhouse}' } }),
    ],
  ],
  'datasource-provisioned': [
    [
      'a default uid nothing provisions',
      (d) => Object.assign(d.templating!.list![0]!, { current: { value: 'elsewhere' } }),
    ],
    [
      'a provisioned uid of another type',
      (d) => Object.assign(d.templating!.list![0]!, { current: { value: DEFAULT_UIDS.clickhouse } }),
    ],
  ],
  'promql-syntax': [
    ['unbalanced parentheses', (d) => Object.assign(target(d, 0), { expr: 'sum(rate(x[$__rate_interval])' })],
  ],
  'rate-interval': [
    [
      'rate over a fixed range',
      (d) => Object.assign(target(d, 0), { expr: 'sum(rate(podwire_vf_transmit_bytes_total[5m])) * 8' }),
    ],
    [
      'irate over $__interval',
      (d) => Object.assign(target(d, 0), { expr: 'irate(podwire_vf_transmit_bytes_total[$__interval])' }),
    ],
  ],
  'counter-agg': [
    [
      'a counter shown raw',
      (d) => Object.assign(target(d, 0), { expr: 'sum(podwire_vf_transmit_bytes_total)' }),
    ],
    [
      'a counter under another range function',
      (d) =>
        Object.assign(target(d, 0), {
          expr: 'max_over_time(podwire_vf_transmit_bytes_total[$__rate_interval])',
        }),
    ],
    ['an unknown *_total shown raw', (d) => Object.assign(target(d, 0), { expr: 'other_requests_total' })],
  ],
  'panel-units': [
    ['a graph without a unit', (d) => Object.assign(panel(d, 0), { fieldConfig: { defaults: {} } })],
    [
      'a unit Grafana does not know',
      (d) => Object.assign(panel(d, 0), { fieldConfig: { defaults: { unit: 'bits/s' } } }),
    ],
    [
      'a table column with an unknown unit',
      (d) =>
        Object.assign(panel(d, 1), {
          fieldConfig: {
            overrides: [
              { matcher: { id: 'byName', options: 'bytes' }, properties: [{ id: 'unit', value: 'octets' }] },
            ],
          },
        }),
    ],
  ],
  'title-description': [
    ['a panel without a description', (d) => delete panel(d, 0).description],
    ['a panel without a title', (d) => Object.assign(panel(d, 1), { title: ' ' })],
    ['a dashboard without a description', (d) => delete d.description],
  ],
  'unique-ids': [
    ['two panels with one id', (d) => Object.assign(panel(d, 1), { id: 1 })],
    ['two queries with one refId', (d) => Object.assign(target(d, 0, 1), { refId: 'A' })],
    ['a query without a refId', (d) => delete target(d, 0, 1).refId],
  ],
  grid: [
    ['a panel past column 24', (d) => Object.assign(panel(d, 1), { gridPos: { x: 14, y: 0, w: 12, h: 8 } })],
    ['overlapping panels', (d) => Object.assign(panel(d, 1), { gridPos: { x: 6, y: 4, w: 12, h: 8 } })],
    ['a panel without a position', (d) => delete panel(d, 1).gridPos],
  ],
  'variables-defined': [
    [
      'an undefined variable in PromQL',
      (d) => Object.assign(target(d, 0), { expr: 'max(podwire_vf_tier_min_bytes_per_second{pod="$podd"})' }),
    ],
    [
      'an undefined variable in a title',
      (d) => Object.assign(panel(d, 1), { title: 'Peers of ${namespace}' }),
    ],
    [
      'a macro the ClickHouse plugin does not have',
      (d) => Object.assign(target(d, 1), { rawSql: `${target(d, 1).rawSql} LIMIT $__limit` }),
    ],
  ],
  'variable-refresh': [
    [
      'a query variable refreshed only on load',
      (d) => Object.assign(d.templating!.list![2]!, { refresh: 1 }),
    ],
  ],
  'sql-variables-encoded': [
    [
      'a variable quoted into SQL as it is',
      (d) =>
        Object.assign(target(d, 1), {
          rawSql: target(d, 1).rawSql!.replace("decodeURLComponent('${pod:percentencode}')", "'$pod'"),
        }),
    ],
    [
      'a variable offering All without a custom all value (Grafana would send every option)',
      (d) => Object.assign(d.templating!.list![2]!, { includeAll: true }),
    ],
    [
      'percent-encoded but not decoded',
      (d) =>
        Object.assign(target(d, 1), {
          rawSql: target(d, 1).rawSql!.replace(
            "decodeURLComponent('${pod:percentencode}')",
            "'${pod:percentencode}'",
          ),
        }),
    ],
  ],
  'sql-traffic-time': [
    [
      'SQL without a time filter',
      (d) =>
        Object.assign(target(d, 1), {
          rawSql: target(d, 1).rawSql!.replace('$__timeFilter(window_start) AND ', ''),
        }),
    ],
    [
      'SQL filtering on arrival',
      (d) =>
        Object.assign(target(d, 1), {
          rawSql: target(d, 1).rawSql!.replace('$__timeFilter(window_start)', '$__timeFilter(received)'),
        }),
    ],
  ],
  'clickhouse-query': [
    ['a v3 query (no pluginVersion: the plugin would migrate it)', (d) => delete target(d, 1).pluginVersion],
    ['a format that is not its query type’s', (d) => Object.assign(target(d, 1), { format: 0 })],
  ],
};

describe('dashboard lint (stand-in dashboards: no Grafana)', () => {
  it('passes the generated dashboards, with their provisioning files', () => {
    const o = DEFAULT_DASHBOARDS_OPTIONS;
    const provisioned = provisionedDatasources({
      uids: o.uids,
      prometheusUrl: 'http://127.0.0.1:9090',
      scrapeIntervalSeconds: 15,
      clickhouse: {
        host: '127.0.0.1',
        port: 8123,
        protocol: 'http',
        secure: false,
        username: 'default',
        database: 'podwire',
      },
      dashboardsPath: '/tmp',
      folder: 'podwire',
    });
    expect(lintDashboards(dashboardsJson(), provisioned)).toEqual([]);
  });

  it('passes the good stand-in', () => {
    expect(lintDashboards([good()], PROVISIONED)).toEqual([]);
  });

  it('has a bad case for every rule', () => {
    expect(Object.keys(BAD).sort()).toEqual([...LINT_RULES].sort());
  });

  const cases = Object.entries(BAD).flatMap(([rule, edits]) =>
    edits.map(([what, edit]) => [rule, what, edit] as const),
  );
  it.each(cases)('%s fails on %s, and only it', (rule, _what, edit) => {
    const d = good();
    edit(d);
    const problems = lintDashboards([d], PROVISIONED);
    expect(problems.length).toBeGreaterThan(0);
    expect(new Set(problems.map((p) => p.rule))).toEqual(new Set([rule]));
  });

  it('unique-ids fails on two dashboards with one uid', () => {
    const problems = lintDashboards([good(), good()], PROVISIONED);
    expect(problems.map((p) => p.rule)).toEqual(['unique-ids']);
  });

  it('finds the panels of collapsed rows too', () => {
    const d = good();
    const inner = panel(d, 0) as PanelJson;
    d.panels = [
      {
        id: 10,
        type: 'row',
        title: 'Row',
        gridPos: { x: 0, y: 0, w: 24, h: 1 },
        collapsed: true,
        panels: [{ ...inner, description: '' }],
      },
    ];
    expect(lintDashboards([d], PROVISIONED).map((p) => p.rule)).toContain('title-description');
  });
});
