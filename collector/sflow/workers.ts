/**
 * The intake spread over worker threads. Node 20's dgram has no SO_REUSEPORT, so one
 * socket receives (the listener's thread) and the decoding, attribution and aggregation —
 * most of the cost — run in `workers` threads, each with its own intake and flow table.
 *
 * Datagrams are sharded by agent address: an agent's sequence numbers (loss) and its
 * observation points stay in one worker, and since the observation point is part of the
 * flow key, no flow is ever split between two workers. Datagrams are copied into batches
 * of up to 256 KiB per worker, sent once per event-loop turn (transferred, not cloned,
 * and handed back for reuse). A worker that falls behind has at most MAX_IN_FLIGHT batches
 * queued; what comes beyond that is dropped and counted (`overloadDrops`), never queued
 * without bound. Each worker numbers its observation points in its own range, and tells
 * this side their names before the flows that use them.
 */
import { type MessagePort, Worker } from 'node:worker_threads';
import type { EndpointIndex } from '../attribution/endpoint-index.js';
import { FlowBatch, type FlowTableStats } from '../flows/flow-table.js';
import { type SflowEngine, type SflowEngineOptions, type SflowTotals, sumSummaries } from './engine.js';
import type { AgentSummary } from './intake.js';
import { MAX_SFLOW_POINTS, type PointNames } from './observation.js';
import { sflowAgentKey } from './shard-key.js';

const BATCH_BYTES = 256 * 1024;
/** batches queued to one worker before datagrams are dropped (8 MiB, like a socket buffer) */
export const MAX_IN_FLIGHT = 32;

export interface WorkerInit {
  inventory: unknown;
  vxlanPorts: number[];
  windowSeconds?: number;
  maxFlows?: number;
  pointsFirst: number;
  pointsMax: number;
  /** reader threads' channels to this worker (collector/udp/readers.ts), when they feed it */
  inputs?: MessagePort[];
}

export type MainMessage =
  | { type: 'batch'; buf: ArrayBuffer; used: number }
  | { type: 'tick'; nowSec: number }
  | { type: 'stop' };

export type WorkerMessage =
  | { type: 'ack'; buf: ArrayBuffer }
  | { type: 'points'; entries: [number, string][] }
  | { type: 'flows'; count: number; rows: Int32Array; base: number; windowSeconds: number }
  | {
      type: 'done';
      summary: Record<string, number>;
      agents: AgentSummary[];
      flows: Pick<FlowTableStats, 'emitted' | 'overflows' | 'latePackets' | 'timeOutliers'>;
      counterSamples: number;
      interfaces: string[];
      interfaceOverflows: number;
    };

/** The worker a datagram goes to: a hash of its agent address (shard 0 when it has none). */
export function agentShard(msg: Uint8Array, shards: number): number {
  return shards === 1 ? 0 : sflowAgentKey(msg) % shards;
}

class Shard {
  buf: ArrayBuffer;
  view: DataView;
  u8: Uint8Array;
  used = 0;
  count = 0;
  inFlight = 0;
  readonly spare: ArrayBuffer[] = [];
  done: Extract<WorkerMessage, { type: 'done' }> | undefined;

  constructor(readonly worker: Worker) {
    this.buf = new ArrayBuffer(BATCH_BYTES);
    this.view = new DataView(this.buf);
    this.u8 = new Uint8Array(this.buf);
  }

  fresh(): void {
    this.buf = this.spare.pop() ?? new ArrayBuffer(BATCH_BYTES);
    this.view = new DataView(this.buf);
    this.u8 = new Uint8Array(this.buf);
    this.used = 0;
    this.count = 0;
  }
}

export class SflowWorkerPool implements SflowEngine {
  /** datagrams dropped because their worker had MAX_IN_FLIGHT batches queued */
  overloadDrops = 0;
  private readonly shards: Shard[];
  private readonly pointNames = new Map<number, string>();
  private scheduled = false;
  private failure: Error | undefined;
  private readonly index: EndpointIndex;
  private readonly onFlows: SflowEngineOptions['onFlows'];

