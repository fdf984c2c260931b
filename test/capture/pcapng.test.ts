/**
 * pcapng reading: both byte orders, several interfaces with different if_tsresol (10^-n and
 * 2^-n) and if_tsoffset, EPB / SPB / obsolete Packet Block, skipped blocks, several sections
 * (changing byte order), tiny chunks. Expected timestamps come from a BigInt oracle.
 */
import { describe, expect, it } from 'vitest';
import {
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  type PcapngInterface,
  type PcapngPacket,
  pcapngBlock,
  sectionHeaderBlock,
  simplePacketBlock,
  timestampUnits,
  unitsPerSecond,
} from '../../collector/capture/pcapng-writer.js';
import { LinkType } from '../../collector/capture/types.js';
import { Prng } from '../../collector/synth/prng.js';
import { chunked, collect, type Seen, tinySizes } from './support.js';

/** Seconds + ns a reader must give for a packet written on `iface` (BigInt arithmetic). */
function expectedTs(iface: PcapngInterface, tsSec: number, tsNsec: number): [number, number] {
  const d = unitsPerSecond(iface.tsresol);
  const units = timestampUnits(iface, tsSec, tsNsec);
  const sec = units / d + BigInt(iface.tsoffset ?? 0);
  const ns = ((units % d) * 1_000_000_000n) / d;
  return [Number(sec), Number(ns)];
}

/** Builds a pcapng file block by block, recording what a reader must deliver. */
class Builder {
  private parts: Buffer[] = [];
  private length = 0;
  private ifaces: PcapngInterface[] = [];
  private bigEndian = false;
  readonly want: Seen[] = [];

  private add(block: Buffer): number {
    const at = this.length;
    this.parts.push(block);
    this.length += block.length;
    return at;
  }

  section(bigEndian: boolean): this {
    this.bigEndian = bigEndian;
    this.ifaces = [];
    this.add(sectionHeaderBlock({ bigEndian }));
    return this;
  }

  iface(iface: PcapngInterface): this {
    this.ifaces.push(iface);
    this.add(interfaceDescriptionBlock(iface, { bigEndian: this.bigEndian }));
    return this;
  }

  packet(pkt: PcapngPacket): this {
    const id = pkt.interfaceId ?? 0;
    const iface = this.ifaces[id];
    const at = this.add(enhancedPacketBlock(pkt, iface, { bigEndian: this.bigEndian }));
    const [tsSec, tsNsec] = expectedTs(iface, pkt.tsSec, pkt.tsNsec);
    this.want.push({
      frame: this.want.length + 1,
      tsSec,
      tsNsec,
      capLength: pkt.data.length,
      wireLength: pkt.wireLength ?? pkt.data.length,
      linkType: iface.linkType ?? LinkType.ETHERNET,
      interfaceId: id,
      fileOffset: at,
      data: Buffer.from(pkt.data).toString('hex'),
    });
    return this;
  }

  /** SPB: the reader cuts to min(wire length, IF 0 snaplen, padded body). */
  simple(data: Buffer, wireLength = data.length): this {
    const at = this.add(simplePacketBlock(data, wireLength, { bigEndian: this.bigEndian }));
    const iface = this.ifaces[0];
    const body = (data.length + 3) & ~3;
    const snaplen = iface.snaplen ?? 0;
    const capLength = Math.min(wireLength, snaplen === 0 ? Infinity : snaplen, body);
    const padded = Buffer.concat([data, Buffer.alloc(body - data.length)]);
    this.want.push({
      frame: this.want.length + 1,
      tsSec: 0,
      tsNsec: 0,
      capLength,
      wireLength,
      linkType: iface.linkType ?? LinkType.ETHERNET,
      interfaceId: 0,
      fileOffset: at,
      data: padded.subarray(0, capLength).toString('hex'),
    });
    return this;
  }

  /** An obsolete Packet Block (type 2): 16-bit interface ID, drops count, then as an EPB. */
  obsoletePacket(pkt: PcapngPacket): this {
    const epb = enhancedPacketBlock(pkt, this.ifaces[pkt.interfaceId ?? 0], { bigEndian: this.bigEndian });
    const body = Buffer.from(epb.subarray(8, epb.length - 4));
    if (this.bigEndian) {
      body.writeUInt16BE(pkt.interfaceId ?? 0, 0);
      body.writeUInt16BE(3, 2);
    } else {
      body.writeUInt16LE(pkt.interfaceId ?? 0, 0);
      body.writeUInt16LE(3, 2);
    }
    const before = this.length;
    this.packet(pkt); // records the expectation (same fields) ...
    this.parts.pop(); // ... but the block written is the Packet Block
    this.length = before;
    this.add(pcapngBlock(2, body, { bigEndian: this.bigEndian }));
    return this;
  }

  /** Any other block, which the reader must skip. */
  other(type: number, body: Uint8Array): this {
    this.add(pcapngBlock(type, body, { bigEndian: this.bigEndian }));
    return this;
  }

