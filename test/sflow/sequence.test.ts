/**
 * Sequence numbers under reordering and duplication: a datagram that arrives late (within
 * the reorder window) fills its gap instead of counting loss and a reset; a duplicate
 * datagram (same number, same uptime) is counted and shown, and its samples are not
 * aggregated twice; a restart (a big jump back, a number sent later than the highest, or
 * the agent's uptime going back: a reboot) starts the numbering again without loss.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { encodeDatagram, type SampleSpec } from '../../collector/sflow/encode.js';
import { InterfaceSeries } from '../../collector/sflow/interface-series.js';
import { REORDER_WINDOW, SETTLE_US, SeqEvent, SequenceTracker } from '../../collector/sflow/loss.js';
import { registerSflowMetrics } from '../../collector/sflow/metrics.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { collectingIntake, PODS, T0, totals } from './helpers.js';

const T_US = T0 * 1e6;
const BOOT_MS = 3_600_000;

const sample = (sequence: number, rate = 10): SampleSpec => ({
  kind: 'flow',
  sequence,
  sourceIndex: 3,
  samplingRate: rate,
  samplePool: sequence * rate,
  records: [
    {
      type: 'header',
      frame: podFrame(PODS[0].leg, PODS[1].leg, { proto: 'udp', sport: 5000, dport: 53, size: 100 }, [
        { vid: 100 },
      ]),
    },
  ],
});

/**
 * Datagrams numbered `seq` (one flow sample numbered like it), sent 10 ms apart in number
 * order (their uptime says so), arriving in the order given, 10 ms apart.
 */
function arrive(order: (number | { seq: number; uptimeMs: number; sample?: number })[]) {
  const c = collectingIntake();
  order.forEach((o, i) => {
    const d = typeof o === 'number' ? { seq: o, uptimeMs: BOOT_MS + o * 10 } : o;
    const b = encodeDatagram({
      agent: '192.0.2.1',
      sequence: d.seq,
      uptimeMs: d.uptimeMs,
      samples: [sample(d.sample ?? d.seq)],
    });
    c.intake.receive(b, 0, b.length, T_US + i * 10_000);
  });
  return c;
}

/** What the run ends with: open windows flushed, pending gaps settled. */
function end(c: ReturnType<typeof arrive>) {
  c.intake.finish();
  c.table.flush();
  return { agent: c.intake.agentSummaries()[0]!, summary: c.intake.summary(), flows: totals(c.flows) };
}

describe('sFlow sequence numbers: reordering and duplicates', () => {
  it('reordered datagrams (10, 12, 11, 13): nothing lost, no reset, one late arrival', () => {
    // read as they stand, not after the end of the input: nothing is pending
    const c = arrive([10, 12, 11, 13]);
    c.table.flush();
    const agent = c.intake.agentSummaries()[0]!;
    const summary = c.intake.summary();
    const flows = totals(c.flows);
    expect(agent).toMatchObject({
      datagrams: 4,
      lost_datagrams: 0,
      lost_samples: 0,
      lost_packets_estimate: 0,
      sequence_resets: 0,
      late_datagrams: 1,
      duplicate_datagrams: 0,
    });
    expect(summary).toMatchObject({ lost_datagrams: 0, lost_samples: 0 });
    expect([...flows.values()][0]).toMatchObject({ samples: 4, packets: 40 });
  });

  it('a real gap is still loss once it settles, and lost packets are estimated from it', () => {
    const { agent } = end(arrive([10, 11, 14, 15]));
    expect(agent).toMatchObject({ lost_datagrams: 2, lost_samples: 2, lost_packets_estimate: 20 });
  });

  it('a duplicate datagram is counted and shown, and its samples are aggregated once', () => {
    const c = arrive([10, 11, 11, 12, 10]);
    const { agent, summary, flows } = end(c);
    expect(agent).toMatchObject({
      datagrams: 5,
      duplicate_datagrams: 2,
      lost_datagrams: 0,
      sequence_resets: 0,
    });
    expect(summary).toMatchObject({ duplicate_datagrams: 2, flow_samples: 3 });
    expect([...flows.values()][0]).toMatchObject({ samples: 3, packets: 30 });
  });

  it('duplicates and late arrivals are on /metrics per agent', async () => {
    const c = arrive([10, 12, 11, 11, 13]);
    const registry = new Registry();
    registerSflowMetrics(registry, {
      intake: c.intake,
      interfaces: new InterfaceSeries(),
      listener: () => null,
    });
    const text = await registry.metrics();
    expect(text).toContain('podwire_sflow_duplicate_datagrams_total{agent="192.0.2.1"} 1');
    expect(text).toContain('podwire_sflow_late_datagrams_total{agent="192.0.2.1"} 1');
  });

  it('restarts: a big jump back, a number sent after the highest, an uptime that went back (reboot)', () => {
    // a jump back beyond the reorder window (datagrams: DATAGRAM_WINDOW, samples: REORDER_WINDOW),
    // sent in the same millisecond as the highest (an uptime going back is the reboot case below)
    expect(
      end(
        arrive([
          { seq: 5000, uptimeMs: BOOT_MS },
          { seq: 5001, uptimeMs: BOOT_MS + 10 },
          { seq: 1, uptimeMs: BOOT_MS + 10 },
          { seq: 2, uptimeMs: BOOT_MS + 10 },
        ]),
      ).agent,
    ).toMatchObject({ sequence_resets: 2, lost_datagrams: 0 });
    // back by less than the datagram window, sent no later: a late datagram, not a restart
    expect(
      end(
        arrive([
          { seq: 500, uptimeMs: BOOT_MS },
          { seq: 501, uptimeMs: BOOT_MS + 10 },
          { seq: 460, uptimeMs: BOOT_MS - 400, sample: 1000 },
        ]),
      ).agent,
    ).toMatchObject({ sequence_resets: 0, late_datagrams: 1, lost_datagrams: 0 });
    // within the window, but sent after the highest (its uptime is later): numbering restarted
    const r = end(
      arrive([
        { seq: 20, uptimeMs: BOOT_MS },
        { seq: 21, uptimeMs: BOOT_MS + 10 },
        { seq: 1, uptimeMs: BOOT_MS + 20 },
        { seq: 2, uptimeMs: BOOT_MS + 30 },
      ]),
    );
    expect(r.agent).toMatchObject({ sequence_resets: 2, duplicate_datagrams: 0, lost_datagrams: 0 });
    expect([...r.flows.values()][0]).toMatchObject({ samples: 4 });
    // the agent rebooted: uptime far behind, numbers back to ones already seen
    const b = end(
      arrive([
        { seq: 1, uptimeMs: BOOT_MS },
        { seq: 2, uptimeMs: BOOT_MS + 10 },
        { seq: 3, uptimeMs: BOOT_MS + 20 },
        { seq: 1, uptimeMs: 900 },
        { seq: 2, uptimeMs: 910 },
      ]),
    );
    expect(b.agent).toMatchObject({ sequence_resets: 2, duplicate_datagrams: 0, lost_datagrams: 0 });
    expect([...b.flows.values()][0]).toMatchObject({ samples: 5 });
  });
});

