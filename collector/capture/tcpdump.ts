/**
 * Live capture through tcpdump: `tcpdump -i IFACE -U -s 0 -w - [FILTER]` writes a classic
 * pcap stream on its stdout (flushed per packet, -U), which is parsed by CaptureReader.
 *
 * Errors are surfaced, never swallowed: a missing binary, a non-zero exit (no such device,
 * no permission, a bad filter: the message carries tcpdump's stderr), a malformed stream.
 *
 * Stopping (AbortSignal): tcpdump gets SIGTERM, flushes what it captured and exits; the
 * packets still in the pipe are delivered, then the promise resolves with the stats. A tcpdump
 * that does not exit within 3 s is killed (SIGKILL); a record cut short by that is dropped.
 */
import { spawn } from 'node:child_process';
import { CaptureReader } from './reader.js';
import { CaptureError, type CaptureStats, type PacketHandler } from './types.js';

export interface LiveCaptureOptions {
  /** BPF filter expression (tcpdump / pcap-filter syntax), e.g. "udp port 4789" */
  filter?: string;
  /** stops the capture: tcpdump is terminated and the promise resolves */
  signal?: AbortSignal;
  /** bytes captured per packet; 0 (default) = tcpdump's maximum, 262144 */
  snaplen?: number;
  /** the tcpdump binary (default: `tcpdump` from PATH) */
  tcpdumpPath?: string;
  /** deliver packets as they arrive instead of in kernel buffer batches (--immediate-mode) */
  immediate?: boolean;
  /** called once tcpdump reports that it is capturing */
  onListening?: () => void;
  /** called after each chunk of tcpdump output with the bytes and packets read */
  onProgress?: (bytesRead: number, packets: number) => void;
}

export interface LiveCaptureStats extends CaptureStats {
  /** tcpdump's closing "packets received by filter", null when it did not print it */
  receivedByFilter: number | null;
  /** tcpdump's closing "packets dropped by kernel", null when it did not print it */
  droppedByKernel: number | null;
}

/** tcpdump could not be started, or exited with an error. */
export class TcpdumpError extends Error {
  constructor(
    message: string,
    /** tcpdump's exit code (null when it did not start or was killed by a signal) */
    readonly exitCode: number | null,
    /** what tcpdump wrote on stderr */
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'TcpdumpError';
  }
}

/** Seconds to wait for tcpdump to exit after SIGTERM before it is killed. */
const KILL_AFTER_MS = 3000;
/** stderr kept for error messages and the closing counts */
const STDERR_MAX = 64 * 1024;

/** The tcpdump command line for a live capture (exported for display and tests). */
export function tcpdumpArgs(
  iface: string,
  opts: Pick<LiveCaptureOptions, 'filter' | 'snaplen' | 'immediate'> = {},
) {
  if (iface === '' || iface.startsWith('-')) throw new RangeError(`bad capture interface name "${iface}"`);
  const snaplen = opts.snaplen ?? 0;
  if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > 262144) {
    throw new RangeError(`snaplen ${snaplen} is not 0..262144`);
  }
  const args = ['-i', iface, '-U', '-s', String(snaplen), '-w', '-'];
  if (opts.immediate) args.push('--immediate-mode');
  const filter = opts.filter?.trim();
  if (filter) args.push('--', filter);
  return args;
}

/**
 * Captures live on `iface` with tcpdump, calling `onPacket` synchronously for each packet
 * (one reused CapturedPacket). Resolves when the signal aborts or tcpdump exits by itself
 * with status 0; rejects with TcpdumpError (not found, exit status != 0, with its stderr),
 * CaptureError (a malformed stream), or whatever the handler threw (tcpdump is stopped first).
 */
export function captureLive(
  iface: string,
  onPacket: PacketHandler,
  opts: LiveCaptureOptions = {},
): Promise<LiveCaptureStats> {
  const { signal } = opts;
  const args = tcpdumpArgs(iface, opts);
  const bin = opts.tcpdumpPath ?? 'tcpdump';
  if (signal?.aborted) {
    return Promise.resolve({
      info: null,
      packets: 0,
      bytes: 0,
      receivedByFilter: null,
      droppedByKernel: null,
    });
  }
  return new Promise<LiveCaptureStats>((resolve, reject) => {
    const reader = new CaptureReader(onPacket);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let listening = false;
    /** first error from the stream or the handler */
    let readError: unknown = null;
    let hasReadError = false;
    /** we sent tcpdump a signal (abort, or an error on our side) */
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const stop = () => {
      if (stopping) return;
      stopping = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    };
    const onAbort = () => stop();
    const settle = (err: unknown, stats?: LiveCaptureStats) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      if (stats !== undefined) resolve(stats);
      else reject(err);
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (hasReadError) return; // keep draining the pipe so tcpdump can exit
      try {
        reader.push(chunk);
      } catch (err) {
        hasReadError = true;
        readError = err;
        reader.stop();
        stop();
        return;
      }
      opts.onProgress?.(reader.bytesRead, reader.packets);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.length < STDERR_MAX) stderr += text.slice(0, STDERR_MAX - stderr.length);
      if (!listening && /listening on /.test(stderr)) {
        listening = true;
        opts.onListening?.();
      }
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined && err.code !== 'ENOENT' && err.code !== 'EACCES') return; // e.g. a failed kill
      const where = opts.tcpdumpPath === undefined ? '' : ` at ${bin}`;
      const message =
        err.code === 'ENOENT'
          ? `tcpdump not found${where}: install the Debian package tcpdump`
          : err.code === 'EACCES'
            ? `cannot run tcpdump${where}: permission denied`
            : `cannot start tcpdump${where}: ${err.message}`;
      settle(new TcpdumpError(message, null, ''));
    });
    child.on('close', (code: number | null, sig: NodeJS.Signals | null) => {
      if (hasReadError) {
        settle(readError);
        return;
      }
      if (!stopping && code !== 0) {
        const how = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
        const said = tcpdumpMessage(stderr);
        settle(new TcpdumpError(`tcpdump on ${iface} ${how}${said === '' ? '' : `: ${said}`}`, code, stderr));
        return;
      }
      try {
        reader.end();
      } catch (err) {
        // after our SIGTERM/SIGKILL a cut-off tail (or no header yet) is the stop, not bad input
        if (!(stopping && err instanceof CaptureError)) {
          settle(err);
          return;
        }
      }
      settle(null, { ...reader.stats, ...closingCounts(stderr) });
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** tcpdump's stderr without its informational lines: what it said about the failure. */
function tcpdumpMessage(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(
      (l) => l !== '' && !/listening on |packets? (captured|received by filter|dropped by kernel)/.test(l),
    )
    .join('\n');
}

function closingCounts(stderr: string): Pick<LiveCaptureStats, 'receivedByFilter' | 'droppedByKernel'> {
  const received = /(\d+) packets? received by filter/.exec(stderr);
  const dropped = /(\d+) packets? dropped by kernel/.exec(stderr);
  return {
    receivedByFilter: received ? Number(received[1]) : null,
    droppedByKernel: dropped ? Number(dropped[1]) : null,
  };
}
