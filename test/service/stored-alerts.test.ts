/**
 * `podwire serve`'s active alerts read from sla_events (service/stored-alerts.ts) on chDB:
 * an alert is active while its latest event is `firing`. Event times are relative to the
 * test's start (the query looks back 30 days from the store's now()).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryContext } from '../../ingest/queries.js';
import type { Store } from '../../ingest/store.js';
import { activeAlerts, STORED_ALERTS_DAYS, storedAlerts } from '../../service/stored-alerts.js';
import { openQueryStore } from '../helpers/query-store.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-stored-alerts-'));
let store: Store;
let ctx: QueryContext;
const NOW = Math.floor(Date.now() / 1000);

/** an sla_events row, `ago` seconds before the test's start */
const event = (rule: string, pod: string, state: string, ago: number, startedAgo: number, value = 1) =>
  `(toDateTime(${NOW - ago}, 'UTC'), '${rule}', 'critical', 'shop', '${pod}', 'gold', '${state}', ${value}, ` +
  `'{"labels":{"pf":"ens1f0"},"annotations":{"summary":"${pod} below its minimum"}}', toDateTime(${NOW - startedAgo}, 'UTC'), 'node-a')`;

beforeAll(async () => {
  ({ store, ctx } = await openQueryStore(dir));
  await store.client.command({
    query: `INSERT INTO pw.sla_events (time, rule, severity, namespace, pod, tier, state, value, details, started, node) VALUES
      ${[
        // fired, still firing: active, its latest value
        event('PodwireGuaranteeBreached', 'web-1', 'firing', 600, 660, 0.4),
        event('PodwireGuaranteeBreached', 'web-1', 'firing', 300, 660, 0.7),
        // fired then resolved: not active
        event('PodwireGuaranteeBreached', 'web-2', 'firing', 900, 960),
        event('PodwireGuaranteeBreached', 'web-2', 'resolved', 120, 960),
        // resolved then fired again: active since the new start
        event('PodwireThrottled', 'web-2', 'resolved', 3000, 3600),
        event('PodwireThrottled', 'web-2', 'firing', 60, 90),
        // firing, but beyond the look-back: not shown
        event(
          'PodwireThrottled',
          'old-1',
          'firing',
          (STORED_ALERTS_DAYS + 2) * 86400,
          (STORED_ALERTS_DAYS + 2) * 86400,
        ),
      ].join(',\n')}`,
  });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const iso = (sec: number) => `${new Date(sec * 1000).toISOString().slice(0, 19)}Z`;

describe('active alerts from sla_events', () => {
  it('lists each alert whose latest event is firing, with its labels, annotations, value and times', async () => {
    const alerts = (await activeAlerts(ctx)) as {
      name: string;
      labels: Record<string, string>;
      value: number;
    }[];
    expect(alerts).toEqual([
      {
        name: 'PodwireGuaranteeBreached',
        state: 'firing',
        severity: 'critical',
        labels: {
          pf: 'ens1f0',
          alertname: 'PodwireGuaranteeBreached',
          namespace: 'shop',
          pod: 'web-1',
          node: 'node-a',
          tier: 'gold',
        },
        annotations: { summary: 'web-1 below its minimum' },
        value: 0.7,
        activeAt: iso(NOW - 660),
        firedAt: iso(NOW - 300),
      },
      expect.objectContaining({
        name: 'PodwireThrottled',
        labels: expect.objectContaining({ pod: 'web-2' }),
        activeAt: iso(NOW - 90),
      }),
    ]);
  });

  it('serves the last read, and says where the alerts come from', async () => {
    const s = storedAlerts(
      () => ctx,
      60_000,
      () => {},
    );
    try {
      for (let i = 0; i < 100 && s.current().evaluatedAt === null; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(s.current().source).toBe('sla_events');
      expect(s.current().alerts).toHaveLength(2);
    } finally {
      s.close();
    }
  });

  it('keeps the last answer and logs once when the store fails', async () => {
    const lines: string[] = [];
    const broken = { client: store.client, database: 'no_such_db' };
    const s = storedAlerts(
      () => broken,
      60_000,
      (m) => lines.push(m),
    );
    try {
      for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(lines[0]).toMatch(/^sla_events: cannot read the active alerts: /);
      expect(s.current()).toEqual({ evaluatedAt: null, source: 'sla_events', alerts: [] });
    } finally {
      s.close();
    }
  });
});
