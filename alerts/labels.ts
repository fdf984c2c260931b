/**
 * Label sets for the in-process evaluator, interned: one object per distinct set, so
 * matching two vectors is a field access on the set (see `mark`/`slot`), not a hash of
 * strings, and a projection (`by (…)`, `on (…)`) is computed once per set and cached. As in
 * Prometheus, a label with an empty value is the same as no label, and `__name__` is never
 * kept (every rule expression matches and aggregates without it).
 */

export type LabelMap = Readonly<Record<string, string>>;

export class LabelSet {
  /**
   * scratch for one vector operation or sweep: its epoch (Labels.nextEpoch), and an index
   * into the operation's output. The sweep marks with the same field and counter as the
   * operations: a field of its own, written only by the first sweep, was constant until
   * then, and that sweep deoptimized every function compiled on it (slow rounds after).
   */
  mark = 0;
  slot = -1;
  /** cached projections: [sig, set, sig, set, …] (a few: scanned, no hashing) */
  private projections: (string | LabelSet)[] | null = null;

  constructor(
    private readonly owner: Labels,
    /** sorted name=value pairs: the identity */
    readonly key: string,
    readonly labels: LabelMap,
  ) {}

  /** The set restricted to `names` (`sig`: the names joined, the cache key). */
  project(names: readonly string[], sig: string): LabelSet {
    const ps = this.projections;
    if (ps !== null) for (let i = 0; i < ps.length; i += 2) if (ps[i] === sig) return ps[i + 1] as LabelSet;
    const m: Record<string, string> = {};
    for (const n of names) {
      const v = this.labels[n];
      if (v !== undefined) m[n] = v;
    }
    const p = this.owner.intern(m);
    if (ps === null) this.projections = [sig, p];
    else ps.push(sig, p);
    return p;
  }

  /** Marks this set and its cached projections (theirs too) as referenced in sweep `epoch`. */
  keep(epoch: number): void {
    if (this.mark === epoch) return;
    this.mark = epoch;
    const ps = this.projections;
    if (ps !== null) for (let i = 1; i < ps.length; i += 2) (ps[i] as LabelSet).keep(epoch);
  }
}

export class Labels {
  private readonly sets = new Map<string, LabelSet>();
  private epoch = 0;
  readonly empty: LabelSet;

  constructor() {
    this.empty = this.intern({});
  }

  /** A fresh epoch for marking label sets (vector operations and sweeps share the counter). */
  nextEpoch(): number {
    return ++this.epoch;
  }

  get size(): number {
    return this.sets.size;
  }

  /** The one LabelSet for these labels (empty values and `__name__` dropped). */
  intern(labels: LabelMap): LabelSet {
    const names = Object.keys(labels)
      .filter((n) => labels[n] !== '' && n !== '__name__')
      .sort();
    let key = '';
    for (const n of names) key += `${n}\u0000${labels[n]}\u0001`;
    let s = this.sets.get(key);
    if (s === undefined) {
      const m: Record<string, string> = {};
      for (const n of names) m[n] = labels[n];
      s = new LabelSet(this, key, Object.freeze(m));
      this.sets.set(key, s);
    }
    return s;
  }

  /**
   * Forgets every set that `mark` does not reach (series that went away, old alerts): it
   * calls its argument on each set still held anywhere. A set held after a sweep stays the
   * one interned object for its labels, so identity matching stays right.
   */
  sweep(mark: (keep: (s: LabelSet) => void) => void): void {
    const e = this.nextEpoch();
    this.empty.keep(e);
    mark((s) => s.keep(e));
    for (const [k, s] of this.sets) if (s.mark !== e) this.sets.delete(k);
  }
}
