/**
 * The lookup structure under EndpointIndex: an open-addressing hash table whose slots are
 * the bindings themselves, in one ArrayBuffer — a (scope, address) key, the endpoint id,
 * a tie rank and the binding's [from, to) — so a lookup at random over 100k+ bindings costs
 * about one cache miss for the slot (and one for the endpoint object the caller gets).
 *
 * Measured against it (bench:inventory, 150k bindings, random lookups): Map<hash, Entry[]>
 * with an entry object per key and the times read from the endpoint objects managed about
 * 1.4M lookups/s — four or five dependent cache misses each (map bucket, list, entry,
 * endpoint, and the boxed doubles of its times).
 *
 * A key bound several times (history, conflicting claims) has several slots in its probe
 * run; a lookup scans the run to the first empty slot, so misses cost the same as hits.
 * Removed slots become tombstones (skipped, reused by inserts, dropped on a rehash).
 *
 * Layout, int32 words per slot: `W = 8` for MACs and IPv4 (key words 0–1), `W = 16` for
 * IPv6 (key words 0–3); after the key: scope | rank << 25 | SHARED (scopes are below 2^25;
 * rank 0 wins a tie of equal start times; SHARED: the key has other bindings — without it a
 * match is the key's only binding and the lookup ends there), id (EMPTY, DELETED or the
 * endpoint id); then from and to as float64 in words W/2 to W/2 + 3.
 */

const EMPTY = -1;
const DELETED = -2;
const SCOPE_MASK = 0x1ffffff;
const RANK_MASK = 63;
/** set on every slot of a key bound more than once (kept after removals: a hint) */
const SHARED = 0x80000000 | 0;

/**
 * The lookup's instant and the span its answers hold for, shared by an index's tables:
 * [0] the lookup time (µs), [1] stableFrom, [2] stableTo; [3] is set by each find to 1 when
 * more than one binding of the key was active at the time (conflicting claims: the answer
 * is only the winner of them), else 0. Passed through a Float64Array
 * rather than as arguments and object fields: a double that is not a small integer (every
 * µs timestamp) is boxed into a fresh heap number when passed to a function V8 does not
 * inline or stored in a field, which cost an allocation per lookup.
 */
export type LookupState = Float64Array;

function mix(a: number, b: number, c: number, d: number, scope: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15) ^ scope, 0x85ebca6b);
  return h ^ (h >>> 16);
}

/** Narrows [stableFrom, stableTo) to where binding [from, to) keeps its state at t (not started, active, ended). */
function narrow(st: LookupState, t: number, from: number, to: number): void {
  if (t < from) {
    if (from < st[2]) st[2] = from;
  } else if (t >= to) {
    if (to > st[1]) st[1] = to;
  } else {
    if (from > st[1]) st[1] = from;
    if (to < st[2]) st[2] = to;
  }
}

export class BindingTable {
  /** int32 words per slot */
  private readonly w: number;
  /** key words per slot (2 or 4) */
  private readonly k: number;
  private i32: Int32Array;
  private f64: Float64Array;
  private mask: number;
  /** slots not EMPTY (live + tombstones) */
  private used = 0;
  /** live bindings */
  size = 0;

  constructor(
    keyWords: 2 | 4,
    private readonly st: LookupState,
    initialSlots = 1024,
  ) {
    this.k = keyWords;
    this.w = keyWords === 2 ? 8 : 16;
    const n = 1 << Math.ceil(Math.log2(Math.max(16, initialSlots)));
    this.i32 = new Int32Array(n * this.w).fill(0);
    this.f64 = new Float64Array(this.i32.buffer);
    this.mask = n - 1;
    for (let s = 0; s < n; s++) this.i32[s * this.w + keyWords + 1] = EMPTY;
  }

  /** bytes held */
  get bytes(): number {
    return this.i32.byteLength;
  }

