/**
 * Seeded pseudo-random numbers for reproducible test data (mulberry32: 32-bit state, fast,
 * good enough for generating traffic and fuzz mutations; not for anything secret).
 */
export type Rand = () => number;

/** mulberry32: returns a function giving uniform floats in [0, 1). */
export function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Convenience draws over one generator. */
export class Prng {
  readonly next: Rand;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  /** true with probability p */
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (this.next() * 256) | 0;
    return b;
  }
  u32(): number {
    return (this.next() * 4294967296) >>> 0;
  }
}

/** Cumulative Zipf(s) weights over ranks 1..n: a few heavy hitters and a long tail (benchmarks' traffic shapes). */
export function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return cdf;
}

/** The rank whose cumulative weight first reaches r (r uniform in [0, 1)): a draw from `cdf`. */
export function drawCdf(cdf: Float64Array, r: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < r) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
