/**
 * Every malformed input is a CaptureError naming the byte offset of the bad header or record
 * and the number of packets read before it, the same whether the input arrives in one
 * chunk or in 1..7-byte chunks. Errors that are not about the capture (the handler's, the
 * stream's) pass through unchanged.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pcapFile, pcapFileHeader } from '../../collector/capture/pcap-writer.js';
import {
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  pcapngBlock,
  sectionHeaderBlock,
  simplePacketBlock,
} from '../../collector/capture/pcapng-writer.js';
import { readCapture } from '../../collector/capture/reader.js';
import { CaptureError } from '../../collector/capture/types.js';
import { chunked, collect, expectCaptureError, randomRecords, tinySizes } from './support.js';

/** A 5-packet µs pcap and the offset of each record. */
function pcap5(bigEndian = false) {
  const records = randomRecords(31, 5, 100);
  const file = pcapFile(records, { bigEndian });
  const offsets: number[] = [];
  let o = 24;
  for (const r of records) {
    offsets.push(o);
    o += 16 + r.data.length;
  }
  return { file, offsets };
}

/** SHB, 2 IDBs, then 4 EPBs (or the given blocks); offsets of every block. */
function pcapng(bigEndian = false, packets?: Buffer[]) {
  const opts = { bigEndian };
  const blocks = [
    sectionHeaderBlock(opts),
    interfaceDescriptionBlock({}, opts),
    interfaceDescriptionBlock({ tsresol: 9 }, opts),
    ...(packets ??
      [0, 1, 1, 0].map((interfaceId, i) =>
        enhancedPacketBlock(
          { interfaceId, tsSec: 1_700_000_000 + i, tsNsec: i, data: Buffer.alloc(10 + i, i) },
          interfaceId === 0 ? {} : { tsresol: 9 },
          opts,
        ),
      )),
  ];
  const offsets: number[] = [];
  let o = 0;
  for (const b of blocks) {
    offsets.push(o);
    o += b.length;
  }
  return { file: Buffer.concat(blocks), offsets, blocks };
}

const u32 = (buf: Buffer, off: number, v: number, be = false) =>
  be ? buf.writeUInt32BE(v >>> 0, off) : buf.writeUInt32LE(v >>> 0, off);

