// A lazily booted log's pages (logpages.ts): looked up by seq and listed later, the same pages as the list
// of the LOG runs' pages then the walked ones that the boot made before (random runs, the seed printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LazyCursor, SeqPages } from './logpages.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

/** Random (pfn, count) runs of `seq0` pages in all, and `tail` walked pages: the pages by seq as the boot listed them. */
function randomLog(r: () => number, seq0: number, tail: number): { runs: Float64Array; after: number[]; expect: number[] } {
  const runs: number[] = [], expect: number[] = [];
  let pfn = 1 + Math.floor(r() * 50), left = seq0;
  while (left > 0) {
    const c = Math.min(left, 1 + Math.floor(r() * (r() < 0.3 ? 2 : 200)));
    runs.push(pfn, c);
    for (let k = 0; k < c; k++) expect.push(pfn + k);
    pfn += c + 1 + Math.floor(r() * 30);
    left -= c;
  }
  const after: number[] = [];
  for (let i = 0; i < tail; i++) { pfn += r() < 0.5 ? 1 : 2 + Math.floor(r() * 9); after.push(pfn); expect.push(pfn); }
  return { runs: Float64Array.from(runs), after, expect };
}

test('SeqPages: at(), span() and all() give the pages by seq the LOG runs and the walk list (random runs)', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1e9);
  console.log(`seed ${seed}`);
  const r = rng(seed);
  for (let round = 0; round < 200; round++) {
    const seq0 = Math.floor(r() * 3000), tail = 1 + Math.floor(r() * 40);
    const { runs, after, expect } = randomLog(r, seq0, tail);
    const p = new SeqPages(runs, seq0, after);
    assert.equal(p.length, expect.length);
    assert.equal(p.made, false);
    for (let k = 0; k < 50; k++) {
      const s = Math.floor(r() * expect.length);
      assert.equal(p.at(s), expect[s], `seed ${seed} round ${round}: seq ${s}`);
      const s1 = Math.min(expect.length - 1, s + Math.floor(r() * 20)), sp = p.span(s, s1);
      for (let q = s; q <= Math.min(s1 + 1, expect.length - 1); q++) assert.equal(sp[q], expect[q], `seed ${seed}: span ${s}..${s1} at ${q}`);
      assert.equal(sp[s - 1], undefined, 'a span holds its own pages only');
    }
    assert.equal(p.at(expect.length), undefined);
    assert.equal(p.at(-1), undefined);
    assert.equal(p.made, false, 'lookups make no list');
    const all = p.all();
    assert.deepEqual(all, expect, `seed ${seed} round ${round}`);
    assert.equal(p.all(), all, 'the same list after');
    all.push(99_999_999);                       // the writer appends to it
    assert.equal(p.length, expect.length + 1);
    assert.equal(p.at(expect.length), 99_999_999);
    assert.equal(p.span(0, 0), all, 'made: readers get the list');
  }
});

test('SeqPages before its LOG runs are known: the walked pages only, nothing before seq0', () => {
  const p = new SeqPages(new Float64Array(0), 5, [40, 41, 60]);
  assert.equal(p.at(4), undefined);
  assert.equal(p.at(5), 40);
  assert.equal(p.at(7), 60);
  assert.equal(p.span(3, 6)[4], undefined);
  assert.equal(p.span(3, 6)[6], 41);
});

test('LazyCursor: its pages are its SeqPages\' list, made at the first ask (SeqPages.listed: made already)', () => {
  const log = new SeqPages(Float64Array.from([3, 2]), 2, [9]);
  const c = new LazyCursor(7, log, 100, 5000);
  assert.equal(log.made, false);
  assert.deepEqual(c.pages, [3, 4, 9]);
  assert.equal(log.made, true);
  assert.equal(c.pages, log.all());
  const l = SeqPages.listed([5, 6]);
  assert.equal(l.made, true);
  assert.equal(l.at(1), 6);
});
