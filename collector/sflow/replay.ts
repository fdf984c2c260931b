/**
 * sFlow datagrams out of a capture of the export (`tcpdump -i lo -w FILE udp port N`):
 * for replay tests and the benchmark (capture/udp-capture.ts reads them).
 */
import { readUdpCapture } from '../capture/udp-capture.js';

export interface CapturedDatagram {
  /** capture time, µs since the epoch */
  tUs: number;
  data: Buffer;
  /** 1-based frame number in the capture */
  frame: number;
}

export async function readSflowCapture(path: string, port?: number): Promise<CapturedDatagram[]> {
  return (await readUdpCapture(path, port)).map(({ tUs, data, frame }) => ({ tUs, data, frame }));
}
