/**
 * The live inventory every role attributes with: each configured endpoint source attached,
 * the start waiting up to ATTACH_WAIT_MS for its first listing.
 */

import type { AllConfig } from '../cli/all-config.js';
import { UserError } from '../cli/errors.js';
import { EndpointConfigError } from '../collector/endpoints/config.js';
import { createEndpointSource } from '../collector/endpoints/factory.js';
import { LiveInventory } from '../collector/endpoints/live-inventory.js';
import type { Undo } from './undo.js';

/** How long the start waits for an endpoint source's initial listing. */
const ATTACH_WAIT_MS = 10_000;

export interface Endpoints {
  live: LiveInventory;
  /** every source's initial listing is in (/readyz) */
  loaded(): boolean;
}

export async function startEndpoints(
  cfg: AllConfig,
  log: (m: string) => void,
  undo: Undo,
): Promise<Endpoints> {
  const live = new LiveInventory({ retentionSeconds: cfg.endpoints.retentionSeconds, log });
  undo.push(() => live.close());
  let loaded = false;
  const listings: Promise<void>[] = [];
  for (const sc of cfg.endpoints.sources) listings.push((await attach(live, sc, log)).listing);
  Promise.all(listings).then(
    () => {
      loaded = true;
    },
    () => {},
  );
  return { live, loaded: () => loaded };
}

/**
 * A source that cannot start at all (a missing file) stops the start; one whose first
 * listing is slow (an API server down: it retries with backoff) does not hold the service:
 * it goes on, and attribution fills in once the listing arrives.
 */
async function attach(
  live: LiveInventory,
  sc: AllConfig['endpoints']['sources'][number],
  log: (m: string) => void,
): Promise<{ listing: Promise<void> }> {
  let source: Awaited<ReturnType<typeof createEndpointSource>>;
  try {
    source = await createEndpointSource(sc, { log });
  } catch (err) {
    if (err instanceof EndpointConfigError) throw new UserError(err.message);
    throw err;
  }
  const attached = live.attach(source);
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
  return { listing: attached };
}
