// Writes, unlinks and truncates on a lazy mount (pram/lazy.ts, fs/lazytree.ts) with a tail after the index
// (pram/tail.ts, taildefer.ts), then a full remount: statfs, the space model, the allocator's free count
// and the tree are what the lazy session had; no page is both free and mapped by a file. Seeded: each
// failure names its seed (PRAM_SEEDS=a,b,... runs those).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../machine/prng.js';
import type { Volume } from './volume.js';
import type { Inode } from './inode.js';
import { dump, mountOn, newRam, PS, randomOp, randomTree, shapeOf } from './livekit.js';

/** The tree's nodes (the volume's inode table: tests only). */
const nodes = (vol: Volume): Map<number, Inode> => (vol as unknown as { t: { inodes: Map<number, Inode> } }).t.inodes;

/** Pages the files map, and those of them the allocator holds free (none may be: a free page is handed out again). */
function mappedPages(vol: Volume): { mapped: number; free: number[] } {
  const alloc = vol.pram!.allocator, free: number[] = [];
  let mapped = 0;
  for (const node of nodes(vol).values()) {
    (node as { pages?: { eachRun(f: (i: number, pfn: number, n: number) => void): void } | null }).pages?.eachRun((_i, pfn, n) => {
      mapped += n;
      for (let k = 0; k < n; k++) if (alloc.isFree(pfn + k)) free.push(pfn + k);
    });
  }
  return { mapped, free };
}

const state = (vol: Volume) => ({ fs: vol.statfs(), shape: shapeOf(vol), free: vol.pram!.allocator.freeCount });

/** One seeded session; false when the image did not boot lazily (no index to lead it: nothing to check). */
function session(seed: number, end: 'unmount' | 'detach'): boolean {
  const { ram, vol } = randomTree(seed, 150);
  assert.equal(vol.sync(), 0);
  const r = new Prng(seed * 31 + 7);
  for (let i = 0; i < 20; i++) randomOp(vol, r);
  assert.equal(vol.sync(), 0);
  vol.detach();
  const lazy = mountOn(ram, { verify: 'lazy' });
  if (!lazy.pram!.lazyLog) { lazy.detach(); return false; }
  for (let i = 0; i < 25; i++) randomOp(lazy, r);
  assert.equal(lazy.sync(), 0);
  const want = dump(lazy);
  assert.equal(lazy.sync(), 0);                 // the dump's reads changed atimes: committed before the count
  const had = state(lazy);
  assert.equal(end === 'unmount' ? lazy.unmount() : lazy.detach(), 0);
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, [], `seed ${seed}: every page verifies`);
  const pages = mappedPages(back);
  assert.deepEqual(pages.free, [], `seed ${seed}: no page both free and mapped`);
  assert.equal(pages.mapped, had.shape.data, `seed ${seed}: the files map the data pages the lazy session counted`);
  assert.deepEqual(dump(back), want, `seed ${seed}: the tree`);
  assert.deepEqual(state(back), had, `seed ${seed}: statfs, space model, allocator free`);
  back.detach();
  return true;
}

const seeds = (n: number, base: number): number[] =>
  process.env.PRAM_SEEDS ? process.env.PRAM_SEEDS.split(',').map(Number) : [108, 120, 148, 173, 175, ...Array.from({ length: n }, (_, i) => base + i)];

test('a lazy session of writes, unlinks and truncates, synced and detached: the full remount has its statfs, space model, free pages and tree', () => {
  const ran = seeds(10, 1000).filter((seed) => session(seed, 'detach'));
  assert.ok(ran.length >= 10, `${ran.length} sessions booted lazily`);
});

test('the same session ended by unmount (its compaction): the full remount has its statfs, space model, free pages and tree', () => {
  const ran = seeds(5, 2000).filter((seed) => session(seed, 'unmount'));
  assert.ok(ran.length >= 5, `${ran.length} sessions booted lazily`);
});

test('a node linked from two directories (two groups), renamed after a lazy mount loaded both: charged its two names once', () => {
  const ram = newRam(1024);
  const vol = mountOn(ram);
  const a = (vol.mkdir(1, 'a', 0o755, 0, 0) as { ino: number }).ino, b = (vol.mkdir(1, 'b', 0o755, 0, 0) as { ino: number }).ino;
  const f = (vol.mknod(b, 'file', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.write(f, 0, Buffer.alloc(2 * PS, 7)), 2 * PS);
  assert.notEqual(typeof vol.link(f, a, 'other-name'), 'number');
  assert.equal(vol.sync(), 0);
  vol.detach();
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.ok(lazy.pram!.lazyLog, 'booted lazily');
  assert.equal((lazy.lookup(a, 'other-name') as { ino: number }).ino, f);   // loads a, then the node's home and b
  assert.equal(lazy.rename(a, 'other-name', a, 'renamed-longer-than-before', 0), 0);
  assert.equal(lazy.sync(), 0);
  const had = shapeOf(lazy);
  lazy.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(shapeOf(back), had, 'the space model: each name\'s bytes once');
  back.detach();
});
