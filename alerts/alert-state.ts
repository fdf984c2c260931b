/**
 * One alerting rule's alerts, as Prometheus (2.42, rules/alerting.go) keeps them: a new
 * result is pending from that evaluation; it fires once it has been pending for the rule's
 * `for`; a firing alert whose result disappears keeps firing for `keep_firing_for`, then is
 * resolved; a pending one whose result disappears is dropped. Resolved alerts are kept 15
 * minutes (they are sent as resolved). Notification follows Prometheus's notifier: a firing
 * or resolved alert is sent when it changed since it was last sent or every `resend`,
 * valid for four resend intervals.
 */
import type { LabelMap, LabelSet, Labels } from './labels.js';
import type { AlertingRule } from './rules.js';
import { expand } from './template.js';

export const RESOLVED_RETENTION_MS = 15 * 60_000;

export type AlertStateName = 'pending' | 'firing' | 'inactive';

export interface Alert {
  readonly rule: AlertingRule;
  /** the alert's labels: the expression's, the rule's and alertname */
  readonly labels: LabelSet;
  /** the expression's labels (what the templates see as $labels) */
  readonly exprLabels: LabelSet;
  state: AlertStateName;
  value: number;
  annotations: Record<string, string>;
  /** ms since the epoch */
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  keepFiringSince: number | null;
  lastSentAt: number | null;
  validUntil: number | null;
}

export interface Transition {
  readonly alert: Alert;
  readonly to: 'firing' | 'resolved';
  readonly at: number;
}

export class AlertRuleState {
  readonly active = new Map<LabelSet, Alert>();
  private readonly forMs: number;
  private readonly keepMs: number;

  constructor(
    readonly rule: AlertingRule,
    private readonly labels: Labels,
  ) {
    this.forMs = rule.for * 1000;
    this.keepMs = (rule.keepFiringFor ?? 0) * 1000;
  }

  /** One evaluation at t (ms) with the expression's result; returns what fired or resolved. */
  eval(t: number, result: { readonly ls: readonly LabelSet[]; readonly v: readonly number[] }): Transition[] {
    const out: Transition[] = [];
    const seen = new Set<LabelSet>();
    for (let i = 0; i < result.ls.length; i++) {
      const expr = result.ls[i];
      const labels = this.alertLabels(expr.labels);
      seen.add(labels);
      const a = this.active.get(labels);
      const value = result.v[i];
      if (a !== undefined && a.state !== 'inactive') {
        a.value = value;
        a.annotations = this.annotate(expr.labels, value);
        continue;
      }
      this.active.set(labels, {
        rule: this.rule,
        labels,
        exprLabels: expr,
        state: 'pending',
        value,
        annotations: this.annotate(expr.labels, value),
        activeAt: t,
        firedAt: null,
        resolvedAt: null,
        keepFiringSince: null,
        lastSentAt: null,
        validUntil: null,
      });
    }
    for (const [k, a] of this.active) {
      if (!seen.has(k)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.keepMs > 0) {
          if (a.keepFiringSince === null) a.keepFiringSince = t;
          if (t - a.keepFiringSince < this.keepMs) keepFiring = true;
        }
        if (a.state === 'pending' || (a.resolvedAt !== null && t - a.resolvedAt > RESOLVED_RETENTION_MS)) {
          this.active.delete(k);
        }
        if (a.state !== 'inactive' && !keepFiring) {
          if (a.state === 'firing') out.push({ alert: a, to: 'resolved', at: t });
          a.state = 'inactive';
          a.resolvedAt = t;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = null;
      }
      if (a.state === 'pending' && t - a.activeAt >= this.forMs) {
        a.state = 'firing';
        a.firedAt = t;
        out.push({ alert: a, to: 'firing', at: t });
      }
    }
    return out;
  }

  private alertLabels(expr: LabelMap): LabelSet {
    return this.labels.intern({ ...expr, ...this.rule.labels, alertname: this.rule.alert });
  }

  private annotate(labels: LabelMap, value: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, t] of Object.entries(this.rule.annotations)) out[k] = expand(t, labels, value);
    return out;
  }
}

/** Prometheus's needsSending: never pending; resolved since last sent; or the resend is due. */
export function needsSending(a: Alert, t: number, resendMs: number): boolean {
  if (a.state === 'pending') return false;
  if (a.resolvedAt !== null && (a.lastSentAt === null || a.resolvedAt > a.lastSentAt)) return true;
  return a.lastSentAt === null || a.lastSentAt + resendMs < t;
}
