/** Every podwire dashboard, built for a set of options. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { defaultModel } from '../../alerts/model.js';
import { DEFAULT_UIDS } from '../datasources.js';
import { clusterOverview } from './cluster-overview.js';
import { collectorHealth } from './collector-health.js';
import { flowsBoard } from './flows.js';
import type { BoardOptions, ModelOptions } from './options.js';
import { packetTrace } from './packet-trace.js';
import { podBandwidth } from './pod-bandwidth.js';
import { tierCompliance } from './tier-compliance.js';

export interface DashboardsOptions extends BoardOptions, ModelOptions {}

/** The demo's tiers and the alerts' default settings (alerts/model.ts). */
export const DEFAULT_DASHBOARDS_OPTIONS: DashboardsOptions = {
  uids: DEFAULT_UIDS,
  database: 'podwire',
  model: defaultModel(),
};

export interface NamedDashboard {
  /** the file it is written to, without .json */
  file: string;
  dashboard: Dashboard;
}

export function buildDashboards(o: DashboardsOptions = DEFAULT_DASHBOARDS_OPTIONS): NamedDashboard[] {
  return [
    { file: 'podwire-cluster-overview', dashboard: clusterOverview(o) },
    { file: 'podwire-pod-bandwidth', dashboard: podBandwidth(o) },
    { file: 'podwire-tier-compliance', dashboard: tierCompliance(o) },
    { file: 'podwire-flows', dashboard: flowsBoard(o) },
    { file: 'podwire-packet-trace', dashboard: packetTrace(o) },
    { file: 'podwire-collector-health', dashboard: collectorHealth(o) },
  ];
}
