/**
 * Every malformed reason is on /metrics from the start, zeros included, so `rate()` over
 * podwire_sflow_malformed_total has a series before the first bad datagram (the collector
 * health dashboard's "sFlow received" panel drew nothing while nothing was malformed).
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InterfaceSeries } from '../../collector/sflow/interface-series.js';
import { registerSflowMetrics } from '../../collector/sflow/metrics.js';
import { malformedName } from '../../collector/sflow/types.js';
import { collectingIntake } from './helpers.js';

const malformedLines = async (registry: Registry) =>
  (await registry.metrics()).split('\n').filter((l) => l.startsWith('podwire_sflow_malformed_total{'));

describe('sFlow malformed counters', () => {
  it('are exported for every reason, at 0, before anything malformed arrives', async () => {
    const { intake } = collectingIntake();
    const registry = new Registry();
    registerSflowMetrics(registry, { intake, interfaces: new InterfaceSeries(), listener: () => null });
    const lines = await malformedLines(registry);
    expect(lines.sort()).toEqual(
      malformedName
        .slice(1)
        .map((r) => `podwire_sflow_malformed_total{reason="${r}"} 0`)
        .sort(),
    );
  });

  it('count what arrives under its reason, the others staying at 0', async () => {
    const { intake } = collectingIntake();
    const registry = new Registry();
    registerSflowMetrics(registry, { intake, interfaces: new InterfaceSeries(), listener: () => null });
    // version 0: not sFlow v5
    const bad = Buffer.alloc(8);
    intake.receive(bad, 0, bad.length, 1_000_000);
    const lines = await malformedLines(registry);
    expect(lines, lines.join(' ')).toContain('podwire_sflow_malformed_total{reason="bad_version"} 1');
    expect(lines.filter((l) => l.endsWith(' 0'))).toHaveLength(malformedName.length - 2);
  });
});
