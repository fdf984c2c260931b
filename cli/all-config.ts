/**
 * The `podwire all --config FILE` schema: every option with its default, validated with zod
 * so a bad file is refused with the path of each bad field and what was expected. With no
 * file, every default applies: the embedded demo (demo agent, demo SmartNIC, demo mirror,
 * chDB in ./data, /metrics on 127.0.0.1:9742). The README documents each option.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { alertmanagerSchema, alertSettingsSchema, tiersSchema } from '../alerts/model.js';
import { tokenConfigSchema } from '../api/access.js';
import { parseUntaggedScope } from '../collector/attribution/untagged-scope.js';
import { DEFAULT_BUFFER_MIB, DEFAULT_SNAPLEN } from '../collector/capture/tcpdump.js';
import { endpointSourceConfigSchema, formatIssues } from '../collector/endpoints/config.js';
import { windowProblem } from '../collector/flows/flow-table.js';
import { parseSourceSpec } from '../collector/nic/registry.js';
import { DEFAULT_RETENTION, MAX_RETENTION_DAYS } from '../ingest/schema.js';
import {
  DEFAULT_NETFLOW_ADDRESS,
  parseListen,
  parseListenAddress,
  parseNetflowAddress,
  UserError,
} from './errors.js';

/** A string the parser accepts (its own errors are for the CLI; the config names the path). */
const accepted = (parse: (text: string) => unknown, message: string) =>
  z.string().refine(
    (v) => {
      try {
        parse(v);
        return true;
      } catch {
        return false;
      }
    },
    { message },
  );

const listen = accepted(
  (s) => parseListen(s, 'listen'),
  'expected HOST:PORT, e.g. 127.0.0.1:9742 or [::1]:9742',
);

const nicSource = accepted(
  parseSourceSpec,
  'expected demo, iproute2:PF[,PF], sysfs:PF[,PF], netdev:IF[,IF] or tc:IF[,IF]',
);

const retentionKeys = Object.keys(DEFAULT_RETENTION) as [keyof typeof DEFAULT_RETENTION];

/** The demo SmartNIC's noisy-neighbour episode (collector/nic/demo.ts DemoEpisode), in seconds. */
const episodeSchema = z
  .object({
    afterSeconds: z.number().min(0).default(10),
    durationSeconds: z.number().gt(0).default(300),
    /** a new episode this often (0: only one) */
    everySeconds: z.number().min(0).default(900),
    /** share of the node's data plane the flood takes */
    share: z.number().gt(0).lt(1).default(0.9),
  })
  .strict();
const DEMO_NIC_DEFAULTS = {
  demandScale: 0.3,
  episode: { afterSeconds: 10, durationSeconds: 300, everySeconds: 900, share: 0.9 },
};

/** A tenant scope as text: `vni:N` or `vlan:N` (collector/attribution/untagged-scope.ts). */
const scopeText = accepted(parseUntaggedScope, 'expected vni:N (0..16777215) or vlan:N (1..4094)');

