/**
 * The sFlow socket read by reader threads (collector/udp/readers.ts), sharded by agent
 * address: how `flows --sflow` and `all`'s sflow mirror receive past one core. The default
 * is one reader per core; 0 readers is the listener in the caller's thread (listener.ts).
 */
import { availableParallelism } from 'node:os';
import { type ShardKey, UdpReaders } from '../udp/readers.js';
import { DEFAULT_RECV_BUFFER } from './listener.js';

export const SFLOW_SHARD_KEY: ShardKey = {
  module: new URL('./shard-key.js', import.meta.url).href,
  name: 'sflowAgentKey',
};

/** Reader threads when none are configured: one per core. */
export function defaultSflowReaders(): number {
  return availableParallelism();
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
