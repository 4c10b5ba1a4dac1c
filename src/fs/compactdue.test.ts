// When the log compacts (pram/live.ts dueForCompaction): the tail after the
// last index against the compacted part, the commit's own append counted, and
// at mount the compacted part is only what the index covers. An image built the
// usual way (create, sync of the empty tree, many small files, sync, unmount:
// bench/lib/change-child.js changeBuild) must leave an index, so its next lazy
// mount is led by it; a small change on such an image stays an append.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { decodePayload, encodeLocate, LOCATE_SIZE, LOG_HEADER, RECORD_HEADER, RecordType } from '../format/v3.js';
import type { Volume } from './volume.js';
import { committedLog, copyRam, dump, lazyEqualsFull, mountOn, newRam } from './livekit.js';

const FILES = 6000;          // ~1.5 MiB of records: past the 64 KiB floor of the due rule, and larger than the empty log
const DIR_FILES = 2000;      // files per directory (changeBuild: 10 000)
const BODY = Buffer.alloc(100, 0x5a);

/** changeBuild's image: create, sync of the empty tree, FILES files of 100 B in directories, sync; `driven`: as the library (slices). */
function build(driven: boolean, end: 'unmount' | 'detach' = 'unmount'): SimRam {
  const ram = newRam(8192);
  const vol = mountOn(ram);
  if (driven) vol.driveBackground();
  assert.equal(vol.sync(), 0);
  let dir = 0;
  for (let i = 0; i < FILES; i++) {
    if (i % DIR_FILES === 0) dir = (vol.mkdir(1, `d${i / DIR_FILES}`, 0o755, 0, 0) as { ino: number }).ino;
    const f = (vol.mknod(dir, `s${i}`, 0o100644, 0, 0, 0) as { ino: number }).ino;
    assert.equal(vol.write(f, 0, BODY), BODY.length);
  }
  assert.equal(vol.sync(), 0);
  assert.equal(end === 'unmount' ? vol.unmount() : vol.detach(), 0);
  return ram;
}

const ledByIndex = (label: string) => (lazy: Volume) => assert.ok(lazy.pram!.lazyLog, `${label}: the lazy mount is led by the index`);

test('an image built as changeBuild does (no driver): the big sync compacts at once, and the next lazy mount is led by the index, equal to a full mount', () => {
  const ram = build(false);
  const log = committedLog(ram);
  assert.equal(log.logId, 2, 'the second commit (the files) wrote a fresh log, not an append');
  lazyEqualsFull(ram, 'undriven build', ledByIndex('undriven build'));
});

test('an image built through a driver (the library): the change is larger than the log, so its sync compacts at once too', () => {
  const ram = build(true, 'detach');
  assert.equal(committedLog(ram).logId, 2, 'driven: the big sync wrote a fresh log');
  lazyEqualsFull(ram, 'driven build', ledByIndex('driven build'));
});

/** A small tree on a driven volume, grown by small commits (each an append) until a compaction is due; slices never run. */
function grownDue(): { ram: SimRam; vol: Volume } {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  vol.driveBackground();
  for (let i = 0; i < 50; i++) vol.mkdir(1, `d${i}`, 0o755, 0, 0);
  assert.equal(vol.sync(), 0);
  const f = (vol.mknod(1, 'grow', 0o100644, 0, 0, 0) as { ino: number }).ino;
  const logId = committedLog(ram).logId;
  for (let i = 0; !vol.pram!.slices!.wanted(); i++) {
    assert.ok(i < 2000, 'the log becomes due');
    vol.setxattr(f, 'user.grow', Buffer.alloc(3000, i & 0xff), 0);
    assert.equal(vol.sync(), 0);
  }
  assert.equal(committedLog(ram).logId, logId, 'every small commit appended');
  return { ram, vol };
}

test('unmount with a due compaction whose slices did not run writes it whole (changed or not); the next lazy mount is led by the index', () => {
  for (const changed of [true, false]) {
    const { ram, vol } = grownDue();
    const before = committedLog(ram);
    if (changed) vol.setattr(1, { mode: 0o700 });
    const want = dump(vol);
    assert.equal(vol.unmount(), 0);
    assert.notEqual(committedLog(ram).logId, before.logId, `changed ${changed}: the unmount compacted`);
    assert.ok(committedLog(ram).bytes < before.bytes / 2, `changed ${changed}: the tail is gone`);
    lazyEqualsFull(ram, `changed ${changed}`, ledByIndex(`changed ${changed}`));
    const back = mountOn(ram);
    assert.deepEqual(dump(back), want);
    back.detach();
  }
});

