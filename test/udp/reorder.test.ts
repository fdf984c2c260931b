/**
 * The reorder stage (collector/udp/reorder.ts) in front of the sequence counts: sFlow and
 * IPFIX datagrams with known gaps, arriving in deterministic, seeded shuffles (each moved
 * a bounded distance, as reader threads swap them), reach the counts in number order —
 * lost equals the true gaps, nothing is late, no restart — where without the stage the
 * same orders are counted late (and, beyond the sFlow window, lost). What comes after its
 * number was passed over is `reordered` and still decoded; restarts are not held; a
 * stream's holding is bounded.
 */
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../collector/flows/flow-table.js';
import { encodeIpfix, field, IE, type TemplateDef } from '../../collector/netflow/encode.js';
import { LocalNetflow } from '../../collector/netflow/engine.js';
import { encodeDatagram, type SampleSpec } from '../../collector/sflow/encode.js';
import { sflowReorder } from '../../collector/sflow/engine.js';
import { Prng } from '../../collector/synth/prng.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { MAX_HELD, REORDER_HOLD, ReorderStage, type SeqInfo } from '../../collector/udp/reorder.js';
import { netflowIndex } from '../netflow/helpers.js';
import { collectingIntake, PODS, T0 } from '../sflow/helpers.js';

const T_US = T0 * 1e6;
const GAP_US = 50;

/** Indices 0..n-1, each moved by less than `d` places (sorted by index plus a seeded jitter). */
function shuffleBounded<T>(items: T[], d: number, seed: number, keepFirst = 0): T[] {
  const rng = new Prng(seed);
  const keyed = items.map((x, i) => ({ x, k: i < keepFirst ? -1 : i + rng.next() * d }));
  return keyed.sort((a, b) => a.k - b.k).map((e) => e.x);
}

/** How far behind its in-order place the latest datagram of a shuffle came (to show it is shuffled). */
function maxLateness(order: number[]): number {
  let high = -1;
  let worst = 0;
  for (const i of order) {
    if (i > high) high = i;
    else worst = Math.max(worst, high - i);
  }
  return worst;
}

// ---- sFlow ----

const sample = (sequence: number): SampleSpec => ({
  kind: 'flow',
  sequence,
  sourceIndex: 3,
  samplingRate: 10,
  samplePool: sequence * 10,
  records: [
    {
      type: 'header',
      frame: podFrame(PODS[0].leg, PODS[1].leg, { proto: 'udp', sport: 5000, dport: 53, size: 100 }, [
        { vid: 100 },
      ]),
    },
  ],
});

interface SflowPlan {
  datagrams: { agent: number; seq: number; bytes: Uint8Array }[];
  lost: number[];
}

/** AGENTS agents numbering 1..N, ~5% never sent (not the first or last), interleaved in sending order. */
function sflowPlan(seed: number, agents = 3, n = 400): SflowPlan {
  const rng = new Prng(seed);
  const lost = new Array(agents).fill(0);
  const datagrams: SflowPlan['datagrams'] = [];
  for (let seq = 1; seq <= n; seq++) {
    for (let a = 0; a < agents; a++) {
      if (seq > 1 && seq < n && rng.chance(0.05)) {
        lost[a]++;
        continue;
      }
      const bytes = encodeDatagram({
        agent: `192.0.2.${a + 1}`,
        sequence: seq,
        uptimeMs: 3_600_000 + seq,
        samples: [sample(seq)],
      });
      datagrams.push({ agent: a, seq, bytes });
    }
  }
  return { datagrams, lost };
}

function runSflow(order: SflowPlan['datagrams'], reorder: boolean, gapUs = GAP_US) {
  const c = collectingIntake();
  const stage = sflowReorder(c.intake, { timer: false });
  order.forEach((d, i) => {
    const tUs = T_US + i * gapUs;
    if (reorder) stage.push(d.bytes, 0, d.bytes.length, '', tUs);
    else c.intake.receive(d.bytes, 0, d.bytes.length, tUs);
  });
  stage.flush();
  c.intake.finish();
  c.table.flush();
  const samples = c.flows.reduce((n, f) => n + f.samples, 0);
  return { agents: c.intake.agentSummaries(), summary: c.intake.summary(), samples, stage };
}