describe('malformed captures', () => {
  it('rejects what is not a capture: bad magic, gzip, empty, too short', async () => {
    await expectCaptureError(Buffer.from('hello world, not a capture at all'), 0, 0, /bad magic 0x68656c6c/);
    await expectCaptureError(Buffer.from('1f8b0800000000000003', 'hex'), 0, 0, /gzip-compressed/);
    await expectCaptureError(Buffer.alloc(0), 0, 0, /empty capture/);
    await expectCaptureError(Buffer.from([0xd4, 0xc3, 0xb2]), 0, 0, /truncated capture: 3 bytes/);
    const kuznetzov = pcapFileHeader();
    kuznetzov.writeUInt32LE(0xa1b2cd34, 0);
    await expectCaptureError(kuznetzov, 0, 0, /modified \(Kuznetzov\) pcap/);
  });

  it('pcap: truncated file header, unsupported version', async () => {
    await expectCaptureError(pcapFileHeader().subarray(0, 20), 0, 0, /truncated pcap file header: 20 of 24/);
    await expectCaptureError(
      pcapFileHeader({ bigEndian: true }).subarray(0, 4),
      0,
      0,
      /truncated pcap file header/,
    );
    const v3 = pcapFileHeader();
    v3.writeUInt16LE(3, 4);
    await expectCaptureError(v3, 4, 0, /unsupported pcap version 3\.4/);
  });

  it('pcap: truncated record header and truncated record body', async () => {
    for (const be of [false, true]) {
      const { file, offsets } = pcap5(be);
      await expectCaptureError(
        file.subarray(0, offsets[3] + 10),
        offsets[3],
        3,
        /truncated pcap record header: .* 10 of 16/,
      );
      await expectCaptureError(
        file.subarray(0, offsets[4] + 1),
        offsets[4],
        4,
        /truncated pcap record header/,
      );
      const cut = file.subarray(0, offsets[2] + 16 + 3);
      const err = await expectCaptureError(
        cut,
        offsets[2],
        2,
        /truncated pcap record: header says \d+ captured bytes/,
      );
      expect(err.reason).toContain('stream ended after 3');
    }
  });

  it('pcap: lying captured lengths', async () => {
    for (const be of [false, true]) {
      const { file, offsets } = pcap5(be);
      const huge = Buffer.from(file);
      u32(huge, offsets[2] + 8, 0x7fffffff, be);
      await expectCaptureError(huge, offsets[2], 2, /captured length 2147483647 exceeds the maximum 262144/);
    }
    // above both libpcap's 262144 and the file's snaplen
    const small = pcapFile(randomRecords(1, 3), { snaplen: 65535 });
    u32(small, 24 + 8, 262145);
    await expectCaptureError(
      small,
      24,
      0,
      /captured length 262145 exceeds the maximum 262144 \(file snaplen 65535\)/,
    );
    // a huge snaplen raises the limit, but never above 256 MiB
    const big = pcapFile(randomRecords(1, 1), { snaplen: 0xffffffff });
    u32(big, 24 + 8, 256 * 1024 * 1024 + 1);
    await expectCaptureError(big, 24, 0, /exceeds the maximum 268435456/);
  });

  it('pcapng: block lengths that lie', async () => {
    for (const be of [false, true]) {
      const { file, offsets } = pcapng(be);
      const epb3 = offsets[5]; // third EPB: two packets before it
      const len3 = be ? file.readUInt32BE(epb3 + 4) : file.readUInt32LE(epb3 + 4);

      const trailer = Buffer.from(file);
      u32(trailer, epb3 + len3 - 4, len3 + 4, be);
      await expectCaptureError(
        trailer,
        epb3,
        2,
        new RegExp(`total length ${len3} does not match its trailing copy ${len3 + 4}`),
      );

      const odd = Buffer.from(file);
      u32(odd, epb3 + 4, len3 + 2, be);
      await expectCaptureError(odd, epb3, 2, /not a multiple of 4/);

      const tiny = Buffer.from(file);
      u32(tiny, epb3 + 4, 8, be);
      await expectCaptureError(tiny, epb3, 2, /total length 8: below the minimum 12/);

      const huge = Buffer.from(file);
      u32(huge, epb3 + 4, 0x7ffffff0, be);
      await expectCaptureError(huge, epb3, 2, /above the maximum 268435456/);

      const capLen = Buffer.from(file);
      u32(capLen, epb3 + 20, len3 - 32 + 1, be);
      await expectCaptureError(capLen, epb3, 2, /captured length \d+ overruns the block/);

      const shb = Buffer.from(file);
      u32(shb, 4, 20, be);
      u32(shb, 16, 20, be);
      await expectCaptureError(
        shb.subarray(0, 20),
        0,
        0,
        /section header block total length 20 is below its minimum 28/,
      );
    }
  });

  it('pcapng: blocks too small for their type', async () => {
    const opts = { bigEndian: false };
    const epb = pcapng(false, [pcapngBlock(6, Buffer.alloc(16), opts)]);
    await expectCaptureError(
      epb.file,
      epb.offsets[3],
      0,
      /enhanced packet block total length 28 is below its minimum 32/,
    );
    const spb = pcapng(false, [pcapngBlock(3, Buffer.alloc(0), opts)]);
    await expectCaptureError(
      spb.file,
      spb.offsets[3],
      0,
      /simple packet block total length 12 is below its minimum 16/,
    );
    const idb = pcapng(false, [pcapngBlock(1, Buffer.alloc(4), opts)]);
    await expectCaptureError(
      idb.file,
      idb.offsets[3],
      0,
      /interface description block total length 16 is below/,
    );
    const pb = pcapng(false, [pcapngBlock(2, Buffer.alloc(12), opts)]);
    await expectCaptureError(
      pb.file,
      pb.offsets[3],
      0,
      /packet block total length 24 is below its minimum 32/,
    );
  });

  it('pcapng: packets for undefined interfaces', async () => {
    for (const be of [false, true]) {
      const opts = { bigEndian: be };
      const good = enhancedPacketBlock(
        { interfaceId: 1, tsSec: 1, tsNsec: 0, data: Buffer.alloc(5) },
        {},
        opts,
      );
      const bad = enhancedPacketBlock(
        { interfaceId: 2, tsSec: 1, tsNsec: 0, data: Buffer.alloc(5) },
        {},
        opts,
      );
      const { file, offsets } = pcapng(be, [good, good, bad]);
      await expectCaptureError(
        file,
        offsets[5],
        2,
        /packet for interface 2, but the section describes 2 interfaces/,
      );
      // a new section forgets the interfaces of the previous one
      const next = Buffer.concat([file.subarray(0, offsets[5]), sectionHeaderBlock(opts), good]);
      await expectCaptureError(
        next,
        offsets[5] + 28,
        2,
        /packet for interface 1, but the section describes 0 interfaces/,
      );
      const spb = Buffer.concat([sectionHeaderBlock(opts), simplePacketBlock(Buffer.alloc(4), 4, opts)]);
      await expectCaptureError(spb, 28, 0, /simple packet block, but the section describes no interface/);
    }
  });

  it('pcapng: bad byte-order magic, unsupported version, bad options, unsupported resolution', async () => {
    const { file, offsets } = pcapng(false);
    const bom = Buffer.from(file);
    bom.writeUInt32BE(0x11223344, 8);
    await expectCaptureError(bom, 0, 0, /bad pcapng byte-order magic 0x11223344/);
    // in a second section, after 4 packets
    const second = Buffer.concat([file, bom]);
    await expectCaptureError(second, file.length, 4, /bad pcapng byte-order magic/);

    const v2 = Buffer.from(file);
    v2.writeUInt16LE(2, 12);
    await expectCaptureError(v2, 0, 0, /unsupported pcapng version 2\.0/);

    // IDB whose option claims 200 bytes in a 4-byte options area
    const opt = interfaceDescriptionBlock({ tsresol: 9 });
    opt.writeUInt16LE(200, 16 + 2);
    const badOpt = Buffer.concat([file.subarray(0, offsets[3]), opt]);
    await expectCaptureError(badOpt, offsets[3], 0, /option 9 of length 200 overruns the block/);

    for (const tsresol of [0x80 | 37, 11, 0x80 | 127]) {
      const fine = Buffer.concat([sectionHeaderBlock(), interfaceDescriptionBlock({ tsresol })]);
      await expectCaptureError(fine, 28, 0, /if_tsresol .* is finer than supported/);
    }
  });

  it('pcapng: truncated block header and truncated block', async () => {
    for (const be of [false, true]) {
      const { file, offsets } = pcapng(be);
      await expectCaptureError(
        file.subarray(0, offsets[4] + 20),
        offsets[4],
        1,
        /truncated pcapng block: total length \d+, stream ended after 20 bytes/,
      );
      await expectCaptureError(
        file.subarray(0, offsets[6] + 11),
        offsets[6],
        3,
        /truncated pcapng block header: .* 11 of 12/,
      );
      await expectCaptureError(file.subarray(0, 8), 0, 0, /truncated pcapng block header: .* 8 of 12/);
      await expectCaptureError(file.subarray(0, 27), 0, 0, /truncated pcapng block: total length 28/);
    }
  });
});

