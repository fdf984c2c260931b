/**
 * What podwire reads: the demo capture from stdin, as pcapng, as nanosecond pcap (made by
 * editcap and by our writer, either byte order) gives the same records; and what it must
 * refuse: each bad input exits with its documented code and a message naming the problem
 * (file, byte offset, packets read), never a stack trace. Malformed frames inside a valid
 * capture are not errors: they are traced with a `status` and counted.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PcapRecord, pcapFile } from '../../collector/capture/pcap-writer.js';
import { pcapngFile } from '../../collector/capture/pcapng-writer.js';
import { ethernet, IpProtocol, ipv4, tcp, udp, vxlan } from '../../collector/synth/frames.js';
import { Prng } from '../../collector/synth/prng.js';
import { demoScenario } from '../../collector/synth/scenario.js';
import {
  ensureBuilt,
  expectCleanFailure,
  type FlowRec,
  type PacketRec,
  parseJsonl,
  podwire,
  type RunOptions,
  run,
  SAMPLE_INVENTORY,
  SAMPLE_PCAP,
  summary,
  tempDir,
} from './helpers.js';

const scenario = demoScenario();
const sample = readFileSync(SAMPLE_PCAP);

let tmp: Awaited<ReturnType<typeof tempDir>>;
/** trace of samples/mirror.pcap: what every variant must reproduce */
let baseline: PacketRec[];

const trace = (pcap: string, opts: RunOptions = {}) =>
  podwire(['trace', '--pcap', pcap, '--inventory', SAMPLE_INVENTORY], opts);
const at = (name: string) => join(tmp.dir, name);

/** Byte offset of each record header in a classic pcap (little-endian µs, like the sample). */
function recordOffsets(file: Buffer): number[] {
  const out: number[] = [];
  for (let o = 24; o < file.length; o += 16 + file.readUInt32LE(o + 8)) out.push(o);
  return out;
}

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('inputs');
  const r = await trace(SAMPLE_PCAP);
  expect(r.code, r.stderr).toBe(0);
  baseline = parseJsonl<PacketRec>(r.stdout);
  expect(baseline.length).toBe(scenario.packets.length);
});
afterAll(() => tmp?.remove());

describe('input variants give the same records', () => {
  it('stdin: --pcap - with the capture piped in', async () => {
    const r = await trace('-', { stdin: { file: SAMPLE_PCAP } });
    expect(r.code, r.stderr).toBe(0);
    expect(parseJsonl<PacketRec>(r.stdout)).toEqual(baseline);
    expect(summary(r.stderr).packets).toBe(baseline.length);
  });

  it('pcapng written by tshark (microseconds: 6 fraction digits)', async () => {
    const file = at('mirror.pcapng');
    const conv = await run('tshark', ['-r', SAMPLE_PCAP, '-F', 'pcapng', '-w', file]);
    expect(conv.code, conv.stderr).toBe(0);
    expect(readFileSync(file).readUInt32LE(0)).toBe(0x0a0d0d0a);
    const r = await trace(file);
    expect(r.code, r.stderr).toBe(0);
    const recs = parseJsonl<PacketRec>(r.stdout);
    for (const rec of recs) expect(rec.ts).toMatch(/\.\d{6}Z$/);
    expect(recs).toEqual(baseline);
  });

  it('big-endian microsecond pcap', async () => {
    const file = at('mirror-be.pcap');
    await writeFile(file, pcapFile(scenario.packets, { bigEndian: true }));
    const r = await trace(file);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJsonl<PacketRec>(r.stdout)).toEqual(baseline);
  });

  /** The records with their timestamps cut to µs, and those timestamps' last 3 digits. */
  function toMicro(recs: PacketRec[]): { recs: PacketRec[]; nanos: string[] } {
    const nanos: string[] = [];
    const out = recs.map((r) => {
      expect(r.ts, `frame ${r.frame}`).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      nanos.push(r.ts.slice(-4, -1));
      return { ...r, ts: `${r.ts.slice(0, -4)}Z` };
    });
    return { recs: out, nanos };
  }

  it('nanosecond pcap made by editcap: 9 fraction digits', async () => {
    const file = at('mirror-editcap-ns.pcap');
    const conv = await run('editcap', ['-F', 'nsecpcap', SAMPLE_PCAP, file]);
    expect(conv.code, conv.stderr).toBe(0);
    expect(readFileSync(file).readUInt32LE(0)).toBe(0xa1b23c4d);
    const r = await trace(file);
    expect(r.code, r.stderr).toBe(0);
    const { recs, nanos } = toMicro(parseJsonl<PacketRec>(r.stdout));
    expect(recs).toEqual(baseline);
    expect(new Set(nanos)).toEqual(new Set(['000']));
  });

  it('nanosecond pcap and pcapng with sub-microsecond times keep every digit', async () => {
    // the demo with 1..999 ns added to each timestamp
    const packets = scenario.packets.map((p, i) => ({ ...p, tsNsec: p.tsNsec + 1 + (i % 999) }));
    const want = packets.map((p) => String(p.tsNsec % 1000).padStart(3, '0'));
    const nsPcap = at('mirror-ns-be.pcap');
    const nsPcapng = at('mirror-ns.pcapng');
    await writeFile(nsPcap, pcapFile(packets, { nanosecond: true, bigEndian: true }));
    await writeFile(nsPcapng, pcapngFile([{ tsresol: 9, name: 'mirror0' }], packets));
    const results = await Promise.all([trace(nsPcap), trace(nsPcapng)]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      const { recs, nanos } = toMicro(parseJsonl<PacketRec>(r.stdout));
      expect(recs).toEqual(baseline);
      expect(nanos).toEqual(want);
    }
  });
});

