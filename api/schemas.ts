/**
 * The request schemas of /api/v1: they validate every request (a 400 naming the parameter)
 * and generate /api/v1/openapi.json (@hono/zod-openapi), so the document cannot drift from
 * what the server accepts. Query objects are strict: an unknown or misspelt parameter is a
 * 400, never a silently ignored filter. Numbers are plain decimals (no `0x10`, no `1e3`):
 * what a user reads back is what was asked.
 */
import { z } from '@hono/zod-openapi';
import { NAMESPACE_RE } from './access.js';

/** Seconds since the epoch (decimals allowed) or an ISO 8601 date-time or date. */
const INSTANT_RE = /^(\d+(\.\d+)?|\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d))?)$/;

export const instant = z
  .string()
  .transform((s, c) => {
    const n = INSTANT_RE.test(s) ? (/^[\d.]+$/.test(s) ? Number(s) : Date.parse(s) / 1000) : Number.NaN;
    if (!Number.isFinite(n)) {
      c.addIssue({
        code: 'custom',
        message: 'expected seconds since the epoch or an ISO 8601 time (2026-11-26T10:00:00Z)',
      });
      return z.NEVER;
    }
    return Math.floor(n);
  })
  .optional()
  .openapi({ type: 'string', example: '2026-11-26T10:00:00Z' });

export const range = {
  from: instant.openapi({ description: 'start, seconds since the epoch or ISO 8601 (default: to − 1 h)' }),
  to: instant.openapi({ description: 'end, exclusive (default: now)' }),
};

/** A whole decimal number within [min, max]. */
export const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `expected a whole number from ${min} to ${max}`)
        .max(max, `expected a whole number from ${min} to ${max}`),
    )
    .openapi({ type: 'integer', minimum: min, maximum: max });

export const namespace = z
  .string()
  .regex(NAMESPACE_RE, 'expected a Kubernetes namespace name (lower-case letters, digits, -; at most 63)')
  .openapi({ example: 'shop' });
/** A pod name: an RFC 1123 subdomain, at most 253 characters. */
export const pod = z
  .string()
  .max(253, 'expected a Kubernetes pod name (at most 253 characters)')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'expected a Kubernetes pod name (lower-case letters, digits, - and .)',
  )
  .openapi({ example: 'web-1' });
export const node = z
  .string()
  .max(253)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?$/, 'expected a node name')
  .openapi({ example: 'node-a' });
export const mac = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'expected a MAC address (02:00:00:00:01:01)')
  .transform((s) => s.toLowerCase())
  .openapi({ type: 'string', example: '02:00:00:00:01:01' });
export const ip = z
  .union([z.ipv4(), z.ipv6()], { message: 'expected an IP address' })
  .openapi({ type: 'string', example: '10.0.0.5' });
export const vlan = int(0, 4094).openapi({ description: 'VLAN id (0: untagged)' });
export const vni = int(0, 0xffffff).openapi({ description: 'VXLAN network identifier' });

export const podParams = z
  .object({
    namespace: namespace.openapi({ param: { name: 'namespace', in: 'path' } }),
    pod: pod.openapi({ param: { name: 'pod', in: 'path' } }),
  })
  .strict();

export const topTalkersQuery = z
  .object({
    ...range,
    by: z.enum(['pod', 'pair', 'namespace', 'vlan', 'vni']).default('pod'),
    limit: int(1, 1000).default(10),
  })
  .strict();

export const bandwidthQuery = z.object({ ...range, step: int(1, 86400).default(60) }).strict();

export const packetsQuery = z
  .object({
    ...range,
    mac: mac.optional(),
    ip: ip.optional(),
    vlan: vlan.optional(),
    vni: vni.optional(),
    namespace: namespace.optional(),
    pod: pod.optional(),
    limit: int(1, 10_000).default(100),
  })
  .strict();

export const vfCountersQuery = z
  .object({
    ...range,
    step: int(1, 86400).default(60),
    node: node.optional(),
    namespace: namespace.optional(),
    pod: pod.optional(),
  })
  .strict();

