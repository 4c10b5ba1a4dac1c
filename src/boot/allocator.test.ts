import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageAllocator } from './allocator.js';
import { BannedRegions } from './banned.js';
import { Owner, PageFrames } from './frames.js';
import { Memblock } from './memblock.js';
import { InvariantError } from '../format/assert.js';

function setup(pages: number) {
  const frames = new PageFrames(pages);
  const banned = new BannedRegions();
  const mb = new Memblock(frames, banned);
  return { frames, banned, mb };
}

test('fromMemblock: the pool is every unreserved, non-hole page', () => {
  const { frames, mb } = setup(100);
  frames.owner[0] = Owner.Hole;
  mb.reserve(10, 10, Owner.Reserved, 'kernel');
  const a = PageAllocator.fromMemblock(mb);
  assert.equal(a.freeCount, 100 - 1 - 10);
  const got = new Set<number>();
  for (;;) { const p = a.alloc(Owner.Data); if (p < 0) break; got.add(p); }
  assert.equal(got.size, 89);
  assert.equal(got.has(0), false);
  for (let p = 10; p < 20; p++) assert.equal(got.has(p), false);
  assert.equal(a.freeCount, 0);
});

test('never hands out a banned page; those met are held, then released', () => {
  const { frames, banned, mb } = setup(64);
  banned.add(0, 15);
  banned.add(30, 33);
  const a = PageAllocator.fromMemblock(mb);
  assert.equal(a.freeCount, 64 - 16 - 4);
  const got: number[] = [];
  for (;;) { const p = a.alloc(Owner.Link); if (p < 0) break; got.push(p); }
  assert.equal(got.length, 44);
  for (const p of got) assert.equal(banned.contains(p), false, `pfn ${p}`);
  assert.equal(a.heldCount, 20);
  assert.equal(frames.owner[31], Owner.Held);
  a.releaseHeld();
  assert.equal(a.heldCount, 0);
  assert.equal(frames.owner[31], Owner.None);
  assert.equal(a.isFree(31), true);
  assert.equal(a.alloc(Owner.Link), -1, 'released banned pages are still never handed out');
  a.releaseHeld();
});

test('sequential allocations are physically contiguous; a hint starts the search there', () => {
  const { mb } = setup(1000);
  const a = PageAllocator.fromMemblock(mb);
  const first = a.alloc(Owner.Data, 100);
  assert.equal(first, 100);
  for (let i = 1; i < 50; i++) assert.equal(a.alloc(Owner.Data), 100 + i);
  assert.equal(a.alloc(Owner.Data, 0), 0);
});

test('next-fit wraps around to the start', () => {
  const { mb } = setup(10);
  const a = PageAllocator.fromMemblock(mb);
  assert.equal(a.alloc(Owner.Data, 9), 9);
  assert.equal(a.alloc(Owner.Data), 0);
});

test('allocRun: contiguous, skips banned and busy pages, respects segments', () => {
  const { banned, mb } = setup(256);
  mb.reserve(5, 1, Owner.Reserved, 'early'); // also bans 5
  banned.add(40, 49);
  const a = PageAllocator.fromMemblock(mb, { segmentPages: 64 });
  assert.equal(a.allocRun(Owner.Data, 8, 0), 6);
  assert.equal(a.allocRun(Owner.Data, 20, 14), 14);
  assert.equal(a.allocRun(Owner.Data, 5, 36), 50, 'a run may not overlap a banned region');
  assert.equal(a.allocRun(Owner.Data, 5, 44), 55, 'skips the banned region');
  assert.equal(a.allocRun(Owner.Data, 10, 60), 64, 'does not cross a segment boundary');
  assert.equal(a.allocRun(Owner.Data, 100, 0), -1, 'no 100-page run inside a 64-page segment');
  assert.equal(a.allocRun(Owner.Data, 64, 0), 128);
});

test('free returns a page; double free and freeing a free page are bugs', () => {
  const { frames, mb } = setup(8);
  const a = PageAllocator.fromMemblock(mb);
  const p = a.alloc(Owner.Data);
  assert.equal(frames.owner[p], Owner.Data);
  a.free(p);
  assert.equal(frames.owner[p], Owner.None);
  assert.throws(() => a.free(p), InvariantError);
  assert.equal(a.freeCount, 8);
});

test('reserved pages freed after boot join the pool (pram frees its link pages)', () => {
  const { mb } = setup(8);
  mb.banWhileReserving = false;
  mb.reserve(3, 1, Owner.Reserved, 'pram');
  const a = PageAllocator.fromMemblock(mb);
  assert.equal(a.freeCount, 7);
  a.free(3);
  assert.equal(a.freeCount, 8);
  assert.equal(a.claim(3, Owner.Kernel), true);
  assert.equal(a.claim(3, Owner.Kernel), false);
});

test('a 4 GiB arena (1M pages) fills and drains through the bitmap', () => {
  const { banned, mb } = setup(1 << 20);
  banned.add(0, 32767);
  const a = PageAllocator.fromMemblock(mb);
  let n = 0, prev = -1, runs = 0;
  for (;;) {
    const p = a.alloc(Owner.Data);
    if (p < 0) break;
    if (p !== prev + 1) runs++;
    prev = p; n++;
  }
  assert.equal(n, (1 << 20) - 32768);
  assert.equal(runs, 1, 'one physically contiguous run');
  a.releaseHeld();
});

