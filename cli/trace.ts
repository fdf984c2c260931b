/** `podwire trace`: one record per packet, attributed to the pods that sent and received it. */
import type { CapturedPacket } from '../collector/capture/types.js';
import { type InputOptions, runCapture, summaryLine } from './capture-run.js';
import { PACKET_TABLE_HEADER, packetJson, packetTableRow } from './format.js';
import { LineWriter } from './output.js';

export interface TraceOptions extends InputOptions {
  format: 'jsonl' | 'table';
  /** stop printing after this many packets (the whole input is still read and counted) */
  limit?: number;
}

export async function trace(o: TraceOptions, signal: AbortSignal): Promise<void> {
  const out = new LineWriter();
  const table = o.format === 'table';
  if (table) out.line(PACKET_TABLE_HEADER);
  // nanosecond files keep their nanoseconds in the output
  let digits: 6 | 9 = 6;
  const { path } = await runCapture(
    o,
    (index) => ({
      onPacket: (c: CapturedPacket, p, a) => {
        if (o.limit !== undefined && c.frame > o.limit) return;
        if (c.tsNsec % 1000 !== 0) digits = 9;
        const rec = packetJson(c, p, a, index, digits);
        out.line(table ? packetTableRow(rec) : JSON.stringify(rec));
      },
    }),
    signal,
  );
  await out.drain();
  if (!o.quiet) process.stderr.write(`${summaryLine(path)}\n`);
}
