/**
 * sla_events rows from the evaluator's alert transitions: one row when an alert fires
 * (`time` = when it fired, `started` = when its condition began) and one when it resolves
 * (`time` = when it ended). For a VF alert the row also says the VF's minimum, the rate
 * it delivered and its drop rate, read from the recording rules of the same round (for a
 * resolved alert: the values it had when its condition last held).
 */
import type { RowOf, sla_events } from '../ingest/schema.js';
import type { Alert, Transition } from './alert-state.js';
import type { SlaEvaluator } from './evaluator.js';
import { recordedNames, VF_KEY } from './rules.js';

export type SlaEventRow = RowOf<typeof sla_events>;

interface VfFigures {
  minRate: number;
  deliveredRate: number;
  dropRate: number;
}

/** The VF figures of an alert, when it is about one VF (bits per second, packets per second). */
export function vfFigures(ev: SlaEvaluator, a: Alert, rateWindowSeconds: number): VfFigures | null {
  const l = a.exprLabels.labels;
  if (l.pf === undefined || l.vf === undefined) return null;
  const R = recordedNames(rateWindowSeconds);
  const key: Record<string, string> = {};
  for (const k of VF_KEY) if (l[k] !== undefined) key[k] = l[k];
  const ls = ev.labels.intern(key);
  const get = (m: string) => ev.valueOf(m, ls);
  const min = get(R.vfMin);
  const rate = get(R.vfTransmitRate);
  const drops = (get(R.vfQosDropRate) ?? 0) + (get(R.vfTransmitDropRate) ?? 0);
  if (min === undefined || rate === undefined) return null;
  return { minRate: min * 8, deliveredRate: rate * 8, dropRate: drops };
}

export class EventRows {
  /** the last VF figures of each active alert (for its resolved row) */
  private readonly last = new WeakMap<Alert, VfFigures>();

  constructor(
    private readonly ev: SlaEvaluator,
    private readonly rateWindowSeconds: number,
  ) {}

  /** Remembers the figures of every VF alert whose condition holds (call after each round). */
  track(alerts: Iterable<Alert>): void {
    for (const a of alerts) {
      // kept firing (keep_firing_for) or resolved: its condition is gone, keep the last figures
      if (a.state === 'inactive' || a.keepFiringSince !== null) continue;
      const f = vfFigures(this.ev, a, this.rateWindowSeconds);
      if (f !== null) this.last.set(a, f);
    }
  }

  row(tr: Transition): SlaEventRow {
    const a = tr.alert;
    const l = a.exprLabels.labels;
    const f = this.last.get(a) ?? vfFigures(this.ev, a, this.rateWindowSeconds);
    const { alertname: _n, ...labels } = a.labels.labels;
    return {
      time: Math.floor(tr.at / 1000),
      rule: a.rule.alert,
      severity: a.rule.labels.severity ?? '',
      namespace: l.namespace ?? '',
      pod: l.pod ?? '',
      tier: l.tier ?? '',
      state: tr.to,
      value: a.value,
      details: JSON.stringify({ labels, annotations: a.annotations, pf: l.pf, vf: l.vf }),
      started: Math.floor(a.activeAt / 1000),
      node: l.node ?? '',
      min_rate: f?.minRate ?? 0,
      delivered_rate: f?.deliveredRate ?? 0,
      drop_rate: f?.dropRate ?? 0,
    };
  }
}