  /**
   * `inputs[k]`: the reader channels of worker k, when reader threads read the socket and
   * feed the workers directly (then `receive` is not used).
   */
  constructor(o: SflowEngineOptions & { workers: number; inventory: unknown; inputs?: MessagePort[][] }) {
    if (!(Number.isInteger(o.workers) && o.workers >= 1)) throw new RangeError('workers must be >= 1');
    this.index = o.index;
    this.onFlows = o.onFlows;
    const share = Math.floor(MAX_SFLOW_POINTS / o.workers);
    this.shards = Array.from({ length: o.workers }, (_, k) => {
      const init: WorkerInit = {
        inventory: o.inventory,
        vxlanPorts: o.vxlanPorts ?? [],
        windowSeconds: o.windowSeconds,
        maxFlows: o.maxFlows,
        pointsFirst: k * share,
        pointsMax: share,
        inputs: o.inputs?.[k],
      };
      const worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: init,
        transferList: o.inputs?.[k] ?? [],
      });
      const shard = new Shard(worker);
      worker.on('message', (m: WorkerMessage) => this.onMessage(shard, m));
      worker.on('error', (err) => {
        this.failure ??= err;
      });
      return shard;
    });
  }

  readonly names: PointNames = { name: (code) => this.pointNames.get(code) };

  /** Batches sent and not yet acknowledged, over all workers (how far behind they are). */
  get inFlight(): number {
    let n = 0;
    for (const s of this.shards) n += s.inFlight;
    return n;
  }

  receive(msg: Buffer, tUs: number): void {
    const s = this.shards[agentShard(msg, this.shards.length)];
    const need = 16 + ((msg.length + 7) & ~7);
    if (s.used + need > BATCH_BYTES) this.send(s);
    s.view.setUint32(s.used, msg.length);
    s.view.setFloat64(s.used + 8, tUs);
    s.u8.set(msg, s.used + 16);
    s.used += need;
    s.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      // everything read in this turn of the event loop goes in one batch per worker
      setImmediate(() => {
        this.scheduled = false;
        for (const x of this.shards) if (x.count > 0) this.send(x);
      });
    }
  }

  tick(nowSec: number): void {
    for (const s of this.shards) s.worker.postMessage({ type: 'tick', nowSec } satisfies MainMessage);
  }

  async stop(): Promise<SflowTotals> {
    for (const s of this.shards) if (s.count > 0) this.send(s);
    await Promise.all(
      this.shards.map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            const check = () => {
              if (this.failure) return reject(this.failure);
              if (s.done) return resolve();
              setTimeout(check, 5);
            };
            s.worker.postMessage({ type: 'stop' } satisfies MainMessage);
            check();
          }),
      ),
    );
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
    const done = this.shards.map((s) => s.done!);
    const interfaces = new Set(done.flatMap((d) => d.interfaces));
    return {
      summary: sumSummaries(done.map((d) => d.summary)),
      agents: done.flatMap((d) => d.agents),
      flows: {
        emitted: done.reduce((n, d) => n + d.flows.emitted, 0),
        overflows: done.reduce((n, d) => n + d.flows.overflows, 0),
        latePackets: done.reduce((n, d) => n + d.flows.latePackets, 0),
        timeOutliers: done.reduce((n, d) => n + d.flows.timeOutliers, 0),
      },
      counterSamples: done.reduce((n, d) => n + d.counterSamples, 0),
      interfaces: interfaces.size,
      interfaceOverflows: done.reduce((n, d) => n + d.interfaceOverflows, 0),
      overloadDrops: this.overloadDrops,
    };
  }

  private send(s: Shard): void {
    if (s.inFlight >= MAX_IN_FLIGHT) {
      // the worker is behind: this batch is dropped, counted, and its buffer reused
      this.overloadDrops += s.count;
      s.used = 0;
      s.count = 0;
      return;
    }
    s.inFlight++;
    s.worker.postMessage({ type: 'batch', buf: s.buf, used: s.used } satisfies MainMessage, [s.buf]);
    s.fresh();
  }

  private onMessage(s: Shard, m: WorkerMessage): void {
    if (m.type === 'ack') {
      s.inFlight--;
      if (s.spare.length < 4) s.spare.push(m.buf);
    } else if (m.type === 'points') {
      for (const [code, name] of m.entries) this.pointNames.set(code, name);
    } else if (m.type === 'flows') {
      this.onFlows(new FlowBatch(m.count, m.rows, m.base, m.windowSeconds, this.index.endpoints));
    } else {
      s.done = m;
    }
  }
}
