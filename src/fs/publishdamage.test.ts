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
// back to the compaction's commit as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import { logPages } from '../pram/groups.js';
import { tailDecoded } from '../pram/tailread.js';
import { align8, inodeRecordBytes, RECORD_HEADER, RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { copyRam, dump, growUntilDue, logByte, logRecords, mountOn, nextCommitClean, PS, randomOp, randomTree, slicedCompaction, type Dump, type LogRecordAt } from './livekit.js';
import { Prng } from '../machine/prng.js';
import type { Volume } from './volume.js';

const ino = (r: unknown): number => { assert.equal(typeof r, 'object', `made: ${String(r)}`); return (r as { ino: number }).ino; };
const gen = (vol: Volume): number => vol.pram!.stats().generation;
const whats = (vol: Volume): string => vol.losses.map((l) => l.what).join('; ');
const rolledTo = (vol: Volume): number | null => { const m = vol.losses.map((l) => /the image loaded is that of commit (\d+)/.exec(l.what)).find(Boolean); return m ? Number(m[1]) : null; };
const noLostFound = (d: Dump): Dump => new Map([...d].filter(([p]) => !p.startsWith('/lost+found')));

/** The committed log's records with their stream positions. */
function records(ram: SimRam): (LogRecordAt & { pos: number })[] {
  let pos = 0;
  return logRecords(ram).map((r) => { const x = { ...r, pos }; pos += RECORD_HEADER + align8(r.length); return x; });
}

type At = LogRecordAt & { pos: number };
const u64At = (ram: SimRam, r: LogRecordAt, k: number): number => { const p = logByte(ram, r, k); return Number(ram.page(p.pfn).readBigUInt64LE(p.off)); };
const u32At = (ram: SimRam, r: LogRecordAt, k: number): number => { const p = logByte(ram, r, k); return ram.page(p.pfn).readUInt32LE(p.off); };
/** A record's stream bytes, its header and padding included. */
function bytesOf(ram: SimRam, r: LogRecordAt): Buffer {
  const out = Buffer.alloc(RECORD_HEADER + align8(r.length));
  for (let k = 0; k < out.length; k++) { const p = logByte(ram, r, k); out[k] = ram.page(p.pfn)[p.off]!; }
  return out;
}

/**
 * The step that published the compaction, as its two copies record for record: first = its records from where the
 * first PUBLISHED says, then that PUBLISHED; second[i] = the same record in the byte copy after it (its PUBLISHED last).
 */
function publishCopies(ram: SimRam): { first: At[]; second: At[] } {
  const recs = records(ram), k0 = recs.findIndex((r) => r.type === RecordType.Published);
  const k1 = recs.findIndex((r, i) => i > k0 && r.type === RecordType.Published);
  assert.ok(k0 > 0 && k1 > k0, 'the log holds two PUBLISHED');
  const start = u64At(ram, recs[k0]!, RECORD_HEADER + 8), second = u64At(ram, recs[k0]!, RECORD_HEADER + 16), bytes = u64At(ram, recs[k0]!, RECORD_HEADER + 24);
  const first = recs.filter((r, i) => i <= k0 && r.pos >= start), copy = recs.slice(k0 + 1, k1 + 1);
  assert.equal(first.length, copy.length, 'a copy holds as many records');
  assert.equal(recs[k0]!.pos - start, bytes, 'copy 0: its bytes end where its PUBLISHED begins');
  assert.deepEqual([u32At(ram, recs[k0]!, RECORD_HEADER + 32), u32At(ram, recs[k1]!, RECORD_HEADER + 32)], [0, 1], 'which copy');
  assert.equal(copy[0]!.pos, second, 'copy 1 begins where both PUBLISHED say');
  assert.equal(second % (PS - 40), 0, 'at a log page\'s first stream byte');
  assert.equal(recs[k1]!.pos - second, bytes, 'copy 1: its bytes end where its PUBLISHED begins');
  for (let i = 0; i + 1 < first.length; i++) assert.ok(bytesOf(ram, first[i]!).equals(bytesOf(ram, copy[i]!)), `record ${i}: a byte copy`);
  return { first, second: copy };
}
const covered = (vol: Volume): boolean => vol.losses.some((l) => /written twice and what this skipped was read from its other copy: nothing is lost/.test(l.what));

/** The header flags of the log's LOCATE and of its first RUNS record (TOTALS): bit 0, "in slices" (v3 minor 5). */
function slicedFlags(ram: SimRam): number[] {
  const recs = records(ram), flags = (r: LogRecordAt) => { const p = logByte(ram, r, 6); return ram.page(p.pfn).readUInt16LE(p.off); };
  return [flags(recs[0]!), flags(recs.find((r) => r.type === RecordType.Runs)!)];
}

/** A copy of `ram` with a bit of record `at` flipped (k: its byte; the payload's first by default, 8: its length). */
function flip(ram: SimRam, at: LogRecordAt, k = RECORD_HEADER): SimRam {
  const copy = copyRam(ram), { pfn, off } = logByte(copy, at, k);
  copy.page(pfn)[off]! ^= 0x10;
  return copy;
}

/**
 * A seeded tree; while its compaction runs in slices a directory moves, a file is removed, and (commits) a
 * commit is appended to the old log. `before`: the tree of the last commit before the publish (read from a copy);
 * the publish is commit `published`; nothing is committed after it (a kill, for the next mount).
 */
function published(seed: number, commits: boolean) {
  let a = 0, b = 0, before: Dump = new Map(), beforeGen = 0;
  const committed = (vol: Volume, ram: SimRam) => { const m = mountOn(copyRam(ram)); before = dump(m); m.detach(); beforeGen = gen(vol); };
  let ramOf: SimRam | null = null;                       // the volume's memory (slicedCompaction makes it)
  const { ram, vol } = slicedCompaction(seed, (v, step) => {
    if (step === 1 && !commits) committed(v, ramOf!);
    if (step === 2) assert.equal(v.rename(a, 'x', b, 'x', 0), 0);
    if (step === 3) assert.equal(v.unlink(a, 'gone'), 0);
    if (step === 4 && commits) { assert.equal(v.sync(), 0); committed(v, ramOf!); }
    if (step === 5) assert.equal(v.rename(b, 'x', a, 'back', 0), 0);
  }, (v) => {
    ramOf = v.pram!.mem as SimRam;
    a = ino(v.mkdir(1, 'a', 0o755, 0, 0)); b = ino(v.mkdir(1, 'b', 0o755, 0, 0));
    ino(v.mkdir(ino(v.mkdir(a, 'x', 0o755, 0, 0)), 'y', 0o755, 0, 0));
    assert.equal(v.write(ino(v.mknod(a, 'gone', 0o100644, 0, 0, 0)), 0, Buffer.alloc(5000, 5)), 5000);
  });
  return { ram, vol, before, beforeGen, after: dump(vol), publishedGen: gen(vol) };
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

test('a lazy mount applies the publish step once: the second copy is neither replayed nor charged (a deferred group\'s records, the space model before it loads)', () => {
  for (const seed of [51, 52]) {
    let k = 0, k2 = 0;
    const { ram, vol } = slicedCompaction(seed, (v, step) => {
      if (step === 2) assert.ok(typeof v.setattr(k2, { uid: 7 }) === 'object');
      if (step === 6) assert.ok(typeof v.setattr(k, { mode: 0o100600 }) === 'object');
    }, (v) => {
      const b = ino(v.mkdir(1, 'b', 0o755, 0, 0));
      k = ino(v.mknod(b, 'k', 0o100644, 0, 0, 0)); k2 = ino(v.mknod(b, 'k2', 0o100644, 0, 0, 0));
    });
    vol.detach();
    publishCopies(ram);
    const full = mountOn(copyRam(ram)), want = dump(full), bytes = full.pram!.space.shape.bytes;
    full.detach();
    const lazy = mountOn(copyRam(ram), { verify: 'lazy' }), tail = lazy.pram!.lazyLog?.tail;
    assert.ok(tail && tail.deferred.size === 1, `seed ${seed}: /b's records wait for its load`);
    const d = [...tail.deferred.values()][0]!, recs = tailDecoded(d.tail, d.at);
    assert.deepEqual(recs.map((r) => r.type === RecordType.Inode ? r.r.ino : -r.type).sort((x, y) => x - y), [k, k2].sort((x, y) => x - y), `seed ${seed}: one INODE each, once`);
    // Charged as new until /b loads: two INODE records over the full replay's count, not four.
    assert.equal(lazy.pram!.space.shape.bytes - bytes, 2 * inodeRecordBytes(0), `seed ${seed}: the space model before the load`);
    assert.deepEqual(dump(lazy), want, `seed ${seed}: the tree`);
    assert.equal(lazy.pram!.space.shape.bytes, bytes, `seed ${seed}: settled at the load`);
    lazy.detach();
  }
});

test('a publish step of many log pages: a record damaged in either copy (its length too: the walk resyncs at the next page\'s first record, in the copy as anywhere) is read from the other', () => {
  const seed = 41, r = new Prng(seed + 100);
  const { ram, vol } = slicedCompaction(seed, (v, step) => {
    if (step % 7 === 3) for (let i = 0; i < 4; i++) randomOp(v, r);   // writes, unlinks, renames between slices
  });
  const want = dump(vol);
  vol.detach();
  const { first, second } = publishCopies(ram);
  assert.ok(second[second.length - 1]!.pos - second[0]!.pos > 2 * PS, `seed ${seed}: the copy spans log pages`);
  for (let i = 0; i < first.length; i += 4) {
    for (const [c, rec] of [first[i]!, second[i]!].entries()) {
      const vol2 = mountOn(flip(ram, rec, 8), { verify: 'full' });
      assert.equal(rolledTo(vol2), null, `copy ${c}, record ${i}: ${whats(vol2)}`);
      assert.ok(covered(vol2), `copy ${c}, record ${i}: ${whats(vol2)}`);
      assert.deepEqual(dump(vol2), want, `copy ${c}, record ${i} of ${first.length}: the published tree`);
      vol2.detach();
    }
  }
  // A page of the second copy that is no log page (its header damaged) cuts the walk there: the first copy is whole,
  // the published tree loads, and the cut is the only loss (no commit after it to roll back).
  const page = second.map((r) => r.pfn).find((pfn, i, all) => i > 0 && pfn !== all[0])!;
  const cut = copyRam(ram);
  cut.page(page)[12]! ^= 0x04;
  const v = mountOn(cut, { verify: 'full' });
  assert.equal(rolledTo(v), null, whats(v));
  assert.deepEqual(v.losses.map((l) => /log page \d+ pfn:[0-9a-f]+ has a damaged header/.test(l.what)), [true], whats(v));
  assert.deepEqual(dump(v), want, 'the published tree, from the first copy');
  v.detach();
});

test('after the next commit is durable: a damaged log page header anywhere, the head\'s too (before, inside or after the publish step) is walked past and nothing is lost; a damaged next pointer goes on at the page the slot (the tail) or the log\'s index names', () => {
  const seed = 37, s = published(seed, true);
  const f = ino(s.vol.mknod(1, 'later', 0o100644, 0, 0, 0));
  assert.equal(s.vol.write(f, 0, Buffer.alloc(3 * PS, 9)), 3 * PS);
  assert.equal(s.vol.sync(), 0);                          // appended after PUBLISHED: no older log to fall back to
  const newest = gen(s.vol), latest = dump(s.vol);
  s.vol.detach();
  const h = new HeaderView(s.ram.page(0)), slot = h.readSlot(h.current()!.which)!;
  const found = logPages(s.ram, slot.headPfn, slot.log!.logPages);
  assert.ok(typeof found !== 'string' && found.length >= 4, `seed ${seed}: a log of ${String(found)} pages`);
  const pages = found as number[];
  const { second } = publishCopies(s.ram);
  assert.ok(pages.indexOf(second[0]!.pfn) > 0, `seed ${seed}: the second copy begins past the head`);
  // Each header byte that the walk checks (magic, first, log id, seq, the crc): before this, every one ended at commit 0.
  for (const [seq, pfn] of pages.entries()) {
    for (const byte of [0, 4, 9, 16, 28]) {
      const ram = copyRam(s.ram);
      ram.page(pfn)[byte]! ^= 0x20;
      const label = `seed ${seed}, log page ${seq} of ${pages.length}, header byte ${byte}`;
      // A lazy mount reads a page before the index when its group loads (the index names its place: lazy.ts), or replays.
      const vol = mountOn(ram, { verify: (seq + byte) % 2 ? 'lazy' : 'full' });
      assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
      assert.deepEqual(dump(vol), latest, `${label}: the newest tree`);
      const said = [...new Set([...vol.losses, ...vol.pram!.stats().losses].map((l) => l.what))];
      assert.deepEqual(said.map((w) => /has a damaged header .*(walked past|the index names its place)/.test(w)), [true], `${label}: ${said.join('; ')}`);
      assert.equal(gen(vol), newest, label);
      nextCommitClean(vol, ram, label);   // the first commit after damage compacts: it mounts clean
    }
  }
  // The next pointer of the page before the tail: the slot names the tail page.
  const n = pages.length, cut = copyRam(s.ram);
  cut.page(pages[n - 2]!)[PS - 8 + 2]! ^= 0x40;
  const v = mountOn(cut, { verify: 'full' });
  assert.equal(rolledTo(v), null, whats(v));
  assert.deepEqual(v.losses.map((l) => /next pointer is damaged .*the slot names log page \d+, its tail/.test(l.what)), [true], whats(v));
  assert.deepEqual(dump(v), latest);
  v.detach();
  // The next pointer of a page before the index's page, or of the page before it: the RUNS LOG records, or LOCATE, name
  // the page it should lead to (with the page's header damaged as well: the index names it, so it is walked past).
  const indexSeq = Math.floor(u64At(s.ram, records(s.ram)[0]!, RECORD_HEADER) / (PS - 40));
  assert.ok(indexSeq >= 2 && indexSeq + 1 < n - 1, `seed ${seed}: the index begins in log page ${indexSeq} of ${n}`);
  for (let seq = 1; seq <= indexSeq; seq++) {
    for (const header of seq < indexSeq ? [false, true] : [false]) {     // (the index's page itself: its header is read to trust the index)
      const ram = copyRam(s.ram);
      ram.page(pages[seq - 1]!)[PS - 8 + 1]! ^= 0x08;
      if (header) ram.page(pages[seq]!)[16]! ^= 0x01;
      const vol = mountOn(ram, { verify: 'full' }), label = `seed ${seed}, log page ${seq - 1}'s next pointer${header ? ', page ' + seq + '\'s header' : ''}`;
      assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
      assert.ok(vol.losses.some((l) => new RegExp(`the log's index names log page ${seq} at pfn:${pages[seq]!.toString(16)}: the walk goes on there`).test(l.what)), `${label}: ${whats(vol)}`);
      assert.deepEqual(dump(vol), latest, label);
      vol.detach();
    }
  }
  // A next pointer past the index's page and before the tail's: nothing names the page it should lead to (cut, as before).
  const past = copyRam(s.ram);
  past.page(pages[indexSeq]!)[PS - 8 + 1]! ^= 0x08;
  const p = mountOn(past, { verify: 'full' });
  assert.ok(p.losses.some((l) => new RegExp(`log page ${indexSeq + 1} pfn:[0-9a-f]+ (is outside the arena|has a damaged header .*): the records after it are lost`).test(l.what)), whats(p));
  p.detach();
  // The head's next pointer and page 1's header both damaged, LOCATE too: nothing says which page follows it (cut).
  const both = copyRam(s.ram);
  both.page(pages[0]!)[PS - 8 + 2]! ^= 0x40;
  both.page(pages[1]!)[9]! ^= 0x20;
  both.page(pages[0]!)[32 + 20]! ^= 0x20;
  const b = mountOn(both, { verify: 'full' });
  assert.ok(b.losses.some((l) => /log page 1 pfn:[0-9a-f]+ is outside the arena: the records after it are lost/.test(l.what)), whats(b));
  b.detach();
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
