/**
 * Bad input: every Malformed reason built on purpose, then fuzzing — every truncation of
 * valid datagrams, interesting values written over every 32-bit word (the length and
 * count fields lie), random byte flips and plain garbage. The intake must never throw,
 * must count every problem, and what it aggregates must add up to what it decoded.
 */
import { describe, expect, it } from 'vitest';
import { encodeDatagram, type SampleSpec } from '../../collector/sflow/encode.js';
import { Malformed, malformedName } from '../../collector/sflow/types.js';
import { Prng } from '../../collector/synth/prng.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { collectingIntake, PODS, podTraffic, T0 } from './helpers.js';

const T_US = T0 * 1e6;
const web1 = PODS[0].leg;
const web2 = PODS[1].leg;
const frame = podFrame(web1, web2, { proto: 'tcp', sport: 1, dport: 2, size: 200 }, [{ vid: 100 }]);
const headerSample = (sequence: number, samplingRate = 10): SampleSpec => ({
  kind: 'flow',
  sequence,
  sourceIndex: 3,
  samplingRate,
  samplePool: sequence * samplingRate,
  records: [
    { type: 'switch', srcVlan: 100 },
    { type: 'header', frame },
  ],
});

function decodeOne(d: Buffer) {
  const c = collectingIntake();
  const status = c.intake.receive(d, 0, d.length, T_US);
  return { ...c, status };
}

describe('every malformed reason is counted, never thrown', () => {
  const valid = encodeDatagram({
    agent: '192.0.2.1',
    sequence: 1,
    samples: [headerSample(1), headerSample(2)],
  });
  // offsets in `valid`: header 28 bytes (IPv4 agent); sample 1 data_format at 28, length at 32
  const cases: [string, (b: Buffer) => void, number][] = [
    ['short datagram', (b) => b.fill(0, 0), Malformed.BAD_VERSION],
    ['version 4', (b) => b.writeUInt32BE(4, 0), Malformed.BAD_VERSION],
    ['agent address type 3', (b) => b.writeUInt32BE(3, 4), Malformed.BAD_AGENT_ADDRESS],
    ['sample length past the datagram', (b) => b.writeUInt32BE(0xfffffff0, 32), Malformed.SAMPLE_LENGTH],
    ['more samples claimed than present', (b) => b.writeUInt32BE(3, 24), Malformed.SAMPLE_COUNT],
    ['fewer samples claimed than present', (b) => b.writeUInt32BE(1, 24), Malformed.SAMPLE_COUNT],
    // sample 1 data at 36: 7 words, then the record count at 36 + 28
    ['more records claimed than present', (b) => b.writeUInt32BE(5, 64), Malformed.RECORD_COUNT],
    // first record (switch) at 68: format, length at 72
    ['record length past its sample', (b) => b.writeUInt32BE(4000, 72), Malformed.RECORD_LENGTH],
    ['switch record shorter than its fields', (b) => b.writeUInt32BE(8, 72), Malformed.RECORD_TOO_SHORT],
    ['bytes after the last record of a sample', (b) => b.writeUInt32BE(1, 64), Malformed.RECORD_COUNT],
    // header record at 68 + 8 + 16 = 92: format, length at 96, protocol 100, frame_length 104, stripped 108, header length 112
    ['sampled header length past its record', (b) => b.writeUInt32BE(129, 112), Malformed.RECORD_TOO_SHORT],
    ['sampling rate 0', (b) => b.writeUInt32BE(0, 44), Malformed.BAD_SAMPLING_RATE],
    ['frame_length shorter than the header', (b) => b.writeUInt32BE(100, 104), Malformed.BAD_FRAME_LENGTH],
    ['frame_length past any frame', (b) => b.writeUInt32BE(0xffffff00, 104), Malformed.BAD_FRAME_LENGTH],
  ];
  for (const [what, mutate, reason] of cases) {
    it(what, () => {
      const b = Buffer.from(valid);
      mutate(b);
      const r = decodeOne(what === 'short datagram' ? b.subarray(0, 6) : b);
      const expected = what === 'short datagram' ? Malformed.SHORT_DATAGRAM : reason;
      expect(malformedName[r.status]).toBe(malformedName[expected]);
      expect(r.intake.decodeStats.malformed[expected]).toBeGreaterThanOrEqual(1);
      expect(r.intake.decodeStats.malformedDatagrams).toBe(1);
      expect(r.intake.summary()[`malformed_${malformedName[expected]}`]).toBeGreaterThanOrEqual(1);
    });
  }

  it('a bad record drops its sample only: the next sample of the datagram is still decoded', () => {
    const b = Buffer.from(valid);
    b.writeUInt32BE(0, 44); // sample 1: rate 0
    const r = decodeOne(b);
    r.table.flush();
    expect(r.intake.decodeStats.flowSamples).toBe(1);
    expect(r.flows.reduce((n, f) => n + f.samples, 0)).toBe(1);
  });
});