test('the pool is built word by word: owned pages anywhere in a word, a tail past the last whole word, a banned region held and released whole', () => {
  const { frames, banned, mb } = setup(32 * 6 + 7);
  const owned = [0, 31, 32 + 5, 64 + 31, 32 * 6 + 3];
  for (const p of owned) frames.owner[p] = Owner.Reserved;
  banned.add(70, 150);
  const a = PageAllocator.fromMemblock(mb);
  for (let p = 0; p < frames.pageCount; p++) assert.equal(a.isFree(p), !owned.includes(p), `pfn ${p}`);
  assert.equal(a.freeCount, frames.pageCount - owned.length - (150 - 70 + 1) + 1, 'pfn 95 is owned and banned: counted once');
  const got: number[] = [];
  for (;;) { const p = a.alloc(Owner.Data, 60); if (p < 0) break; got.push(p); }
  assert.ok(got.every((p) => p < 70 || p > 150), 'never a banned page');
  assert.equal(a.heldCount, 150 - 70, 'every free banned page but the owned pfn 95');
  a.releaseHeld();
  assert.equal(a.heldCount, 0);
  for (let p = 70; p <= 150; p++) {
    if (p === 95) assert.ok(!a.isFree(p) && frames.owner[p] === Owner.Reserved, 'the owned page stays owned');
    else assert.ok(a.isFree(p) && frames.owner[p] === Owner.None, `banned pfn ${p} back in the pool`);
  }
});

test('a pool built from memblock\'s reserved spans is the pool a scan of the owners builds (spans anywhere in a word, a tail word, banned pages)', () => {
  const pages = 32 * 9 + 13;
  const { frames, banned, mb } = setup(pages);
  mb.reserve(0, 1, Owner.Header, 'arena header');
  mb.reserve(5, 70, Owner.Meta, 'pram log');          // across two whole words
  mb.reserve(96, 1, Owner.Data, 'pram page');
  mb.reserve(97, 3, Owner.Data, 'pram page');         // adjacent: one record, two spans
  mb.reserve(pages - 4, 4, Owner.Data, 'pram page');  // the tail word
  mb.reserve(200, 10, Owner.Reserved, 'rolled back');
  mb.unreserve(200, 10);
  banned.add(90, 130);
  const spans = mb.reservedSpans();
  assert.ok(spans);
  const fast = PageAllocator.fromMemblock(mb, { owned: spans! });
  const scan = PageAllocator.fromMemblock(mb);
  for (let p = 0; p < pages; p++) assert.equal(fast.isFree(p), scan.isFree(p), `pfn ${p}`);
  assert.equal(fast.freeCount, scan.freeCount);
  // owned 79; banned and free: 90..95 and 100..130, and 200..209 (a reservation bans its pages, and the rollback keeps the ban)
  assert.equal(fast.freeCount, pages - 79 - (6 + 31) - 10);
});

test('an unreserve of part of a reservation leaves no spans: the allocator scans', () => {
  const { mb } = setup(64);
  mb.reserve(10, 10, Owner.Reserved, 'kernel');
  mb.unreserve(12, 2);
  assert.equal(mb.reservedSpans(), null);
});

test('spans that claim a page twice are a broken invariant', () => {
  const { frames, banned, mb } = setup(64);
  mb.reserve(10, 10, Owner.Reserved, 'kernel');
  assert.throws(() => new PageAllocator(frames, banned, { owned: [10, 10, 15, 1] }), InvariantError);
  // Long spans are cleared whole words at a time: an overlap there (one word, or one word past 16 KiB of words) is found too.
  const big = setup(1 << 20);
  for (const owned of [[64, 640, 600, 64], [32, 1 << 18, (1 << 18) - 32, 64], [560000, 64, 0, 600000]]) {
    assert.throws(() => new PageAllocator(big.frames, big.banned, { owned }), InvariantError, JSON.stringify(owned));
  }
  assert.equal(new PageAllocator(big.frames, big.banned, { owned: [64, 640, 704, 64, 4096 * 32, 4096 * 32] }).freeCount, (1 << 20) - 640 - 64 - 4096 * 32);
});

test('freeLater: the pages count as free at once, are pooled in bounded steps (each seen by `before`), and nothing is freed twice', () => {
  const { mb } = setup(256);
  const a = PageAllocator.fromMemblock(mb);
  const old: number[] = [];
  for (let i = 0; i < 100; i++) old.push(a.alloc(Owner.Meta));
  const free = a.freeCount;
  const seen: number[] = [];
  a.freeLater(old, (pfn) => seen.push(pfn));
  assert.equal(a.freeCount, free + 100, 'counted free before they are pooled');
  assert.equal(a.laterCount, 100);
  for (const p of old) assert.equal(a.isFree(p), false, `pfn ${p} not pooled yet`);
  assert.equal(a.drainLater(30), 30);
  assert.deepEqual(seen, old.slice(0, 30));
  assert.equal(a.laterCount, 70);
  assert.equal(a.freeCount, free + 100, 'pooling moves pages, never counts them twice');
  a.freeLater([], () => assert.fail('an empty batch is never seen'));
  assert.equal(a.drainLater(1000), 70);
  assert.deepEqual(seen, old);
  assert.equal(a.drainLater(1000), 0);
  for (const p of old) assert.ok(a.isFree(p));
  assert.equal(a.freeCount, free + 100);
});

