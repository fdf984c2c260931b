/**
 * The SLA rules, defined once from the tier model: recording rules (stable names,
 * `podwire:…`, which dashboards read) and alerting rules. `rule-file.ts` writes them as a
 * Prometheus rule file; `evaluator.ts` runs the same definitions in process.
 *
 * Every per-VF series is aggregated `by (node, pf, vf, namespace, pod, tier)` (VF_KEY):
 * the labels an alert carries, free of the scraping target's `instance`/`job`. The pod
 * labels are part of the key, so a VF handed from one pod to another is two series: the
 * old pod's drops never meet the new pod's rate, and the old pod's minimum disappears with
 * its series (stale) the moment it is gone.
 */
import {
  CAPTURE_METRICS,
  COLLECTOR_METRICS,
  FLOW_METRICS,
  SFLOW_METRICS,
  VF_COUNTERS,
  VF_TIER_MAX,
  VF_TIER_MIN,
} from '../node-exporter/metrics.js';
import {
  add,
  and,
  countBy,
  countOverTime,
  div,
  duration,
  type Expr,
  eq,
  ge,
  gt,
  lt,
  maxBy,
  mul,
  or,
  rate,
  resets,
  sel,
  sub,
  sumBy,
  sumOverTime,
  time,
  unless,
  vector,
} from './expr.js';
import { forSeconds, type TierModel } from './model.js';
import { checkTemplate } from './template.js';

/** The labels of every per-VF recording and alert. */
export const VF_KEY = ['node', 'pf', 'vf', 'namespace', 'pod', 'tier'] as const;

const metric = (name: string) => {
  const m = [...VF_COUNTERS, VF_TIER_MIN, VF_TIER_MAX].find((d) => d.name === name);
  if (m === undefined) throw new Error(`no such VF metric: ${name}`);
  return m.name;
};
const TX_BYTES = metric('podwire_vf_transmit_bytes_total');
const RX_BYTES = metric('podwire_vf_receive_bytes_total');
const QOS_DROPS = metric('podwire_vf_qos_dropped_packets_total');
const TX_DROPS = metric('podwire_vf_transmit_dropped_packets_total');

/** The SLI windows of the multi-window, multi-burn-rate alerts (SRE workbook, ch. 5). */
export const BURN_WINDOWS = [
  { severity: 'page', factor: 14.4, long: 3600, short: 300 },
  { severity: 'page', factor: 6, long: 6 * 3600, short: 1800 },
  { severity: 'ticket', factor: 3, long: 86400, short: 7200 },
] as const;

const windowName = duration;

/**
 * Recording rule names: stable, what dashboards and the alerts read. The per-VF rates say
 * their window (`rate1m` for the default 60 s, `rate10s` for 10 s).
 */
export function recordedNames(rateWindowSeconds: number) {
  const w = windowName(rateWindowSeconds);
  return {
    /** bytes per second a VF transmitted, over the rate window */
    vfTransmitRate: `podwire:vf_transmit_bytes:rate${w}`,
    vfReceiveRate: `podwire:vf_receive_bytes:rate${w}`,
    /** packets per second the NIC's QoS scheduler dropped for the VF */
    vfQosDropRate: `podwire:vf_qos_dropped_packets:rate${w}`,
    /** packets per second the NIC dropped on transmit */
    vfTransmitDropRate: `podwire:vf_transmit_dropped_packets:rate${w}`,
    /** counter resets of the transmit bytes in the window (an exporter restart) */
    vfTransmitResets: `podwire:vf_transmit_bytes:resets${w}`,
    /** the VF's minimum and maximum as the NIC reports them, bytes per second */
    vfMin: 'podwire:vf_tier_min_bytes_per_second:max',
    vfMax: 'podwire:vf_tier_max_bytes_per_second:max',
    /**
     * 1 while the VF's guarantee is breached, 0 while met (the SLI): VFs with a minimum,
     * once counted for a full rate window
     */
    vfBreached: 'podwire:vf_guarantee_breached:bool',
    /** 1 while the VF transmits at its ceiling with QoS drops, 0 otherwise; VFs with a maximum */
    vfAtCeiling: 'podwire:vf_at_ceiling:bool',
    nodeTransmitRate: `podwire:node_transmit_bytes:rate${w}`,
    nodeReceiveRate: `podwire:node_receive_bytes:rate${w}`,
    /** VFs of a tier in breach now, and VFs of the tier with a minimum */
    tierBreached: 'podwire:tier_guarantee_breached_vfs:sum',
    tierGuaranteed: 'podwire:tier_guaranteed_vfs:count',
    /** the tier's objective as a ratio (0.999), one series per tier with an objective */
    tierObjective: 'podwire:tier_slo_objective:ratio',
    /** share of the error budget left over the SLO period (1: untouched, < 0: overspent) */
    tierBudgetRemaining: 'podwire:tier_error_budget_remaining:ratio',
  } as const;
}