test('a small change on such an image stays an append (lazy and full mounts); an unmount with nothing changed writes nothing', () => {
  const ram = build(false);
  for (const verify of ['lazy', 'full'] as const) {
    const before = committedLog(ram);
    const vol = mountOn(ram, { verify });
    const gen = vol.pram!.stats().generation;
    const f = (vol.mknod(1, `one-${verify}`, 0o100644, 0, 0, 0) as { ino: number }).ino;
    assert.equal(vol.write(f, 0, BODY), BODY.length);
    assert.equal(vol.sync(), 0);
    const after = committedLog(ram);
    assert.equal(after.logId, before.logId, `${verify}: the same log (an append, not a compaction)`);
    assert.ok(after.bytes > before.bytes && after.bytes - before.bytes < 4096, `${verify}: an append of ${after.bytes - before.bytes} bytes`);
    assert.equal(vol.pram!.stats().generation, gen + 1);
    assert.equal(vol.unmount(), 0);
    const idle = mountOn(ram, { verify });
    const g = idle.pram!.stats().generation;
    assert.equal(idle.unmount(), 0);
    assert.equal(committedLog(ram).bytes, after.bytes, `${verify}: an unchanged unmount appends nothing`);
    const again = mountOn(ram);
    assert.equal(again.pram!.stats().generation, g, `${verify}: nor commits`);
    again.detach();
  }
  lazyEqualsFull(ram, 'after small changes', (lazy) => assert.ok(lazy.pram!.lazyLog?.tail, 'led by the index, with its tail'));
});

/** The committed log's LOCATE rewritten as a log of v3 minor 2 has it: no RUNS (no lazy mount, the log all tail). */
function withoutRuns(ram: SimRam): void {
  const log = committedLog(ram), head = ram.page(log.pages[0]!);
  const at = LOG_HEADER + RECORD_HEADER, rec = decodePayload(RecordType.Locate, head.subarray(at, at + LOCATE_SIZE));
  if (typeof rec === 'string' || rec.type !== RecordType.Locate) throw new Error('no LOCATE');
  head.set(encodeLocate({ ...rec.r, runsBytes: 0, indexPfn: 0 }, log.logId), LOG_HEADER);
}

test('adopt: a log with no RUNS counts as all tail, so the first commit after its mount compacts; a log whose tail outweighs its index too (mounted led by the index all the same: the due rule alone bounds the tail)', () => {
  const old = build(false);
  withoutRuns(old);
  // A driven volume left without its unmount when due: an index, then a tail larger than it.
  const grown = grownDue();
  grown.vol.detach();
  const tailed = grown.ram;
  for (const [label, ram] of [['no RUNS', old], ['a tail past the index', tailed]] as const) {
    for (const verify of ['lazy', 'full'] as const) {
      const copy = copyRam(ram);
      const vol = mountOn(copy, { verify });
      // (A boolean: a failing deepEqual of a LazyLog would print the whole mount.)
      assert.equal(vol.pram!.lazyLog !== null, label !== 'no RUNS' && verify === 'lazy', `${label}, ${verify}: replayed whole, or (a lazy mount with RUNS) led by the index`);
      const before = committedLog(copy);
      vol.setattr(1, { mode: 0o700 });
      assert.equal(vol.sync(), 0);
      const after = committedLog(copy);
      assert.notEqual(after.logId, before.logId, `${label}, ${verify}: a one-attribute change compacts`);
      vol.setattr(1, { mode: 0o755 });
      assert.equal(vol.sync(), 0);
      assert.equal(committedLog(copy).logId, after.logId, `${label}, ${verify}: and the next appends`);
      const want = dump(vol);
      assert.equal(vol.unmount(), 0);
      lazyEqualsFull(copy, `${label}, ${verify}`, ledByIndex(`${label}, ${verify}`));
      const back = mountOn(copy);
      assert.deepEqual(dump(back), want, `${label}, ${verify}: the tree`);
      back.detach();
    }
  }
});
