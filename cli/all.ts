/**
 * `podwire all`: the whole service in one process — what `npm start` runs.
 *
 *   endpoint sources ─▶ live inventory (time-versioned index) ─┬─▶ packet path ─▶ flows ─▶ ClickHouse flows (+ rollups)
 *   (demo agent, file,                                          │   (mirror input)  └────▶ packet_samples (1 in N)
 *    kubernetes, cni-cache)                                     └─▶ NIC collector ─▶ /metrics, ClickHouse vf_counters
 *
 * On embedded defaults: the demo agent (3 nodes, ~100 pods, churn), the demo SmartNIC
 * following it, the demo mirror emitting frames consistent with it through the real packet
 * path, chDB in ./data, and /metrics + /healthz + the query API on 127.0.0.1:9742. Stops
 * cleanly on SIGINT/SIGTERM (or after --duration): open flows are emitted and every writer
 * flushes (or spools what the store cannot take); a restart on the same data goes on.
 */
import { join } from 'node:path';
import { startSla } from '../alerts/service.js';
import { hashToken, TokenAccess } from '../api/access.js';
import { metricsGuard, mountApi } from '../api/app.js';
import { AuthFailureLimiter, registerAuthLimitMetrics } from '../api/auth-limit.js';
import { LiveHub } from '../api/live/hub.js';
import { liveSampleOf, ratesReading } from '../api/live/readings.js';
import { liveSocketServer, mountLive } from '../api/live/route.js';
import { podRates } from '../api/pods.js';
import { mountUi } from '../api/ui.js';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import { parseUntaggedScope } from '../collector/attribution/untagged-scope.js';
import { type CaptureCounts, registerCaptureMetrics } from '../collector/capture/metrics.js';
import { captureLive } from '../collector/capture/tcpdump.js';
import { decodeConfig } from '../collector/decode/packet.js';
import { EndpointConfigError } from '../collector/endpoints/config.js';
import { createEndpointSource } from '../collector/endpoints/factory.js';
import { LiveInventory } from '../collector/endpoints/live-inventory.js';
import { FlowTable, type FlowTableStats } from '../collector/flows/flow-table.js';
import { registerAttributionMetrics, registerFlowMetrics } from '../collector/flows/metrics.js';
import { Has } from '../collector/netflow/types.js';
import { NicCollector } from '../collector/nic/collector.js';
import { createDemoSource, type DemoNic } from '../collector/nic/demo.js';
import type { NicSource } from '../collector/nic/types.js';
import { PacketPath } from '../collector/packet-path.js';
import { LocalSflow } from '../collector/sflow/engine.js';
import { registerSflowMetrics } from '../collector/sflow/metrics.js';
import { observationName, type PointNames } from '../collector/sflow/observation.js';
import { openSflowInput, type SflowInput } from '../collector/sflow/readers.js';
import { DemoMirror, demoSamplingRate } from '../collector/synth/mirror.js';
import { FlowSink } from '../ingest/flow-sink.js';
import { migrate, SchemaError } from '../ingest/migrations.js';
import {
  capturedFrame,
  type PacketSampleRow,
  packetSampleRow,
  vfCounterRows,
} from '../ingest/sample-rows.js';
import { DEFAULT_RETENTION, flows, packet_samples, vf_counters } from '../ingest/schema.js';
import type { Stop } from '../ingest/stop-signals.js';
import { openStore, type Store, StoreError } from '../ingest/store.js';
import { BatchWriter } from '../ingest/writer.js';
import { NodeExporter } from '../node-exporter/exporter.js';
import { EndpointJoin } from '../node-exporter/join.js';
import { fromCollectorState } from '../node-exporter/nic-state.js';
import type { AllConfig } from './all-config.js';
import { DropNotice } from './capture-run.js';
import { ExitCode, listenError, parseListen, UserError } from './errors.js';
import { type NetflowMirror, netflowStatusLine, startNetflowMirror } from './netflow-mirror.js';
import { buildSources, parseSourceSpec } from './node.js';
import { parseListenAddress } from './sflow-run.js';
import { notStored, type StoreOutcome, storeHealth, sumOutcomes } from './store-report.js';

