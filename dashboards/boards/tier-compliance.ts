/**
 * Tier compliance: every guaranteed pod against its contract — pods in breach (below 95 % of
 * the minimum while the NIC drops their traffic: demand unmet, not a pod that sends little),
 * pods throttled at their ceiling, and per tier the minutes that met the guarantee and the
 * error budget left over the time range.
 */
import {
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { vf_counters } from '../../ingest/schema.js';
import { dsRef } from '../datasources.js';
import { rate, sel } from '../metrics.js';
import { Board, barGaugePanel, prom, sql, statPanel, tablePanel, timeseriesPanel } from '../panels.js';
import { ALL_VALUE, isAll, sqlTable, sqlVar } from '../sql.js';
import type { BoardOptions } from './options.js';

/** A tier's SLO: the share of minutes meeting its guarantee, e.g. 0.999 (none: best effort). */
export interface TierObjective {
  name: string;
  objective?: number;
}

export interface TierOptions {
  tiers: readonly TierObjective[];
  /** in breach below this share of the minimum (with drops) */
  guaranteeRatio: number;
  /** at the ceiling at or above this share of the maximum (with QoS drops) */
  ceilingRatio: number;
}

const VF = 'namespace, pod, node, pf, vf, tier';
const M = { pod: ['!=', ''], tier: ['=~', '$tier'] } as const;

/** PromQL for a pod's delivered rate, its limits and its drops, per VF, bytes per second. */
export const tierExpr = {
  transmit: `sum by (${VF}) (${rate('podwire_vf_transmit_bytes_total', M)})`,
  minimum: `max by (${VF}) (${sel('podwire_vf_tier_min_bytes_per_second', M)} > 0)`,
  maximum: `max by (${VF}) (${sel('podwire_vf_tier_max_bytes_per_second', M)} > 0)`,
  qosDrops: `sum by (${VF}) (${rate('podwire_vf_qos_dropped_packets_total', M)})`,
  drops: `sum by (${VF}) (${rate('podwire_vf_qos_dropped_packets_total', M)} + ${rate('podwire_vf_transmit_dropped_packets_total', M)})`,
  resets: `sum by (${VF}) (resets(${sel('podwire_vf_transmit_bytes_total', M)}[$__rate_interval]))`,
};

/**
 * In breach: below the share of the minimum while the NIC drops the pod's traffic (demand
 * unmet), unless the window holds a counter reset (an exporter restart proves nothing) — the
 * condition of the guarantee-breached alert, without its `for`.
 */
const breached = (r: number) =>
  `((${tierExpr.transmit} < ${r} * ${tierExpr.minimum}) and (${tierExpr.drops} > 0)) unless (${tierExpr.resets} > 0)`;
const atCeiling = (r: number) =>
  `(${tierExpr.transmit} >= ${r} * ${tierExpr.maximum}) and (${tierExpr.qosDrops} > 0)`;

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

export function tierCompliance(o: BoardOptions & TierOptions) {
  const board = new Board({
    uid: 'podwire-tiers',
    title: 'podwire / Tier compliance',
    description:
      'Every guaranteed pod against its performance tier: pods in breach, pods throttled at their ceiling, and per tier the minutes that met the guarantee and the error budget left.',
    datasources: ['prometheus', 'clickhouse'],
    uids: o.uids,
    variables: [tierVariable()],
  });
  const g = o.guaranteeRatio;
  const pct = (r: number) => `${Math.round(r * 100)} %`;

  board.row('Now');
  board.panel(
    statPanel(
      {
        title: 'Pods in breach',
        description: `Guaranteed pods sending below ${pct(g)} of their minimum while the NIC drops their traffic (demand unmet).`,
      },
      [prom(`count(${breached(g)}) or vector(0)`, 'breached', { instant: true })],
      { unit: 'short', thresholds: [[1, 'red']] },
    ),
    6,
    4,
  );
  board.panel(
    statPanel(
      {
        title: 'Pods throttled at ceiling',
        description: `Pods sending at or above ${pct(o.ceilingRatio)} of their maximum with QoS drops: they want more than their tier allows.`,
      },
      [prom(`count(${atCeiling(o.ceilingRatio)}) or vector(0)`, 'at ceiling', { instant: true })],
      { unit: 'short', thresholds: [[1, 'orange']] },
    ),
    6,
    4,
  );
  board.panel(
    statPanel(
      {
        title: 'Guaranteed pods',
        description: 'Pods whose VF has a guaranteed minimum (best effort excluded).',
      },
      [prom(`count(${tierExpr.minimum})`, 'guaranteed', { instant: true })],
      { unit: 'short', base: 'blue' },
    ),
    6,
    4,
  );
  board.panel(
    barGaugePanel(
      {
        title: 'Pods in breach per tier',
        description: `Per tier, the pods in breach now (below ${pct(g)} of the minimum, with drops).`,
      },
      [
        prom(`count by (tier) (${breached(g)}) or (count by (tier) (${tierExpr.minimum}) * 0)`, '{{tier}}', {
          instant: true,
        }),
      ],
      { unit: 'short', min: 0, thresholds: [[1, 'red']] },
    ),
    6,
    4,
  );

  board.row('Pods');
  board.panel(
    tablePanel(
      {
        title: 'Delivered against the minimum',
        description: `Each guaranteed pod's transmit rate as a share of its minimum, lowest first. Below ${pct(g)} is a breach only while its traffic is dropped.`,
      },
      [prom(`sort(${tierExpr.transmit} / ${tierExpr.minimum})`, '', { instant: true, table: true })],
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
        prom(`sort_desc(topk(20, ${tierExpr.transmit} / ${tierExpr.maximum}))`, '', {
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
      [prom(`bottomk(10, ${tierExpr.transmit} / ${tierExpr.minimum})`, '{{namespace}}/{{pod}}')],
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
      [prom(`sum by (tier) (${tierExpr.drops} and ${tierExpr.minimum})`, '{{tier}}')],
      { unit: 'pps', min: 0 },
    ),
    12,
    8,
  );

  board.row('Over the time range (ClickHouse)');
  const perMinute = perMinuteSql(o.database, g);
  const objectives = o.tiers.filter((t) => t.objective !== undefined);
  for (const t of objectives) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t.name)) throw new Error(`tier '${t.name}': not a plain name`);
  }
  const names = objectives.map((t) => `'${t.name}'`).join(', ');
  const objective = `transform(tier_name, [${names}], [${objectives.map((t) => t.objective).join(', ')}], nan)`;
  board.panel(
    barGaugePanel(
      {
        title: 'Error budget remaining per tier',
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
  return board.build();
}
