/**
 * One reader thread of a UDP socket (see readers.ts): it reads datagrams, stamps their
 * arrival (wall clock for the intake, the shared monotonic clock for the merge), picks
 * each one's shard by its key (the exporter) and packs it into that shard's batch; the
 * batches go out over the shards' channels 1 ms after their first datagram (or full). At most `maxInFlight`
 * batches per shard wait unacknowledged: beyond that, datagrams are dropped and counted
 * (`overloadDrops`), never queued without bound. Counts live in a SharedArrayBuffer the
 * main thread reads at any time.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { parseIpv4, parseIpv6 } from '../decode/addr.js';
import { type AckMessage, addressText, BatchWriter, type InputMessage } from './batch.js';
import { type ReaderInit, type ReaderReply, STAT_FIELDS, Stat } from './readers.js';
import { MmsgReceiver } from './recvmmsg.js';
import { socketFd } from './socket-fd.js';

const init = workerData as ReaderInit;
const parent = parentPort!;
const stats = new Float64Array(init.stats, init.index * STAT_FIELDS * 8, STAT_FIELDS);
const outputs: MessagePort[] = init.outputs;
const writers = outputs.map(() => new BatchWriter());
const reply = (m: ReaderReply) => parent.postMessage(m);
const FLUSH_MS = 1;
const MARK_MS = 2;
const now = () => Number(process.hrtime.bigint());
const lastSent = new Float64Array(outputs.length);

/** a sender's address bytes and family, kept for the few exporters there are (dgram) */
interface Sender {
  family: number;
  bytes: Uint8Array;
}
const MAX_SENDERS = 4096;
const senders = new Map<string, Sender>();

function sender(address: string): Sender {
  let s = senders.get(address);
  if (s === undefined) {
    const v4 = isIPv4(address);
    let bytes: Uint8Array;
    if (v4) {
      const n = parseIpv4(address);
      bytes = new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
    } else {
      bytes = parseIpv6(address.split('%')[0]);
    }
    s = { family: v4 ? 4 : 6, bytes };
    // bounded against spoofed sources: forgetting costs only the parse
    if (senders.size >= MAX_SENDERS) senders.clear();
    senders.set(address, s);
  }
  return s;
}

type KeyFn = (msg: Uint8Array, sender: string) => number;
const key: KeyFn | null =
  init.key === undefined ? null : ((await import(init.key.module)) as Record<string, KeyFn>)[init.key.name];
if (init.key !== undefined && typeof key !== 'function') {
  throw new Error(`no shard key function ${init.key.name} in ${init.key.module}`);
}

let stopping = false;
let scheduled = false;

/**
 * Sends shard k's batch. With maxInFlight batches unacknowledged, a batch not yet full
 * stays and fills on (it goes when an acknowledgement comes); a full one is dropped.
 */
function send(k: number, full: boolean): void {
  const w = writers[k];
  if (w.count === 0) return;
  if (w.inFlight >= init.maxInFlight) {
    if (!full && !stopping) return;
    stats[Stat.overloadDrops] += w.count;
    w.discard();
    return;
  }
  w.inFlight++;
  const b = w.take();
  outputs[k].postMessage(
    { type: 'batch', buf: b.buf, used: b.used, count: b.count, at: now() } satisfies InputMessage,
    [b.buf],
  );
  lastSent[k] = Date.now();
}

// a shard that got nothing for MARK_MS hears how far this reader is, so that its merge
// need not wait for datagrams that will not come
setInterval(() => {
  if (stopping) return;
  const t = Date.now();
  const at = now();
  for (let k = 0; k < outputs.length; k++) {
    if (t - lastSent[k] >= MARK_MS && writers[k].count === 0) {
      outputs[k].postMessage({ type: 'mark', at } satisfies InputMessage);
      lastSent[k] = t;
    }
  }
}, MARK_MS).unref();

function flushAll(): void {
  scheduled = false;
  for (let k = 0; k < writers.length; k++) send(k, false);
}

outputs.forEach((port, k) => {
  port.on('message', (m: AckMessage) => {
    writers[k].giveBack(m.buf);
    // a batch kept back while the shard was full goes now
    if (!scheduled) send(k, false);
  });
});

/** FNV-1a of the sender's address bytes: the default shard key */
function addressHash(addr: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < addr.length; i++) h = Math.imul(h ^ addr[i], 0x01000193);
  return h >>> 0;
}

/**
 * One datagram read: counted, then packed into its shard's batch. `text` is the sender's
 * address as text when the reader has it (dgram); a shard key function is given it.
 */
