/**
 * The podwire command line. Every command is listed by `podwire --help`; exit codes are in
 * cli/errors.ts and the README.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { StopSignals } from '../ingest/stop-signals.js';
import { addDashboardsCommand } from './dashboards-command.js';
import {
  ExitCode,
  parseDuration,
  parseListen,
  parsePort,
  parseRetention,
  parseWindow,
  UserError,
} from './errors.js';

const DEFAULT_SFLOW_ADDRESS = '127.0.0.1:6343';
const DEFAULT_NETFLOW_ADDRESS = '127.0.0.1:2055';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const collectPort = (v: string, prev: number[] = []) => {
  try {
    return [...prev, parsePort(v, '--vxlan-port')];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const wholeNumber = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
};

function inputOptions(cmd: Command): Command {
  return cmd
    .option('--pcap <file>', 'read a pcap or pcapng file ("-" for stdin)')
    .option(
      '--capture <iface>',
      'capture live on an interface (runs tcpdump -i IFACE -U -s 256 -B 32768 --immediate-mode -w -)',
    )
    .option('--filter <bpf>', 'BPF filter for --capture (tcpdump syntax)')
    .option(
      '--capture-buffer <MiB>',
      'with --capture: the kernel capture buffer (tcpdump -B), MiB (default 32)',
      wholeNumber,
    )
    .option(
      '--snaplen <bytes>',
      'with --capture: bytes kept per packet (default 256: every header podwire reads)',
      wholeNumber,
    )
    .option(
      '--untagged-scope <vni:N|vlan:N>',
      "the tenant scope of untagged, untunnelled frames (a mirror of a pod's own interface), or of NetFlow records with neither VLAN nor VNI",
    )
    .requiredOption('--inventory <file>', 'endpoint inventory JSON (see README: inventory contract)')
    .option(
      '--vxlan-port <port>',
      'extra UDP port carrying VXLAN (4789 always does); repeatable',
      collectPort,
    )
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'table']).default('jsonl'))
    .option('-q, --quiet', 'no progress and no summary line on stderr');
}

/**
 * SIGINT/SIGTERM: the first stops the command (live captures stop and flush what they
 * have), a second says what is left, a third abandons the flush: see ingest/stop-signals.ts.
 */
function stopSignals(): StopSignals {
  return new StopSignals();
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`podwire: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`podwire: internal error: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = ExitCode.INTERNAL;
  }
}

