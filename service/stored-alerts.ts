/**
 * The active SLA alerts as the shared store holds them, for `podwire serve`: the evaluator
 * runs in each `podwire node` beside the NIC state it reads (alerts/service.ts) and writes
 * every change to sla_events; an alert is active while its latest event is `firing`. Read
 * every `everyMs` in the background (the API's /alerts answers from the last read).
 */
import type { QueryContext } from '../ingest/queries.js';
import { rows } from '../ingest/queries.js';

/** How far back an alert's last event is looked for (an alert firing longer is not shown). */
export const STORED_ALERTS_DAYS = 30;

interface Row {
  rule: string;
  severity: string;
  namespace: string;
  pod: string;
  node: string;
  tier: string;
  value: number;
  started: string;
  fired: string;
  details: string;
}

export interface StoredAlerts {
  current(): { evaluatedAt: string | null; source: 'sla_events'; alerts: unknown[] };
  close(): void;
}

export function storedAlerts(
  ctx: () => QueryContext,
  everyMs: number,
  log: (m: string) => void,
): StoredAlerts {
  let last: ReturnType<StoredAlerts['current']> = { evaluatedAt: null, source: 'sla_events', alerts: [] };
  let failing = false;
  const read = async () => {
    try {
      const active = await activeAlerts(ctx());
      last = { evaluatedAt: new Date().toISOString(), source: 'sla_events', alerts: active };
      if (failing) log('sla_events: read again');
      failing = false;
    } catch (err) {
      if (!failing) log(`sla_events: cannot read the active alerts: ${(err as Error).message}`);
      failing = true;
    }
  };
  void read();
  const timer = setInterval(() => void read(), everyMs);
  return { current: () => last, close: () => clearInterval(timer) };
}

export async function activeAlerts(ctx: QueryContext): Promise<unknown[]> {
  const out = await rows<Row>(
    ctx,
    `SELECT rule, severity, namespace, pod, node, tier, value, started, fired, details FROM (
  SELECT rule, namespace, pod, node,
    argMax(state, time) AS state, argMax(severity, time) AS severity, argMax(tier, time) AS tier,
    argMax(value, time) AS value, toString(argMax(started, time)) AS started,
    toString(max(time)) AS fired, argMax(details, time) AS details
  FROM {db}.sla_events
  WHERE time >= now() - INTERVAL {days:UInt16} DAY
  GROUP BY rule, namespace, pod, node)
WHERE state = 'firing'
ORDER BY rule, namespace, pod`,
    { days: STORED_ALERTS_DAYS },
  );
  return out.map((r) => {
    const d = parseDetails(r.details);
    return {
      name: r.rule,
      state: 'firing',
      severity: r.severity,
      labels: {
        ...d.labels,
        alertname: r.rule,
        namespace: r.namespace,
        pod: r.pod,
        node: r.node,
        tier: r.tier,
      },
      annotations: d.annotations,
      value: Number(r.value),
      activeAt: `${r.started.replace(' ', 'T')}Z`,
      firedAt: `${r.fired.replace(' ', 'T')}Z`,
    };
  });
}

function parseDetails(text: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  try {
    const d = JSON.parse(text) as { labels?: Record<string, string>; annotations?: Record<string, string> };
    return { labels: d.labels ?? {}, annotations: d.annotations ?? {} };
  } catch {
    return { labels: {}, annotations: {} };
  }
}
