import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../machine/prng.js';
import { PageAllocator } from './allocator.js';
import { BannedRegions } from './banned.js';
import { Owner, PageFrames } from './frames.js';
import { Memblock } from './memblock.js';

const OWNERS = [Owner.Reserved, Owner.Meta, Owner.Data, Owner.Header] as const;

/** Disjoint seeded ranges over `pages` pfns (adjacent ones, of one owner or not, among them), in a seeded order. */
function ranges(r: Prng, pages: number, n: number): { start: number; count: number; owner: Owner }[] {
  const out: { start: number; count: number; owner: Owner }[] = [];
  for (let pfn = r.below(4); pfn < pages && out.length < n;) {
    const count = 1 + r.below(Math.min(40, pages - pfn));
    out.push({ start: pfn, count, owner: OWNERS[r.below(r.chance(0.5) ? 1 : OWNERS.length)]! });
    pfn += count + (r.chance(0.4) ? 0 : r.below(30));
  }
  for (let i = out.length - 1; i > 0; i--) { const j = r.below(i + 1); [out[i], out[j]] = [out[j]!, out[i]!]; }
  return out;
}

test('owners set by ranges: the first owned pfn of any range, then the table, are a plain table\'s (seeded; more ranges than are kept as ranges)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = new Prng(seed), pages = seed < 4 ? 20_000 : 100_000;
    const frames = new PageFrames(pages), plain = new Uint8Array(pages);
    const all = ranges(r, pages, seed < 4 ? 200 : 2000);
    for (const { start, count, owner } of all) {
      frames.setOwners(start, count, owner);
      plain.fill(owner, start, start + count);
      if (!frames.deferred) continue;
      for (let q = 0; q < 20; q++) {
        const a = r.below(pages), b = Math.min(pages, a + 1 + r.below(300));
        let want = -1;
        for (let p = a; p < b; p++) if (plain[p] !== Owner.None) { want = p; break; }
        assert.equal(frames.firstOwned(a, b), want, `seed ${seed}: first owned of ${a}..${b - 1}`);
      }
    }
    assert.equal(frames.deferred, seed < 4, `seed ${seed}: ${all.length} ranges kept as ranges up to a bound`);
    assert.deepEqual(frames.owner, plain, `seed ${seed}: the table`);
    assert.equal(frames.deferred, false);
    frames.setOwners(5, 3, Owner.Kernel);          // written straight into the table now
    assert.deepEqual([...frames.owner.subarray(5, 8)], [Owner.Kernel, Owner.Kernel, Owner.Kernel]);
  }
});

test('ranges set in pfn order stay ranges past the bound for those out of order; the table is written past their own', () => {
  const frames = new PageFrames(200_000), plain = new Uint8Array(200_000);
  for (let k = 0; k < 16384; k++) {
    const owner = k % 2 ? Owner.Meta : Owner.Data;   // alternating: no two join
    frames.setOwners(1 + 10 * k, 7, owner);
    plain.fill(owner, 1 + 10 * k, 8 + 10 * k);
  }
  assert.equal(frames.deferred, true, '16384 ranges in pfn order');
  assert.equal(frames.firstOwned(8 + 10 * 5000, 11 + 10 * 5000), -1);
  assert.equal(frames.firstOwned(8 + 10 * 5000, 12 + 10 * 5000), 11 + 10 * 5000);
  frames.setOwners(199_990, 5, Owner.Data);
  plain.fill(Owner.Data, 199_990, 199_995);
  assert.equal(frames.deferred, false, 'one more: the table');
  assert.deepEqual(frames.owner, plain);
});

test('a range set over another (not memblock\'s way) writes the table: the later owner wins', () => {
  const frames = new PageFrames(100);
  frames.setOwners(10, 20, Owner.Data);
  frames.setOwners(25, 10, Owner.Meta);
  assert.equal(frames.deferred, false);
  assert.equal(frames.owner[24], Owner.Data);
  assert.equal(frames.owner[25], Owner.Meta);
  assert.equal(frames.owner[34], Owner.Meta);
  assert.equal(frames.owner[35], Owner.None);
});

test('memblock on ranges: busy tests, reservations and counts without the table; the allocator from its spans counts free pages as a scan does (seeded banned regions)', () => {
  for (const seed of [11, 12, 13, 14]) {
    const r = new Prng(seed), pages = 5000;
    const frames = new PageFrames(pages), banned = new BannedRegions(), mb = new Memblock(frames, banned);
    mb.banWhileReserving = false;
    for (const { start, count, owner } of ranges(r, pages, 150)) assert.equal(mb.reserve(start, count, owner, 'x'), true);
    assert.equal(mb.reserve(pages - 2, 5, Owner.Data, 'past the end'), false);
    for (let i = 0; i < 12; i++) { const s = r.below(pages); banned.add(s, Math.min(pages + 50, s + r.below(400))); }
    assert.equal(frames.deferred, true, `seed ${seed}: no table written by memblock`);
    const fast = PageAllocator.fromMemblock(mb, { owned: mb.reservedSpans()! });
    const fastFree = fast.freeCount;
    assert.equal(frames.deferred, true, `seed ${seed}: nor by the allocator's count`);
    const scan = new PageAllocator(frames, banned);
    assert.equal(fastFree, scan.freeCount, `seed ${seed}: free pages`);
    for (let p = 0; p < pages; p++) if (fast.isFree(p) !== scan.isFree(p)) assert.fail(`seed ${seed}: pfn ${p}`);
    assert.equal(mb.reservedCount(), pages - frames.countOwned(Owner.None), `seed ${seed}: reserved pages`);
  }
});
