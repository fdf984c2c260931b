/**
 * Performance tiers by their SR-IOV rates: SR-IOV CNI configures a VF's `min_tx_rate` and
 * `max_tx_rate` (Mb/s) from the network's config, so an endpoint without a tier label is
 * given the tier whose rates match (the cni-cache files, NADs without a tier annotation).
 */
import { z } from 'zod';
import { DEMO_TIERS } from '../nic/demo.js';

export const cniTierSchema = z.object({
  name: z.string().min(1),
  minTxRate: z.number().min(0),
  maxTxRate: z.number().min(0),
});
export type CniTier = z.infer<typeof cniTierSchema>;

/** The demo SmartNIC's tiers (bits per second there) in Mb/s. */
export const DEFAULT_CNI_TIERS: readonly CniTier[] = Object.entries(DEMO_TIERS).map(([name, t]) => ({
  name,
  minTxRate: t.min / 1e6,
  maxTxRate: t.max / 1e6,
}));

/** The tier whose rates match exactly, '' when none does (unset rates count as 0). */
export function tierForRates(
  minTxRate: number | null | undefined,
  maxTxRate: number | null | undefined,
  tiers: readonly CniTier[] = DEFAULT_CNI_TIERS,
): string {
  const min = minTxRate ?? 0;
  const max = maxTxRate ?? 0;
  return tiers.find((t) => t.minTxRate === min && t.maxTxRate === max)?.name ?? '';
}
