/**
 * Template life: withdrawal, id reuse with a new layout, two exporters with the same
 * observation domain, data before its template (held, then decoded), held data expiring
 * (counted), options after the data, and templates + sampling persisted across a restart.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encodeIpfix,
  encodeV9,
  field as f,
  IE,
  type SetDef,
  type TemplateDef,
} from '../../collector/netflow/encode.js';
import { STATE_FILE } from '../../collector/netflow/state-file.js';
import { collecting, PODS, T_US, T0 } from './helpers.js';

const web1 = PODS[0].leg;
const web2 = PODS[1].leg;

const T_A: TemplateDef = {
  id: 256,
  fields: [
    f(IE.sourceIPv4Address, 4),
    f(IE.destinationIPv4Address, 4),
    f(IE.octetDeltaCount, 4),
    f(IE.packetDeltaCount, 4),
    f(IE.vlanId, 2),
  ],
};
/** the same id, another layout: ports added, counters 8 bytes */
const T_A2: TemplateDef = {
  id: 256,
  fields: [
    f(IE.sourceIPv4Address, 4),
    f(IE.destinationIPv4Address, 4),
    f(IE.sourceTransportPort, 2),
    f(IE.destinationTransportPort, 2),
    f(IE.octetDeltaCount, 8),
    f(IE.packetDeltaCount, 8),
    f(IE.vlanId, 2),
  ],
};
const rec = (bytes: number, packets: number) => [web1.ip, web2.ip, bytes, packets, 100];

let seq = 0;
function ipfix(sets: SetDef[], domain = 1) {
  return encodeIpfix({ exportSecs: T0, sequence: seq++, domain, sets });
}

