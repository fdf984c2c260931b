/**
 * The tier SLA model: what a performance tier promises (a guaranteed minimum and an allowed
 * maximum transmit rate, bits per second, and for tiers with a minimum an SLO objective: the
 * share of minutes that meet the guarantee), and the thresholds and timings of the alerts
 * built on it. It is configuration (`tiers:` and `alerts:` in the service config, zod-
 * validated so a bad field is named by its path); the demo's three tiers are the defaults.
 *
 * The tier's rates here say what a tier name means (its objective, what `podwire rules`
 * documents); the rules themselves use the rates the NIC reports for each VF
 * (`podwire_vf_tier_min_bytes_per_second` / `_max_`), which are the truth on the wire.
 */
import { z } from 'zod';
import { DEMO_CAPACITY_BPS, DEMO_TIERS } from '../collector/nic/demo.js';

/** Objectives of the demo tiers, percent of minutes meeting the guarantee. */
const DEMO_OBJECTIVES: Readonly<Record<string, number>> = { high: 99.9, standard: 99.5 };

/** Tier names become label values and YAML strings: keep them plain. */
const tierName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected letters, digits, ".", "_" or "-" (a label value)');

export const tierSchema = z
  .object({
    name: tierName,
    /** guaranteed minimum transmit rate, bits per second (0: none, best effort) */
    min: z.number().min(0),
    /** allowed maximum transmit rate, bits per second (0: unlimited) */
    max: z.number().min(0),
    /** percent of minutes that meet the guarantee (only for a tier with a minimum) */
    objective: z.number().gt(0).lt(100).optional(),
  })
  .strict()
  .refine((t) => t.max === 0 || t.max >= t.min, { message: 'max must be 0 (unlimited) or at least min' })
  .refine((t) => t.objective === undefined || t.min > 0, {
    message: 'a tier without a minimum guarantees nothing: it has no objective',
    path: ['objective'],
  });
export type Tier = z.infer<typeof tierSchema>;

export const DEFAULT_TIERS: readonly Tier[] = Object.entries(DEMO_TIERS).map(([name, t]) => ({
  name,
  min: t.min,
  max: t.max,
  ...(DEMO_OBJECTIVES[name] === undefined ? {} : { objective: DEMO_OBJECTIVES[name] }),
}));

export const tiersSchema = z
  .array(tierSchema)
  .min(1)
  .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, { message: 'tier names must be unique' })
  .default(DEFAULT_TIERS.map((t) => ({ ...t })));

const seconds = (d: number) =>
  z
    .number()
    .int()
    .min(0)
    .max(7 * 86400)
    .default(d);
const ratio = (d: number) => z.number().gt(0).lt(1).default(d);

/** `for` of each alert, seconds (the issue's production values). */
export const FOR_DEFAULTS = {
  guaranteeBreached: 300,
  atCeiling: 600,
  nodeSaturated: 600,
  collectionBroken: 300,
  unattributedTraffic: 600,
} as const;

/**
 * Timings the embedded demo uses (`podwire all` without --config): its noisy-neighbour
 * episode must page within two minutes of the start, which a 5-minute `for` cannot.
 */
export const DEMO_FOR = {
  guaranteeBreached: 60,
  atCeiling: 60,
  nodeSaturated: 60,
  collectionBroken: 120,
  unattributedTraffic: 120,
} as const;

