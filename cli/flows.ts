/** `podwire flows`: packets aggregated into per-window flows between pods. */
import { basename } from 'node:path';
import { AttributionCounters } from '../collector/attribution/attribute.js';
import { FlowTable } from '../collector/flows/flow-table.js';
import { type InputOptions, runCapture, summaryLine } from './capture-run.js';
import { FLOW_TABLE_HEADER, flowJson, flowTableRow } from './format.js';
import { LineWriter } from './output.js';
import { type StoreOptions, StoreSink } from './store-sink.js';

export interface FlowsOptions extends InputOptions {
  format: 'jsonl' | 'table';
  windowSeconds: number;
  maxFlows: number;
  /** also store the flows in ClickHouse */
  store?: Omit<StoreOptions, 'observation'>;
}

export async function flows(o: FlowsOptions, signal: AbortSignal): Promise<void> {
  const out = new LineWriter();
  const table = o.format === 'table';
  if (table) out.line(FLOW_TABLE_HEADER);
  let flowTable: FlowTable | undefined;
  let run: Awaited<ReturnType<typeof runCapture>>;
  const input =
    o.pcap === undefined ? `capture:${o.capture}` : `pcap:${o.pcap === '-' ? 'stdin' : basename(o.pcap)}`;
  const store = o.store
    ? await StoreSink.open({ ...o.store, observation: (n) => (n < 0 ? input : `erspan:${n}`) })
    : undefined;
  try {
    run = await runCapture(
      o,
      (index) => {
        const counters = new AttributionCounters();
        flowTable = new FlowTable({
          index,
          counters,
          windowSeconds: o.windowSeconds,
          maxFlows: o.maxFlows,
          onFlows: (batch) => {
            store?.onFlows(batch);
            for (const f of batch.records()) {
              const rec = flowJson(f);
              out.line(table ? flowTableRow(rec) : JSON.stringify(rec));
            }
          },
        });
        return { flows: flowTable, counters };
      },
      signal,
    );
  } finally {
    // also after an input error (a truncated capture): the flows of the packets read
    flowTable?.flush();
    await out.drain();
    if (store) {
      const r = await store.close();
      if (!o.quiet) {
        process.stderr.write(
          `podwire: stored ${r.written} flows in ${r.location}` +
            (r.spooled ? `, ${r.spooled} spooled for later` : '') +
            (r.dropped ? `, ${r.dropped} DROPPED (see above)` : '') +
            '\n',
        );
      }
    }
  }
  const { path } = run;
  if (!o.quiet) {
    const s = flowTable!.stats;
    process.stderr.write(
      `${summaryLine(path)} flows=${s.emitted} flow_table_overflows=${s.overflows} late_packets=${s.latePackets}\n`,
    );
  }
}
