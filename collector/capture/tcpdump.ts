/**
 * Live capture through tcpdump: `tcpdump -i IFACE -U -s 256 -B 32768 --immediate-mode -w -
 * [FILTER]` writes a classic pcap stream on its stdout (flushed per packet, -U), which is
 * parsed by CaptureReader.
 *
 * How it is started decides what it loses. libpcap's immediate mode uses a TPACKET_V2 ring
 * of fixed-size slots, each sized from the snaplen (capped at 64 KiB + 18 on interfaces with
 * offloads): with `-s 0` and the default 2 MiB buffer the ring holds about 16 packets, and a
 * mirror at 100 Mbit/s overflows it. So the snaplen is 256 by default (every header podwire
 * decodes fits: outer Ethernet + 2 tags + IPv6 + GRE/ERSPAN III or UDP/VXLAN, inner
 * Ethernet + 2 tags + IPv6 + TCP with full options is at most 212 bytes; packet samples keep
 * 128; byte counts come from the wire length) and the buffer 32 MiB: ~90,000 slots, over a
 * second of 1 Gbit/s of full-size frames. Immediate mode stays: without it (TPACKET_V3)
 * packets wait up to a second in a kernel block, and the block still open when tcpdump is
 * stopped is never delivered, nor counted as dropped.
 *
 * Drops are reported, never swallowed: tcpdump prints its statistics on SIGUSR1 (its
 * SIGINFO stand-in on Linux, installed before it says "listening on") and at exit; they are
 * asked for every `statsIntervalMs`, and the interface's own receive drops (sysfs) are read
 * with them. Errors are surfaced: a missing binary, a non-zero exit (no such device, no
 * permission, a bad filter: the message carries tcpdump's stderr), a malformed stream.
 *
 * Stopping (AbortSignal): tcpdump gets SIGTERM, flushes what it captured and exits; the
 * packets still in the pipe are delivered, then the promise resolves with the stats. A tcpdump
 * that does not exit within 3 s is killed (SIGKILL); a record cut short by that is dropped.
 */
import { spawn } from 'node:child_process';
import { InterfaceDropCounter } from './interface-drops.js';
import { CaptureReader } from './reader.js';
import { CaptureError, type CaptureStats, type PacketHandler } from './types.js';

/** Bytes captured per packet unless told otherwise: every header podwire decodes (see above). */
export const DEFAULT_SNAPLEN = 256;
/** The capture buffer (tcpdump -B), MiB. */
export const DEFAULT_BUFFER_MIB = 32;
/** How often tcpdump is asked for its drop counts while it runs. */
export const DEFAULT_STATS_INTERVAL_MS = 5000;

export interface LiveCaptureOptions {
  /** BPF filter expression (tcpdump / pcap-filter syntax), e.g. "udp port 4789" */
  filter?: string;
  /** stops the capture: tcpdump is terminated and the promise resolves */
  signal?: AbortSignal;
  /** bytes captured per packet (default 256); 0 = tcpdump's maximum, 262144 */
  snaplen?: number;
  /** the kernel capture buffer, MiB (default 32; tcpdump -B) */
  bufferMiB?: number;
  /** the tcpdump binary (default: `tcpdump` from PATH) */
  tcpdumpPath?: string;
  /**
   * deliver packets as they arrive (default true, --immediate-mode); false: in kernel blocks,
   * up to 1 s late, and the last block is lost when the capture stops
   */
  immediate?: boolean;
  /** ask tcpdump for its counts this often (default 5000 ms; 0: only at exit) */
  statsIntervalMs?: number;
  /** where the interface statistics are read (default /sys) */
  sysfsRoot?: string;
  /** called once tcpdump reports that it is capturing */
  onListening?: () => void;
  /** called after each chunk of tcpdump output with the bytes and packets read */
  onProgress?: (bytesRead: number, packets: number) => void;
  /** called with the drop counts each time tcpdump reports them (periodically and at exit) */
  onDrops?: (drops: CaptureDrops) => void;
}

/** What a live capture lost, and where. Cumulative since the capture started. */
export interface CaptureDrops {
  /** tcpdump's "packets received by filter" (the kernel's count: dropped ones included); null before its first report */
  receivedByFilter: number | null;
  /** tcpdump's "packets dropped by kernel": the capture buffer was full; null before its first report */
  droppedByKernel: number | null;
  /**
   * the interface's own receive drops since the capture started (rx_dropped + rx_missed_errors
   * + rx_fifo_errors): frames no capture on it saw; null when its statistics cannot be read
   */
  droppedByInterface: number | null;
}

