/**
 * A UDP socket read by reader threads, which hand the datagrams to consumers in batches:
 * the intake's way past one core per socket on Node 20.
 *
 * recvmmsg (the default, recvmmsg.ts): this thread binds a socket per reader and each
 * reader reads 64 datagrams a call from its own. Several readers' sockets are one
 * SO_REUSEPORT group, as goflow2 and Akvorado open one per worker: the kernel hashes each
 * sender to one socket, so an exporter stays with one reader, in order.
 *
 * dgram (the fall back): the first reader thread binds the socket; the others open the
 * same descriptor (`bind({ fd })`, the fd found through /proc: socket-fd.ts), so all of
 * them wait on one kernel queue and whichever is free takes the next datagrams (libuv
 * reads up to 32 per wakeup). One descriptor shared by threads means every reader's handle
 * closes it when it goes: `close()` stops all readers together, so the window in which the
 * number could be reused by another open() and closed again is the few milliseconds
 * between their exits.
 *
 * Either way a datagram may reach any reader, so each reader forwards every datagram to
 * the consumer that owns its exporter — the shard its key picks (default: the sender's
 * address) — over a channel per (reader, shard), and the consumer merges its inputs back
 * into arrival order (merge.ts). Readers know nothing of the protocol: a consumer gets
 * bytes, sender and arrival time. Like goflow2 (utils/udp.go: receiver goroutines feeding
 * decoders through a bounded queue, drops counted when it is full) the reading and
 * decoding are apart and bounded.
 */

import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { dropsForPort } from '../sflow/listener.js';
import {
  closeUdpSocket,
  MmsgReceiver,
  type OpenedSocket,
  openUdpSocket,
  recvmmsgUnavailable,
} from './recvmmsg.js';
import { foreignSharers } from './socket-fd.js';

/** Per-reader counts in the shared stats buffer. */
export const Stat = { datagrams: 0, bytes: 1, overloadDrops: 2, socketErrors: 3, stopDrops: 4 } as const;
export const STAT_FIELDS = 5;
/**
 * Batches of 256 KiB one reader may have unacknowledged, over all its shards (64 MiB):
 * what carries a consumer through a stall. A flow window closing (the flow table emits
 * and the output formats every flow of it) stopped the decoding for 100–300 ms; at
 * 120,000 datagrams/s of 1.1 KB that is up to 40 MB. With 64 batches (16 MiB) bench:udp
 * lost 2.6–34k datagrams of 1.2M at those moments. The memory is taken only while a
 * consumer is behind: a reader keeps 4 spare batches a shard.
 */
export const READER_BATCHES = 256;

/** Batches one reader may have unacknowledged per shard (16 at least). */
export function maxInFlight(shards: number): number {
  return Math.max(16, Math.floor(READER_BATCHES / shards));
}

export interface ShardKey {
  /** a module's URL (import.meta.url style) */
  module: string;
  /** its export: (datagram, sender address) → a 32-bit hash of the exporter */
  name: string;
}

/**
 * How reader threads read: `recvmmsg` (recvmmsg.ts: many datagrams a call, the default
 * where it loads) or `dgram` (Node's socket: one event a datagram).
 */
export type ReceiveMethod = 'recvmmsg' | 'dgram';

/**
 * The method to use when none is asked: PODWIRE_UDP_RECEIVE (`recvmmsg` or `dgram`, for an
 * operator who must rule one out) or else recvmmsg where it loads.
 */
export function defaultReceiveMethod(): ReceiveMethod {
  const asked = process.env.PODWIRE_UDP_RECEIVE;
  if (asked === 'dgram') return 'dgram';
  if (asked !== undefined && asked !== '' && asked !== 'recvmmsg') {
    throw new Error(`PODWIRE_UDP_RECEIVE is recvmmsg or dgram, not ${asked}`);
  }
  const why = recvmmsgUnavailable();
  if (why !== null && asked === 'recvmmsg') throw new Error(`PODWIRE_UDP_RECEIVE=recvmmsg: ${why}`);
  return why === null ? 'recvmmsg' : 'dgram';
}

/** The start line's "N reader threads (how they read)". */
export function readerThreadsText(readers: number, method = defaultReceiveMethod()): string {
  const why = method === 'dgram' ? (recvmmsgUnavailable() ?? 'PODWIRE_UDP_RECEIVE=dgram') : null;
  return `${readers} reader threads (${method}${why === null ? '' : `: ${why}`})`;
}

export interface ReaderInit {
  index: number;
  method: ReceiveMethod;
  host: string;
  port: number;
  v6: boolean;
  recvBufferSize: number;
  /** -1: bind host:port; else open this descriptor */
  fd: number;
  outputs: MessagePort[];
  key?: ShardKey;
  stats: SharedArrayBuffer;
  maxInFlight: number;
}