export function buildProgram(): Command {
  const program = new Command('podwire')
    .description('Observability and traffic inspection for pods on SR-IOV VFs and VXLAN overlays')
    .version(pkg.version)
    .showHelpAfterError('(run podwire --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 input could not be read completely (or rows could not be stored), 2 bad usage or configuration,\n' +
        '3 a third SIGINT/SIGTERM abandoned the flush (what was left is in the spool), 70 internal error.\n' +
        'SIGINT/SIGTERM: the first stops and stores what is open, a second says what is left, a third abandons the flush.',
    );
  program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : ExitCode.USAGE);
  });

  inputOptions(
    program
      .command('trace')
      .description('one record per packet, attributed to the pods that sent and received it'),
  )
    .option('--limit <n>', 'print only the first N packets (all are still read and counted)')
    .action((o) =>
      run(async () => {
        const { trace } = await import('./trace.js');
        const limit = o.limit === undefined ? undefined : Number(o.limit);
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
          throw new UserError('--limit: a whole number >= 0');
        }
        await trace({ ...o, limit }, stopSignals().signal);
      }),
    );

  inputOptions(program.command('flows').description('packets aggregated into per-window flows between pods'))
    .option(
      '--sflow [addr:port]',
      'receive sFlow v5 on a UDP address instead (default 127.0.0.1:6343; [::1]:6343 for IPv6); runs until SIGINT/SIGTERM',
    )
    .option(
      '--netflow [addr:port]',
      'receive NetFlow v5/v9/IPFIX on a UDP address instead (default 127.0.0.1:2055; [::1]:2055 for IPv6); runs until SIGINT/SIGTERM',
    )
    .option(
      '--netflow-sampling-rate <n>',
      'with --netflow: the sampling rate of records whose export states none (default 1: unsampled)',
    )
    .option('--duration <duration>', 'with --sflow or --netflow: stop after this long (e.g. 30s)')
    .option(
      '--sflow-workers <n>',
      'with --sflow: decode in N worker threads, sharded by agent (default: as many as readers; 0 readers and 0 workers: all in the main thread)',
      '0',
    )
    .option(
      '--sflow-readers <n>',
      'with --sflow: threads reading the socket (default 1; more: see the README; 0: the main thread reads)',
    )
    .option(
      '--netflow-readers <n>',
      'with --netflow: threads reading the socket (default 1; more: see the README; 0: the main thread reads); decoding stays in the main thread',
    )
    .option(
      '--window <duration>',
      'flow window: whole seconds dividing a minute, or minutes dividing an hour, at most 30m (e.g. 10s, 1m)',
      '10s',
    )
    .option(
      '--max-flows <n>',
      'open flows held in memory before emitting early (the default takes 128 MiB: 128 B a flow in a table at most 3/4 full, and its spare)',
      '262144',
    )
    .option('--store', 'also store the flows in ClickHouse (embedded in --data-dir unless --clickhouse-url)')
    .option('--data-dir <dir>', 'embedded ClickHouse data and the writer spool', 'data')
    .addOption(
      new Option(
        '--clickhouse-url <url>',
        'a ClickHouse server: http(s)://user:password@host:8123/database',
      ).env('CLICKHOUSE_URL'),
    )
    .option('--clickhouse-cluster <name>', 'create ReplicatedMergeTree + Distributed tables on this cluster')
    .option('--database <name>', 'ClickHouse database', 'podwire')
    .option(
      '--retention <table=days,...>',
      'days to keep per table (defaults: flows=7, flows_1m=30, flows_1h=365, packet_samples=3, vf_counters=30, vf_counters_1h=365, sla_events=365)',
    )
    .action((o, cmd: Command) =>
      run(async () => {
        const { flows } = await import('./flows.js');
        const maxFlows = Number(o.maxFlows);
        const sflowWorkers = Number(o.sflowWorkers);
        if (!Number.isInteger(sflowWorkers) || sflowWorkers < 0 || sflowWorkers > 64)
          throw new UserError('--sflow-workers: a whole number 0..64');
        const sflowReaders = o.sflowReaders === undefined ? undefined : Number(o.sflowReaders);
        if (
          sflowReaders !== undefined &&
          !(Number.isInteger(sflowReaders) && sflowReaders >= 0 && sflowReaders <= 64)
        )
          throw new UserError('--sflow-readers: a whole number 0..64');
        const netflowReaders = o.netflowReaders === undefined ? undefined : Number(o.netflowReaders);
        if (
          netflowReaders !== undefined &&
          !(Number.isInteger(netflowReaders) && netflowReaders >= 0 && netflowReaders <= 64)
        )
          throw new UserError('--netflow-readers: a whole number 0..64');
        if (!Number.isInteger(maxFlows) || maxFlows < 1)
          throw new UserError('--max-flows: a whole number >= 1');
        const netflowSamplingRate =
          o.netflowSamplingRate === undefined ? undefined : Number(o.netflowSamplingRate);
        if (
          netflowSamplingRate !== undefined &&
          !(Number.isInteger(netflowSamplingRate) && netflowSamplingRate >= 1)
        )
          throw new UserError('--netflow-sampling-rate: a whole number >= 1');
        // CLICKHOUSE_URL in the environment says where to store, not whether to
        const wantsStore = o.store || cmd.getOptionValueSource('clickhouseUrl') === 'cli';
        if (o.clickhouseCluster !== undefined && o.clickhouseUrl === undefined) {
          throw new UserError('--clickhouse-cluster needs --clickhouse-url (a cluster is a set of servers)');
        }
        const store = wantsStore
          ? {
              dataDir: o.dataDir,
              clickhouseUrl: o.clickhouseUrl,
              clickhouseCluster: o.clickhouseCluster,
              database: o.database,
              retention: o.retention === undefined ? undefined : parseRetention(o.retention),
            }
          : undefined;
        await flows(
          {
            ...o,
            windowSeconds: parseWindow(o.window),
            maxFlows,
            store,
            durationSeconds: o.duration === undefined ? undefined : parseDuration(o.duration, '--duration'),
            sflowWorkers,
            sflowReaders,
            // --sflow without a value: the loopback default (switches send to port 6343)
            sflow: o.sflow === true ? DEFAULT_SFLOW_ADDRESS : o.sflow,
            netflow: o.netflow === true ? DEFAULT_NETFLOW_ADDRESS : o.netflow,
            netflowSamplingRate,
            netflowReaders,
          },
          stopSignals(),
        );
      }),
    );

  program
    .command('node')
    .description(
      'the node role: NIC counters, QoS drops and tiers per pod on /metrics; with --config also the SLA evaluator, VF counters to a shared store and an optional local capture',
    )
    .option(
      '--source <kind[:devices]>',
      'NIC source, repeatable, in priority order: demo | iproute2:PF[,PF] | sysfs:PF[,PF] | netdev:IF[,IF] | tc:IF[,IF] (default demo)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--inventory <file>',
      'endpoint inventory JSON joining VFs and interfaces to pods (demo: built in)',
    )
    .option('--node <name>', "this node's name in the inventory (default: the host name; demo: node-a)")
    .option('--interval <duration>', 'collection interval', '15s')
    .option('--sysfs-root <dir>', 'the sysfs mount the sysfs and netdev sources read', '/sys')
    .addHelpText('after', '\nWith --config, the NIC sources and the rest come from the config file (nic.*).')
    .configureHelp({ sortOptions: false });
  const nodeCommand = program.commands.find((c) => c.name() === 'node')!;
  roleOptions(nodeCommand).action((o, cmd: Command) =>
    run(async () => {
      if (o.config !== undefined) {
        const flagOnly = ['source', 'inventory', 'node', 'interval', 'sysfsRoot'].filter(
          (k) => cmd.getOptionValueSource(k) === 'cli',
        );
        if (flagOnly.length > 0)
          throw new UserError(
            `podwire node --config: ${flagOnly.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} belong in the config (nic.sources, endpoints.sources, nic.node, nic.intervalSeconds, nic.sysfsRoot)`,
          );
        const { runRoleCommand } = await import('./all.js');
        return runRoleCommand('node', roleFlags(o), stopSignals());
      }
      const roleOnly = ['dataDir', 'duration'].filter((k) => cmd.getOptionValueSource(k) === 'cli');
      if (roleOnly.length > 0)
        throw new UserError(`podwire node: --data-dir and --duration need --config (the node role)`);
      const { runNode } = await import('./node.js');
      const { host, port } = parseListen(o.listen ?? '127.0.0.1:9742', '--listen');
      await runNode(
        {
          sources: o.source ?? [],
          inventory: o.inventory,
          node: o.node,
          host,
          port,
          intervalSeconds: parseDuration(o.interval, '--interval'),
          sysfsRoot: o.sysfsRoot,
          quiet: o.quiet,
        },
        stopSignals().signal,
      );
    }),
  );

  program
    .command('rules')
    .description('Prometheus rules (recording + alerting) and an example Alertmanager config for the tiers')
    .option('--config <file>', "the service config whose tiers: and alerts: to use (default: the demo's)")
    .option('--out <dir>', 'output folder', 'alerts/dist')
    .action((o) =>
      run(async () => {
        const { rules } = await import('./rules.js');
        await rules(o);
      }),
    );

  program
    .command('sample')
    .description('write the demo capture and its inventory (what podwire tour traces) to a folder')
    .option('--out <dir>', 'output folder', 'samples')
    .action((o) =>
      run(async () => {
        const { writeSample } = await import('./sample.js');
        await writeSample(o.out);
      }),
    );

  program
    .command('tour')
    .description('the packet path over the shipped demo capture: flows, traced packets, where to look')
    .action(() =>
      run(async () => {
        const { tour } = await import('./tour.js');
        await tour();
      }),
    );

  addDashboardsCommand(program, run);

  const token = program.command('token').description('API tokens: make one, or hash one for api.tokens');
  token
    .command('new')
    .description('print a new random token (stdout) and its api.tokens entry (stderr)')
    .option('--name <name>', 'who holds it', 'admin')
    .addOption(
      new Option('--role <role>', 'what it sees').choices(['admin', 'metrics', 'tenant']).default('admin'),
    )
    .option('--namespaces <list>', 'a tenant token: its namespaces, comma-separated')
    .action((o) =>
      run(async () => {
        if (o.role === 'tenant' && !o.namespaces) throw new UserError('--role tenant needs --namespaces');
        const { tokenNew } = await import('./token.js');
        tokenNew(o);
      }),
    );
  token
    .command('hash')
    .description('print the SHA-256 (api.tokens[].sha256) of the token given on stdin')
    .action(() =>
      run(async () => {
        const { tokenHash } = await import('./token.js');
        await tokenHash();
      }),
    );

  const role = (name: 'all' | 'node' | 'collect' | 'serve', what: string) =>
    roleOptions(program.command(name).description(what)).action((o) =>
      run(async () => {
        const { runRoleCommand } = await import('./all.js');
        await runRoleCommand(name, roleFlags(o), stopSignals());
      }),
    );
  role(
    'all',
    'the whole service (what npm start runs): endpoints, NIC counters, mirror → flows → ClickHouse, /metrics and the query API',
  );
  role(
    'collect',
    'the collector role: TOR intake (sFlow, NetFlow/IPFIX, a capture) → attribution → ClickHouse; /metrics',
  );
  role(
    'serve',
    'the serving role: the query API, the page, the live stream and alerts over the shared store',
  );

  return program;
}

/** The flags every role command takes (`node` takes them besides its flag-only mode). */
function roleOptions(c: Command): Command {
  return c
    .option('--config <file>', 'JSON config (every option and its default: README, "podwire all")')
    .option('--data-dir <dir>', "override the config's dataDir (embedded ClickHouse and spools)")
    .option('--listen <host:port>', "override the config's http.listen")
    .option('--duration <duration>', 'stop after this long (default: run until Ctrl-C)')
    .option('--status-every <duration>', 'print the one-line health summary this often (0: never)', '30s')
    .option('-q, --quiet', 'only warnings and errors on stderr');
}

function roleFlags(o: Record<string, string | boolean | undefined>) {
  return {
    config: o.config as string | undefined,
    dataDir: o.dataDir as string | undefined,
    listen: o.listen as string | undefined,
    durationSeconds: o.duration === undefined ? undefined : parseDuration(String(o.duration), '--duration'),
    statusSeconds: o.statusEvery === '0' ? 0 : parseDuration(String(o.statusEvery), '--status-every'),
    quiet: o.quiet === true,
  };
}

await buildProgram().parseAsync(process.argv);
