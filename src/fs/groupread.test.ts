// A directory's group read in one pass (pram/groups.ts readGroup: every record's crc in one
// native call, INODE and NAME payloads decoded in place) says exactly what the group read
// record by record says (readGroupByRecords): the same group for seeded trees with hard
// links, renames, spans, xattrs and punched holes, and for a flipped bit anywhere in a
// group's bytes the same group or the same reason. A lazy mount of such a tree, each group
// loaded on first touch, equals the full replay (tree, statfs, space model), and the lazy
// loader lets go exactly when the last group is loaded (LazySource.allLoaded, O(1)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_HEADER, LOG_NEXT } from '../format/v3.js';
import { Prng } from '../machine/prng.js';
import { readGroup, readGroupByRecords, type GroupIndex } from '../pram/groups.js';
import { committedLog, copyRam, dump, indexOf, lazyEqualsFull, mountOn, PS, randomTree } from './livekit.js';

const PER = PS - LOG_HEADER - LOG_NEXT;

test('a group read in one pass equals the group read record by record (seeded trees: links, renames, spans, xattrs, holes)', () => {
  for (const seed of [31, 32, 33, 34]) {
    const { ram, vol } = randomTree(seed, 300);
    assert.equal(vol.sync(), 0);
    vol.detach();
    const log = committedLog(ram), ix = indexOf(ram) as GroupIndex;
    assert.equal(typeof ix, 'object', `seed ${seed}: an index`);
    let spans = 0, maps = 0;
    for (const e of ix.dirs.values()) {
      const fast = readGroup(ram, log.pages, e, log.logId), slow = readGroupByRecords(ram, log.pages, e, log.logId);
      assert.equal(typeof fast, 'object', `seed ${seed}, directory ${e.ino}: ${fast as string}`);
      assert.deepStrictEqual(fast, slow, `seed ${seed}, directory ${e.ino}`);
      for (const p of (fast as { pages: { type: number }[] }).pages) if (p.type === 6) spans++; else maps++;
    }
    assert.ok(spans + maps > 0, `seed ${seed}: the groups hold page records (${spans} SPAN, ${maps} MAP)`);
    lazyEqualsFull(ram, `seed ${seed}`, () => {});
  }
});

test('a flipped bit in a group: the one-pass read says what the record-by-record read says (seeded places)', () => {
  const { ram, vol } = randomTree(41, 250);
  assert.equal(vol.sync(), 0);
  vol.detach();
  const log = committedLog(ram), ix = indexOf(ram) as GroupIndex;
  const entries = [...ix.dirs.values()];
  const seed = 42, r = new Prng(seed);
  let refused = 0;
  for (let k = 0; k < 300; k++) {
    const e = entries[r.below(entries.length)]!, pos = e.pos + r.below(e.bytes), bit = 1 << r.below(8);
    const copy = copyRam(ram);
    copy.page(log.pages[Math.floor(pos / PER)]!)[LOG_HEADER + (pos % PER)]! ^= bit;
    const fast = readGroup(copy, log.pages, e, log.logId), slow = readGroupByRecords(copy, log.pages, e, log.logId);
    assert.deepStrictEqual(fast, slow, `seed ${seed}, flip ${k}: directory ${e.ino}, stream byte ${pos}, bit ${bit}`);
    if (typeof fast === 'string') refused++;
  }
  assert.ok(refused > 250, `seed ${seed}: most flips are found (${refused} of 300)`);
});

test('the lazy loader lets go once the last group is loaded, not before (seeded trees)', () => {
  for (const seed of [51, 52]) {
    const { ram, vol } = randomTree(seed, 200);
    assert.equal(vol.sync(), 0);
    vol.detach();
    const lazy = mountOn(ram, { verify: 'lazy' });
    const loader = () => (lazy as unknown as { t: { lazy: unknown } }).t.lazy;
    assert.notEqual(loader(), null, `seed ${seed}: groups left to load after the mount`);
    const ix = indexOf(ram) as GroupIndex;
    assert.ok(ix.dirs.size > 2, `seed ${seed}: a tree of ${ix.dirs.size} directories`);
    dump(lazy);                                    // walks every directory: every group loads
    assert.equal(loader(), null, `seed ${seed}: every group loaded`);
    lazy.detach();
  }
});
