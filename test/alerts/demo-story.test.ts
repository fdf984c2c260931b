/**
 * The demo tells one story (stand-ins: the demo agent for a cluster, the demo SmartNIC for
 * SR-IOV hardware), on a controlled clock so it holds at any time of day:
 * - the demo mirror follows the demo NIC: per pod over a minute, the flows' bytes (scaled
 *   back by the sampling rate they record) and the VF counters' transmit bytes agree within
 *   10 %, through the real decoders, attribution and flow table;
 * - the noisy-neighbour episode squeezes its node: within two minutes of the start the
 *   in-process evaluator (fed from the NIC collector, as `podwire all` feeds it) fires
 *   guarantee-breached for pods the NIC really cut below their minimum, and for no pod the
 *   NIC never dropped anything of; it resolves after the episode.
 */
import { describe, expect, it } from 'vitest';
import { SlaEvaluator } from '../../alerts/evaluator.js';
import { VfFeed } from '../../alerts/feed.js';
import { DEMO_FOR, defaultModel, type TierModel } from '../../alerts/model.js';
import { ALERTS } from '../../alerts/rules.js';
import { AttributionCounters } from '../../collector/attribution/attribute.js';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { DemoAgent } from '../../collector/endpoints/demo.js';
import { FlowTable } from '../../collector/flows/flow-table.js';
import { NicCollector } from '../../collector/nic/collector.js';
import { createDemoSource, type DemoEpisode, type DemoTick } from '../../collector/nic/demo.js';
import { PacketPath } from '../../collector/packet-path.js';
import { DemoMirror } from '../../collector/synth/mirror.js';
import { EndpointJoin } from '../../node-exporter/join.js';
import { fromTotals } from '../../node-exporter/nic-state.js';

/** The episode and demand `podwire all` runs its demo with (cli/all-config.ts defaults). */
const EPISODE: DemoEpisode = { afterMs: 10_000, durationMs: 300_000, everyMs: 900_000, share: 0.9 };
const DEMAND = 0.3;

function cluster(t0: number) {
  const agent = new DemoAgent({ seed: 1, nodes: 3, pods: 100, churnPerHour: 0, startUs: t0 * 1000 });
  const inv = agent.inventory();
  return { inv, index: EndpointIndex.fromInventory(inv) };
}