function take(
  msg: Uint8Array,
  tUs: number,
  order: number,
  family: number,
  addr: Uint8Array,
  port: number,
  text: string | null,
): void {
  stats[Stat.datagrams]++;
  stats[Stat.bytes] += msg.length;
  if (stopping) {
    stats[Stat.stopDrops]++;
    return;
  }
  const n = writers.length;
  const k =
    n === 1
      ? 0
      : ((key === null ? addressHash(addr) : key(msg, text ?? addressText(addr, 0, family))) >>> 0) % n;
  const w = writers[k];
  if (!w.fits(msg.length)) send(k, true);
  w.append(msg, tUs, order, family, addr, port);
  if (!scheduled) {
    scheduled = true;
    // what arrives within FLUSH_MS goes in one batch: fewer, fuller batches, so that the
    // ones a consumer holds for its merge (HOLD_MS) stay well within maxInFlight
    setTimeout(flushAll, FLUSH_MS);
  }
}

/**
 * recvmmsg: the socket (opened by UdpReaders in the main thread) is read when libuv says
 * it is readable, up to DRAIN_CALLS calls of VLEN datagrams at a time — then the event
 * loop turns, so acknowledgements, the flush timer and `stop` are not held up by a flood
 * (the poll is level-triggered: what is left wakes it again).
 */
const DRAIN_CALLS = 16;
let receiver: MmsgReceiver | null = null;
let watch: { close(): void } | null = null;

/** Reads what is queued, DRAIN_CALLS calls at most; returns the datagrams read. */
function drain(r: MmsgReceiver): number {
  let read = 0;
  for (let call = 0; call < DRAIN_CALLS; call++) {
    let n: number;
    try {
      n = r.receive();
    } catch {
      stats[Stat.socketErrors]++;
      return read;
    }
    if (n === 0) return read;
    read += n;
    const tUs = Date.now() * 1000;
    const order = now();
    for (let i = 0; i < n; i++) {
      const family = r.family(i);
      const a = r.address(i);
      const addr = r.names.subarray(a, a + (family === 4 ? 4 : 16));
      const p = r.payload(i);
      const msg = r.data.subarray(p, p + r.length(i));
      take(msg, tUs, order, family, addr, r.port(i), null);
    }
    if (n < r.vlen) return read;
  }
  return read;
}

function startRecvmmsg(): void {
  receiver = new MmsgReceiver(init.fd);
  const r = receiver;
  watch = r.watch(() => drain(r));
  reply({ type: 'bound', fd: init.fd, address: '', port: 0, recvBufferSize: 0 });
}

/** dgram: Node's socket, the fallback where recvmmsg is unavailable */
function startDgram(): void {
  const socket = createSocket({
    type: init.v6 ? 'udp6' : 'udp4',
    recvBufferSize: init.recvBufferSize,
    ipv6Only: false,
  });
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const s = sender(rinfo.address);
    take(msg, Date.now() * 1000, now(), s.family, s.bytes, rinfo.port, rinfo.address);
  });
  socket.on('error', () => {
    stats[Stat.socketErrors]++;
  });
  if (init.fd >= 0) {
    socket.bind({ fd: init.fd }, () =>
      reply({ type: 'bound', fd: init.fd, address: '', port: 0, recvBufferSize: 0 }),
    );
    return;
  }
  const onBindError = (err: NodeJS.ErrnoException) =>
    reply({ type: 'error', message: err.message, code: err.code });
  socket.once('error', onBindError);
  socket.bind(init.port, init.host, () => {
    socket.off('error', onBindError);
    const a = socket.address();
    socketFd(a.port, init.v6).then(
      (fd) =>
        reply({
          type: 'bound',
          fd,
          address: a.address,
          port: a.port,
          recvBufferSize: socket.getRecvBufferSize(),
        }),
      (err: Error) => reply({ type: 'error', message: err.message }),
    );
  });
}

if (init.method === 'recvmmsg') startRecvmmsg();
else startDgram();

parent.on('message', (m: { type: 'stop' }) => {
  if (m.type !== 'stop') return;
  // what was read goes out, then each consumer hears that this reader is done
  if (receiver !== null) {
    // what the socket holds now is read and passed on; the main thread counts what comes
    // after, when it closes the socket
    while (drain(receiver) > 0);
    watch?.close();
    // the slots are native memory (koffi.alloc), not the thread's heap: freed by hand
    receiver.free();
    receiver = null;
  }
  stopping = true;
  flushAll();
  for (const port of outputs) port.postMessage({ type: 'end' } satisfies InputMessage);
  reply({ type: 'stopped' });
});
