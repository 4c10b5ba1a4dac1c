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

test('compact and radix forms agree with a plain map under random set, setRun, delete (seeded)', () => {
  let s = 12345;
  const rnd = (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
  for (let round = 0; round < 200; round++) {
    const m = new RadixPageMap();
    const model = new Map<number, number>();
    const base = 1 + rnd(1000);
    for (let op = 0; op < 40; op++) {
      const k = rnd(10);
      const at = model.size && rnd(2) ? Math.max(...model.keys()) + (rnd(3) - 1) : rnd(2100);
      const index = Math.max(0, at);
      if (k < 5) { const pfn = rnd(4) ? base + index : 1 + rnd(5000); m.set(index, pfn); model.set(index, pfn); }
      else if (k < 7) { const n = 1 + rnd(40); m.setRun(index, base + index, n); for (let i = 0; i < n; i++) model.set(index + i, base + index + i); }
      else m.delete(index), model.delete(index);
      assert.equal(m.count, model.size);
    }
    const want = [...model.entries()].sort((a, b) => a[0] - b[0]);
    assert.deepEqual([...m.entries()], want);
    for (let i = 0; i < 2200; i += 7) assert.equal(m.get(i), model.get(i) ?? 0);
    const q = rnd(2100);
    const data = want.find(([i]) => i >= q)?.[0] ?? -1;
    assert.equal(m.nextData(q), data);
    let hole = q; while (model.has(hole)) hole++;
    assert.equal(m.nextHole(q), hole);
    assert.equal(m.lastIndex(), want.length ? want[want.length - 1]![0] : -1);
    assert.deepEqual([...m.from(q)], want.filter(([i]) => i >= q));
  }
});

test('run(): consecutive pfns or holes from an index, in compact and chunked form, against get()', () => {
  const seed = Number(process.env.PRAM_SEED ?? Date.now() % 100000);
  let x = seed;
  const rand = (n: number) => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
  const naive = (m: RadixPageMap, index: number, max: number) => {
    const first = m.get(index);
    let n = 1;
    while (n < max && (first === 0 ? m.get(index + n) === 0 : m.get(index + n) === first + n)) n++;
    return n;
  };
  const compact = new RadixPageMap();
  compact.setRun(0, 50, 40);
  const chunked = new RadixPageMap();
  for (let i = 0; i < 200; i++) {
    const at = rand(3 * CHUNK_PAGES), len = 1 + rand(40), pfn = 1 + rand(100000);
    for (let k = 0; k < len; k++) chunked.set(at + k, pfn + k);
    if (rand(4) === 0) chunked.delete(rand(3 * CHUNK_PAGES));
  }
  for (const m of [compact, chunked]) {
    for (let i = 0; i < 2000; i++) {
      const index = rand(4 * CHUNK_PAGES), max = 1 + rand(2 * CHUNK_PAGES);
      assert.equal(m.run(index, max), naive(m, index, max), `seed ${seed}: run(${index}, ${max})`);
    }
  }
});
