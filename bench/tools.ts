/**
 * The reference tools a benchmark runs, checked before it starts: a missing one is named
 * with its Debian package and how to install it, rather than a `spawn … ENOENT` stack
 * trace after minutes of work (the tools come with `npm test`'s setup, which a fresh clone
 * may not have run).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Tool {
  /** a command looked up on PATH, or an absolute path */
  cmd: string;
  /** the Debian package that has it */
  pkg: string;
  /** what the benchmark uses it for */
  why: string;
}

function found(cmd: string): boolean {
  const candidates = cmd.includes('/')
    ? [cmd]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, cmd));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Exits 1 naming every missing tool (and `also`, a way around, if any); returns when all are there. */
export function requireTools(bench: string, tools: readonly Tool[], also = ''): void {
  const missing = tools.filter((t) => !found(t.cmd));
  if (missing.length === 0) return;
  const lines = missing.map((t) => `  ${t.cmd} (Debian package ${t.pkg}): ${t.why}`);
  process.stderr.write(
    `${bench}: missing ${missing.length === 1 ? 'a tool' : 'tools'} it runs:\n${lines.join('\n')}\n` +
      'install them with: bash scripts/setup-tools.sh (as root; npm test runs it first)\n' +
      (also === '' ? '' : `${also}\n`),
  );
  process.exit(1);
}
