import { isIP } from 'node:net';
import { windowProblem } from '../collector/flows/flow-table.js';

/** Exit codes of the podwire CLI (documented in the README). */
import { MAX_RETENTION_DAYS } from '../ingest/schema.js';
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

/** A flow window ("10s", "1m"): whole seconds that nest in minutes and hours, at most 30m. */
export function parseWindow(text: string, what = '--window'): number {
  const secs = parseDuration(text, what);
  const problem = windowProblem(secs, text.trim());
  if (problem !== null) throw new UserError(`${what}: ${problem}`);
  return secs;
}

export function parsePort(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UserError(`${what}: "${text}" is not a port (1..65535)`);
  return n;
}

/**
 * "HOST:PORT", "[v6]:PORT" or ":PORT"/"PORT" (host 127.0.0.1: nothing listens beyond the
 * machine unless asked). Port 0 takes a free one.
 */
export function parseListen(text: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*))?:?(\d+)$/.exec(text.trim());
  if (!m)
    throw new UserError(
      `${what}: "${text}" is not HOST:PORT (examples: 127.0.0.1:9742, [::1]:9742, 0.0.0.0:9742)`,
    );
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535)
    throw new UserError(`${what}: "${m[3]}" is not a port (0..65535)`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const RETENTION_TABLES = [
  'flows',
  'flows_1m',
  'flows_1h',
  'packet_samples',
  'vf_counters',
  'vf_counters_1h',
  'sla_events',
];

/** "flows=14,packet_samples=1" → { flows: 14, packet_samples: 1 } (whole days >= 1). */
export function parseRetention(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*(\w+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m)
      throw new UserError(`--retention: "${part}" is not TABLE=DAYS (example: flows=14,packet_samples=1)`);
    if (!RETENTION_TABLES.includes(m[1])) {
      throw new UserError(`--retention: no table ${m[1]} (tables: ${RETENTION_TABLES.join(', ')})`);
    }
    const days = Number(m[2]);
    if (days < 1) throw new UserError(`--retention: ${m[1]} must keep at least 1 day`);
    if (days > MAX_RETENTION_DAYS)
      throw new UserError(
        `--retention: ${m[1]} can keep at most ${MAX_RETENTION_DAYS} days (arrival + retention must stay before 2106, the end of ClickHouse's DateTime)`,
      );
    out[m[1]] = days;
  }
  return out;
}

/**
 * A listen failure the user can fix (address taken, not allowed, not on this machine) as
 * a usage error; anything else is rethrown.
 */
export function listenError(err: unknown, host: string, port: number, hint: string): never {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    throw new UserError(`cannot listen on ${host}:${port}: ${code} (${hint})`);
  }
  throw err;
}

/** "127.0.0.1:6343", "[::1]:6343" → host and port; a UserError naming the flag and what is wrong. */
export function parseListenAddress(
  text: string,
  flag = '--sflow',
  port0 = 6343,
): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined) {
    throw new UserError(`${flag}: "${text}" is not ADDR:PORT (examples: 127.0.0.1:${port0}, [::1]:${port0})`);
  }
  if (isIP(host) === 0) throw new UserError(`${flag}: "${host}" is not an IPv4 or IPv6 address`);
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserError(`${flag}: "${m[3]}" is not a port (1..65535)`);
  return { host, port };
}

export const DEFAULT_NETFLOW_PORT = 2055;
export const DEFAULT_NETFLOW_ADDRESS = `127.0.0.1:${DEFAULT_NETFLOW_PORT}`;

export function parseNetflowAddress(text: string, flag = '--netflow'): { host: string; port: number } {
  return parseListenAddress(text, flag, DEFAULT_NETFLOW_PORT);
}
