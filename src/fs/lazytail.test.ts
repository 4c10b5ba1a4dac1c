// A compaction's HOMES runs (v3 minor 3, docs/FORMAT.md §v3 RUNS): the group holding each node
// the compaction wrote, found by binary search, so a lazy mount can place a later commit's
// records (pram/lazy.ts homeOf). Seeded trees with hard links across directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import type { Volume } from './volume.js';
import { copyRam, dump, mountOn, randomOp, randomTree } from './livekit.js';

/** Every node reached from the root: ino -> the directories naming it. */
function parents(vol: Volume): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const walk = (dir: number) => {
    const list = vol.readdir(dir, 0, 1 << 20);
    if (typeof list === 'number') throw new Error(`readdir ${dir}: ${list}`);
    for (const e of list) {
      if (e.name === '.' || e.name === '..') continue;
      const l = out.get(e.ino);
      if (l) l.push(dir); else out.set(e.ino, [dir]);
      if (((vol.getattr(e.ino) as { mode: number }).mode & 0o170000) === 0o040000) walk(e.ino);
    }
  };
  walk(1);
  return out;
}

test('HOMES: every node the compaction wrote has the home whose group holds it (a directory its own, a linked node its index home, any other its one directory)', () => {
  for (const seed of [21, 22, 23, 24]) {
    const { ram, vol } = randomTree(seed, 250);
    assert.equal(vol.sync(), 0);
    vol.detach();
    const lazy = mountOn(ram, { verify: 'lazy' });
    const log = lazy.pram!.lazyLog!;
    assert.ok(log, `seed ${seed}: booted lazily`);
    assert.ok(log.index.runs!.homes.length > 0, `seed ${seed}: HOMES written`);
    const named = parents(lazy);                   // loads every group
    let linked = 0;
    assert.equal(log.homeOf(1), 1);
    assert.equal(log.parentOf(1), 1, 'the root is its own parent');
    for (const [ino, dirs] of named) {
      const isDir = log.isDir(ino);
      const want = isDir ? ino : dirs.length > 1 ? log.groupOf(ino) : dirs[0]!;
      if (!isDir && dirs.length > 1) { linked++; assert.ok(dirs.includes(want), `seed ${seed}: ino ${ino}'s home names it`); }
      assert.equal(log.homeOf(ino), want, `seed ${seed}: ino ${ino} named in ${dirs.join(',')}`);
      if (isDir) assert.equal(log.parentOf(ino), dirs[0], `seed ${seed}: directory ${ino}'s parent`);
    }
    assert.ok(linked > 0, `seed ${seed}: the tree has hard links across directories`);
    assert.equal(log.homeOf(log.maxIno + 1), 0, 'an ino above the compaction\'s has no home');
    assert.deepEqual(lazy.losses, []);
    lazy.detach();
  }
});

const shapeOf = (vol: Volume) => { const s = vol.pram!.space.shape; return { bytes: s.bytes, data: s.data, inline: s.inline }; };

/** A seeded tree compacted whole, then `ops` seeded changes committed after it (a tail), `syncs` times. */
function withTail(seed: number, ops: number, syncs = 3): SimRam {
  const { ram, vol } = randomTree(seed, 250);
  assert.equal(vol.sync(), 0);
  const r = new Prng(seed * 7 + 1);
  for (let s = 0; s < syncs; s++) {
    for (let i = 0; i < ops; i++) randomOp(vol, r);
    assert.equal(vol.sync(), 0);
  }
  vol.detach();
  return ram;
}

test('a tail of creates, writes, truncates, punched holes, renames and links across directories, unlinks, chmod and xattrs: the lazy mount equals the full replay, statfs and the space model too', () => {
  for (const seed of [31, 32, 33, 34, 35, 36, 37, 38]) {
    const ram = withTail(seed, 6);
    const full = mountOn(copyRam(ram), { verify: 'full' });
    const want = dump(full), wantFs = full.statfs(), wantShape = shapeOf(full);
    const lazy = mountOn(ram, { verify: 'lazy' });
    assert.ok(lazy.pram!.lazyLog?.tail, `seed ${seed}: booted lazily with its tail`);
    assert.deepEqual(lazy.statfs(), wantFs, `seed ${seed}: statfs before any directory loads`);
    assert.deepEqual(shapeOf(lazy), wantShape, `seed ${seed}: the space model before any directory loads`);
    assert.deepEqual(dump(lazy), want, `seed ${seed}: the tree`);
    assert.deepEqual(lazy.statfs(), wantFs, `seed ${seed}: statfs after`);
    assert.deepEqual(shapeOf(lazy), wantShape, `seed ${seed}: the space model after`);
    assert.deepEqual(lazy.losses, [], `seed ${seed}`);
    full.detach();
    lazy.detach();
  }
});