  file(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Interfaces with every kind of resolution; `maxSec` keeps the 64-bit unit count in range. */
const IFACES: (PcapngInterface & { maxSec: number })[] = [
  { maxSec: 2 ** 32 - 1 }, // no if_tsresol: 10^-6
  { tsresol: 9, linkType: LinkType.LINUX_SLL, snaplen: 65535, maxSec: 2 ** 32 - 1 },
  { tsresol: 0x80 | 10, linkType: LinkType.LINUX_SLL2, maxSec: 2 ** 32 - 1 },
  { tsresol: 3, name: 'eth1', maxSec: 2 ** 32 - 1 },
  { tsresol: 0, maxSec: 2 ** 32 - 1 },
  { tsresol: 10, maxSec: 1_800_000_000 },
  { tsresol: 0x80 | 20, maxSec: 2 ** 32 - 1 },
  { tsresol: 0x80 | 32, maxSec: 2 ** 32 - 1 },
  { tsresol: 0x80 | 33, maxSec: 2 ** 30 },
  { tsresol: 0x80 | 36, maxSec: 2 ** 27 },
  { tsresol: 7, maxSec: 2 ** 32 - 1 },
  { tsresol: 0x80 | 1, maxSec: 2 ** 32 - 1 },
];

function randomPackets(b: Builder, rnd: Prng, n: number, ifaces: readonly { maxSec: number }[]): void {
  for (let i = 0; i < n; i++) {
    const interfaceId = rnd.int(0, ifaces.length - 1);
    const maxSec = ifaces[interfaceId].maxSec;
    const tsSec = rnd.chance(0.2) ? rnd.pick([0, 1, maxSec, maxSec - 1]) : rnd.int(0, maxSec);
    const tsNsec = rnd.chance(0.1) ? rnd.pick([0, 999_999_999]) : rnd.int(0, 999_999_999);
    const data = rnd.bytes(rnd.int(0, 200));
    const wireLength = rnd.chance(0.2) ? data.length + rnd.int(1, 1000) : undefined;
    b.packet({ interfaceId, tsSec, tsNsec, data, wireLength });
  }
}

describe('pcapng', () => {
  for (const bigEndian of [false, true]) {
    it(`reads a ${bigEndian ? 'big' : 'little'}-endian file with many interfaces and resolutions`, async () => {
      const rnd = new Prng(bigEndian ? 2 : 1);
      const b = new Builder().section(bigEndian);
      for (const i of IFACES) b.iface(i);
      randomPackets(b, rnd, 600, IFACES);
      const { seen, stats } = await collect(b.file());
      expect(seen).toEqual(b.want);
      expect(stats.packets).toBe(600);
      expect(stats.bytes).toBe(b.want.reduce((n, s) => n + s.capLength, 0));
      expect(stats.info).toEqual({
        format: 'pcapng',
        byteOrder: bigEndian ? 'be' : 'le',
        resolution: 'us',
        snaplen: 0,
        linkType: LinkType.ETHERNET,
      });
    });
  }

  it('names the first interface resolution in CaptureInfo', async () => {
    for (const [tsresol, name] of [
      [9, 'ns'],
      [6, 'us'],
      [4, '10^-4'],
      [0x8a, '2^-10'],
    ] as const) {
      const { stats } = await collect(new Builder().section(false).iface({ tsresol, snaplen: 96 }).file());
      expect(stats.info?.resolution).toBe(name);
      expect(stats.info?.snaplen).toBe(96);
    }
  });

  it('applies if_tsoffset (positive and negative)', async () => {
    const b = new Builder()
      .section(true)
      .iface({ tsoffset: 1_600_000_000, tsresol: 9 })
      .iface({ tsoffset: -100 })
      .packet({ interfaceId: 0, tsSec: 1_600_000_123, tsNsec: 5, data: Buffer.alloc(3) })
      .packet({ interfaceId: 1, tsSec: 1_000, tsNsec: 123_456_789, data: Buffer.alloc(3) });
    const { seen } = await collect(b.file());
    expect(seen.map((s) => [s.tsSec, s.tsNsec])).toEqual([
      [1_600_000_123, 5],
      [1_000, 123_456_000],
    ]);
    expect(seen).toEqual(b.want);
  });

  it('reads Simple Packet Blocks: interface 0, no timestamp, cut to the snaplen', async () => {
    for (const bigEndian of [false, true]) {
      const rnd = new Prng(5);
      const b = new Builder()
        .section(bigEndian)
        .iface({ snaplen: 100, linkType: LinkType.LINUX_SLL })
        .iface({ tsresol: 9 })
        .simple(rnd.bytes(150)) // cut by the snaplen
        .simple(rnd.bytes(64))
        .simple(rnd.bytes(50), 60) // original length > data: cut at the (padded) body
        .simple(rnd.bytes(0))
        .packet({ interfaceId: 1, tsSec: 9, tsNsec: 9, data: rnd.bytes(9) });
      const { seen } = await collect(b.file());
      expect(seen).toEqual(b.want);
      expect(seen.map((s) => s.capLength)).toEqual([100, 64, 52, 0, 9]);
      const unlimited = new Builder().section(bigEndian).iface({}).simple(rnd.bytes(3000));
      expect((await collect(unlimited.file())).seen).toEqual(unlimited.want);
    }
  });

  it('reads the obsolete Packet Block (type 2)', async () => {
    for (const bigEndian of [false, true]) {
      const b = new Builder()
        .section(bigEndian)
        .iface({})
        .iface({ tsresol: 9 })
        .obsoletePacket({ interfaceId: 1, tsSec: 1_700_000_000, tsNsec: 42, data: Buffer.from('abcde') })
        .packet({ interfaceId: 0, tsSec: 1_700_000_001, tsNsec: 0, data: Buffer.from('xyz') });
      const { seen } = await collect(b.file());
      expect(seen).toEqual(b.want);
      expect(seen[0].interfaceId).toBe(1);
    }
  });

  it('skips NRB, ISB, DSB, custom, local and unknown blocks, and packet options', async () => {
    const rnd = new Prng(7);
    const b = new Builder().section(false).iface({});
    b.other(4, Buffer.from('0100080000000000', 'hex')); // NRB with an IPv4 record
    b.packet({ tsSec: 1, tsNsec: 1, data: rnd.bytes(10), options: [{ code: 2, value: Buffer.alloc(4, 1) }] });
    b.other(5, rnd.bytes(24)); // ISB
    b.other(0x0a, rnd.bytes(13)); // DSB
    b.other(0x00000bad, rnd.bytes(17)); // custom block
    b.other(0x40000bad, rnd.bytes(4));
    b.other(0x80001234, rnd.bytes(100)); // local use
    b.other(0x12345678, new Uint8Array(0)); // 12-byte block, no body
    b.packet({
      tsSec: 2,
      tsNsec: 2,
      data: rnd.bytes(11),
      options: [{ code: 1, value: Buffer.from('comment') }],
    });
    b.other(9, rnd.bytes(300)); // systemd journal export
    const { seen, stats } = await collect(b.file());
    expect(seen).toEqual(b.want);
    expect(stats.packets).toBe(2);
  });

  it('reads several sections, forgetting interfaces and switching byte order', async () => {
    const rnd = new Prng(8);
    const b = new Builder()
      .section(false)
      .iface({ tsresol: 6 })
      .iface({ tsresol: 9, linkType: LinkType.LINUX_SLL });
    randomPackets(b, rnd, 30, [{ maxSec: 2 ** 32 - 1 }, { maxSec: 2 ** 32 - 1 }]);
    b.section(true).iface({ tsresol: 0x8a, linkType: LinkType.LINUX_SLL2, snaplen: 50 });
    randomPackets(b, rnd, 30, [{ maxSec: 2 ** 32 - 1 }]);
    b.simple(rnd.bytes(80));
    b.section(false).iface({ tsresol: 3 }).iface({}).iface({ tsresol: 9 });
    randomPackets(b, rnd, 30, [{ maxSec: 2 ** 32 - 1 }, { maxSec: 2 ** 32 - 1 }, { maxSec: 2 ** 32 - 1 }]);
    b.section(true); // an empty last section
    const file = b.file();
    const { seen, stats } = await collect(file);
    expect(seen).toEqual(b.want);
    expect(stats.info).toMatchObject({ format: 'pcapng', byteOrder: 'le', resolution: 'us' });
    expect(seen.filter((s) => s.linkType === LinkType.LINUX_SLL2).map((s) => s.interfaceId)).toEqual(
      Array(31).fill(0),
    );
  });

  it('gives identical packets whatever the chunking', async () => {
    const rnd = new Prng(9);
    const b = new Builder().section(true);
    for (const i of IFACES.slice(0, 5)) b.iface(i);
    randomPackets(b, rnd, 100, IFACES.slice(0, 5));
    b.other(5, rnd.bytes(30)).section(false).iface({ snaplen: 20 }).simple(rnd.bytes(40));
    randomPackets(b, rnd, 20, IFACES.slice(0, 1));
    const file = b.file();
    for (const sizes of [tinySizes(3), tinySizes(4), [1], [11, 12, 13, 4096]]) {
      expect((await collect(chunked(file, sizes))).seen).toEqual(b.want);
    }
  });

  it('reads a section with no interfaces and no packets', async () => {
    const { seen, stats } = await collect(new Builder().section(true).file());
    expect(seen).toEqual([]);
    expect(stats.info).toEqual({
      format: 'pcapng',
      byteOrder: 'be',
      resolution: 'us',
      snaplen: 0,
      linkType: 0,
    });
  });
});
