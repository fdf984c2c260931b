/**
 * Differential tests: the readers against independent implementations.
 *   - pcap-parser (npm, the oracle for classic µs pcap): same timestamps, lengths and bytes;
 *   - tcpdump rewriting our files (µs and ns precision), tshark converting them to pcapng
 *     (a real pcapng writer: SHB options, IDB with if_tsresol 9), editcap converting back;
 *   - tshark reading our pcapng files (several interfaces, 10^-n and 2^-n resolutions, both
 *     byte orders, SPB): frame.time_epoch / len / cap_len / interface_id per packet.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type PcapRecord, type PcapWriterOptions, pcapFile } from '../../collector/capture/pcap-writer.js';
import {
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  type PcapngInterface,
  sectionHeaderBlock,
  simplePacketBlock,
} from '../../collector/capture/pcapng-writer.js';
import { openCapture } from '../../collector/capture/reader.js';
import { LinkType } from '../../collector/capture/types.js';
import { Prng } from '../../collector/synth/prng.js';
import { collect, randomRecords, type Seen } from './support.js';

interface PcapParserPacket {
  header: {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  };
  data: Buffer;
}
interface PcapParserEmitter {
  on(event: 'packet', fn: (p: PcapParserPacket) => void): this;
  on(event: 'end', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as {
  parse(input: string | Readable): PcapParserEmitter;
};

const tmp = mkdtempSync(join(tmpdir(), 'podwire-capdiff-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, data: Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, data);
  return path;
}

/** Runs a tool; stderr (tshark's "running as root" note, tcpdump's "reading from") is kept for errors. */
function tool(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
}

/** What pcap-parser reads from a file, in our snapshot's terms. */
function oracle(path: string): Promise<Omit<Seen, 'frame' | 'linkType' | 'interfaceId' | 'fileOffset'>[]> {
  return new Promise((resolve, reject) => {
    const out: Omit<Seen, 'frame' | 'linkType' | 'interfaceId' | 'fileOffset'>[] = [];
    const parser = pcapParser.parse(path);
    parser.on('packet', (p) =>
      out.push({
        tsSec: p.header.timestampSeconds,
        tsNsec: p.header.timestampMicroseconds * 1000,
        capLength: p.header.capturedLength,
        wireLength: p.header.originalLength,
        data: p.data.toString('hex'),
      }),
    );
    parser.on('error', reject);
    parser.on('end', () => resolve(out));
  });
}

async function readFile(path: string) {
  const src = await openCapture(path);
  return collect(src.stream);
}

const strip = (s: Seen[]) =>
  s.map(({ tsSec, tsNsec, capLength, wireLength, data }) => ({ tsSec, tsNsec, capLength, wireLength, data }));

describe('against pcap-parser', () => {
  const cases: [string, PcapRecord[], PcapWriterOptions][] = [
    ['little-endian', randomRecords(101, 500, 1500), {}],
    ['big-endian', randomRecords(102, 500, 1500), { bigEndian: true }],
    [
      'snaplen 96, frames cut',
      randomRecords(103, 400, 1500).map((r) => ({
        ...r,
        data: r.data.subarray(0, 96),
        wireLength: r.data.length,
      })),
      { snaplen: 96 },
    ],
    [
      'many small packets over several 64 KiB / 1 MiB chunks',
      randomRecords(104, 30_000, 90),
      { linkType: 113 },
    ],
    ['empty', [], { bigEndian: true }],
  ];
  for (const [name, records, opts] of cases) {
    it(`reads the same packets: ${name}`, async () => {
      const path = write(`${name.replace(/\W+/g, '-')}.pcap`, pcapFile(records, opts));
      const [want, got] = await Promise.all([oracle(path), readFile(path)]);
      expect(want.length).toBe(records.length);
      expect(got.stats.packets).toBe(records.length);
      expect(strip(got.seen)).toEqual(want);
    });
  }
});

/** tshark's per-packet view: [tsSec, tsNsec, wire length, captured length, interface id]. */
function tsharkFields(path: string): number[][] {
  const out = tool('tshark', [
    '-r',
    path,
    '-T',
    'fields',
    '-e',
    'frame.time_epoch',
    '-e',
    'frame.len',
    '-e',
    'frame.cap_len',
    '-e',
    'frame.interface_id',
  ]);
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [epoch, len, capLen, ifId] = line.split('\t');
      const [sec, frac = ''] = epoch.split('.');
      // an SPB has no timestamp: tshark prints nothing, podwire gives 0
      return [Number(sec || 0), Number(frac.padEnd(9, '0')), Number(len), Number(capLen), Number(ifId || 0)];
    });
}

const ourFields = (seen: Seen[]) =>
  seen.map((s) => [s.tsSec, s.tsNsec, s.wireLength, s.capLength, s.interfaceId]);

