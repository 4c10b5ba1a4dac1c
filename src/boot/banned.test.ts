import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BannedRegions, bannedCapacity } from './banned.js';
import { InvariantError } from '../format/assert.js';

test('a region that touches another merges with it (adjacent on either side)', () => {
  const b = new BannedRegions();
  b.add(10, 19);
  b.add(20, 29);
  b.add(5, 9);
  assert.deepEqual(b.regions(), [{ start: 5, end: 29 }]);
});

test('overlapping regions merge; a contained region changes nothing', () => {
  const b = new BannedRegions();
  b.add(10, 20);
  b.add(15, 30);
  b.add(12, 13);
  assert.deepEqual(b.regions(), [{ start: 10, end: 30 }]);
});

test('a region spanning several merges them all into one', () => {
  const b = new BannedRegions();
  b.add(0, 1); b.add(10, 11); b.add(20, 21); b.add(30, 31); b.add(50, 60);
  b.add(9, 31);
  assert.deepEqual(b.regions(), [{ start: 0, end: 1 }, { start: 9, end: 31 }, { start: 50, end: 60 }]);
  b.add(2, 8); // fills the gap exactly: the two neighbours and it become one
  assert.deepEqual(b.regions(), [{ start: 0, end: 31 }, { start: 50, end: 60 }]);
});

test('regions are kept sorted whatever the insertion order', () => {
  const b = new BannedRegions();
  for (const s of [50, 10, 30, 0, 70]) b.add(s, s + 2);
  assert.deepEqual(b.regions().map((r) => r.start), [0, 10, 30, 50, 70]);
});

test('filling capacity: a new region is refused and logged, merges still work', () => {
  const log: string[] = [];
  const b = new BannedRegions(bannedCapacity(1), (l) => log.push(l));
  assert.equal(b.capacity, 34);
  for (let i = 0; i < 34; i++) assert.equal(b.add(i * 10, i * 10 + 1), true);
  assert.equal(b.add(1000, 1001), false);
  assert.deepEqual(log, ['PRAM: Failed to ban 1000-1001: Too many banned regions']);
  assert.equal(b.count, 34);
  assert.equal(b.contains(1000), false);
  assert.equal(b.add(2, 3), true, 'a merge needs no new slot');
  assert.deepEqual(b.regions()[0], { start: 0, end: 3 });
  assert.equal(b.add(4, 335), true, 'a merge spanning many frees slots');
  assert.equal(b.count, 1);
});

test('contains: binary search over the regions, edges included', () => {
  const b = new BannedRegions();
  b.add(100, 199); b.add(300, 300); b.add(1000, 2000);
  const inside = new Set<number>();
  for (const r of b.regions()) for (let p = r.start; p <= r.end; p++) inside.add(p);
  for (let p = 0; p < 2100; p++) assert.equal(b.contains(p), inside.has(p), `pfn ${p}`);
  assert.deepEqual(b.regionOf(150), { start: 100, end: 199 });
  assert.equal(b.regionOf(250), null);
});

test('random adds agree with a page-set model and keep the invariants', () => {
  let x = 12345;
  const rnd = (n: number) => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x % n; };
  const b = new BannedRegions(1000);
  const model = new Uint8Array(600);
  for (let i = 0; i < 300; i++) {
    const s = rnd(580), e = s + rnd(20);
    b.add(s, e);
    model.fill(1, s, e + 1);
  }
  for (let p = 0; p < 600; p++) assert.equal(b.contains(p), model[p] === 1, `pfn ${p}`);
  const rs = b.regions();
  for (let i = 1; i < rs.length; i++) assert.ok(rs[i - 1]!.end + 1 < rs[i]!.start);
});

test('table: index, start and end in hex, pages; total line', () => {
  const b = new BannedRegions();
  b.add(0, 0x7fff); b.add(0x10000, 0x10001);
  assert.deepEqual(b.table(), [
    'PRAM: banned regions:',
    '   0: [00000000 - 00007fff] 32768 pages',
    '   1: [00010000 - 00010001] 2 pages',
    'Total banned: 32770 pages in 2 regions',
  ]);
});

test('a reversed range is a bug, not input', () => {
  assert.throws(() => new BannedRegions().add(5, 4), InvariantError);
});

test('enabled=false turns banning off (the sim\'s --no-ban)', () => {
  const b = new BannedRegions();
  b.enabled = false;
  assert.equal(b.add(0, 100), true);
  assert.equal(b.contains(5), false);
  assert.equal(b.count, 0);
});
