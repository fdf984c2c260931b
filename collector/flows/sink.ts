/**
 * The one interface between flow inputs and flow sinks: every input (the packet path's
 * flow table, the sFlow and NetFlow intakes) hands each batch of closed flows to
 * `onFlows`, and every sink (the store's, ingest/flow-sink.ts; the CLI's output and store
 * sinks) takes them there. A sink reads a batch during the call or keeps it unchanged: no
 * one mutates a batch once handed on, so several sinks can take the same one.
 */
import type { FlowBatch } from './flow-table.js';

export interface FlowBatchSink {
  readonly onFlows: (batch: FlowBatch) => void;
}

/** Several sinks as one: each batch to each, in order. */
export function fanOut(sinks: readonly FlowBatchSink[]): FlowBatchSink {
  if (sinks.length === 1) return sinks[0]!;
  return {
    onFlows: (batch) => {
      for (const s of sinks) s.onFlows(batch);
    },
  };
}
