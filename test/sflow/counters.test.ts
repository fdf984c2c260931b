/**
 * Counter samples become per-interface series: deltas and rates between samples, 32-bit
 * packet counter wraps and agent restarts handled, VLAN counters per (agent, VLAN), the
 * interface's speed and status kept.
 */
import { describe, expect, it } from 'vitest';
import { encodeDatagram } from '../../collector/sflow/encode.js';
import { LocalSflow } from '../../collector/sflow/engine.js';
import { endpointIndex, T0 } from './helpers.js';

function counters(
  sequence: number,
  o: { inOctets: number; inUcast: number; fcs: number; vlanOctets: number; status?: number },
  uptimeMs = 0,
) {
  return encodeDatagram({
    agent: '192.0.2.1',
    sequence,
    uptimeMs,
    samples: [
      {
        kind: 'counters',
        sequence,
        sourceIndex: 7,
        records: [
          {
            type: 'generic',
            ifIndex: 7,
            ifSpeed: 25e9,
            ifStatus: o.status ?? 3,
            ifInOctets: o.inOctets,
            ifInUcastPkts: o.inUcast,
          },
          { type: 'ethernet', fcsErrors: o.fcs },
        ],
      },
      {
        kind: 'counters',
        expanded: true,
        sequence,
        sourceType: 1,
        sourceIndex: 100,
        records: [{ type: 'vlan', vlanId: 100, octets: o.vlanOctets }],
      },
    ],
  });
}

describe('per-interface counter series', () => {
  it('rates between samples, 32-bit wraps, VLAN series, speed and status', async () => {
    const engine = new LocalSflow({ index: endpointIndex(), onFlows: () => {} });
    const at = (s: number) => (T0 + s) * 1e6;
    // the agent's uptime: up an hour at the first sample, rebooted 5 s before the third
    const uptime = (s: number) => (s < 40 ? 3_600_000 + s * 1000 : 5000);
    const feed = (seq: number, s: number, o: Parameters<typeof counters>[1]) => {
      const d = counters(seq, o, uptime(s));
      engine.receive(d, at(s));
    };
    feed(1, 0, { inOctets: 1e12, inUcast: 2 ** 32 - 100, fcs: 3, vlanOctets: 5000 });
    feed(2, 20, { inOctets: 1e12 + 5e9, inUcast: 50, fcs: 5, vlanOctets: 25_000 });
    const s = engine.interfaceSeries;
    expect(s.series('192.0.2.1', 7, 'ifInOctets')).toMatchObject({ delta: 5e9, rate: 5e9 / 20, total: 5e9 });
    // the 32-bit packet counter wrapped between the samples
    expect(s.series('192.0.2.1', 7, 'ifInUcastPkts')).toMatchObject({ delta: 150, wraps: 1, last: 'wrap' });
    expect(s.series('192.0.2.1', 7, 'fcsErrors')).toMatchObject({ delta: 2, rate: 0.1 });
    expect(s.vlanSeries('192.0.2.1', 100, 'octets')).toMatchObject({ delta: 20_000, rate: 1000 });
    expect(s.list()).toEqual([
      {
        agent: '192.0.2.1',
        ifIndex: 7,
        speed: 25e9,
        adminUp: true,
        operUp: true,
        lastUs: at(20),
        samples: 2,
      },
    ]);
    // the agent restarted: its counters start again, a reset (never a negative delta)
    feed(1, 40, { inOctets: 1000, inUcast: 10, fcs: 0, vlanOctets: 0, status: 1 });
    expect(s.series('192.0.2.1', 7, 'ifInOctets')).toMatchObject({
      last: 'reset',
      delta: 1000,
      total: 5e9 + 1000,
    });
    expect(s.list()[0]).toMatchObject({ adminUp: true, operUp: false });
    const totals = await engine.stop();
    expect(totals).toMatchObject({ counterSamples: 6, interfaces: 1 });
    expect(totals.agents[0]).toMatchObject({
      counter_samples: 6,
      sequence_resets: 3,
      lost_counter_samples: 0,
    });
  });

  it('widths from the spec: 64-bit octet counters going down are resets, 32-bit packet counters wrap', () => {
    const engine = new LocalSflow({ index: endpointIndex(), onFlows: () => {} });
    const at = (s: number) => (T0 + s) * 1e6;
    const near = 2 ** 32 - 100;
    engine.receive(
      counters(1, { inOctets: 4_000_000_000, inUcast: near, fcs: near, vlanOctets: 4_000_000_000 }),
      at(0),
    );
    engine.receive(
      counters(2, { inOctets: 10_000_000, inUcast: 50, fcs: 50, vlanOctets: 10_000_000 }),
      at(20),
    );
    const s = engine.interfaceSeries;
    // counter64 ifInOctets / VLAN octets: reset to 10 MB, not a wrap adding ~305 MB
    expect(s.series('192.0.2.1', 7, 'ifInOctets')).toMatchObject({ last: 'reset', delta: 10_000_000 });
    expect(s.vlanSeries('192.0.2.1', 100, 'octets')).toMatchObject({ last: 'reset', delta: 10_000_000 });
    // counter32 ifInUcastPkts and dot3StatsFCSErrors wrap
    expect(s.series('192.0.2.1', 7, 'ifInUcastPkts')).toMatchObject({ last: 'wrap', delta: 150 });
    expect(s.series('192.0.2.1', 7, 'fcsErrors')).toMatchObject({ last: 'wrap', delta: 150 });
  });
});
