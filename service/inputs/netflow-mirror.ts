/**
 * The `netflow` mirror of `podwire all`: a UDP listener feeding the NetFlow/IPFIX intake
 * into the service's flow sink, its per-exporter metrics on the service's registry
 * (`podwire_netflow_*`), templates persisted in the data directory, and its part of
 * /api/status and of the status line.
 */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { listenError, parseNetflowAddress } from '../../cli/errors.js';
import type { AttributionCounters } from '../../collector/attribution/attribute.js';
import type { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { parseUntaggedScope } from '../../collector/attribution/untagged-scope.js';
import type { FlowBatch, FlowTableStats } from '../../collector/flows/flow-table.js';
import { exporterName, LocalNetflow } from '../../collector/netflow/engine.js';
import type { ExporterScopes, RecordConsumer } from '../../collector/netflow/intake.js';
import { registerNetflowMetrics } from '../../collector/netflow/metrics.js';
import { type NetflowInput, openNetflowInput } from '../../collector/netflow/readers.js';
import { STATE_FILE } from '../../collector/netflow/state-file.js';
import type { PointNames } from '../../collector/sflow/observation.js';

export interface NetflowMirrorOptions {
  listen: string;
  samplingRate: number;
  /** threads reading the socket (0: the main thread reads) */
  readers: number;
  vxlanPorts: number[];
  index: EndpointIndex;
  windowSeconds: number;
  maxFlows: number;
  onFlows: (b: FlowBatch) => void;
  dataDir: string;
  registry: Registry;
  log: (m: string) => void;
  /** each attributed record (the service keeps packet reports' frames as packet samples) */
  onRecord?: RecordConsumer;
  /** `vni:N`/`vlan:N` for records with neither VLAN nor VNI: every exporter's, and per exporter */
  untaggedScope?: string;
  exporterScopes?: Record<string, string>;
}

/** /api/status's `netflow`: the intake's counts (summary keys) and the socket's drops. */
export type NetflowStatus = Record<string, number | string | null>;

export interface NetflowMirror {
  names: PointNames;
  counters: AttributionCounters;
  flowStats: FlowTableStats;
  recvBufferSize: number;
  /** how reader threads read the socket ('': the main thread reads) */
  readersText: string;
  tick(nowSec: number): void;
  status(): NetflowStatus;
  stop(): Promise<void>;
}

const num = (n: number) => Math.round(n).toLocaleString('en');

/** How often the socket's kernel drops are read for the status (they are read at scrape time too). */
const DROPS_EVERY_MS = 5000;

/** The mirror's scopes as the intake takes them (the config has checked the texts). */
function scopesOf(o: NetflowMirrorOptions): ExporterScopes | undefined {
  if (o.untaggedScope === undefined && o.exporterScopes === undefined) return undefined;
  return {
    all: o.untaggedScope === undefined ? undefined : parseUntaggedScope(o.untaggedScope),
    byExporter: new Map(
      Object.entries(o.exporterScopes ?? {}).map(([e, v]) => [exporterName(e), parseUntaggedScope(v)]),
    ),
  };
}

export async function startNetflowMirror(o: NetflowMirrorOptions): Promise<NetflowMirror> {
  const { host, port } = parseNetflowAddress(o.listen, 'mirror.listen');
  const engine = new LocalNetflow({
    index: o.index,
    vxlanPorts: o.vxlanPorts,
    windowSeconds: o.windowSeconds,
    maxFlows: o.maxFlows,
    onFlows: o.onFlows,
    onRecord: o.onRecord,
    scopes: scopesOf(o),
    samplingRate: o.samplingRate,
    stateFile: join(o.dataDir, STATE_FILE),
  });
  let input: NetflowInput | null = null;
  try {
    input = await openNetflowInput({
      host,
      port,
      readers: o.readers,
      engine,
      onError: (err) => o.log(`netflow listener: ${err.message}`),
    });
  } catch (err) {
    await engine.stop();
    listenError(err, host, port, 'set mirror.listen in the config');
  }
  const l = input!;
  const reordered = () => engine.reorder?.reordered ?? 0;
  registerNetflowMetrics(o.registry, {
    intake: engine.intake,
    kernelDrops: () => l.reader.kernelDrops(),
    overloadDrops: () => l.overloadDrops(),
    reordered,
  });
  let kernelDrops: number | null = null;
  const readDrops = () =>
    void l.reader.kernelDrops().then((d) => {
      kernelDrops = d;
    });
  readDrops();
  const dropsTimer = setInterval(readDrops, DROPS_EVERY_MS);
  return {
    names: engine.names,
    counters: engine.intake.counters,
    flowStats: engine.flowStats,
    recvBufferSize: l.recvBufferSize,
    readersText: l.readersText,
    tick: (nowSec) => engine.tick(nowSec),
    status: () => ({
      listen: o.listen,
      exporters: engine.intake.exporters.size,
      ...engine.intake.summary(),
      overloadDrops: l.overloadDrops(),
      reorderedDatagrams: reordered(),
      kernelDrops,
    }),
    // before the flow sink's last flush: read what the socket holds, then emit the open windows
    async stop() {
      clearInterval(dropsTimer);
      await l.drain();
      await l.close();
      await engine.stop();
    },
  };
}

/** The status line's NetFlow part. */
export function netflowStatusLine(s: NetflowStatus): string {
  const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  const problems = Object.keys(s)
    .filter((k) => /^malformed|template_missing|held_expired|refused/.test(k))
    .reduce((t, k) => t + n(k), 0);
  const drops = s.kernelDrops === null ? '?' : num(n('kernelDrops'));
  return (
    `netflow ${s.listen}: ${num(n('datagrams'))} datagrams from ${n('exporters')} exporters, ` +
    `${num(n('records'))} records, ${num(problems)} malformed or undecodable, ${drops} kernel drops` +
    (n('overloadDrops') > 0 ? `, ${num(n('overloadDrops'))} overload drops` : '')
  );
}