test('an alloc (or a run) that finds no other page pools pages given to freeLater itself', () => {
  const { mb } = setup(64);
  const a = PageAllocator.fromMemblock(mb);
  const all: number[] = [];
  for (;;) { const p = a.alloc(Owner.Data); if (p < 0) break; all.push(p); }
  a.freeLater(all.slice(0, 40));
  assert.equal(a.freeCount, 40);
  const got = a.alloc(Owner.Meta);
  assert.ok(all.slice(0, 40).includes(got), `pfn ${got} came from the pages given back`);
  assert.equal(a.laterCount, 0, 'pooled in one step of at most 4096 pages');
  assert.equal(a.freeCount, 39);
  a.freeLater(all.slice(40));
  const run = a.allocRun(Owner.Data, 20);
  assert.ok(run >= 0, 'a run of pages given back');
  assert.equal(a.freeCount, 39 + all.length - 40 - 20);
});

test('freeKept: the pages count as free at once, an alloc takes one only when no other page is left, and releaseKept gives them back as freeLater\'s', () => {
  const { mb } = setup(128);
  const a = PageAllocator.fromMemblock(mb);
  const all: number[] = [];
  for (;;) { const p = a.alloc(Owner.Data); if (p < 0) break; all.push(p); }
  const kept = all.slice(0, 20), other = all.slice(20, 30);
  a.freeKept(kept);
  for (const p of other) a.free(p);
  assert.equal(a.freeCount, 30, 'kept pages count as free');
  assert.equal(a.keptCount, 20);
  for (let i = 0; i < 10; i++) assert.ok(other.includes(a.alloc(Owner.Meta)), 'the other free pages go first');
  const last = a.alloc(Owner.Meta);
  assert.ok(kept.includes(last), `no other page left: pfn ${last} is a kept one`);
  assert.equal(a.keptCount, 0, 'pooled in one step of at most 4096 pages');
  assert.equal(a.freeCount, 19, 'pooling moves pages, never counts them twice');
  const more = all.slice(30, 40);
  for (const p of more) a.free(p);
  const left = a.allocRun(Owner.Data, 10);
  a.freeKept(more.map((_, i) => left + i));
  assert.equal(a.freeCount, 29);
  a.releaseKept();
  assert.deepEqual([a.keptCount, a.laterCount, a.freeCount], [0, 10, 29], 'released: given back as freeLater\'s, counted once');
  assert.equal(a.drainLater(1000), 10);
  for (let i = 0; i < 10; i++) assert.ok(a.isFree(left + i));
});

test('next-fit over long full stretches (the search skips full words by a summary): seeded allocs, frees and runs hand out what a page-by-page scan would', () => {
  for (const seed of [1, 2, 3]) {
    const pages = 40_000;
    const { banned, mb } = setup(pages);
    banned.add(5000, 5100);
    banned.add(30_000, 31_999);
    mb.reserve(100, 20_000, Owner.Data, 'a large file');          // a long owned stretch the search crosses
    const a = PageAllocator.fromMemblock(mb);
    const pool = new Set<number>();
    for (let p = 0; p < pages; p++) if (a.isFree(p) && !banned.contains(p)) pool.add(p);
    const owned: number[] = [];
    let x = seed;
    const rand = (n: number): number => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x % n; };
    const firstFrom = (from: number): number => {
      for (let p = from; p < pages; p++) if (pool.has(p)) return p;
      for (let p = 0; p < from; p++) if (pool.has(p)) return p;
      return -1;
    };
    for (let step = 0; step < 3000; step++) {
      const op = rand(10);
      if (op < 6 || owned.length === 0) {
        const hint = rand(pages);
        const want = firstFrom(hint);
        const got = a.alloc(Owner.Data, hint);
        a.releaseHeld();
        assert.equal(got, want, `seed ${seed} step ${step}: alloc from ${hint}`);
        if (got >= 0) { pool.delete(got); owned.push(got); }
      } else if (op < 9) {
        const k = rand(owned.length);
        const pfn = owned[k]!;
        owned[k] = owned[owned.length - 1]!; owned.pop();
        a.free(pfn);
        pool.add(pfn);
      } else {
        const got = a.allocRun(Owner.Data, 3, rand(pages));
        a.releaseHeld();
        if (got >= 0) for (let p = got; p < got + 3; p++) { assert.ok(pool.delete(p), `seed ${seed} step ${step}: run page ${p} was free`); owned.push(p); }
      }
    }
    assert.equal(a.freeCount, pool.size, `seed ${seed}: the count follows`);
  }
});
