/**
 * The HTTP side on a real socket: /metrics (plain and gzip) and /healthz from a running
 * NodeExporter on the demo NIC, bound to 127.0.0.1; the listen error when the port is taken.
 */

import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { createDemoSource } from '../../collector/nic/demo.js';
import { NodeExporter } from '../../node-exporter/exporter.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../../node-exporter/server.js';
import { parseExposition, promtoolCheck } from './exposition.js';

describe('NodeExporter over HTTP', () => {
  let exporter: NodeExporter;
  let url: string;
  const collections: number[] = [];

  beforeAll(async () => {
    const demo = createDemoSource({ seed: 5 });
    exporter = new NodeExporter({
      sources: [demo],
      index: EndpointIndex.fromInventory(demo.inventory),
      port: 0,
      intervalMs: 200,
      log: () => {},
      onCollection: ({ seconds }) => collections.push(seconds),
    });
    ({ url } = await exporter.start());
  });
  afterAll(async () => {
    await exporter.stop();
  });

  it('listens on 127.0.0.1 (by default, port 9742)', () => {
    expect(DEFAULT_HOST).toBe('127.0.0.1');
    expect(DEFAULT_PORT).toBe(9742);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves /metrics as Prometheus text, gzip when asked, and keeps collecting', async () => {
    const r = await fetch(`${url}/metrics`, { headers: { 'accept-encoding': 'identity' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.headers.get('content-encoding')).toBeNull();
    const text = await r.text();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    expect(parseExposition(text).get('podwire_vf_transmit_bytes_total')!.samples.length).toBe(32);
    // fetch decompresses by itself; ask node for the raw bytes instead
    const raw = await new Promise<{ enc: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${url}/metrics`, { headers: { 'accept-encoding': 'gzip, deflate' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ enc: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject),
      );
    });
    expect(raw.enc).toBe('gzip');
    expect(parseExposition(gunzipSync(raw.body).toString()).has('podwire_vf_info')).toBe(true);
    const before = collections.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(collections.length).toBeGreaterThan(before);
  });

  it('answers /healthz with the sources', async () => {
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(200);
    const h = (await r.json()) as { ok: boolean; sources: { name: string; ok: boolean }[] };
    expect(h.ok).toBe(true);
    expect(h.sources).toEqual([{ name: 'demo', ok: true, lastError: null, lastSuccess: expect.any(Number) }]);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
  });

  it('says why it cannot listen', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    const demo = createDemoSource();
    const other = new NodeExporter({ sources: [demo], port, log: () => {} });
    await expect(other.start()).rejects.toThrow(
      `podwire: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`,
    );
    await other.stop();
    await new Promise((r) => taken.close(r));
  });
});