export const allConfigSchema = z
  .object({
    /** embedded ClickHouse (DATA_DIR/clickhouse) and the writers' spools (DATA_DIR/spool) */
    dataDir: z.string().min(1).default('data'),
    store: z
      .object({
        /** a ClickHouse server instead of embedded chDB: http(s)://user:password@host:8123/db */
        clickhouseUrl: z.url({ protocol: /^https?$/, message: 'expected an http(s):// URL' }).optional(),
        /** ReplicatedMergeTree + Distributed tables on this cluster (needs clickhouseUrl) */
        cluster: z.string().min(1).optional(),
        database: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a database name (letters, digits, _)')
          .default('podwire'),
        /** days to keep, per table */
        retention: z
          .partialRecord(z.enum(retentionKeys), z.number().int().min(1).max(MAX_RETENTION_DAYS))
          .default({}),
      })
      .strict()
      .default({ database: 'podwire', retention: {} })
      .refine((s) => s.cluster === undefined || s.clickhouseUrl !== undefined, {
        message: 'cluster needs clickhouseUrl (a cluster is a set of servers)',
        path: ['cluster'],
      }),
    endpoints: z
      .object({
        /** where endpoints come from (see the README: file, kubernetes, cni-cache, demo) */
        sources: z
          .array(endpointSourceConfigSchema)
          .min(1)
          .default([{ type: 'demo' } as never]),
        /** ended bindings are kept this long, so older packets attribute to who held an address then */
        retentionSeconds: z
          .number()
          .min(0)
          .default(24 * 3600),
      })
      .strict()
      .default({ sources: [{ type: 'demo' } as never], retentionSeconds: 24 * 3600 }),
    nic: z
      .object({
        /** in priority order (the `podwire node --source` syntax); [] = no NIC counters */
        sources: z.array(nicSource).default(['demo']),
        /** this node's name (default the host name; the demo simulates every demo node) */
        node: z.string().min(1).optional(),
        intervalSeconds: z.number().min(0.1).default(15),
        sysfsRoot: z.string().min(1).default('/sys'),
        /** the demo SmartNIC: its demand scale and noisy-neighbour episode (false: none) */
        demo: z
          .object({
            demandScale: z.number().gt(0).default(DEMO_NIC_DEFAULTS.demandScale),
            episode: z.union([episodeSchema, z.literal(false)]).default(DEMO_NIC_DEFAULTS.episode),
          })
          .strict()
          .default(DEMO_NIC_DEFAULTS),
      })
      .strict()
      .default({ sources: ['demo'], intervalSeconds: 15, sysfsRoot: '/sys', demo: DEMO_NIC_DEFAULTS }),
    mirror: z
      .discriminatedUnion('type', [
        z
          .object({
            /** frames consistent with the live endpoints, through the real packet path */
            type: z.literal('demo'),
            /**
             * following the demo NIC: about this many sampled frames a second when the nodes run
             * at capacity (the sampling rate, a power of two, is chosen from it); without the
             * demo NIC, exactly this many
             */
            packetsPerSecond: z.number().min(1).max(1_000_000).default(2000),
            /** following the demo NIC: sample 1 in this many (overrides packetsPerSecond) */
            samplingRate: z
              .number()
              .int()
              .min(1)
              .max(1 << 24)
              .optional(),
            seed: z.number().int().min(0).default(1),
          })
          .strict(),
        z
          .object({
            /** a live capture (tcpdump -i INTERFACE): a mirror/SPAN port, an ERSPAN receiver */
            type: z.literal('capture'),
            interface: z.string().min(1),
            filter: z.string().optional(),
            /** the kernel capture buffer, MiB (tcpdump -B) */
            bufferMiB: z.number().int().min(1).max(4096).default(DEFAULT_BUFFER_MIB),
            /** bytes kept per packet: every header podwire reads fits in 256 */
            snaplen: z.number().int().min(64).max(262144).default(DEFAULT_SNAPLEN),
            /** the tenant scope of untagged, untunnelled frames (a mirror of pods' own interfaces) */
            untaggedScope: scopeText.optional(),
          })
          .strict(),
        z
          .object({
            /** sFlow v5 from the TOR switches: a UDP listener (ADDR:PORT, IPv6 as [ADDR]:PORT) */
            type: z.literal('sflow'),
            listen: accepted(
              parseListenAddress,
              'expected ADDR:PORT with an IP address, e.g. 127.0.0.1:6343 or [::1]:6343',
            ).default('127.0.0.1:6343'),
            /** threads reading the socket (0: the main thread reads); see collector/sflow/readers.ts */
            readers: z.number().int().min(0).max(64).default(1),
          })
          .strict(),
        z
          .object({
            /** NetFlow v5/v9/IPFIX from switches and routers: a UDP listener (as --netflow) */
            type: z.literal('netflow'),
            listen: accepted(
              parseNetflowAddress,
              'expected ADDR:PORT with an IP address, e.g. 127.0.0.1:2055 or [::1]:2055',
            ).default(DEFAULT_NETFLOW_ADDRESS),
            /** the rate of records whose export states none (as --netflow-sampling-rate) */
            samplingRate: z.number().int().min(1).default(1),
            /** threads reading the socket (0: the main thread reads); decoding stays in the main thread (collector/netflow/readers.ts) */
            readers: z.number().int().min(0).max(64).default(1),
            /** UDP ports besides 4789 that carry VXLAN in exported packet sections */
            vxlanPorts: z.array(z.number().int().min(1).max(65535)).default([]),
            /** the tenant scope of records with neither VLAN nor VNI (routers' L3 exports), for every exporter */
            untaggedScope: scopeText.optional(),
            /** … per exporter address (IPv6 in brackets), before untaggedScope */
            exporterScopes: z.record(z.string().min(1), scopeText).optional(),
          })
          .strict(),
        z.object({ type: z.literal('none') }).strict(),
      ])
      .default({ type: 'demo', packetsPerSecond: 2000, seed: 1 }),
    flows: z
      .object({
        /** whole seconds nesting in minutes and hours, at most 1800 (flow-table.ts windowProblem) */
        windowSeconds: z
          .number()
          .superRefine((v, c) => {
            const problem = windowProblem(v);
            if (problem !== null) c.addIssue({ code: 'custom', message: problem });
          })
          .default(10),
        /** open flows held before they are emitted early (the default takes 128 MiB: flow-table.ts) */
        maxFlows: z.number().int().min(1).default(262_144),
      })
      .strict()
      .default({ windowSeconds: 10, maxFlows: 262_144 }),
    samples: z
      .object({
        /** one packet in N goes to packet_samples (0: none) */
        oneIn: z.number().int().min(0).default(100),
      })
      .strict()
      .default({ oneIn: 100 }),
    http: z
      .object({
        /** /metrics, /healthz and the query API */
        listen: listen.default('127.0.0.1:9742'),
        /**
         * bearer token the query API requires (default $PODWIRE_API_TOKEN); required when
         * listening beyond loopback. /metrics and /healthz stay open, as Prometheus expects.
         */
        apiToken: z.string().min(16, 'expected at least 16 characters').optional(),
      })
      .strict()
      .default({ listen: '127.0.0.1:9742' }),
    /** API access: tokens (as SHA-256 hashes) and their scopes, browser sessions (api/access.ts) */
    api: z
      .object({
        tokens: z.array(tokenConfigSchema).max(10_000).default([]),
        /** how long a login (session cookie) lasts */
        sessionSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 86400)
          .default(43_200),
        /** wrong tokens an address may send a minute before it gets 429 (api/auth-limit.ts) */
        authFailuresPerMinute: z.number().int().min(1).max(1_000_000).default(10),
      })
      .strict()
      .default({ tokens: [], sessionSeconds: 43_200, authFailuresPerMinute: 10 }),
    /** performance tiers: min/max bits per second, SLO objective (alerts/model.ts; default the demo's) */
    tiers: tiersSchema,
    /** SLA alert thresholds and timings (alerts/model.ts) */
    alerts: alertSettingsSchema.default(alertSettingsSchema.parse({})),
    /** where the in-process evaluator sends alerts (none: shown on /api/v1/alerts only) */
    alertmanager: alertmanagerSchema.optional(),
  })
  .strict();

export type AllConfig = z.infer<typeof allConfigSchema>;

/** Validates a parsed config; a UserError listing each bad field by path. */
export function parseAllConfig(json: unknown, where = 'config'): AllConfig {
  const r = allConfigSchema.safeParse(json);
  if (!r.success) throw new UserError(`${where}: invalid configuration\n${formatIssues(r.error.issues)}`);
  return r.data;
}

/** A config file's JSON, before validation; a UserError naming the file when it cannot be read. */
export async function readConfigJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`${path}: cannot read the config: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
}

export async function loadAllConfig(path: string): Promise<AllConfig> {
  return parseAllConfig(await readConfigJson(path), path);
}
