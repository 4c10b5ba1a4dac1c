// Damage to the step that published a compaction in slices (v3 minor 5, docs/FORMAT.md §v3,
// Mount and damage). Its records — what changed while the slices ran, then PUBLISHED —
// carry the log id like the compaction's own, yet losing one would bring a name moved or
// removed meanwhile back with no loss naming it (bitflip campaign, v3-sliced-tail with
// moveDuring). Until the next commit is durable the older slot still names the log before
// the compaction, its pages kept: the mount falls back to that commit, exactly, and says so;
// after it, nothing of the log loads (a loss says so). Damage after PUBLISHED, or after a
// whole compaction, rolls back to the compaction's commit as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import { logPages } from '../pram/groups.js';
import { align8, RECORD_HEADER, RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { copyRam, dump, growUntilDue, logByte, logRecords, mountOn, randomTree, slicedCompaction, type Dump, type LogRecordAt } from './livekit.js';
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

/** The records of the step that published the compaction: from where PUBLISHED says to PUBLISHED itself. */
function publishStep(ram: SimRam): (LogRecordAt & { pos: number })[] {
  const recs = records(ram), k = recs.findIndex((r) => r.type === RecordType.Published);
  assert.ok(k > 0, 'the log holds PUBLISHED');
  const p = logByte(ram, recs[k]!, RECORD_HEADER + 8), start = Number(ram.page(p.pfn).readBigUInt64LE(p.off));
  return recs.filter((r, i) => i <= k && r.pos >= start);
}

/** The header flags of the log's LOCATE and of its first RUNS record (TOTALS): bit 0, "in slices" (v3 minor 5). */
function slicedFlags(ram: SimRam): number[] {
  const recs = records(ram), flags = (r: LogRecordAt) => { const p = logByte(ram, r, 6); return ram.page(p.pfn).readUInt16LE(p.off); };
  return [flags(recs[0]!), flags(recs.find((r) => r.type === RecordType.Runs)!)];
}

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

test('damage in any record of the publish step (PUBLISHED too), no commit after it: the mount loads the commit before, exactly, from the older slot', () => {
  for (const [seed, commits] of [[31, false], [32, true]] as const) {
    const s = published(seed, commits);
    s.vol.detach();                                        // a kill: nothing committed after the publish
    // Without commits during the slices the commit before holds the old names; with one (after the move), the name of then.
    assert.ok(commits ? s.before.has('/b/x/y') && !s.before.has('/a/back') : s.before.has('/a/x/y') && s.before.has('/a/gone'), `seed ${seed}: the commit before holds the old names`);
    assert.ok(s.after.has('/a/back/y') && !s.after.has('/a/gone') && !s.after.has('/a/x'), `seed ${seed}: the published tree holds the changes`);
    assert.ok(s.publishedGen > s.beforeGen, `seed ${seed}`);
    assert.deepEqual(slicedFlags(s.ram), [1, 1], `seed ${seed}: LOCATE and TOTALS say "in slices"`);
    const step = publishStep(s.ram);
    assert.ok(step.length >= 4 && step[step.length - 1]!.type === RecordType.Published, `seed ${seed}: ${step.length} records in the step`);
    for (const [i, r] of step.entries()) {
      const copy = flip(s.ram, r), vol = mountOn(copy, { verify: i % 2 ? 'lazy' : 'full' });
      const label = `seed ${seed}, record ${i} of ${step.length} (type ${r.type})`;
      assert.equal(rolledTo(vol), s.beforeGen, `${label}: loads the commit before (${whats(vol)})`);
      assert.ok(vol.losses.some((l) => /published the compaction in slices/.test(l.what) && new RegExp(`commits ${s.beforeGen + 1}\\.\\.${s.publishedGen} are not replayed`).test(l.what)), `${label}: ${whats(vol)}`);
      assert.deepEqual(noLostFound(dump(vol)), s.before, `${label}: the tree of commit ${s.beforeGen}`);
      assert.equal(gen(vol), s.publishedGen, `${label}: the generation goes on from the newest slot`);
      // The next commit writes a fresh log over the older slot: it mounts as loaded, with no loss.
      assert.equal(vol.sync(), 0);
      const want = dump(vol);
      vol.detach();
      const again = mountOn(copy);
      assert.deepEqual(again.losses, [], label);
      assert.deepEqual(dump(again), want, `${label}: after the next commit`);
      again.detach();
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
  const vol = mountOn(flip(killed, publishStep(killed)[0]!), { verify: 'full' });
  assert.equal(rolledTo(vol), s.beforeGen, `seed ${seed}: ${whats(vol)}`);
  assert.deepEqual(noLostFound(dump(vol)), s.before, `seed ${seed}: the commit before, /a/gone's pages unchanged`);
  vol.detach();
});

test('after the next commit is durable: damage in the publish step loads nothing of the log (said), damage after PUBLISHED rolls back to the publish exactly', () => {
  const seed = 34, s = published(seed, true);
  const f = ino(s.vol.mknod(1, 'later', 0o100644, 0, 0, 0));
  assert.equal(s.vol.write(f, 0, Buffer.from('after the publish')), 17);
  assert.equal(s.vol.sync(), 0);                          // appended after PUBLISHED: the older slot names this log now
  const newest = gen(s.vol);
  s.vol.detach();
  const recs = records(s.ram), k = recs.findIndex((r) => r.type === RecordType.Published);
  for (const r of publishStep(s.ram)) {
    const vol = mountOn(flip(s.ram, r), { verify: 'full' });
    assert.equal(rolledTo(vol), 0, `seed ${seed}, type ${r.type}: ${whats(vol)}`);
    assert.ok(vol.losses.some((l) => /published the compaction in slices.*everything it held is lost/.test(l.what)), `seed ${seed}: ${whats(vol)}`);
    assert.deepEqual([...noLostFound(dump(vol)).keys()], [], `seed ${seed}, type ${r.type}: nothing loads, no older name`);
    assert.equal(gen(vol), newest);
    vol.detach();
  }
  // The first record of the commit after the publish: that commit is lost, the publish loads whole.
  const vol = mountOn(flip(s.ram, recs[k + 1]!), { verify: 'full' });
  assert.equal(rolledTo(vol), s.publishedGen, `seed ${seed}: ${whats(vol)}`);
  assert.deepEqual(dump(vol), s.after, `seed ${seed}: the published tree`);
  vol.detach();
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

test('a sliced compaction\'s LOCATE alone damaged costs nothing; with a record of its publish step too, the commit before loads (TOTALS says "in slices")', () => {
  const s = published(36, false);
  s.vol.detach();
  const recs = records(s.ram), vol = mountOn(flip(s.ram, recs[0]!), { verify: 'lazy' });
  assert.equal(rolledTo(vol), null, whats(vol));
  assert.deepEqual(dump(vol), s.after);
  vol.detach();
  for (const r of publishStep(s.ram)) {
    const m = mountOn(flip(flip(s.ram, recs[0]!), r), { verify: 'full' });
    assert.equal(rolledTo(m), s.beforeGen, `type ${r.type}: ${whats(m)}`);
    assert.deepEqual(noLostFound(dump(m)), s.before);
    m.detach();
  }
});
