/**
 * An embedded store with the podwire schema whose rows never expire (every table keeps
 * 100,000 days from arrival, beyond any fixture's age): what the query tests read.
 */
import { join } from 'node:path';
import { migrate } from '../../ingest/migrations.js';
import type { QueryContext } from '../../ingest/queries.js';
import { DEFAULT_RETENTION } from '../../ingest/schema.js';
import { openStore, type Store } from '../../ingest/store.js';

export async function openQueryStore(
  dir: string,
  database = 'pw',
): Promise<{ store: Store; ctx: QueryContext }> {
  const store = await openStore({ dataDir: join(dir, 'ch'), database });
  const keep = Object.fromEntries(Object.keys(DEFAULT_RETENTION).map((k) => [k, 100_000]));
  await migrate(store.client, { database, retention: keep as unknown as typeof DEFAULT_RETENTION });
  return { store, ctx: { client: store.client, database } };
}
