/**
 * Helpers for the exporter suites: a strict parser of the Prometheus text format (0.0.4)
 * as the exporter writes it, promtool, and a demo exporter on a fake clock.
 */
import { spawnSync } from 'node:child_process';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import type { Inventory } from '../../collector/attribution/inventory.js';
import { createDemoSource, type DemoNic, type DemoSourceOptions } from '../../collector/nic/demo.js';
import type { NicSource } from '../../collector/nic/types.js';
import { CollectorProvider } from '../../node-exporter/nic-state.js';
import { ExporterRegistry } from '../../node-exporter/registry.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

function unescapeLabel(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses an exposition; throws on anything malformed (the exporter must never write that). */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | null = null;
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (help) {
      if (families.has(help[1])) throw new Error(`line ${i + 1}: family ${help[1]} appears twice`);
      current = { name: help[1], help: help[2], type: '', samples: [] };
      families.set(help[1], current);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      if (current?.name !== type[1]) throw new Error(`line ${i + 1}: TYPE without its HELP`);
      current.type = type[2];
      continue;
    }
    if (line.startsWith('#')) throw new Error(`line ${i + 1}: unexpected comment ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
      let pos = 0;
      while (pos < m[3].length) {
        re.lastIndex = pos;
        const l = re.exec(m[3]);
        if (!l) throw new Error(`line ${i + 1}: bad labels: ${m[3]}`);
        if (l[1] in labels) throw new Error(`line ${i + 1}: label ${l[1]} twice`);
        labels[l[1]] = unescapeLabel(l[2]);
        pos = re.lastIndex;
      }
    }
    const value =
      m[4] === '+Inf' ? Number.POSITIVE_INFINITY : m[4] === '-Inf' ? Number.NEGATIVE_INFINITY : Number(m[4]);
    if (m[4] !== 'NaN' && Number.isNaN(value)) throw new Error(`line ${i + 1}: bad value ${m[4]}`);
    if (current === null || (m[1] !== current.name && !m[1].startsWith(`${current.name}_`))) {
      throw new Error(`line ${i + 1}: sample ${m[1]} outside its family`);
    }
    current.samples.push({ name: m[1], labels, value });
  }
  return families;
}

/** `promtool check metrics` on the text: its exit code and what it printed. */
export function promtoolCheck(text: string | Buffer): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error)
    throw new Error(`promtool: ${r.error.message} (run scripts/setup-tools.sh: package prometheus)`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

export const T0 = Date.parse('2026-11-26T15:00:00Z');

/** A demo NIC, the NIC collector and the registry on one fake clock (advance `clock.now`). */
export function demoRig(
  options: DemoSourceOptions & { extraSources?: NicSource[]; inventory?: Inventory } = {},
): {
  clock: { now: number };
  demo: DemoNic;
  index: EndpointIndex;
  provider: CollectorProvider;
  registry: ExporterRegistry;
  /** advance the clock by ms, collect, render */
  step(ms?: number): Promise<string>;
} {
  const clock = { now: options.start ?? T0 };
  const now = () => clock.now;
  const demo = createDemoSource({ seed: 1, ...options, clock: now, start: clock.now });
  const index = EndpointIndex.fromInventory(demo.inventory);
  const provider = new CollectorProvider({
    sources: [demo, ...(options.extraSources ?? [])],
    intervalMs: 1000,
    clock: now,
    log: () => {},
  });
  const registry = new ExporterRegistry({ index });
  return {
    clock,
    demo,
    index,
    provider,
    registry,
    async step(ms = 1000) {
      clock.now += ms;
      await registry.update(await provider.collect());
      return registry.body.toString('utf8');
    },
  };
}
