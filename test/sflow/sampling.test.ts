/**
 * Sampled input and loss: a sampling rate of N stands for N packets and N × the bytes;
 * gaps in datagram and sample sequence numbers are loss (per agent, sub-agent and
 * source), restarts and wraps are not.
 */
import { describe, expect, it } from 'vitest';
import { encodeDatagram, type SampleSpec } from '../../collector/sflow/encode.js';
import { MAX_SEQUENCE_GAP, SequenceTracker } from '../../collector/sflow/loss.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { collectingIntake, PODS, T0, totals } from './helpers.js';

const web1 = PODS[0].leg;
const web2 = PODS[1].leg;
const T_US = T0 * 1e6;

const sample = (
  sequence: number,
  o: { rate?: number; source?: number; size?: number; pool?: number; drops?: number } = {},
): SampleSpec => ({
  kind: 'flow',
  sequence,
  sourceIndex: o.source ?? 3,
  samplingRate: o.rate ?? 1,
  samplePool: o.pool ?? sequence * (o.rate ?? 1),
  drops: o.drops ?? 0,
  records: [
    {
      type: 'header',
      frame: podFrame(web1, web2, { proto: 'udp', sport: 5000, dport: 53, size: o.size ?? 100 }, [
        { vid: 100 },
      ]),
    },
  ],
});

function feed(datagrams: { seq: number; sub?: number; samples: SampleSpec[]; agent?: string }[]) {
  const c = collectingIntake();
  for (const d of datagrams) {
    const b = encodeDatagram({
      agent: d.agent ?? '192.0.2.1',
      subAgent: d.sub,
      sequence: d.seq,
      samples: d.samples,
    });
    c.intake.receive(b, 0, b.length, T_US);
  }
  // the input ended: pending gaps are loss
  c.intake.finish();
  c.table.flush();
  return c;
}

describe('sampling rate', () => {
  for (const rate of [1, 10, 1000, 65536]) {
    it(`a sampling rate of ${rate} scales packets and bytes by ${rate}`, () => {
      const c = feed([{ seq: 1, samples: [sample(1, { rate }), sample(2, { rate }), sample(3, { rate })] }]);
      const frameLength = podFrame(web1, web2, { proto: 'udp', sport: 5000, dport: 53, size: 100 }, [
        { vid: 100 },
      ]).length;
      const [t] = [...totals(c.flows).values()];
      expect(t).toEqual({ packets: 3 * rate, bytes: 3 * rate * frameLength, samples: 3 });
      expect(c.flows[0].samplingRate).toBe(rate);
      expect(c.intake.summary()).toMatchObject({
        packets: 3 * rate,
        bytes: 3 * rate * frameLength,
        flow_samples: 3,
      });
    });
  }

  it('samples of one flow at two rates are two flows (a flow has one rate), each scaled by its own', () => {
    const c = feed([{ seq: 1, samples: [sample(1, { rate: 10 }), sample(2, { rate: 100 })] }]);
    expect(c.flows.map((f) => [f.samplingRate, f.packets]).sort((a, b) => a[0] - b[0])).toEqual([
      [10, 10],
      [100, 100],
    ]);
  });
});