/** The names with the default 60 s rate window. */
export const RECORDED = recordedNames(60);

/** `podwire:tier_guarantee_breach:ratio_rate1h`: VF-minutes in breach over VF-minutes, per tier. */
export const tierBreachRatio = (seconds: number) =>
  `podwire:tier_guarantee_breach:ratio_rate${windowName(seconds)}`;

export interface RecordingRule {
  readonly record: string;
  readonly expr: Expr;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: Expr;
  /** seconds (0: fires at once) */
  readonly for: number;
  readonly keepFiringFor?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** 'prometheus': needs what only Prometheus has (`up`); the in-process evaluator skips it */
  readonly only?: 'prometheus';
}

export type Rule = RecordingRule | AlertingRule;
export const isAlert = (r: Rule): r is AlertingRule => 'alert' in r;

export interface RuleGroup {
  readonly name: string;
  /** seconds; none: the evaluator's own interval */
  readonly interval?: number;
  readonly rules: readonly Rule[];
}

export const ALERTS = {
  guaranteeBreached: 'PodwireGuaranteeBreached',
  budgetBurn: 'PodwireErrorBudgetBurn',
  atCeiling: 'PodwireAtCeiling',
  nodeSaturated: 'PodwireNodeDataPlaneSaturated',
  collectionBroken: 'PodwireCollectionBroken',
} as const;

const pct = (r: number) => `${Math.round(r * 1000) / 10}%`;

