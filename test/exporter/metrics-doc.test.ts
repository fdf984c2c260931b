/**
 * node-exporter/README.md's metric table is the one metrics.ts generates, and metrics.ts
 * itself follows the naming rules the README states.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCUMENTED_METRICS, metricsTableMarkdown } from '../../node-exporter/metrics.js';

const README = new URL('../../node-exporter/README.md', import.meta.url);

describe('node-exporter metric table', () => {
  it('README.md holds the table generated from metrics.ts', () => {
    const text = readFileSync(README, 'utf8');
    const m = /<!-- metrics:begin[^>]*-->\n([\s\S]*?)\n<!-- metrics:end -->/.exec(text);
    expect(m, 'README.md has no <!-- metrics:begin … --> / <!-- metrics:end --> block').not.toBeNull();
    // cells compared without their padding (the formatter aligns the columns); on failure
    // paste metricsTableMarkdown()'s output between the markers and run npm run format
    const cells = (table: string) =>
      table
        .trim()
        .split('\n')
        .map((row) =>
          row
            .split('|')
            .map((c) => c.trim())
            .map((c) => (/^-+$/.test(c) ? '---' : c))
            .join('|'),
        );
    expect(cells(m![1])).toEqual(cells(metricsTableMarkdown()));
  });

  it('names follow the conventions: prefix, snake case, _total on counters only, base units', () => {
    const names = new Set<string>();
    for (const d of DOCUMENTED_METRICS) {
      expect(names.has(d.name), `${d.name} twice`).toBe(false);
      names.add(d.name);
      expect(d.name).toMatch(/^(podwire|process)_[a-z0-9_]+$/);
      expect(d.name.endsWith('_total'), d.name).toBe(d.type === 'counter');
      expect(d.name, d.name).not.toMatch(/_(bits|milliseconds|ms|kilobytes|megabytes)(_|$)/);
      expect(d.help.length).toBeGreaterThan(10);
      for (const l of d.labels) expect(l).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(new Set(d.labels).size).toBe(d.labels.length);
    }
    for (const d of DOCUMENTED_METRICS.filter(
      (x) => x.name.startsWith('podwire_vf_') && x.name !== 'podwire_vf_info',
    )) {
      expect(d.labels).toEqual([
        'node',
        'pf',
        'vf',
        'namespace',
        'pod',
        'interface',
        'network',
        'vlan',
        'tier',
      ]);
    }
  });
});
