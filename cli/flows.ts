/** `podwire flows`: packets aggregated into per-window flows between pods. */
import { basename } from 'node:path';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import type { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { type FlowBatch, FlowTable } from '../collector/flows/flow-table.js';
import { observationName, type PointNames } from '../collector/sflow/observation.js';
import type { Stop } from '../ingest/stop-signals.js';
import { failOnKernelDrops, type InputOptions, runCapture, summaryLine } from './capture-run.js';
import { ExitCode, UserError } from './errors.js';
import { FLOW_TABLE_HEADER, flowJson, flowTableRow, writeFlowLines } from './format.js';
// the UDP intakes and the store are loaded only when asked for (a capture needs neither)
import type { NetflowRun } from './netflow-run.js';
import { LineWriter } from './output.js';
import type { runSflow } from './sflow-run.js';
import { notStored } from './store-report.js';
import type { StoreOptions } from './store-sink.js';

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
  /** receive NetFlow v5/v9/IPFIX on ADDR:PORT instead of reading a capture */
  netflow?: string;
  /** --netflow: the rate of records whose export states none (default 1) */
  netflowSamplingRate?: number;
  /** --sflow: threads reading the socket (default 1; 0: the main thread) */
  sflowReaders?: number;
  /** --netflow: threads reading the socket (default 1; 0: the main thread); decoding stays in the main thread */
  netflowReaders?: number;
}

export async function flows(o: FlowsOptions, stop: Stop): Promise<void> {
  const signal = stop.signal;
  const out = new LineWriter();
  const table = o.format === 'table';
  if (table) out.line(FLOW_TABLE_HEADER);
  let flowTable: FlowTable | undefined;
  let run: Awaited<ReturnType<typeof runCapture>>;
  checkInputs(o);
  const listening = o.sflow !== undefined || o.netflow !== undefined;
  const input =
    o.sflow !== undefined
      ? `sflow:${o.sflow}`
      : o.netflow !== undefined
        ? `netflow:${o.netflow}`
        : o.pcap === undefined
          ? `capture:${o.capture}`
          : `pcap:${o.pcap === '-' ? 'stdin' : basename(o.pcap)}`;
  // sFlow observation points are numbered as agents are heard: named by the intake
  let points: PointNames | undefined;
  const name = (n: number) => observationName(n, input, points);
  const store = o.store
    ? await (await import('./store-sink.js')).StoreSink.open({ ...o.store, observation: name })
    : undefined;
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
    if (!table) {
      writeFlowLines(out, batch, listening ? name : undefined);
      return;
    }
    for (const f of batch.records())
      out.line(flowTableRow(flowJson(f, listening ? name(f.observation) : undefined)));
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
  let netflowRun: NetflowRun | undefined;
  try {
    if (o.sflow !== undefined) {
      const { runSflow } = await import('./sflow-run.js');
      sflowRun = await runSflow(
        { ...o, sflow: o.sflow, workers: o.sflowWorkers, readers: o.sflowReaders },
        onFlows,
        signal,
        (n) => {
          points = n;
        },
      );
    } else if (o.netflow !== undefined) {
      // templates persist where the store keeps its data (a restart decodes at once)
      const stateDir =
        o.store !== undefined && o.store.clickhouseUrl === undefined ? o.store.dataDir : undefined;
      const { runNetflow } = await import('./netflow-run.js');
      netflowRun = await runNetflow(
        {
          ...o,
          netflow: o.netflow,
          samplingRate: o.netflowSamplingRate,
          stateDir,
          readers: o.netflowReaders,
        },
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
    const { sflowSummary } = await import('./sflow-run.js');
    if (!o.quiet) process.stderr.write(`${sflowSummary(sflowRun)}\n`);
    return;
  }
  if (netflowRun !== undefined) {
    const { netflowSummary } = await import('./netflow-run.js');
    if (!o.quiet) process.stderr.write(`${netflowSummary(netflowRun)}\n`);
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

/** Exactly one input, and only the flags that apply to it; a UserError naming the misfit. */
function checkInputs(o: FlowsOptions): void {
  const given = [
    o.pcap !== undefined && '--pcap',
    o.capture !== undefined && '--capture',
    o.sflow !== undefined && '--sflow',
    o.netflow !== undefined && '--netflow',
  ].filter((x): x is string => x !== false);
  if (given.length !== 1) {
    throw new UserError(
      given.length === 0
        ? 'give exactly one input: --pcap FILE (or - for stdin), --capture IFACE, --sflow ADDR:PORT or --netflow ADDR:PORT'
        : `give exactly one input, not ${given.join(' and ')}`,
    );
  }
  const listener = given[0] === '--sflow' || given[0] === '--netflow' ? given[0] : undefined;
  if (o.sflowWorkers !== undefined && o.sflowWorkers > 0 && listener !== '--sflow')
    throw new UserError('--sflow-workers applies to --sflow only');
  if (o.sflowReaders !== undefined && listener !== '--sflow')
    throw new UserError('--sflow-readers applies to --sflow only');
  if (o.netflowReaders !== undefined && listener !== '--netflow')
    throw new UserError('--netflow-readers applies to --netflow only');
  if (o.netflowSamplingRate !== undefined && listener !== '--netflow')
    throw new UserError('--netflow-sampling-rate applies to --netflow only');
  if (listener === undefined) {
    if (o.durationSeconds !== undefined)
      throw new UserError('--duration applies to --sflow and --netflow only');
    return;
  }
  if (o.filter !== undefined) throw new UserError('--filter applies to --capture only');
  for (const [flag, v] of [
    ['--capture-buffer', o.captureBuffer],
    ['--snaplen', o.snaplen],
  ] as const) {
    if (v !== undefined) throw new UserError(`${flag} applies to --pcap and --capture, not ${listener}`);
  }
  // NetFlow records from a router's L3 interfaces carry no VLAN: the scope says whose they are
  if (o.untaggedScope !== undefined && listener === '--sflow')
    throw new UserError('--untagged-scope applies to --pcap, --capture and --netflow, not --sflow');
}
