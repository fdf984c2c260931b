/**
 * bench:inventory — the endpoint index the packet path reads, as LiveInventory keeps it:
 * 100k live endpoints (70% L2 over 64 VLANs, 30% overlay over 16 VNIs, a tenth of them
 * dual-stack with an IPv6 address) plus history — 50k earlier bindings of the same
 * addresses (restarts with IP reuse) — built from bind/unbind events, then 1M lookups at
 * random timestamps over the whole span: 50% byMacAt, 40% byIp4At, 10% byIp6At, about 10%
 * of them misses (unknown addresses or times before any binding).
 *
 * Prints the build (events/s), the cost of rebuilding a fresh index from the same
 * inventory (what LiveInventory avoids by changing its index in place), memory per binding
 * (heap after a GC, divided by the bindings), then each lookup run; the last line is
 * `lookups/s: N` (median of 7 runs after 2 warm-ups). Target: >= 5,000,000 on one core
 * (the npm script pins the process with taskset).
 */
import { performance } from 'node:perf_hooks';
import { EndpointIndex, vlanScope, vniScope } from '../collector/attribution/endpoint-index.js';
import type { EndpointRecord } from '../collector/attribution/inventory.js';
import { parseIpv6 } from '../collector/decode/addr.js';
import { LiveInventory } from '../collector/endpoints/live-inventory.js';
import type { EndpointEvent } from '../collector/endpoints/types.js';
import { Prng } from '../collector/synth/prng.js';

const LIVE = Number(process.env.BENCH_ENDPOINTS ?? 100_000);
const HISTORY = Math.floor(LIVE / 2);
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 1_000_000);
const RUNS = 7;
const WARMUP = 2;
const T0 = Date.parse('2026-11-26T00:00:00Z') * 1000;
const SPAN = 6 * 3600 * 1_000_000; // six hours of churn
const gc = (globalThis as { gc?: () => void }).gc;

const hex2 = (n: number) => (n & 255).toString(16).padStart(2, '0');
const macOf = (n: number) => `02:${hex2(n >>> 24)}:${hex2(n >>> 16)}:${hex2(n >>> 8)}:${hex2(n)}:01`;
const ip4Of = (n: number) => `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const ip6Of = (n: number) => `fd00::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;

interface Slot {
  readonly l2: boolean;
  readonly scope: number;
  readonly vlanOrVni: number;
  readonly ipNum: number;
  readonly dual: boolean;
}

function record(s: Slot, macNum: number, pod: string, node: string): EndpointRecord {
  const ips = s.dual ? [ip4Of(s.ipNum), ip6Of(s.ipNum)] : [ip4Of(s.ipNum)];
  const common = {
    namespace: `ns-${s.vlanOrVni % 16}`,
    pod,
    node,
    interface: 'eth0',
    network: 'net',
    mac: macOf(macNum),
    ips,
    tier: 'standard',
    static: false,
    from: null,
    to: null,
  };
  return s.l2
    ? { ...common, mode: 'l2', vlan: s.vlanOrVni, vf: { pf: 'ens1f0', index: macNum % 64 } }
    : { ...common, mode: 'overlay', vni: s.vlanOrVni };
}