export const flowsQuery = z
  .object({
    ...range,
    namespace: namespace.optional().openapi({ description: 'either side in this namespace' }),
    pod: pod.optional().openapi({ description: 'either side is this pod' }),
    mac: mac.optional(),
    ip: ip.optional(),
    vlan: vlan.optional(),
    vni: vni.optional(),
    protocol: int(0, 255).optional(),
    port: int(0, 65535).optional().openapi({ description: 'either port' }),
    limit: int(1, 1000).default(100),
    cursor: z
      .string()
      .max(512)
      .optional()
      .openapi({ description: 'the `next` of the previous page (opaque)' }),
  })
  .strict();

export const traceQuery = z
  .object({
    ...range,
    mac: mac.optional(),
    ip: ip.optional(),
    vlan: vlan.optional(),
    vni: vni.optional(),
    limit: int(1, 1000).default(100).openapi({ description: 'packet samples at most' }),
  })
  .strict();

export const podsQuery = z.object({ namespace: namespace.optional(), node: node.optional() }).strict();

export const podQuery = z.object({ ...range, limit: int(1, 100).default(20) }).strict();

export const slaEventsQuery = z
  .object({
    ...range,
    namespace: namespace.optional(),
    pod: pod.optional(),
    limit: int(1, 1000).default(100),
  })
  .strict();

export const noQuery = z.object({}).strict();

export const loginBody = z.object({ token: z.string().min(1).max(512) }).strict();

// ── answers (documented in /api/v1/openapi.json; the handlers build them) ──────────────

const seconds = z.number().int().openapi({ description: 'seconds since the epoch' });
const flowTable = z.enum(['flows', 'flows_1m', 'flows_1h']);

/**
 * Where a table's rows start (ingest/horizon.ts): raw rows are kept fewer days than the
 * rollups, and retention counts from arrival.
 */
export const holding = {
  holdsFrom: seconds.nullable().openapi({
    description:
      'the traffic time from which the table(s) hold every row (null: nothing held, or not known); older rows may be gone',
  }),
  partial: z.boolean().openapi({
    description: 'the range starts before holdsFrom (or nothing is held): the answer may lack older rows',
  }),
};

/** Which tables answered a range of flows (ingest/queries.ts FlowCoverage). */
export const coverage = {
  table: flowTable.openapi({ description: 'the coarsest table that answered part of the range' }),
  tables: z
    .array(z.object({ table: flowTable, from: seconds, to: seconds }))
    .openapi({ description: 'the pieces of the range in time order, each with the table that answered it' }),
  widened: z.boolean().openapi({
    description:
      'a piece went to a coarser table (the finer one no longer holds it) and was widened to its buckets: the answer covers tables[0].from to the last piece’s to, not exactly the range asked',
  }),
  ...holding,
};

const row = z.record(z.string(), z.union([z.string(), z.number()]));

export const topTalkersAnswer = z.object({ ...coverage, rows: z.array(row) });

export const bandwidthAnswer = z.object({
  ...coverage,
  points: z.array(
    z.object({
      t: seconds,
      txBitsPerSecond: z.number(),
      rxBitsPerSecond: z.number(),
      txPackets: z.number(),
      rxPackets: z.number(),
    }),
  ),
});

export const podAnswer = z
  .object({
    namespace: z.string(),
    pod: z.string(),
    from: seconds,
    to: seconds,
    ...coverage,
    peers: z.array(
      z.object({ namespace: z.string(), pod: z.string(), txBytes: z.number(), rxBytes: z.number() }),
    ),
  })
  .passthrough();

export const flowsAnswer = z.object({
  from: seconds,
  to: seconds,
  ...holding,
  flows: z.array(row),
  next: z.string().nullable(),
});

export const traceAnswer = z.object({
  from: seconds,
  to: seconds,
  ...holding,
  pods: z.array(z.object({}).passthrough()),
  samples: z.array(row),
});
