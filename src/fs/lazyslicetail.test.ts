// A compaction in slices lists each directory's parent in HOMES as a whole one does
// (docs/FORMAT.md §v3 RUNS, pram/slices.ts): the parent as the walk wrote it, a move
// since being a NAME of the last step (the tail). So commits after a sliced compaction
// still mount led by the index, the tail over the groups it touches; each directory,
// fetched first by its ino (deepest first: LazyTree loads its way up by HOMES), is the
// full replay's. A log of older code (every directory its own HOMES entry) is told
// by that and replayed whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import type { Slices, SliceNode } from '../pram/slices.js';
import { readGroup } from '../pram/groups.js';
import { beforeLoads, committedLog, copyRam, dump, indexOf, mountOn, PS, shapeOf, slicedCompaction } from './livekit.js';
import type { Volume } from './volume.js';

interface Dir { ino: number; parent: number; name: string; depth: number }

/** Every directory reached from the root (loading them all on a lazy mount), parents first. */
function dirsOf(vol: Volume): Dir[] {
  const out: Dir[] = [];
  const walk = (dir: number, depth: number) => {
    for (const e of vol.readdir(dir, 0, 1 << 20) as { name: string; ino: number; type: number }[]) {
      if (e.name === '.' || e.name === '..' || e.type !== 4) continue;
      out.push({ ino: e.ino, parent: dir, name: e.name, depth: depth + 1 });
      walk(e.ino, depth + 1);
    }
  };
  walk(1, 0);
  return out;
}

const ino = (r: unknown): number => { assert.equal(typeof r, 'object', `made: ${String(r)}`); return (r as { ino: number }).ino; };
const attrOf = (vol: Volume, i: number): string => { const { atimeNs: _, ...a } = vol.getattr(i) as { atimeNs: bigint }; return JSON.stringify(a, (_k, v) => typeof v === 'bigint' ? String(v) : v); };
const listing = (vol: Volume, i: number) => (vol.readdir(i, 0, 1 << 20) as { name: string; ino: number }[]).map((e) => `${e.name}:${e.ino}`).sort();

/** A lazy mount of `ram` with its boot log, and the boot's word on a whole replay ('' when led by the index). */
function lazyMount(ram: SimRam): { vol: Volume; whole: string } {
  const lines: string[] = [];
  const vol = mountOn(ram, { verify: 'lazy', log: (l) => lines.push(l) });
  const whole = lines.find((l) => l.includes('replayed whole')) ?? '';
  assert.equal(whole === '', vol.pram!.lazyLog !== null, `the boot log agrees with the mount (${whole})`);
  return { vol, whole };
}

/**
 * The lazy mount of `ram` against the full replay of a copy: each directory fetched by its ino before
 * anything else loads (deepest first), its names and attributes; then the tree, statfs, space model.
 */
function equalsFull(ram: SimRam, label: string): { whole: string; lazy: Volume } {
  const full = mountOn(copyRam(ram), { verify: 'full' });
  const want = dump(full), wantFs = full.statfs(), wantShape = shapeOf(full);
  const dirs = dirsOf(full).sort((a, b) => b.depth - a.depth);
  const { vol: lazy, whole } = lazyMount(ram);
  beforeLoads(lazy, wantFs, wantShape, label);
  for (const d of dirs) {
    assert.deepEqual(listing(lazy, d.ino), listing(full, d.ino), `${label}: directory ${d.ino} (${d.name}) fetched first`);
    assert.equal(attrOf(lazy, d.ino), attrOf(full, d.ino), `${label}: directory ${d.ino} (${d.name})`);
    assert.equal((lazy.lookup(d.ino, '..') as { ino: number }).ino, d.parent, `${label}: directory ${d.ino}'s parent`);
  }
  assert.deepEqual(dump(lazy), want, `${label}: the tree`);
  assert.deepEqual(lazy.statfs(), wantFs, `${label}: statfs after`);
  assert.deepEqual(shapeOf(lazy), wantShape, `${label}: the space model`);
  assert.deepEqual(lazy.losses, [], label);
  full.detach();
  return { whole, lazy };
}

/** A file `name` in `dir` with a few pages of `fill`. */
function fileIn(vol: Volume, dir: number, name: string, fill: number): number {
  const f = ino(vol.mknod(dir, name, 0o100644, 0, 0, 0));
  assert.equal(vol.write(f, 0, Buffer.alloc(3 * PS + 100, fill)), 3 * PS + 100);
  return f;
}

