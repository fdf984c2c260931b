/**
 * What a NetFlow/IPFIX export must agree with, per flow: the pcap's ground truth (the
 * exporter's own definition of bytes, truth.ts), nfdump, and tshark. Used by the live
 * exporter suite and the fixture suite alike, and by the podwire comparison.
 *
 * Sampled exports: softflowd -s N keeps every N-th packet of the whole capture
 * (deterministic, count-based), pmacct 1 in N at random. Either way a flow of n packets
 * keeps k ≈ n/N, and N·k estimates n with a standard deviation of about √(n(N−1)) (binomial;
 * systematic sampling of randomly interleaved flows behaves the same). The tolerance is
 * 4 standard deviations plus one sampling step N: a correct scaling is always inside it on
 * these seeded captures, a missing or doubled scaling (off by a factor N) never is.
 */
import type { ExportSpec } from './exporter-tools.js';
import type { ExportedFlow } from './references.js';
import { sumByKey } from './references.js';
import { type FlowKey, keyOf, type Truth } from './truth.js';

export interface Counts {
  packets: number;
  bytes: number;
}

/** The truth per key as the spec's exporter keys and counts it (packets, its bytes). */
export function expectedFlows(truth: Truth, spec: ExportSpec): Map<string, FlowKey & Counts> {
  const m = new Map<string, FlowKey & Counts>();
  for (const t of truth.flows.values()) {
    const k = keyOf(t, spec.l2);
    const e = m.get(k) ?? { ...t, packets: 0, bytes: 0 };
    e.packets += t.packets;
    e.bytes += t[spec.bytes];
    m.set(k, e);
  }
  return m;
}

/** Half-width of the accepted interval around the truth for n packets sampled 1 in N. */
export function samplingTolerance(n: number, rate: number): number {
  return rate <= 1 ? 0 : 4 * Math.sqrt(n * (rate - 1)) + rate;
}

/** Records in a stable order, every field kept: two decoders' outputs compare with toEqual. */
export function sorted<T extends ExportedFlow>(flows: readonly T[]): T[] {
  const text = (f: T) => `${keyOf(f)} ${f.packets} ${f.bytes}`;
  return [...flows].sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

/**
 * Per-flow packets and bytes of an export (scaled by `scale`) against the truth: the same
 * keys, and equal counts (unsampled) or counts within the sampling tolerance. Returns the
 * differences as text (empty: all agree), so a failing test shows every flow that is off.
 */
export function diffAgainstTruth(
  exported: readonly ExportedFlow[],
  truth: Truth,
  spec: ExportSpec,
  scale: number,
): string[] {
  const got = sumByKey(exported, spec.l2);
  const want = expectedFlows(truth, spec);
  const diffs: string[] = [];
  for (const [k, w] of want) {
    const g = got.get(k);
    if (g === undefined) {
      // sampling may miss a flow whose expected sampled count is small
      if (w.packets / spec.samplingRate >= 20) diffs.push(`missing ${k} (${w.packets} packets)`);
      continue;
    }
    const tolP = samplingTolerance(w.packets, spec.samplingRate);
    const tolB = tolP * (w.bytes / w.packets);
    const p = g.packets * scale;
    const b = g.bytes * scale;
    if (Math.abs(p - w.packets) > tolP || Math.abs(b - w.bytes) > tolB) {
      diffs.push(
        `${k}: packets ${p} bytes ${b}, truth ${w.packets} / ${w.bytes} (±${tolP.toFixed(0)} packets)`,
      );
    }
  }
  for (const k of got.keys()) if (!want.has(k)) diffs.push(`not in the pcap: ${k}`);
  return diffs;
}

/** Whether every record of `part` is in `whole` (as many times). */
export function isSubset(part: readonly ExportedFlow[], whole: readonly ExportedFlow[]): boolean {
  const left = new Map<string, number>();
  const text = (f: ExportedFlow) => `${keyOf(f)} ${f.packets} ${f.bytes}`;
  for (const f of whole) left.set(text(f), (left.get(text(f)) ?? 0) + 1);
  for (const f of part) {
    const n = left.get(text(f)) ?? 0;
    if (n === 0) return false;
    left.set(text(f), n - 1);
  }
  return true;
}
