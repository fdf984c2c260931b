/**
 * Bad input: every Malformed reason built on purpose, then fuzzing — every truncation of
 * valid v5/v9/IPFIX datagrams, interesting values over every 16-bit word (lengths, counts
 * and ids lie), 20k random byte flips and plain garbage. The intake must never throw,
 * must count every problem, and what it aggregates must add up to what it decoded.
 */
import { describe, expect, it } from 'vitest';
import {
  encodeIpfix,
  encodeV5,
  encodeV9,
  type FieldDef,
  IE,
  type TemplateDef,
  VARIABLE_LENGTH,
} from '../../collector/netflow/encode.js';
import { Malformed, malformedName } from '../../collector/netflow/types.js';
import { Prng } from '../../collector/synth/prng.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { collecting, PODS, T_US, T0 } from './helpers.js';

const web1 = PODS[0].leg;
const web2 = PODS[1].leg;
const f = (id: number, length: number, enterprise?: number): FieldDef => ({ id, length, enterprise });
const T: TemplateDef = {
  id: 256,
  fields: [
    f(IE.sourceIPv4Address, 4),
    f(IE.destinationIPv4Address, 4),
    f(IE.octetDeltaCount, 4),
    f(IE.packetDeltaCount, 4),
    f(IE.vlanId, 2),
    f(IE.samplingInterval, 4),
  ],
};
const TV: TemplateDef = {
  id: 257,
  fields: [f(IE.dataLinkFrameSection, VARIABLE_LENGTH), f(5, VARIABLE_LENGTH, 9), f(IE.packetDeltaCount, 2)],
};
const OPT: TemplateDef = {
  id: 258,
  scopeCount: 1,
  fields: [f(IE.observationDomainId, 4), f(IE.samplingInterval, 4)],
};
const frame = podFrame(web1, web2, { proto: 'tcp', sport: 1, dport: 2, size: 200 }, [{ vid: 100 }]);

function corpus(): Buffer[] {
  const rec = [web1.ip, web2.ip, 1000, 10, 100, 4];
  const ipfix = encodeIpfix({
    exportSecs: T0,
    sequence: 0,
    domain: 1,
    sets: [
      { kind: 'templates', templates: [T, TV] },
      { kind: 'options-templates', templates: [OPT] },
      { kind: 'data', template: OPT, records: [[1, 16]] },
      { kind: 'data', template: T, records: [rec, rec] },
      { kind: 'data', template: TV, records: [[frame, new Uint8Array(300), 3]] },
    ],
  });
  const v9 = encodeV9({
    sysUptime: 1000,
    exportSecs: T0,
    sequence: 1,
    sourceId: 0,
    sets: [
      { kind: 'templates', templates: [T] },
      {
        kind: 'options-templates',
        templates: [{ id: 259, scopeCount: 1, fields: [f(1, 4), f(IE.samplingInterval, 4)] }],
      },
      { kind: 'data', template: T, records: [rec, rec, rec] },
    ],
  });
  const v5 = encodeV5({
    sysUptime: 1000,
    exportSecs: T0,
    sequence: 0,
    records: [
      { src: web1.ip, dst: web2.ip, packets: 2, bytes: 200, srcPort: 1, dstPort: 2, protocol: 6 },
      { src: web2.ip, dst: web1.ip, packets: 3, bytes: 300, srcPort: 2, dstPort: 1, protocol: 6 },
    ],
  });
  return [ipfix, v9, v5].map((b) => Buffer.from(b));
}

function fuzzRun(datagrams: Buffer[]) {
  const c = collecting();
  let threw: unknown;
  let badStatus = 0;
  for (const d of datagrams) {
    try {
      const s = c.intake.receive(d, 0, d.length, '192.0.2.1', T_US);
      if (!Number.isInteger(s) || s < 0 || s >= malformedName.length) badStatus++;
    } catch (err) {
      threw ??= err;
    }
  }
  let threwAtEnd: unknown;
  try {
    c.done();
  } catch (err) {
    threwAtEnd = err;
  }
  const st = c.intake.decodeStats;
  const problems = st.malformed.reduce((a, b) => a + b, 0);
  const aggregated = c.flows.reduce((n, x) => n + x.packets, 0);
  return { ...c, threw, threwAtEnd, badStatus, problems, aggregated };
}