test('a compaction in slices lists each directory\'s parent in HOMES, as a whole compaction does', () => {
  for (const seed of [51, 52]) {
    const { ram, vol } = slicedCompaction(seed, () => {});
    vol.detach();
    const { vol: lazy, whole } = lazyMount(ram);
    assert.equal(whole, '', `seed ${seed}: led by the index`);
    const log = lazy.pram!.lazyLog!;
    assert.equal(log.parentOf(1), 1, 'the root is its own parent');
    const dirs = dirsOf(lazy);
    assert.ok(dirs.length >= 4, `seed ${seed}: ${dirs.length} directories`);
    for (const d of dirs) assert.equal(log.parentOf(d.ino), d.parent, `seed ${seed}: directory ${d.ino} (${d.name})'s HOMES entry`);
    lazy.detach();
  }
});

test('commits after a compaction in slices (a directory moved, new subdirectories, files in several directories, a chmod): led by the index with its tail, each directory fetched first is the full replay\'s', () => {
  for (const seed of [53, 54, 55]) {
    const { ram, vol } = slicedCompaction(seed, () => {});
    const dirs = dirsOf(vol);
    const deep = dirs.filter((d) => d.depth >= 3).sort((a, b) => b.depth - a.depth)[0]!;
    assert.ok(deep, `seed ${seed}: a directory three deep`);
    assert.equal(vol.rename(deep.parent, deep.name, 1, 'moved', 0), 0);
    const sub = ino(vol.mkdir(deep.ino, 'sub', 0o755, 0, 0));
    fileIn(vol, sub, 'in-sub', 1);
    const others = dirs.filter((d) => d.depth === 1 || d.depth === 2);
    const fresh = ino(vol.mkdir(others[0]!.ino, 'fresh', 0o750, 0, 0));
    for (const [k, d] of others.slice(1, 4).entries()) fileIn(vol, d.ino, `new${k}`, 2 + k);
    assert.equal(typeof vol.setattr(others[others.length - 1]!.ino, { mode: 0o40711 }), 'object');
    assert.equal(vol.sync(), 0);
    vol.detach();
    const { whole, lazy } = equalsFull(ram, `seed ${seed}`);
    assert.equal(whole, '', `seed ${seed}: led by the index`);
    const tail = lazy.pram?.lazyLog?.tail ?? null;
    // (The mount may be done loading and drop its lazy log: then the boot log said enough.)
    if (tail) {
      assert.equal(tail.parent.get(deep.ino), 1, `seed ${seed}: the moved directory's parent`);
      assert.ok(tail.fresh.includes(sub) && tail.fresh.includes(fresh), `seed ${seed}: the new directories`);
    }
    lazy.detach();
  }
});

/**
 * /a/x/y (files in x and y), /b and an empty /e before the compaction (/b first when `bFirst`: the walk
 * visits it before /a); at slice `k`, x moves to /b, /e goes and /b/x/new is made; at k + 1 a commit (to
 * the old log); after the publish, a commit changes /b/x/y.
 */
function movedBetweenSlices(seed: number, bFirst: boolean, k: number): { ram: SimRam; steps: number; a: number; b: number; x: number } {
  let a = 0, b = 0, x = 0, y = 0;
  const { ram, vol, steps } = slicedCompaction(seed, (v, step) => {
    if (step === k) {
      assert.equal(v.rename(a, 'x', b, 'x', 0), 0);
      assert.equal(v.rmdir(1, 'e'), 0);
      fileIn(v, ino(v.mkdir(x, 'new', 0o755, 0, 0)), 'f', 7);
    }
    if (step === k + 1) assert.equal(v.sync(), 0);
  }, (v) => {
    if (bFirst) b = ino(v.mkdir(1, 'b', 0o755, 0, 0));
    a = ino(v.mkdir(1, 'a', 0o755, 0, 0));
    if (!bFirst) b = ino(v.mkdir(1, 'b', 0o755, 0, 0));
    ino(v.mkdir(1, 'e', 0o755, 0, 0));
    x = ino(v.mkdir(a, 'x', 0o755, 0, 0)); y = ino(v.mkdir(x, 'y', 0o755, 0, 0));
    fileIn(v, x, 'fx', 3); fileIn(v, y, 'fy', 4);
  });
  if (k < steps) {
    assert.equal(vol.write(ino(vol.lookup(y, 'fy')), PS, Buffer.alloc(PS, 9)), PS);
    assert.equal(typeof vol.setattr(y, { mode: 0o40700 }), 'object');
    assert.equal(vol.sync(), 0);
  }
  vol.detach();
  return { ram, steps, a, b, x };
}

