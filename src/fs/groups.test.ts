// A whole compaction writes its log grouped by directory with an index (v3
// minor 2, pram/indexes.ts): these tests read one directory's group through the
// index alone (pram/groups.ts) and compare it with what the mounted volume
// (a full replay) says of that directory, for seeded random trees with hard
// links, renames across directories and unlinks; a flipped bit in the index
// or in LOCATE makes the index unusable (said so) while a mount still loads
// every file; a flipped bit in a group is found when that group is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { readGroup, readIndex, type Group, type GroupIndex } from '../pram/groups.js';
import type { Volume } from './volume.js';
import { committedLog, copyRam, dump, growUntilDue, indexOf, logByte, logRecords, mountOn, newRam, PS, randomOp, randomTree } from './livekit.js';

/** Every directory of the volume, its group read through the index only, equals what the volume holds. */
function checkGroups(ram: SimRam, vol: Volume, why: string): number {
  const log = committedLog(ram);
  const ix = readIndex(ram, log.pages, log.bytes, log.logId);
  if (typeof ix === 'string') assert.fail(`${why}: ${ix}`);
  const groups = new Map<number, ReturnType<typeof readGroup>>();
  const group = (dir: number): Group => {
    if (!groups.has(dir)) groups.set(dir, readGroup(ram, log.pages, ix.dirs.get(dir)!, log.logId));
    const g = groups.get(dir)!;
    if (typeof g === 'string') assert.fail(`${why}: ${g}`);
    return g;
  };
  let dirs = 0;
  const walk = (dir: number) => {
    dirs++;
    assert.ok(ix.dirs.has(dir), `${why}: directory ${dir} has a group`);
    const g = group(dir);
    const listed = (vol.readdir(dir, 0, 1 << 20) as { name: string; ino: number; type: number }[]).filter((e) => e.name !== '.' && e.name !== '..');
    assert.deepEqual(new Map(g.names.map((n) => [n.name, n.ino])), new Map(listed.map((e) => [e.name, e.ino])), `${why}: the names of directory ${dir}`);
    const a = vol.getattr(dir) as { mode: number; uid: number };
    assert.deepEqual([g.dir.mode, g.dir.uid], [a.mode, a.uid], `${why}: directory ${dir}'s INODE`);
    for (const e of listed) {
      if (e.type === 4) { walk(e.ino); continue; }
      const home: Group = g.nodes.has(e.ino) ? g : group(ix.links.get(e.ino) ?? -1);
      const rec = home.nodes.get(e.ino);
      assert.ok(rec, `${why}: ino ${e.ino} (${e.name} in ${dir}) is in its directory's group or its home's`);
      const b = vol.getattr(e.ino) as { mode: number; size: number; uid: number; mtimeNs: bigint };
      assert.deepEqual([rec.mode, rec.size, rec.uid, rec.mtimeNs], [b.mode, b.size, b.uid, b.mtimeNs], `${why}: ino ${e.ino}'s INODE`);
      const pages = home.pages.filter((p) => (p.type === RecordType.Map || p.type === RecordType.Span) && p.r.ino === e.ino).length;
      assert.ok(rec.pages === 0 || pages > 0, `${why}: ino ${e.ino}'s pages are in its group`);
    }
  };
  walk(1);
  assert.equal(ix.dirs.size, dirs, `${why}: one group per directory, no more`);
  return dirs;
}

test('a whole compaction: each directory read through the index alone equals the full replay (seeded trees, hard links, renames, unlinks)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const { ram, vol } = randomTree(seed, 250);
    assert.equal(vol.sync(), 0);                  // the first commit of a fresh arena: a whole compaction
    const dirs = checkGroups(ram, vol, `seed ${seed}`);
    assert.ok(dirs >= 5, `seed ${seed}: ${dirs} directories`);
    // Appends after it leave the index as it was: it still describes the compaction's records.
    const before = indexOf(ram);
    const r = new Prng(seed + 100);
    for (let i = 0; i < 20; i++) randomOp(vol, r);
    assert.equal(vol.sync(), 0);
    assert.deepEqual(indexOf(ram), before, `seed ${seed}: the index after appends`);
    vol.detach();
    const back = mountOn(ram);
    assert.deepEqual(back.losses, [], `seed ${seed}: a grouped log mounts without loss`);
    back.detach();
  }
});

