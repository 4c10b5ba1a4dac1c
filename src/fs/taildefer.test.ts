// Tail records of one group wait for that group's load (pram/taildefer.ts): a lazy mount after
// a session that read every file (relatime: ATIMES entries, v3 minor 4; before it an INODE per
// file) and made files in one directory reads no group for its tail; once everything is touched the tree, statfs and the space model
// are the full mount's. Pages a deferred unlink freed stay reserved until the group loads; a
// commit and a compaction with deferred groups pending; a rename across directories stays eager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import type { Volume } from './volume.js';
import { RecordType } from '../format/v3.js';
import { tailDecodes } from '../pram/tailread.js';
import { copyRam, dump, lazyEqualsFull, logByte, logRecords, mountOn, newRam, PS } from './livekit.js';

const DIRS = 6, FILES = 40;

const ino = (r: unknown) => (r as { ino: number }).ino;
const at = (vol: Volume, ...path: string[]) => path.reduce((dir, name) => ino(vol.lookup(dir, name)), 1);

/** DIRS directories of FILES files of a page and a bit, compacted (a fresh log with its index). */
function compacted(): SimRam {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  assert.equal(vol.sync(), 0);
  for (let d = 0; d < DIRS; d++) {
    const dir = ino(vol.mkdir(1, `d${d}`, 0o755, 0, 0));
    for (let i = 0; i < FILES; i++) {
      const f = ino(vol.mknod(dir, `f${i}`, 0o100644, 0, 0, 0));
      assert.equal(vol.write(f, 0, Buffer.alloc(PS + 10, d * FILES + i)), PS + 10);
    }
  }
  (vol as unknown as { checkpoints: { wholeNext: boolean } }).checkpoints.wholeNext = true;   // this sync compacts (a fresh log, its index)
  assert.equal(vol.sync(), 0);
  assert.equal(vol.unmount(), 0);
  return ram;
}

/** A lazy session: `change` on the lazily mounted volume, committed, unmounted (the change is the next mount's tail). */
function session(ram: SimRam, change: (vol: Volume) => void): void {
  const vol = mountOn(ram, { verify: 'lazy' });
  assert.ok(vol.pram!.lazyLog, 'the session is led by the index');
  change(vol);
  assert.equal(vol.sync(), 0);
  assert.equal(vol.unmount(), 0);
}

/** Every file of every directory read (each read sets the file's atime: relatime), and `made` new files in d0. */
function readAllAndMake(made: number) {
  return (vol: Volume) => {
    for (let d = 0; d < DIRS; d++) for (let i = 0; i < FILES; i++) assert.equal((vol.read(at(vol, `d${d}`, `f${i}`), 0, 10) as Uint8Array).length, 10);
    const d0 = at(vol, 'd0');
    for (let i = 0; i < made; i++) {
      const f = ino(vol.mknod(d0, `new${i}`, 0o100600, 0, 0, 0));
      assert.equal(vol.write(f, 0, Buffer.alloc(2 * PS + 1, 0x70 + i)), 2 * PS + 1);
    }
  };
}

const tailOf = (vol: Volume) => vol.pram!.lazyLog!.tail!;

/** Every file's atime (dump leaves it out), found by lookup and getattr only: no read moves one. */
function atimes(vol: Volume): string[] {
  const out: string[] = [];
  for (let d = 0; d < DIRS; d++) for (let i = 0; i < FILES; i++) {
    const a = vol.getattr(at(vol, `d${d}`, `f${i}`));
    out.push(typeof a === 'number' ? `d${d}/f${i}: errno ${a}` : `d${d}/f${i}: ${a.atimeNs}`);
  }
  return out;
}

test('a tail of atime updates in every directory and creates in one: the lazy mount reads no group for it; touched, it is the full mount', () => {
  const ram = compacted();
  const first = mountOn(copyRam(ram), { verify: 'full' }), before = atimes(first);
  first.detach();
  session(ram, readAllAndMake(12));
  lazyEqualsFull(ram, 'atime and creates', (lazy) => {
    const t = tailOf(lazy);
    assert.ok(t, 'booted lazily with a tail');
    assert.equal(t.touched.size, 0, 'no group read at mount for the tail');
    assert.ok(t.atimes, 'the reads are ATIMES records, held whole');
    assert.deepEqual([...t.deferred.keys()], [at(lazy, 'd0')], 'the directory of the creates waits for its load (the reads are no record of a group)');
    assert.ok(lazy.pram!.lazyLog!.maxIno >= lazy.pram!.lazyLog!.index.locate.maxIno + 12, 'the tail\'s new inodes are counted');
  });
  const full = mountOn(copyRam(ram), { verify: 'full' }), lazy = mountOn(ram, { verify: 'lazy' });
  const want = atimes(full);
  assert.ok(want.every((a, k) => a !== before[k]), 'the session moved every atime');
  assert.deepEqual(atimes(lazy), want, 'each file\'s atime as the tail left it');
  for (const v of [full, lazy]) v.detach();
});

