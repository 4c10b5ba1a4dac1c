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

test('a load\'s runs past every page stay runs until a call needs the chunks: eachRun and count see them, every other call sees them filled; a watched map fills at once (seeded)', () => {
  const seed = Number(process.env.PRAM_SEED ?? Date.now() % 100000);
  let x = seed;
  const rand = (n: number) => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
  for (let round = 0; round < 100; round++) {
    const m = new RadixPageMap(), model = new Map<number, number>(), runs: [number, number, number][] = [];
    // Ascending runs, some adjacent (in index and pfn), some past a hole, over several chunks.
    for (let i = 0, at = rand(3) === 0 ? rand(50) : 0; i < 1 + rand(12); i++) {
      const len = 1 + rand(3 * CHUNK_PAGES), pfn = rand(3) === 0 && runs.length ? runs[runs.length - 1]![1] + runs[runs.length - 1]![2] : 1 + rand(1e6);
      m.setRun(at, pfn, len);
      runs.push([at, pfn, len]);
      for (let k = 0; k < len; k++) model.set(at + k, pfn + k);
      at += len + (rand(2) ? 0 : 1 + rand(2000));
    }
    assert.equal(m.count, model.size, `seed ${seed}: count with the runs pending`);
    const seen: number[] = [];
    m.eachRun((index, pfn, count) => { for (let k = 0; k < count; k++) seen.push(index + k, pfn + k); });
    assert.deepEqual(seen, [...model].flat(), `seed ${seed}: eachRun, ascending`);
    const probe = rand(3);   // the first call after the load: any of them fills the chunks
    if (probe === 0) assert.equal(m.get(runs[0]![0]), runs[0]![1]);
    else if (probe === 1) assert.equal(m.lastIndex(), Math.max(...model.keys()));
    else { m.delete(runs[0]![0]); model.delete(runs[0]![0]); }
    assert.deepEqual([...m.entries()], [...model], `seed ${seed}: entries after the load`);
    assert.equal(m.count, model.size);
  }
  // Watched (a write's setRun, hook set): every page told at once, the map usable at once.
  const told: number[] = [], w = new RadixPageMap();
  w.onChange = (_, i) => told.push(i);
  w.setRun(0, 100, 3);
  w.setRun(10, 500, 2);
  assert.deepEqual(told, [0, 1, 2, 10, 11]);
  assert.deepEqual([...w.entries()], [[0, 100], [1, 101], [2, 102], [10, 500], [11, 501]]);
});

test('get() and run() with a load\'s runs pending answer as the filled map does and leave them pending (seeded)', () => {
  const seed = Number(process.env.PRAM_SEED ?? Date.now() % 100000);
  console.log(`pagemap pending seed ${seed} (PRAM_SEED=${seed} repeats it)`);
  let x = seed;
  const rand = (n: number) => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
  const pending = (m: RadixPageMap): boolean => (m as unknown as { later: unknown }).later !== null;
  for (let round = 0; round < 100; round++) {
    const m = new RadixPageMap(), filled = new RadixPageMap(), edges: number[] = [0];
    // A compact first run or none, then ascending runs, some adjacent in index (not in pfn), some past a hole.
    for (let i = 0, at = rand(3) === 0 ? rand(50) : 0; i < 1 + rand(12); i++) {
      const len = 1 + rand(3 * CHUNK_PAGES), pfn = 1 + rand(1e6);
      m.setRun(at, pfn, len);
      filled.setRun(at, pfn, len);
      edges.push(at - 1, at, at + 1, at + len - 1, at + len, at + len + 1);
      at += len + (rand(2) ? 0 : 1 + rand(2000));
    }
    filled.lastIndex();                              // fills its chunks
    assert.ok(pending(m) || m.count === filled.count, 'the load left runs pending (or one compact run)');
    const wasPending = pending(m);
    for (const i of [...edges, ...Array.from({ length: 50 }, () => rand(edges[edges.length - 1]! + 10))]) {
      if (i < 0) continue;
      const max = 1 + rand(4 * CHUNK_PAGES);
      assert.equal(m.get(i), filled.get(i), `seed ${seed} round ${round}: get(${i})`);
      assert.equal(m.run(i, max), filled.run(i, max), `seed ${seed} round ${round}: run(${i}, ${max})`);
    }
    assert.equal(pending(m), wasPending, `seed ${seed} round ${round}: still pending after the look-ups`);
    assert.deepEqual([...m.entries()], [...filled.entries()], `seed ${seed} round ${round}: the same pages once filled`);
  }
});