test('hard links across directories: one INODE (in the home group), an index entry per linked node naming its home', () => {
  const ram = newRam(2048);
  const vol = mountOn(ram);
  const a = (vol.mkdir(1, 'a', 0o755, 0, 0) as { ino: number }).ino, b = (vol.mkdir(1, 'b', 0o755, 0, 0) as { ino: number }).ino;
  const f = (vol.mknod(a, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
  vol.write(f, 0, Buffer.alloc(3 * PS, 7));
  vol.link(f, b, 'g');
  vol.link(f, 1, 'h');
  assert.equal(vol.sync(), 0);
  checkGroups(ram, vol, 'links');
  const ix = indexOf(ram) as GroupIndex;
  assert.equal(ix.links.size, 1);
  const home = ix.links.get(f)!;
  const inodes = logRecords(ram).filter((x) => x.type === RecordType.Inode).length;
  assert.equal(inodes, 4, 'one INODE per node (root, a, b, f), the linked file once');
  assert.ok([1, a, b].includes(home));
});

test('a flipped bit in the index or in LOCATE: the index is refused, a mount still loads every file; one in a group is found when it is read', () => {
  const { ram, vol } = randomTree(7, 200);
  assert.equal(vol.sync(), 0);
  const r = new Prng(70);
  for (let i = 0; i < 10; i++) randomOp(vol, r);  // appended commits right after the index: a skip past it must not cost them
  assert.equal(vol.sync(), 0);
  const want = dump(vol);
  vol.detach();
  const records = logRecords(ram);
  for (const type of [RecordType.Index, RecordType.Locate]) {
    const at = records.find((x) => x.type === type)!;
    const copy = copyRam(ram);
    const p = logByte(copy, at, 16 + 4);          // inside the payload
    copy.page(p.pfn)[p.off]! ^= 0x04;
    const ix = indexOf(copy);
    assert.equal(typeof ix, 'string', `${type}: refused`);
    assert.match(ix as string, /crc32c/);
    const back = mountOn(copy);
    assert.deepEqual(dump(back), want, `${type}: every file loads`);
    assert.equal(back.losses.length, 1, `${type}: one loss: ${back.losses.map((l) => l.what).join('; ')}`);
    assert.match(back.losses[0]!.what, /holds no file \(the log's index: nothing is lost/);
    back.detach();
  }
  // A NAME inside some group: that group fails its read, the others still read.
  const copy = copyRam(ram);
  const name = records.find((x) => x.type === RecordType.Name)!;
  const p = logByte(copy, name, 16 + 25);
  copy.page(p.pfn)[p.off]! ^= 0x01;
  const log = committedLog(copy);
  const ix = readIndex(copy, log.pages, log.bytes, log.logId) as GroupIndex;
  const results = [...ix.dirs.values()].map((e) => readGroup(copy, log.pages, e, log.logId));
  assert.equal(results.filter((g) => typeof g === 'string').length, 1, 'exactly the damaged group fails');
  assert.match(results.find((g) => typeof g === 'string') as string, /failed crc32c/);
});

test('a compaction in slices writes the same grouped log: each directory read through the index equals the full replay; changes during it are in the tail', () => {
  for (const seed of [8, 9]) {
    const { ram, vol } = randomTree(seed, 150);
    assert.equal(vol.sync(), 0);
    growUntilDue(vol);                                       // driven: a due compaction waits for its slices
    const head = vol.pram!.head;
    const r = new Prng(seed + 50);
    let steps = 0;
    while (vol.background(0)) {
      assert.ok(++steps < 5000, `seed ${seed}: the compaction ends`);
      if (steps === 3) for (let i = 0; i < 5; i++) randomOp(vol, r);   // changes between slices: the tracker's, for the last step
    }
    assert.equal(vol.sync(), 0);                             // the last step publishes the fresh log
    assert.notEqual(vol.pram!.head, head, `seed ${seed}: the fresh log is published`);
    const ix = indexOf(ram);
    if (typeof ix === 'string') assert.fail(`seed ${seed}: ${ix}`);
    const want = dump(vol);
    vol.detach();
    const back = mountOn(ram);
    assert.deepEqual(back.losses, []);
    assert.deepEqual(dump(back), want);
    // With no change since, a second compaction in slices indexes exactly the tree.
    back.background(0);
    const g = (back.mknod(1, 'grow2', 0o100644, 0, 0, 0) as { ino: number }).ino;
    for (let i = 0; !back.pram!.slices!.wanted(); i++) { back.setxattr(g, 'user.grow', Buffer.alloc(3000, i & 0xff), 0); assert.equal(back.sync(), 0); }
    while (back.background(0));
    assert.equal(back.sync(), 0);
    checkGroups(ram, back, `seed ${seed}, in slices`);
    back.detach();
  }
});
