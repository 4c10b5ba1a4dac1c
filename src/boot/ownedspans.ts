// Owned (start, count) spans as sorted ranges: how many owned pages lie in a range of pfns, by
// binary search. The allocator counts its free pages from memblock's spans this way (every page,
// less the owned ones, less the free ones inside banned regions) without a bitmap of every pfn.

import { assert } from '../format/assert.js';

/** Disjoint (start, count) spans, sorted; an overlap is a broken invariant. */
export class OwnedSpans {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;     // exclusive; ascending as the starts (disjoint)
  private readonly before: Float64Array;   // pages of the spans before each
  readonly total: number;

  constructor(pairs: readonly number[]) {
    const order = Array.from({ length: pairs.length / 2 }, (_, i) => i).sort((a, b) => pairs[2 * a]! - pairs[2 * b]!);
    this.starts = new Float64Array(order.length); this.ends = new Float64Array(order.length); this.before = new Float64Array(order.length + 1);
    order.forEach((i, k) => { this.starts[k] = pairs[2 * i]!; this.ends[k] = pairs[2 * i]! + pairs[2 * i + 1]!; this.before[k + 1] = this.before[k]! + pairs[2 * i + 1]!; });
    this.total = this.before[order.length]!;
    for (let k = 1; k < order.length; k++) if (this.starts[k]! < this.ends[k - 1]!) assert(false, `owned pfns ${this.starts[k]}..${Math.min(this.ends[k]!, this.ends[k - 1]!) - 1} are owned once`);
  }

  /** Owned pages of from..to. */
  within(from: number, to: number): number {
    const n = this.starts.length;
    let lo = 0, hi = n;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (this.ends[m]! <= from) lo = m + 1; else hi = m; }
    const i = lo;                            // the first span ending after from
    hi = n;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (this.starts[m]! <= to) lo = m + 1; else hi = m; }
    const j = lo;                            // the first span starting after to
    if (i >= j) return 0;
    let pages = this.before[j]! - this.before[i]!;
    if (this.starts[i]! < from) pages -= from - this.starts[i]!;
    if (this.ends[j - 1]! - 1 > to) pages -= this.ends[j - 1]! - 1 - to;
    return pages;
  }
}
