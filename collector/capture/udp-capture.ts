/**
 * UDP payloads out of a capture of an export (`tcpdump -i lo -w FILE udp port N`), with
 * the sender's address, for the replay tests and benchmarks of the UDP intakes (sFlow,
 * NetFlow/IPFIX). Reads Ethernet-framed IPv4/IPv6 UDP to the given port (any port when
 * omitted) and copies each payload with its capture time. Not a hot path: the whole
 * capture is held in memory (keep such captures small).
 */
import { ipv4ToString, ipv6ToString } from '../decode/addr.js';
import { readCaptureFile } from './reader.js';
import { LinkType } from './types.js';

export interface CapturedUdp {
  /** capture time, µs since the epoch */
  tUs: number;
  data: Buffer;
  /** the sender's address (IPv6 without brackets) */
  source: string;
  /** 1-based frame number in the capture */
  frame: number;
}

export async function readUdpCapture(path: string, port?: number): Promise<CapturedUdp[]> {
  const out: CapturedUdp[] = [];
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
    let source: string;
    if (et === 0x0800 && b[o + 9] === 17 && o + 20 <= end) {
      udp = o + ((b[o] & 0x0f) << 2);
      source = ipv4ToString(((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0);
    } else if (et === 0x86dd && b[o + 6] === 17 && o + 40 <= end) {
      udp = o + 40;
      source = ipv6ToString(b.subarray(o + 8, o + 24));
    } else return;
    if (udp + 8 > end) return;
    const dport = (b[udp + 2] << 8) | b[udp + 3];
    if (port !== undefined && dport !== port) return;
    const len = ((b[udp + 4] << 8) | b[udp + 5]) - 8;
    const from = udp + 8;
    const to = Math.min(end, from + Math.max(len, 0));
    out.push({
      tUs: c.tsSec * 1e6 + Math.floor(c.tsNsec / 1000),
      data: Buffer.from(b.subarray(from, to)),
      source,
      frame: c.frame,
    });
  });
  return out;
}
