import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimRam } from './simram.js';

test('pages are distinct views of zeroed memory', () => {
  const ram = new SimRam({ pageSize: 4096, pageCount: 16 });
  assert.equal(ram.page(3).length, 4096);
  assert.ok(ram.page(3).every((b) => b === 0));
  ram.page(3).fill(0xab);
  assert.equal(ram.page(3)[4095], 0xab);
  assert.equal(ram.page(2)[4095], 0);
  assert.equal(ram.page(4)[0], 0);
  // a run sees what the single-page views wrote
  const r = ram.run(2, 3)!;
  assert.equal(r.length, 3 * 4096);
  assert.equal(r[4096], 0xab);
  assert.equal(r[0], 0);
});

test('holes are absent: page throws RangeError, present is false, run is null', () => {
  const ram = new SimRam({ pageSize: 1024, pageCount: 100, holes: [{ start: 10, end: 19 }, { start: 50, end: 50 }] });
  assert.equal(ram.present(9), true);
  assert.equal(ram.present(10), false);
  assert.equal(ram.present(19), false);
  assert.equal(ram.present(20), true);
  assert.equal(ram.present(50), false);
  assert.throws(() => ram.page(15), RangeError);
  assert.throws(() => ram.page(50), RangeError);
  assert.doesNotThrow(() => ram.page(49));
  assert.equal(ram.run(5, 5)!.length, 5 * 1024);
  assert.equal(ram.run(5, 6), null);
  assert.equal(ram.run(19, 2), null);
  assert.equal(ram.run(49, 2), null);
  assert.equal(ram.run(20, 30)!.length, 30 * 1024);
});

test('out of range pfns throw and are not present', () => {
  const ram = new SimRam({ pageSize: 4096, pageCount: 8 });
  assert.throws(() => ram.page(8), RangeError);
  assert.throws(() => ram.page(-1), RangeError);
  assert.throws(() => ram.page(1.5), RangeError);
  assert.equal(ram.present(8), false);
  assert.equal(ram.run(6, 3), null);
  assert.equal(ram.run(0, 0), null);
});

test('overlapping holes merge; holes beyond memory are clipped', () => {
  const ram = new SimRam({ pageSize: 1024, pageCount: 32, holes: [{ start: 8, end: 12 }, { start: 4, end: 9 }, { start: 30, end: 99 }, { start: 40, end: 50 }] });
  assert.deepEqual(ram.holes, [{ start: 4, end: 12 }, { start: 30, end: 31 }]);
  assert.throws(() => new SimRam({ pageSize: 1024, pageCount: 4, holes: [{ start: 3, end: 2 }] }), RangeError);
});

test('runs never cross a segment', () => {
  const ram = new SimRam({ pageSize: 1024, pageCount: 10, maxSegmentBytes: 4096 });
  assert.equal(ram.run(0, 4)!.length, 4096);
  assert.equal(ram.run(2, 4), null);
  assert.equal(ram.run(4, 4)!.length, 4096);
  assert.equal(ram.run(8, 2)!.length, 2048);
  ram.page(3).fill(1);
  ram.page(4).fill(2);
  assert.equal(ram.page(3)[1023], 1);
  assert.equal(ram.page(4)[0], 2);
  assert.equal(ram.page(9).length, 1024);
});

test('bad geometry is refused', () => {
  assert.throws(() => new SimRam({ pageSize: 1000, pageCount: 4 }), RangeError);
  assert.throws(() => new SimRam({ pageSize: 512, pageCount: 4 }), RangeError);
  assert.throws(() => new SimRam({ pageSize: 4096, pageCount: 0 }), RangeError);
});

test('close makes later use fail', () => {
  const ram = new SimRam({ pageSize: 4096, pageCount: 2 });
  ram.sync();
  ram.close();
  assert.throws(() => ram.page(0));
});
