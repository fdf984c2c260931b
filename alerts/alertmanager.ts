/**
 * The Alertmanager client of the in-process evaluator: what Prometheus's notifier does,
 * for one Alertmanager. Alerts due (alert-state.ts `needsSending`: newly firing, newly
 * resolved, or a resend every `resendSeconds`) are queued and posted to Alertmanager's v2
 * API, `POST /api/v2/alerts`, a JSON array of {labels, annotations, startsAt, endsAt,
 * generatorURL}: a firing alert's endsAt is four resend intervals ahead (Alertmanager
 * resolves it by itself if podwire goes silent), a resolved one's is when it resolved.
 *
 * One request at a time; the queue is bounded (the oldest alerts dropped beyond it, as
 * Prometheus's notifier does); a failed request loses its alerts (they are sent again at
 * their next resend). Each outcome is counted (`podwire_sla_notifications_total`), and a
 * failure is logged once per change of its message.
 */
import { type Alert, needsSending } from './alert-state.js';

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

export interface AlertmanagerClientOptions {
  /** base URL: http://host:9093 */
  url: string;
  timeoutMs?: number;
  resendMs?: number;
  /** the evaluation interval (ms): a firing alert stays valid 4 × max(resend, interval) */
  intervalMs: number;
  /** the most alerts queued (default 10,000) */
  maxQueue?: number;
  /** the most alerts per request (default 256, Prometheus's) */
  maxBatch?: number;
  generatorUrl?: () => string;
  log: (line: string) => void;
  count: (result: 'sent' | 'failed' | 'dropped', n: number) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class AlertmanagerClient {
  private readonly endpoint: string;
  private readonly resendMs: number;
  private readonly validMs: number;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private queue: AmAlert[] = [];
  private sending: Promise<void> | null = null;
  private lastError: string | null = null;

  constructor(private readonly o: AlertmanagerClientOptions) {
    this.endpoint = `${o.url.replace(/\/+$/, '')}/api/v2/alerts`;
    this.resendMs = o.resendMs ?? 60_000;
    this.validMs = 4 * Math.max(this.resendMs, o.intervalMs);
    this.maxQueue = o.maxQueue ?? 10_000;
    this.maxBatch = o.maxBatch ?? 256;
  }

  /** Queues every alert due at t (ms) and sends; marks them sent (as Prometheus does on queueing). */
  notify(alerts: Iterable<Alert>, t: number): void {
    for (const a of alerts) {
      if (!needsSending(a, t, this.resendMs)) continue;
      a.lastSentAt = t;
      a.validUntil = t + this.validMs;
      const { ...labels } = a.labels.labels;
      this.queue.push({
        labels,
        annotations: { ...a.annotations },
        startsAt: iso(a.firedAt ?? a.activeAt),
        endsAt: iso(a.state === 'inactive' && a.resolvedAt !== null ? a.resolvedAt : a.validUntil),
        generatorURL: this.o.generatorUrl?.() ?? '',
      });
    }
    if (this.queue.length > this.maxQueue) {
      const drop = this.queue.length - this.maxQueue;
      this.queue.splice(0, drop);
      this.o.count('dropped', drop);
    }
    this.kick();
  }

  private kick(): void {
    if (this.sending !== null || this.queue.length === 0) return;
    this.sending = (async () => {
      try {
        while (this.queue.length > 0) await this.post(this.queue.splice(0, this.maxBatch));
      } finally {
        this.sending = null;
      }
    })();
  }

  private async post(batch: AmAlert[]): Promise<void> {
    try {
      const r = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
      if (!r.ok) throw new Error(`HTTP ${r.status}: ${(await r.text()).slice(0, 200)}`);
      await r.arrayBuffer().catch(() => undefined);
      this.o.count('sent', batch.length);
      if (this.lastError !== null) this.o.log(`alertmanager ${this.o.url}: sending again`);
      this.lastError = null;
    } catch (err) {
      this.o.count('failed', batch.length);
      const m = (err as Error).message;
      if (m !== this.lastError)
        this.o.log(`alertmanager ${this.o.url}: ${batch.length} alerts not sent: ${m}`);
      this.lastError = m;
    }
  }

  /** Waits for what is queued to be sent (or fail). */
  async flush(): Promise<void> {
    while (this.sending !== null) await this.sending;
  }
}
