/**
 * The sFlow socket read by reader threads (collector/udp/readers.ts), sharded by agent
 * address over the decoding workers. The default is ONE reader thread: it reads in the
 * kernel's order, off the main thread, while the workers decode. Several readers share
 * the socket's queue, but their order stamps are taken after the read in JavaScript, and
 * on a loaded machine a reader preempted between its read and its stamp makes datagrams
 * tens of microseconds apart swap (measured: 5–10 of 117 datagrams sent one at a time
 * came late); the datagram sequence sorts that out (late, not lost), but sample sequences
 * of the swapped datagrams were taken for restarts and loss. So more readers are opt-in.
 * 0 readers is the listener in the caller's thread (listener.ts).
 */
import { ReaderInputs } from '../udp/input.js';
import { type ShardKey, UdpReaders } from '../udp/readers.js';
import type { LocalSflow } from './engine.js';
import { DEFAULT_RECV_BUFFER, SflowListener } from './listener.js';
import type { SocketReader } from './metrics.js';

export const SFLOW_SHARD_KEY: ShardKey = {
  module: new URL('./shard-key.js', import.meta.url).href,
  name: 'sflowAgentKey',
};

/** Reader threads when none are configured (see above). */
export function defaultSflowReaders(): number {
  return 1;
}

export function openSflowReaders(o: {
  host: string;
  port: number;
  readers: number;
  shards: number;
  recvBufferSize?: number;
}): Promise<UdpReaders> {
  return UdpReaders.open({
    host: o.host,
    port: o.port,
    readers: o.readers,
    shards: o.shards,
    recvBufferSize: o.recvBufferSize ?? DEFAULT_RECV_BUFFER,
    key: SFLOW_SHARD_KEY,
  });
}

/** A socket feeding an in-thread intake (LocalSflow), read by this thread or by reader threads. */
export interface SflowInput {
  /** for the metrics: kernel drops, and the reader threads' own drops */
  readonly reader: SocketReader;
  readonly recvBufferSize: number;
  /** how reader threads read it ("N reader threads (recvmmsg)"; '': this thread reads) */
  readonly readersText: string;
  /** Reads what is queued on the socket, stops reading, and delivers all that was read. */
  close(): Promise<void>;
}

/**
 * `podwire all`'s sflow mirror: the intake stays in the main thread (its per-agent
 * metrics and packet samples are read there), the reading moves to `readers` threads
 * (0: the main thread reads, as the listener did before).
 */
export async function openSflowInput(o: {
  host: string;
  port: number;
  readers: number;
  engine: LocalSflow;
  onError: (err: Error) => void;
}): Promise<SflowInput> {
  if (o.readers === 0) {
    const l = await SflowListener.open({
      host: o.host,
      port: o.port,
      onDatagram: (msg, tUs) => o.engine.receive(msg, tUs),
      onError: o.onError,
    });
    return {
      reader: l,
      recvBufferSize: l.recvBufferSize,
      readersText: '',
      close: async () => {
        await l.drain();
        await l.close();
      },
    };
  }
  const r = await openSflowReaders({ host: o.host, port: o.port, readers: o.readers, shards: 1 });
  const inputs = new ReaderInputs(r.inputsOf(0), (u8, rec) =>
    o.engine.receiveAt(u8, rec.payloadOffset, rec.length, rec.tUs),
  );
  return {
    reader: r,
    recvBufferSize: r.recvBufferSize,
    readersText: r.threadsText,
    close: async () => {
      await r.drain();
      await r.close();
      await inputs.ended;
      inputs.close();
    },
  };
}
