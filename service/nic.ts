/**
 * A role's NIC part: the configured sources (collector/nic/registry.ts; the demo SmartNIC
 * follows the live inventory) read every nic.intervalSeconds, each collection's per-VF
 * rows handed to the store and its state to the SLA evaluator when the role runs them.
 * Roles without NIC counters run it with no sources: /metrics and /healthz stay the same.
 */

import { ratesReading } from '../api/live/readings.js';
import { podRates } from '../api/pods.js';
import type { AllConfig } from '../cli/all-config.js';
import { UserError } from '../cli/errors.js';
import type { LiveInventory } from '../collector/endpoints/live-inventory.js';
import { NicCollector } from '../collector/nic/collector.js';
import { createDemoSource, type DemoNic } from '../collector/nic/demo.js';
import { buildSources, NicSourceError, parseSourceSpec } from '../collector/nic/registry.js';
import type { NicSource } from '../collector/nic/types.js';
import { vfCounterRows } from '../ingest/sample-rows.js';
import { EndpointJoin } from '../node-exporter/join.js';
import { fromCollectorState, type NicState } from '../node-exporter/nic-state.js';

type VfRow = ReturnType<typeof vfCounterRows>[number];

export class NicPart {
  readonly collector: NicCollector;
  readonly demo: DemoNic | null;
  readonly intervalMs: number;
  /** where each collection's per-VF rows go (set once the writer is open) */
  writeRows: ((rows: VfRow[]) => void) | null = null;
  /** who sees each collection's state (the SLA evaluator) */
  observe: ((state: NicState) => void) | null = null;
  /** VF counter rows handed to the store */
  rows = 0;
  private readonly join: EndpointJoin;
  /** the demo NIC read every second for the live stream (its collection interval is longer) */
  private readonly liveCollector: NicCollector | null;
  private readonly liveJoin: EndpointJoin;

  constructor(
    cfg: AllConfig,
    private readonly live: LiveInventory,
    log: (m: string) => void,
    sources: readonly string[] = cfg.nic.sources,
  ) {
    const { demo, list } = nicSources(cfg, live, sources);
    this.demo = demo;
    this.intervalMs = Math.round(cfg.nic.intervalSeconds * 1000);
    this.collector = new NicCollector({
      sources: list,
      intervalMs: this.intervalMs,
      log: (level, m) => log(`podwire nic ${level}: ${m}`),
    });
    this.join = new EndpointJoin(() => live.index);
    this.liveJoin = new EndpointJoin(() => live.index);
    this.liveCollector =
      demo !== null && this.intervalMs > 1000
        ? new NicCollector({ sources: [demo], intervalMs: 1000, log: () => {} })
        : null;
  }

  /** One collection: rows to the store (no await: a slow store never stalls /metrics). */
  async collect(): Promise<NicState> {
    const s = await this.collector.collect();
    if (this.writeRows !== null && s.at !== null) {
      const at = s.at;
      this.join.refresh(at);
      const rows = vfCounterRows(s, (node, pf, vf) => this.join.vf(node, pf, vf, at));
      if (rows.length > 0) {
        this.rows += rows.length;
        this.writeRows(rows);
      }
    }
    const state = fromCollectorState(s, Date.now());
    this.observe?.(state);
    return state;
  }

  /** Per-pod and per-node rates as of the last collection (/api/v1/pods). */
  rates() {
    const s = this.collector.state;
    const at = s.at ?? Date.now();
    this.join.refresh(at);
    return podRates(s.vfs, (node, pf, vf) => this.join.vf(node, pf, vf, at));
  }

  /** The live stream's rates: the demo NIC read now, other sources as last collected. */
  async liveRates(nodeCapacityBps: number) {
    const s = this.liveCollector === null ? this.collector.state : await this.liveCollector.collect();
    const at = s.at ?? Date.now();
    this.liveJoin.refresh(at);
    const rates = podRates(s.vfs, (node, pf, vf) => this.liveJoin.vf(node, pf, vf, at));
    return ratesReading(Date.now(), rates, this.live.current(), nodeCapacityBps);
  }
}

/** The sources of nic.sources in order; the demo one follows the live inventory. */
function nicSources(
  cfg: AllConfig,
  live: LiveInventory,
  texts: readonly string[],
): { demo: DemoNic | null; list: NicSource[] } {
  let demo: DemoNic | null = null;
  try {
    const specs = texts.map(parseSourceSpec);
    const real = buildSources(
      specs.filter((s) => s.kind !== 'demo'),
      cfg.nic.node ?? 'localhost',
      cfg.nic.sysfsRoot,
    );
    const list: NicSource[] = [];
    for (const s of specs) {
      if (s.kind !== 'demo') {
        list.push(real.shift()!);
        continue;
      }
      const d = demoNic(cfg, live);
      live.onChange(() => d.follow(live.snapshot()));
      list.push(d);
      demo = d;
    }
    return { demo, list };
  } catch (err) {
    if (err instanceof NicSourceError) throw new UserError(`nic.sources: ${err.message}`);
    throw err;
  }
}

function demoNic(cfg: AllConfig, live: LiveInventory): DemoNic {
  const d = cfg.nic.demo;
  return createDemoSource({
    inventory: live.snapshot(),
    vfsPerPf: 64,
    node: cfg.nic.node,
    demandScale: d.demandScale,
    episode:
      d.episode === false
        ? undefined
        : {
            afterMs: d.episode.afterSeconds * 1000,
            durationMs: d.episode.durationSeconds * 1000,
            everyMs: d.episode.everySeconds * 1000,
            share: d.episode.share,
          },
  });
}
