/**
 * `podwire collect` (a Deployment, replicas): a TOR intake (sFlow, NetFlow/IPFIX, a capture
 * of an ERSPAN or SPAN port) → attribution → flows and packet samples in the store. One
 * exporter's datagrams must land on one replica: templates and sequence numbers are per
 * exporter and replicas share no state (deploy/README.md: the Service's ClientIP affinity).
 */
import type { RoleDefinition } from './types.js';

export const collect: RoleDefinition = {
  parts: { nic: false, sla: false, mirror: true, api: false },
  sections: ['dataDir', 'store', 'endpoints', 'mirror', 'flows', 'samples', 'http', 'api'],
  mirrors: null,
  opensStore: () => true,
};