export type ReaderReply =
  | { type: 'bound'; fd: number; address: string; port: number; recvBufferSize: number }
  /** `code`: the socket error's (EADDRINUSE, …), so that callers can tell a usage error */
  | { type: 'error'; message: string; code?: string }
  | { type: 'stopped' };

export interface UdpReadersOptions {
  host: string;
  port: number;
  readers: number;
  /** consumers the datagrams are sharded over */
  shards: number;
  recvBufferSize: number;
  /** what picks an exporter's shard (default: a hash of the sender's address) */
  key?: ShardKey;
  maxInFlight?: number;
  /** default: defaultReceiveMethod() */
  method?: ReceiveMethod;
}

export interface UdpReaderStats {
  datagrams: number;
  bytes: number;
  /** datagrams dropped because their shard's consumer had maxInFlight batches unacknowledged */
  overloadDrops: number;
  socketErrors: number;
  /** datagrams read after stop began (the socket was still open): dropped, counted */
  stopDrops: number;
}

function reply(w: Worker): Promise<ReaderReply> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    w.once('error', onError);
    w.once('message', (m: ReaderReply) => {
      w.off('error', onError);
      resolve(m);
    });
  });
}

/** A reader's failure as an Error carrying the socket error's code. */
function replyError(r: ReaderReply, otherwise: string): Error {
  if (r.type !== 'error') return new Error(otherwise);
  return Object.assign(new Error(r.message), r.code === undefined ? {} : { code: r.code });
}

export class UdpReaders {
  private closed = false;
  /** read by close() after the readers stopped (recvmmsg), counted with stopDrops */
  private lateDrops = 0;

  private constructor(
    private readonly workers: Worker[],
    private readonly stats: Float64Array,
    /** inputs[shard] = one port per reader, for the shard's consumer */
    private readonly inputs: MessagePort[][],
    readonly address: string,
    readonly port: number,
    readonly family: 'IPv4' | 'IPv6',
    /** the receive buffer the kernel granted (bytes) */
    readonly recvBufferSize: number,
    readonly method: ReceiveMethod,
    /** recvmmsg: the sockets (one a reader) this thread opened and closes; none with dgram */
    private readonly fds: number[],
  ) {}

  /** Binds and starts the readers; rejects with the socket's error (EADDRINUSE, …). */
  static async open(o: UdpReadersOptions): Promise<UdpReaders> {
    if (!(Number.isInteger(o.readers) && o.readers >= 1)) throw new RangeError('readers must be >= 1');
    if (!(Number.isInteger(o.shards) && o.shards >= 1)) throw new RangeError('shards must be >= 1');
    const method = o.method ?? defaultReceiveMethod();
    const v6 = isIPv6(o.host);
    // recvmmsg: this thread binds (a bind error is thrown here), a socket per reader
    const own = method === 'recvmmsg' ? await openReaderSockets(o, v6) : null;
    const sab = new SharedArrayBuffer(o.readers * STAT_FIELDS * 8);
    const channels = Array.from({ length: o.readers }, () =>
      Array.from({ length: o.shards }, () => new MessageChannel()),
    );
    const workers: Worker[] = [];
    const start = (index: number, fd: number) => {
      const outputs = channels[index].map((c) => c.port1);
      const init: ReaderInit = {
        index,
        method,
        host: o.host,
        port: o.port,
        v6,
        recvBufferSize: o.recvBufferSize,
        fd,
        outputs,
        key: o.key,
        stats: sab,
        maxInFlight: o.maxInFlight ?? maxInFlight(o.shards),
      };
      const w = new Worker(new URL('./reader-thread.js', import.meta.url), {
        workerData: init,
        transferList: outputs,
      });
      workers.push(w);
      return reply(w);
    };
    const fail = async (r: ReaderReply, otherwise: string) => {
      await Promise.all(workers.map((w) => w.terminate()));
      for (const s of own ?? []) closeUdpSocket(s.fd);
      return replyError(r, otherwise);
    };
    const first = await start(0, own?.[0].fd ?? -1).catch((err: Error) => ({
      type: 'error' as const,
      message: err.message,
    }));
    if (first.type !== 'bound') throw await fail(first, 'reader did not bind');
    const rest = await Promise.all(
      Array.from({ length: o.readers - 1 }, (_, i) => start(i + 1, own?.[i + 1].fd ?? first.fd)),
    );
    const failed = rest.find((r) => r.type !== 'bound');
    if (failed !== undefined) throw await fail(failed, 'reader did not open the socket');
    const inputs = Array.from({ length: o.shards }, (_, s) => channels.map((row) => row[s].port2));
    return new UdpReaders(
      workers,
      new Float64Array(sab),
      inputs,
      own === null ? first.address : o.host,
      own?.[0].port ?? first.port,
      v6 ? 'IPv6' : 'IPv4',
      own?.[0].recvBufferSize ?? first.recvBufferSize,
      method,
      own?.map((s) => s.fd) ?? [],
    );
  }

