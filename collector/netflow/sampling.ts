/**
 * Sampling rates. A record's rate comes, in this order, from:
 * 1. its own fields: samplingPacketInterval/Space (305/306) as (interval + space) /
 *    interval — `space` packets skipped after every `interval` taken (RFC 5476) —, else
 *    samplingInterval (34), else samplerRandomInterval (50);
 * 2. the options data of its sampler (samplerId 48) or selector (selectorId 302);
 * 3. the options data of its observation domain without a sampler or selector scope;
 * 4. the configured rate.
 * Options data teach (2) and (3) (and the systemInitTime IPFIX's 21/22 are relative to).
 */
import { type DomainState, SELECTOR_KEY_BASE } from './templates.js';
import { Has, type NetflowRecord } from './types.js';

/** The rate a record's own fields state; 0 when none does. */
export function inlineRate(r: NetflowRecord): number {
  const h = r.has;
  if ((h & Has.PACKET_INTERVAL) !== 0 && r.packetInterval > 0)
    return (r.packetInterval + ((h & Has.PACKET_SPACE) !== 0 ? r.packetSpace : 0)) / r.packetInterval;
  if ((h & Has.SAMPLING_INTERVAL) !== 0 && r.samplingInterval > 0) return r.samplingInterval;
  if ((h & Has.RANDOM_INTERVAL) !== 0 && r.randomInterval > 0) return r.randomInterval;
  return 0;
}

/** An options data record → the domain's sampling state. True when anything changed. */
export function learnOptions(d: DomainState, r: NetflowRecord): boolean {
  let changed = false;
  if ((r.has & Has.SYSTEM_INIT) !== 0 && r.systemInitMs !== d.systemInitMs) {
    d.systemInitMs = r.systemInitMs;
    changed = true;
  }
  const rate = inlineRate(r);
  if (rate === 0) return changed;
  let key = -1;
  if ((r.has & Has.SAMPLER_ID) !== 0) key = r.samplerId;
  else if ((r.has & Has.SELECTOR_ID) !== 0) key = SELECTOR_KEY_BASE + r.selectorId;
  if (key < 0) {
    if (d.defaultRate === rate) return changed;
    d.defaultRate = rate;
    return true;
  }
  if (d.samplers.get(key) === rate) return changed;
  // bounded: an exporter cannot grow this without limit by inventing sampler ids
  if (d.samplers.size >= MAX_SAMPLERS && !d.samplers.has(key)) return changed;
  d.samplers.set(key, rate);
  return true;
}

export const MAX_SAMPLERS = 1024;

/** The rate of a flow record (see the top of this file). */
export function recordRate(d: DomainState, r: NetflowRecord, configured: number): number {
  const own = inlineRate(r);
  if (own > 0) return own;
  if ((r.has & Has.SAMPLER_ID) !== 0) {
    const s = d.samplers.get(r.samplerId);
    if (s !== undefined) return s;
  }
  if ((r.has & Has.SELECTOR_ID) !== 0) {
    const s = d.samplers.get(SELECTOR_KEY_BASE + r.selectorId);
    if (s !== undefined) return s;
  }
  return d.defaultRate > 0 ? d.defaultRate : configured;
}
