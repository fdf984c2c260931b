/**
 * The evaluator's Alertmanager client on a controlled clock, against a stand-in receiver
 * (a local HTTP server recording what is posted to /api/v2/alerts; the real Alertmanager
 * is in e2e.test.ts): a firing alert is sent once, re-sent every resend interval while it
 * fires, valid four intervals; resolved, it is sent with endsAt = when it resolved, and
 * again at the resend interval while kept; a pending alert is never sent; a failed post is
 * counted and logged once, and the next resend goes through.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRuleState } from '../../alerts/alert-state.js';
import { AlertmanagerClient, type AmAlert } from '../../alerts/alertmanager.js';
import { Labels } from '../../alerts/labels.js';
import type { AlertingRule } from '../../alerts/rules.js';
import { Vec } from '../../alerts/vec.js';

let server: Server;
let url = '';
const posts: AmAlert[][] = [];
let failNext = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (req.url !== '/api/v2/alerts' || req.method !== 'POST') {
        res.statusCode = 404;
        return res.end();
      }
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        return res.end('stand-in failure');
      }
      posts.push(JSON.parse(body) as AmAlert[]);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const rule: AlertingRule = {
  alert: 'PodwireGuaranteeBreached',
  expr: { kind: 'num', value: 0 },
  for: 60,
  labels: { severity: 'page' },
  annotations: { summary: '{{ $labels.pod }} at {{ $value | humanize }}B/s' },
};

describe('Alertmanager client (stand-in receiver)', () => {
  it('sends when firing, re-sends while active, sends the resolution with endsAt; never a pending alert', async () => {
    const labels = new Labels();
    const state = new AlertRuleState(rule, labels);
    const logs: string[] = [];
    const counts = { sent: 0, failed: 0, dropped: 0 };
    const client = new AlertmanagerClient({
      url,
      resendMs: 60_000,
      intervalMs: 15_000,
      generatorUrl: () => 'http://podwire/api/alerts',
      log: (l) => logs.push(l),
      count: (r, n) => {
        counts[r] += n;
      },
    });
    const result = (breached: boolean) => {
      const v = new Vec();
      if (breached) v.push(labels.intern({ namespace: 'shop', pod: 'web-1' }), 1.2e8);
      return v;
    };
    const t0 = Date.UTC(2026, 10, 26, 12, 0, 0);
    const step = async (s: number, breached: boolean) => {
      const t = t0 + s * 1000;
      state.eval(t, result(breached));
      client.notify(state.active.values(), t);
      await client.flush();
    };
    await step(0, true); // pending
    await step(30, true); // pending
    expect(posts).toEqual([]);
    await step(60, true); // fires
    expect(posts).toHaveLength(1);
    expect(posts[0]).toEqual([
      {
        labels: { alertname: 'PodwireGuaranteeBreached', severity: 'page', namespace: 'shop', pod: 'web-1' },
        annotations: { summary: 'web-1 at 120MB/s' },
        startsAt: new Date(t0 + 60_000).toISOString(),
        endsAt: new Date(t0 + 60_000 + 4 * 60_000).toISOString(),
        generatorURL: 'http://podwire/api/alerts',
      },
    ]);
    await step(90, true);
    await step(120, true); // not yet a full resend interval
    expect(posts).toHaveLength(1);
    await step(135, true); // 75 s after the last send
    expect(posts).toHaveLength(2);
    expect(posts[1][0].endsAt).toBe(new Date(t0 + 135_000 + 240_000).toISOString());
    // a failed post is counted and logged; the alert goes out again at its next resend
    failNext = 1;
    await step(210, true);
    expect(counts.failed).toBe(1);
    expect(logs.join('\n')).toMatch(/1 alerts not sent: HTTP 500/);
    await step(285, true);
    expect(posts).toHaveLength(3);
    // resolved: sent at once with endsAt = when it resolved, and again a resend later
    await step(300, false);
    expect(posts).toHaveLength(4);
    expect(posts[3][0].endsAt).toBe(new Date(t0 + 300_000).toISOString());
    expect(posts[3][0].startsAt).toBe(new Date(t0 + 60_000).toISOString());
    await step(330, false);
    expect(posts).toHaveLength(4);
    await step(375, false);
    expect(posts).toHaveLength(5);
    expect(counts).toEqual({ sent: 5, failed: 1, dropped: 0 });
    expect(logs.join('\n')).toMatch(/sending again/);
  });
});
