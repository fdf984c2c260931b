/**
 * Fuzzing whole capture files: random byte flips, truncations and lengths overwritten with
 * random values, in classic pcap (both byte orders) and pcapng, fed whole and in odd chunks.
 * Every outcome is a normal end or a CaptureError; no other exception escapes, and the
 * packet path downstream never throws either.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EndpointIndex } from '../../collector/attribution/endpoint-index.js';
import { parseInventory } from '../../collector/attribution/inventory.js';
import { pcapFile } from '../../collector/capture/pcap-writer.js';
import { pcapngFile } from '../../collector/capture/pcapng-writer.js';
import { readCapture } from '../../collector/capture/reader.js';
import { CaptureError } from '../../collector/capture/types.js';
import { decodeConfig } from '../../collector/decode/packet.js';
import { PacketPath } from '../../collector/packet-path.js';
import { Prng } from '../../collector/synth/prng.js';
import { demoScenario } from '../../collector/synth/scenario.js';
import { chunked } from './support.js';

const { inventory, packets } = demoScenario();
const index = EndpointIndex.fromInventory(parseInventory(inventory));
const sample = packets.slice(0, 40);

const seeds: [string, Buffer][] = [
  ['pcap le µs', pcapFile(sample)],
  ['pcap be ns', pcapFile(sample, { bigEndian: true, nanosecond: true })],
  [
    'pcapng',
    pcapngFile(
      [{ linkType: 1, tsresol: 9 }],
      sample.map((p) => ({ interfaceId: 0, tsSec: p.tsSec, tsNsec: p.tsNsec, data: p.data })),
    ),
  ],
];

function mutate(rng: Prng, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (rng.int(0, 3)) {
    case 0: // flip a few random bytes
      for (let i = rng.int(1, 8); i > 0; i--) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
      return b;
    case 1: // truncate anywhere
      return b.subarray(0, rng.int(0, b.length - 1));
    case 2: {
      // a random 32-bit value where a length may be (any 4-aligned spot)
      const at = rng.int(0, (b.length >> 2) - 1) * 4;
      b.writeUInt32LE(rng.u32(), at);
      return b;
    }
    default: // a plausible-but-wrong small length
      b.writeUInt32LE(rng.int(0, 70000), rng.int(0, (b.length >> 2) - 1) * 4);
      return b;
  }
}

describe('fuzzing capture files (whole-file mutations)', () => {
  it('ends every mutated file normally or with a CaptureError, and the packet path never throws', async () => {
    const rng = new Prng(4242);
    const outcomes = { ok: 0, captureError: 0 };
    let packetsSeen = 0;
    for (let i = 0; i < 3000; i++) {
      const [, seed] = seeds[i % seeds.length];
      const file = mutate(rng, seed);
      const path = new PacketPath({ index, decode: decodeConfig() });
      const input = i % 5 === 0 ? chunked(file, [1, 3, 7, 64]) : Readable.from([file]);
      try {
        const stats = await readCapture(input, path.handle);
        expect(stats.packets).toBe(path.counters.packets);
        outcomes.ok++;
      } catch (err) {
        if (!(err instanceof CaptureError)) throw err;
        expect(err.message).toMatch(/at byte offset \d+ \(after \d+ packets? read\)/);
        expect(err.packets).toBe(path.counters.packets);
        outcomes.captureError++;
      }
      packetsSeen += path.counters.packets;
    }
    // the mutations must exercise both outcomes, and packets before a fault are delivered
    expect(outcomes.ok).toBeGreaterThan(300);
    expect(outcomes.captureError).toBeGreaterThan(300);
    expect(packetsSeen).toBeGreaterThan(10_000);
  });
});
