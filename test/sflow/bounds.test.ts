/**
 * Per-agent state is bounded: any host can send a datagram naming any agent address, so
 * 70,000 datagrams of random agents (the attack that grew a run to 66k agents, a 32 MB
 * /metrics and 919 MB RSS) must leave at most the cap of agents, a /metrics of bounded
 * size, and the overflow counted where a user looks (summary and /metrics), with the
 * traffic still aggregated. Idle agents are forgotten and their counts kept in the
 * totals. Interface and VLAN counter series are bounded and expire the same way.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MAX_SFLOW_AGENTS } from '../../collector/sflow/agents.js';
import { encodeDatagram, type SampleSpec } from '../../collector/sflow/encode.js';
import { LocalSflow } from '../../collector/sflow/engine.js';
import { InterfaceSeries, MAX_SFLOW_INTERFACES } from '../../collector/sflow/interface-series.js';
import { registerSflowMetrics } from '../../collector/sflow/metrics.js';
import { Prng } from '../../collector/synth/prng.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { endpointIndex, PODS, T0 } from './helpers.js';

const T_US = T0 * 1e6;
const frame = podFrame(PODS[0].leg, PODS[1].leg, { proto: 'udp', sport: 5000, dport: 53, size: 100 }, [
  { vid: 100 },
]);

const flow = (sequence: number, ifIndex: number): SampleSpec => ({
  kind: 'flow',
  sequence,
  sourceIndex: ifIndex,
  samplingRate: 10,
  samplePool: sequence * 10,
  records: [{ type: 'header', frame }],
});

const counters = (sequence: number, ifIndex: number, vlanId: number): SampleSpec[] => [
  {
    kind: 'counters',
    sequence,
    sourceIndex: ifIndex,
    records: [{ type: 'generic', ifIndex, ifInOctets: sequence * 1000 }],
  },
  {
    kind: 'counters',
    expanded: true,
    sequence,
    sourceType: 1,
    sourceIndex: vlanId,
    records: [{ type: 'vlan', vlanId, octets: sequence * 1000 }],
  },
];

function service() {
  let flowPackets = 0;
  const engine = new LocalSflow({
    index: endpointIndex(),
    onFlows: (b) => {
      for (const f of b.records()) flowPackets += f.packets;
    },
  });
  const registry = new Registry();
  registerSflowMetrics(registry, {
    intake: engine.intake,
    interfaces: engine.interfaceSeries,
    listener: () => null,
  });
  return { engine, registry, flowPackets: () => flowPackets };
}

const metric = (text: string, name: string) => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
};

describe('spoofed sFlow agents', () => {
  it('70,000 datagrams of random agents: agents capped, /metrics bounded, the overflow counted and on /metrics', async () => {
    const s = service();
    const rng = new Prng(70_000);
    const N = 70_000;
    for (let i = 0; i < N; i++) {
      const agent = `${rng.int(1, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
      const d = encodeDatagram({
        agent,
        sequence: rng.int(0, 2 ** 32 - 1),
        uptimeMs: rng.int(0, 2 ** 32 - 1),
        samples: [
          flow(rng.int(0, 1000), rng.int(1, 64)),
          ...counters(rng.int(0, 1000), rng.int(1, 64), rng.int(1, 4094)),
        ],
      });
      s.engine.receive(d, T_US + i * 10);
    }
    const intake = s.engine.intake;
    expect(intake.agents.size).toBe(MAX_SFLOW_AGENTS);
    expect(intake.agents.overflowDatagrams).toBeGreaterThan(N - MAX_SFLOW_AGENTS - 2000);
    // state stays bounded: observation points and counter series grow only with the live agents
    expect(intake.observations.size).toBeLessThanOrEqual(MAX_SFLOW_AGENTS);
    expect(s.engine.interfaceSeries.size).toBeLessThanOrEqual(2 * MAX_SFLOW_AGENTS);

    const text = await s.registry.metrics();
    expect(Buffer.byteLength(text)).toBeLessThan(3 * 1024 * 1024);
    expect(metric(text, 'podwire_sflow_agents')).toBe(MAX_SFLOW_AGENTS);
    expect(metric(text, 'podwire_sflow_agent_overflow_datagrams_total')).toBe(
      intake.agents.overflowDatagrams,
    );
    // the overflow's traffic is aggregated all the same, under one agent
    expect(text).toMatch(/^podwire_sflow_datagrams_total\{agent="other"\} \d+$/m);
    const totals = await s.engine.stop();
    expect(totals.summary).toMatchObject({
      datagrams: N,
      flow_samples: N,
      agent_overflow_datagrams: intake.agents.overflowDatagrams,
    });
    expect(s.flowPackets()).toBe(N * 10);
  });

  it('an agent not heard for 10 minutes is forgotten (its series leave /metrics), its counts kept in the totals', async () => {
    const s = service();
    const send = (agent: string, seq: number, atS: number) =>
      s.engine.receive(
        encodeDatagram({ agent, sequence: seq, uptimeMs: 3_600_000 + atS * 1000, samples: [flow(seq, 1)] }),
        T_US + atS * 1e6,
      );
    send('192.0.2.1', 1, 0);
    send('192.0.2.1', 5, 1); // 3 datagrams lost
    send('192.0.2.2', 1, 2);
    for (let t = 60; t <= 660; t += 60) send('192.0.2.2', t / 60 + 1, t);
    const text = await s.registry.metrics();
    expect(text).not.toContain('agent="192.0.2.1"');
    expect(text).toContain('agent="192.0.2.2"');
    expect(metric(text, 'podwire_sflow_agents')).toBe(1);
    const totals = await s.engine.stop();
    expect(totals.summary).toMatchObject({
      datagrams: 14,
      lost_datagrams: 3,
      lost_samples: 3,
      agents_expired: 1,
    });
    expect(totals.agents.map((a) => a.agent)).toEqual(['192.0.2.2']);
  });
});

describe('sFlow interface series cardinality', () => {
  it('an agent inventing ifIndexes and VLANs: series capped, the overflow counted; idle ones expire', async () => {
    const s = service();
    const n = MAX_SFLOW_INTERFACES + 500;
    for (let i = 0; i < n; i++) {
      s.engine.receive(
        encodeDatagram({
          agent: '192.0.2.9',
          sequence: i + 1,
          uptimeMs: i,
          samples: counters(i + 1, i + 1, (i % 5000) + 1),
        }),
        T_US + i * 10,
      );
    }
    const series = s.engine.interfaceSeries;
    expect(series.list()).toHaveLength(MAX_SFLOW_INTERFACES);
    expect(series.overflows).toBeGreaterThanOrEqual(500);
    let text = await s.registry.metrics();
    expect(metric(text, 'podwire_sflow_interface_overflow_samples_total')).toBe(series.overflows);
    const ifSeries = (t: string) =>
      t.split('\n').filter((l) => l.startsWith('podwire_sflow_interface_receive_bytes_total{')).length;
    expect(ifSeries(text)).toBe(MAX_SFLOW_INTERFACES);
    // 11 minutes later one interface speaks: every other one is forgotten, and room is made
    s.engine.receive(
      encodeDatagram({
        agent: '192.0.2.9',
        sequence: n + 1,
        uptimeMs: n + 660_000,
        samples: counters(1, 7, 7),
      }),
      T_US + n * 10 + 660e6,
    );
    text = await s.registry.metrics();
    expect(series.list().map((i) => i.ifIndex)).toEqual([7]);
    expect(ifSeries(text)).toBe(1);
    expect(series.expired).toBeGreaterThan(MAX_SFLOW_INTERFACES);
    expect(series.tracker.size).toBeLessThan(50);
  });

  it('a cap and idle time of its own', () => {
    const series = new InterfaceSeries({ maxInterfaces: 2, maxVlans: 1, idleMs: 1000 });
    const c = (ifIndex: number, tMs: number, vlan: number | null = null) => ({
      agent: 'a',
      subAgent: 0,
      timeUs: tMs * 1000,
      uptimeMs: 0,
      sequence: 1,
      sourceType: 0,
      sourceIndex: ifIndex,
      ifIndex,
      generic: null,
      ethernet: { alignmentErrors: 0, fcsErrors: tMs } as never,
      vlan: vlan === null ? null : ({ vlanId: vlan, octets: 1 } as never),
      unknownRecords: 0,
    });
    series.update(c(1, 0, 10));
    series.update(c(2, 0, 11));
    series.update(c(3, 0));
    expect(series.list().map((i) => i.ifIndex)).toEqual([1, 2]);
    expect(series.overflows).toBe(2);
    series.update(c(3, 2000));
    expect(series.list().map((i) => i.ifIndex)).toEqual([3]);
    expect(series.size).toBe(1);
  });
});
