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
import { type ShardKey, UdpReaders } from '../udp/readers.js';
import { DEFAULT_RECV_BUFFER } from './listener.js';

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