/** A mutation writing `v` as a 16-bit word at `o`. */
const w16 = (v: number, o: number) => (b: Buffer) => {
  b.writeUInt16BE(v, o);
  return b;
};

describe('every malformed reason is counted, never thrown', () => {
  const [ipfix, v9, v5] = corpus();
  // IPFIX: header 16; template set at 16 (id, length), first template record at 20
  const cases: [string, Buffer, (b: Buffer) => Buffer, number][] = [
    ['short datagram', ipfix, (b) => b.subarray(0, 3), Malformed.SHORT_DATAGRAM],
    ['version 8', ipfix, w16(8, 0), Malformed.BAD_VERSION],
    ['IPFIX message length past the datagram', ipfix, w16(ipfix.length + 1, 2), Malformed.MESSAGE_LENGTH],
    ['IPFIX message length under its header', ipfix, w16(8, 2), Malformed.MESSAGE_LENGTH],
    ['IPFIX short header', ipfix, (b) => b.subarray(0, 12), Malformed.SHORT_DATAGRAM],
    ['set length past the message', ipfix, w16(4000, 18), Malformed.SET_LENGTH],
    ['set length under 4', ipfix, w16(2, 18), Malformed.SET_LENGTH],
    ['template id under 256', ipfix, w16(17, 20), Malformed.BAD_TEMPLATE],
    ['template field of length 0', ipfix, w16(0, 26), Malformed.BAD_TEMPLATE],
    ['template with more fields than the cap (512)', ipfix, w16(600, 22), Malformed.TEMPLATE_TOO_LONG],
    ['template field count past the set', ipfix, w16(100, 22), Malformed.BAD_TEMPLATE],
    ['reserved set id', ipfix, w16(100, 16), Malformed.RESERVED_SET],
    ['v5 count past the datagram', v5, w16(3, 2), Malformed.RECORD_COUNT],
    ['v5 count above 30', v5, w16(31, 2), Malformed.RECORD_COUNT],
    ['v9 short header', v9, (b) => b.subarray(0, 18), Malformed.SHORT_DATAGRAM],
    [
      'v9 trailing bytes after the last flowset',
      v9,
      (b) => Buffer.concat([b, Buffer.alloc(2)]),
      Malformed.SET_LENGTH,
    ],
  ];
  for (const [what, base, mutate, reason] of cases) {
    it(what, () => {
      const c = collecting();
      const b = mutate(Buffer.from(base));
      const status = c.intake.receive(b, 0, b.length, '192.0.2.1', T_US);
      expect(malformedName[status]).toBe(malformedName[reason]);
      expect(c.intake.decodeStats.malformed[reason]).toBeGreaterThanOrEqual(1);
      expect(c.intake.decodeStats.malformedDatagrams).toBe(1);
      expect(c.intake.summary()[`malformed_${malformedName[reason]}`]).toBeGreaterThanOrEqual(1);
    });
  }

  it('a variable-length field running past its set drops the rest of that set only', () => {
    const rec = [web1.ip, web2.ip, 1000, 10, 100, 4];
    const tv = { id: 260, fields: [f(IE.sourceIPv4Address, 4), f(82, VARIABLE_LENGTH)] };
    const m = Buffer.from(
      encodeIpfix({
        exportSecs: T0,
        sequence: 0,
        domain: 1,
        sets: [
          { kind: 'templates', templates: [T, tv] },
          { kind: 'data', template: tv, records: [[web1.ip, new Uint8Array(4)]] },
          { kind: 'data', template: T, records: [rec] },
        ],
      }),
    );
    // the variable field's length byte: after the template set and the data set header + address
    const tset = m.readUInt16BE(18);
    m[16 + tset + 4 + 4] = 200;
    const c = collecting();
    expect(c.intake.receive(m, 0, m.length, '192.0.2.1', T_US)).toBe(Malformed.RECORD_LENGTH);
    expect(c.seen).toHaveLength(1);
  });
});

