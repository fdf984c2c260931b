/**
 * One alerting rule's alerts, as Prometheus (2.42, rules/alerting.go) keeps them: a new
 * result is pending from that evaluation; it fires once it has been pending for the rule's
 * `for`; a firing alert whose result disappears keeps firing for `keep_firing_for`, then is
 * resolved; a pending one whose result disappears is dropped. Resolved alerts are kept 15
 * minutes (they are sent as resolved). Notification follows Prometheus's notifier: a firing
 * or resolved alert is sent when it changed since it was last sent or every `resend`,
 * valid for four resend intervals.
 */
import type { LabelSet, Labels } from './labels.js';
import type { AlertingRule } from './rules.js';
import { expand } from './template.js';
import type { Vec } from './vec.js';

export const RESOLVED_RETENTION_MS = 15 * 60_000;

export type AlertStateName = 'pending' | 'firing' | 'inactive';

export class Alert {
  state: AlertStateName = 'pending';
  firedAt: number | null = null;
  resolvedAt: number | null = null;
  keepFiringSince: number | null = null;
  lastSentAt: number | null = null;
  validUntil: number | null = null;
  private expanded: { value: number; annotations: Record<string, string> } | null = null;

  constructor(
    readonly rule: AlertingRule,
    /** the alert's labels: the expression's, the rule's and alertname */
    readonly labels: LabelSet,
    /** the expression's labels (what the templates see as $labels) */
    readonly exprLabels: LabelSet,
    public value: number,
    /** ms since the epoch */
    readonly activeAt: number,
  ) {}

  /**
   * The annotations expanded for the current value: on demand (a notification, the API, an
   * event row), since expanding every alert at every round is most of a round's cost when
   * many alerts are pending.
   */
  get annotations(): Record<string, string> {
    if (this.expanded === null || !Object.is(this.expanded.value, this.value)) {
      const out: Record<string, string> = {};
      for (const [k, t] of Object.entries(this.rule.annotations))
        out[k] = expand(t, this.exprLabels.labels, this.value);
      this.expanded = { value: this.value, annotations: out };
    }
    return this.expanded.annotations;
  }
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
  /** the alert's label set of each expression label set (interning it costs a sort a result) */
  private readonly alertSets = new WeakMap<LabelSet, LabelSet>();

  constructor(
    readonly rule: AlertingRule,
    private readonly labels: Labels,
  ) {
    this.forMs = rule.for * 1000;
    this.keepMs = (rule.keepFiringFor ?? 0) * 1000;
  }

  /** One evaluation at t (ms) with the expression's result; returns what fired or resolved. */
  eval(t: number, result: Vec): Transition[] {
    const out: Transition[] = [];
    const seen = new Set<LabelSet>();
    for (let i = 0; i < result.n; i++) {
      const expr = result.ls[i];
      const labels = this.alertLabels(expr);
      seen.add(labels);
      const a = this.active.get(labels);
      const value = result.v[i];
      if (a !== undefined && a.state !== 'inactive') {
        a.value = value;
        continue;
      }
      this.active.set(labels, new Alert(this.rule, labels, expr, value, t));
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

  private alertLabels(expr: LabelSet): LabelSet {
    let s = this.alertSets.get(expr);
    if (s === undefined) {
      s = this.labels.intern({ ...expr.labels, ...this.rule.labels, alertname: this.rule.alert });
      this.alertSets.set(expr, s);
    }
    return s;
  }
}

/** Prometheus's needsSending: never pending; resolved since last sent; or the resend is due. */
export function needsSending(a: Alert, t: number, resendMs: number): boolean {
  if (a.state === 'pending') return false;
  if (a.resolvedAt !== null && (a.lastSentAt === null || a.resolvedAt > a.lastSentAt)) return true;
  return a.lastSentAt === null || a.lastSentAt + resendMs < t;
}