/** Valid datagrams of every kind: the fuzzing corpus. */
function corpus(): Buffer[] {
  const out: Buffer[] = [];
  const traffic = podTraffic(12, 9);
  out.push(
    encodeDatagram({
      agent: '192.0.2.1',
      sequence: 1,
      samples: traffic.map(
        (p, i): SampleSpec => ({
          kind: 'flow',
          sequence: i + 1,
          sourceIndex: 3,
          samplingRate: 10,
          samplePool: 10 * (i + 1),
          records: [{ type: 'header', frame: p.data }],
        }),
      ),
    }),
  );
  out.push(
    encodeDatagram({
      agent: '2001:db8::1',
      sequence: 2,
      samples: [
        {
          kind: 'flow',
          expanded: true,
          sequence: 1,
          sourceIndex: 9,
          samplingRate: 100,
          samplePool: 100,
          records: [
            { type: 'ethernet', length: 300, src: web1.mac, dst: web2.mac, etherType: 0x0800 },
            { type: 'ipv4', length: 282, protocol: 6, src: web1.ip, dst: web2.ip, srcPort: 1, dstPort: 2 },
            { type: 'router', nextHop: '2001:db8::fe', srcMaskLen: 64, dstMaskLen: 64 },
            { type: 'switch', srcVlan: 100 },
          ],
        },
        {
          kind: 'flow',
          sequence: 2,
          sourceIndex: 9,
          samplingRate: 100,
          samplePool: 200,
          records: [
            {
              type: 'ipv6',
              length: 100,
              protocol: 17,
              src: 'fd00:100::01',
              dst: 'fd00:100::02',
              srcPort: 3,
              dstPort: 4,
            },
          ],
        },
        {
          kind: 'counters',
          sequence: 1,
          sourceIndex: 9,
          records: [{ type: 'generic', ifIndex: 9 }, { type: 'ethernet' }],
        },
        {
          kind: 'counters',
          expanded: true,
          sequence: 1,
          sourceIndex: 100,
          sourceType: 1,
          records: [{ type: 'vlan', vlanId: 100 }],
        },
        { kind: 'raw', format: 99, data: Buffer.alloc(8) },
      ],
    }),
  );
  return out;
}

/** Where a datagram's uptime word is (IPv4 or IPv6 agent), or -1. */
function uptimeOffset(d: Buffer): number {
  if (d.length < 8) return -1;
  const type = d.readUInt32BE(4);
  const off = type === 1 ? 20 : type === 2 ? 32 : -1;
  return off >= 0 && d.length >= off + 4 ? off : -1;
}

/**
 * Runs many datagrams through one intake; checks its books balance. The inputs are
 * variants of a few datagrams, so each is stamped with a later uptime (unless `keep` says
 * its uptime word is the one under test): a repeated number sent later is a restart, and
 * every variant is decoded and aggregated instead of being skipped as a duplicate.
 */