test('a deferred group\'s records are not decoded at mount, only at its load (each group\'s, once); touched, the tree is the full mount\'s', () => {
  const ram = compacted();
  // A chmod in every directory, files made and written in d3, one unlinked in d4: every record one group's.
  session(ram, (vol) => {
    for (let d = 0; d < DIRS; d++) assert.equal(typeof vol.setattr(at(vol, `d${d}`, 'f1'), { mode: 0o100600 }), 'object');
    readAllAndMake(0)(vol);
    for (let i = 0; i < 3; i++) assert.equal(vol.write(ino(vol.mknod(at(vol, 'd3'), `n${i}`, 0o100644, 0, 0, 0)), 0, Buffer.alloc(PS + 1, i)), PS + 1);
    assert.equal(vol.unlink(at(vol, 'd4'), 'f7'), 0);
  });
  const full = mountOn(copyRam(ram), { verify: 'full' }), want = dump(full);
  full.detach();
  const before = tailDecodes.records, lazy = mountOn(ram, { verify: 'lazy' }), t = tailOf(lazy);
  assert.equal(t.touched.size, 0, 'no group read at mount');
  assert.equal(t.deferred.size, DIRS, 'every directory\'s records wait');
  assert.equal(tailDecodes.records, before, 'no tail record decoded at mount');
  const dirs = new Map((lazy.readdir(1, 0, 1 << 20) as { name: string; ino: number }[]).map((e) => [e.name, e.ino]));
  assert.equal(tailDecodes.records, before, 'the root loaded: none of its subdirectories\' records decoded');
  for (const d of [3, 4, 0]) {
    const dir = dirs.get(`d${d}`)!, waiting = t.deferred.get(dir)!.at.length, was = tailDecodes.records;
    assert.ok(waiting >= 1);
    assert.ok(Array.isArray(lazy.readdir(dir, 0, 1 << 20)), `d${d} read`);
    assert.equal(tailDecodes.records - was, waiting, `d${d}'s load decodes its ${waiting} records, no other's`);
    lazy.readdir(dir, 0, 1 << 20);
    assert.equal(tailDecodes.records - was, waiting, `d${d}: decoded once`);
  }
  assert.deepEqual(dump(lazy), want, 'the tree, every group loaded');
  lazy.detach();
});

test('a damaged record in a deferred group\'s compaction: found when the group loads, reported as a lazy load reports it; the tail\'s records still applied to the rest', () => {
  const ram = compacted();
  // Every file read (ATIMES), and one file of each directory changed (an INODE: each group has a deferred record).
  session(ram, (vol) => { readAllAndMake(0)(vol); for (let d = 0; d < DIRS; d++) assert.equal(typeof vol.setattr(at(vol, `d${d}`, 'f1'), { mode: 0o100600 }), 'object'); });
  const full = mountOn(copyRam(ram), { verify: 'full' });
  const d2 = at(full, 'd2'), want = atimes(full);
  full.detach();
  // A NAME record of d2's group (its parent field is d2): a bit of its name flipped.
  const name = logRecords(ram).find((x) => { if (x.type !== RecordType.Name) return false; const b = logByte(ram, x, 16); return ram.page(b.pfn).readUInt32LE(b.off) === d2; })!;
  const b = logByte(ram, name, 16 + 24);
  ram.page(b.pfn)[b.off]! ^= 0x10;
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.equal(tailOf(lazy).deferred.size, DIRS, 'the damage is in a group, not in the tail: the mount defers as before');
  assert.deepEqual(lazy.losses, [], 'nothing read yet');
  const got = atimes(lazy);                        // loads d2: the damage is found
  const losses = lazy.losses as { path: string | null; what: string }[];
  assert.ok(losses.some((l) => /NAME in the group of directory \/d2\) failed crc32c/.test(l.what)), JSON.stringify(losses));
  const lost = got.filter((g) => g.includes('errno'));
  assert.ok(lost.length <= 1 && lost.every((g) => g.startsWith('d2/')), `only the damaged name is lost: ${lost.join(';')}`);
  for (let k = 0; k < want.length; k++) if (!got[k]!.includes('errno')) assert.equal(got[k], want[k]);
  lazy.detach();
});

