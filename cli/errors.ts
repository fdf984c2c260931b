/** Exit codes of the podwire CLI (documented in the README). */
export const ExitCode = {
  OK: 0,
  /** the input could not be read completely (bad capture, tcpdump failed) */
  INPUT: 1,
  /** bad usage or configuration (options, inventory) */
  USAGE: 2,
  /** an unexpected internal error: a bug, please report it */
  INTERNAL: 70,
} as const;

/** An error meant for the user: printed without a stack trace, with its exit code. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.USAGE,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Parses "500ms", "10s", "1m", "2h" or a plain number of seconds into seconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UserError(`${what}: "${text}" is not a duration (examples: 10s, 1m, 500ms)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const secs = unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
  if (!(secs > 0)) throw new UserError(`${what}: must be greater than zero`);
  return secs;
}

export function parsePort(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UserError(`${what}: "${text}" is not a port (1..65535)`);
  return n;
}