describe('fuzzing', () => {
  const base = corpus();

  it('every truncation of a valid datagram is counted as malformed', () => {
    const cuts: Buffer[] = [];
    for (const d of base) for (let n = 0; n < d.length; n++) cuts.push(Buffer.from(d.subarray(0, n)));
    const r = fuzzRun(cuts);
    expect(r.threw).toBeUndefined();
    expect(r.threwAtEnd).toBeUndefined();
    expect(r.badStatus).toBe(0);
    expect(r.intake.decodeStats.datagrams).toBe(cuts.length);
    // v9 has no message length: a cut at a flowset boundary is a whole, shorter datagram
    expect(r.intake.decodeStats.malformedDatagrams).toBe(cuts.length - v9Boundaries(base[1]).length);
    expect(r.aggregated).toBe(r.intake.scaledPackets);
  });

  it('interesting values over every 16-bit word (lying lengths, counts, ids): counted, no crash', () => {
    const values = [0, 1, 2, 3, 4, 5, 8, 255, 256, 257, 0x7fff, 0x8000, 0xfffe, 0xffff];
    const mutants: Buffer[] = [];
    for (const d of base) {
      for (let o = 0; o + 2 <= d.length; o += 2) {
        for (const v of [...values, d.readUInt16BE(o) + 1, d.readUInt16BE(o) - 1]) {
          const m = Buffer.from(d);
          m.writeUInt16BE(v & 0xffff, o);
          mutants.push(m);
        }
      }
    }
    const r = fuzzRun(mutants);
    expect(r.threw).toBeUndefined();
    expect(r.threwAtEnd).toBeUndefined();
    expect(r.badStatus).toBe(0);
    expect(r.problems).toBeGreaterThanOrEqual(r.intake.decodeStats.malformedDatagrams);
    for (const reason of [
      Malformed.SET_LENGTH,
      Malformed.BAD_TEMPLATE,
      Malformed.MESSAGE_LENGTH,
      Malformed.RECORD_COUNT,
    ]) {
      expect(r.intake.decodeStats.malformed[reason], malformedName[reason]).toBeGreaterThan(0);
    }
    expect(Number.isFinite(r.aggregated)).toBe(true);
    balanced(r.aggregated, r.intake.scaledPackets);
  });

  it('20k random byte flips and garbage: no crash, every datagram accounted for', () => {
    const rng = new Prng(13);
    const inputs: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      const m = Buffer.from(rng.pick(base));
      const flips = rng.int(1, 8);
      for (let k = 0; k < flips; k++) m[rng.int(0, m.length - 1)] = rng.int(0, 255);
      inputs.push(m);
    }
    for (let i = 0; i < 5_000; i++) {
      const g = rng.bytes(rng.int(0, 600));
      // a plausible header on part of the garbage so the walker goes deeper
      if (i % 3 === 0 && g.length >= 4) {
        g.writeUInt16BE(10, 0);
        g.writeUInt16BE(g.length, 2);
      } else if (i % 3 === 1 && g.length >= 2) g.writeUInt16BE(9, 0);
      inputs.push(g);
    }
    const r = fuzzRun(inputs);
    expect(r.threw).toBeUndefined();
    expect(r.threwAtEnd).toBeUndefined();
    expect(r.badStatus).toBe(0);
    expect(r.intake.decodeStats.datagrams).toBe(inputs.length);
    expect(r.intake.decodeStats.malformedDatagrams).toBeGreaterThan(1_000);
    expect(Number.isFinite(r.aggregated)).toBe(true);
    balanced(r.aggregated, r.intake.scaledPackets);
  });
});

/** Sums of the same terms in another order (lying counters reach 1e25: rounding differs). */
function balanced(aggregated: number, decoded: number): void {
  expect(Math.abs(aggregated - decoded)).toBeLessThanOrEqual(1e-9 * Math.max(1, decoded));
}

/** The offsets, after the v9 header, where a flowset ends (cuts there leave a valid datagram). */
function v9Boundaries(d: Buffer): number[] {
  const out = [20];
  for (let o = 20; o + 4 <= d.length; ) {
    o += d.readUInt16BE(o + 2);
    if (o < d.length) out.push(o);
  }
  return out;
}
