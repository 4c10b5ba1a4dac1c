// Run arithmetic (pageruns.ts) against a Set of pages: the union, and a cut of
// each run, hold exactly the pages a per-page model holds, in the shapes
// promised (normal runs ascending, disjoint and apart; a cut run's pieces in
// its place).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutRuns, inAndOut, isNormal, joinedApart, normalRuns, PfnRuns, runPfns } from './pageruns.js';

const pagesOf = (runs: ArrayLike<number>): number[] => {
  const out: number[] = [];
  for (let k = 0; k < runs.length; k += 2) for (let i = 0; i < runs[k + 1]!; i++) out.push(runs[k]! + i);
  return out;
};
const sorted = (a: Iterable<number>) => [...a].sort((x, y) => x - y);

test('normalRuns: overlapping, adjacent, unordered and empty pairs become ascending runs apart', () => {
  assert.deepEqual(normalRuns([50, 10, 10, 5, 12, 3, 15, 2, 60, 5, 90, 0, 100, 1]), [10, 7, 50, 15, 100, 1]);
  assert.deepEqual(normalRuns([]), []);
});

test('cutRuns: each run less the cut, pieces in place; unsorted input stays unsorted', () => {
  assert.deepEqual(cutRuns([100, 50, 0, 10], normalRuns([5, 1, 110, 5, 140, 20])), [100, 10, 115, 25, 0, 5, 6, 4]);
  assert.deepEqual(cutRuns(Float64Array.from([7, 3]), []), [7, 3]);
  assert.deepEqual(cutRuns([7, 3], [0, 100]), []);
});

test('seeded: union and difference of random runs match a Set of pages', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e6);
  console.log(`pageruns seed ${seed} (SEED=${seed} repeats it)`);
  let x = seed >>> 0;
  const rnd = (n: number) => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x % n; };
  for (let round = 0; round < 300; round++) {
    const pairs = (k: number) => { const p: number[] = []; for (let i = 0; i < k; i++) p.push(rnd(400), rnd(4) === 0 ? 0 : 1 + rnd(40)); return p; };
    const a = pairs(rnd(12)), b = pairs(rnd(12));
    const na = normalRuns(a), nb = normalRuns(b);
    const sa = new Set(pagesOf(a)), sb = new Set(pagesOf(b));
    assert.deepEqual(pagesOf(na), sorted(sa), `round ${round}: the union`);
    for (let k = 2; k < na.length; k += 2) assert.ok(na[k]! > na[k - 2]! + na[k - 1]!, `round ${round}: runs ascending and apart`);
    assert.deepEqual(sorted(pagesOf(cutRuns(na, nb))), sorted([...sa].filter((p) => !sb.has(p))), `round ${round}: a less b`);
    // A cut of runs that are not normal: every page of each run not in the cut, once per run that holds it.
    const want = pagesOf(a).filter((p) => !sb.has(p));
    assert.deepEqual(sorted(pagesOf(cutRuns(a, nb))), sorted(want), `round ${round}: a cut of raw runs`);
  }
});

test('normalRuns: starts past 2^32 (a comparator\'s sort) as below it; normal runs come back as they are', () => {
  const big = 2 ** 32;
  assert.deepEqual(normalRuns([big + 50, 10, big + 10, 5, 3, 2, big + 12, 3]), [3, 2, big + 10, 5, big + 50, 10]);
  assert.deepEqual(normalRuns(Float64Array.from([2, 3, 10, 1])), [2, 3, 10, 1]);
  assert.deepEqual(normalRuns([7.5, 1, 3, 1, 7, 0.25]), [3, 1, 7, 0.25, 7.5, 1], 'a start not an integer (no pfn is): sorted as any other');
  assert.ok(isNormal([2, 3, 10, 1]) && isNormal([]));
  assert.ok(!isNormal([2, 3, 5, 1]), 'runs that meet are not normal');
  assert.ok(!isNormal([2, 0]) && !isNormal([10, 1, 2, 3]) && !isNormal([1, 2, 3]), 'an empty run, runs out of order, an odd length');
});

