// Sets of pfns as runs: flat (start, count) pairs. A lazy mount's tail
// (tail.ts, lazyboot.ts) compares the data pages its groups held before and after
// it; a touched group may hold a file of gigabytes, so the comparison works on
// runs, never on one entry per page (a 1 GiB file is 262 144 pages: a Set of
// them cost a mount hundreds of milliseconds).

/** The union of (start, count) pairs, as ascending, disjoint, non-adjacent runs. */
export function normalRuns(pairs: readonly number[]): number[] {
  const order: number[] = [];
  for (let k = 0; k < pairs.length; k += 2) if (pairs[k + 1]! > 0) order.push(k);
  order.sort((a, b) => pairs[a]! - pairs[b]!);
  const out: number[] = [];
  for (const k of order) {
    const start = pairs[k]!, end = start + pairs[k + 1]!, last = out.length - 2;
    if (last >= 0 && start <= out[last]! + out[last + 1]!) out[last + 1] = Math.max(out[last]! + out[last + 1]!, end) - out[last]!;
    else out.push(start, end - start);
  }
  return out;
}

/** Index of the first run of `runs` (normal: normalRuns) ending after `pfn`; the run count when none does. */
function firstEndingAfter(runs: readonly number[], pfn: number): number {
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
export function cutRuns(from: ArrayLike<number>, cut: readonly number[]): number[] {
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
