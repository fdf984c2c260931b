/**
 * NetFlow/IPFIX datagrams out of a capture of the export (`tcpdump -i lo -w FILE udp port
 * N`), with the exporter's address (the UDP source: NetFlow headers do not name it), for
 * replay tests and the benchmark (capture/udp-capture.ts reads them).
 */
import { readUdpCapture } from '../capture/udp-capture.js';
import { exporterName } from './engine.js';

export interface CapturedExport {
  /** capture time, µs since the epoch */
  tUs: number;
  data: Buffer;
  /** the exporter's name: its address (IPv6 in brackets) */
  exporter: string;
  /** 1-based frame number in the capture */
  frame: number;
}

export async function readNetflowCapture(path: string, port?: number): Promise<CapturedExport[]> {
  return (await readUdpCapture(path, port)).map(({ tUs, data, source, frame }) => ({
    tUs,
    data,
    exporter: exporterName(source),
    frame,
  }));
}