describe('the demo tells one story (demo agent and demo SmartNIC stand in for a cluster and SR-IOV hardware)', () => {
  for (const hour of [4, 16]) {
    it(`per pod over a minute, scaled flow bytes match the VF counters within 10 % (${hour}:00 UTC)`, () => {
      const t0 = Date.UTC(2026, 10, 26, hour, 0, 0);
      const { inv, index } = cluster(t0);
      const clock = { now: t0 };
      const nic = createDemoSource({
        inventory: inv,
        clock: () => clock.now,
        start: t0,
        vfsPerPf: 64,
        episode: EPISODE,
        demandScale: DEMAND,
      });
      const vteps = new Map(inv.nodes.map((n) => [n.name, n.vteps[0]!]));
      const N = 4096;
      const mirror = new DemoMirror({
        endpoints: () => inv.endpoints,
        vteps: () => vteps,
        follow: { tap: nic.tap(), samplingRate: N },
      });
      const counters = new AttributionCounters();
      const bytes = new Map<string, number>(); // pod → scaled bytes in the minute
      const rates = new Set<number>();
      const from = t0 / 1000 + 60;
      const flows = new FlowTable({
        index,
        counters,
        windowSeconds: 10,
        maxFlows: 1 << 16,
        onFlows: (b) => {
          for (let i = 0; i < b.count; i++) {
            const w = b.windowStart(i);
            const src = b.srcEndpoint(i);
            rates.add(b.samplingRate(i));
            if (w < from || w >= from + 60 || src < 0) continue;
            const ep = b.endpointList[src];
            if (ep.mode !== 'l2') continue;
            const k = `${ep.namespace}/${ep.pod}`;
            bytes.set(k, (bytes.get(k) ?? 0) + b.bytes(i));
          }
        },
      });
      const path = new PacketPath({ index, decode: decodeConfig([]), flows, counters, samplingRate: N });
      const vfTx = () => new Map(nic.readNow().vfs.map((v) => [`${v.node}/${v.vf}`, v.txBytes ?? 0]));
      let before = new Map<string, number>();
      let after = new Map<string, number>();
      for (let t = t0; t <= t0 + 150_000; t += 100) {
        clock.now = t;
        mirror.emit(0, 0, path.handle);
        flows.tick(t / 1000);
        if (t === t0 + 60_000) before = vfTx();
        if (t === t0 + 120_000) after = vfTx();
      }
      flows.flush();
      expect([...rates]).toEqual([N]);
      expect(counters.attributed).toBe(counters.packets);
      let worst = 0;
      let compared = 0;
      for (const ep of inv.endpoints) {
        if (ep.mode !== 'l2' || !ep.vf) continue;
        const k = `${ep.node}/${ep.vf.index}`;
        const vf = after.get(k)! - before.get(k)!;
        const flow = bytes.get(`${ep.namespace}/${ep.pod}`) ?? 0;
        if (vf === 0) {
          // starved all minute (best effort on the episode's node): nothing mirrored either
          expect(flow, k).toBe(0);
          continue;
        }
        const dev = Math.abs(flow - vf) / vf;
        worst = Math.max(worst, dev);
        compared++;
        expect(dev, `${ep.namespace}/${ep.pod}: flows ${flow} vs VF ${vf}`).toBeLessThan(0.1);
      }
      expect(compared).toBeGreaterThan(50);
      console.log(
        `demo story ${hour}:00: ${compared} L2 pods, worst flow/VF deviation ${(worst * 100).toFixed(2)}%`,
      );
    });
  }

  for (const hour of [4, 16]) {
    it(`the noisy-neighbour episode fires guarantee-breached for its victims within 2 minutes, for no pod without drops (${hour}:00 UTC)`, async () => {
      const t0 = Date.UTC(2026, 10, 26, hour, 0, 0);
      const { inv, index } = cluster(t0);
      const clock = { now: t0 };
      const nic = createDemoSource({
        inventory: inv,
        clock: () => clock.now,
        start: t0,
        vfsPerPf: 64,
        episode: EPISODE,
        demandScale: DEMAND,
      });
      const collector = new NicCollector({ sources: [nic], intervalMs: 15_000, clock: () => clock.now });
      const base = defaultModel();
      const model: TierModel = { tiers: base.tiers, alerts: { ...base.alerts, forSeconds: { ...DEMO_FOR } } };
      const ev = new SlaEvaluator(model);
      const feed = new VfFeed(ev, new EndpointJoin(() => index));
      // ground truth from the NIC's own ticks: each pod's true transmit and drops per second
      const sent = new Map<string, number[]>();
      const drops = new Map<string, number[]>();
      const mins = new Map<string, number>();
      const watch = (tick: DemoTick, i: number) => {
        for (const v of tick.vfs) {
          if (v.pod === null) continue;
          const k = `${v.namespace}/${v.pod}`;
          if (!sent.has(k)) {
            sent.set(k, []);
            drops.set(k, []);
          }
          sent.get(k)![i] = v.sentBps;
          drops.get(k)![i] = v.droppedBps;
          mins.set(k, v.minBps);
        }
      };
      /** the rule's condition on the true rates: the minute before t (s) averages < 95 % of the minimum, with drops */
      const breachedAt = (k: string, t: number) => {
        const xs = sent.get(k)!.slice(t - 59, t + 1);
        const avg = xs.reduce((a, b) => a + (b ?? 0), 0) / 60;
        return (
          avg < 0.95 * mins.get(k)! &&
          drops
            .get(k)!
            .slice(t - 59, t + 1)
            .some((d) => d > 0)
        );
      };
      const fired = new Map<string, number>();
      const nodes = new Set<string>();
      const resolved = new Set<string>();
      for (let t = t0 + 15_000; t <= t0 + 600_000; t += 15_000) {
        for (let s = t - 14_000; s <= t; s += 1000) {
          clock.now = s;
          watch(nic.lastTickView(), (s - t0) / 1000);
        }
        clock.now = t;
        await collector.collectRound();
        feed.ingest(fromTotals(collector.totals(), t));
        for (const tr of ev.round(t).transitions) {
          if (tr.alert.rule.alert !== ALERTS.guaranteeBreached) continue;
          const l = tr.alert.labels.labels;
          const k = `${l.namespace}/${l.pod}`;
          if (tr.to === 'firing' && !fired.has(k)) {
            fired.set(k, t - t0);
            nodes.add(l.node);
            expect(breachedAt(k, (t - t0) / 1000), `${k} fired at ${(t - t0) / 1000} s`).toBe(true);
          }
          if (tr.to === 'resolved') resolved.add(k);
        }
      }
      const neverDropped = [...drops].filter(([, d]) => !d.some((x) => x > 0)).map(([k]) => k);
      expect(fired.size).toBeGreaterThan(0);
      const first = Math.min(...fired.values());
      console.log(
        `demo episode ${hour}:00: first breach alert ${first / 1000} s after the start; ${fired.size} pods alerted; ${neverDropped.length} pods never dropped anything`,
      );
      expect(first).toBeLessThanOrEqual(120_000);
      // the victims are the noisy neighbour's: on its node only
      expect([...nodes]).toEqual([nic.noisyNeighbour!.node]);
      // pods that merely send little (the NIC never dropped a packet of theirs) never fire
      expect(neverDropped.length).toBeGreaterThan(10);
      for (const k of neverDropped) expect(fired.has(k), k).toBe(false);
      // the episode ends at 310 s: every alert resolves after it
      expect([...fired.keys()].filter((k) => !resolved.has(k))).toEqual([]);
      expect(ev.alerts().filter((a) => a.rule.alert === ALERTS.guaranteeBreached)).toEqual([]);
    });
  }
});