/** The rule groups for a tier model. */
export function buildRules(model: TierModel): RuleGroup[] {
  const a = model.alerts;
  const fors = forSeconds(a);
  const runbook = (section: string) => `${a.runbookUrl}#${section}`;
  const K = VF_KEY;
  const r = (record: string, expr: Expr, labels?: Record<string, string>): RecordingRule =>
    labels ? { record, expr, labels } : { record, expr };
  const R = recordedNames(a.rateWindowSeconds);
  const W = a.rateWindowSeconds;

  const txRate = sel(R.vfTransmitRate);
  const qos = sel(R.vfQosDropRate);
  const txDrops = sel(R.vfTransmitDropRate);
  const min = sel(R.vfMin);
  const max = sel(R.vfMax);
  // demand unmet: the NIC dropped what the pod wanted to send (QoS or transmit drops)
  const unmet = or(gt(qos, 0), gt(txDrops, 0));
  // below the minimum while demand is unmet; a window holding a counter reset (an exporter
  // restart: counts between its last scrape and the restart are lost) proves nothing
  const breached = unless(and(lt(txRate, mul(a.guaranteeRatio, min)), unmet), gt(sel(R.vfTransmitResets), 0));
  const atCeiling = and(ge(txRate, mul(a.ceilingRatio, max)), gt(qos, 0));
  // The SLI judges a VF only once its rate window is full: the pod has been counted for
  // longer than one window (samples older than the window, within two). A window not yet
  // filled (a new pod, a VF handed over, the first after a start) reads low; the alerts
  // need no such guard, their `for` outlasts it (model.ts).
  const counted = gt(sumBy(K, countOverTime(TX_BYTES, 2 * W)), sumBy(K, countOverTime(TX_BYTES, W)));
  // 1 where the condition holds, else 0 for every VF the condition applies to
  const asBool = (cond: Expr, applies: Expr) => or(add(mul(cond, 0), 1), mul(applies, 0));

  const vf: Rule[] = [
    r(R.vfTransmitRate, sumBy(K, rate(TX_BYTES, W))),
    r(R.vfReceiveRate, sumBy(K, rate(RX_BYTES, W))),
    r(R.vfQosDropRate, sumBy(K, rate(QOS_DROPS, W))),
    r(R.vfTransmitDropRate, sumBy(K, rate(TX_DROPS, W))),
    r(R.vfTransmitResets, sumBy(K, resets(TX_BYTES, W))),
    r(R.vfMin, maxBy(K, sel(VF_TIER_MIN.name))),
    r(R.vfMax, maxBy(K, sel(VF_TIER_MAX.name))),
    r(R.vfBreached, asBool(and(breached, counted), and(gt(min, 0), counted))),
    r(R.vfAtCeiling, asBool(atCeiling, gt(max, 0))),
    r(R.nodeTransmitRate, sumBy(['node'], txRate)),
    r(R.nodeReceiveRate, sumBy(['node'], sel(R.vfReceiveRate))),
  ];

  const objectives = model.tiers.filter((t) => t.objective !== undefined);
  const budget = sub(1, sel(R.tierObjective)); // the error budget: 1 − objective, per tier
  const windows = [...new Set([...BURN_WINDOWS.flatMap((w) => [w.long, w.short]), a.sloDays * 86400])].sort(
    (x, y) => x - y,
  );
  const tier: Rule[] = [
    r(R.tierBreached, sumBy(['tier'], sel(R.vfBreached))),
    r(R.tierGuaranteed, countBy(['tier'], sel(R.vfBreached))),
    ...windows.map((w) =>
      r(tierBreachRatio(w), div(sumOverTime(R.tierBreached, w), sumOverTime(R.tierGuaranteed, w))),
    ),
    ...objectives.map((t) =>
      r(R.tierObjective, vector(Number((t.objective! / 100).toPrecision(12))), { tier: t.name }),
    ),
    r(R.tierBudgetRemaining, sub(1, div(sel(tierBreachRatio(a.sloDays * 86400)), budget, { on: ['tier'] }))),
  ];

  const burnAbove = (w: number, factor: number) =>
    gt(sel(tierBreachRatio(w)), mul(factor, budget), { on: ['tier'] });
  const burn = (severity: 'page' | 'ticket'): AlertingRule => {
    const ws = BURN_WINDOWS.filter((w) => w.severity === severity);
    const cond = ws
      .map((w) => and(burnAbove(w.long, w.factor), burnAbove(w.short, w.factor)))
      .reduce((x, y) => or(x, y));
    const spec = ws
      .map((w) => `${w.factor}× over ${windowName(w.long)} and ${windowName(w.short)}`)
      .join(', or ');
    return {
      alert: ALERTS.budgetBurn,
      expr: cond,
      for: 0,
      labels: { severity },
      annotations: {
        summary: 'Tier {{ $labels.tier }} is burning its error budget',
        description:
          `{{ $value | humanizePercentage }} of the tier's VF-minutes breached the guarantee over the long window ` +
          `(burn rate ${spec} of the budget).`,
        runbook_url: runbook('error-budget-burn'),
      },
    };
  };

  const alerts: AlertingRule[] = [
    {
      alert: ALERTS.guaranteeBreached,
      expr: breached,
      for: fors.guaranteeBreached,
      keepFiringFor: a.keepFiringForSeconds,
      labels: { severity: 'page' },
      annotations: {
        summary:
          '{{ $labels.namespace }}/{{ $labels.pod }} gets less than its {{ $labels.tier }} tier minimum',
        description:
          'VF {{ $labels.vf }} of {{ $labels.pf }} on {{ $labels.node }} transmits {{ $value | humanize }}B/s, ' +
          `below ${pct(a.guaranteeRatio)} of its guaranteed minimum, while the NIC drops its traffic.`,
        runbook_url: runbook('guarantee-breached'),
      },
    },
    burn('page'),
    burn('ticket'),
    {
      alert: ALERTS.atCeiling,
      expr: atCeiling,
      for: fors.atCeiling,
      labels: { severity: 'warning' },
      annotations: {
        summary:
          '{{ $labels.namespace }}/{{ $labels.pod }} is throttled at its {{ $labels.tier }} tier maximum',
        description:
          'VF {{ $labels.vf }} of {{ $labels.pf }} on {{ $labels.node }} transmits {{ $value | humanize }}B/s, ' +
          `at or above ${pct(a.ceilingRatio)} of its maximum, and the NIC drops what it sends beyond.`,
        runbook_url: runbook('at-ceiling'),
      },
    },
    ...(['transmit', 'receive'] as const).map(
      (direction): AlertingRule => ({
        alert: ALERTS.nodeSaturated,
        expr: gt(
          sel(direction === 'transmit' ? R.nodeTransmitRate : R.nodeReceiveRate),
          (a.nodeSaturationRatio * a.nodeCapacityBps) / 8,
        ),
        for: fors.nodeSaturated,
        labels: { severity: 'warning', direction },
        annotations: {
          summary: `{{ $labels.node }}: pod data plane near its capacity (${direction})`,
          description:
            `The node's VFs ${direction === 'transmit' ? 'send' : 'receive'} {{ $value | humanize }}B/s, above ` +
            `${pct(a.nodeSaturationRatio)} of its ${a.nodeCapacityBps / 1e9} Gb/s data plane.`,
          runbook_url: runbook('node-pod-data-plane-saturated'),
        },
      }),
    ),
  ];

  const lost = sumBy(['agent'], rate(SFLOW_METRICS.lostSamples.name, 300));
  const received = sumBy(['agent'], rate(SFLOW_METRICS.flowSamples.name, 300));
  // a live capture's loss: packets its kernel buffer had no room for, of those it saw; per
  // scrape target, since interface names repeat from node to node
  const capture = ['instance', 'interface'];
  const kernelDrops = sumBy(capture, rate(CAPTURE_METRICS.dropped.name, 300, { reason: 'kernel' }));
  const captured = sumBy(capture, rate(CAPTURE_METRICS.packets.name, 300));
  const broken = (
    problem: string,
    expr: Expr,
    forS: number,
    description: string,
    only?: 'prometheus',
  ): AlertingRule => ({
    alert: ALERTS.collectionBroken,
    expr,
    for: forS,
    labels: { severity: 'warning', problem },
    annotations: {
      summary: `podwire collection broken: ${problem.replaceAll('_', ' ')}`,
      description,
      runbook_url: runbook('collection-broken'),
    },
    ...(only ? { only } : {}),
  });
  const collection: AlertingRule[] = [
    broken(
      'nic_source_failing',
      eq(sel(COLLECTOR_METRICS.scrapeSuccess.name), 0),
      fors.collectionBroken,
      'NIC source {{ $labels.source }} fails its reads: its VF counters go stale and then disappear.',
    ),
    broken(
      'vf_counters_stale',
      gt(sub(time(), sel(COLLECTOR_METRICS.lastSuccess.name)), a.staleSeconds),
      fors.collectionBroken,
      `NIC source {{ $labels.source }} has not read successfully for {{ $value | humanize }}s (more than ${a.staleSeconds} s).`,
    ),
    broken(
      'sflow_sample_loss',
      gt(div(lost, add(lost, received)), a.sampleLossRatio),
      fors.collectionBroken,
      `sFlow agent {{ $labels.agent }}: {{ $value | humanizePercentage }} of its flow samples are lost (more than ${pct(a.sampleLossRatio)}).`,
    ),
    broken(
      'capture_kernel_drops',
      gt(div(kernelDrops, add(kernelDrops, captured)), a.sampleLossRatio),
      fors.collectionBroken,
      `Live capture on {{ $labels.interface }}: the kernel dropped {{ $value | humanizePercentage }} of its packets (more than ${pct(a.sampleLossRatio)}) for want of buffer room; raise mirror.bufferMiB.`,
    ),
    broken(
      'store_spooling',
      gt(maxBy(['table'], sel('podwire_ingest_spooling')), 0),
      fors.collectionBroken,
      'Table {{ $labels.table }}: the store does not take its rows; they wait in the disk spool.',
    ),
    broken(
      'unattributed_traffic',
      gt(
        div(
          rate(FLOW_METRICS.unattributedPackets.name, 300),
          rate(FLOW_METRICS.attributionPackets.name, 300),
        ),
        a.unattributedRatio,
      ),
      fors.unattributedTraffic,
      `{{ $value | humanizePercentage }} of the packets podwire sees belong to no known endpoint (more than ${pct(a.unattributedRatio)}): the inventory is missing endpoints.`,
    ),
    broken(
      'exporter_down',
      eq(sel('up', { job: a.prometheusJob }), 0),
      fors.collectionBroken,
      'Prometheus cannot scrape podwire at {{ $labels.instance }}.',
      'prometheus',
    ),
  ];

  for (const rule of [...alerts, ...collection])
    for (const t of Object.values(rule.annotations)) checkTemplate(t);
  const interval = a.evaluationIntervalSeconds;
  const group = (name: string, rules: Rule[]): RuleGroup =>
    interval ? { name, interval, rules } : { name, rules };
  return [group('podwire-sla', [...vf, ...tier, ...alerts]), group('podwire-collection', collection)];
}
