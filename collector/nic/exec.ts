/**
 * What the NIC sources share: running a command (execFile with an argument array, never a
 * shell; a timeout; errors that say which command failed and what it wrote on stderr), and
 * checking the names that end up in command lines and sysfs paths.
 */
import { execFile } from 'node:child_process';

/** Runs `file args…` and resolves with its stdout; rejects with an Error naming the command. */
export type ExecFn = (
  file: string,
  args: readonly string[],
  options: { timeoutMs: number },
) => Promise<string>;

const MAX_OUTPUT = 32 * 1024 * 1024;
/** stderr kept in error messages */
const STDERR_MAX = 500;

/** The default ExecFn: child_process.execFile, C locale, SIGKILL on timeout. */
export const execCommand: ExecFn = (file, args, { timeoutMs }) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      args as string[],
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        const cmd = [file, ...args].join(' ');
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        const text = String(stderr ?? '')
          .trim()
          .replace(/\s+/g, ' ')
          .slice(0, STDERR_MAX);
        if (e.code === 'ENOENT') reject(new Error(`${cmd}: command not found (${file})`));
        else if (e.killed && e.signal === 'SIGKILL')
          reject(new Error(`${cmd}: timed out after ${timeoutMs} ms`));
        else if (typeof e.code === 'number') {
          reject(new Error(`${cmd}: exited with code ${e.code}${text ? `: ${text}` : ''}`));
        } else reject(new Error(`${cmd}: ${text || e.message}`));
      },
    );
  });

/**
 * Checks an interface or network-namespace name from configuration: it goes into command
 * lines and sysfs paths, so no '/', no whitespace or NUL, not '.'/'..', no leading '-'.
 */
export function checkName(what: string, name: unknown): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > 127 ||
    name === '.' ||
    name === '..' ||
    name.startsWith('-') ||
    /[/\s\0]/.test(name)
  ) {
    throw new TypeError(`${what}: invalid name ${JSON.stringify(name)}`);
  }
  return name;
}

/** Checks the common source options: a node name and a non-empty device list. */
export function checkCommon(source: string, node: unknown, devices: unknown): string[] {
  if (typeof node !== 'string' || node === '') {
    throw new TypeError(`${source} source: node must be a non-empty string`);
  }
  if (!Array.isArray(devices)) throw new TypeError(`${source} source: devices must be an array of names`);
  return devices.map((d, i) => checkName(`${source} source: devices[${i}]`, d));
}

/** "-n NS" for ip/tc when a namespace is given. */
export function netnsArgs(netns: string | undefined): string[] {
  return netns === undefined ? [] : ['-n', netns];
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