test('seeded: joinedApart of ascending disjoint runs and inAndOut are normalRuns and two cutRuns', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e6);
  console.log(`pageruns joined/inAndOut seed ${seed} (SEED=${seed} repeats it)`);
  let x = seed >>> 0;
  const rnd = (n: number) => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x % n; };
  for (let round = 0; round < 300; round++) {
    // Ascending runs, some meeting (a gap of 0), none overlapping: what joinStretches gives.
    const meeting: number[] = [];
    for (let at = rnd(20), i = rnd(10); i > 0; i--) { const count = 1 + rnd(9); meeting.push(at, count); at += count + (rnd(3) === 0 ? 0 : rnd(12)); }
    assert.deepEqual(joinedApart(meeting), normalRuns(meeting), `round ${round}: joinedApart`);
    const from: number[] = [], by = normalRuns(Array.from({ length: 2 * rnd(10) }, (_, i) => (i % 2 ? 1 + rnd(30) : rnd(300))));
    for (let i = rnd(10); i > 0; i--) from.push(rnd(300), 1 + rnd(40));
    const { inside, outside } = inAndOut(from, by), out = cutRuns(from, by);
    assert.deepEqual(outside, out, `round ${round}: outside`);
    assert.deepEqual(inside, cutRuns(from, normalRuns(out)), `round ${round}: inside`);
    const own = normalRuns(from), rest = cutRuns(own, by);              // as splitTail cuts a group's own pages
    assert.deepEqual(inAndOut(own, by), { inside: cutRuns(own, rest), outside: rest }, `round ${round}: of normal runs`);
  }
});

test('runPfns lists every pfn of the pairs in their order (none for none)', () => {
  assert.deepEqual(runPfns([40, 2, 90, 1, 7, 3]), [40, 41, 90, 7, 8, 9]);
  assert.deepEqual(runPfns([]), []);
});

/** The maximal runs of consecutive pfns of the set, ascending: what a compaction's RUNS DATA lists. */
const runsOfSet = (pfns: Iterable<number>): number[] => {
  const s = sorted(new Set(pfns)), out: number[] = [];
  for (let i = 0; i < s.length;) {
    let j = i + 1;
    while (j < s.length && s[j] === s[j - 1]! + 1) j++;
    out.push(s[i]!, s[j - 1]! - s[i]! + 1);
    i = j;
  }
  return out;
};

test('seeded: PfnRuns gives the runs of the set of pfns added (runs, jumps back, repeats), as the sorted pfns have them', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e6);
  console.log(`pageruns PfnRuns seed ${seed} (SEED=${seed} repeats it)`);
  let x = seed >>> 0;
  const rnd = (n: number) => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x % n; };
  for (let round = 0; round < 300; round++) {
    const runs = new PfnRuns(), added: number[] = [];
    // A file's pages: stretches in order, some rewritten elsewhere (a jump), some listed twice (a page two nodes held).
    for (let at = rnd(1000), i = rnd(40); i > 0; i--) {
      const pfn = rnd(5) === 0 ? rnd(2000) : rnd(8) === 0 && added.length ? added[rnd(added.length)]! : at++;
      runs.add(pfn);
      added.push(pfn);
    }
    assert.deepEqual(runs.normal(), runsOfSet(added), `round ${round}`);
  }
  assert.deepEqual(new PfnRuns().normal(), []);
});

test('PfnRuns: more runs than the typed sort of normalRuns takes (2^20) sorts the pfns themselves: the same runs', () => {
  const runs = new PfnRuns(), added: number[] = [];
  // Every other page, backwards (a run each), then pages that join them up in a stretch, and repeats.
  for (let pfn = 2 * (1 << 20) + 10; pfn >= 10; pfn -= 2) { runs.add(pfn); added.push(pfn); }
  for (const pfn of [501, 503, 505, 10, 12, 7, 8, 9]) { runs.add(pfn); added.push(pfn); }
  assert.deepEqual(runs.normal(), runsOfSet(added));
});
