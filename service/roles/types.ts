/** What a role is: the parts it runs, the config it reads, and its own rules (service/roles/). */
import type { AllConfig } from '../../cli/all-config.js';

export type Role = 'all' | 'node' | 'collect' | 'serve';

/** What a role runs (service/run.ts assembles these). */
export interface RoleParts {
  nic: boolean;
  /** the SLA evaluator: it reads the NIC state of each collection, so it runs beside the NIC */
  sla: boolean;
  mirror: boolean;
  api: boolean;
}

export interface RoleDefinition {
  parts: RoleParts;
  /** top-level config sections it reads; null: every one */
  sections: readonly string[] | null;
  /** mirror types it takes; null: every one */
  mirrors: readonly string[] | null;
  /** its mirror when the config names none (undefined: the schema's, the demo mirror) */
  defaultMirror?: { type: 'none' };
  /** whether it opens the store with this config (a node opens only a shared one) */
  opensStore(cfg: AllConfig): boolean;
  /** a config it cannot run as it says, as the message; null: it can */
  problem?(cfg: AllConfig): string | null;
  /** what the environment sets for it besides the store URL, in the raw config (before validation) */
  fromEnv?(raw: Record<string, unknown>, env: Record<string, string | undefined>): void;
}