  /**
   * The winning binding of (scope, key) active at t: the latest start, then the lowest
   * rank (t is the lookup state's [0]). Narrows the state's [stableFrom, stableTo) to the
   * span its answer, and whether it is ambiguous (state [3]), hold for: by the start and
   * end of each binding of the key — they can only change at one of those instants.
   * Returns the endpoint id, or -1.
   */
  find2(scope: number, a: number, b: number): number {
    const st = this.st;
    const t = st[0];
    const i32 = this.i32;
    const f64 = this.f64;
    const mask = this.mask;
    const h = mix(a, b, 0, 0, scope) & mask;
    let best = -1;
    let bestFrom = Number.NEGATIVE_INFINITY;
    let bestRank = 0;
    let matches = 0;
    let active = 0;
    st[3] = 0;
    for (let s = h; ; s = (s + 1) & mask) {
      const o = s << 3;
      const id = i32[o + 3];
      if (id === EMPTY) break;
      const sw = i32[o + 2];
      if (id < 0 || i32[o] !== a || i32[o + 1] !== b || (sw & SCOPE_MASK) !== scope) continue;
      if (sw >= 0) return this.only(o, id, t); // the key's only binding
      matches++;
      const from = f64[(o >> 1) + 2];
      if (t >= from && t < f64[(o >> 1) + 3]) {
        active++;
        const rank = (sw >>> 25) & RANK_MASK;
        if (best < 0 || from > bestFrom || (from === bestFrom && rank < bestRank)) {
          best = s;
          bestFrom = from;
          bestRank = rank;
        }
      }
    }
    if (matches === 0) return -1;
    if (active > 1) st[3] = 1;
    if (matches > 1 || best < 0) {
      // what could change the answer, or whether it is ambiguous: the start or end of any
      // other binding of the key
      for (let s = h; ; s = (s + 1) & mask) {
        const o = s << 3;
        const id = i32[o + 3];
        if (id === EMPTY) break;
        if (id < 0 || s === best || i32[o] !== a || i32[o + 1] !== b || (i32[o + 2] & SCOPE_MASK) !== scope) {
          continue;
        }
        narrow(st, t, f64[(o >> 1) + 2], f64[(o >> 1) + 3]);
      }
    }
    if (best < 0) return -1;
    const o = best << 3;
    const to = f64[(o >> 1) + 3];
    if (bestFrom > st[1]) st[1] = bestFrom;
    if (to < st[2]) st[2] = to;
    return i32[o + 3];
  }

  /** find2 for 4 key words (IPv6). */
  find4(scope: number, a: number, b: number, c: number, d: number): number {
    const st = this.st;
    const t = st[0];
    const i32 = this.i32;
    const f64 = this.f64;
    const mask = this.mask;
    const h = mix(a, b, c, d, scope) & mask;
    let best = -1;
    let bestFrom = Number.NEGATIVE_INFINITY;
    let bestRank = 0;
    let matches = 0;
    let active = 0;
    st[3] = 0;
    for (let s = h; ; s = (s + 1) & mask) {
      const o = s << 4;
      const id = i32[o + 5];
      if (id === EMPTY) break;
      if (id < 0 || i32[o] !== a || i32[o + 1] !== b || i32[o + 2] !== c || i32[o + 3] !== d) continue;
      const sw = i32[o + 4];
      if ((sw & SCOPE_MASK) !== scope) continue;
      if (sw >= 0) return this.only(o, id, t);
      matches++;
      const from = f64[(o >> 1) + 4];
      if (t >= from && t < f64[(o >> 1) + 5]) {
        active++;
        const rank = (sw >>> 25) & RANK_MASK;
        if (best < 0 || from > bestFrom || (from === bestFrom && rank < bestRank)) {
          best = s;
          bestFrom = from;
          bestRank = rank;
        }
      }
    }
    if (matches === 0) return -1;
    if (active > 1) st[3] = 1;
    if (matches > 1 || best < 0) {
      for (let s = h; ; s = (s + 1) & mask) {
        const o = s << 4;
        const id = i32[o + 5];
        if (id === EMPTY) break;
        if (
          id < 0 ||
          s === best ||
          i32[o] !== a ||
          i32[o + 1] !== b ||
          i32[o + 2] !== c ||
          i32[o + 3] !== d
        ) {
          continue;
        }
        if ((i32[o + 4] & SCOPE_MASK) !== scope) continue;
        narrow(st, t, f64[(o >> 1) + 4], f64[(o >> 1) + 5]);
      }
    }
    if (best < 0) return -1;
    const o = best << 4;
    const to = f64[(o >> 1) + 5];
    if (bestFrom > st[1]) st[1] = bestFrom;
    if (to < st[2]) st[2] = to;
    return i32[o + 5];
  }

  /** The answer when the slot at word `o` is its key's only binding. */
  private only(o: number, id: number, t: number): number {
    const st = this.st;
    const f = (o >> 1) + this.w / 4;
    const from = this.f64[f];
    const to = this.f64[f + 1];
    if (t < from) {
      if (from < st[2]) st[2] = from;
      return -1;
    }
    if (t >= to) {
      if (to > st[1]) st[1] = to;
      return -1;
    }
    if (from > st[1]) st[1] = from;
    if (to < st[2]) st[2] = to;
    return id;
  }

  // ---- changes (not the hot path) -----------------------------------------------------

