/** Every podwire dashboard, built for a set of options. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DEMO_CAPACITY_BPS } from '../../collector/nic/demo.js';
import { DEFAULT_UIDS } from '../datasources.js';
import { clusterOverview } from './cluster-overview.js';
import { collectorHealth } from './collector-health.js';
import { flowsBoard } from './flows.js';
import type { BoardOptions } from './options.js';
import { packetTrace } from './packet-trace.js';
import { podBandwidth } from './pod-bandwidth.js';
import { type TierOptions, tierCompliance } from './tier-compliance.js';

export interface DashboardsOptions extends BoardOptions, TierOptions {
  /** a node's pod data plane, bits per second, each direction */
  nodeCapacityBps: number;
}

/**
 * The demo's tiers and thresholds. The objectives are the (high 99.9 %, standard
 * 99.5 %; best effort has none).
 */
export const DEFAULT_DASHBOARDS_OPTIONS: DashboardsOptions = {
  uids: DEFAULT_UIDS,
  database: 'podwire',
  nodeCapacityBps: DEMO_CAPACITY_BPS,
  tiers: [
    { name: 'high', objective: 0.999 },
    { name: 'standard', objective: 0.995 },
    { name: 'best-effort' },
  ],
  guaranteeRatio: 0.95,
  ceilingRatio: 0.95,
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
