/**
 * A podwire role (service/roles.ts) assembled from its parts and run until stopped:
 *
 *   endpoint sources ─▶ live inventory (time-versioned index) ─┬─▶ mirror input ─▶ flows ─▶ ClickHouse flows (+ rollups)
 *   (demo agent, file,                                          │                  └─────▶ packet_samples (1 in N)
 *    kubernetes, cni-cache)                                     └─▶ NIC collector ─▶ /metrics, vf_counters, SLA evaluator
 *
 * `all` runs every part (on embedded defaults: demo agent, demo SmartNIC, demo mirror, chDB
 * in ./data, /metrics, the API and the page on 127.0.0.1:9742). Stops cleanly on
 * SIGINT/SIGTERM (or after a duration): open flows are emitted and every writer flushes
 * (or spools what the store cannot take); a restart on the same data goes on.
 */

import type { Registry } from 'prom-client';
import { type SlaAssembly, startSla } from '../alerts/service.js';
import { hashToken, TokenAccess } from '../api/access.js';
import { AuthFailureLimiter, registerAuthLimitMetrics } from '../api/auth-limit.js';
import { LiveHub } from '../api/live/hub.js';
import { liveSampleOf } from '../api/live/readings.js';
import type { AllConfig } from '../cli/all-config.js';
import { listenError, parseListen, UserError } from '../cli/errors.js';
import type { LiveInventory } from '../collector/endpoints/live-inventory.js';
import { demoSamplingRate } from '../collector/synth/mirror.js';
import type { PacketSampleRow } from '../ingest/sample-rows.js';
import type { Stop } from '../ingest/stop-signals.js';
import type { Store } from '../ingest/store.js';
import type { NodeExporter } from '../node-exporter/exporter.js';
import { type Endpoints, startEndpoints } from './endpoints.js';
import { ctxOf, startHttp } from './http.js';
import { startInput } from './inputs/index.js';
import { inputName, type MirrorInput } from './inputs/types.js';
import { NicPart } from './nic.js';
import { Packets, type PacketsOptions } from './packets.js';
import { ROLE, ROLE_PARTS, type Role } from './roles.js';
import { type StatusParts, statusLine, statusOf } from './status.js';
import { openServiceStore } from './store.js';
import { storedAlerts } from './stored-alerts.js';
import { Undo } from './undo.js';
import { openWriters } from './writers.js';

