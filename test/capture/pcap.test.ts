/**
 * Classic pcap reading: both byte orders × µs/ns, odd snaplens, truncated frames, header-only
 * files, records split across tiny chunks, link types, stopping, progress, files and stdin.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type PcapRecord,
  type PcapWriterOptions,
  pcapFile,
  pcapFileHeader,
} from '../../collector/capture/pcap-writer.js';
import { CaptureReader, openCapture, readCapture } from '../../collector/capture/reader.js';
import { LinkType } from '../../collector/capture/types.js';
import { chunked, collect, randomRecords, type Seen, tinySizes } from './support.js';

const tmp = mkdtempSync(join(tmpdir(), 'podwire-pcap-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What a reader must deliver for `records` written with `opts` (snaplen cuts, µs truncation). */
function expected(records: readonly PcapRecord[], opts: PcapWriterOptions): Seen[] {
  let offset = 24;
  return records.map((r, i) => {
    const s: Seen = {
      frame: i + 1,
      tsSec: r.tsSec,
      tsNsec: opts.nanosecond ? r.tsNsec : Math.floor(r.tsNsec / 1000) * 1000,
      capLength: r.data.length,
      wireLength: r.wireLength ?? r.data.length,
      linkType: opts.linkType ?? LinkType.ETHERNET,
      interfaceId: 0,
      fileOffset: offset,
      data: Buffer.from(r.data).toString('hex'),
    };
    offset += 16 + r.data.length;
    return s;
  });
}

/** Cuts records to a snaplen the way a capture would (wire length stays). */
function snap(records: readonly PcapRecord[], snaplen: number): PcapRecord[] {
  return records.map((r) => ({ ...r, data: r.data.subarray(0, snaplen), wireLength: r.data.length }));
}

