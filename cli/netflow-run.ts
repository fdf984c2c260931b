/**
 * `podwire flows --netflow ADDR:PORT`: a UDP listener feeding the NetFlow v5/v9/IPFIX
 * intake (decode → attribute → aggregate, collector/netflow/engine.ts) until SIGINT/SIGTERM
 * or --duration; then the open windows are flushed and the counts go to stderr. The
 * exporter is the datagram's source address (NetFlow headers do not name it).
 */

import { join } from 'node:path';
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { parseUntaggedScope, type UntaggedScope } from '../collector/attribution/untagged-scope.js';
import type { FlowBatch } from '../collector/flows/flow-table.js';
import { LocalNetflow, type NetflowTotals } from '../collector/netflow/engine.js';
import { defaultNetflowReaders, type NetflowInput, openNetflowInput } from '../collector/netflow/readers.js';
import { STATE_FILE } from '../collector/netflow/state-file.js';
import { listeningLine } from '../collector/sflow/listener.js';
import type { PointNames } from '../collector/sflow/observation.js';
import { loadInventoryArg } from './capture-run.js';
import { ExitCode, parseNetflowAddress, UserError } from './errors.js';
import { tickUntilStopped } from './run-until.js';

/** Where NetFlow v9/IPFIX exporters commonly send (goflow2, nfcapd use 2055 too). */

export interface NetflowRunOptions {
  /** ADDR:PORT, IPv6 as [ADDR]:PORT */
  netflow: string;
  inventory: string;
  vxlanPort?: number[];
  quiet?: boolean;
  durationSeconds?: number;
  windowSeconds: number;
  maxFlows: number;
  /** the rate of records whose export states none (default 1) */
  samplingRate?: number;
  /** templates and sampling state persist here (DIR/netflow-state.json); none: not kept */
  stateDir?: string;
  /** threads reading the socket (default 1); 0: this thread reads. Decoding stays in this thread. */
  readers?: number;
  /** `vni:N` or `vlan:N`: the tenant scope of records with neither VLAN nor VNI, every exporter's */
  untaggedScope?: string;
}

export interface NetflowRun {
  totals: NetflowTotals;
  /** datagrams each reader thread read (none: the main thread read) */
  perReader?: number[];
  kernelDrops: number | null;
  recvBufferSize: number;
}

/** `--untagged-scope` parsed; a usage error naming the flag when it is not vni:N or vlan:N. */
function scopeOption(text: string): UntaggedScope {
  try {
    return parseUntaggedScope(text);
  } catch (err) {
    throw new UserError(`--untagged-scope: ${(err as Error).message}`);
  }
}

export async function runNetflow(
  o: NetflowRunOptions,
  onFlows: (b: FlowBatch) => void,
  signal: AbortSignal,
  onNames?: (names: PointNames) => void,
): Promise<NetflowRun> {
  const { host, port } = parseNetflowAddress(o.netflow);
  const scopes = o.untaggedScope === undefined ? undefined : { all: scopeOption(o.untaggedScope) };
  const inventory = await loadInventoryArg(o.inventory);
  const engine = new LocalNetflow({
    index: EndpointIndex.fromInventory(inventory),
    vxlanPorts: o.vxlanPort,
    windowSeconds: o.windowSeconds,
    maxFlows: o.maxFlows,
    onFlows,
    samplingRate: o.samplingRate,
    stateFile: o.stateDir === undefined ? undefined : join(o.stateDir, STATE_FILE),
    scopes,
  });
  onNames?.(engine.names);
  const readers = o.readers ?? defaultNetflowReaders();
  let input: NetflowInput;
  try {
    input = await openNetflowInput({
      host,
      port,
      readers,
      engine,
      onError: (err) => process.stderr.write(`podwire: NetFlow socket: ${err.message}\n`),
    });
  } catch (err) {
    await engine.stop();
    throw new UserError(`cannot listen on ${o.netflow}: ${(err as Error).message}`, ExitCode.INPUT);
  }
  if (!o.quiet) {
    process.stderr.write(
      `${listeningLine('NetFlow/IPFIX', o.netflow, input.recvBufferSize, [input.readersText])}\n`,
    );
  }
  await tickUntilStopped((t) => engine.tick(t), signal, o.durationSeconds);
  // datagrams already queued on the socket are read (and decoded) before it closes
  await input.drain();
  const kernelDrops = await input.reader.kernelDrops();
  await input.close();
  const totals = await engine.stop();
  // datagrams the readers could not hand on (the intake behind) or read while stopping
  totals.overloadDrops += input.overloadDrops();
  return { totals, perReader: input.perReader(), kernelDrops, recvBufferSize: input.recvBufferSize };
}

/** The closing lines on stderr: totals, then one line per exporter and per observation domain. */
export function netflowSummary(r: NetflowRun): string {
  const t = r.totals;
  const parts = Object.entries(t.summary).map(([k, v]) => `${k}=${v}`);
  parts.push(
    `kernel_drops=${r.kernelDrops ?? 'unknown'}`,
    `overload_drops=${t.overloadDrops}`,
    `flows=${t.flows.emitted}`,
    `flow_table_overflows=${t.flows.overflows}`,
    `late_packets=${t.flows.latePackets}`,
    `time_outliers=${t.flows.timeOutliers}`,
  );
  if (r.perReader !== undefined) parts.push(`reader_datagrams=${r.perReader.join('/')}`);
  const lines = [`podwire: netflow ${parts.join(' ')}`];
  for (const e of t.exporters) {
    const { exporter, ...counts } = e;
    lines.push(
      `podwire: exporter ${exporter}: ${Object.entries(counts)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  }
  for (const d of t.domains) {
    lines.push(
      `podwire: exporter ${d.exporter} v${d.version} domain ${d.domain}: templates=${d.templates} ` +
        `records=${d.records} ${d.version === 9 ? 'lost_datagrams' : 'lost_records'}=${d.lost} sampling_rate=${d.sampling_rate}`,
    );
  }
  return lines.join('\n');
}
