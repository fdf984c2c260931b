/**
 * The live stream as the service runs it, on a port of its own: the real demo SmartNIC
 * read by the real NIC collector every second, joined to the demo inventory; real token
 * access (an admin, a tenant of `shop`, a metrics token); the hub and its route on
 * @hono/node-server with a `ws` server. Samples are fed by the test (`hub.sample`).
 */
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { hashToken, TokenAccess } from '../../api/access.js';
import { LiveHub, type LiveHubOptions } from '../../api/live/hub.js';
import type { LiveSample } from '../../api/live/messages.js';
import { ratesReading } from '../../api/live/readings.js';
import { LIVE_PATH, liveSocketServer, mountLive } from '../../api/live/route.js';
import { podRates } from '../../api/pods.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { NicCollector } from '../../collector/nic/collector.js';
import { createDemoSource, DEMO_CAPACITY_BPS, demoInventory } from '../../collector/nic/demo.js';
import { EndpointJoin } from '../../node-exporter/join.js';
import { startMetricsServer } from '../../node-exporter/server.js';

export const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  shop: 'shop-token-0123456789abcdef',
  metrics: 'metrics-token-0123456789abcdef',
};

export async function startLive(hubOptions: Partial<LiveHubOptions> = {}) {
  const inventory = demoInventory({ nodes: 2, vfsPerNode: 8, overlayPerNode: 4 });
  const index = EndpointIndex.fromInventory(inventory);
  const nic = createDemoSource({ inventory });
  const collector = new NicCollector({ sources: [nic], intervalMs: 1000, log: () => {} });
  const join = new EndpointJoin(() => index);
  const access = new TokenAccess({
    tokens: [
      { name: 'admin', sha256: hashToken(TOKENS.admin), role: 'admin' },
      { name: 'shop', sha256: hashToken(TOKENS.shop), role: 'tenant', namespaces: ['shop'] },
      { name: 'prom', sha256: hashToken(TOKENS.metrics), role: 'metrics' },
    ],
  });
  const registry = new Registry();
  const hub = new LiveHub({
    rates: async () => {
      const s = await collector.collect();
      const at = s.at ?? Date.now();
      join.refresh(at);
      const r = podRates(s.vfs, (n, pf, vf) => join.vf(n, pf, vf, at));
      return ratesReading(Date.now(), r, inventory.endpoints, DEMO_CAPACITY_BPS);
    },
    registry,
    ...hubOptions,
  });
  const app = new Hono<{ Bindings: HttpBindings }>();
  mountLive(app, { access, hub });
  const server = await startMetricsServer(app, { host: '127.0.0.1', port: 0, websocket: liveSocketServer() });
  const url = `ws://127.0.0.1:${server.port}${LIVE_PATH}`;
  return {
    hub,
    inventory,
    registry,
    url,
    httpUrl: server.url,
    async close() {
      hub.close();
      await server.close();
    },
  };
}

export type Live = Awaited<ReturnType<typeof startLive>>;

/** A client that keeps every message; `next(pred)` waits for one that matches. */
export function connect(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
  const ws = new WebSocket(url, options);
  const messages: Record<string, unknown>[] = [];
  const waiters: {
    pred: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    messages.push(m);
    for (const w of [...waiters])
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
  });
  const opened = new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  const closed = new Promise<{ code: number; reason: string }>((res) =>
    ws.once('close', (code, reason) => res({ code, reason: reason.toString() })),
  );
  const next = (pred: (m: Record<string, unknown>) => boolean, ms = 5000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = messages.find(pred);
      if (found) return resolve(found);
      const w = { pred, resolve };
      waiters.push(w);
      setTimeout(() => reject(new Error(`no matching message within ${ms} ms`)), ms).unref();
    });
  return { ws, messages, opened, closed, next };
}

/** The status of an upgrade the server refuses (ws reports it as an unexpected response). */
export function refusal(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => {});
  });
}

export const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

/** A sample between two demo pods (as the packet path's row would give it). */
export function sample(
  src: { namespace: string; pod: string },
  dst: { namespace: string; pod: string },
  extra: Partial<LiveSample> = {},
): LiveSample {
  return {
    type: 'sample',
    t: 1_700_000_000_000,
    vlan: 100,
    vni: 0,
    srcMac: '02:00:00:00:00:01',
    dstMac: '02:00:00:00:00:02',
    srcIp: '10.10.0.11',
    dstIp: '10.11.0.12',
    protocol: 6,
    srcPort: 40000,
    dstPort: 443,
    length: 1500,
    src: { ...src, node: 'node-a', tier: 'gold' },
    dst: { ...dst, node: 'node-b', tier: 'silver' },
    ...extra,
  };
}
