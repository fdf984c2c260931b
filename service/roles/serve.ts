/**
 * `podwire serve` (a Deployment): the API, the page and the live stream over the shared
 * store; the active alerts are those the nodes' evaluators stored in sla_events
 * (service/stored-alerts.ts).
 */
import type { RoleDefinition } from './types.js';

export const serve: RoleDefinition = {
  parts: { nic: false, sla: false, mirror: false, api: true },
  sections: ['dataDir', 'store', 'endpoints', 'http', 'api'],
  mirrors: null,
  defaultMirror: { type: 'none' },
  opensStore: () => true,
};
