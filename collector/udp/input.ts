/**
 * A consumer's end of the readers' channels (readers.ts), in whatever thread the consumer
 * runs: batches and marks from each reader are merged back into arrival order (merge.ts)
 * and handed to `deliver` one datagram at a time; each batch's buffer goes back to its
 * reader once delivered. Before each release every channel's queue is read out
 * (receiveMessageOnPort): a consumer that was busy must not take the reader whose
 * messages it has not looked at yet for one that fell behind. `ended` resolves when every
 * reader has sent its last batch and all of it was delivered.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { AckMessage, InputMessage } from './batch.js';
import { DatagramMerge, type Deliver } from './merge.js';

/** A reader this far behind the others is not waited for (see merge.ts). */
export const STALL_MS = 50;

export class ReaderInputs {
  readonly merge: DatagramMerge;
  readonly ended: Promise<void>;
  private resolveEnded!: () => void;

  constructor(
    private readonly ports: MessagePort[],
    deliver: Deliver,
    stallMs = STALL_MS,
  ) {
    this.merge = new DatagramMerge(ports.length, stallMs * 1e6, deliver);
    this.ended = new Promise((r) => (this.resolveEnded = r));
    ports.forEach((port, k) => {
      port.on('message', (m: InputMessage) => {
        this.take(k, m);
        this.pump();
        this.merge.release();
      });
    });
  }

  private pump(): void {
    for (let k = 0; k < this.ports.length; k++) {
      for (
        let m = receiveMessageOnPort(this.ports[k]);
        m !== undefined;
        m = receiveMessageOnPort(this.ports[k])
      ) {
        this.take(k, m.message as InputMessage);
      }
    }
  }

  private take(k: number, m: InputMessage): void {
    if (m.type === 'batch') {
      const port = this.ports[k];
      const buf = m.buf;
      this.merge.push(k, buf, m.used, m.count, () =>
        port.postMessage({ type: 'ack', buf } satisfies AckMessage, [buf]),
      );
      this.merge.advance(k, m.at);
    } else if (m.type === 'mark') {
      this.merge.advance(k, m.at);
    } else {
      this.merge.end(k);
      if (this.merge.allEnded) {
        this.merge.flush();
        this.resolveEnded();
      }
    }
  }

  /** Stops listening (after `ended`, or when the consumer gives up). */
  close(): void {
    for (const p of this.ports) p.close();
  }
}