export interface RunOptions {
  role: Role;
  config: AllConfig;
  /** where the config came from, for the startup lines */
  configPath?: string;
  /** stop after this many seconds (default: run until a signal) */
  durationSeconds?: number;
  /** the one-line health summary every this many seconds (0: only at start and end) */
  statusSeconds?: number;
  quiet?: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function runRole(o: RunOptions, stop: Stop): Promise<void> {
  const cfg = o.config;
  const parts = ROLE_PARTS[o.role];
  const say = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  const log = (m: string) => process.stderr.write(`${m.startsWith('podwire') ? m : `podwire: ${m}`}\n`);
  const { host, port } = parseListen(cfg.http.listen, 'http.listen');
  const access = tokenAccess(cfg);
  if (parts.api && !LOOPBACK.test(host) && !access.configured) {
    throw new UserError(
      `http.listen ${cfg.http.listen}: beyond loopback the API needs tokens (api.tokens, http.apiToken or PODWIRE_API_TOKEN)`,
    );
  }
  const role = ROLE[o.role];
  const problem = role.problem?.(cfg) ?? null;
  if (problem !== null) throw new UserError(problem);
  const store = role.opensStore(cfg) ? await openServiceStore(cfg) : null;
  const undo = new Undo(log);
  if (store !== null) undo.push(() => store.close());
  try {
    const assembled = await assemble(o, { store, access, host, port, say, log, undo }, stop);
    await runUntilStopped(o, assembled, say, stop);
    await undo.unwind();
    assembled.untrack();
    say(assembled.stoppedLine());
  } finally {
    await undo.unwind();
  }
}

function tokenAccess(cfg: AllConfig): TokenAccess {
  const token = cfg.http.apiToken ?? process.env.PODWIRE_API_TOKEN;
  if (token !== undefined && token.length < 16)
    throw new UserError('PODWIRE_API_TOKEN: at least 16 characters');
  // the older single token is one more admin token; tokens are held as hashes only
  return new TokenAccess({
    tokens: [
      ...cfg.api.tokens,
      ...(token === undefined
        ? []
        : [{ name: 'http.apiToken', sha256: hashToken(token), role: 'admin' as const }]),
    ],
    sessionSeconds: cfg.api.sessionSeconds,
  });
}

interface Base {
  store: Store | null;
  access: TokenAccess;
  host: string;
  port: number;
  say: (s: string) => void;
  log: (m: string) => void;
  undo: Undo;
}

interface Assembled {
  url: string;
  status: () => Record<string, unknown>;
  line: () => string;
  hints: string[];
  stoppedLine: () => string;
  untrack: () => void;
}

async function assemble(o: RunOptions, b: Base, stop: Stop): Promise<Assembled> {
  const cfg = o.config;
  const parts = ROLE_PARTS[o.role];
  const { store, log, undo } = b;
  const endpoints = await startEndpoints(cfg, log, undo);
  const { live } = endpoints;
  const nic = new NicPart(cfg, live, log, parts.nic ? cfg.nic.sources : []);
  const sp: StatusParts = { role: o.role, live, nic, started: Date.now() };
  const { exporter, hub } = httpPart(o, b, endpoints, sp);
  const registry = exporter.registry.prom;

  const writers = await openWriters({
    store,
    cfg,
    registry,
    log,
    undo,
    role: parts,
    mirror: cfg.mirror.type,
  });
  sp.writers = writers;
  if (writers.vf !== null) {
    const vf = writers.vf;
    nic.writeRows = (rows) => void vf.writeMany(rows);
  }
  if (parts.sla) sp.sla = await startSlaPart(o, b, { nic, live, registry, spoolDir: writers.spoolDir });
  if (writers.flows !== null && writers.samples !== null) {
    const onSample = (row: PacketSampleRow) => {
      if (hub?.wantsSamples) hub.sample(liveSampleOf(row));
    };
    const flowWriter = writers.flows;
    const sampleWriter = writers.samples;
    Object.assign(sp, await startMirror(o, b, { nic, live, registry, flowWriter, sampleWriter, onSample }));
  }
  // a third stop signal during the flush: the open flows and every row not yet stored go to the spool
  const untrack = stop.track({
    pendingRows: () => (sp.packets?.pendingRows() ?? 0) + writers.unsettledRows(),
    abandon: () => {
      sp.packets?.flowTable.flush();
      return writers.abandonSync(sp.packets?.sink.drainSync());
    },
  });

  const url = await listen(exporter, hub, b);
  if (sp.sla) sp.sla.service.generatorUrl = `${url}/api/v1/alerts`;
  sp.started = Date.now();
  sp.health = () => exporter.health();
  return {
    url,
    status: () => statusOf(sp),
    line: () => statusLine(sp),
    hints: hints(o, url, b, store, sp),
    stoppedLine: () => writers.stoppedLine(store),
    untrack,
  };
}

/**
 * The HTTP server of the role (not listening yet) and, where the role serves users, the
 * live stream's hub; the inventory's and the auth limiter's metrics on its registry.
 */
function httpPart(o: RunOptions, b: Base, endpoints: Endpoints, sp: StatusParts) {
  const cfg = o.config;
  const parts = ROLE_PARTS[o.role];
  const { store, log, undo } = b;
  const { live } = endpoints;
  const nic = sp.nic;
  let hub: LiveHub | null = null;
  const authLimit = new AuthFailureLimiter({ maxFailures: cfg.api.authFailuresPerMinute });
  // serve has no evaluator of its own: the active alerts are what the nodes stored
  const stored = parts.api && !parts.sla && store !== null ? storedAlerts(ctxOf(store), 15_000, log) : null;
  if (stored !== null) undo.push(async () => stored.close());
  const exporter = startHttp({
    host: b.host,
    port: b.port,
    nic,
    live,
    loaded: endpoints.loaded,
    store,
    access: b.access,
    log,
    api: parts.api
      ? {
          authLimit,
          status: () => statusOf(sp),
          alerts: () => sp.sla?.service.alerts() ?? stored?.current() ?? { evaluatedAt: null, alerts: [] },
          hub: () => hub,
          rates: parts.nic ? () => nic.rates() : undefined,
        }
      : null,
  });
  const registry = exporter.registry.prom;
  if (parts.api) hub = new LiveHub({ rates: () => nic.liveRates(cfg.alerts.nodeCapacityBps), registry, log });
  live.registerMetrics(registry);
  registerAuthLimitMetrics(registry, authLimit);
  return { exporter, hub };
}

/** Listens; the server's close (and, before it, the hub's: it waits for upgraded sockets) goes on the undo stack. */
async function listen(exporter: NodeExporter, hub: LiveHub | null, b: Base): Promise<string> {
  let url: string;
  try {
    ({ url } = await exporter.start());
  } catch (err) {
    listenError(err, b.host, b.port, 'set http.listen in the config, or --listen');
  }
  b.undo.push(() => exporter.stop());
  if (hub !== null) b.undo.push(async () => hub.close());
  return url;
}

interface Shared {
  nic: NicPart;
  live: LiveInventory;
  registry: Registry;
}

/** The SLA evaluator: a round after each NIC collection (alerts/service.ts). */
async function startSlaPart(o: RunOptions, b: Base, p: Shared & { spoolDir: string }): Promise<SlaAssembly> {
  const cfg = o.config;
  const sla = await startSla({
    tiers: cfg.tiers,
    alerts: cfg.alerts,
    alertmanager: cfg.alertmanager,
    demo: o.configPath === undefined,
    store: b.store,
    spoolDir: p.spoolDir,
    registry: p.registry,
    index: () => p.live.index,
    intervalMs: p.nic.intervalMs,
    log: b.log,
  });
  b.undo.push(() => sla.close());
  p.nic.observe = (state) => void sla.service.observe(state);
  return sla;
}

/** The mirror input and the flow and sample pipeline it feeds (service/packets.ts, inputs/). */
async function startMirror(
  o: RunOptions,
  b: Base,
  p: Shared & {
    flowWriter: PacketsOptions['flowWriter'];
    sampleWriter: PacketsOptions['sampleWriter'];
    onSample: (row: PacketSampleRow) => void;
  },
): Promise<{ packets: Packets; input: MirrorInput }> {
  const cfg = o.config;
  const m = cfg.mirror;
  // the demo mirror following the demo NIC samples 1 in N; flows scale back by N
  const following = m.type === 'demo' && p.nic.demo !== null;
  const packets = new Packets({
    cfg,
    live: p.live,
    input: inputName(m),
    samplingRate: following
      ? (m.samplingRate ?? demoSamplingRate(m.packetsPerSecond, p.live.snapshot().nodes.length))
      : 1,
    registry: p.registry,
    flowWriter: p.flowWriter,
    sampleWriter: p.sampleWriter,
    onSample: p.onSample,
    undo: b.undo,
  });
  const input = await startInput({
    cfg,
    mirror: m,
    live: p.live,
    packets,
    registry: p.registry,
    demoNic: p.nic.demo,
    log: b.log,
    say: b.say,
    undo: b.undo,
  });
  startTicks(packets, input, b.undo);
  return { packets, input };
}

/** Every 100 ms: the input's clock (the demo mirror emits, quiet windows close). */
function startTicks(packets: Packets, input: MirrorInput, undo: Undo): void {
  let lastMs = Date.now();
  const tick = setInterval(() => {
    const now = Date.now();
    input.tick?.(lastMs, now);
    lastMs = now;
    packets.flowTable.tick(now / 1000);
  }, 100);
  undo.push(async () => clearInterval(tick));
}

/** Where to look, printed at the start. */
function hints(o: RunOptions, url: string, b: Base, store: Store | null, sp: StatusParts): string[] {
  const running = `running: podwire ${o.role}, ${o.configPath ? `config ${o.configPath}` : 'embedded demo (no --config)'}; store ${store?.location ?? 'none (NIC counters on /metrics only)'}`;
  const base = [
    `  metrics   ${url}/metrics          (Prometheus${ROLE_PARTS[o.role].nic ? '; per-pod VF, qdisc and endpoint series' : ''})`,
    `  health    ${url}/healthz, ${url}/readyz`,
  ];
  if (!ROLE_PARTS[o.role].api) return [running, ...base];
  const apiHint = b.access.configured ? ' -H "Authorization: Bearer $TOKEN"' : '';
  const alerts = sp.sla?.describe() ?? 'as the nodes stored them in sla_events';
  return [
    running,
    `  page      ${url}/                 (live bandwidth, top talkers, trace, alerts)`,
    ...base,
    `  api       ${url}/api/v1/openapi.json (every route)`,
    `  flows     curl -s${apiHint} '${url}/api/v1/top-talkers?by=pod'`,
    `  pods      curl -s${apiHint} '${url}/api/v1/pods'`,
    `  trace     curl -s${apiHint} '${url}/api/v1/trace?ip=ADDRESS'`,
    `  status    curl -s${apiHint} '${url}/api/v1/status'`,
    `  alerts    curl -s${apiHint} '${url}/api/v1/alerts'          (${alerts})`,
  ];
}

async function runUntilStopped(
  o: RunOptions,
  a: Assembled,
  say: (s: string) => void,
  stop: Stop,
): Promise<void> {
  say(`podwire ${'─'.repeat(70)}`);
  for (const h of a.hints) say(h);
  say('Ctrl-C stops (open flows are stored first); a restart goes on with the same data.');
  say(a.line());
  const statusEvery = (o.statusSeconds ?? 30) * 1000;
  const statusTimer = statusEvery > 0 ? setInterval(() => say(a.line()), statusEvery) : null;
  await new Promise<void>((resolve) => {
    if (stop.signal.aborted) return resolve();
    stop.signal.addEventListener('abort', () => resolve(), { once: true });
    if (o.durationSeconds !== undefined) setTimeout(resolve, o.durationSeconds * 1000).unref();
  });
  if (statusTimer) clearInterval(statusTimer);
  say('podwire: stopping: emitting open flows, flushing the writers');
}
