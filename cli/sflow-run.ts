/**
 * `podwire flows --sflow ADDR:PORT`: the sFlow listener feeding the intake (decode →
 * attribute → aggregate, in this thread or sharded over --sflow-workers threads) until
 * SIGINT/SIGTERM or --duration; then the open windows are flushed and the counts go to
 * stderr.
 */

import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import type { FlowBatch } from '../collector/flows/flow-table.js';
import { LocalSflow, type SflowEngine, type SflowTotals } from '../collector/sflow/engine.js';
import { listeningLine, SflowListener } from '../collector/sflow/listener.js';
import type { PointNames } from '../collector/sflow/observation.js';
import { defaultSflowReaders, openSflowReaders } from '../collector/sflow/readers.js';
import { SflowWorkerPool } from '../collector/sflow/workers.js';
import { UdpReaders } from '../collector/udp/readers.js';
import { loadInventoryArg } from './capture-run.js';
import { ExitCode, parseListenAddress, UserError } from './errors.js';
import { tickUntilStopped } from './run-until.js';

export interface SflowRunOptions {
  /** ADDR:PORT, IPv6 as [ADDR]:PORT */
  sflow: string;
  inventory: string;
  vxlanPort?: number[];
  quiet?: boolean;
  /** stop after this many seconds (default: until a signal) */
  durationSeconds?: number;
  windowSeconds: number;
  maxFlows: number;
  /** N: decode in N worker threads, sharded by agent; 0: as many as readers (in this thread when no readers) */
  workers?: number;
  /** threads reading the socket (default 1); 0: this thread reads */
  readers?: number;
}

export interface SflowRun {
  totals: SflowTotals;
  /** datagrams each reader thread read (none: the main thread read) */
  perReader?: number[];
  kernelDrops: number | null;
  recvBufferSize: number;
}

export async function runSflow(
  o: SflowRunOptions,
  onFlows: (b: FlowBatch) => void,
  signal: AbortSignal,
  /** called before the first datagram with what names this run's observation points */
  onNames?: (names: PointNames) => void,
): Promise<SflowRun> {
  const { host, port } = parseListenAddress(o.sflow);
  const inventory = await loadInventoryArg(o.inventory);
  const index = EndpointIndex.fromInventory(inventory);
  const common = {
    index,
    vxlanPorts: o.vxlanPort,
    windowSeconds: o.windowSeconds,
    maxFlows: o.maxFlows,
    onFlows,
  };
  const readers = o.readers ?? defaultSflowReaders();
  const workers = (o.workers ?? 0) > 0 ? o.workers! : readers;
  let listener: SflowListener | UdpReaders;
  let engine: SflowEngine;
  try {
    if (readers > 0) {
      // reader threads feed the decoding workers directly, each agent to its worker
      const r = await openSflowReaders({ host, port, readers, shards: workers });
      listener = r;
      engine = new SflowWorkerPool({
        ...common,
        workers,
        inventory,
        inputs: Array.from({ length: workers }, (_, k) => r.inputsOf(k)),
      });
    } else {
      const e: SflowEngine =
        workers > 0 ? new SflowWorkerPool({ ...common, workers, inventory }) : new LocalSflow(common);
      engine = e;
      listener = await SflowListener.open({
        host,
        port,
        onDatagram: (msg, tUs) => e.receive(msg, tUs),
        onError: (err) => process.stderr.write(`podwire: sFlow socket: ${err.message}\n`),
      }).catch(async (err: Error) => {
        await e.stop();
        throw err;
      });
    }
  } catch (err) {
    throw new UserError(`cannot listen on ${o.sflow}: ${(err as Error).message}`, ExitCode.INPUT);
  }
  onNames?.(engine.names);
  if (!o.quiet) {
    const threads = [
      listener instanceof UdpReaders ? listener.threadsText : '',
      workers > 0 ? `${workers} intake workers` : '',
    ];
    process.stderr.write(`${listeningLine('sFlow', o.sflow, listener.recvBufferSize, threads)}\n`);
  }
  await tickUntilStopped((t) => engine.tick(t), signal, o.durationSeconds);
  // datagrams already queued on the socket are read before it closes
  await listener.drain();
  const kernelDrops = await listener.kernelDrops();
  await listener.close();
  const totals = await engine.stop();
  let perReader: number[] | undefined;
  if ('totals' in listener) {
    perReader = listener.perReader();
    // datagrams the readers could not hand on (a worker behind) or read while stopping
    totals.overloadDrops += listener.totals.overloadDrops + listener.totals.stopDrops;
  }
  return { totals, perReader, kernelDrops, recvBufferSize: listener.recvBufferSize };
}

/** The closing lines on stderr: totals, then one line per agent with its loss. */
export function sflowSummary(r: SflowRun): string {
  const t = r.totals;
  const parts = Object.entries(t.summary).map(([k, v]) => `${k}=${v}`);
  parts.push(
    `kernel_drops=${r.kernelDrops ?? 'unknown'}`,
    `overload_drops=${t.overloadDrops}`,
    `counter_samples_interfaces=${t.interfaces}`,
    `flows=${t.flows.emitted}`,
    `flow_table_overflows=${t.flows.overflows}`,
    `late_packets=${t.flows.latePackets}`,
    `time_outliers=${t.flows.timeOutliers}`,
  );
  if (t.interfaceOverflows > 0) parts.push(`interface_overflows=${t.interfaceOverflows}`);
  if (r.perReader !== undefined) parts.push(`reader_datagrams=${r.perReader.join('/')}`);
  const lines = [`podwire: ${parts.join(' ')}`];
  for (const a of t.agents) {
    lines.push(
      `podwire: agent ${a.agent}: datagrams=${a.datagrams} flow_samples=${a.flow_samples} ` +
        `counter_samples=${a.counter_samples} lost_datagrams=${a.lost_datagrams} lost_samples=${a.lost_samples} ` +
        `lost_packets_estimate=${a.lost_packets_estimate} sample_loss=${(100 * a.sample_loss_ratio).toFixed(2)}% ` +
        `agent_drops=${a.agent_drops} sequence_resets=${a.sequence_resets} ` +
        `late_datagrams=${a.late_datagrams} duplicate_datagrams=${a.duplicate_datagrams}`,
    );
  }
  return lines.join('\n');
}
