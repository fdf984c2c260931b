/**
 * An instant vector of the evaluator: label sets and values, `n` of them. Kept and reused
 * (its arrays keep their capacity): a round over 5,000 VFs makes some sixty vectors of
 * thousands of elements, and allocating them afresh each round was most of its cost, in
 * the garbage collector. Whoever holds a vector past its round copies what it needs.
 */
import type { LabelSet } from './labels.js';

export class Vec {
  ls: LabelSet[] = [];
  v = new Float64Array(16);
  n = 0;

  push(ls: LabelSet, x: number): void {
    if (this.n === this.v.length) {
      const v = new Float64Array(this.v.length * 2);
      v.set(this.v);
      this.v = v;
    }
    this.ls[this.n] = ls;
    this.v[this.n++] = x;
  }

  /** Becomes a copy of x (its arrays keep their capacity). */
  copyFrom(x: Vec): void {
    if (this.v.length < x.n) this.v = new Float64Array(x.v.length);
    this.v.set(x.v.subarray(0, x.n));
    const ls = this.ls;
    for (let i = 0; i < x.n; i++) ls[i] = x.ls[i];
    this.n = x.n;
  }

  reset(): this {
    this.n = 0;
    return this;
  }

  /** The value of a label set, if it is in the vector (a scan: for a few lookups). */
  valueOf(ls: LabelSet): number | undefined {
    for (let i = 0; i < this.n; i++) if (this.ls[i] === ls) return this.v[i];
    return undefined;
  }
}

/** Vectors handed out for one instant's evaluation, taken back all at once for the next. */
export class VecPool {
  private readonly vecs: Vec[] = [];
  private used = 0;

  take(): Vec {
    if (this.used === this.vecs.length) this.vecs.push(new Vec());
    return this.vecs[this.used++].reset();
  }

  /** Every vector taken is free again (their holders are done). */
  release(): void {
    this.used = 0;
  }
}
