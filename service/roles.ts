/**
 * podwire's roles and what each one runs. One config format serves them all
 * (cli/all-config.ts); a role refuses a section it would ignore, so a config written for
 * one role and given to another fails at the start instead of silently doing less.
 *
 *   node     per node (a DaemonSet): NIC counters, /metrics, the SLA evaluator of the
 *            node's pods, optionally a local mirror capture
 *   collect  TOR intake (sFlow, NetFlow/IPFIX, a capture of ERSPAN or a mirror port) →
 *            attribution → the store
 *   serve    the API, the page, the live stream, alerts as the store holds them
 *   all      everything in one process (what `npm start` runs)
 */
export const ROLES = ['all', 'node', 'collect', 'serve'] as const;
export type Role = (typeof ROLES)[number];

/** What a role runs (service/run.ts assembles these). */
export interface RoleParts {
  nic: boolean;
  /** the SLA evaluator: it reads the NIC state of each collection, so it runs beside the NIC */
  sla: boolean;
  mirror: boolean;
  api: boolean;
}

export const ROLE_PARTS: Record<Role, RoleParts> = {
  all: { nic: true, sla: true, mirror: true, api: true },
  node: { nic: true, sla: true, mirror: true, api: false },
  collect: { nic: false, sla: false, mirror: true, api: false },
  serve: { nic: false, sla: false, mirror: false, api: true },
};

/** Top-level config sections each role reads (`api`: its tokens guard /metrics too). */
const SECTIONS: Record<Role, readonly string[]> = {
  all: [],
  node: [
    'dataDir',
    'store',
    'endpoints',
    'nic',
    'mirror',
    'flows',
    'samples',
    'http',
    'api',
    'tiers',
    'alerts',
    'alertmanager',
  ],
  collect: ['dataDir', 'store', 'endpoints', 'mirror', 'flows', 'samples', 'http', 'api'],
  serve: ['dataDir', 'store', 'endpoints', 'http', 'api'],
};

/** Mirror types a role takes: a node captures its own ports only (the TOR intake is collect's). */
const MIRRORS: Partial<Record<Role, readonly string[]>> = {
  node: ['capture', 'none'],
  collect: ['sflow', 'netflow', 'capture', 'demo', 'none'],
};

/**
 * What in a config file (parsed JSON, before defaults) `role` would ignore, one line each;
 * empty when the role takes all of it.
 */
export function roleConfigProblems(role: Role, raw: unknown): string[] {
  if (role === 'all' || raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const o = raw as Record<string, unknown>;
  const problems = Object.keys(o)
    .filter((k) => !SECTIONS[role].includes(k))
    .map((k) => `${k}: not used by podwire ${role} (${whoUses(k)})`);
  const mirror = o.mirror as { type?: unknown } | undefined;
  const types = MIRRORS[role];
  if (types !== undefined && mirror !== undefined && typeof mirror === 'object' && mirror !== null) {
    const t = String(mirror.type);
    if (!types.includes(t)) problems.push(`mirror.type: podwire ${role} takes ${types.join(', ')}, not ${t}`);
  }
  return problems;
}

/** The roles that read a section, for the refusal. */
function whoUses(section: string): string {
  const users = (['node', 'collect', 'serve'] as const).filter((r) => SECTIONS[r].includes(section));
  return users.length === 0 ? 'podwire all only' : `read by ${users.map((r) => `podwire ${r}`).join(', ')}`;
}

/**
 * A config file's JSON with the role's own defaults and what the environment sets, before
 * validation: the store URL (PODWIRE_CLICKHOUSE_URL, from a Secret) and, for a node, its
 * name (PODWIRE_NODE_NAME, from the downward API's spec.nodeName): the default of nic.node
 * and of each kubernetes endpoint source's node filter, so one config file serves every
 * node of a DaemonSet. Only `all` and `collect` run the demo mirror when none is named.
 */
export function withRoleDefaults(role: Role, raw: unknown, env: Record<string, string | undefined>): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const o = { ...(raw as Record<string, unknown>) };
  if (o.mirror === undefined && (role === 'node' || role === 'serve')) o.mirror = { type: 'none' };
  const url = env.PODWIRE_CLICKHOUSE_URL;
  if (url !== undefined && url !== '') o.store = { ...(o.store as object | undefined), clickhouseUrl: url };
  const node = env.PODWIRE_NODE_NAME;
  if (role === 'node' && node !== undefined && node !== '') withNodeName(o, node);
  return o;
}

function withNodeName(o: Record<string, unknown>, node: string): void {
  const nic = (o.nic ?? {}) as Record<string, unknown>;
  o.nic = { ...nic, node: nic.node ?? node };
  const endpoints = o.endpoints as { sources?: unknown } | undefined;
  if (endpoints === undefined || !Array.isArray(endpoints.sources)) return;
  o.endpoints = {
    ...endpoints,
    sources: endpoints.sources.map((s: Record<string, unknown>) =>
      s?.type === 'kubernetes' && s.node === undefined ? { ...s, node } : s,
    ),
  };
}
