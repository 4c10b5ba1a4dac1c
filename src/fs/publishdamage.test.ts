// Damage to the step that published a compaction in slices (v3 minor 5, docs/FORMAT.md §v3,
// Mount and damage). Its records — what changed while the slices ran, then PUBLISHED —
// carry the log id like the compaction's own, yet losing one would bring a name moved or
// removed meanwhile back with no loss naming it (bitflip campaign, v3-sliced-tail with
// moveDuring). So the step is written twice (P, PUBLISHED, the same bytes again, a second
// PUBLISHED): a record damaged in one copy is read from the other and nothing is lost, with
// or without commits after the publish. The same record damaged in both (the same bit: at
// different bits the two copies mend it, publishrescue.test.ts): until the next
// commit is durable the older slot still names the log before the compaction, its pages
// kept: the mount falls back to that commit, exactly, and says so; after it, nothing of the
// log loads (a loss says so). Damage after the step, or after a whole compaction, rolls
// back to the compaction's commit as before. How the walk reads the step over its log
// pages (their headers and next pointers damaged) and a lazy mount applies it: publishwalk.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import { logPages } from '../pram/groups.js';
import { RECORD_HEADER, RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { copyRam, dump, growUntilDue, logByte, mountOn, nextCommitClean, randomTree, type Dump, type LogRecordAt } from './livekit.js';
import { covered, flip, gen, ino, publishCopies, published, records, rolledTo, whats } from './publishkit.js';

const noLostFound = (d: Dump): Dump => new Map([...d].filter(([p]) => !p.startsWith('/lost+found')));

/** The header flags of the log's LOCATE and of its first RUNS record (TOTALS): bit 0, "in slices" (v3 minor 5). */
function slicedFlags(ram: SimRam): number[] {
  const recs = records(ram), flags = (r: LogRecordAt) => { const p = logByte(ram, r, 6); return ram.page(p.pfn).readUInt16LE(p.off); };
  return [flags(recs[0]!), flags(recs.find((r) => r.type === RecordType.Runs)!)];
}

test('damage in any record of either copy of the publish step (PUBLISHED too), no commit after it: the published tree loads whole, the damage said covered', () => {
  for (const [seed, commits] of [[31, false], [32, true]] as const) {
    const s = published(seed, commits);
    s.vol.detach();                                        // a kill: nothing committed after the publish
    assert.ok(s.after.has('/a/back/y') && !s.after.has('/a/gone') && !s.after.has('/a/x'), `seed ${seed}: the published tree holds the changes`);
    assert.deepEqual(slicedFlags(s.ram), [1, 1], `seed ${seed}: LOCATE and TOTALS say "in slices"`);
    const { first, second } = publishCopies(s.ram);
    assert.ok(first.length >= 4 && first[first.length - 1]!.type === RecordType.Published, `seed ${seed}: ${first.length} records in a copy`);
    for (const [c, copy] of [first, second].entries()) {
      for (const [i, r] of copy.entries()) {
        const k = i % 3 === 1 ? 8 : RECORD_HEADER;          // the payload, or the length (the walk then resyncs a page on)
        const label = `seed ${seed}, copy ${c}, record ${i} of ${copy.length} (type ${r.type}), byte ${k}`;
        const ram = flip(s.ram, r, k), vol = mountOn(ram, { verify: i % 2 ? 'lazy' : 'full' });
        assert.equal(rolledTo(vol), null, `${label}: nothing rolled back (${whats(vol)})`);
        assert.ok(covered(vol), `${label}: the damage is said covered (${whats(vol)})`);
        assert.deepEqual(dump(vol), s.after, `${label}: the published tree`);
        assert.equal(gen(vol), s.publishedGen, label);
        nextCommitClean(vol, ram, label, /nothing is lost/);   // the next commit appends: it mounts as loaded
      }
    }
  }
});

test('the same record damaged in both copies of the publish step, no commit after it: the mount loads the commit before, exactly, from the older slot', () => {
  for (const [seed, commits] of [[31, false], [32, true]] as const) {
    const s = published(seed, commits);
    s.vol.detach();
    // Without commits during the slices the commit before holds the old names; with one (after the move), the name of then.
    assert.ok(commits ? s.before.has('/b/x/y') && !s.before.has('/a/back') : s.before.has('/a/x/y') && s.before.has('/a/gone'), `seed ${seed}: the commit before holds the old names`);
    assert.ok(s.publishedGen > s.beforeGen, `seed ${seed}`);
    const { first, second } = publishCopies(s.ram);
    for (let i = 0; i < first.length; i++) {
      const copy = flip(flip(s.ram, first[i]!), second[i]!), vol = mountOn(copy, { verify: i % 2 ? 'lazy' : 'full' });
      const label = `seed ${seed}, record ${i} of ${first.length} (type ${first[i]!.type}) in both copies`;
      assert.equal(rolledTo(vol), s.beforeGen, `${label}: loads the commit before (${whats(vol)})`);
      assert.ok(vol.losses.some((l) => /published the compaction in slices/.test(l.what) && new RegExp(`commits ${s.beforeGen + 1}\\.\\.${s.publishedGen} are not replayed`).test(l.what)), `${label}: ${whats(vol)}`);
      assert.deepEqual(noLostFound(dump(vol)), s.before, `${label}: the tree of commit ${s.beforeGen}`);
      assert.equal(gen(vol), s.publishedGen, `${label}: the generation goes on from the newest slot`);
      // The next commit writes a fresh log over the older slot: it mounts as loaded, with no loss.
      nextCommitClean(vol, copy, label);
    }
    // Different records damaged in each copy: each is read from the other.
    for (let i = 0; i + 1 < first.length; i++) {
      const vol = mountOn(flip(flip(s.ram, first[i]!), second[i + 1]!), { verify: 'full' });
      assert.equal(rolledTo(vol), null, `seed ${seed}, records ${i} and ${i + 1}: ${whats(vol)}`);
      assert.deepEqual(dump(vol), s.after, `seed ${seed}, records ${i} (first copy) and ${i + 1} (second): the published tree`);
      vol.detach();
    }
  }
});

test('a kill after the publish and after writes that took pages: the old log and the pages its last commit held were kept, the fallback reads them back', () => {
  const seed = 33, s = published(seed, false);
  const h = new HeaderView(s.ram.page(0)), older = h.readSlot(h.current()!.which === 0 ? 1 : 0)!;
  const oldLog = logPages(s.ram, older.headPfn, older.log!.logPages);
  assert.ok(typeof oldLog !== 'string' && older.generation === s.beforeGen, `seed ${seed}: the older slot names the old log`);
  const al = s.vol.pram!.allocator, pool = al.freeCount - al.laterCount;
  assert.ok(oldLog.every((pfn) => !al.isFree(pfn)), `seed ${seed}: the old log's pages are not in the pool`);
  assert.ok(al.laterCount >= oldLog.length + 2, `seed ${seed}: they and /a/gone's pages count as free (${al.laterCount})`);
  // Take every page the ledger admits (new files, not committed).
  let written = 0;
  for (let f = 0; ; f++) {
    const n = s.vol.mknod(1, `fill${f}`, 0o100644, 0, 0, 0);
    if (typeof n === 'number') break;
    const r = s.vol.write(n.ino, 0, Buffer.alloc(64 * 4096, f + 1));
    if (typeof r === 'number' && r < 0) break;
    written += Math.ceil(r / 4096);
    if (r < 64 * 4096) break;
  }
  assert.ok(written > pool / 2, `seed ${seed}: ${written} of ${pool} pooled pages written`);
  assert.ok(oldLog.every((pfn) => !al.isFree(pfn)), `seed ${seed}: the old log's pages still held`);
  const killed = copyRam(s.ram), held = al.laterCount;     // killed: nothing committed after the publish
  assert.equal(s.vol.sync(), 0);
  assert.ok(al.laterCount < held, `seed ${seed}: the next commit pools them (${held} -> ${al.laterCount})`);
  s.vol.detach();
  const { first, second } = publishCopies(killed);
  const vol = mountOn(flip(flip(killed, first[0]!), second[0]!), { verify: 'full' });
  assert.equal(rolledTo(vol), s.beforeGen, `seed ${seed}: ${whats(vol)}`);
  assert.deepEqual(noLostFound(dump(vol)), s.before, `seed ${seed}: the commit before, /a/gone's pages unchanged`);
  vol.detach();
});

test('after the next commit is durable: damage in either copy of the publish step loses nothing; in both, nothing of the log loads (said); damage after the step rolls back to the publish exactly', () => {
  const seed = 34, s = published(seed, true);
  const f = ino(s.vol.mknod(1, 'later', 0o100644, 0, 0, 0));
  assert.equal(s.vol.write(f, 0, Buffer.from('after the publish')), 17);
  assert.equal(s.vol.sync(), 0);                          // appended after PUBLISHED: the older slot names this log now
  const newest = gen(s.vol), latest = dump(s.vol);
  s.vol.detach();
  const recs = records(s.ram), { first, second } = publishCopies(s.ram), k = recs.findIndex((r) => r.pos === second[second.length - 1]!.pos);
  assert.ok(k > 0 && k + 1 < recs.length, 'the commit after follows the step');
  for (const [c, copy] of [first, second].entries()) {
    for (const [i, r] of copy.entries()) {
      const label = `seed ${seed}, copy ${c}, record ${i} (type ${r.type})`;
      const vol = mountOn(flip(s.ram, r, i % 3 === 1 ? 8 : RECORD_HEADER), { verify: i % 2 ? 'lazy' : 'full' });
      assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
      assert.ok(covered(vol), `${label}: ${whats(vol)}`);
      assert.deepEqual(dump(vol), latest, `${label}: the published tree and the commit after it`);
      assert.equal(gen(vol), newest);
      vol.detach();
    }
  }
  for (let i = 0; i < first.length; i++) {
    const vol = mountOn(flip(flip(s.ram, first[i]!), second[i]!), { verify: 'full' });
    assert.equal(rolledTo(vol), 0, `seed ${seed}, record ${i} in both copies: ${whats(vol)}`);
    assert.ok(vol.losses.some((l) => /published the compaction in slices.*everything it held is lost/.test(l.what)), `seed ${seed}: ${whats(vol)}`);
    assert.deepEqual([...noLostFound(dump(vol)).keys()], [], `seed ${seed}, record ${i} in both copies: nothing loads, no older name`);
    assert.equal(gen(vol), newest);
    vol.detach();
  }
  // The first record of the commit after the publish: that commit is lost, the publish loads whole -- with a record of
  // the first copy damaged too.
  for (const ram of [flip(s.ram, recs[k + 1]!), flip(flip(s.ram, recs[k + 1]!), first[1]!)]) {
    const vol = mountOn(ram, { verify: 'full' });
    assert.equal(rolledTo(vol), s.publishedGen, `seed ${seed}: ${whats(vol)}`);
    assert.deepEqual(dump(vol), s.after, `seed ${seed}: the published tree`);
    vol.detach();
  }
});

test('a whole compaction: damage in the first record of the commit after it rolls back to the compaction exactly (as before minor 5)', () => {
  const seed = 35, { ram, vol } = randomTree(seed, 250);
  assert.equal(vol.sync(), 0);
  growUntilDue(vol);
  vol.pram!.slices!.driven = false;                        // no driver: the due compaction runs whole in the next commit
  ino(vol.mknod(1, 'pre', 0o100644, 0, 0, 0));
  const head = vol.pram!.head;
  assert.equal(vol.sync(), 0);
  assert.notEqual(vol.pram!.head, head, `seed ${seed}: a fresh log`);
  const compacted = gen(vol), want = dump(vol);
  const recs0 = records(ram);
  assert.equal(recs0[0]!.type, RecordType.Locate, `seed ${seed}: a compaction's log`);
  assert.ok(!recs0.some((r) => r.type === RecordType.Published), `seed ${seed}: a whole compaction writes no PUBLISHED`);
  assert.deepEqual(slicedFlags(ram), [0, 0], `seed ${seed}: nor flags`);
  const n = ino(vol.mkdir(1, 'after', 0o755, 0, 0));
  assert.equal(vol.rename(1, 'grow', n, 'moved', 0), 0);
  assert.equal(vol.sync(), 0);
  vol.detach();
  const recs = records(ram), first = recs.findIndex((r, i) => i >= recs0.length);
  const m = mountOn(flip(ram, recs[first]!), { verify: 'full' });
  assert.equal(rolledTo(m), compacted, `seed ${seed}: ${whats(m)}`);
  assert.deepEqual(dump(m), want, `seed ${seed}: the compaction's tree`);
  m.detach();
  // A flipped LOCATE alone costs nothing (the whole log is replayed); with it, the first appended record's damage still
  // rolls back to the compaction: its RUNS TOTALS, read, says it did not run in slices.
  const l = mountOn(flip(ram, recs[0]!), { verify: 'full' });
  assert.equal(rolledTo(l), null, whats(l));
  l.detach();
  const both = mountOn(flip(flip(ram, recs[0]!), recs[first]!), { verify: 'full' });
  assert.equal(rolledTo(both), compacted, `seed ${seed}: ${whats(both)}`);
  assert.deepEqual(dump(both), want, `seed ${seed}: LOCATE and the appended record damaged: the compaction's tree`);
  both.detach();
});

test('a sliced compaction\'s LOCATE alone damaged costs nothing; with a record of one copy of its publish step too, nothing; with both copies\' (TOTALS says "in slices"), the commit before loads', () => {
  const s = published(36, false);
  s.vol.detach();
  const recs = records(s.ram), vol = mountOn(flip(s.ram, recs[0]!), { verify: 'lazy' });
  assert.equal(rolledTo(vol), null, whats(vol));
  assert.deepEqual(dump(vol), s.after);
  vol.detach();
  const { first, second } = publishCopies(s.ram);
  for (const [i, r] of first.entries()) {
    const one = mountOn(flip(flip(s.ram, recs[0]!), r), { verify: 'full' });
    assert.equal(rolledTo(one), null, `type ${r.type}: ${whats(one)}`);
    assert.deepEqual(dump(one), s.after);
    one.detach();
    const m = mountOn(flip(flip(flip(s.ram, recs[0]!), r), second[i]!), { verify: 'full' });
    assert.equal(rolledTo(m), s.beforeGen, `type ${r.type}: ${whats(m)}`);
    assert.deepEqual(noLostFound(dump(m)), s.before);
    m.detach();
  }
});

test('both PUBLISHED records damaged, copy 0\'s in its zero padding alone: its fields still say where the copies are (its crc checks with the padding as written), the step loads', () => {
  const seed = 38, s = published(seed, true);
  const f = ino(s.vol.mknod(1, 'later', 0o100644, 0, 0, 0));
  assert.equal(s.vol.write(f, 0, Buffer.from('after the publish')), 17);
  assert.equal(s.vol.sync(), 0);                          // no older log to fall back to: before, nothing of the log loaded
  const latest = dump(s.vol);
  s.vol.detach();
  const { first, second } = publishCopies(s.ram), p0 = first[first.length - 1]!, p1 = second[second.length - 1]!;
  assert.ok(p0.length >= 40 + 16, `seed ${seed}: copy 0's PUBLISHED has ${p0.length - 40} bytes of padding`);
  for (const k of [RECORD_HEADER + 40, RECORD_HEADER + p0.length - 1]) {
    const vol = mountOn(flip(flip(s.ram, p0, k), p1, RECORD_HEADER + 8), { verify: 'full' });
    assert.equal(rolledTo(vol), null, `padding byte ${k}: ${whats(vol)}`);
    assert.ok(covered(vol), whats(vol));
    assert.deepEqual(dump(vol), latest, `padding byte ${k}: the newest tree`);
    vol.detach();
  }
  // A field of copy 0's PUBLISHED (its second copy's place) and copy 1's: nothing says where the copies are (as before).
  const vol = mountOn(flip(flip(s.ram, p0, RECORD_HEADER + 16), p1, RECORD_HEADER + 8), { verify: 'full' });
  assert.equal(rolledTo(vol), 0, whats(vol));
  vol.detach();
});
