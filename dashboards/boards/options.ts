/** What a dashboard is built for: the data sources' default uids and the store's database. */
import type { TierModel } from '../../alerts/model.js';
import type { DatasourceUids } from '../datasources.js';

export interface BoardOptions {
  uids: DatasourceUids;
  /** the ClickHouse database podwire stores in (`store.database`) */
  database: string;
}

/** What the boards that read the SLA rules are built for. */
export interface ModelOptions {
  /**
   * the tiers and alert settings the rules are built from (a service config's `tiers:` and
   * `alerts:`): the recording rules and alerts the panels read, each tier's objective, the
   * breach and ceiling ratios, the node capacity
   */
  model: TierModel;
}