/** How the published log holds directory x: grouped or not, and which of a and b name it in their groups (the walk's snapshot). */
function heldAs(ram: SimRam, m: { a: number; b: number; x: number }): string {
  const ix = indexOf(ram), log = committedLog(ram);
  if (typeof ix === 'string') assert.fail(ix);
  const names = (d: number) => { const g = readGroup(ram, log.pages, ix.dirs.get(d)!, log.logId); if (typeof g === 'string') assert.fail(g); return g.names.some((n) => n.ino === m.x); };
  return `${ix.dirs.has(m.x) ? 'grouped' : 'not grouped'}, named in ${[names(m.a) ? 'a' : '', names(m.b) ? 'b' : ''].filter(Boolean).join(' and ') || 'neither'}`;
}

test('a directory moved between slices at each slice (one removed, one made in it, a commit meanwhile and one after): led by the index, each directory fetched first is the full replay\'s', () => {
  const seed = 56, seen = new Set<string>();
  for (const bFirst of [false, true]) {
    const n = movedBetweenSlices(seed, bFirst, 1 << 30).steps;      // the walk's length, nothing moved
    for (let k = 1; k < n - 1; k += k < 20 ? 1 : 5) {           // every slice while the walk is near a and b, then some
      const m = movedBetweenSlices(seed, bFirst, k);
      assert.ok(k < m.steps, `seed ${seed}: slice ${k} of ${m.steps}`);
      const how = heldAs(m.ram, m);
      seen.add(how);
      const label = `seed ${seed}${bFirst ? ', b first' : ''}, moved at slice ${k} of ${m.steps} (${how})`;
      const { whole, lazy } = equalsFull(m.ram, label);
      assert.equal(whole, '', `${label}: led by the index`);
      lazy.detach();
    }
  }
  // Each way a move between slices leaves the snapshot: x written under a (moved after a's turn), under b (before it), under
  // both (between a's turn and b's), or not grouped at all (moved out of a not visited yet into b visited: after the index).
  assert.deepEqual([...seen].sort(), ['grouped, named in a', 'grouped, named in a and b', 'grouped, named in b', 'not grouped, named in neither'], `seed ${seed}`);
});

/** Slices whose walk gives no parent: what older code wrote (each directory its own HOMES entry). */
function asOlderCode(vol: Volume): void {
  const slices: Slices = vol.pram!.slices!;
  const slice = slices.slice.bind(slices);
  slices.slice = (next, until) => slice(() => { const n = next(); if (!n) return n; const old: SliceNode = { ...n }; delete old.parent; return old; }, until);
}

test('a log of older code\'s compaction in slices (no directory\'s parent in HOMES): with no tail it mounts led by the index; with a tail touching another directory it is told apart and replayed whole; each equal to the full replay', () => {
  for (const seed of [57, 58]) {
    const { ram, vol } = slicedCompaction(seed, () => {}, asOlderCode);
    const dirs = dirsOf(vol);
    const { whole, lazy } = equalsFull(copyRam(ram), `seed ${seed}, no tail`);
    assert.equal(whole, '', `seed ${seed}: no tail: led by the index`);
    lazy.detach();
    const { vol: probe } = lazyMount(copyRam(ram));
    for (const d of dirs) assert.equal(probe.pram!.lazyLog!.parentOf(d.ino), d.ino, `seed ${seed}: directory ${d.ino} is its own HOMES entry, as older code wrote`);
    probe.detach();
    // A tail in the root: led by the index when it touches the root's group only (the other directories are then
    // found by the walk's order, a parent before its children); not when a node linked elsewhere brings another group.
    fileIn(vol, 1, 'root-only', 6);
    assert.equal(vol.sync(), 0);
    const rootOnly = equalsFull(copyRam(ram), `seed ${seed}, a tail in the root`);
    assert.match(rootOnly.whole, /^$|has no parent in HOMES \(a compaction in slices by older code\)/, `seed ${seed}: a tail in the root`);
    rootOnly.lazy.detach();
    const d = dirs.find((e) => e.depth === 2)!;
    fileIn(vol, d.ino, 'later', 5);
    assert.equal(vol.rename(d.parent, d.name, 1, 'up', 0), 0);
    assert.equal(vol.sync(), 0);
    vol.detach();
    const after = equalsFull(ram, `seed ${seed}, a tail`);
    assert.match(after.whole, /has no parent in HOMES \(a compaction in slices by older code\)/, `seed ${seed}`);
    after.lazy.detach();
  }
});
