/** `podwire trace`: one record per packet, attributed to the pods that sent and received it. */
import type { CapturedPacket } from '../collector/capture/types.js';
import { failOnKernelDrops, type InputOptions, runCapture, summaryLine } from './capture-run.js';
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
  let run: Awaited<ReturnType<typeof runCapture>>;
  try {
    run = await runCapture(
      o,
      (index) => ({
        onPacket: (c: CapturedPacket, p, a) => {
          if (o.limit !== undefined && c.frame > o.limit) return;
          const rec = packetJson(c, p, a, index, c.tsDigits);
          out.line(table ? packetTableRow(rec) : JSON.stringify(rec));
        },
      }),
      signal,
    );
  } finally {
    // the packets read before an input error (a truncated capture) are still printed
    await out.drain();
  }
  if (!o.quiet) process.stderr.write(`${summaryLine(run.path, run.live)}\n`);
  failOnKernelDrops(o.capture, run.live);
}
