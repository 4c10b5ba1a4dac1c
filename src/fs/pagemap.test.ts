import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_PAGES, RadixPageMap } from './pagemap.js';

test('set, get, delete and count', () => {
  const m = new RadixPageMap();
  assert.equal(m.get(5), 0);
  m.set(5, 100);
  m.set(5, 101);
  m.set(CHUNK_PAGES * 3 + 1, 7);
  assert.equal(m.count, 2);
  assert.equal(m.get(5), 101);
  m.delete(5);
  m.delete(5);
  assert.equal(m.count, 1);
  assert.equal(m.get(5), 0);
});

test('entries come in ascending index order across chunks inserted out of order', () => {
  const m = new RadixPageMap();
  const idx = [CHUNK_PAGES * 9 + 3, 2, CHUNK_PAGES * 2, 1, CHUNK_PAGES * 9];
  idx.forEach((i, k) => m.set(i, k + 1));
  assert.deepEqual([...m.entries()].map(([i]) => i), [...idx].sort((a, b) => a - b));
});

test('a huge sparse index costs one chunk and is found by nextData', () => {
  const m = new RadixPageMap();
  const far = 2 ** 40 + 17;
  m.set(far, 9);
  assert.equal(m.get(far), 9);
  assert.equal(m.nextData(0), far);
  assert.equal(m.nextData(far + 1), -1);
  assert.equal(m.nextHole(far), far + 1);
  assert.equal(m.nextHole(0), 0);
});

test('nextHole skips full chunks', () => {
  const m = new RadixPageMap();
  for (let i = 0; i < CHUNK_PAGES + 5; i++) m.set(i, i + 1);
  assert.equal(m.nextHole(0), CHUNK_PAGES + 5);
  assert.deepEqual([...m.from(CHUNK_PAGES + 3)].map(([i]) => i), [CHUNK_PAGES + 3, CHUNK_PAGES + 4]);
});
