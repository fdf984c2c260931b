/**
 * Sampling rates (inline 34/50/305+306, per selectorId 302 from options data, the domain's
 * options, the configured rate) and sequence loss (v9 counts export packets, IPFIX records).
 */
import { describe, expect, it } from 'vitest';
import {
  encodeIpfix,
  encodeV9,
  field as f,
  IE,
  type SetDef,
  type TemplateDef,
} from '../../collector/netflow/encode.js';
import { StreamSequence } from '../../collector/netflow/sequence.js';
import { collecting, PODS, T_US, T0 } from './helpers.js';

const web1 = PODS[0].leg;
const web2 = PODS[1].leg;
const BASE = [
  f(IE.sourceIPv4Address, 4),
  f(IE.destinationIPv4Address, 4),
  f(IE.octetDeltaCount, 4),
  f(IE.packetDeltaCount, 4),
];

describe('sampling', () => {
  it('305/306 as (interval + space) / interval, per selectorId 302; 34 inline; the domain default; fallback', () => {
    const c = collecting({ samplingRate: 7 });
    const T_SEL: TemplateDef = { id: 256, fields: [...BASE, f(IE.selectorId, 8)] };
    const T_INL: TemplateDef = { id: 257, fields: [...BASE, f(IE.samplingInterval, 4)] };
    const T_PLAIN: TemplateDef = { id: 258, fields: BASE };
    const O_SEL: TemplateDef = {
      id: 300,
      scopeCount: 1,
      fields: [
        f(IE.selectorId, 8),
        f(IE.selectorAlgorithm, 2),
        f(IE.samplingPacketInterval, 4),
        f(IE.samplingPacketSpace, 4),
      ],
    };
    const O_DOM: TemplateDef = {
      id: 301,
      scopeCount: 1,
      fields: [f(IE.observationDomainId, 4), f(IE.samplingInterval, 4)],
    };
    const r = [web1.ip, web2.ip, 1000, 10];
    const seq = 0;
    const send = (sets: SetDef[], domain = 1) => {
      const m = encodeIpfix({ exportSecs: T0, sequence: seq, domain, sets });
      c.intake.receive(m, 0, m.length, '192.0.2.1', T_US);
    };
    send([
      { kind: 'templates', templates: [T_SEL, T_INL, T_PLAIN] },
      { kind: 'options-templates', templates: [O_SEL] },
      // selector 1: 1 taken, 99 skipped → 100; selector 2: 2 taken, 3 skipped → 2.5
      {
        kind: 'data',
        template: O_SEL,
        records: [
          [1, 1, 1, 99],
          [2, 1, 2, 3],
        ],
      },
      {
        kind: 'data',
        template: T_SEL,
        records: [
          [...r, 1],
          [...r, 2],
          [...r, 3],
        ],
      },
      { kind: 'data', template: T_INL, records: [[...r, 64]] },
      { kind: 'data', template: T_PLAIN, records: [r] },
    ]);
    expect(c.seen.map((s) => s.rate)).toEqual([100, 2.5, 7, 64, 7]);
    send([
      { kind: 'options-templates', templates: [O_DOM] },
      { kind: 'data', template: O_DOM, records: [[1, 32]] },
    ]);
    send([
      { kind: 'data', template: T_PLAIN, records: [r] },
      { kind: 'data', template: T_SEL, records: [[...r, 9]] },
    ]);
    expect(c.seen.slice(5).map((s) => s.rate)).toEqual([32, 32]);
    // bytes and packets scaled like sFlow: the rate times the record's counts
    const flows = c.done();
    expect(flows.reduce((a, x) => a + x.packets, 0)).toBe(10 * (100 + 2.5 + 7 + 64 + 7 + 32 + 32));
    expect(c.intake.domainSummaries()[0]).toMatchObject({ sampling_rate: 32 });
  });
});

describe('v9 options without a scope', () => {
  it('an options template of scope length 0 is the whole exporter: its samplingInterval applies', () => {
    const c = collecting();
    const T: TemplateDef = { id: 256, fields: BASE };
    const OPT: TemplateDef = {
      id: 257,
      scopeCount: 0,
      fields: [f(IE.samplingInterval, 4), f(IE.samplingAlgorithm, 1)],
    };
    const m = encodeV9({
      sysUptime: 1,
      exportSecs: T0,
      sequence: 1,
      sourceId: 0,
      sets: [
        { kind: 'templates', templates: [T] },
        { kind: 'options-templates', templates: [OPT] },
        { kind: 'data', template: OPT, records: [[50, 1]] },
        { kind: 'data', template: T, records: [[web1.ip, web2.ip, 1000, 10]] },
      ],
    });
    expect(c.intake.receive(m, 0, m.length, '192.0.2.1', T_US)).toBe(0);
    expect(c.seen.map((s) => s.rate)).toEqual([50]);
  });
});

describe('sequence loss', () => {
  it('IPFIX counts records: a gap of records is lost after the settle time; a late message fills it', () => {
    const s = new StreamSequence();
    s.see(0, 10, 0);
    s.see(10, 5, 1);
    s.see(25, 5, 2); // 15..24 missing
    expect(s.missing).toBe(10);
    s.see(15, 4, 3); // late: 4 of them arrive
    expect(s).toMatchObject({ missing: 6, late: 1, lost: 0 });
    s.see(30, 1, 3e6); // pending 3 s: lost
    expect(s).toMatchObject({ missing: 0, lost: 6 });
    s.see(5, 1, 3e6 + 1); // behind, within the gap limit: late, not a restart
    expect(s.resets).toBe(0);
    s.see(3e9, 1, 3e6 + 2); // a jump of billions: a restart, no loss
    expect(s).toMatchObject({ resets: 1, lost: 6 });
  });

  it('through the intake: v9 loses export packets, IPFIX records, per domain', () => {
    const c = collecting();
    const T: TemplateDef = { id: 256, fields: BASE };
    const r = [web1.ip, web2.ip, 1000, 10];
    const v9 = (sequence: number) =>
      encodeV9({
        sysUptime: 1,
        exportSecs: T0,
        sequence,
        sourceId: 4,
        sets: [{ kind: 'templates', templates: [T] }],
      });
    const ix = (sequence: number, n: number) =>
      encodeIpfix({
        exportSecs: T0,
        sequence,
        domain: 9,
        sets: [
          { kind: 'templates', templates: [T] },
          { kind: 'data', template: T, records: Array(n).fill(r) },
        ],
      });
    for (const m of [v9(1), v9(2), v9(5), ix(0, 3), ix(3, 2), ix(10, 1)])
      c.intake.receive(m, 0, m.length, '192.0.2.1', T_US);
    c.done();
    const d = c.intake.domainSummaries();
    expect(d.find((x) => x.version === 9)).toMatchObject({ domain: 4, lost: 2 });
    expect(d.find((x) => x.version === 10)).toMatchObject({ domain: 9, lost: 5 });
    expect(c.intake.exporterSummaries()[0]).toMatchObject({ lost_datagrams: 2, lost_records: 5 });
  });
});
