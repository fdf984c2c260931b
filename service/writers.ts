/**
 * The batching writers a role needs (ingest/writer.ts): flows and packet samples where a
 * mirror input runs, VF counters where NIC sources run; each spools what the store cannot
 * take, and the stop's last resort spools what is left (ingest/stop-signals.ts).
 */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { AllConfig } from '../cli/all-config.js';
import { notStored, sumOutcomes } from '../cli/store-report.js';
import type { EncodedBatch } from '../ingest/arrow-batch.js';
import { flows, packet_samples, vf_counters } from '../ingest/schema.js';
import type { Store } from '../ingest/store.js';
import { BatchWriter } from '../ingest/writer.js';
import type { RoleParts } from './roles.js';
import type { Undo } from './undo.js';

const num = (n: number) => Math.round(n).toLocaleString('en');

export interface Writers {
  flows: BatchWriter<typeof flows> | null;
  samples: BatchWriter<typeof packet_samples> | null;
  vf: BatchWriter<typeof vf_counters> | null;
  spoolDir: string;
  quarantineDir: string;
  unsettledRows(): number;
  abandonSync(flowBatches?: EncodedBatch[]): { spooled: number; dropped: number; where: string };
  /** what the writers stored and what they could not, for the last line */
  stoppedLine(store: Store | null): string;
  outcome(): ReturnType<typeof sumOutcomes>;
}

export async function openWriters(o: {
  store: Store | null;
  cfg: AllConfig;
  registry: Registry;
  log: (m: string) => void;
  undo: Undo;
  role: RoleParts;
  mirror: AllConfig['mirror']['type'];
}): Promise<Writers> {
  const spoolDir = join(o.cfg.dataDir, 'spool');
  const quarantineDir = join(o.cfg.dataDir, 'quarantine');
  const store = o.store;
  const open = async <T extends typeof flows | typeof packet_samples | typeof vf_counters>(
    table: T,
    wanted: boolean,
  ) => {
    if (store === null || !wanted) return null;
    const w = await BatchWriter.open({
      store,
      spoolDir,
      quarantineDir,
      registry: o.registry,
      log: (level: string, m: string) => o.log(`podwire ingest ${level}: ${m}`),
      table,
    });
    o.undo.push(() => w.close());
    return w;
  };
  const mirrored = o.role.mirror && o.mirror !== 'none';
  const f = await open(flows, mirrored);
  const s = await open(packet_samples, mirrored);
  const v = await open(vf_counters, o.role.nic);
  const all = [f, s, v].filter((w) => w !== null);
  const outcome = () => sumOutcomes(all.map((w) => w.stats()));
  return {
    flows: f,
    samples: s,
    vf: v,
    spoolDir,
    quarantineDir,
    outcome,
    unsettledRows: () => all.reduce((n, w) => n + w.unsettledRows(), 0),
    abandonSync(flowBatches = []) {
      const r = all.map((w) => (w === f ? w.abandonSync(flowBatches) : w.abandonSync()));
      return {
        spooled: r.reduce((n, x) => n + x.spooled, 0),
        dropped: r.reduce((n, x) => n + x.dropped, 0),
        where: spoolDir,
      };
    },
    stoppedLine(st) {
      if (st === null) return 'podwire: stopped (no store: nothing to flush)';
      const left = notStored(outcome(), { spool: spoolDir, quarantine: quarantineDir });
      const stored = (
        [
          [f, 'flow rows'],
          [s, 'packet samples'],
          [v, 'VF counter rows'],
        ] as const
      ).flatMap(([w, what]) => (w === null ? [] : [`${num(w.stats().written)} ${what}`]));
      return `podwire: stopped. stored ${stored.join(', ') || 'nothing'} in ${st.location}${left || '; nothing left unflushed'}`;
    },
  };
}