describe.concurrent('bad input: exit 1 (input) or 2 (configuration), a clear message, no stack trace', () => {
  const offsets = recordOffsets(sample);
  const CUT_AFTER = 12; // packets read before the bad record

  it('a pcap file that does not exist: exit 1, names the file', async () => {
    const file = at('no-such.pcap');
    const r = await trace(file);
    expectCleanFailure(r, 1, /cannot open capture file .*no-such\.pcap: no such file/);
    expect(r.stdout).toBe('');
  });

  it('a directory: exit 1', async () => {
    const dir = at('a-directory.pcap');
    await mkdir(dir);
    const r = await trace(dir);
    expectCleanFailure(r, 1, /a-directory\.pcap: it is a directory/);
  });

  it('an empty file: exit 1, at byte offset 0 after 0 packets', async () => {
    const file = at('empty.pcap');
    await writeFile(file, '');
    const r = await trace(file);
    expectCleanFailure(r, 1, /empty\.pcap: empty capture.*at byte offset 0 \(after 0 packets read\)/);
  });

  it('nothing on stdin: exit 1', async () => {
    const r = await trace('-', { stdin: Buffer.alloc(0) });
    expectCleanFailure(r, 1, /^podwire: -: empty capture.*at byte offset 0 \(after 0 packets read\)/m);
  });

  it('--capture on an interface that does not exist: exit 1, tcpdump says why', async () => {
    const r = await podwire(['trace', '--capture', 'nosuch0', '--inventory', SAMPLE_INVENTORY], {
      timeoutMs: 10_000,
    });
    expectCleanFailure(r, 1, /^podwire: tcpdump on nosuch0 exited with code \d+: .*nosuch0/m);
    expect(r.stdout).toBe('');
  });

  it('bad magic: exit 1, says it is not a capture', async () => {
    const file = at('notes.txt');
    await writeFile(file, 'these are not the packets you are looking for\n');
    const r = await trace(file);
    expectCleanFailure(
      r,
      1,
      /notes\.txt: not a pcap or pcapng capture: bad magic 0x74686573 at byte offset 0/,
    );
  });

  it('a capture cut mid-record: exit 1, names the offset and packets read; the packets before are printed', async () => {
    const recordAt = offsets[CUT_AFTER];
    const file = at('cut.pcap');
    await writeFile(file, sample.subarray(0, recordAt + 16 + 10));
    const [t, f] = await Promise.all([
      trace(file),
      podwire(['flows', '--pcap', file, '--inventory', SAMPLE_INVENTORY]),
    ]);
    const where = new RegExp(
      `cut\\.pcap: truncated pcap record.* at byte offset ${recordAt} \\(after ${CUT_AFTER} packets read\\)`,
    );
    expectCleanFailure(t, 1, where);
    expect(parseJsonl<PacketRec>(t.stdout)).toEqual(baseline.slice(0, CUT_AFTER));
    // flows: the flows of the packets read are still emitted
    expectCleanFailure(f, 1, where);
    expect(parseJsonl<FlowRec>(f.stdout).reduce((a, x) => a + x.packets, 0)).toBe(CUT_AFTER);
  });

  it('a capture cut inside a record header, read from stdin: same error', async () => {
    const recordAt = offsets[CUT_AFTER];
    const r = await trace('-', { stdin: sample.subarray(0, recordAt + 7) });
    expectCleanFailure(
      r,
      1,
      new RegExp(
        `^podwire: -: .*truncated.* at byte offset ${recordAt} \\(after ${CUT_AFTER} packets read\\)`,
        'm',
      ),
    );
    expect(parseJsonl<PacketRec>(r.stdout)).toEqual(baseline.slice(0, CUT_AFTER));
  });

  it('a pcapng cut mid-block: exit 1, names the offset and packets read', async () => {
    const full = pcapngFile([{}], scenario.packets.slice(0, 20));
    const file = at('cut.pcapng');
    await writeFile(file, full.subarray(0, full.length - 30));
    const r = await trace(file);
    expectCleanFailure(r, 1, /cut\.pcapng: .*at byte offset \d+ \(after 19 packets read\)/);
    expect(parseJsonl<PacketRec>(r.stdout)).toEqual(baseline.slice(0, 19));
  });

  it('a lying record length: exit 1, names the offset and packets read', async () => {
    const recordAt = offsets[CUT_AFTER];
    const lie = Buffer.from(sample);
    lie.writeUInt32LE(0x10000000, recordAt + 8); // captured length: 256 MiB
    const file = at('lying.pcap');
    await writeFile(file, lie);
    const r = await trace(file);
    expectCleanFailure(
      r,
      1,
      new RegExp(
        `lying\\.pcap: .*captured length 268435456 exceeds .* at byte offset ${recordAt} \\(after ${CUT_AFTER} packets read\\)`,
      ),
    );
    expect(parseJsonl<PacketRec>(r.stdout)).toEqual(baseline.slice(0, CUT_AFTER));
  });
});