function fuzzRun(datagrams: Buffer[], keep: (i: number) => boolean = () => false) {
  const c = collectingIntake();
  let threw: unknown;
  let badStatus = 0;
  for (const [i, d] of datagrams.entries()) {
    const at = uptimeOffset(d);
    if (at >= 0 && !keep(i)) d.writeUInt32BE(1000 + i, at);
    try {
      const s = c.intake.receive(d, 0, d.length, T_US);
      if (!Number.isInteger(s) || s < 0 || s >= malformedName.length) badStatus++;
    } catch (err) {
      threw ??= err;
    }
  }
  c.table.flush();
  const st = c.intake.decodeStats;
  const problems = st.malformed.reduce((a, b) => a + b, 0);
  // every sample aggregated was counted as decoded, and scaled as the intake says
  const aggregated = c.flows.reduce((n, f) => n + f.packets, 0);
  return { ...c, threw, badStatus, problems, aggregated };
}

describe('fuzzing', () => {
  const base = corpus();

  it('every truncation of a valid datagram is counted as malformed', () => {
    const cuts: Buffer[] = [];
    for (const d of base) for (let n = 0; n < d.length; n++) cuts.push(Buffer.from(d.subarray(0, n)));
    const r = fuzzRun(cuts);
    expect(r.threw).toBeUndefined();
    expect(r.badStatus).toBe(0);
    expect(r.intake.decodeStats.datagrams).toBe(cuts.length);
    expect(r.intake.decodeStats.malformedDatagrams).toBe(cuts.length);
    expect(r.aggregated).toBe(r.intake.scaledPackets);
  });

  it('interesting values over every 32-bit word (lying lengths and counts): counted, no crash', () => {
    const values = [
      0, 1, 2, 3, 4, 7, 8, 16, 28, 127, 128, 1000, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff,
    ];
    const mutants: Buffer[] = [];
    const uptimeHit = new Set<number>();
    for (const d of base) {
      for (let o = 0; o + 4 <= d.length; o += 4) {
        for (const v of [...values, d.readUInt32BE(o) + 4, d.readUInt32BE(o) - 4]) {
          const m = Buffer.from(d);
          m.writeUInt32BE(v >>> 0, o);
          if (o === uptimeOffset(d)) uptimeHit.add(mutants.length);
          mutants.push(m);
        }
      }
    }
    const r = fuzzRun(mutants, (i) => uptimeHit.has(i));
    expect(r.threw).toBeUndefined();
    expect(r.badStatus).toBe(0);
    expect(r.problems).toBeGreaterThanOrEqual(r.intake.decodeStats.malformedDatagrams);
    // length and count words were hit: lies of each kind were seen and counted
    for (const reason of [
      Malformed.SAMPLE_LENGTH,
      Malformed.SAMPLE_COUNT,
      Malformed.RECORD_LENGTH,
      Malformed.RECORD_COUNT,
      Malformed.RECORD_TOO_SHORT,
    ]) {
      expect(r.intake.decodeStats.malformed[reason], malformedName[reason]).toBeGreaterThan(0);
    }
    expect(r.aggregated).toBe(r.intake.scaledPackets);
  });

  it('random byte flips and garbage: no crash, every datagram accounted for', () => {
    const rng = new Prng(5);
    const inputs: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      const m = Buffer.from(rng.pick(base));
      const flips = rng.int(1, 8);
      for (let k = 0; k < flips; k++) m[rng.int(0, m.length - 1)] = rng.int(0, 255);
      inputs.push(m);
    }
    for (let i = 0; i < 5_000; i++) {
      const g = rng.bytes(rng.int(0, 600));
      // half of the garbage gets a plausible header so the walker goes deeper
      if (i % 2 === 0 && g.length >= 8) {
        g.writeUInt32BE(5, 0);
        g.writeUInt32BE(1, 4);
      }
      inputs.push(g);
    }
    const r = fuzzRun(inputs);
    expect(r.threw).toBeUndefined();
    expect(r.badStatus).toBe(0);
    expect(r.intake.decodeStats.datagrams).toBe(inputs.length);
    expect(r.intake.decodeStats.malformedDatagrams).toBeGreaterThan(5_000);
    expect(r.aggregated).toBe(r.intake.scaledPackets);
  });
});
