/**
 * The drop counters the rules read are exported for every VF from the first scrape, zeros
 * included (the demo SmartNIC reports them: a stand-in for SR-IOV hardware), so rate() has
 * a series to work on before the first drop — a counter born at its first drop would lose
 * that drop to rate().
 */
import { describe, expect, it } from 'vitest';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { createDemoSource, demoInventory } from '../../collector/nic/demo.js';
import { NodeExporter } from '../../node-exporter/exporter.js';

describe('drop counters on /metrics (demo SmartNIC stand-in)', () => {
  it('every VF has its QoS and transmit drop counters, at 0 before any drop', async () => {
    const inv = demoInventory({ nodes: 1, vfsPerNode: 8, overlayPerNode: 0 });
    // night: nobody asks beyond a ceiling, nothing is dropped yet
    const t0 = Date.UTC(2026, 10, 26, 4, 0, 0);
    const nic = createDemoSource({ inventory: inv, clock: () => t0, start: t0 });
    const exporter = new NodeExporter({
      sources: [nic],
      index: EndpointIndex.fromInventory(inv),
      port: 0,
      log: () => {},
    });
    const { url } = await exporter.start();
    try {
      const text = await (await fetch(`${url}/metrics`)).text();
      const series = (name: string) =>
        new Map(
          text
            .split('\n')
            .filter((l) => l.startsWith(`${name}{`))
            .map((l) => [l.slice(name.length, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
        );
      const tx = series('podwire_vf_transmit_bytes_total');
      expect(tx.size).toBeGreaterThanOrEqual(8);
      for (const name of [
        'podwire_vf_qos_dropped_packets_total',
        'podwire_vf_transmit_dropped_packets_total',
      ]) {
        const d = series(name);
        expect([...d.keys()].sort(), name).toEqual([...tx.keys()].sort());
        for (const [labels, v] of d) expect(v, `${name}${labels}`).toBe(0);
      }
    } finally {
      await exporter.stop();
    }
  });
});