export interface LiveCaptureStats extends CaptureStats, CaptureDrops {}

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
  opts: Pick<LiveCaptureOptions, 'filter' | 'snaplen' | 'bufferMiB' | 'immediate'> = {},
) {
  if (iface === '' || iface.startsWith('-')) throw new RangeError(`bad capture interface name "${iface}"`);
  const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > 262144) {
    throw new RangeError(`snaplen ${snaplen} is not 0..262144`);
  }
  const mib = opts.bufferMiB ?? DEFAULT_BUFFER_MIB;
  if (!Number.isInteger(mib) || mib < 1 || mib > 4096) {
    throw new RangeError(`capture buffer ${mib} MiB is not 1..4096`);
  }
  const args = ['-i', iface, '-U', '-s', String(snaplen), '-B', String(mib * 1024), '-w', '-'];
  if (opts.immediate ?? true) args.push('--immediate-mode');
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
  const statsEvery = opts.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS;
  if (signal?.aborted) {
    return Promise.resolve({
      info: null,
      packets: 0,
      bytes: 0,
      receivedByFilter: null,
      droppedByKernel: null,
      droppedByInterface: null,
    });
  }
  return new Promise<LiveCaptureStats>((resolve, reject) => {
    const reader = new CaptureReader(onPacket);
    // the baseline before tcpdump opens the interface: what it drops from then on counts
    const ifDrops = new InterfaceDropCounter(iface, opts.sysfsRoot);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = new TcpdumpStderr();
    const drops: CaptureDrops = { receivedByFilter: null, droppedByKernel: null, droppedByInterface: null };
    let listening = false;
    /** first error from the stream or the handler */
    let readError: unknown = null;
    let hasReadError = false;
    /** we sent tcpdump a signal (abort, or an error on our side) */
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    let statsTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const stop = () => {
      if (stopping) return;
      stopping = true;
      clearInterval(statsTimer);
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    };
    const onAbort = () => stop();
    const settle = (err: unknown, stats?: LiveCaptureStats) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearInterval(statsTimer);
      signal?.removeEventListener('abort', onAbort);
      if (stats !== undefined) resolve(stats);
      else reject(err);
    };
    const onCounts = (c: TcpdumpCounts) => {
      drops.receivedByFilter = c.receivedByFilter ?? drops.receivedByFilter;
      drops.droppedByKernel = c.droppedByKernel ?? drops.droppedByKernel;
      drops.droppedByInterface = ifDrops.read();
      opts.onDrops?.({ ...drops });
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
      for (const c of lines.push(text)) onCounts(c);
      if (!listening && lines.listening) {
        listening = true;
        // SIGUSR1 only now: tcpdump installs its handler before "listening on" (unhandled, it kills)
        if (statsEvery > 0 && !stopping) {
          statsTimer = setInterval(() => child.kill('SIGUSR1'), statsEvery);
          statsTimer.unref();
        }
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
      clearInterval(statsTimer);
      for (const c of lines.end()) onCounts(c);
      if (hasReadError) {
        settle(readError);
        return;
      }
      if (!stopping && code !== 0) {
        const how = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
        const said = lines.message();
        settle(
          new TcpdumpError(`tcpdump on ${iface} ${how}${said === '' ? '' : `: ${said}`}`, code, lines.text),
        );
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
      drops.droppedByInterface = ifDrops.read();
      settle(null, { ...reader.stats, ...drops });
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Counts from one tcpdump statistics report (fields it did not print are null). */
export interface TcpdumpCounts {
  receivedByFilter: number | null;
  droppedByKernel: number | null;
}

const RECEIVED_RE = /(\d+) packets? received by filter/;
const KERNEL_RE = /(\d+) packets? dropped by kernel/;
const STATS_RE = /^(tcpdump: )?\d+ packets? (captured|received by filter|dropped by (kernel|interface))\b/;

/**
 * tcpdump's stderr, line by line: its statistics reports (on SIGUSR1, one line:
 * "tcpdump: 5 packets captured, 5 packets received by filter, 0 packets dropped by kernel";
 * at exit, one count per line) are parsed out, the rest is kept (bounded) for error
 * messages. A report is complete at its "dropped by kernel" count.
 */
export class TcpdumpStderr {
  /** what tcpdump said besides its statistics (at most STDERR_MAX characters) */
  text = '';
  listening = false;
  private partial = '';
  private pending: TcpdumpCounts = { receivedByFilter: null, droppedByKernel: null };

  /** Feeds a chunk; returns the reports it completed. */
  push(chunk: string): TcpdumpCounts[] {
    const out: TcpdumpCounts[] = [];
    const all = this.partial + chunk;
    const cut = all.lastIndexOf('\n');
    if (cut < 0) {
      this.partial = all.length > STDERR_MAX ? all.slice(0, STDERR_MAX) : all;
      return out;
    }
    this.partial = all.slice(cut + 1);
    for (const line of all.slice(0, cut).split('\n')) this.line(line, out);
    return out;
  }

  /** The last line without its newline (tcpdump exited). */
  end(): TcpdumpCounts[] {
    const out: TcpdumpCounts[] = [];
    if (this.partial !== '') this.line(this.partial, out);
    this.partial = '';
    return out;
  }

  /** What tcpdump said about a failure: its stderr without the informational lines. */
  message(): string {
    return this.text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/listening on /.test(l))
      .join('\n');
  }

  private line(line: string, out: TcpdumpCounts[]): void {
    if (STATS_RE.test(line)) {
      const r = RECEIVED_RE.exec(line);
      if (r) this.pending.receivedByFilter = Number(r[1]);
      const k = KERNEL_RE.exec(line);
      if (k) {
        this.pending.droppedByKernel = Number(k[1]);
        out.push(this.pending);
        this.pending = { receivedByFilter: null, droppedByKernel: null };
      }
      return;
    }
    if (/listening on /.test(line)) this.listening = true;
    if (this.text.length < STDERR_MAX) this.text += `${line}\n`.slice(0, STDERR_MAX - this.text.length);
  }
}
