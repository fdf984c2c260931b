/**
 * `--store`: flows into ClickHouse — embedded chDB in --data-dir by default, a server or
 * cluster with --clickhouse-url (or CLICKHOUSE_URL). Opens the store, applies the
 * migrations, and feeds the flow table's closed windows through the flow sink into the
 * batching writer, which spools to disk while the store is down.
 */
import { join } from 'node:path';
import type { FlowBatch } from '../collector/flows/flow-table.js';
import { FlowSink } from '../ingest/flow-sink.js';
import { migrate, SchemaError } from '../ingest/migrations.js';
import { DEFAULT_RETENTION, flows, type RetentionDays } from '../ingest/schema.js';
import { openStore, type Store, StoreError } from '../ingest/store.js';
import { BatchWriter } from '../ingest/writer.js';
import { ExitCode, UserError } from './errors.js';
import type { StoreOutcome } from './store-report.js';

export interface StoreOptions {
  dataDir: string;
  clickhouseUrl?: string;
  clickhouseCluster?: string;
  database: string;
  /** days to keep, per table (the rest keep their defaults) */
  retention?: Partial<RetentionDays>;
  /** what `observation` numbers of this input are called in the store */
  observation: (o: number) => string;
}

export class StoreSink {
  private pumping: NodeJS.Timeout | undefined;
  private busy = false;

  private constructor(
    private readonly store: Store,
    private readonly writer: BatchWriter<typeof flows>,
    private readonly sink: FlowSink,
    readonly dirs: { spool: string; quarantine: string },
  ) {
    // a live capture closes windows as time passes: encode them in the background
    this.pumping = setInterval(() => void this.pump(), 50);
  }

  static async open(o: StoreOptions): Promise<StoreSink> {
    let store: Store;
    try {
      store = await openStore({
        url: o.clickhouseUrl,
        dataDir: join(o.dataDir, 'clickhouse'),
        database: o.database,
        cluster: o.clickhouseCluster,
      });
      await migrate(store.client, {
        database: store.database,
        cluster: store.cluster,
        retention: { ...DEFAULT_RETENTION, ...o.retention },
      });
    } catch (err) {
      if (err instanceof StoreError || err instanceof SchemaError)
        throw new UserError(err.message, ExitCode.USAGE);
      throw err;
    }
    const dirs = { spool: join(o.dataDir, 'spool'), quarantine: join(o.dataDir, 'quarantine') };
    const writer = await BatchWriter.open({
      store,
      table: flows,
      spoolDir: dirs.spool,
      quarantineDir: dirs.quarantine,
    });
    const sink = new FlowSink({
      names: o.observation,
      send: (b) => writer.writeEncoded(b),
      busy: () => writer.stats().queuedBatches > 0,
    });
    return new StoreSink(store, writer, sink, dirs);
  }

  readonly onFlows = (batch: FlowBatch): void => this.sink.onFlows(batch);

  /** Flows taken and not yet stored nor spooled. */
  pendingRows(): number {
    return this.sink.pendingRows() + this.writer.unsettledRows();
  }

  /** Spools, synchronously, every flow not yet stored, and releases the spool (a third stop signal). */
  abandonSync(): { spooled: number; dropped: number; where: string } {
    clearInterval(this.pumping);
    return { ...this.writer.abandonSync(this.sink.drainSync()), where: this.dirs.spool };
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.sink.tick();
    } finally {
      this.busy = false;
    }
  }

  /** Stores everything (or spools what the store does not take in time), then closes. */
  async close(): Promise<StoreOutcome & { location: string }> {
    clearInterval(this.pumping);
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    await this.sink.flush();
    await this.writer.close();
    const s = this.writer.stats();
    await this.store.close();
    return { ...s, location: this.store.location };
  }
}
