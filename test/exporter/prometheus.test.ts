/**
 * A real Prometheus (Debian's 2.42) scrapes the exporter running on the demo NIC every
 * second; after at least two scrapes, a PromQL rate per pod returns the demo pod's series
 * with its labels, at a rate the tier allows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { createDemoSource, DEMO_TIERS } from '../../collector/nic/demo.js';
import { NodeExporter } from '../../node-exporter/exporter.js';
import { type Prometheus, startPrometheus } from './prometheus-server.js';

describe('Prometheus scraping the exporter', () => {
  let exporter: NodeExporter;
  let prom: Prometheus;

  beforeAll(async () => {
    const demo = createDemoSource({ seed: 11 });
    exporter = new NodeExporter({
      sources: [demo],
      index: EndpointIndex.fromInventory(demo.inventory),
      port: 0,
      intervalMs: 1000,
      log: () => {},
    });
    const { url } = await exporter.start();
    prom = await startPrometheus({ targets: [new URL(url).host], scrapeIntervalSeconds: 1 });
  });

  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
  });

  it('scrapes at least twice, and rate() per pod returns the demo pod', async () => {
    const scrapes = await prom.waitFor(
      'count_over_time(up{job="podwire"}[1m])',
      (r) => r.length === 1 && Number(r[0].value[1]) >= 2,
    );
    expect(Number(scrapes[0].value[1])).toBeGreaterThanOrEqual(2);
    expect((await prom.query('up{job="podwire"}'))[0].value[1]).toBe('1');

    // the first two scrapes can fall within one collection round (or before the first one),
    // so the rate starts at 0: wait for a window that spans a counter update
    const q = 'rate(podwire_vf_transmit_bytes_total{pod="web-a0"}[5s])';
    const r = await prom.waitFor(q, (x) => x.length === 1 && Number(x[0].value[1]) > 0);
    expect(r).toHaveLength(1);
    const { metric, value } = r[0];
    expect(metric).toEqual({
      instance: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      job: 'podwire',
      node: 'node-a',
      pf: 'ens1f0',
      vf: '0',
      namespace: 'shop',
      pod: 'web-a0',
      interface: 'eth0',
      network: 'shop-l2',
      vlan: '100',
      tier: 'high',
    });
    const bytesPerSecond = Number(value[1]);
    expect(bytesPerSecond).toBeGreaterThan(0);
    // the scheduler never lets it past its tier's maximum (rate() extrapolates a little)
    expect(bytesPerSecond).toBeLessThanOrEqual((DEMO_TIERS.high.max / 8) * 1.25);

    // and per pod across the node: one series per bound VF
    const perPod = await prom.query(
      'sum by (namespace, pod) (rate(podwire_vf_transmit_bytes_total{pod!=""}[5s]))',
    );
    expect(perPod.map((s) => s.metric.pod).sort()).toContain('web-a0');
    expect(perPod).toHaveLength(16);
  });
});
