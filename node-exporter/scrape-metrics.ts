/**
 * Families whose values are read at scrape time from what a component already counts (its
 * stats), rather than incremented as things happen: `collect` resets the family and
 * refills it, so a series never drifts from its source and costs nothing between scrapes.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MetricDef } from './metrics.js';

/** A counter family of `def`, filled by `fill` at every scrape. */
export function scrapeCounter(
  registry: Registry,
  def: MetricDef,
  fill: (c: Counter) => void | Promise<void>,
): Counter {
  return new Counter({
    name: def.name,
    help: def.help,
    labelNames: def.labels,
    registers: [registry],
    async collect() {
      this.reset();
      await fill(this);
    },
  });
}

/** A gauge family of `def`, filled by `fill` at every scrape. */
export function scrapeGauge(registry: Registry, def: MetricDef, fill: (g: Gauge) => void): Gauge {
  return new Gauge({
    name: def.name,
    help: def.help,
    labelNames: def.labels,
    registers: [registry],
    collect() {
      this.reset();
      fill(this);
    },
  });
}
