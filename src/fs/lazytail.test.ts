// A compaction's HOMES runs (v3 minor 3, docs/FORMAT.md §v3 RUNS): the group holding each node
// the compaction wrote, found by binary search, so a lazy mount can place a later commit's
// records (pram/lazy.ts homeOf). Seeded trees with hard links across directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import type { Volume } from './volume.js';
import { copyRam, dump, lazyEqualsFull, logRecords, mountOn, PS, randomOp, randomTree } from './livekit.js';

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
    lazyEqualsFull(withTail(seed, 6), `seed ${seed}`, (lazy) => assert.ok(lazy.pram!.lazyLog?.tail, `seed ${seed}: booted lazily with its tail`));
  }
});

test('writes after a lazy mount with a tail take no page the image holds: remounted whole, every page verifies, the tree and statfs are the lazy volume\'s', () => {
  for (const seed of [41, 42, 43, 44]) {
    const ram = withTail(seed, 6);
    const lazy = mountOn(ram, { verify: 'lazy' });
    assert.ok(lazy.pram!.lazyLog?.tail, `seed ${seed}: booted lazily with its tail`);
    const r = new Prng(seed);
    for (let i = 0; i < 12; i++) randomOp(lazy, r);
    assert.equal(lazy.sync(), 0);
    const want = dump(lazy), wantFs = lazy.statfs();
    lazy.detach();
    const back = mountOn(ram, { verify: 'full' });
    assert.deepEqual(back.losses, [], `seed ${seed}: every page verifies (none was given out twice)`);
    assert.deepEqual(dump(back), want, `seed ${seed}: the full replay of what the lazy mount wrote`);
    assert.deepEqual(back.statfs(), wantFs, `seed ${seed}: statfs (no page leaked, none taken twice)`);
    back.detach();
  }
});

test('a deep directory moved by the tail under a directory written after it, a new directory in it, its parents never loaded: lookups find it, and the tree equals the full replay', () => {
  for (const seed of [51, 52]) {
    const { ram, vol } = randomTree(seed, 250);
    assert.equal(vol.sync(), 0);
    const walk = (v: Volume, path: string[]) => path.reduce((dir, name) => (v.lookup(dir, name) as { ino: number }).ino, 1);
    const deep = walk(vol, ['d0', 'd1', 'd2', 'd3']);
    const top = vol.mkdir(1, 'top', 0o755, 0, 0) as { ino: number };
    assert.equal(vol.rename(walk(vol, ['d0', 'd1', 'd2']), 'd3', top.ino, 'moved', 0), 0);
    const sub = vol.mkdir(deep, 'fresh', 0o700, 0, 0) as { ino: number };
    const f = vol.mknod(sub.ino, 'f', 0o100600, 0, 0, 0) as { ino: number };
    assert.equal(vol.write(f.ino, 0, Buffer.alloc(3 * PS + 5, seed)), 3 * PS + 5);
    assert.equal(vol.sync(), 0);
    vol.detach();
    const full = mountOn(copyRam(ram), { verify: 'full' });
    const lazy = mountOn(ram, { verify: 'lazy' });
    assert.ok(lazy.pram!.lazyLog?.tail, `seed ${seed}: booted lazily with its tail`);
    const at = walk(lazy, ['top', 'moved', 'fresh', 'f']);
    assert.equal(at, f.ino);
    assert.deepEqual(Buffer.from(lazy.read(at, 0, 3 * PS + 5) as Uint8Array), Buffer.alloc(3 * PS + 5, seed));
    assert.deepEqual(dump(lazy), dump(full), `seed ${seed}`);
    assert.deepEqual(lazy.losses, []);
    full.detach();
    lazy.detach();
  }
});

test('a damaged last record of the tail: the log is replayed whole, with the replay\'s rules (the commit before it loads, the loss said)', () => {
  const ram = withTail(61, 4, 2);
  const recs = logRecords(ram);
  const last = recs[recs.length - 1]!;
  ram.page(last.pfn)[last.off + 16] ^= 0x40;            // a payload byte of the last record
  const full = mountOn(copyRam(ram), { verify: 'full' });
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.equal(lazy.pram!.lazyLog, null, 'not booted from the index');
  assert.ok(lazy.losses.length > 0, 'the damage is reported');
  assert.deepEqual(lazy.losses.map((l) => l.what), full.losses.map((l) => l.what));
  assert.deepEqual(dump(lazy), dump(full));
  full.detach();
  lazy.detach();
});