export const alertSettingsSchema = z
  .object({
    /**
     * the window the per-VF rates are taken over, seconds (the recording rules' names say
     * it: rate1m); every per-VF `for` must be at least this long (see below)
     */
    rateWindowSeconds: z.number().int().min(5).max(3600).default(60),
    /** breached: transmitting below this share of the minimum while demand is unmet */
    guaranteeRatio: ratio(0.95),
    /** at ceiling: transmitting at or above this share of the maximum, with QoS drops */
    ceilingRatio: ratio(0.95),
    /** a node's pod data plane, bits per second, each direction */
    nodeCapacityBps: z.number().gt(0).default(DEMO_CAPACITY_BPS),
    /** saturated: a node's VF traffic above this share of its capacity */
    nodeSaturationRatio: ratio(0.9),
    /** collection broken: sFlow sample loss, or a live capture's kernel drops, above this share */
    sampleLossRatio: ratio(0.01),
    /** collection broken: packets no side of which is attributed, above this share */
    unattributedRatio: ratio(0.05),
    /** collection broken: a NIC source without a successful read for this long */
    staleSeconds: z.number().int().min(1).default(300),
    forSeconds: z
      .object({
        guaranteeBreached: seconds(FOR_DEFAULTS.guaranteeBreached),
        atCeiling: seconds(FOR_DEFAULTS.atCeiling),
        nodeSaturated: seconds(FOR_DEFAULTS.nodeSaturated),
        collectionBroken: seconds(FOR_DEFAULTS.collectionBroken),
        unattributedTraffic: seconds(FOR_DEFAULTS.unattributedTraffic),
      })
      .strict()
      .optional(),
    /** a breached alert keeps firing this long after its condition clears (against flapping) */
    keepFiringForSeconds: seconds(120),
    /** the SLO period the error budget is counted over, days */
    sloDays: z.number().int().min(1).max(90).default(30),
    /** the rule groups' evaluation interval, seconds (none: Prometheus's global one) */
    evaluationIntervalSeconds: z.number().int().min(1).optional(),
    /** the Prometheus job that scrapes podwire (the exporter-down rule) */
    prometheusJob: z.string().min(1).default('podwire'),
    /** where the runbook lives; each alert links `URL#section` */
    runbookUrl: z.string().min(1).default('https://github.com/podwire/podwire/blob/main/alerts/README.md'),
  })
  .strict()
  // A rate over a window the series does not fill yet (the first minute after a start, a
  // pod that just got its VF, data resuming after a gap) reads low: Prometheus divides by
  // the whole window. Such a reading lasts less than one window, so a `for` at least as
  // long never fires on it.
  .superRefine((a, c) => {
    const f = { ...FOR_DEFAULTS, ...a.forSeconds };
    for (const k of ['guaranteeBreached', 'atCeiling'] as const) {
      if (f[k] < a.rateWindowSeconds) {
        c.addIssue({
          code: 'custom',
          path: ['forSeconds', k],
          message: `must be at least rateWindowSeconds (${a.rateWindowSeconds}): a rate over a window not yet filled reads low`,
        });
      }
    }
  });
export type AlertSettings = z.infer<typeof alertSettingsSchema>;

export const alertmanagerSchema = z
  .object({
    /** Alertmanager's base URL, e.g. http://127.0.0.1:9093 (alerts go to /api/v2/alerts) */
    url: z.url({ protocol: /^https?$/, message: 'expected an http(s):// URL' }),
    /** re-send active alerts this often, seconds (Prometheus: 60) */
    resendSeconds: z.number().int().min(1).default(60),
    timeoutMs: z.number().int().min(100).default(10_000),
  })
  .strict();
export type AlertmanagerConfig = z.infer<typeof alertmanagerSchema>;

/** The tiers and the alert settings the rules are built from. */
export interface TierModel {
  readonly tiers: readonly Tier[];
  readonly alerts: AlertSettings;
}

/** Every `for`, with the defaults filled in. */
export function forSeconds(a: AlertSettings): Record<keyof typeof FOR_DEFAULTS, number> {
  return { ...FOR_DEFAULTS, ...a.forSeconds };
}

/** The default model: the demo tiers and the issue's thresholds and timings. */
export function defaultModel(): TierModel {
  return { tiers: tiersSchema.parse(undefined), alerts: alertSettingsSchema.parse({}) };
}

/** A model from a parsed config's `tiers` and `alerts` (validated here). */
export function modelOf(json: { tiers?: unknown; alerts?: unknown }): TierModel {
  return { tiers: tiersSchema.parse(json.tiers), alerts: alertSettingsSchema.parse(json.alerts ?? {}) };
}
