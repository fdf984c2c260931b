/**
 * The NetFlow/IPFIX socket read by reader threads (collector/udp/readers.ts), as the
 * sFlow one is (sflow/readers.ts): the reading leaves the thread that decodes, the
 * decoding stays in ONE place — the caller's thread (LocalNetflow). There are no NetFlow
 * decoding workers: an exporter's templates, held data, sampling state and sequence state
 * must live where its datagrams are decoded, the state file is one file, and
 * `podwire all`'s metrics and status read the intake in the main thread; one decoding
 * place keeps all of that correct, and the readers still take the socket's per-datagram
 * cost (a Buffer, an address string and an event each) off it. The readers' shard key is
 * the sender's address (NetFlow headers do not name the exporter), over one shard.
 *
 * Default: ONE reader thread (it reads in the kernel's order); more share the queue and
 * their datagrams are put back in order by the merge and the reorder stage
 * (collector/udp/README.md). 0 readers: the listener in the caller's thread.
 */

import { DEFAULT_RECV_BUFFER, SflowListener } from '../sflow/listener.js';
import type { SocketReader } from '../sflow/metrics.js';
import { ReaderInputs } from '../udp/input.js';
import { UdpReaders } from '../udp/readers.js';
import { SenderNames } from '../udp/sender-names.js';
import type { LocalNetflow } from './engine.js';

/** Reader threads when none are configured (see above). */
export function defaultNetflowReaders(): number {
  return 1;
}

/** A socket feeding an in-thread NetFlow intake, read by this thread or by reader threads. */
export interface NetflowInput {
  /** kernel drops, and the reader threads' own drops */
  readonly reader: SocketReader;
  readonly recvBufferSize: number;
  /** how reader threads read it ("N reader threads (recvmmsg)"; '': the caller's thread reads) */
  readonly readersText: string;
  /** datagrams each reader thread read (none: the caller's thread reads) */
  perReader(): number[] | undefined;
  /** datagrams read and dropped by the reader threads (the intake behind; or while stopping) */
  overloadDrops(): number;
  /** Resolves once what is queued on the socket has been read. */
  drain(): Promise<void>;
  /** Stops reading and delivers all that was read. */
  close(): Promise<void>;
}

export async function openNetflowInput(o: {
  host: string;
  port: number;
  readers: number;
  engine: LocalNetflow;
  onError: (err: Error) => void;
  recvBufferSize?: number;
}): Promise<NetflowInput> {
  if (o.readers === 0) {
    const l = await SflowListener.open({
      host: o.host,
      port: o.port,
      recvBufferSize: o.recvBufferSize,
      onDatagram: (msg, tUs, from) => o.engine.receive(msg, from, tUs),
      onError: o.onError,
    });
    return {
      reader: l,
      recvBufferSize: l.recvBufferSize,
      readersText: '',
      perReader: () => undefined,
      overloadDrops: () => 0,
      drain: () => l.drain(),
      close: () => l.close(),
    };
  }
  const r = await UdpReaders.open({
    host: o.host,
    port: o.port,
    readers: o.readers,
    shards: 1,
    recvBufferSize: o.recvBufferSize ?? DEFAULT_RECV_BUFFER,
  });
  const names = new SenderNames();
  const inputs = new ReaderInputs(r.inputsOf(0), (u8, rec) =>
    o.engine.receiveAt(u8, rec.payloadOffset, rec.length, names.of(u8, rec), rec.tUs),
  );
  return {
    reader: r,
    recvBufferSize: r.recvBufferSize,
    readersText: r.threadsText,
    perReader: () => r.perReader(),
    overloadDrops: () => r.totals.overloadDrops + r.totals.stopDrops,
    drain: () => r.drain(),
    close: async () => {
      await r.close();
      await inputs.ended;
      inputs.close();
    },
  };
}
