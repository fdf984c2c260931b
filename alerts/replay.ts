/**
 * Recorded series through the in-process evaluator, the way promtool's `test rules` runs
 * them through Prometheus: sample i of every series at i × scrape interval (a number, `_`
 * for none, `stale` for a stale marker), the rules evaluated at every evaluation interval.
 * The benchmark and the tests use it to set the evaluator's alerts beside Prometheus's on
 * the same input. Here a series without a sample at a scrape is absent from that ingest —
 * stale, as in a real scrape; inputs written for both engines mark a vanished series
 * `stale` (promtool would look back 5 minutes over a bare `_`).
 */
import type { SlaEvaluator } from './evaluator.js';
import type { LabelSet } from './labels.js';

export type RecordedSample = number | '_' | 'stale';

export interface RecordedSeries {
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly values: readonly RecordedSample[];
}

export interface FiringAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** Feeds scrape `i` (at t ms) of the recorded series into the evaluator's inputs. */
export function ingestScrape(
  ev: SlaEvaluator,
  series: readonly { metric: string; ls: LabelSet; values: readonly RecordedSample[] }[],
  i: number,
  t: number,
): void {
  for (const name of ev.inputs) ev.store.get(name)!.begin(t);
  for (const s of series) {
    const v = s.values[i];
    if (typeof v !== 'number') continue;
    ev.store.get(s.metric)?.put(s.ls, v);
  }
}

/** The firing alerts of the evaluator, labels without alertname (as promtool lists them). */
export function firingAlerts(ev: SlaEvaluator, alertname?: string): FiringAlert[] {
  const out: FiringAlert[] = [];
  for (const a of ev.alerts()) {
    if (a.state !== 'firing' || (alertname !== undefined && a.rule.alert !== alertname)) continue;
    const { alertname: _n, ...labels } = a.labels.labels;
    out.push({ labels, annotations: { ...a.annotations } });
  }
  return out;
}

/**
 * Replays the series (scraped every `scrapeSeconds`, evaluated every `evalSeconds`, from 0
 * to `untilSeconds`) and calls `at(t seconds)` after each evaluation.
 */
export function replay(
  ev: SlaEvaluator,
  input: readonly RecordedSeries[],
  o: { scrapeSeconds: number; evalSeconds: number; untilSeconds: number },
  at: (tSeconds: number) => void,
): void {
  const series = input.map((s) => ({ metric: s.metric, ls: ev.labels.intern(s.labels), values: s.values }));
  ev.holdsLabels(() => series.map((s) => s.ls));
  let scrape = 0;
  for (let t = 0; t <= o.untilSeconds; t += o.evalSeconds) {
    // every scrape up to t (the last one is what the instant selectors see)
    while (scrape * o.scrapeSeconds <= t) {
      ingestScrape(ev, series, scrape, scrape * o.scrapeSeconds * 1000);
      scrape++;
    }
    ev.round(t * 1000);
    at(t);
  }
}