  /**
   * Adds a binding. `beats(x, y)` says whether endpoint x wins a tie (equal start) over y:
   * the ranks of the key's bindings with this start are recomputed from it.
   */
  insert(
    key: readonly number[],
    scope: number,
    id: number,
    from: number,
    to: number,
    beats: (x: number, y: number) => boolean,
  ): void {
    // at most 5/8 full (tombstones included): linear probing stays short with this hash;
    // bench:inventory measured no difference against at most 1/2 full, at about half the memory
    if ((this.used + 1) * 8 > (this.mask + 1) * 5) this.rehash(Math.ceil((this.size + 1) * 1.6) + 1);
    const w = this.w;
    const k = this.k;
    const h = this.hashOf(key, scope);
    let free = -1;
    const tied: number[] = [];
    const same: number[] = [];
    for (let s = h; ; s = (s + 1) & this.mask) {
      const o = s * w;
      const sid = this.i32[o + k + 1];
      if (sid === EMPTY) {
        if (free < 0) free = s;
        break;
      }
      if (sid === DELETED) {
        if (free < 0) free = s;
        continue;
      }
      if (!this.sameKey(o, key, scope)) continue;
      same.push(s);
      if (this.f64[o / 2 + w / 4] === from) tied.push(s);
    }
    const o = free * w;
    if (this.i32[o + k + 1] === EMPTY) this.used++;
    for (let j = 0; j < k; j++) this.i32[o + j] = key[j];
    this.i32[o + k] = scope;
    this.i32[o + k + 1] = id;
    this.f64[o / 2 + w / 4] = from;
    this.f64[o / 2 + w / 4 + 1] = to;
    this.size++;
    if (same.length > 0) for (const x of [...same, free]) this.i32[x * w + k] |= SHARED;
    if (tied.length > 0) {
      tied.push(free);
      const ids = tied.map((s) => this.i32[s * w + k + 1]);
      const order = tied
        .map((_, j) => j)
        .sort((x, y) => (beats(ids[x], ids[y]) ? -1 : beats(ids[y], ids[x]) ? 1 : 0));
      for (const [rank, j] of order.entries()) {
        const at = tied[j] * w + k;
        this.i32[at] = (this.i32[at] & (SCOPE_MASK | SHARED)) | (Math.min(rank, RANK_MASK) << 25);
      }
    }
  }

  /** Sets the end of endpoint id's binding of this key. */
  setTo(key: readonly number[], scope: number, id: number, to: number): void {
    const s = this.slotOf(key, scope, id);
    if (s >= 0) this.f64[(s * this.w) / 2 + this.w / 4 + 1] = to;
  }

  remove(key: readonly number[], scope: number, id: number): void {
    const s = this.slotOf(key, scope, id);
    if (s < 0) return;
    this.i32[s * this.w + this.k + 1] = DELETED;
    this.size--;
  }

  private slotOf(key: readonly number[], scope: number, id: number): number {
    const w = this.w;
    const k = this.k;
    for (let s = this.hashOf(key, scope); ; s = (s + 1) & this.mask) {
      const o = s * w;
      const sid = this.i32[o + k + 1];
      if (sid === EMPTY) return -1;
      if (sid === id && this.sameKey(o, key, scope)) return s;
    }
  }

  private sameKey(o: number, key: readonly number[], scope: number): boolean {
    for (let j = 0; j < this.k; j++) if (this.i32[o + j] !== key[j]) return false;
    return (this.i32[o + this.k] & SCOPE_MASK) === scope;
  }

  private hashOf(key: readonly number[], scope: number): number {
    return (
      (this.k === 2 ? mix(key[0], key[1], 0, 0, scope) : mix(key[0], key[1], key[2], key[3], scope)) &
      this.mask
    );
  }

  /** Re-inserts the live slots into a table of at least `minSlots` (dropping tombstones). */
  private rehash(minSlots: number): void {
    const w = this.w;
    const k = this.k;
    const old = this.i32;
    const oldF = this.f64;
    const oldN = this.mask + 1;
    const n = 1 << Math.ceil(Math.log2(Math.max(16, minSlots)));
    this.i32 = new Int32Array(n * w);
    this.f64 = new Float64Array(this.i32.buffer);
    this.mask = n - 1;
    for (let s = 0; s < n; s++) this.i32[s * w + k + 1] = EMPTY;
    this.used = 0;
    const key = new Array<number>(k);
    for (let s = 0; s < oldN; s++) {
      const o = s * w;
      if (old[o + k + 1] < 0) continue;
      for (let j = 0; j < k; j++) key[j] = old[o + j];
      let t = this.hashOf(key, old[o + k] & SCOPE_MASK);
      while (this.i32[t * w + k + 1] !== EMPTY) t = (t + 1) & this.mask;
      this.i32.set(old.subarray(o, o + k + 2), t * w);
      this.f64[(t * w) / 2 + w / 4] = oldF[o / 2 + w / 4];
      this.f64[(t * w) / 2 + w / 4 + 1] = oldF[o / 2 + w / 4 + 1];
      this.used++;
    }
  }
}
