/** The store a role reads or writes: opened and migrated, its errors as usage errors. */
import { join } from 'node:path';
import type { AllConfig } from '../cli/all-config.js';
import { ExitCode, UserError } from '../cli/errors.js';
import { migrate, SchemaError } from '../ingest/migrations.js';
import { DEFAULT_RETENTION } from '../ingest/schema.js';
import { openStore, type Store, StoreError } from '../ingest/store.js';

export async function openServiceStore(cfg: AllConfig): Promise<Store> {
  let store: Store | null = null;
  try {
    store = await openStore({
      url: cfg.store.clickhouseUrl,
      dataDir: join(cfg.dataDir, 'clickhouse'),
      database: cfg.store.database,
      cluster: cfg.store.cluster,
    });
    await migrate(store.client, {
      database: store.database,
      cluster: store.cluster,
      retention: { ...DEFAULT_RETENTION, ...cfg.store.retention },
    });
    return store;
  } catch (err) {
    await store?.close().catch(() => {});
    if (err instanceof StoreError || err instanceof SchemaError)
      throw new UserError(err.message, ExitCode.USAGE);
    throw err;
  }
}
