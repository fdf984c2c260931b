/**
 * Metrics other parts register (the sFlow intake's, the writers'…) are read at scrape
 * time, at most a second old, while the NIC families follow the collection interval: with
 * a 15 s NIC interval an sFlow counter on /metrics used to be up to 15 s old (it was read
 * only when a collection rendered the registry).
 */
import { gunzipSync } from 'node:zlib';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { createDemoSource } from '../../collector/nic/demo.js';
import { NodeExporter } from '../../node-exporter/exporter.js';
import { parseExposition } from './exposition.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('metrics read at scrape time', () => {
  let exporter: NodeExporter;
  let url: string;
  let value = 0;
  let collections = 0;

  beforeAll(async () => {
    const demo = createDemoSource({ seed: 5 });
    exporter = new NodeExporter({
      sources: [demo],
      index: EndpointIndex.fromInventory(demo.inventory),
      port: 0,
      // no scheduled collection within the test: collections fall on multiples of the
      // interval since the epoch, and a 60 s interval put one inside the test whenever it
      // ran across a minute boundary (CI failed so once: the scrape got that render)
      intervalMs: 2 ** 31 - 1,
      log: () => {},
      onCollection: () => collections++,
    });
    // like the sFlow intake's families: the value is read in collect()
    new Counter({
      name: 'podwire_test_live_total',
      help: 'A counter read at collect() time.',
      registers: [exporter.registry.prom],
      collect() {
        this.reset();
        this.inc(value);
      },
    });
    ({ url } = await exporter.start());
  });
  afterAll(async () => {
    await exporter.stop();
  });

  const scrape = async (gzip = false) => {
    if (!gzip) return (await fetch(`${url}/metrics`, { headers: { 'accept-encoding': 'identity' } })).text();
    const { get } = await import('node:http');
    return new Promise<string>((resolve, reject) =>
      get(`${url}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(gunzipSync(Buffer.concat(chunks)).toString()));
      }).on('error', reject),
    );
  };
  const live = (text: string) => parseExposition(text).get('podwire_test_live_total')!.samples[0]!.value;
  const nic = (text: string) =>
    parseExposition(text)
      .get('podwire_vf_transmit_bytes_total')!
      .samples.map((s) => s.value)
      .join(',');

  it('a scrape more than a second after the last render reads them again; the NIC part is the collection’s', async () => {
    value = 5;
    const first = await scrape();
    await sleep(1100);
    value = 42;
    const second = await scrape();
    expect(live(second)).toBe(42);
    expect(nic(second)).toBe(nic(first));
    expect(collections).toBe(1);
    value = 43;
    await sleep(1100);
    expect(live(await scrape(true))).toBe(43);
    // within a second of the last render, the cached exposition is served as it is
    value = 44;
    expect(live(await scrape())).toBe(43);
    expect(collections).toBe(1);
  });
});
