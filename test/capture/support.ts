/**
 * Shared by the capture reader suites: seeded packet generation, feeding a capture through
 * readCapture whole or in tiny chunks, and snapshots of the (reused) CapturedPacket.
 */
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import type { PcapRecord } from '../../collector/capture/pcap-writer.js';
import { readCapture } from '../../collector/capture/reader.js';
import { type CapturedPacket, CaptureError, type CaptureStats } from '../../collector/capture/types.js';
import { Prng } from '../../collector/synth/prng.js';

/** A copy of what the handler saw for one packet. */
export interface Seen {
  frame: number;
  tsSec: number;
  tsNsec: number;
  capLength: number;
  wireLength: number;
  linkType: number;
  interfaceId: number;
  fileOffset: number;
  /** the captured bytes in hex (deep-equality on long strings is much faster than on Buffers) */
  data: string;
}

export function snapshot(p: CapturedPacket): Seen {
  return {
    frame: p.frame,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    capLength: p.capLength,
    wireLength: p.wireLength,
    linkType: p.linkType,
    interfaceId: p.interfaceId,
    fileOffset: p.fileOffset,
    data: p.data.toString('hex', p.offset, p.offset + p.capLength),
  };
}

/** `n` random packets (0..maxLen bytes, random timestamps in nanoseconds). */
export function randomRecords(seed: number, n: number, maxLen = 300): PcapRecord[] {
  const rnd = new Prng(seed);
  const out: PcapRecord[] = [];
  let sec = 1_700_000_000 + rnd.int(0, 1_000_000);
  for (let i = 0; i < n; i++) {
    sec += rnd.int(0, 2);
    out.push({ tsSec: sec, tsNsec: rnd.int(0, 999_999_999), data: rnd.bytes(rnd.int(0, maxLen)) });
  }
  return out;
}

/** A stream yielding `buf` in chunks of the given sizes, cycled (e.g. [1..7]). */
export function chunked(buf: Buffer, sizes: readonly number[]): Readable {
  return Readable.from(
    (function* () {
      let i = 0;
      for (let o = 0; o < buf.length; i++) {
        const n = sizes[i % sizes.length];
        yield buf.subarray(o, Math.min(buf.length, o + n));
        o += n;
      }
    })(),
  );
}

/** Chunk sizes 1..7 in a seeded random order. */
export function tinySizes(seed: number, n = 97): number[] {
  const rnd = new Prng(seed);
  return Array.from({ length: n }, () => rnd.int(1, 7));
}

export interface Collected {
  seen: Seen[];
  stats: CaptureStats;
}

/** Reads a capture (a buffer in one chunk, or a stream) and keeps a copy of every packet. */
export async function collect(input: Buffer | Readable): Promise<Collected> {
  const seen: Seen[] = [];
  const stream = Buffer.isBuffer(input) ? Readable.from([input]) : input;
  const stats = await readCapture(stream, (p) => seen.push(snapshot(p)));
  return { seen, stats };
}

/** Reads a capture expecting a CaptureError; returns it. */
export async function captureError(input: Buffer | Readable): Promise<CaptureError> {
  let err: unknown;
  try {
    await collect(input);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CaptureError);
  return err as CaptureError;
}

/** Expects the capture to fail with CaptureError at `offset` after `packets` packets, whole and in tiny chunks. */
export async function expectCaptureError(
  file: Buffer,
  offset: number,
  packets: number,
  reason: RegExp,
): Promise<CaptureError> {
  const whole = await captureError(file);
  const tiny = await captureError(chunked(file, tinySizes(offset + 1)));
  for (const err of [whole, tiny]) {
    expect(err.reason).toMatch(reason);
    expect(err.offset).toBe(offset);
    expect(err.packets).toBe(packets);
    expect(err.message).toContain(`at byte offset ${offset}`);
    expect(err.message).toContain(`(after ${packets} packet${packets === 1 ? '' : 's'} read)`);
  }
  return whole;
}