describe('templates', () => {
  it('IPFIX withdrawal of one template and of all: later data is held, not misread', () => {
    const c = collecting();
    const send = (sets: SetDef[], t = 0) => {
      const m = ipfix(sets);
      c.intake.receive(m, 0, m.length, '192.0.2.1', T_US + t);
    };
    const T_B: TemplateDef = { ...T_A, id: 257 };
    send([
      { kind: 'templates', templates: [T_A, T_B] },
      { kind: 'data', template: T_A, records: [rec(100, 1)] },
    ]);
    expect(c.intake.exporterSummaries()[0].templates).toBe(2);
    send([
      { kind: 'withdraw', ids: [256] },
      { kind: 'data', template: T_A, records: [rec(200, 2)] },
    ]);
    let s = c.intake.exporterSummaries()[0];
    expect(s).toMatchObject({ templates: 1, withdrawals: 1, template_missing: 1, records: 1 });
    send([{ kind: 'data', template: T_B, records: [rec(300, 3)] }]);
    send([
      { kind: 'withdraw', ids: [2] },
      { kind: 'data', template: T_B, records: [rec(400, 4)] },
    ]);
    s = c.intake.exporterSummaries()[0];
    expect(s).toMatchObject({ templates: 0, withdrawals: 2, template_missing: 2, records: 2 });
    c.done();
    // the held sets never got their template: expired at the end, counted
    expect(c.intake.exporterSummaries()[0].held_expired).toBe(2);
    expect(c.flows.reduce((a, x) => a + x.bytes, 0)).toBe(400);
  });

  it('a template id re-sent with a new layout replaces the old one (counted as an update)', () => {
    const c = collecting();
    const send = (sets: SetDef[]) => {
      const m = ipfix(sets);
      c.intake.receive(m, 0, m.length, '192.0.2.1', T_US);
    };
    send([
      { kind: 'templates', templates: [T_A] },
      { kind: 'data', template: T_A, records: [rec(100, 1)] },
    ]);
    send([{ kind: 'templates', templates: [T_A] }]); // a re-send: nothing changes
    send([
      { kind: 'templates', templates: [T_A2] },
      { kind: 'data', template: T_A2, records: [[web1.ip, web2.ip, 7, 8, 5000, 5, 100]] },
    ]);
    expect(c.seen.map((x) => [x.srcPort, x.innerLength])).toEqual([
      [0, 100],
      [7, 5000],
    ]);
    expect(c.intake.exporterSummaries()[0]).toMatchObject({
      template_updates: 1,
      template_records: 3,
      templates: 1,
    });
  });

  it('two exporters with the same observation domain and template id keep separate templates', () => {
    const c = collecting();
    const a = ipfix(
      [
        { kind: 'templates', templates: [T_A] },
        { kind: 'data', template: T_A, records: [rec(100, 1)] },
      ],
      5,
    );
    const b = ipfix(
      [
        { kind: 'templates', templates: [T_A2] },
        { kind: 'data', template: T_A2, records: [[web1.ip, web2.ip, 7, 8, 5000, 5, 100]] },
      ],
      5,
    );
    c.intake.receive(a, 0, a.length, '192.0.2.1', T_US);
    c.intake.receive(b, 0, b.length, '192.0.2.2', T_US);
    // data of each under its own exporter's template
    const a2 = ipfix([{ kind: 'data', template: T_A, records: [rec(111, 1)] }], 5);
    const b2 = ipfix(
      [{ kind: 'data', template: T_A2, records: [[web1.ip, web2.ip, 9, 9, 2222, 2, 100]] }],
      5,
    );
    c.intake.receive(a2, 0, a2.length, '192.0.2.1', T_US);
    c.intake.receive(b2, 0, b2.length, '192.0.2.2', T_US);
    expect(c.seen.map((x) => [x.exporter, x.innerLength, x.srcPort])).toEqual([
      ['192.0.2.1', 100, 0],
      ['192.0.2.2', 5000, 7],
      ['192.0.2.1', 111, 0],
      ['192.0.2.2', 2222, 9],
    ]);
  });

  it('data before its template is held and decoded when the template comes', () => {
    const c = collecting();
    const d = ipfix([{ kind: 'data', template: T_A, records: [rec(100, 1), rec(200, 2)] }]);
    c.intake.receive(d, 0, d.length, '192.0.2.1', T_US);
    expect(c.seen).toHaveLength(0);
    expect(c.intake.exporterSummaries()[0].template_missing).toBe(1);
    const t = ipfix([{ kind: 'templates', templates: [T_A] }]);
    c.intake.receive(t, 0, t.length, '192.0.2.1', T_US + 1e6);
    expect(c.seen.map((x) => x.innerLength)).toEqual([100, 200]);
    expect(c.intake.exporterSummaries()[0]).toMatchObject({ held_decoded: 1, held_expired: 0, records: 2 });
    const flows = c.done();
    expect(flows.reduce((a, x) => a + x.packets, 0)).toBe(3);
  });

  it('held data expires after the hold time, counted; the hold is bounded in sets', () => {
    const c = collecting({ held: { holdUs: 5e6, maxSets: 3 } });
    const send = (sets: SetDef[], t: number) => {
      const m = ipfix(sets);
      c.intake.receive(m, 0, m.length, '192.0.2.1', T_US + t);
    };
    send([{ kind: 'data', template: T_A, records: [rec(100, 1)] }], 0);
    // 6 s later: the first expired on arrival of the next datagram
    send([{ kind: 'data', template: T_A, records: [rec(100, 1)] }], 6e6);
    expect(c.intake.exporterSummaries()[0]).toMatchObject({ template_missing: 2, held_expired: 1 });
    for (let i = 0; i < 3; i++) send([{ kind: 'data', template: T_A, records: [rec(100, 1)] }], 6e6);
    // 4 held, room for 3: the oldest expired
    expect(c.intake.exporterSummaries()[0]).toMatchObject({ template_missing: 5, held_expired: 2 });
    send([{ kind: 'templates', templates: [T_A] }], 7e6);
    expect(c.intake.exporterSummaries()[0]).toMatchObject({ held_decoded: 3, records: 3 });
    expect(c.intake.summary().held_expired).toBe(2);
  });

  it('options after the data: the sampler rate applies from then on; before, the configured rate', () => {
    const c = collecting({ samplingRate: 10 });
    const T_S: TemplateDef = { id: 300, fields: [...T_A.fields, f(IE.samplerId, 1)] };
    // v9 options: scope System (scope type 1), then FLOW_SAMPLER_ID, _MODE, _RANDOM_INTERVAL
    const OPT: TemplateDef = {
      id: 301,
      scopeCount: 1,
      fields: [f(1, 4), f(IE.samplerId, 1), f(IE.samplerMode, 1), f(IE.samplerRandomInterval, 4)],
    };
    const send = (sets: SetDef[]) => {
      const m = encodeV9({ sysUptime: 1000, exportSecs: T0, sequence: seq++, sourceId: 0, sets });
      c.intake.receive(m, 0, m.length, '192.0.2.1', T_US);
    };
    send([
      { kind: 'templates', templates: [T_S] },
      { kind: 'data', template: T_S, records: [[...rec(100, 1), 4]] },
    ]);
    // options data before its options template: held, then learnt
    send([{ kind: 'data', template: OPT, records: [[0, 4, 2, 100]] }]);
    send([{ kind: 'options-templates', templates: [OPT] }]);
    send([
      {
        kind: 'data',
        template: T_S,
        records: [
          [...rec(100, 1), 4],
          [...rec(100, 1), 5],
        ],
      },
    ]);
    expect(c.seen.map((x) => x.rate)).toEqual([10, 100, 10]);
    expect(c.intake.exporterSummaries()[0]).toMatchObject({ options_records: 1, held_decoded: 1 });
    const flows = c.done();
    expect(flows.reduce((a, x) => a + x.packets, 0)).toBe(10 + 100 + 10);
  });

  it('templates and sampling persist: a restarted intake decodes at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podwire-netflow-'));
    const stateFile = join(dir, STATE_FILE);
    const OPT: TemplateDef = {
      id: 301,
      scopeCount: 1,
      fields: [f(IE.observationDomainId, 4), f(IE.samplingInterval, 4)],
    };
    const first = collecting({ stateFile });
    const m = ipfix([
      { kind: 'templates', templates: [T_A] },
      { kind: 'options-templates', templates: [OPT] },
      { kind: 'data', template: OPT, records: [[1, 512]] },
    ]);
    first.intake.receive(m, 0, m.length, '192.0.2.1', T_US);
    expect(first.intake.dirty).toBe(true);
    expect(first.intake.saveState()).toBe(true);
    expect(first.intake.dirty).toBe(false);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).exporters[0].exporter).toBe('192.0.2.1');

    const second = collecting({ stateFile });
    expect(second.intake.stateLoad).toBe(2);
    const d = ipfix([{ kind: 'data', template: T_A, records: [rec(100, 1)] }]);
    second.intake.receive(d, 0, d.length, '192.0.2.1', T_US + 60e6);
    expect(second.seen).toHaveLength(1);
    expect(second.seen[0]).toMatchObject({ src: 'web-1', rate: 512 });
    // another exporter's data is not decoded with it
    second.intake.receive(d, 0, d.length, '192.0.2.2', T_US + 60e6);
    expect(second.seen).toHaveLength(1);

    // a corrupt file is reported and ignored
    writeFileSync(stateFile, '{"format": 1, "exporters": [{"exporter": 5}]}');
    const third = collecting({ stateFile });
    expect(third.intake.stateLoad).toMatch(/^ignoring/);
  });
});

