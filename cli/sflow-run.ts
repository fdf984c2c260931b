/**
 * `podwire flows --sflow ADDR:PORT`: the sFlow listener feeding the intake (decode →
 * attribute → aggregate) until SIGINT/SIGTERM or --duration, then the counts on stderr.
 */
import { isIP } from 'node:net';
import type { AttributionCounters } from '../collector/attribution/attribute.js';
import type { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { decodeConfig } from '../collector/decode/packet.js';
import type { FlowTable } from '../collector/flows/flow-table.js';
import { SflowIntake } from '../collector/sflow/intake.js';
import { SflowListener } from '../collector/sflow/listener.js';
import { loadIndex } from './capture-run.js';
import { ExitCode, UserError } from './errors.js';

export interface SflowRunOptions {
  /** ADDR:PORT, IPv6 as [ADDR]:PORT */
  sflow: string;
  inventory: string;
  vxlanPort?: number[];
  quiet?: boolean;
  /** stop after this many seconds (default: until a signal) */
  durationSeconds?: number;
}

/** "127.0.0.1:6343", "[::1]:6343" → host and port; a UserError naming what is wrong. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined) {
    throw new UserError(`--sflow: "${text}" is not ADDR:PORT (examples: 127.0.0.1:6343, [::1]:6343)`);
  }
  if (isIP(host) === 0) throw new UserError(`--sflow: "${host}" is not an IPv4 or IPv6 address`);
  if (m[2] !== undefined && isIP(host) === 6) throw new UserError('--sflow: write IPv6 as [ADDR]:PORT');
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserError(`--sflow: "${m[3]}" is not a port (1..65535)`);
  return { host, port };
}

export interface SflowRun {
  intake: SflowIntake;
  listener: SflowListener;
  kernelDrops: number | null;
  counterSamples: number;
  interfaces: number;
}

export async function runSflow(
  o: SflowRunOptions,
  makeFlows: (index: EndpointIndex) => { flows: FlowTable; counters: AttributionCounters },
  signal: AbortSignal,
  /** called with the intake before the first datagram (its observation points name the flows) */
  onIntake?: (intake: SflowIntake) => void,
): Promise<SflowRun> {
  const { host, port } = parseListenAddress(o.sflow);
  const index = await loadIndex(o.inventory);
  const { flows, counters } = makeFlows(index);
  let counterSamples = 0;
  const interfaces = new Set<string>();
  const intake = new SflowIntake({
    index,
    decode: decodeConfig(o.vxlanPort ?? []),
    flows,
    counters,
    onCounters: (c) => {
      counterSamples++;
      interfaces.add(`${c.agent}:${c.ifIndex}`);
    },
  });
  onIntake?.(intake);
  let listener: SflowListener;
  try {
    listener = await SflowListener.open({
      host,
      port,
      onDatagram: (msg, tUs) => intake.receive(msg, 0, msg.length, tUs),
      onError: (err) => process.stderr.write(`podwire: sFlow socket: ${err.message}\n`),
    });
  } catch (err) {
    throw new UserError(`cannot listen on ${o.sflow}: ${(err as Error).message}`, ExitCode.INPUT);
  }
  if (!o.quiet) {
    process.stderr.write(
      `podwire: listening for sFlow on ${o.sflow} (receive buffer ${listener.recvBufferSize} bytes)\n`,
    );
  }
  // windows close by wall clock too: a quiet agent must not hold its last window open
  const ticker = setInterval(() => flows.tick(Date.now() / 1000), 1000);
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      if (o.durationSeconds !== undefined) setTimeout(resolve, o.durationSeconds * 1000).unref();
    });
  } finally {
    clearInterval(ticker);
  }
  // datagrams already queued in the socket are read before it closes
  await listener.drain();
  const kernelDrops = await listener.kernelDrops();
  await listener.close();
  return { intake, listener, kernelDrops, counterSamples, interfaces: interfaces.size };
}

/** The closing lines on stderr: totals, then one line per agent with its loss. */
export function sflowSummary(r: SflowRun): string {
  const parts = Object.entries(r.intake.summary()).map(([k, v]) => `${k}=${v}`);
  parts.push(`kernel_drops=${r.kernelDrops ?? 'unknown'}`, `interfaces=${r.interfaces}`);
  const lines = [`podwire: ${parts.join(' ')}`];
  for (const a of r.intake.agentSummaries()) {
    lines.push(
      `podwire: agent ${a.agent}: datagrams=${a.datagrams} flow_samples=${a.flow_samples} ` +
        `counter_samples=${a.counter_samples} lost_datagrams=${a.lost_datagrams} lost_samples=${a.lost_samples} ` +
        `lost_packets_estimate=${a.lost_packets_estimate} sample_loss=${(100 * a.sample_loss_ratio).toFixed(2)}% ` +
        `agent_drops=${a.agent_drops} sequence_resets=${a.sequence_resets}`,
    );
  }
  return lines.join('\n');
}
