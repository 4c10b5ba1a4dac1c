// Sets of pfns as runs: flat (start, count) pairs. A lazy mount's tail
// (tail.ts, lazyboot.ts) compares the data pages its groups held before and after
// it; a touched group may hold a file of gigabytes, so the comparison works on
// runs, never on one entry per page (a 1 GiB file is 262 144 pages: a Set of
// them cost a mount hundreds of milliseconds).

/** Every pfn of the (start, count) pairs, in their order (for few pages: a record's side pages, not a file's). */
export function runPfns(pairs: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) for (let q = 0; q < pairs[i + 1]!; q++) out.push(pairs[i]! + q);
  return out;
}

/** pfns as (pfn, count) runs of consecutive pfns, in their order; a pfn repeated next to itself counts once (never overlapping runs). */
export function runsOf(pfns: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < pfns.length;) {
    let j = i + 1;
    while (j < pfns.length && (pfns[j] === pfns[j - 1]! + 1 || pfns[j] === pfns[j - 1])) j++;
    out.push(pfns[i]!, pfns[j - 1]! - pfns[i]! + 1);
    i = j;
  }
  return Float64Array.from(out);
}

/** The union of (start, count) pairs, as ascending, disjoint, non-adjacent runs. */
export function normalRuns(pairs: ArrayLike<number>): number[] {
  if (isNormal(pairs)) return Array.from(pairs);
  const order = byStart(pairs);
  const out: number[] = [];
  for (let o = 0; o < order.length; o++) {
    const k = order[o]!, start = pairs[k]!, end = start + pairs[k + 1]!, last = out.length - 2;
    if (last >= 0 && start <= out[last]! + out[last + 1]!) out[last + 1] = Math.max(out[last]! + out[last + 1]!, end) - out[last]!;
    else out.push(start, end - start);
  }
  return out;
}

/** Ascending runs apart or meeting (none empty) as normal runs: those that meet joined. */
export function joinedApart(runs: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let k = 0; k < runs.length; k += 2) {
    const last = out.length - 2;
    if (last >= 0 && runs[k]! === out[last]! + out[last + 1]!) out[last + 1] += runs[k + 1]!;
    else out.push(runs[k]!, runs[k + 1]!);
  }
  return out;
}

/** Whether `pairs` are normal runs already (ascending, apart, none empty): normalRuns would give them back as they are. */
export function isNormal(pairs: ArrayLike<number>): boolean {
  for (let k = 0; k < pairs.length; k += 2) if (!(pairs[k + 1]! > 0) || (k > 0 && !(pairs[k]! > pairs[k - 2]! + pairs[k - 1]!))) return false;
  return pairs.length % 2 === 0;
}

/**
 * Pfns gathered one at a time, in the order given, as (start, count) runs: a page that follows the last
 * one extends its run. A compaction lists every data page its groups map (RUNS DATA, v3 minor 3) and a
 * file's pages come in long runs: a 4 GiB image's list is a few thousand runs, where a sort of its
 * 1 048 576 pfns cost ~65 ms of CPU in one compaction slice (issue 13).
 */
export class PfnRuns {
  private pairs = new Float64Array(256);
  private n = 0;                       // entries used: two a run

  add(pfn: number): void {
    const n = this.n;
    if (n > 0 && pfn === this.pairs[n - 2]! + this.pairs[n - 1]!) { this.pairs[n - 1]! += 1; return; }
    if (n === this.pairs.length) { const b = new Float64Array(2 * n); b.set(this.pairs); this.pairs = b; }
    this.pairs[n] = pfn;
    this.pairs[n + 1] = 1;
    this.n = n + 2;
  }