describe('bounds', () => {
  it('an exporter forgotten while idle takes its held data along, counted in the totals', () => {
    const c = collecting({ exporters: { idleUs: 60e6 }, held: { holdUs: 600e6 } });
    const d = ipfix([{ kind: 'data', template: T_A, records: [rec(100, 1)] }]);
    c.intake.receive(d, 0, d.length, '192.0.2.1', T_US);
    // another exporter, 2 minutes later: the idle one is swept
    const t = ipfix([{ kind: 'templates', templates: [T_A] }]);
    c.intake.receive(t, 0, t.length, '192.0.2.2', T_US + 120e6);
    expect(c.intake.exporters.expiredExporters).toBe(1);
    expect(c.intake.held.size).toBe(0);
    expect(c.intake.summary()).toMatchObject({ template_missing: 1, held_expired: 1 });
  });

  it('beyond the exporter cap, datagrams are counted and dropped', () => {
    const c = collecting({ exporters: { maxExporters: 1 } });
    const m = ipfix([
      { kind: 'templates', templates: [T_A] },
      { kind: 'data', template: T_A, records: [rec(100, 1)] },
    ]);
    c.intake.receive(m, 0, m.length, '192.0.2.1', T_US);
    c.intake.receive(m, 0, m.length, '192.0.2.2', T_US);
    expect(c.intake.summary()).toMatchObject({ datagrams: 2, records: 1, exporter_overflow_datagrams: 1 });
  });
});
