/**
 * `podwire all|node|collect|serve --config FILE`: a role's config read (one format for
 * every role: all-config.ts; each role refuses the sections it would ignore, and
 * PODWIRE_CLICKHOUSE_URL, as a Secret gives it, sets store.clickhouseUrl), the command's
 * overrides applied, and the role run (service/run.ts assembles it).
 */
import type { Stop } from '../ingest/stop-signals.js';
import { type Role, roleConfigProblems, withRoleDefaults } from '../service/roles.js';
import { runRole } from '../service/run.js';
import { parseAllConfig, readConfigJson } from './all-config.js';
import { parseListen, UserError } from './errors.js';

export interface RoleCommandOptions {
  config?: string;
  dataDir?: string;
  listen?: string;
  durationSeconds?: number;
  statusSeconds?: number;
  quiet?: boolean;
}

export async function runRoleCommand(role: Role, o: RoleCommandOptions, stop: Stop): Promise<void> {
  const raw = o.config === undefined ? {} : await readConfigJson(o.config);
  const problems = roleConfigProblems(role, raw);
  if (problems.length > 0)
    throw new UserError(
      `${o.config ?? 'config'}: podwire ${role} refuses this configuration\n  ${problems.join('\n  ')}`,
    );
  const config = parseAllConfig(withRoleDefaults(role, raw, process.env), o.config);
  if (o.dataDir !== undefined) config.dataDir = o.dataDir;
  if (o.listen !== undefined) {
    parseListen(o.listen, '--listen');
    config.http.listen = o.listen;
  }
  await runRole(
    {
      role,
      config,
      configPath: o.config,
      durationSeconds: o.durationSeconds,
      statusSeconds: o.statusSeconds,
      quiet: o.quiet,
    },
    stop,
  );
  // every part is closed: a handle still open (a peer that keeps a keep-alive socket, a
  // relay in front of the API server) must not hold a stopped service up until it is killed
  setTimeout(() => {
    process.stderr.write('podwire: exiting with connections still open\n');
    process.exit();
  }, EXIT_GRACE_MS).unref();
}

/** How long a stopped role waits for open handles to end before it exits regardless. */
const EXIT_GRACE_MS = 3000;
