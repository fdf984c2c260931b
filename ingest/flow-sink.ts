/**
 * The flow table's sink: closed windows arrive as FlowBatches (possibly 100k+ flows at
 * once); the sink cuts them into insert-sized Arrow batches a slice at a time, so a big
 * window never blocks the event loop for long, and hands each batch on (to the writer).
 *
 * Bounded: while the writer pushes back the windows wait here, up to `maxPendingRows`
 * flows; a window arriving beyond that is encoded at once and handed on without waiting
 * (`overflowed` counts its flows): the writer's own bound then spools what it cannot hold.
 * A store slower than the input costs disk, not memory without end.
 */
import type { FlowBatch } from '../collector/flows/flow-table.js';
import type { EncodedBatch } from './arrow-batch.js';
import { FlowArrowBuilder } from './flow-arrow.js';
import type { ObservationName } from './flow-rows.js';

export interface FlowSinkOptions {
  names: ObservationName;
  /** rows per insert batch while the store keeps up (default 50k) */
  batchRows?: number;
  /**
   * rows per insert batch while it does not (`busy`): the batch keeps filling up to this
   * (default 5 × batchRows). Fewer, bigger inserts when the store falls behind: each insert
   * makes a part in flows and in each rollup (files created, merged, deleted), and that
   * per-part cost, not the rows, is what limits embedded ingest (bench:ingest: 50k-row
   * inserts ~0.3M rows/s, 250k-row inserts ~0.65M rows/s on this machine).
   */
  maxBatchRows?: number;
  /** true while the writer still has batches queued or in flight */
  busy?: () => boolean;
  /** rows encoded per pump() call before it yields */
  sliceRows?: number;
  /** flows waiting to be encoded, at most (default 2 × maxBatchRows); beyond, a window is encoded at once */
  maxPendingRows?: number;
  /** a partial batch is sent once its first row has waited this long, ms (default 1000) */
  maxAgeMs?: number;
  /** takes a finished batch; a Promise means "wait before sending more" (backpressure) */
  send: (batch: EncodedBatch) => true | Promise<void>;
}

export class FlowSink {
  private readonly queue: { batch: FlowBatch; at: number }[] = [];
  private readonly builder: FlowArrowBuilder;
  private readonly batchRows: number;
  private readonly sliceRows: number;
  private readonly maxBatchRows: number;
  private readonly maxAgeMs: number;
  private readonly maxPendingRows: number;
  /** encodes the windows that find the queue full */
  private overflowBuilder: FlowArrowBuilder | undefined;
  /** when the open batch got its first row (ms, monotonic) */
  private firstAt = 0;
  /** flows queued and not yet encoded */
  pending = 0;
  /** flows encoded and handed on at once because the queue was full */
  overflowed = 0;

  constructor(private readonly o: FlowSinkOptions) {
    this.batchRows = o.batchRows ?? 50_000;
    this.maxBatchRows = Math.max(this.batchRows, o.maxBatchRows ?? 5 * this.batchRows);
    this.sliceRows = o.sliceRows ?? 8192;
    this.maxAgeMs = o.maxAgeMs ?? 1000;
    this.maxPendingRows = o.maxPendingRows ?? 2 * this.maxBatchRows;
    this.builder = new FlowArrowBuilder(o.names, this.batchRows);
  }

  /** The flow table's onFlows callback: queues (cheap, synchronous), or encodes at once when the queue is full. */
  readonly onFlows = (batch: FlowBatch): void => {
    if (this.pending > 0 && this.pending + batch.count > this.maxPendingRows) {
      this.sendNow(batch);
      return;
    }
    this.queue.push({ batch, at: 0 });
    this.pending += batch.count;
  };

  /**
   * Encodes a window and hands it on without waiting for the writer (synchronous: the
   * event loop pays for it, which slows an input that outruns the store).
   */
  private sendNow(batch: FlowBatch): void {
    this.overflowBuilder ??= new FlowArrowBuilder(this.o.names, this.batchRows);
    for (let at = 0; at < batch.count; at += this.batchRows) {
      const to = Math.min(batch.count, at + this.batchRows);
      this.overflowBuilder.add(batch, at, to);
      // the writer takes it whatever its queue holds (spooling what it cannot hold)
      void this.o.send(this.overflowBuilder.finish());
    }
    this.overflowed += batch.count;
  }

  /** Encodes up to one slice of queued flows; resolves when what it sent was taken. */
  async pump(): Promise<void> {
    let budget = this.sliceRows;
    while (budget > 0 && this.queue.length > 0) {
      const q = this.queue[0];
      // the store keeps up: batchRows-row batches; it does not: up to maxBatchRows
      const target = this.o.busy?.() ? this.maxBatchRows : this.batchRows;
      const n = Math.min(budget, Math.max(0, target - this.builder.rows), q.batch.count - q.at);
      if (n === 0) {
        await this.emit();
        continue;
      }
      if (this.builder.rows === 0) this.firstAt = performance.now();
      this.builder.add(q.batch, q.at, q.at + n);
      q.at += n;
      budget -= n;
      this.pending -= n;
      if (q.at === q.batch.count) this.queue.shift();
      if (this.builder.rows >= target) await this.emit();
    }
  }

  /**
   * What a live input calls every so often (the service: every 50 ms): encodes what is
   * queued, a slice at a time, and sends a partial batch once it is `maxAgeMs` old — live
   * traffic may take minutes to fill a batch, and flows should reach the store in seconds.
   */
  async tick(): Promise<void> {
    while (this.pending > 0) {
      await this.pump();
      await new Promise((r) => setImmediate(r));
    }
    if (this.builder.rows > 0 && performance.now() - this.firstAt >= this.maxAgeMs) await this.emit();
  }

  /** Encodes and sends everything queued, including a last partial batch. */
  async flush(): Promise<void> {
    while (this.queue.length > 0) {
      await this.pump();
      await new Promise((r) => setImmediate(r));
    }
    if (this.builder.rows > 0) await this.emit();
  }

  /** Flows taken and not yet handed on (queued, and in the batch being built). */
  pendingRows(): number {
    return this.pending + this.builder.rows;
  }

  /**
   * Encodes everything at once — the batch being built, then every queued window — and
   * returns the batches instead of sending them: for a process about to exit with work
   * left (a third stop signal), whose writer spools them synchronously.
   */
  drainSync(): EncodedBatch[] {
    const out: EncodedBatch[] = [];
    if (this.builder.rows > 0) out.push(this.builder.finish());
    for (const q of this.queue.splice(0)) {
      for (let at = q.at; at < q.batch.count; at += this.batchRows) {
        this.builder.add(q.batch, at, Math.min(q.batch.count, at + this.batchRows));
        out.push(this.builder.finish());
      }
    }
    this.pending = 0;
    return out;
  }

  private async emit(): Promise<void> {
    const r = this.o.send(this.builder.finish());
    if (r !== true) await r;
  }
}
