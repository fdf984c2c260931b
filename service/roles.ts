/**
 * podwire's roles, one module each under service/roles/ (what it runs, the config it
 * reads, its own rules). One config format serves them all (cli/all-config.ts); a role
 * refuses a section it would ignore, so a config written for one role and given to
 * another fails at the start instead of silently doing less.
 */
import { all } from './roles/all.js';
import { collect } from './roles/collect.js';
import { node } from './roles/node.js';
import { serve } from './roles/serve.js';
import type { Role, RoleDefinition, RoleParts } from './roles/types.js';

export type { Role, RoleDefinition, RoleParts };

export const ROLE: Record<Role, RoleDefinition> = { all, node, collect, serve };
export const ROLES = Object.keys(ROLE) as Role[];
export const ROLE_PARTS = Object.fromEntries(ROLES.map((r) => [r, ROLE[r].parts])) as Record<Role, RoleParts>;

/**
 * What in a config file (parsed JSON, before defaults) `role` would ignore, one line each;
 * empty when the role takes all of it.
 */
export function roleConfigProblems(role: Role, raw: unknown): string[] {
  const { sections, mirrors } = ROLE[role];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const o = raw as Record<string, unknown>;
  const problems =
    sections === null
      ? []
      : Object.keys(o)
          .filter((k) => !sections.includes(k))
          .map((k) => `${k}: not used by podwire ${role} (${whoUses(k)})`);
  const mirror = o.mirror as { type?: unknown } | undefined;
  if (mirrors !== null && mirror !== undefined && typeof mirror === 'object' && mirror !== null) {
    const t = String(mirror.type);
    if (!mirrors.includes(t))
      problems.push(`mirror.type: podwire ${role} takes ${mirrors.join(', ')}, not ${t}`);
  }
  return problems;
}

/** The roles that read a section, for the refusal. */
function whoUses(section: string): string {
  const users = ROLES.filter((r) => ROLE[r].sections?.includes(section));
  return users.length === 0 ? 'podwire all only' : `read by ${users.map((r) => `podwire ${r}`).join(', ')}`;
}

/**
 * A config file's JSON with the role's own defaults and what the environment sets, before
 * validation: the store URL for every role (PODWIRE_CLICKHOUSE_URL, from a Secret), and
 * what the role itself takes from it (a node's name).
 */
export function withRoleDefaults(role: Role, raw: unknown, env: Record<string, string | undefined>): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const def = ROLE[role];
  const o = { ...(raw as Record<string, unknown>) };
  if (o.mirror === undefined && def.defaultMirror !== undefined) o.mirror = def.defaultMirror;
  const url = env.PODWIRE_CLICKHOUSE_URL;
  if (url !== undefined && url !== '') o.store = { ...(o.store as object | undefined), clickhouseUrl: url };
  def.fromEnv?.(o, env);
  return o;
}