export interface AllOptions {
  config: AllConfig;
  /** where the config came from, for the startup lines */
  configPath?: string;
  /** stop after this many seconds (default: run until a signal) */
  durationSeconds?: number;
  /** the one-line health summary every this many seconds (0: only at start and end) */
  statusSeconds?: number;
  quiet?: boolean;
}

/** How long the start waits for an endpoint source's initial listing. */
const ATTACH_WAIT_MS = 10_000;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

const num = (n: number) => Math.round(n).toLocaleString('en');

export async function runAll(o: AllOptions, stop: Stop): Promise<void> {
  const signal = stop.signal;
  const cfg = o.config;
  const say = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  const log = (m: string) => process.stderr.write(`${m.startsWith('podwire') ? m : `podwire: ${m}`}\n`);
  const { host, port } = parseListen(cfg.http.listen, 'http.listen');
  const token = cfg.http.apiToken ?? process.env.PODWIRE_API_TOKEN;
  if (token !== undefined && token.length < 16)
    throw new UserError('PODWIRE_API_TOKEN: at least 16 characters');
  // the older single token is one more admin token; tokens are held as hashes only
  const access = new TokenAccess({
    tokens: [
      ...cfg.api.tokens,
      ...(token === undefined
        ? []
        : [{ name: 'http.apiToken', sha256: hashToken(token), role: 'admin' as const }]),
    ],
    sessionSeconds: cfg.api.sessionSeconds,
  });
  if (!LOOPBACK.test(host) && !access.configured) {
    throw new UserError(
      `http.listen ${cfg.http.listen}: beyond loopback the API needs tokens (api.tokens, http.apiToken or PODWIRE_API_TOKEN)`,
    );
  }

  // ── the store ──────────────────────────────────────────────────────────────────────
  let store: Store;
  try {
    store = await openStore({
      url: cfg.store.clickhouseUrl,
      dataDir: join(cfg.dataDir, 'clickhouse'),
      database: cfg.store.database,
      cluster: cfg.store.cluster,
    });
    await migrate(store.client, {
      database: store.database,
      cluster: store.cluster,
      retention: { ...DEFAULT_RETENTION, ...cfg.store.retention },
    });
  } catch (err) {
    if (err instanceof StoreError || err instanceof SchemaError)
      throw new UserError(err.message, ExitCode.USAGE);
    throw err;
  }
  const undo: (() => Promise<void>)[] = [() => store.close()];
  const unwind = async () => {
    for (const f of undo.splice(0).reverse()) await f().catch((e: Error) => log(`closing: ${e.message}`));
  };

  try {
    // ── endpoints ────────────────────────────────────────────────────────────────────
    const live = new LiveInventory({ retentionSeconds: cfg.endpoints.retentionSeconds, log });
    undo.push(() => live.close());
    /** every source's initial listing is in (/readyz) */
    let inventoryLoaded = false;
    const listings: Promise<void>[] = [];
    for (const sc of cfg.endpoints.sources) {
      let source: Awaited<ReturnType<typeof createEndpointSource>>;
      try {
        source = await createEndpointSource(sc, { log });
      } catch (err) {
        if (err instanceof EndpointConfigError) throw new UserError(err.message);
        throw err;
      }
      // A source that cannot start at all (a missing file) stops the start; one whose first
      // listing is slow (an API server down: it retries with backoff) does not hold the
      // service: it goes on, and attribution fills in once the listing arrives.
      const attached = live.attach(source);
      listings.push(attached);
      const slow = Symbol('slow');
      let timer: NodeJS.Timeout | undefined;
      try {
        const r = await Promise.race([
          attached,
          new Promise<typeof slow>((res) => {
            timer = setTimeout(() => res(slow), ATTACH_WAIT_MS);
          }),
        ]);
        if (r === slow) {
          log(
            `endpoint source ${source.name}: no initial listing after ${ATTACH_WAIT_MS / 1000} s; starting without it (it keeps trying)`,
          );
          attached.catch((err: Error) => log(`endpoint source ${source.name}: ${err.message}`));
        }
      } catch (err) {
        throw new UserError(`endpoint source ${source.name}: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }

    Promise.all(listings).then(
      () => {
        inventoryLoaded = true;
      },
      () => {},
    );

    // ── NIC sources: the demo SmartNIC follows the live inventory ───────────────────────
    let demoNic: DemoNic | null = null;
    const nicSources: NicSource[] = cfg.nic.sources.map((text) => {
      const spec = parseSourceSpec(text);
      if (spec.kind !== 'demo')
        return buildSources([spec], cfg.nic.node ?? 'localhost', cfg.nic.sysfsRoot)[0]!;
      const d = cfg.nic.demo;
      demoNic = createDemoSource({
        inventory: live.snapshot(),
        vfsPerPf: 64,
        node: cfg.nic.node,
        demandScale: d.demandScale,
        episode:
          d.episode === false
            ? undefined
            : {
                afterMs: d.episode.afterSeconds * 1000,
                durationMs: d.episode.durationSeconds * 1000,
                everyMs: d.episode.everySeconds * 1000,
                share: d.episode.share,
              },
      });
      return demoNic;
    });
    if (demoNic !== null) {
      const nic: DemoNic = demoNic;
      live.onChange(() => nic.follow(live.snapshot()));
    }
    const intervalMs = Math.round(cfg.nic.intervalSeconds * 1000);
    const collector = new NicCollector({
      sources: nicSources,
      intervalMs,
      log: (level, m) => log(`podwire nic ${level}: ${m}`),
    });
    const vfJoin = new EndpointJoin(() => live.index);
    let vfWriter: BatchWriter<typeof vf_counters> | null = null;
    let vfRows = 0;
    const provider = {
      async collect() {
        const s = await collector.collect();
        if (vfWriter !== null && s.at !== null) {
          const at = s.at;
          vfJoin.refresh(at);
          const rows = vfCounterRows(s, (node, pf, vf) => vfJoin.vf(node, pf, vf, at));
          if (rows.length > 0) {
            vfRows += rows.length;
            // no await: a slow store never stalls /metrics; the writer's queue is bounded
            // whatever its producers do (beyond it, batches spool or are counted as dropped)
            void vfWriter.writeMany(rows);
          }
        }
        const state = fromCollectorState(s, Date.now());
        void sla?.service.observe(state);
        return state;
      },
    };
    let sla: Awaited<ReturnType<typeof startSla>> | null = null;

    // ── the live stream's rates: the demo NIC is read every second for them (its
    // collection interval is longer); other sources give what their last collection measured
    const liveCollector =
      demoNic !== null && intervalMs > 1000
        ? new NicCollector({ sources: [demoNic as DemoNic], intervalMs: 1000, log: () => {} })
        : null;
    const liveJoin = new EndpointJoin(() => live.index);
    const liveRates = async () => {
      const s = liveCollector === null ? collector.state : await liveCollector.collect();
      const at = s.at ?? Date.now();
      liveJoin.refresh(at);
      const rates = podRates(s.vfs, (node, pf, vf) => liveJoin.vf(node, pf, vf, at));
      return ratesReading(Date.now(), rates, live.current(), cfg.alerts.nodeCapacityBps);
    };
    let hub: LiveHub | null = null;
    const authLimit = new AuthFailureLimiter({ maxFailures: cfg.api.authFailuresPerMinute });

    // ── the HTTP server: /metrics, /healthz, the query API, the live stream ──────────
    let status: () => Record<string, unknown> = () => ({});
    let alerts: () => unknown = () => ({ evaluatedAt: null, alerts: [] });
    const exporter = new NodeExporter({
      provider,
      index: live.index,
      host,
      port,
      intervalMs,
      log,
      guard: metricsGuard(access),
      websocket: liveSocketServer(),
      routes: (app) => {
        mountApi(app, {
          ctx: () => ({ client: store.client, database: store.database }),
          access,
          authLimit,
          status: () => status(),
          alerts: () => alerts(),
          inventory: live,
          inventoryLoaded: () => inventoryLoaded,
          rates: () => {
            const s = collector.state;
            const at = s.at ?? Date.now();
            vfJoin.refresh(at);
            return podRates(s.vfs, (node, pf, vf) => vfJoin.vf(node, pf, vf, at));
          },
        });
        if (hub !== null) mountLive(app, { access, hub });
        mountUi(app);
      },
    });
    hub = new LiveHub({ rates: liveRates, registry: exporter.registry.prom, log });
    live.registerMetrics(exporter.registry.prom);
    registerAuthLimitMetrics(exporter.registry.prom, authLimit);

    // ── writers ──────────────────────────────────────────────────────────────────────
    const spoolDir = join(cfg.dataDir, 'spool');
    const quarantineDir = join(cfg.dataDir, 'quarantine');
    const registry = exporter.registry.prom;
    const ingestLog = (level: string, m: string) => log(`podwire ingest ${level}: ${m}`);
    const writerOptions = { store, spoolDir, quarantineDir, registry, log: ingestLog };
    const flowWriter = await BatchWriter.open({ ...writerOptions, table: flows });
    undo.push(() => flowWriter.close());
    const sampleWriter = await BatchWriter.open({ ...writerOptions, table: packet_samples });
    undo.push(() => sampleWriter.close());
    vfWriter = await BatchWriter.open({ ...writerOptions, table: vf_counters });
    const vfw = vfWriter;
    undo.push(() => vfw.close());
    // the SLA evaluator: a round after each NIC collection (alerts/service.ts)
    const slaRun = await startSla({
      tiers: cfg.tiers,
      alerts: cfg.alerts,
      alertmanager: cfg.alertmanager,
      demo: o.configPath === undefined,
      store,
      spoolDir,
      registry,
      index: () => live.index,
      intervalMs,
      log,
    });
    sla = slaRun;
    undo.push(() => slaRun.close());
    alerts = () => slaRun.service.alerts();

    // ── the packet path ──────────────────────────────────────────────────────────────
    const mirror = cfg.mirror;
    const input =
      mirror.type === 'capture'
        ? `capture:${mirror.interface}`
        : mirror.type === 'sflow'
          ? `sflow:${mirror.listen}`
          : mirror.type === 'netflow'
            ? `netflow:${mirror.listen}`
            : 'mirror:demo';
    /** sFlow agents and ifIndexes, named as the intake registers them */
    let points: PointNames | undefined;
    const observation = (n: number) => observationName(n, input, points);
    const sink = new FlowSink({
      names: observation,
      send: (b) => flowWriter.writeEncoded(b),
      busy: () => flowWriter.stats().queuedBatches > 0,
    });
    const counters = new AttributionCounters();
    /** the attribution counts of the input in use (the sFlow intake keeps its own) */
    let pathCounters = counters;
    const flowTable = new FlowTable({
      index: live.index,
      counters,
      windowSeconds: cfg.flows.windowSeconds,
      maxFlows: cfg.flows.maxFlows,
      onFlows: sink.onFlows,
    });
    /** every flow table that runs, for the podwire_flow_* metrics */
    const flowTables: FlowTableStats[] = [flowTable.stats];
    registerFlowMetrics(registry, () => flowTables);
    const oneIn = cfg.samples.oneIn;
    // the demo mirror following the demo NIC samples 1 in N; flows scale back by N
    const following = mirror.type === 'demo' && demoNic !== null;
    const samplingRate = following
      ? (mirror.samplingRate ?? demoSamplingRate(mirror.packetsPerSecond, live.snapshot().nodes.length))
      : 1;
    let seen = 0;
    let sampled = 0;
    /** one packet in samples.oneIn is kept: whether this one is */
    const sampleDue = () => ++seen % oneIn === 0;
    /** a kept packet goes to packet_samples and to the live stream's subscribers */
    const keepSample = (row: PacketSampleRow) => {
      sampled++;
      void sampleWriter.write(row);
      if (hub?.wantsSamples) hub.sample(liveSampleOf(row));
    };
    const path = new PacketPath({
      index: live.index,
      decode: decodeConfig([]),
      untaggedScope:
        mirror.type === 'capture' && mirror.untaggedScope !== undefined
          ? parseUntaggedScope(mirror.untaggedScope)
          : undefined,
      flows: flowTable,
      counters,
      onPacket:
        oneIn > 0
          ? (c, p, a) => {
              if (sampleDue())
                keepSample(
                  packetSampleRow(capturedFrame(c), p, a, observation(p.erspanSession), samplingRate),
                );
            }
          : undefined,
      samplingRate,
    });
    registerAttributionMetrics(registry, () => pathCounters);
    // closed windows are encoded in slices, off the packet path's turn
    let pumping = false;
    const pump = setInterval(() => {
      if (pumping) return;
      pumping = true;
      void (async () => {
        try {
          await sink.tick();
        } finally {
          pumping = false;
        }
      })();
    }, 50);
    undo.push(async () => {
      clearInterval(pump);
      while (pumping) await new Promise((r) => setTimeout(r, 5));
      // open flows are emitted and encoded before the writers close
      flowTable.flush();
      await sink.flush();
    });
    // a third stop signal during the flush: the open flows and every row not yet stored go to the spool
    const untrack = stop.track({
      pendingRows: () =>
        flowTable.stats.open +
        sink.pendingRows() +
        flowWriter.unsettledRows() +
        sampleWriter.unsettledRows() +
        vfw.unsettledRows(),
      abandon: () => {
        flowTable.flush();
        const r = [flowWriter.abandonSync(sink.drainSync()), sampleWriter.abandonSync(), vfw.abandonSync()];
        return {
          spooled: r.reduce((n, x) => n + x.spooled, 0),
          dropped: r.reduce((n, x) => n + x.dropped, 0),
          where: spoolDir,
        };
      },
    });

    const inputStop = new AbortController();
    /** the flow table of the input in use (the sFlow intake has its own) */
    let flowStats = () => flowTable.stats;
    let demoMirror: DemoMirror | null = null;
    let sflowTick: ((nowSec: number) => void) | null = null;
    let netflow: NetflowMirror | null = null;
    let capture: Promise<unknown> | null = null;
    /** the capture mirror's counts, as tcpdump last reported them */
    let captureCounts: CaptureCounts | null = null;
    if (mirror.type === 'demo') {
      const vteps = () => {
        const m = new Map<string, string>();
        for (const n of live.snapshot().nodes) if (n.vteps[0] !== undefined) m.set(n.name, n.vteps[0]);
        return m;
      };
      let cachedVteps = vteps();
      live.onChange(() => {
        cachedVteps = vteps();
      });
      demoMirror = new DemoMirror({
        endpoints: () => live.current(),
        vteps: () => cachedVteps,
        packetsPerSecond: mirror.packetsPerSecond,
        seed: mirror.seed,
        follow: demoNic === null ? undefined : { tap: (demoNic as DemoNic).tap(), samplingRate },
      });
    } else if (mirror.type === 'sflow') {
      const { host, port } = parseListenAddress(mirror.listen);
      const engine = new LocalSflow({
        index: live.index,
        windowSeconds: cfg.flows.windowSeconds,
        maxFlows: cfg.flows.maxFlows,
        onFlows: sink.onFlows,
        // sampled headers are packet samples already: keep one in N for "which pod sent this"
        onSample:
          oneIn > 0
            ? (_d, s, p, a, obs, buf) => {
                if (!sampleDue()) return;
                const frame = {
                  timeUs: Date.now() * 1000,
                  bytes: buf.subarray(s.headerOffset, s.headerOffset + s.headerLength),
                  wireLength: s.headerLength > 0 ? s.frameLength - s.stripped : p.ipLength,
                };
                keepSample(packetSampleRow(frame, p, a, observation(obs), s.samplingRate));
              }
            : undefined,
      });
      points = engine.names;
      pathCounters = engine.intake.counters;
      flowStats = () => engine.flowStats;
      flowTables.push(engine.flowStats);
      let input: SflowInput | null = null;
      try {
        input = await openSflowInput({
          host,
          port,
          readers: mirror.readers,
          engine,
          onError: (err) => log(`sflow listener: ${err.message}`),
        });
      } catch (err) {
        listenError(err, host, port, 'set mirror.listen in the config');
      }
      const l = input!;
      registerSflowMetrics(registry, {
        intake: engine.intake,
        interfaces: engine.interfaceSeries,
        listener: () => l.reader,
        reordered: () => engine.reorder?.reordered ?? 0,
      });
      say(
        `podwire: listening for sFlow on ${mirror.listen} (receive buffer ${l.recvBufferSize} bytes)` +
          (l.readers > 0 ? `; ${l.readers} reader threads` : ''),
      );
      sflowTick = (nowSec) => engine.tick(nowSec);
      // before the flow sink's last flush (undo runs in reverse): read what the socket holds,
      // then emit the intake's open windows
      undo.push(async () => {
        await l.close();
        await engine.stop();
      });
    } else if (mirror.type === 'netflow') {
      const nf = await startNetflowMirror({
        ...mirror,
        index: live.index,
        windowSeconds: cfg.flows.windowSeconds,
        maxFlows: cfg.flows.maxFlows,
        onFlows: sink.onFlows,
        dataDir: cfg.dataDir,
        registry,
        log,
        // a packet report's frame (dataLinkFrameSection) is a packet sample, as an sFlow
        // header is: keep one in N for "which pod sent this"; flow records carry no frame
        onRecord:
          oneIn > 0
            ? (_e, r, p, a, obs, rate, buf) => {
                if ((r.has & Has.FRAME_SECTION) === 0 || r.frameLength === 0 || !sampleDue()) return;
                const frame = {
                  timeUs: Date.now() * 1000,
                  bytes: buf.subarray(r.frameOffset, r.frameOffset + r.frameLength),
                  wireLength: (r.has & Has.FRAME_SIZE) !== 0 ? r.frameSize : r.frameLength,
                };
                keepSample(packetSampleRow(frame, p, a, observation(obs), rate));
              }
            : undefined,
      });
      netflow = nf;
      points = nf.names;
      pathCounters = nf.counters;
      flowStats = () => nf.flowStats;
      flowTables.push(nf.flowStats);
      say(
        `podwire: listening for NetFlow/IPFIX on ${mirror.listen} (receive buffer ${nf.recvBufferSize} bytes)` +
          (nf.readers > 0 ? `; ${nf.readers} reader threads` : ''),
      );
      undo.push(() => nf.stop());
    } else if (mirror.type === 'capture') {
      const counts: CaptureCounts = {
        interface: mirror.interface,
        packets: 0,
        receivedByFilter: null,
        droppedByKernel: null,
        droppedByInterface: null,
      };
      captureCounts = counts;
      registerCaptureMetrics(registry, () => counts);
      const notice = new DropNotice(mirror.interface, 'mirror.bufferMiB');
      capture = captureLive(mirror.interface, path.handle, {
        filter: mirror.filter,
        signal: inputStop.signal,
        bufferMiB: mirror.bufferMiB,
        snaplen: mirror.snaplen,
        onListening: () => say(`podwire: capturing on ${mirror.interface}`),
        onProgress: (_bytes, packets) => {
          counts.packets = packets;
        },
        onDrops: (d) => {
          Object.assign(counts, d);
          const warning = notice.update(d);
          if (warning !== null) log(warning);
        },
      }).catch((err: Error) => log(`capture on ${mirror.interface} stopped: ${err.message}`));
    }
    let lastMs = Date.now();
    const tick = setInterval(() => {
      const now = Date.now();
      demoMirror?.emit(lastMs, now, path.handle);
      lastMs = now;
      // windows close by the clock too when the input goes quiet
      flowTable.tick(now / 1000);
      sflowTick?.(now / 1000);
      netflow?.tick(now / 1000);
    }, 100);
    undo.push(async () => {
      clearInterval(tick);
      inputStop.abort();
      await capture;
    });

    // ── go ───────────────────────────────────────────────────────────────────────────
    let url: string;
    try {
      ({ url } = await exporter.start());
    } catch (err) {
      listenError(err, host, port, 'set http.listen in the config, or --listen');
    }
    undo.push(() => exporter.stop());
    // before the server stops (undo runs in reverse): its close waits for upgraded sockets
    const liveHub = hub;
    undo.push(async () => liveHub.close());
    slaRun.service.generatorUrl = `${url}/api/v1/alerts`;
    const started = Date.now();

    status = () => {
      const inv = live.stats();
      const f = flowWriter.stats();
      const nodes = [...inv.vfsInUse].map(([n, v]) => `${n} ${v}/64`).join(', ');
      const health = exporter.health();
      return {
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        endpoints: { live: inv.live, history: inv.history, conflicts: inv.conflicts, vfsInUse: nodes },
        packets: { seen: pathCounters.packets, attributed: pathCounters.attributed, sampled },
        flows: { emitted: flowStats().emitted, open: flowStats().open, ...f },
        store: sumOutcomes([f, sampleWriter.stats(), vfw.stats()]),
        vfCounterRows: vfRows,
        nic: health.sources.map((s) => ({ source: s.name, ok: s.ok, lastError: s.lastError })),
        ...(captureCounts === null ? {} : { capture: { ...captureCounts } }),
        ...(netflow === null ? {} : { netflow: netflow.status() }),
        alerts: slaRun.service.status(),
      };
    };
    const line = () => {
      const s = status() as {
        endpoints: { live: number; conflicts: number; vfsInUse: string };
        packets: { seen: number; attributed: number };
        flows: { emitted: number; written: number };
        store: StoreOutcome;
        nic: { source: string; ok: boolean }[];
        capture?: CaptureCounts;
      };
      const pct = s.packets.seen > 0 ? ((100 * s.packets.attributed) / s.packets.seen).toFixed(1) : '0';
      const nicBad = s.nic.filter((n) => !n.ok).map((n) => n.source);
      return (
        `podwire: ${s.endpoints.live} endpoints live (VFs in use: ${s.endpoints.vfsInUse || 'none'}), ` +
        `${num(s.packets.seen)} packets (${pct}% attributed), ${num(s.flows.emitted)} flows, ` +
        `${num(s.flows.written)} stored; ${storeHealth(s.store)}; ` +
        `NIC ${nicBad.length === 0 ? 'ok' : `failing: ${nicBad.join(', ')}`}; ${slaRun.service.line()}` +
        (s.capture === undefined ? '' : `; ${captureStatus(s.capture)}`) +
        (netflow === null ? '' : `; ${netflowStatusLine(netflow.status())}`)
      );
    };

    const apiHint = access.configured ? ' -H "Authorization: Bearer $TOKEN"' : '';
    say(`podwire ${'─'.repeat(70)}`);
    say(
      `running: ${o.configPath ? `config ${o.configPath}` : 'embedded demo (no --config)'}; store ${store.location}`,
    );
    say(`  page      ${url}/                 (live bandwidth, top talkers, trace, alerts)`);
    say(`  metrics   ${url}/metrics          (Prometheus; per-pod VF, qdisc and endpoint series)`);
    say(`  health    ${url}/healthz, ${url}/readyz`);
    say(`  api       ${url}/api/v1/openapi.json (every route)`);
    say(`  flows     curl -s${apiHint} '${url}/api/v1/top-talkers?by=pod'`);
    say(`  pods      curl -s${apiHint} '${url}/api/v1/pods'`);
    say(`  trace     curl -s${apiHint} '${url}/api/v1/trace?ip=ADDRESS'`);
    say(`  status    curl -s${apiHint} '${url}/api/v1/status'`);
    say(`  alerts    curl -s${apiHint} '${url}/api/v1/alerts'          (${slaRun.describe()})`);
    say('Ctrl-C stops (open flows are stored first); a restart goes on with the same data.');
    say(line());

    const statusEvery = (o.statusSeconds ?? 30) * 1000;
    const statusTimer = statusEvery > 0 ? setInterval(() => say(line()), statusEvery) : null;
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      if (o.durationSeconds !== undefined) setTimeout(resolve, o.durationSeconds * 1000).unref();
    });
    if (statusTimer) clearInterval(statusTimer);
    say('podwire: stopping: emitting open flows, flushing the writers');
    await unwind();
    untrack();
    const f = flowWriter.stats();
    const smp = sampleWriter.stats();
    const vf = vfw.stats();
    const left = notStored(sumOutcomes([f, smp, vf]), { spool: spoolDir, quarantine: quarantineDir });
    say(
      `podwire: stopped. stored ${num(f.written)} flow rows, ${num(smp.written)} packet samples, ` +
        `${num(vf.written)} VF counter rows in ${store.location}${left || '; nothing left unflushed'}`,
    );
  } finally {
    await unwind();
  }
}

/** The status line's capture part: what the capture lost, by where. */
function captureStatus(c: CaptureCounts): string {
  const n = (v: number | null) => (v === null ? '?' : num(v));
  return `capture ${c.interface}: ${n(c.droppedByKernel)} dropped by the kernel, ${n(c.droppedByInterface)} by the interface`;
}
