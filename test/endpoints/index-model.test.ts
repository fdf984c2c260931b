/**
 * EndpointIndex against a brute-force model over random histories: bindings added (with
 * ties of equal starts and keys), ended and removed, tables grown and full of tombstones;
 * every lookup's answer, and that the answer holds across the [stableFrom, stableTo) span
 * it reports (what the flow table relies on), and whether the key had several active bindings
 * (`ambiguous`) over that span too.
 */
import { describe, expect, it } from 'vitest';
import {
  type Endpoint,
  EndpointIndex,
  vlanScope,
  vniScope,
} from '../../collector/attribution/endpoint-index.js';
import { parseIpv4, parseIpv6, parseMac } from '../../collector/decode/addr.js';
import { Prng } from '../../collector/synth/prng.js';
import { l2, overlay } from './records.js';

const T = 1_000_000_000_000_000;

interface ModelBinding {
  ep: Endpoint;
  removed: boolean;
}

function winner(cands: Endpoint[]): Endpoint | null {
  let best: Endpoint | null = null;
  for (const c of cands) {
    if (best === null || c.fromUs > best.fromUs) best = c;
    else if (c.fromUs === best.fromUs) {
      const wins = c.key !== '' && best.key !== '' && c.key !== best.key ? c.key < best.key : c.id > best.id;
      if (wins) best = c;
    }
  }
  return best;
}

describe('EndpointIndex (binding tables) against a brute-force model', () => {
  it('random histories: answers and stability spans agree', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const rng = new Prng(seed);
      const index = new EndpointIndex();
      const model: ModelBinding[] = [];
      // small address pools: keys bound many times (history, ties); large: mostly one binding a key
      const pool = seed <= 2 ? 1 : 20;
      const macs = Array.from(
        { length: 40 * pool },
        (_, i) =>
          `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      );
      const ip4s = Array.from({ length: 30 * pool }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
      const ip6s = Array.from({ length: 10 * pool }, (_, i) => `fd00::${i + 1}`);
      const scopes = [vlanScope(100), vlanScope(101), vniScope(5001)];
      const when = () => T + rng.int(0, 50) * 1000; // coarse: many equal times (ties)
      for (let step = 0; step < 1500; step++) {
        const r = rng.next();
        const live = model.filter((b) => !b.removed);
        if (r < 0.5 || live.length === 0) {
          const sc = rng.pick(scopes);
          const ips = [rng.pick(ip4s), ...(rng.chance(0.3) ? [rng.pick(ip6s)] : [])];
          const rec =
            sc >= 4096
              ? overlay({ vni: sc - 4096, mac: rng.pick(macs), ips })
              : l2({ vlan: sc, mac: rng.pick(macs), ips });
          const from = when();
          const key = rng.chance(0.3) ? '' : `k${rng.int(0, 20)}`;
          const ep = index.add(rec, key, from, rng.chance(0.3) ? from + rng.int(1, 20) * 1000 : undefined);
          model.push({ ep, removed: false });
        } else if (r < 0.75) {
          const b = rng.pick(live);
          if (b.ep.toUs === Number.POSITIVE_INFINITY) index.end(b.ep, b.ep.fromUs + rng.int(0, 30) * 1000);
        } else if (r < 0.85) {
          const b = rng.pick(live);
          index.remove(b.ep);
          b.removed = true;
        } else {
          // lookups
          const present = model.filter((b) => !b.removed).map((b) => b.ep);
          for (let q = 0; q < 20; q++) {
            const sc = rng.pick(scopes);
            const t = when() + rng.int(-1, 1);
            const k = rng.int(0, 2);
            const mac = rng.pick(macs);
            const ip4 = rng.pick(ip4s);
            const ip6 = rng.pick(ip6s);
            const holds = (e: Endpoint, at: number) =>
              e.scope === sc &&
              at >= e.fromUs &&
              at < e.toUs &&
              (k === 0 ? e.macNum === parseMac(mac) : k === 1 ? e.ips.includes(ip4) : e.ips.includes(ip6));
            const lookup = (at: number) =>
              k === 0
                ? index.byMacAt(sc, parseMac(mac), at)
                : k === 1
                  ? index.byIp4At(sc, parseIpv4(ip4), at)
                  : index.byIp6At(sc, parseIpv6(ip6), at);
            index.beginLookups();
            const got = lookup(t);
            const want = winner(present.filter((e) => holds(e, t)));
            expect(got?.id ?? -1, `seed ${seed} step ${step}`).toBe(want?.id ?? -1);
            const claimants = (at: number) => present.filter((e) => holds(e, at)).length;
            // conflicting claims: attribution then asks the IP (attribute.ts)
            expect(index.ambiguous, `ambiguity, seed ${seed} step ${step}`).toBe(claimants(t) > 1);
            const lo = index.stableFrom;
            const hi = index.stableTo;
            expect(lo <= t && t < hi).toBe(true);
            for (const at of [lo, hi - 1, Math.floor((lo + hi) / 2)]) {
              if (!Number.isFinite(at) || at < T - 10_000_000 || at > T + 100_000_000) continue;
              const w = winner(present.filter((e) => holds(e, at)));
              expect(w?.id ?? -1, `stable span of seed ${seed} step ${step}`).toBe(want?.id ?? -1);
              expect(claimants(at) > 1, `ambiguity over the span, seed ${seed} step ${step}`).toBe(
                claimants(t) > 1,
              );
            }
          }
        }
      }
    }
  });
});