describe('malformed frames inside a valid capture', () => {
  it('are traced with a status and counted on the summary line; the run exits 0', async () => {
    const t0 = Date.parse('2026-11-26T10:00:00Z') / 1000;
    const mac = { src: '02:00:00:00:01:01', dst: '02:00:00:00:01:02' };
    const ip = { src: '10.10.0.11', dst: '10.10.0.12' };
    const crafted: [string, Buffer][] = [
      ['truncated', Buffer.from('0200000001020200', 'hex')],
      [
        'bad_ip_version',
        ethernet({ ...mac, etherType: 0x0800, payload: ipv4({ ...ip, proto: 6, version: 5 }) }),
      ],
      [
        'bad_ip_header_length',
        ethernet({ ...mac, vlans: [{ vid: 100 }], payload: ipv4({ ...ip, proto: 6, ihl: 3 }) }),
      ],
      [
        'bad_tcp_header_length',
        ethernet({
          ...mac,
          payload: ipv4({
            ...ip,
            proto: IpProtocol.TCP,
            payload: tcp({ sport: 1, dport: 2, dataOffset: 2 }),
          }),
        }),
      ],
      [
        'too_many_vlan_tags',
        ethernet({
          ...mac,
          vlans: [1, 2, 3, 4, 5].map((vid) => ({ vid })),
          payload: ipv4({ ...ip, proto: 6 }),
        }),
      ],
      [
        'bad_vxlan',
        ethernet({
          ...mac,
          payload: ipv4({
            src: '192.168.50.2',
            dst: '192.168.50.3',
            proto: IpProtocol.UDP,
            payload: udp({
              sport: 50000,
              dport: 4789,
              payload: vxlan({ vni: 5001, flags: 0, frame: Buffer.alloc(60) }),
            }),
          }),
        }),
      ],
    ];
    const rnd = new Prng(4242);
    const garbage = Array.from({ length: 60 }, () => rnd.bytes(rnd.int(0, 120)));
    const frames = [...crafted.map(([, f]) => f), ...garbage];
    const recs: PcapRecord[] = frames.map((data, i) => ({ tsSec: t0 + i, tsNsec: 0, data }));
    const file = at('malformed.pcap');
    await writeFile(file, pcapFile(recs));

    const r = await trace(file);
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
    expect(r.code, r.stderr).toBe(0);
    const out = parseJsonl<PacketRec>(r.stdout);
    expect(out.map((x) => x.frame)).toEqual(frames.map((_, i) => i + 1));
    for (const [i, [status]] of crafted.entries()) {
      expect(out[i].status, `crafted frame ${i + 1}`).toBe(status);
      expect(out[i].length).toBe(frames[i].length);
    }
    // a frame without a whole Ethernet header cannot be attributed at all
    expect([out[0].src_unattributed, out[0].dst_unattributed]).toEqual(['malformed', 'malformed']);

    const s = summary(r.stderr);
    expect(s.packets).toBe(frames.length);
    expect(s.bytes).toBe(frames.reduce((a, f) => a + f.length, 0));
    const byStatus = new Map<string, number>();
    for (const x of out)
      if (x.status !== undefined) byStatus.set(x.status, (byStatus.get(x.status) ?? 0) + 1);
    const counted = Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('decode_')));
    expect(counted).toEqual(Object.fromEntries([...byStatus].map(([k, n]) => [`decode_${k}`, n])));
    for (const [status] of crafted) expect(counted[`decode_${status}`]).toBeGreaterThan(0);

    // flows over the same file: every packet still counted once
    const f = await podwire(['flows', '--pcap', file, '--inventory', SAMPLE_INVENTORY]);
    expect(f.code, f.stderr).toBe(0);
    expect(parseJsonl<FlowRec>(f.stdout).reduce((a, x) => a + x.packets, 0)).toBe(frames.length);
    expect(summary(f.stderr).packets).toBe(frames.length);
  });
});