describe('classic pcap', () => {
  for (const bigEndian of [false, true]) {
    for (const nanosecond of [false, true]) {
      const name = `${bigEndian ? 'big' : 'little'}-endian, ${nanosecond ? 'ns' : 'µs'}`;
      it(`reads every packet of a ${name} file`, async () => {
        const opts = { bigEndian, nanosecond };
        const records = randomRecords(bigEndian ? 11 : 12 + (nanosecond ? 1 : 0), 300);
        const file = pcapFile(records, opts);
        const { seen, stats } = await collect(file);
        expect(seen).toEqual(expected(records, opts));
        expect(stats.packets).toBe(300);
        expect(stats.bytes).toBe(records.reduce((n, r) => n + r.data.length, 0));
        expect(stats.info).toEqual({
          format: 'pcap',
          byteOrder: bigEndian ? 'be' : 'le',
          resolution: nanosecond ? 'ns' : 'us',
          snaplen: 262144,
          linkType: LinkType.ETHERNET,
        });
      });
    }
  }

  for (const snaplen of [1, 13, 14, 61, 96, 1400, 1517]) {
    it(`reads frames truncated by snaplen ${snaplen} (captured < wire length)`, async () => {
      const opts = { snaplen, bigEndian: snaplen % 2 === 1 };
      const records = snap(randomRecords(snaplen, 120, 2000), snaplen);
      const { seen, stats } = await collect(pcapFile(records, opts));
      expect(seen).toEqual(expected(records, opts));
      expect(stats.info?.snaplen).toBe(snaplen);
      expect(seen.some((s) => s.capLength < s.wireLength)).toBe(true);
      expect(seen.every((s) => s.capLength <= snaplen)).toBe(true);
    });
  }

  it('accepts a snaplen of 0 and records up to 262144 bytes whatever the snaplen', async () => {
    const big = { tsSec: 1, tsNsec: 0, data: Buffer.alloc(262144, 7) };
    const opts = { snaplen: 0 };
    const { seen } = await collect(pcapFile([big], opts));
    expect(seen).toEqual(expected([big], opts));
    const opts2 = { snaplen: 1500 };
    const { seen: seen2 } = await collect(pcapFile([big], opts2));
    expect(seen2[0].capLength).toBe(262144);
  });

  it('reads a header-only file as an empty capture', async () => {
    for (const opts of [{}, { bigEndian: true, nanosecond: true }]) {
      const { seen, stats } = await collect(pcapFileHeader(opts));
      expect(seen).toEqual([]);
      expect(stats.packets).toBe(0);
      expect(stats.bytes).toBe(0);
      expect(stats.info?.format).toBe('pcap');
    }
  });

  it('gives identical packets whatever the chunking (1..7-byte chunks, 1-byte chunks, one chunk)', async () => {
    for (const opts of [
      {},
      { bigEndian: true },
      { nanosecond: true },
      { bigEndian: true, nanosecond: true },
    ]) {
      const records = randomRecords(99, 150, 200);
      const file = pcapFile(records, opts);
      const want = expected(records, opts);
      expect((await collect(chunked(file, tinySizes(1)))).seen).toEqual(want);
      expect((await collect(chunked(file, tinySizes(2)))).seen).toEqual(want);
      const small = randomRecords(98, 20, 100);
      expect((await collect(chunked(pcapFile(small, opts), [1]))).seen).toEqual(expected(small, opts));
      // chunks that cut records at every possible place relative to headers
      expect((await collect(chunked(file, [15, 16, 17, 23, 24, 25, 301]))).seen).toEqual(want);
    }
  });

  it('stitches records larger than the stitch buffer across chunks', async () => {
    const records = [200_000, 0, 70_000, 3, 150_000].map((n, i) => ({
      tsSec: 1_000 + i,
      tsNsec: i * 1000,
      data: Buffer.alloc(n, i + 1),
    }));
    const file = pcapFile(records);
    const want = expected(records, {});
    expect((await collect(chunked(file, [4096, 1, 65_536, 7]))).seen).toEqual(want);
    expect((await collect(file)).seen).toEqual(want);
  });

  it('passes the link type through and ignores the FCS bits of the link-type field', async () => {
    for (const linkType of [LinkType.LINUX_SLL, LinkType.LINUX_SLL2, 0, 147]) {
      const records = randomRecords(linkType, 5);
      const opts = { linkType };
      const { seen, stats } = await collect(pcapFile(records, opts));
      expect(seen).toEqual(expected(records, opts));
      expect(stats.info?.linkType).toBe(linkType);
    }
    const file = pcapFile(randomRecords(3, 2));
    file.writeUInt32LE(0x14000000 | LinkType.ETHERNET, 20); // FCS present, 4 bytes
    const { seen } = await collect(file);
    expect(seen.map((s) => s.linkType)).toEqual([LinkType.ETHERNET, LinkType.ETHERNET]);
  });

  it('carries an out-of-range fraction (1000000 µs) into the seconds', async () => {
    const file = pcapFile([{ tsSec: 100, tsNsec: 0, data: Buffer.alloc(4) }]);
    file.writeUInt32LE(1_000_000, 24 + 4);
    const { seen } = await collect(file);
    expect([seen[0].tsSec, seen[0].tsNsec]).toEqual([101, 0]);
    const ns = pcapFile([{ tsSec: 100, tsNsec: 0, data: Buffer.alloc(4) }], {
      nanosecond: true,
      bigEndian: true,
    });
    ns.writeUInt32BE(2_500_000_000, 24 + 4);
    const { seen: seenNs } = await collect(ns);
    expect([seenNs[0].tsSec, seenNs[0].tsNsec]).toEqual([102, 500_000_000]);
  });

  it('reuses one CapturedPacket and hands out the chunk plus an offset', async () => {
    const file = pcapFile(randomRecords(5, 10));
    const objects = new Set<unknown>();
    const buffers = new Set<unknown>();
    await readCapture(Readable.from([file]), (p) => {
      objects.add(p);
      buffers.add(p.data.buffer);
    });
    expect(objects.size).toBe(1);
    expect(buffers.size).toBe(1); // no per-packet copies or slices
  });

  it('stops when the signal aborts, also from inside the handler', async () => {
    const file = pcapFile(randomRecords(6, 100));
    const ac = new AbortController();
    const frames: number[] = [];
    const stats = await readCapture(
      Readable.from([file]),
      (p) => {
        frames.push(p.frame);
        if (p.frame === 7) ac.abort();
      },
      { signal: ac.signal },
    );
    expect(frames).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(stats.packets).toBe(7);

    const pre = new AbortController();
    pre.abort();
    const input = Readable.from([file]);
    const none = await readCapture(input, () => expect.unreachable(), { signal: pre.signal });
    expect(none.packets).toBe(0);
    expect(input.destroyed).toBe(true);
  });

  it('stops a stream that is still waiting for data', async () => {
    const input = new Readable({ read() {} });
    input.push(pcapFileHeader());
    const ac = new AbortController();
    const p = readCapture(input, () => {}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const stats = await p;
    expect(stats.packets).toBe(0);
    expect(stats.info?.format).toBe('pcap');
  });

  it('reports progress after every chunk and at the end', async () => {
    const file = pcapFile(randomRecords(8, 50));
    const calls: [number, number][] = [];
    await readCapture(chunked(file, [1000]), () => {}, { onProgress: (b, n) => calls.push([b, n]) });
    expect(calls.length).toBeGreaterThan(file.length / 1000);
    expect(calls.at(-1)).toEqual([file.length, 50]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
  });

  it('works as a push reader (CaptureReader) for any byte source', () => {
    const records = randomRecords(9, 40);
    const file = pcapFile(records);
    const seen: number[] = [];
    const reader = new CaptureReader((p) => seen.push(p.capLength));
    for (let o = 0; o < file.length; o += 3) reader.push(file.subarray(o, o + 3));
    reader.end();
    expect(seen).toEqual(records.map((r) => r.data.length));
    expect(reader.bytesRead).toBe(file.length);
    expect(reader.format).toBe('pcap');
  });
});

describe('openCapture', () => {
  it('opens a file with its size, read in big chunks across record boundaries', async () => {
    const records = randomRecords(21, 12_000, 400); // ~2.6 MB: several 1 MiB chunks
    const file = pcapFile(records);
    const path = join(tmp, 'big.pcap');
    writeFileSync(path, file);
    const src = await openCapture(path);
    expect(src.size).toBe(file.length);
    expect(src.name).toBe(path);
    const { seen, stats } = await collect(src.stream);
    expect(stats.packets).toBe(12_000);
    expect(seen).toEqual(expected(records, {}));
  });

  it('gives a clear error, with the errno code, for a missing file or a directory', async () => {
    await expect(openCapture(join(tmp, 'nope.pcap'))).rejects.toMatchObject({
      code: 'ENOENT',
      message: expect.stringMatching(/cannot open capture file .*nope\.pcap: no such file or directory/),
    });
    await expect(openCapture(tmp)).rejects.toMatchObject({
      code: 'EISDIR',
      message: expect.stringContaining('is a directory'),
    });
  });

  it("opens standard input for '-'", async () => {
    const src = await openCapture('-');
    expect(src.stream).toBe(process.stdin);
    expect(src.name).toBe('stdin');
  });
});