test('an unlink in a deferred group: its pages stay reserved until the group loads (never handed out twice), then free; remounted whole, every page verifies', () => {
  const ram = compacted();
  session(ram, (vol) => { for (let i = 0; i < FILES; i += 2) assert.equal(vol.unlink(at(vol, 'd3'), `f${i}`), 0); });
  const lazy = mountOn(ram, { verify: 'lazy' });
  const t = tailOf(lazy);
  assert.equal(t.touched.size, 0);
  assert.equal(t.deferred.size, 1, 'd3 deferred');
  // Take every free page (a file in d1), then load d3: its freed pages come back only now.
  const big = ino(lazy.mknod(at(lazy, 'd1'), 'big', 0o100644, 0, 0, 0));
  let size = 0;
  for (;;) {
    const n = lazy.write(big, size, Buffer.alloc(PS, 0xee));
    if (typeof n !== 'number' || n < PS) break;
    size += PS;
  }
  const free = lazy.statfs().bfree;
  assert.ok(free <= 2, `the volume is full (${free} free)`);
  assert.equal(lazy.readdir(at(lazy, 'd3'), 0, 1 << 20) instanceof Array, true);
  const freed = lazy.statfs().bfree - free;
  assert.ok(freed >= FILES / 2, `the unlinked files' pages are free once d3 loaded (${freed})`);
  for (let k = 0; k < freed - 2; k++, size += PS) assert.equal(lazy.write(big, size, Buffer.alloc(PS, 0xef)), PS);
  assert.equal(lazy.sync(), 0);
  const want = dump(lazy);
  lazy.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, [], 'every page verifies: none was used twice');
  assert.deepEqual(dump(back), want);
  back.detach();
});

test('a commit and then a compaction while deferred groups are pending: remounted, the tree is the full replay\'s', () => {
  const ram = compacted();
  session(ram, readAllAndMake(5));
  const oracle = mountOn(copyRam(ram), { verify: 'full' });
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.ok(tailOf(lazy).deferred.size > 0);
  for (const v of [oracle, lazy]) {
    const f = ino(v.mknod(1, 'top', 0o100644, 0, 0, 0));
    assert.equal(v.write(f, 0, Buffer.alloc(3 * PS, 0x33)), 3 * PS);
  }
  assert.equal(lazy.sync(), 0, 'an append with groups pending');
  lazy.detach();
  const again = mountOn(copyRam(ram), { verify: 'lazy' });
  assert.ok(tailOf(again).deferred.size > 0, 'still deferred: the append added to the tail');
  assert.deepEqual(dump(again), dump(oracle), 'after the append');
  again.detach();
  const lazy2 = mountOn(ram, { verify: 'lazy' });
  (lazy2 as unknown as { checkpoints: { wholeNext: boolean } }).checkpoints.wholeNext = true;
  assert.equal(lazy2.sync(), 0, 'a compaction with groups pending');
  lazy2.detach();
  const back = mountOn(ram, { verify: 'lazy' });
  assert.equal(back.pram!.lazyLog?.tail ?? null, null, 'the compaction left no tail');
  assert.deepEqual(dump(back), dump(oracle), 'after the compaction');
  assert.deepEqual(back.losses, []);
  const full = mountOn(ram, { verify: 'full' });
  assert.deepEqual(full.losses, []);
  full.detach();
  back.detach();
  oracle.detach();
});

test('a rename across directories and a hard link stay eager (their groups read at mount); the rest waits; equal to the full mount', () => {
  const ram = compacted();
  session(ram, (vol) => {
    assert.equal(vol.rename(at(vol, 'd1'), 'f1', at(vol, 'd2'), 'moved', 0), 0);
    assert.equal(typeof vol.link(at(vol, 'd4', 'f4'), at(vol, 'd5'), 'linked'), 'object');
    assert.equal(typeof vol.setattr(at(vol, 'd0', 'f0'), { mode: 0o100600 }), 'object');
  });
  lazyEqualsFull(ram, 'rename and link', (lazy) => {
    const t = tailOf(lazy);
    assert.equal(t.touched.size, 4, 'd1, d2, d4, d5 read at mount');
    assert.equal(t.deferred.size, 1, 'd0 (a chmod) waits');
  });
});

test('a file the tail made and unlinked (the highest ino gone), then commits after it: led by the index with a tail, equal to the full mount, statfs\'s free inodes too', () => {
  const ram = compacted();
  // The full replay never sees the unlinked node; the lazy mount counts its ino among the tail's (statfs's free
  // inodes were 2^32-1 less the next ino: one apart). The case of its freed pages taken as log pages is api/taillog.test.
  session(ram, (vol) => {
    const d2 = at(vol, 'd2');
    const big = ino(vol.mknod(d2, 'big', 0o100644, 0, 0, 0));
    assert.equal(vol.write(big, 0, Buffer.alloc(64 * PS, 0x5a)), 64 * PS);
    assert.equal(vol.sync(), 0);
    assert.equal(vol.unlink(d2, 'big'), 0);
    assert.equal(vol.sync(), 0);
    const f = at(vol, 'd2', 'f3');
    for (let i = 0; i < 6; i++) {
      assert.equal(vol.setxattr(f, 'user.fill', Buffer.alloc(3000, i), 0), 0);
      assert.equal(vol.sync(), 0);
    }
  });
  const lines: string[] = [];
  const lazy = mountOn(copyRam(ram), { verify: 'lazy', log: (l: string) => lines.push(l) });
  assert.ok(lazy.pram!.lazyLog?.tail, `led by the index with a tail: ${lines.filter((l) => /whole|index/.test(l)).join(' | ')}`);
  lazy.detach();
  lazyEqualsFull(ram, 'pages let go and taken by the log', () => {});
});