describe('SequenceTracker', () => {
  const run = (t: SequenceTracker, seqs: number[], uptime = (s: number) => s, startUs = 0) =>
    seqs.map((s, i) => t.update(s, uptime(s), startUs + i));

  it('numbers in order, a gap held pending until it leaves the window or settles', () => {
    const t = new SequenceTracker();
    expect(run(t, [7, 8, 12])).toEqual([SeqEvent.FIRST, SeqEvent.NEXT, SeqEvent.NEXT]);
    expect(t).toMatchObject({ lost: 0, missing: 3 });
    t.update(11, 11, 10);
    expect(t).toMatchObject({ lost: 0, missing: 2, late: 1 });
    // pending since 12 arrived (at 2 µs)
    t.settle(2 + SETTLE_US - 1);
    expect(t.lost).toBe(0);
    t.settle(2 + SETTLE_US);
    expect(t).toMatchObject({ lost: 2, missing: 0 });
    // settled numbers that arrive after all are late, never un-counted (the counter stays monotonic)
    expect(t.update(9, 9, 20 + SETTLE_US)).toBe(SeqEvent.LATE);
    expect(t).toMatchObject({ lost: 2, late: 2 });
  });

  it('numbers leaving the window unreceived are lost; a jump past the window loses all it skipped', () => {
    const t = new SequenceTracker();
    run(t, [1, 3]);
    expect(t.update(3 + REORDER_WINDOW, 3 + REORDER_WINDOW, 5)).toBe(SeqEvent.NEXT);
    expect(t).toMatchObject({ lost: 1, missing: REORDER_WINDOW - 1 });
    t.finish();
    expect(t).toMatchObject({ lost: REORDER_WINDOW, missing: 0 });
    const u = new SequenceTracker();
    run(u, [100, 100 + 5 * REORDER_WINDOW]);
    u.finish();
    expect(u.lost).toBe(5 * REORDER_WINDOW - 1);
  });

  it('u32 wrap, duplicates, and numbers before the first one', () => {
    const t = new SequenceTracker();
    expect(run(t, [0xfffffffe, 0xffffffff, 1], () => 5)).toEqual([
      SeqEvent.FIRST,
      SeqEvent.NEXT,
      SeqEvent.NEXT,
    ]);
    expect(t.update(0, 5, 3)).toBe(SeqEvent.LATE);
    expect(t.update(0xffffffff, 5, 4)).toBe(SeqEvent.DUPLICATE);
    expect(t.update(0xfffffffd, 5, 5)).toBe(SeqEvent.LATE); // before the first: reordering at the start
    t.finish();
    expect(t).toMatchObject({ lost: 0, duplicates: 1, late: 2, resets: 0 });
  });
});