  get readers(): number {
    return this.workers.length;
  }

  /** "N reader threads (recvmmsg)", or "(dgram: why)": how these readers read */
  get threadsText(): string {
    return readerThreadsText(this.readers, this.method);
  }

  /** The ports (one per reader) a shard's consumer reads batches from and acknowledges on. */
  inputsOf(shard: number): MessagePort[] {
    return this.inputs[shard];
  }

  /** Counts summed over the readers, live. */
  get totals(): UdpReaderStats {
    const t: UdpReaderStats = {
      datagrams: this.lateDrops,
      bytes: 0,
      overloadDrops: 0,
      socketErrors: 0,
      stopDrops: this.lateDrops,
    };
    for (let i = 0; i < this.workers.length; i++) {
      const b = i * STAT_FIELDS;
      t.datagrams += this.stats[b + Stat.datagrams];
      t.bytes += this.stats[b + Stat.bytes];
      t.overloadDrops += this.stats[b + Stat.overloadDrops];
      t.socketErrors += this.stats[b + Stat.socketErrors];
      t.stopDrops += this.stats[b + Stat.stopDrops];
    }
    return t;
  }

  /** Datagrams per reader (how the kernel queue was shared). */
  perReader(): number[] {
    return this.workers.map((_, i) => this.stats[i * STAT_FIELDS + Stat.datagrams]);
  }

  /** Datagrams the kernel dropped for the socket (full receive buffer); null if unknown. */
  async kernelDrops(): Promise<number | null> {
    try {
      return dropsForPort(
        await readFile(this.family === 'IPv6' ? '/proc/net/udp6' : '/proc/net/udp', 'utf8'),
        this.port,
      );
    } catch {
      return null;
    }
  }

  /** Resolves once what is queued on the socket has been read (reads stop for 10 ms). */
  async drain(): Promise<void> {
    for (;;) {
      const before = this.totals.datagrams;
      await new Promise((r) => setTimeout(r, 10));
      if (this.totals.datagrams === before) return;
    }
  }

  /**
   * Stops reading: each reader sends what it holds and an `end` to every consumer, then
   * all readers go together (the socket closes with the first).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.workers.map((w) => {
        const stopped = reply(w).catch(() => undefined);
        w.postMessage({ type: 'stop' });
        return stopped;
      }),
    );
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const fd of this.fds) this.closeSocket(fd);
  }

  /** Datagrams that reached a socket after its reader's last read: counted, then closed. */
  private closeSocket(fd: number): void {
    const r = new MmsgReceiver(fd, 64);
    try {
      for (let n = r.receive(); n > 0; n = r.receive()) this.lateDrops += n;
    } catch {
      // a socket error now loses nothing more than closing does
    } finally {
      r.free();
      closeUdpSocket(fd);
    }
  }
}

/**
 * One socket per reader (recvmmsg). Several readers: SO_REUSEPORT sockets on one address,
 * the kernel hashing each sender (address and port) to one of them, so an exporter's
 * datagrams are read by one reader in the order they came, as goflow2 and Akvorado do; a
 * socket of another process in the same group would take some of them, so it is refused
 * like a port in use. One reader: a plain socket, EADDRINUSE as dgram gives it.
 */
async function openReaderSockets(o: UdpReadersOptions, v6: boolean): Promise<OpenedSocket[]> {
  const shared = o.readers > 1;
  const out = [openUdpSocket(o.host, o.port, v6, o.recvBufferSize, shared)];
  try {
    while (out.length < o.readers) out.push(openUdpSocket(o.host, out[0].port, v6, o.recvBufferSize, true));
    const others = shared
      ? await foreignSharers(
          out[0].port,
          v6,
          out.map((s) => s.fd),
        )
      : 0;
    if (others > 0) {
      throw Object.assign(
        new Error(
          `bind EADDRINUSE ${o.host}:${out[0].port} (${others} other SO_REUSEPORT socket(s) would share it)`,
        ),
        { code: 'EADDRINUSE' },
      );
    }
    return out;
  } catch (err) {
    for (const s of out) closeUdpSocket(s.fd);
    throw err;
  }
}
