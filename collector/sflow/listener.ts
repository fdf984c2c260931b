/**
 * The sFlow UDP listener (node:dgram), IPv4 or IPv6 by the address it binds.
 *
 * - A large receive buffer (64 MiB asked): sFlow comes in bursts and a thread may be
 *   descheduled or busy flushing a window; what the kernel granted (Linux caps SO_RCVBUF at
 *   net.core.rmem_max, 4 MiB on this Debian, then doubles it for bookkeeping) is reported
 *   in `recvBufferSize`, and `receiveBufferText` says when the cap cut it. bench:udp at
 *   100k datagrams/s with dgram reader threads: with 8 MiB granted the kernel dropped
 *   31–72k of 800k; with 128 MiB (rmem_max raised) none. recvmmsg readers drop none at
 *   120k/s with 8 MiB.
 * - Nothing lost silently: datagrams the process could not keep up with overflow the
 *   socket's buffer and the kernel drops them; `kernelDrops()` reads that count for this
 *   socket from /proc/net/udp (udp6), the `drops` column. Datagrams decoded badly are
 *   counted by the intake, and gaps in the agents' sequence numbers show up as loss there.
 * - This listener is the `--sflow-readers 0` path: dgram in the caller's thread, one socket
 *   event per datagram (bench:udp: 67k of 120k/s received, with decoding, on the 2-core
 *   VM). The default reads in
 *   a reader thread with recvmmsg (collector/udp/readers.ts).
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { udpPortLines } from '../udp/socket-fd.js';

export const DEFAULT_SFLOW_PORT = 6343;
export const DEFAULT_RECV_BUFFER = 64 * 1024 * 1024;

/**
 * The startup line's "receive buffer N bytes", and when net.core.rmem_max cut what was
 * asked, how to raise it (the kernel grants twice the capped size).
 */
export function receiveBufferText(granted: number, asked = DEFAULT_RECV_BUFFER): string {
  let max = Number.NaN;
  try {
    max = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  } catch {
    // not Linux: nothing to say about the cap
  }
  const capped = granted < 2 * asked && max < asked;
  return (
    `receive buffer ${granted} bytes` +
    (capped ? `, capped by net.core.rmem_max ${max}: for bursts, sysctl -w net.core.rmem_max=${asked}` : '')
  );
}

/**
 * The line that says a UDP intake is ready: `podwire: listening for WHAT on LISTEN
 * (receive buffer …)`, then how it is read (`; 1 reader threads (recvmmsg), …`).
 */
export function listeningLine(
  what: string,
  listen: string,
  recvBufferSize: number,
  threads: string[],
): string {
  const t = threads.filter((x) => x !== '');
  return (
    `podwire: listening for ${what} on ${listen} (${receiveBufferText(recvBufferSize)})` +
    (t.length > 0 ? `; ${t.join(', ')}` : '')
  );
}

export interface SflowListenerOptions {
  host: string;
  port: number;
  /** SO_RCVBUF to ask for (bytes) */
  recvBufferSize?: number;
  /**
   * each datagram, its arrival time (µs since the epoch) and its source address (NetFlow
   * names its exporter by it); `msg` is the caller's to keep
   */
  onDatagram: (msg: Buffer, tUs: number, from: string) => void;
  /** a socket error after binding (the listener keeps running; it is counted too) */
  onError?: (err: Error) => void;
}

export interface ListenerStats {
  datagrams: number;
  bytes: number;
  socketErrors: number;
}

export class SflowListener {
  readonly stats: ListenerStats = { datagrams: 0, bytes: 0, socketErrors: 0 };
  /** the receive buffer the kernel granted (bytes) */
  readonly recvBufferSize: number;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    readonly family: 'IPv4' | 'IPv6',
  ) {
    this.recvBufferSize = socket.getRecvBufferSize();
  }

  /** Binds; rejects with the socket's error (EADDRINUSE, EADDRNOTAVAIL, EACCES). */
  static open(o: SflowListenerOptions): Promise<SflowListener> {
    const v6 = isIPv6(o.host);
    const socket = createSocket({
      type: v6 ? 'udp6' : 'udp4',
      recvBufferSize: o.recvBufferSize ?? DEFAULT_RECV_BUFFER,
      // an IPv6 listener on a specific address takes IPv6 only; '::' also IPv4-mapped
      ipv6Only: false,
    });
    return new Promise((resolve, reject) => {
      const onBindError = (err: Error) => {
        socket.close();
        reject(err);
      };
      socket.once('error', onBindError);
      socket.bind(o.port, o.host, () => {
        socket.off('error', onBindError);
        const a = socket.address();
        const l = new SflowListener(socket, a.address, a.port, v6 ? 'IPv6' : 'IPv4');
        socket.on('message', (msg, rinfo) => {
          l.stats.datagrams++;
          l.stats.bytes += msg.length;
          o.onDatagram(msg, Date.now() * 1000, rinfo.address);
        });
        socket.on('error', (err) => {
          l.stats.socketErrors++;
          o.onError?.(err);
        });
        resolve(l);
      });
    });
  }

  /** Datagrams the kernel dropped for this socket (full receive buffer); null if unknown. */
  async kernelDrops(): Promise<number | null> {
    const file = this.family === 'IPv6' ? '/proc/net/udp6' : '/proc/net/udp';
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return null;
    }
    return dropsForPort(text, this.port);
  }

  /**
   * Resolves once the datagrams already queued on the socket have been read (reads stop
   * for 10 ms), so a stop does not leave the kernel's buffer unread.
   */
  async drain(): Promise<void> {
    for (;;) {
      const before = this.stats.datagrams;
      await new Promise((r) => setTimeout(r, 10));
      if (this.stats.datagrams === before) return;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * The `drops` column of the /proc/net/udp{,6} lines whose local port is `port` (summed
 * over every socket on it; null when no line matches).
 */
export function dropsForPort(text: string, port: number): number | null {
  const lines = udpPortLines(text, port);
  return lines.length === 0 ? null : lines.reduce((n, f) => n + (Number(f[f.length - 1]) || 0), 0);
}