describe('reorder stage: sFlow', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: datagrams shuffled up to 60 places: lost = the true gaps, none late, no restart`, () => {
      const p = sflowPlan(seed);
      // each agent's first datagram is heard first (a stream starts at whatever comes first)
      const order = shuffleBounded(p.datagrams, 60, 100 + seed, 3);
      expect(maxLateness(order.map((d) => p.datagrams.indexOf(d)))).toBeGreaterThan(20);
      const r = runSflow(order, true);
      for (let a = 0; a < 3; a++) {
        expect(
          r.agents.find((x) => x.agent === `192.0.2.${a + 1}`),
          `agent ${a}`,
        ).toMatchObject({
          datagrams: p.datagrams.filter((d) => d.agent === a).length,
          lost_datagrams: p.lost[a],
          lost_samples: p.lost[a],
          late_datagrams: 0,
          sequence_resets: 0,
          duplicate_datagrams: 0,
        });
      }
      expect(r.stage.reordered).toBe(0);
      expect(r.stage.holding).toBe(0);
      expect(r.samples).toBe(p.datagrams.length);

      // the same order without the stage: late arrivals, and loss and restarts beyond the window
      const raw = runSflow(order, false);
      expect(raw.agents.reduce((n, a) => n + a.late_datagrams, 0)).toBeGreaterThan(0);
    });
  }

  it('a datagram held up beyond the hold is passed on when it comes, counted reordered, and is late, not lost', () => {
    const p = sflowPlan(7, 1, 200);
    const order = [...p.datagrams];
    // the 50th datagram comes 20 places later, 1 ms apart: 20 ms after its successors were held
    const [moved] = order.splice(50, 1);
    order.splice(70, 0, moved);
    const r = runSflow(order, true, 1000);
    expect(r.stage.reordered).toBe(1);
    expect(r.stage.gapsSkipped).toBeGreaterThan(0);
    expect(r.agents[0]).toMatchObject({ lost_datagrams: p.lost[0], late_datagrams: 1, sequence_resets: 0 });
    expect(r.samples).toBe(p.datagrams.length);
  });

  it('holds at most REORDER_HOLD datagrams of a stream; the lowest goes on over the gap', () => {
    const c = collectingIntake();
    const stage = sflowReorder(c.intake, { timer: false });
    const d = (seq: number) =>
      encodeDatagram({ agent: '192.0.2.9', sequence: seq, uptimeMs: 5000 + seq, samples: [] });
    stage.push(d(1), 0, d(1).length, '', T_US);
    // 2 never comes
    for (let s = 3; s < 3 + REORDER_HOLD + 5; s++) {
      stage.push(d(s), 0, d(s).length, '', T_US + s);
      expect(stage.holding).toBeLessThanOrEqual(REORDER_HOLD);
    }
    expect(stage.gapsSkipped).toBe(1);
    expect(stage.holding).toBe(0);
    c.intake.finish();
    expect(c.intake.agentSummaries()[0]).toMatchObject({ lost_datagrams: 1, late_datagrams: 0 });
  });

  it('holds at most MAX_HELD datagrams over all streams; beyond, they go on unheld, all of them decoded', () => {
    const c = collectingIntake();
    const stage = sflowReorder(c.intake, { timer: false });
    let sent = 0;
    for (let a = 0; a < 140; a++) {
      const agent = `10.9.${a >> 8}.${a & 255}`;
      for (const seq of [1, ...Array.from({ length: REORDER_HOLD }, (_, k) => k + 3)]) {
        const b = encodeDatagram({ agent, sequence: seq, uptimeMs: 5000, samples: [] });
        stage.push(b, 0, b.length, '', T_US + sent++);
        expect(stage.holding).toBeLessThanOrEqual(MAX_HELD);
      }
    }
    expect(stage.holdOverflows).toBeGreaterThan(0);
    stage.flush();
    expect(c.intake.summary().datagrams).toBe(sent);
  });

  it('a numbering that restarts (sent later, numbers back) is passed on at once, not held or counted reordered', () => {
    const c = collectingIntake();
    const stage = sflowReorder(c.intake, { timer: false });
    const d = (seq: number, up: number) =>
      encodeDatagram({ agent: '192.0.2.9', sequence: seq, uptimeMs: up, samples: [] });
    for (const [seq, up] of [
      [40, 1000],
      [41, 1010],
      [1, 1020],
      [2, 1030],
    ]) {
      const b = d(seq, up);
      stage.push(b, 0, b.length, '', T_US + up);
      expect(stage.holding).toBe(0);
    }
    expect(stage.reordered).toBe(0);
    expect(c.intake.agentSummaries()[0]).toMatchObject({ datagrams: 4, sequence_resets: 1 });
  });

  it('a quiet stream’s held datagram goes on once another stream’s arrival shows the hold is over', () => {
    const c = collectingIntake();
    const stage = sflowReorder(c.intake, { timer: false });
    const d = (agent: string, seq: number) =>
      encodeDatagram({ agent, sequence: seq, uptimeMs: 9000, samples: [] });
    for (const [a, s, t] of [
      ['192.0.2.1', 1, 0],
      ['192.0.2.1', 3, 1],
      ['192.0.2.2', 1, 20_000],
    ] as const) {
      const b = d(a, s);
      stage.push(b, 0, b.length, '', T_US + t);
    }
    expect(stage.holding).toBe(0);
    expect(c.intake.summary().datagrams).toBe(3);
  });

  it('what names no stream (not sFlow, too short) is passed on untouched', () => {
    const seen: number[] = [];
    const stage = new ReorderStage(
      (_u8, _o, len, _s, out: SeqInfo) => {
        out.seq = 0;
        return len > 100;
      },
      (_u8, _o, len) => {
        seen.push(len);
        return 1;
      },
      { timer: false },
    );
    stage.push(new Uint8Array(7), 0, 7, '', 0);
    expect(seen).toEqual([7]);
  });
});

// ---- IPFIX ----

const TPL: TemplateDef = {
  id: 256,
  fields: [
    field(IE.sourceIPv4Address, 4),
    field(IE.destinationIPv4Address, 4),
    field(IE.octetDeltaCount, 4),
    field(IE.packetDeltaCount, 4),
    field(IE.vlanId, 2),
    field(IE.ingressInterface, 2),
  ],
};

interface IpfixPlan {
  messages: { exporter: string; bytes: Uint8Array }[];
  records: number;
  lost: Record<string, number>;
}

/**
 * Two exporters with the same observation domain; data messages of 1–5 records numbered
 * as IPFIX does (records before), the template in every 20th; ~5% of messages never sent.
 */
function ipfixPlan(seed: number, n = 300): IpfixPlan {
  const rng = new Prng(seed);
  const messages: IpfixPlan['messages'] = [];
  const lost: Record<string, number> = {};
  let records = 0;
  for (const exporter of ['192.0.2.10', '192.0.2.11']) {
    lost[exporter] = 0;
    let seq = 0;
    const mine: IpfixPlan['messages'] = [];
    for (let i = 0; i < n; i++) {
      const k = rng.int(1, 5);
      const data = Array.from({ length: k }, (_, j) => [
        PODS[0].leg.ip,
        PODS[1].leg.ip,
        100 * (j + 1),
        j + 1,
        100,
        7,
      ]);
      const sets = [
        ...(i % 20 === 0 ? [{ kind: 'templates' as const, templates: [TPL] }] : []),
        { kind: 'data' as const, template: TPL, records: data },
      ];
      const bytes = encodeIpfix({ exportSecs: T0 + Math.floor(i / 100), sequence: seq, domain: 7, sets });
      seq += k;
      if (i > 0 && i < n - 1 && rng.chance(0.05)) {
        lost[exporter] += k;
        continue;
      }
      records += k;
      mine.push({ exporter, bytes });
    }
    messages.push(...mine);
  }
  // the exporters interleaved as they send
  const a = messages.filter((m) => m.exporter === '192.0.2.10');
  const b = messages.filter((m) => m.exporter === '192.0.2.11');
  const out: IpfixPlan['messages'] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    out.push(...(a[i] ? [a[i]] : []), ...(b[i] ? [b[i]] : []));
  return { messages: out, records, lost };
}

async function runIpfix(order: IpfixPlan['messages'], reorder: boolean) {
  const flows: FlowRecord[] = [];
  const e = new LocalNetflow({
    index: netflowIndex(),
    onFlows: (b) => flows.push(...b.records()),
    reorder: reorder ? { timer: false } : false,
  });
  order.forEach((m, i) => {
    e.receiveAt(m.bytes, 0, m.bytes.length, m.exporter, T_US + i * GAP_US);
  });
  const totals = await e.stop();
  return { totals, packets: flows.reduce((n, f) => n + f.packets, 0), reordered: e.reorder?.reordered ?? 0 };
}

describe('reorder stage: IPFIX (numbers counted in records, known once decoded)', () => {
  for (const seed of [4, 5, 6]) {
    it(`seed ${seed}: messages shuffled up to 40 places: every record decoded, lost records = the true gaps, none late`, async () => {
      const p = ipfixPlan(seed);
      // each exporter's first message (its template) is heard first, as after a running start
      const order = shuffleBounded(p.messages, 40, 200 + seed, 2);
      expect(maxLateness(order.map((m) => p.messages.indexOf(m)))).toBeGreaterThan(10);
      const r = await runIpfix(order, true);
      expect(r.totals.summary).toMatchObject({ records: p.records });
      expect(r.totals.summary.template_missing ?? 0).toBe(0);
      for (const ex of r.totals.exporters) {
        expect(ex, ex.exporter).toMatchObject({
          lost_records: p.lost[ex.exporter],
          late_datagrams: 0,
          sequence_resets: 0,
        });
      }
      expect(r.reordered).toBe(0);

      const raw = await runIpfix(order, false);
      expect(raw.totals.summary).toMatchObject({ records: p.records });
      expect(raw.totals.exporters.reduce((n, x) => n + x.late_datagrams, 0)).toBeGreaterThan(0);
    });
  }
});
