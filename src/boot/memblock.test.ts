import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BannedRegions } from './banned.js';
import { Owner, PageFrames } from './frames.js';
import { Memblock } from './memblock.js';

function setup(pages = 64) {
  const frames = new PageFrames(pages);
  const banned = new BannedRegions();
  return { frames, banned, mb: new Memblock(frames, banned) };
}

test('a reservation marks its pages and bans them', () => {
  const { frames, banned, mb } = setup();
  assert.equal(mb.reserve(4, 3, Owner.Reserved, 'kernel image'), true);
  assert.deepEqual([4, 5, 6].map((p) => frames.owner[p]), [Owner.Reserved, Owner.Reserved, Owner.Reserved]);
  assert.deepEqual(banned.regions(), [{ start: 4, end: 6 }]);
  assert.deepEqual(mb.reservations(), [{ start: 4, count: 3, owner: Owner.Reserved, what: 'kernel image' }]);
});

test('busy: a reservation overlapping another fails and reserves nothing', () => {
  const { frames, mb } = setup();
  mb.reserve(10, 2, Owner.Reserved, 'initrd');
  assert.equal(mb.reserve(8, 3, Owner.Reserved, 'early'), false);
  assert.equal(frames.owner[8], Owner.None);
  assert.equal(frames.owner[9], Owner.None);
  assert.equal(mb.busyPfn(8, 3), 10);
  assert.equal(mb.reserve(60, 10, Owner.Reserved, 'past the end'), false);
  assert.equal(frames.owner[60], Owner.None);
});

test('a hole is busy', () => {
  const { frames, mb } = setup();
  frames.owner[20] = Owner.Hole;
  assert.equal(mb.reserve(19, 2, Owner.Reserved, 'x'), false);
});

test('banWhileReserving=false (pram reserving its chain) reserves without banning', () => {
  const { banned, mb } = setup();
  mb.banWhileReserving = false;
  for (let p = 30; p < 35; p++) assert.equal(mb.reserve(p, 1, Owner.Reserved, 'pram'), true);
  mb.banWhileReserving = true;
  assert.equal(banned.count, 0);
  assert.deepEqual(mb.reservations(), [{ start: 30, count: 5, owner: Owner.Reserved, what: 'pram' }],
    'page-by-page reservations of one kind read as one run');
});

test('unreserve gives pages back; the ban stays', () => {
  const { frames, banned, mb } = setup();
  mb.reserve(0, 8, Owner.Reserved, 'a');
  mb.unreserve(2, 2);
  assert.equal(frames.owner[2], Owner.None);
  assert.equal(mb.isReserved(2), false);
  assert.equal(mb.isReserved(4), true);
  assert.deepEqual(mb.reservations().map((r) => [r.start, r.count]), [[0, 2], [4, 4]]);
  assert.equal(banned.contains(2), true);
  assert.equal(mb.reservedCount(), 6);
  assert.throws(() => mb.unreserve(2, 1));
});

test('busyPfn over long ranges (four owners a word) names the first busy pfn exactly, at every alignment, and past the end', () => {
  const { frames, mb } = setup(1000);
  const busy = [3, 130, 131, 517, 998];
  for (const p of busy) frames.owner[p] = Owner.Data;
  const naive = (start: number, count: number) => {
    for (let p = start; p < start + count; p++) if (p >= 1000 || frames.owner[p] !== Owner.None) return p;
    return -1;
  };
  for (let start = 0; start < 200; start += 7) {
    for (const count of [1, 63, 64, 65, 127, 400, 1000 - start, 1001 - start, 1200]) assert.equal(mb.busyPfn(start, count), naive(start, count), `${start}+${count}`);
  }
  assert.equal(mb.busyPfn(4, 126), -1);
  assert.equal(mb.busyPfn(132, 385), -1);
});

test('busyPfn over ranges of several 64 KiB compares: a busy page in the second or last piece is found, a free range is free', () => {
  const pages = 3 * 65536 + 100;
  const { frames, mb } = setup(pages);
  assert.equal(mb.busyPfn(0, pages), -1);
  assert.equal(mb.busyPfn(1, pages - 1), -1);
  frames.owner[65536 + 70_000 - 65536] = Owner.Data;           // pfn 70 000: in the second piece of a range from 0
  frames.owner[pages - 1] = Owner.Meta;                          // the last page
  assert.equal(mb.busyPfn(0, pages), 70_000);
  assert.equal(mb.busyPfn(5, 70_000 - 5), -1);
  assert.equal(mb.busyPfn(70_001, pages - 70_001), pages - 1);
  assert.equal(mb.busyPfn(70_001, pages - 70_002), -1);
  assert.equal(mb.busyPfn(70_001, pages), pages - 1);            // the busy last page before the end
});

test('records kept as runs until first asked answer as a per-pfn table would: merged, counted, unreserved', () => {
  // The same reservations twice: one memblock asked (its table made) before the last reserves, one only after.
  const plan: [number, number, Owner, string][] = [[10, 2, Owner.Meta, 'pram log'], [20, 4, Owner.Data, 'pram data'], [24, 3, Owner.Data, 'pram data'],
    [12, 1, Owner.Meta, 'pram log'], [27, 2, Owner.Meta, 'pram log'], [30, 5, Owner.Data, 'pram data'], [35, 1, Owner.Data, 'pram data']];
  const early = setup(), late = setup();
  for (const [i, [s, c, o, w]] of plan.entries()) {
    if (i === 3) assert.equal(early.mb.isReserved(21), true);   // makes early's table mid-way
    assert.equal(early.mb.reserve(s, c, o, w), true);
    assert.equal(late.mb.reserve(s, c, o, w), true);
  }
  assert.equal(late.mb.reservedCount(), 18);                   // counted from the runs
  const want = [{ start: 10, count: 3, owner: Owner.Meta, what: 'pram log' }, { start: 20, count: 7, owner: Owner.Data, what: 'pram data' },
    { start: 27, count: 2, owner: Owner.Meta, what: 'pram log' }, { start: 30, count: 6, owner: Owner.Data, what: 'pram data' }];
  assert.deepEqual(late.mb.reservations(), want);
  assert.deepEqual(early.mb.reservations(), want);
  for (const { mb } of [early, late]) {
    assert.equal(mb.reservedCount(), 18);
    assert.deepEqual([9, 10, 12, 13, 19, 26, 35, 36].map((p) => mb.isReserved(p)), [false, true, true, false, false, true, true, false]);
    mb.unreserve(24, 3);
    assert.equal(mb.isReserved(25), false);
    assert.equal(mb.reservedCount(), 15);
    assert.throws(() => mb.unreserve(24, 1), /not reserved/);
  }
});
