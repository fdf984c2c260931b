/**
 * sFlow datagrams out of a capture of the export (`tcpdump -i lo -w FILE udp port N`):
 * for replay tests and the benchmark. Reads Ethernet-framed IPv4/IPv6 UDP to the given
 * port (any port when omitted) and copies each payload with its capture time. Not a hot
 * path: the whole capture is held in memory (keep such captures small).
 */
import { readCaptureFile } from '../capture/reader.js';
import { LinkType } from '../capture/types.js';

export interface CapturedDatagram {
  /** capture time, µs since the epoch */
  tUs: number;
  data: Buffer;
  /** 1-based frame number in the capture */
  frame: number;
}

export async function readSflowCapture(path: string, port?: number): Promise<CapturedDatagram[]> {
  const out: CapturedDatagram[] = [];
  await readCaptureFile(path, (c) => {
    if (c.linkType !== LinkType.ETHERNET) {
      throw new Error(`${path}: frame ${c.frame} is not Ethernet (link type ${c.linkType})`);
    }
    const b = c.data;
    const end = c.offset + c.capLength;
    let o = c.offset + 12;
    let et = (b[o] << 8) | b[o + 1];
    while (et === 0x8100 || et === 0x88a8) {
      o += 4;
      et = (b[o] << 8) | b[o + 1];
    }
    o += 2;
    let udp: number;
    if (et === 0x0800 && b[o + 9] === 17) udp = o + ((b[o] & 0x0f) << 2);
    else if (et === 0x86dd && b[o + 6] === 17) udp = o + 40;
    else return;
    if (udp + 8 > end) return;
    const dport = (b[udp + 2] << 8) | b[udp + 3];
    if (port !== undefined && dport !== port) return;
    const len = ((b[udp + 4] << 8) | b[udp + 5]) - 8;
    const from = udp + 8;
    const to = Math.min(end, from + Math.max(len, 0));
    out.push({
      tUs: c.tsSec * 1e6 + Math.floor(c.tsNsec / 1000),
      data: Buffer.from(b.subarray(from, to)),
      frame: c.frame,
    });
  });
  return out;
}
