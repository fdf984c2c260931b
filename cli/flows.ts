/** `podwire flows`: packets aggregated into per-window flows between pods. */
import { basename } from 'node:path';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import type { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { type FlowBatch, FlowTable } from '../collector/flows/flow-table.js';
import { observationName, type PointNames } from '../collector/sflow/observation.js';
import type { Stop } from '../ingest/stop-signals.js';
import { failOnKernelDrops, type InputOptions, runCapture, summaryLine } from './capture-run.js';
import { ExitCode, UserError } from './errors.js';
import { FLOW_TABLE_HEADER, flowJson, flowTableRow } from './format.js';
import { LineWriter } from './output.js';
import { runSflow, sflowSummary } from './sflow-run.js';
import { notStored } from './store-report.js';
import { type StoreOptions, StoreSink } from './store-sink.js';

export interface FlowsOptions extends InputOptions {
  format: 'jsonl' | 'table';
  windowSeconds: number;
  maxFlows: number;
  /** also store the flows in ClickHouse */
  store?: Omit<StoreOptions, 'observation'>;
  /** receive sFlow on ADDR:PORT instead of reading a capture */
  sflow?: string;
  /** --sflow: stop after this many seconds (default: at SIGINT/SIGTERM) */
  durationSeconds?: number;
  /** --sflow: decode in this many worker threads (0: as many as readers, or in the main thread) */
  sflowWorkers?: number;
  /** --sflow: threads reading the socket (default 1; 0: the main thread) */
  sflowReaders?: number;
}

export async function flows(o: FlowsOptions, stop: Stop): Promise<void> {
  const signal = stop.signal;
  const out = new LineWriter();
  const table = o.format === 'table';
  if (table) out.line(FLOW_TABLE_HEADER);
  let flowTable: FlowTable | undefined;
  let run: Awaited<ReturnType<typeof runCapture>>;
  if (o.sflow !== undefined) {
    if (o.pcap !== undefined || o.capture !== undefined)
      throw new UserError('give exactly one input: --pcap, --capture or --sflow');
    if (o.filter !== undefined) throw new UserError('--filter applies to --capture only');
    for (const [flag, v] of [
      ['--capture-buffer', o.captureBuffer],
      ['--snaplen', o.snaplen],
      ['--untagged-scope', o.untaggedScope],
    ] as const) {
      if (v !== undefined) throw new UserError(`${flag} applies to --pcap and --capture, not --sflow`);
    }
  } else if (o.durationSeconds !== undefined) {
    throw new UserError('--duration applies to --sflow only');
  } else if (o.pcap === undefined && o.capture === undefined) {
    throw new UserError(
      'give exactly one input: --pcap FILE (or - for stdin), --capture IFACE or --sflow ADDR:PORT',
    );
  }
  const input =
    o.sflow !== undefined
      ? `sflow:${o.sflow}`
      : o.pcap === undefined
        ? `capture:${o.capture}`
        : `pcap:${o.pcap === '-' ? 'stdin' : basename(o.pcap)}`;
  // sFlow observation points are numbered as agents are heard: named by the intake
  let points: PointNames | undefined;
  const name = (n: number) => observationName(n, input, points);
  const store = o.store ? await StoreSink.open({ ...o.store, observation: name }) : undefined;
  // a third stop signal during the flush: the open flows and what the store has not taken go to the spool
  const untrack = store
    ? stop.track({
        pendingRows: () => (flowTable?.stats.open ?? 0) + store.pendingRows(),
        abandon: () => {
          flowTable?.flush();
          return store.abandonSync();
        },
      })
    : () => {};
  const onFlows = (batch: FlowBatch) => {
    store?.onFlows(batch);
    for (const f of batch.records()) {
      const rec = flowJson(f, o.sflow === undefined ? undefined : name(f.observation));
      out.line(table ? flowTableRow(rec) : JSON.stringify(rec));
    }
  };
  const makeFlows = (index: EndpointIndex) => {
    const counters = new AttributionCounters();
    flowTable = new FlowTable({
      index,
      counters,
      windowSeconds: o.windowSeconds,
      maxFlows: o.maxFlows,
      onFlows,
    });
    return { flows: flowTable, counters };
  };
  let sflowRun: Awaited<ReturnType<typeof runSflow>> | undefined;
  try {
    if (o.sflow !== undefined) {
      sflowRun = await runSflow(
        { ...o, sflow: o.sflow, workers: o.sflowWorkers, readers: o.sflowReaders },
        onFlows,
        signal,
        (n) => {
          points = n;
        },
      );
    } else {
      run = await runCapture(o, makeFlows, signal);
    }
  } finally {
    // also after an input error (a truncated capture): the flows of the packets read
    flowTable?.flush();
    await out.drain();
    if (store) {
      const r = await store.close();
      untrack();
      // rows neither stored nor spooled: the output could not be written (README: exit 1)
      if (r.dropped > 0) process.exitCode = ExitCode.INPUT;
      if (!o.quiet || r.dropped > 0) {
        process.stderr.write(
          `podwire: stored ${r.written} flows in ${r.location}${notStored(r, store.dirs)}\n`,
        );
      }
    }
  }
  if (sflowRun !== undefined) {
    if (!o.quiet) process.stderr.write(`${sflowSummary(sflowRun)}\n`);
    return;
  }
  const s = flowTable!.stats;
  if (!o.quiet)
    process.stderr.write(
      `${summaryLine(run!.path, run!.live)} flows=${s.emitted} flow_table_overflows=${s.overflows} late_packets=${s.latePackets}` +
        ` time_outliers=${s.timeOutliers} time_out_of_range=${s.timeOutOfRange} clock_jumps=${s.clockJumps}\n`,
    );
  failOnKernelDrops(o.capture, run!.live);
}