describe('errors that are not about the capture', () => {
  it("passes the handler's exception through unchanged, in one chunk or stitched", async () => {
    const boom = new Error('handler failed');
    for (const file of [pcap5().file, pcapng().file]) {
      for (const input of [() => Readable.from([file]), () => chunked(file, tinySizes(5))]) {
        let calls = 0;
        const p = readCapture(input(), () => {
          if (++calls === 3) throw boom;
        });
        await expect(p).rejects.toBe(boom);
        expect(calls).toBe(3);
      }
    }
  });

  it("passes the stream's error through and rejects a stream closed before its end", async () => {
    const ioError = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    const failing = new Readable({ read() {} });
    failing.push(pcap5().file.subarray(0, 50));
    setTimeout(() => failing.destroy(ioError), 10);
    await expect(readCapture(failing, () => {})).rejects.toBe(ioError);

    const closed = new Readable({ read() {} });
    closed.push(pcapFileHeader());
    setTimeout(() => closed.destroy(), 10);
    await expect(readCapture(closed, () => {})).rejects.toThrow(/closed before its end/);
  });

  it('rejects a text stream', async () => {
    const text = Readable.from(['not bytes']);
    await expect(readCapture(text, () => {})).rejects.toThrow(TypeError);
  });

  it('is never an uncaught exception: every case above settles the promise', async () => {
    // a capture whose every prefix is read: each must resolve or reject with CaptureError
    const { file } = pcapng(true);
    const { file: classic } = pcap5(true);
    for (const f of [file, classic]) {
      for (let n = 0; n <= f.length; n += 7) {
        try {
          await collect(f.subarray(0, n));
        } catch (err) {
          expect(err).toBeInstanceOf(CaptureError);
        }
      }
    }
  });
});
