// runCrcs, the batch check of a full mount: through the mapping or with pread
// from the arena's fd (neighbouring runs read together), on one thread or two, every run's crc32c equals the
// page-by-page reference — runs across a mapping segment boundary included —
// and on a damaged arena the verdicts of every path agree and fall on exactly
// the damaged runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Arena } from '../mem/arena.js';
import { crc32c } from '../format/crc.js';
import { Prng } from '../machine/prng.js';
import { runCrcs } from './verify.js';

const PS = 4096;
const PAGES = 2048;                  // 8 MiB
const SEGMENT = 1 << 20;             // 256 pages a segment: runs cross boundaries

function reference(a: Arena, pfn: number, count: number): number {
  let c = 0;
  for (let q = pfn; q < pfn + count; q++) c = crc32c(a.page(q), c);
  return c;
}

function withArena(name: string, fn: (a: Arena, r: Prng) => void): void {
  const path = `/dev/shm/verify-test-${name}-${process.pid}.pram`;
  const seed = Number(process.env.SEED ?? 0x5eed13);
  const a = Arena.create(path, { sizeBytes: PAGES * PS, pageSize: PS, maxSegmentBytes: SEGMENT });
  try {
    const r = new Prng(seed);
    for (let q = 1; q < PAGES; q++) { const p = a.page(q); for (let i = 0; i < PS; i += 4) p.writeUInt32LE(r.below(0x100000000), i); }
    fn(a, r);
  } catch (e) {
    console.log(`SEED=${seed}`);
    throw e;
  } finally {
    a.close();
    fs.rmSync(path, { force: true });
  }
}

/** Random runs of 1..32 pages, some across a segment boundary. */
function runs(r: Prng, n: number): { pfns: number[]; counts: number[] } {
  const pfns: number[] = [], counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const count = 1 + r.below(32);
    const pfn = i % 4 === 0 ? Math.max(1, 256 * (1 + r.below(7)) - r.below(count)) : 1 + r.below(PAGES - 1 - count);
    pfns.push(pfn); counts.push(count);
  }
  return { pfns, counts };
}

test('runCrcs gives every run its page-by-page crc32c: mapping or pread, one thread or two, across segment boundaries', () => {
  withArena('paths', (a, r) => {
    const { pfns, counts } = runs(r, 400);
    // A file written page by page: lone pages one after another (read together, checked one by one), then whole runs.
    for (let q = 100; q < 700; q++) { pfns.push(q); counts.push(1); }
    for (let q = 700; q + 32 <= 2000; q += 32) { pfns.push(q); counts.push(32); }
    const want = pfns.map((p, i) => reference(a, p, counts[i]!));
    assert.ok(pfns.some((p, i) => Math.floor(p / 256) !== Math.floor((p + counts[i]! - 1) / 256)), 'some run crosses a segment');
    for (const opts of [{}, { threads: 1 }, { threads: 2 }, { pread: true, threads: 1 }, { pread: true, threads: 2 }, { pread: true, threads: 3 }]) {
      assert.deepEqual([...runCrcs(a, pfns, counts, opts)], want, JSON.stringify(opts));
    }
    assert.deepEqual([...runCrcs(a, [], [], { pread: true, threads: 2 })], [], 'an empty batch');
  });
});

test('on a damaged arena, the threaded pread path and the one-thread mapping path fail exactly the runs holding a flipped bit', () => {
  withArena('damage', (a, r) => {
    const { pfns, counts } = runs(r, 300);
    const saved = pfns.map((p, i) => reference(a, p, counts[i]!));
    const flipped = new Set<number>();
    for (let k = 0; k < 12; k++) {
      const pfn = 1 + r.below(PAGES - 1), bit = r.below(PS * 8);
      a.page(pfn)[bit >> 3]! ^= 1 << (bit & 7);
      flipped.add(pfn);
    }
    const damaged = pfns.map((p, i) => [...flipped].some((q) => q >= p && q < p + counts[i]!));
    assert.ok(damaged.some(Boolean) && !damaged.every(Boolean), 'some runs damaged, some not');
    const one = runCrcs(a, pfns, counts, { threads: 1 });
    const two = runCrcs(a, pfns, counts, { pread: true, threads: 2 });
    const bad = (c: Uint32Array) => saved.map((s, i) => c[i] !== s);
    assert.deepEqual(bad(one), damaged, 'mapping, one thread');
    assert.deepEqual(bad(two), damaged, 'pread, two threads');
  });
});
