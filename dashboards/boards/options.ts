/** What a dashboard is built for: the data sources' default uids and the store's database. */
import type { DatasourceUids } from '../datasources.js';

export interface BoardOptions {
  uids: DatasourceUids;
  /** the ClickHouse database podwire stores in (`store.database`) */
  database: string;
}