  /** The pfns added, as normal runs (a pfn added twice counts once): what the runs of the sorted pfns are. */
  normal(): number[] {
    const pairs = this.pairs.subarray(0, this.n);
    if (this.n / 2 < KEY_PLACES) return normalRuns(pairs);
    // Pages too scattered for normalRuns's typed sort (its fallback compares in JS): the pfns themselves, a typed sort.
    let total = 0;
    for (let k = 1; k < this.n; k += 2) total += pairs[k]!;
    const pfns = new Uint32Array(total);
    let at = 0;
    for (let k = 0; k < this.n; k += 2) for (let q = 0; q < pairs[k + 1]!; q++) pfns[at++] = pairs[k]! + q;
    return Array.from(runsOf(pfns.sort()));
  }
}

/**
 * The places k of the non-empty pairs, by start (ties in place order). A typed sort, no comparator call per comparison (a
 * mount sorts hundreds of a tail's pairs once, cold): start and place in one double, exact for an integer start below 2^32 and
 * fewer than 2^20 pairs; else a comparator's sort.
 */
function byStart(pairs: ArrayLike<number>): ArrayLike<number> {
  const n = pairs.length >>> 1;
  if (n < KEY_PLACES) {
    const keys = new Float64Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const start = pairs[2 * i]!;
      if ((start >>> 0) !== start) { m = -1; break; }       // an integer below 2^32 (pfns are)
      if (pairs[2 * i + 1]! > 0) keys[m++] = start * KEY_PLACES + i;
    }
    if (m >= 0) {
      const sorted = keys.subarray(0, m).sort(), order = new Float64Array(m);
      for (let o = 0; o < m; o++) order[o] = 2 * (sorted[o]! % KEY_PLACES);
      return order;
    }
  }
  const order: number[] = [];
  for (let k = 0; k < pairs.length; k += 2) if (pairs[k + 1]! > 0) order.push(k);
  return order.sort((a, b) => pairs[a]! - pairs[b]!);
}
const KEY_PLACES = 2 ** 20;

/** Index of the first run of `runs` (normal: normalRuns) ending after `pfn`; the run count when none does. */
function firstEndingAfter(runs: ArrayLike<number>, pfn: number): number {
  let lo = 0, hi = runs.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (runs[2 * mid]! + runs[2 * mid + 1]! <= pfn) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * The pages of each run of `from` not in `cut` (normal runs), run by run: the
 * pieces of one run stay in its place, runs are neither sorted nor merged (an
 * overlap in `from` stays for its reader to refuse). Empty runs are left out.
 */
export function cutRuns(from: ArrayLike<number>, cut: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let k = 0; k < from.length; k += 2) {
    let start = from[k]!;
    const end = start + from[k + 1]!;
    for (let j = firstEndingAfter(cut, start); j < cut.length / 2 && cut[2 * j]! < end; j++) {
      const cs = cut[2 * j]!, ce = cs + cut[2 * j + 1]!;
      if (cs > start) out.push(start, cs - start);
      start = Math.max(start, ce);
    }
    if (end > start) out.push(start, end - start);
  }
  return out;
}

/**
 * Each run of `from` cut by the normal runs `by`: its pieces in them (`inside`) and not (`outside`, cutRuns(from, by)), in
 * place, none empty — in one walk (outside then inside is cutRuns(from, cutRuns(from, by)): the pieces between two runs of `by`
 * are apart, as they are).
 */
export function inAndOut(from: ArrayLike<number>, by: ArrayLike<number>): { inside: number[]; outside: number[] } {
  const inside: number[] = [], outside: number[] = [];
  for (let k = 0; k < from.length; k += 2) {
    const s = from[k]!, end = s + from[k + 1]!;
    let pos = s;
    for (let j = firstEndingAfter(by, s); j < by.length / 2 && by[2 * j]! < end; j++) {
      const cs = by[2 * j]!, ce = cs + by[2 * j + 1]!;
      if (cs > pos) outside.push(pos, cs - pos);
      const a = Math.max(cs, pos), b = Math.min(ce, end);
      if (b > a) inside.push(a, b - a);
      pos = Math.max(pos, ce);
    }
    if (end > pos) outside.push(pos, end - pos);
  }
  return { inside, outside };
}
