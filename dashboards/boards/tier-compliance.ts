/**
 * Tier compliance: every guaranteed pod against its contract — pods in breach (below 95 % of
 * the minimum while the NIC drops their traffic: demand unmet, not a pod that sends little),
 * pods throttled at their ceiling, and per tier the minutes that met the guarantee and the
 * error budget left. The Prometheus panels read the SLA rules' recordings (alerts/rules.ts),
 * so they show what the alerts judge; the ClickHouse ones recompute the SLI from the stored
 * VF counters over any time range, and list the alerts the in-process evaluator stored.
 */
import {
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { forSeconds } from '../../alerts/model.js';
import { sla_events, vf_counters } from '../../ingest/schema.js';
import { dsRef } from '../datasources.js';
import { RuleMetrics, sel } from '../metrics.js';
import { Board, barGaugePanel, prom, sql, statPanel, tablePanel, timeseriesPanel } from '../panels.js';
import { ALL_VALUE, isAll, sqlTable, sqlVar } from '../sql.js';
import type { BoardOptions, ModelOptions } from './options.js';

const M = { pod: ['!=', ''], tier: ['=~', '$tier'] } as const;
const TIER = { tier: ['=~', '$tier'] } as const;

/** PromQL of a pod's delivered rate, its limits and its drops, per VF, from the recording rules. */
export function tierExpr(rules: RuleMetrics) {
  const R = rules.R;
  const qos = rules.sel(R.vfQosDropRate, M);
  const tx = rules.sel(R.vfTransmitDropRate, M);
  return {
    /** bytes per second */
    transmit: rules.sel(R.vfTransmitRate, M),
    /** VFs with a minimum (maximum), bytes per second */
    minimum: `(${rules.sel(R.vfMin, M)} > 0)`,
    maximum: `(${rules.sel(R.vfMax, M)} > 0)`,
    /** packets per second; a NIC may report one kind of drops only, as the rules allow */
    drops: `((${qos} + ${tx}) or ${qos} or ${tx})`,
  };
}

function tierVariable() {
  const q = `label_values(${sel('podwire_vf_info', { tier: ['!=', ''] })}, tier)`;
  return new QueryVariableBuilder('tier')
    .label('Tier')
    .datasource(dsRef('prometheus'))
    .query(q)
    .definition(q)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .includeAll(true)
    .allValue(ALL_VALUE)
    .current({ selected: true, text: 'All', value: '$__all' });
}

/**
 * The SLI from the stored VF counters: a minute is in breach when, in one of its collection
 * intervals, the pod sent below the guarantee (bytes over the seconds the delta covers) while
 * the NIC dropped its traffic in that same interval. Judged per interval, not per minute: a
 * minute of little traffic followed by a burst the NIC served at its minimum is no breach.
 */
function perMinuteSql(database: string, guaranteeRatio: number): string {
  const t = sqlTable(vf_counters, database);
  const { c } = t;
  const tier = sqlVar('tier');
  return `per_row AS (
  SELECT ${c.namespace} AS ns, ${c.pod} AS pod_name, ${c.tier} AS tier_name, ${t.time} AS at,
    ${c.tx_bytes} AS sent, ${c.qos_dropped} + ${c.tx_dropped} AS dropped, ${c.min_rate} AS min_bps,
    dateDiff('second', lagInFrame(${t.time}, 1, ${t.time}) OVER vf_rows, ${t.time}) AS covered
  FROM ${t.ref}
  WHERE ${t.timeFilter} AND ${c.pod} != '' AND ${c.min_rate} > 0 AND (${isAll('tier')} OR ${c.tier} = ${tier})
  WINDOW vf_rows AS (PARTITION BY ${c.node}, ${c.pf}, ${c.vf} ORDER BY ${t.time} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
),
per_minute AS (
  SELECT ns, pod_name, tier_name, toStartOfMinute(at) AS minute,
    max(sent * 8 / covered < ${guaranteeRatio} * min_bps AND dropped > 0) AS breach
  FROM per_row
  WHERE covered > 0
  GROUP BY ns, pod_name, tier_name, minute
)`;
}

/** The alerts the in-process evaluator stored: when each fired and resolved, with its figures. */
function slaEventsSql(database: string): string {
  const t = sqlTable(sla_events, database);
  const { c } = t;
  return `SELECT ${c.time}, ${c.started}, ${c.rule}, ${c.severity}, ${c.state}, ${c.namespace}, ${c.pod}, ${c.node}, ${c.tier},
  ${c.value}, ${c.min_rate}, ${c.delivered_rate}, ${c.drop_rate}
FROM ${t.ref}
WHERE ${t.timeFilter} AND (${isAll('tier')} OR ${c.tier} = ${sqlVar('tier')})
ORDER BY ${c.time} DESC, ${c.rule}, ${c.namespace}, ${c.pod}
LIMIT 500`;
}

export function tierCompliance(o: BoardOptions & ModelOptions) {
  const board = new Board({
    uid: 'podwire-tiers',
    title: 'podwire / Tier compliance',
    description:
      'Every guaranteed pod against its performance tier: pods in breach, pods throttled at their ceiling, and per tier the minutes that met the guarantee and the error budget left.',
    datasources: ['prometheus', 'clickhouse'],
    uids: o.uids,
    variables: [tierVariable()],
  });
  const a = o.model.alerts;
  const rules = new RuleMetrics(o.model);
  const R = rules.R;
  const x = tierExpr(rules);
  const g = a.guaranteeRatio;
  const pct = (r: number) => `${Math.round(r * 1000) / 10} %`;
  const minutes = (s: number) => `${Math.round(s / 6) / 10} min`;
  const fors = forSeconds(a);

  board.row('Now');
  board.panel(
    statPanel(
      {
        title: 'Pods in breach',
        description: `Guaranteed pods sending below ${pct(g)} of their minimum while the NIC drops their traffic (demand unmet), over the last ${minutes(a.rateWindowSeconds)}: the SLI (${R.vfBreached}). The alert pages once it lasts ${minutes(fors.guaranteeBreached)}.`,
      },
      [prom(`sum(${rules.sel(R.vfBreached, M)}) or vector(0)`, 'breached', { instant: true })],
      { unit: 'short', thresholds: [[1, 'red']] },
    ),
    4,
    5,
  );
  board.panel(
    statPanel(
      {
        title: 'Pods throttled at ceiling',
        description: `Pods sending at or above ${pct(a.ceilingRatio)} of their maximum with QoS drops (${R.vfAtCeiling}): they want more than their tier allows.`,
      },
      [prom(`sum(${rules.sel(R.vfAtCeiling, M)}) or vector(0)`, 'at ceiling', { instant: true })],
      { unit: 'short', thresholds: [[1, 'orange']] },
    ),
    4,
    5,
  );
  board.panel(
    statPanel(
      {
        title: 'Guaranteed pods',
        description: `Pods whose VF has a guaranteed minimum and has been counted for a full rate window: the VFs the SLI judges (${R.tierGuaranteed}; best effort excluded).`,
      },
      [prom(`sum(${rules.sel(R.tierGuaranteed, TIER)})`, 'guaranteed', { instant: true })],
      { unit: 'short', base: 'blue' },
    ),
    4,
    5,
  );
  board.panel(
    barGaugePanel(
      {
        title: 'Pods in breach per tier',
        description: `Per tier, the pods in breach now (below ${pct(g)} of the minimum, with drops: ${R.tierBreached}).`,
      },
      [prom(rules.sel(R.tierBreached, TIER), '{{tier}}', { instant: true })],
      { unit: 'short', min: 0, thresholds: [[1, 'red']] },
    ),
    6,
    5,
  );
  board.panel(
    barGaugePanel(
      {
        title: 'Error budget remaining per tier',
        description: `Per tier with an objective, the share of its error budget left over the SLO period (${a.sloDays} days) as the rules count it (${R.tierBudgetRemaining}): 1 untouched, below 0 overspent. The burn-rate alerts page on how fast it goes.`,
      },
      [prom(rules.sel(R.tierBudgetRemaining, TIER), '{{tier}}', { instant: true })],
      {
        unit: 'percentunit',
        max: 1,
        base: 'red',
        thresholds: [
          [0, 'orange'],
          [0.5, 'green'],
        ],
      },
    ),
    6,
    5,
  );

  board.row('Pods');
  board.panel(
    tablePanel(
      {
        title: 'Delivered against the minimum',
        description: `Each guaranteed pod's transmit rate as a share of its minimum, lowest first. Below ${pct(g)} is a breach only while its traffic is dropped.`,
      },
      [prom(`sort(${x.transmit} / ${x.minimum})`, '', { instant: true, table: true })],
      { units: { Value: 'percentunit' }, hide: ['Time'] },
    ),
    12,
    9,
  );
  board.panel(
    tablePanel(
      {
        title: 'Closest to the ceiling',
        description:
          "Pods' transmit rate as a share of their allowed maximum, highest first (the 20 highest).",
      },
      [
        prom(`sort_desc(topk(20, ${x.transmit} / ${x.maximum}))`, '', {
          instant: true,
          table: true,
        }),
      ],
      { units: { Value: 'percentunit' }, hide: ['Time'] },
    ),
    12,
    9,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Lowest delivered share of the minimum',
        description: 'The ten guaranteed pods sending least relative to their minimum, over time.',
      },
      [prom(`bottomk(10, ${x.transmit} / ${x.minimum})`, '{{namespace}}/{{pod}}')],
      { unit: 'percentunit', min: 0 },
    ),
    12,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Drops of guaranteed pods per tier',
        description: 'QoS and transmit drops per second of the pods with a minimum, summed per tier.',
      },
      [prom(`sum by (tier) (${x.drops} and ${x.minimum})`, '{{tier}}')],
      { unit: 'pps', min: 0 },
    ),
    12,
    8,
  );

  board.row('Over the time range (ClickHouse)');
  const perMinute = perMinuteSql(o.database, g);
  const objectives = o.model.tiers.filter((t) => t.objective !== undefined);
  // tier names reach the SQL text: the model's schema admits plain names only; a model built
  // in code is checked here the same way
  for (const t of objectives) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t.name)) throw new Error(`tier '${t.name}': not a plain name`);
  }
  const names = objectives.map((t) => `'${t.name}'`).join(', ');
  const objective = `transform(tier_name, [${names}], [${objectives.map((t) => Number((t.objective! / 100).toPrecision(12))).join(', ')}], nan)`;
  board.panel(
    barGaugePanel(
      {
        title: 'Error budget remaining over the time range',
        description:
          "Per tier with an objective, the share of its error budget left over the time range: 1 − (minutes in breach / minutes measured) / (1 − objective), from the stored VF counters. Below 0 the tier's SLO is broken.",
      },
      [
        sql(`WITH ${perMinute}
SELECT tier_name AS tier, 1 - (countIf(breach) / count()) / (1 - any(${objective})) AS budget_remaining
FROM per_minute
WHERE tier_name IN (${names})
GROUP BY tier_name
ORDER BY tier`),
      ],
      {
        unit: 'percentunit',
        max: 1,
        base: 'red',
        thresholds: [
          [0, 'orange'],
          [0.5, 'green'],
        ],
        perRow: true,
      },
    ),
    8,
    9,
  );
  board.panel(
    tablePanel(
      {
        title: 'Minutes in breach per pod',
        description:
          'Per guaranteed pod over the time range, from the stored VF counters: minutes measured, minutes in breach (below the minimum with drops) and the share that met the guarantee, worst first.',
      },
      [
        sql(`WITH ${perMinute}
SELECT ns AS namespace, pod_name AS pod, tier_name AS tier, count() AS minutes, countIf(breach) AS breach_minutes,
  1 - breach_minutes / minutes AS compliance
FROM per_minute
GROUP BY ns, pod_name, tier_name
ORDER BY compliance, breach_minutes DESC, namespace, pod
LIMIT 100`),
      ],
      { units: { minutes: 'short', breach_minutes: 'short', compliance: 'percentunit' } },
    ),
    16,
    9,
  );
  board.panel(
    tablePanel(
      {
        title: 'SLA events',
        description:
          'The alerts the in-process evaluator (podwire all) raised, from sla_events, newest first: when each fired (its condition started at `started`) and resolved, the pod and node, and for a VF its minimum and delivered rate (bits/s) and drops (packets/s); a resolved row carries the figures of the last round its condition held.',
      },
      [sql(slaEventsSql(o.database))],
      {
        units: {
          value: 'short',
          min_rate: 'bps',
          delivered_rate: 'bps',
          drop_rate: 'pps',
          time: 'dateTimeAsIso',
          started: 'dateTimeAsIso',
        },
      },
    ),
    24,
    9,
  );
  return board.build();
}