function main(): void {
  const rng = new Prng(42);
  // each slot is an address (scope + IP) held by a sequence of bindings over time
  const slots: Slot[] = [];
  for (let i = 0; i < LIVE; i++) {
    const l2 = i % 10 < 7;
    const vlanOrVni = l2 ? 100 + (i % 64) : 5001 + (i % 16);
    slots.push({
      l2,
      scope: l2 ? vlanScope(vlanOrVni) : vniScope(vlanOrVni),
      vlanOrVni,
      ipNum: 0x000100 + i,
      dual: i % 10 === 3,
    });
  }
  // events: the first HISTORY slots had an earlier holder that ended at a random time
  // (a restart: the address came back with a new MAC); everyone else bound at T0
  const events: EndpointEvent[] = [];
  const firstMac: number[] = [];
  const swapAt: number[] = [];
  let mac = 1;
  for (let i = 0; i < LIVE; i++) {
    firstMac.push(mac);
    events.push({
      kind: 'bind',
      atUs: T0,
      key: `p${i}-0/eth0`,
      record: record(slots[i], mac++, `pod-${i}-0`, `node-${i % 50}`),
    });
  }
  const pending: { t: number; i: number }[] = [];
  for (let i = 0; i < HISTORY; i++) pending.push({ t: T0 + 1 + Math.floor(rng.next() * (SPAN - 2)), i });
  pending.sort((a, b) => a.t - b.t);
  const secondMac = new Array<number>(LIVE).fill(-1);
  for (const { t, i } of pending) {
    swapAt[i] = t;
    secondMac[i] = mac;
    events.push({ kind: 'unbind', atUs: t, key: `p${i}-0/eth0` });
    events.push({
      kind: 'bind',
      atUs: t,
      key: `p${i}-1/eth0`,
      record: record(slots[i], mac++, `pod-${i}-1`, `node-${(i + 7) % 50}`),
    });
  }

  gc?.();
  // the JS heap and the binding tables' ArrayBuffers (outside the heap)
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const heap0 = used();
  const b0 = performance.now();
  const live = new LiveInventory({ retentionSeconds: 7 * 24 * 3600, now: () => T0 + SPAN, log: () => {} });
  for (let k = 0; k < events.length; k += 1000) live.apply('bench', events.slice(k, k + 1000));
  const buildMs = performance.now() - b0;
  gc?.();
  const heap1 = used();
  const st = live.stats();
  const bindings = st.live + st.history;
  console.log(
    `endpoints: ${st.live.toLocaleString()} live + ${st.history.toLocaleString()} history = ${bindings.toLocaleString()} bindings, ${events.length.toLocaleString()} events`,
  );
  console.log(
    `build through LiveInventory: ${buildMs.toFixed(0)} ms, ${Math.round(events.length / (buildMs / 1000)).toLocaleString()} events/s`,
  );
  console.log(
    `memory: ${((heap1 - heap0) / 1048576).toFixed(1)} MB (heap and array buffers; binding tables ${(live.index.tableBytes / 1048576).toFixed(1)} MB), ` +
      `${Math.round((heap1 - heap0) / bindings)} bytes per binding` +
      (gc ? '' : ' (no --expose-gc: approximate)'),
  );
  const snap = live.snapshot();
  const r0 = performance.now();
  const fresh = EndpointIndex.fromInventory(snap);
  const rebuildMs = performance.now() - r0;
  console.log(
    `rebuild of a fresh index from the same ${fresh.endpoints.length.toLocaleString()} bindings: ${rebuildMs.toFixed(0)} ms (avoided: LiveInventory changes its index in place)`,
  );

  // the queries: kind 0 = MAC, 1 = IPv4, 2 = IPv6
  const kind = new Uint8Array(LOOKUPS);
  const scope = new Int32Array(LOOKUPS);
  const key = new Float64Array(LOOKUPS);
  const ip6 = new Array<Uint8Array>(LOOKUPS);
  const when = new Float64Array(LOOKUPS);
  const none = new Uint8Array(16);
  const dualSlots = slots.map((s, i) => (s.dual ? i : -1)).filter((i) => i >= 0);
  const ip6Bytes = new Map<number, Uint8Array>();
  for (const i of dualSlots) ip6Bytes.set(i, parseIpv6(ip6Of(slots[i].ipNum)));
  for (let q = 0; q < LOOKUPS; q++) {
    const r = rng.next();
    const k = r < 0.5 ? 0 : r < 0.9 ? 1 : 2;
    const i = k === 2 ? dualSlots[Math.floor(rng.next() * dualSlots.length)] : Math.floor(rng.next() * LIVE);
    const s = slots[i];
    // 5% before any binding, 5% unknown addresses
    const t = rng.next() < 0.05 ? T0 - 1_000_000 : T0 + Math.floor(rng.next() * SPAN);
    const unknown = rng.next() < 0.05;
    kind[q] = k;
    scope[q] = s.scope;
    when[q] = t;
    ip6[q] = none;
    if (k === 0) {
      const m = secondMac[i] >= 0 && t >= swapAt[i] ? secondMac[i] : firstMac[i];
      // macOf(m) is 02:<m, 4 bytes>:01
      key[q] = unknown ? 0x0affffffffff : 0x02 * 2 ** 40 + m * 256 + 1;
    } else if (k === 1) {
      key[q] = unknown ? 0x0b000001 : ((10 << 24) >>> 0) + s.ipNum;
    } else {
      ip6[q] = unknown ? none : ip6Bytes.get(i)!;
    }
  }

  const index = live.index;
  let found = 0;
  const runOnce = (): number => {
    const t0 = performance.now();
    let hits = 0;
    for (let q = 0; q < LOOKUPS; q++) {
      const k = kind[q];
      const ep =
        k === 0
          ? index.byMacAt(scope[q], key[q], when[q])
          : k === 1
            ? index.byIp4At(scope[q], key[q], when[q])
            : index.byIp6At(scope[q], ip6[q], when[q]);
      if (ep !== null) hits++;
    }
    found = hits;
    return performance.now() - t0;
  };
  const rates: number[] = [];
  for (let r = 0; r < WARMUP + RUNS; r++) {
    const ms = runOnce();
    const rate = Math.round(LOOKUPS / (ms / 1000));
    const label = r < WARMUP ? `warm-up ${r + 1}` : `run ${r - WARMUP + 1}`;
    console.log(`lookups ${label}: ${ms.toFixed(1)} ms, ${rate.toLocaleString()} lookups/s`);
    if (r >= WARMUP) rates.push(rate);
  }
  console.log(
    `hits: ${((found / LOOKUPS) * 100).toFixed(1)}% (misses: unknown addresses, times before any binding)`,
  );
  rates.sort((a, b) => a - b);
  console.log(`lookups/s: ${rates[Math.floor(rates.length / 2)]}`);
}

main();
