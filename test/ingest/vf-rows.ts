/**
 * Rows the writer and spool suites write: `id` in rx_bytes (the key their checks sum), the
 * test's tag in node. test/ingest/fixtures/writer-child.mjs (plain JS, run by node) keeps a
 * copy of this function: change both together.
 */
import type { RowOf, vf_counters } from '../../ingest/schema.js';

export const NOW = Math.floor(Date.now() / 1000);

export function vfRow(tag: string, id: number): RowOf<typeof vf_counters> {
  return {
    time: NOW - (id % 3000),
    node: tag,
    pf: 'pf0',
    vf: id % 64,
    namespace: `ns-${id % 5}`,
    pod: `pod-${id % 97}`,
    tier: 'gold',
    rx_bytes: id,
    rx_packets: 1,
    rx_dropped: 0,
    tx_bytes: id * 3,
    tx_packets: 2,
    tx_dropped: 0,
    qos_dropped: 0,
    min_rate: 1e9,
    max_rate: 1e10,
  };
}