describe('against tcpdump, tshark and editcap', () => {
  const records = randomRecords(201, 3000, 1400).map((r, i) =>
    i % 5 === 0 ? { ...r, wireLength: r.data.length + 20 } : r,
  );

  it('tcpdump -r … -w rewrites a µs file into one we read identically', async () => {
    const src = write('tcpdump-in.pcap', pcapFile(records));
    const out = join(tmp, 'tcpdump-out.pcap');
    tool('tcpdump', ['-r', src, '-w', out]);
    const [a, b] = await Promise.all([readFile(src), readFile(out)]);
    expect(b.stats.packets).toBe(3000);
    expect(b.seen).toEqual(a.seen);
  });

  it('tcpdump converts a ns file to µs (truncating) or keeps ns with --time-stamp-precision=nano', async () => {
    const src = write('ns-in.pcap', pcapFile(records, { nanosecond: true, bigEndian: true }));
    const us = join(tmp, 'ns-to-us.pcap');
    const ns = join(tmp, 'ns-to-ns.pcap');
    tool('tcpdump', ['-r', src, '-w', us]);
    tool('tcpdump', ['--time-stamp-precision=nano', '-r', src, '-w', ns]);
    const [orig, toUs, toNs] = await Promise.all([readFile(src), readFile(us), readFile(ns)]);
    expect(orig.seen.map((s) => s.tsNsec)).toEqual(records.map((r) => r.tsNsec));
    expect(toNs.stats.info).toMatchObject({ resolution: 'ns', byteOrder: 'le' });
    expect(strip(toNs.seen)).toEqual(strip(orig.seen));
    expect(toUs.stats.info).toMatchObject({ resolution: 'us' });
    expect(strip(toUs.seen)).toEqual(
      strip(orig.seen).map((s) => ({ ...s, tsNsec: s.tsNsec - (s.tsNsec % 1000) })),
    );
  });

  it('tshark -F pcapng writes a real pcapng (if_tsresol 9) that we read identically', async () => {
    const src = write('to-ng.pcap', pcapFile(records, { nanosecond: true }));
    const ng = join(tmp, 'from-tshark.pcapng');
    tool('tshark', ['-r', src, '-F', 'pcapng', '-w', ng]);
    expect(readFileSync(ng).readUInt32BE(0)).toBe(0x0a0d0d0a);
    const [orig, got] = await Promise.all([readFile(src), readFile(ng)]);
    expect(got.stats.info).toMatchObject({ format: 'pcapng', resolution: 'ns', linkType: LinkType.ETHERNET });
    expect(strip(got.seen)).toEqual(strip(orig.seen));
    expect(ourFields(got.seen)).toEqual(tsharkFields(ng));

    // and back to classic pcap with editcap
    const back = join(tmp, 'from-editcap.pcap');
    tool('editcap', ['-F', 'pcap', ng, back]);
    const again = await readFile(back);
    expect(strip(again.seen)).toEqual(
      strip(orig.seen).map((s) => ({ ...s, tsNsec: s.tsNsec - (s.tsNsec % 1000) })),
    );
  });

  for (const bigEndian of [false, true]) {
    it(`tshark reads our ${bigEndian ? 'big' : 'little'}-endian multi-interface pcapng as we do`, async () => {
      const opts = { bigEndian };
      const ifaces: PcapngInterface[] = [
        { snaplen: 128 },
        { tsresol: 9, linkType: LinkType.LINUX_SLL },
        { tsresol: 0x80 | 10 },
        { tsresol: 3 },
        { tsresol: 0x80 | 32 },
        { tsresol: 0x80 | 20, linkType: LinkType.LINUX_SLL2 },
        { tsresol: 0 },
      ];
      const rnd = new Prng(bigEndian ? 301 : 302);
      const blocks = [sectionHeaderBlock(opts), ...ifaces.map((i) => interfaceDescriptionBlock(i, opts))];
      for (let i = 0; i < 700; i++) {
        if (i % 50 === 7) {
          // a capture writes at most IF 0's snaplen (128) bytes of the frame
          const wireLength = rnd.int(0, 200);
          blocks.push(simplePacketBlock(rnd.bytes(Math.min(wireLength, 128)), wireLength, opts));
          continue;
        }
        const interfaceId = rnd.int(0, ifaces.length - 1);
        const data = rnd.bytes(rnd.int(0, 300));
        blocks.push(
          enhancedPacketBlock(
            {
              interfaceId,
              tsSec: rnd.int(1_500_000_000, 2 ** 32 - 1),
              tsNsec: rnd.int(0, 999_999_999),
              data,
              wireLength: rnd.chance(0.3) ? data.length + rnd.int(1, 500) : undefined,
            },
            ifaces[interfaceId],
            opts,
          ),
        );
      }
      const path = write(`ours-${bigEndian ? 'be' : 'le'}.pcapng`, Buffer.concat(blocks));
      const got = await readFile(path);
      expect(got.stats.packets).toBe(700);
      expect(ourFields(got.seen)).toEqual(tsharkFields(path));
    });
  }

  it('reads the 1 MiB-chunked file stream of a big pcapng exactly like the in-memory one', async () => {
    const src = write('big.pcap', pcapFile(randomRecords(401, 20_000, 200)));
    const ng = join(tmp, 'big.pcapng');
    tool('tshark', ['-r', src, '-F', 'pcapng', '-w', ng]);
    const [fromFile, inMemory] = await Promise.all([
      collect(createReadStream(ng, { highWaterMark: 1 << 20 })),
      collect(readFileSync(ng)),
    ]);
    expect(fromFile.stats.packets).toBe(20_000);
    expect(fromFile.seen).toEqual(inMemory.seen);
  });
});