describe('loss', () => {
  it('a gap in datagram sequence numbers is lost datagrams', () => {
    const c = feed([1, 2, 5, 6, 10].map((seq) => ({ seq, samples: [sample(seq)] })));
    const [a] = c.intake.agentSummaries();
    expect(a).toMatchObject({ datagrams: 5, lost_datagrams: 5 });
    expect(c.intake.summary().lost_datagrams).toBe(5);
  });

  it('a gap in a source’s sample sequence is lost samples, and × the rate an estimate of lost packets', () => {
    const seqs = [1, 2, 3, 7, 8, 9, 10];
    const c = feed(seqs.map((s, i) => ({ seq: i + 1, samples: [sample(s, { rate: 50 })] })));
    const [a] = c.intake.agentSummaries();
    expect(a).toMatchObject({
      flow_samples: 7,
      lost_samples: 3,
      lost_packets_estimate: 150,
      lost_datagrams: 0,
    });
    expect(a.sample_loss_ratio).toBeCloseTo(3 / 10, 10);
  });

  it('sub-agents, sources and agents are numbered apart: interleaving them is no loss', () => {
    const c = feed([
      { seq: 1, sub: 0, samples: [sample(1, { source: 3 }), sample(1, { source: 4 })] },
      { seq: 1, sub: 1, samples: [sample(1, { source: 3 })] },
      { seq: 2, sub: 0, samples: [sample(2, { source: 4 }), sample(2, { source: 3 })] },
      { seq: 1, sub: 0, agent: '192.0.2.2', samples: [sample(7, { source: 3 })] },
      { seq: 2, sub: 1, samples: [sample(2, { source: 3 })] },
      { seq: 2, sub: 0, agent: '192.0.2.2', samples: [sample(8, { source: 3 })] },
    ]);
    for (const a of c.intake.agentSummaries()) {
      expect(a, a.agent).toMatchObject({ lost_datagrams: 0, lost_samples: 0, sequence_resets: 0 });
    }
    expect(c.intake.agentSummaries().map((a) => a.agent)).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('data sources are told apart by class and full 32-bit index (expanded samples)', () => {
    const src = (sequence: number, sourceType: number, sourceIndex: number): SampleSpec => ({
      ...(sample(sequence) as Extract<SampleSpec, { kind: 'flow' }>),
      expanded: true,
      sourceType,
      sourceIndex,
    });
    // class 0 index 2^24 and class 1 index 0 would share a key if the class were dropped
    const c = feed([
      { seq: 1, samples: [src(1, 0, 2 ** 24), src(10, 1, 0), src(100, 0, 2 ** 32 - 1)] },
      { seq: 2, samples: [src(2, 0, 2 ** 24), src(11, 1, 0), src(101, 0, 2 ** 32 - 1)] },
    ]);
    expect(c.intake.agentSummaries()[0]).toMatchObject({
      lost_samples: 0,
      sequence_resets: 0,
      flow_samples: 6,
    });
  });

  it('an agent restart (numbers start again) is a reset, not loss; a u32 wrap is not loss either', () => {
    const c = feed([
      // back by more than the datagram window (DATAGRAM_WINDOW, 1024)
      { seq: 5000, samples: [sample(900)] },
      { seq: 5001, samples: [sample(901)] },
      { seq: 1, samples: [sample(1)] },
      { seq: 2, samples: [sample(2)] },
    ]);
    expect(c.intake.agentSummaries()[0]).toMatchObject({
      lost_datagrams: 0,
      lost_samples: 0,
      sequence_resets: 2,
    });
    const w = feed([
      { seq: 0xfffffffe, samples: [sample(0xffffffff)] },
      { seq: 0xffffffff, samples: [sample(0)] },
      { seq: 0, samples: [sample(2)] },
    ]);
    expect(w.intake.agentSummaries()[0]).toMatchObject({
      lost_datagrams: 0,
      lost_samples: 1,
      sequence_resets: 0,
    });
  });

  it('sample pool and the agent’s own drops are summed as deltas', () => {
    const c = feed([
      { seq: 1, samples: [sample(1, { rate: 10, pool: 1000, drops: 2 })] },
      { seq: 2, samples: [sample(2, { rate: 10, pool: 1010, drops: 2 })] },
      { seq: 3, samples: [sample(3, { rate: 10, pool: 1050, drops: 7 })] },
    ]);
    expect(c.intake.agentSummaries()[0]).toMatchObject({ sample_pool: 50, agent_drops: 5 });
  });

  it('sequence arithmetic: gaps, u32 wraps, repeats and restarts', () => {
    const lost = (seqs: number[]) => {
      const t = new SequenceTracker();
      for (const [i, q] of seqs.entries()) t.update(q, 0, i);
      t.finish();
      return [t.lost, t.resets, t.duplicates];
    };
    expect(lost([1, 2])).toEqual([0, 0, 0]);
    expect(lost([1, 5])).toEqual([3, 0, 0]);
    expect(lost([0xffffffff, 0])).toEqual([0, 0, 0]);
    expect(lost([0xfffffffe, 1])).toEqual([2, 0, 0]);
    expect(lost([5, 5])).toEqual([0, 0, 1]);
    expect(lost([5, 5 + MAX_SEQUENCE_GAP + 1])).toEqual([0, 1, 0]);
    expect(lost([7, 8, 8, 12, 100, 1])).toEqual([90, 1, 1]);
  });
});
