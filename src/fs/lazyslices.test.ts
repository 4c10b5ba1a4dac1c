// A compaction in slices writes the index a whole one does (v3 minor 3: LOCATE,
// groups, INDEX, RUNS; pram/slices.ts): its RUNS list exactly the data pages its
// groups map (a snapshot written over many slices, not the tree at publish), so
// with no change during it the log mounts lazily and equals the full replay; with
// changes during it, their records follow the RUNS (a tail, applied over the
// groups it touches) and the lazy mount is still right: every page verifies, no
// page is given twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import { align8, LOG_HEADER, LOG_NEXT, readLogHeader, RECORD_HEADER, RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { logPages, readGroup, readIndex } from '../pram/groups.js';
import type { Volume } from './volume.js';
import { beforeLoads, copyRam, dump, logRecords, mountOn, PS, randomOp, slicedCompaction } from './livekit.js';

const lazily = (vol: Volume): boolean => vol.pram?.lazyLog !== null && vol.pram?.lazyLog !== undefined;
const shapeOf = (vol: Volume) => { const s = vol.pram!.space.shape; return { bytes: s.bytes, data: s.data, inline: s.inline }; };

/** The types of the committed log's records from stream byte `from` on. */
function recordsAfter(ram: SimRam, from: number): number[] {
  let pos = 0;
  const out: number[] = [];
  for (const r of logRecords(ram)) { if (pos >= from) out.push(r.type); pos += RECORD_HEADER + align8(r.length); }
  return out;
}

/** The committed log's RUNS DATA pfns and the pfns its groups map, each ascending. */
function runsAndGroups(ram: SimRam): { runs: number[]; mapped: number[]; tail: boolean } {
  const slot = new HeaderView(ram.page(0)).current()!.slot;
  const pages = logPages(ram, slot.headPfn, slot.log!.logPages);
  if (typeof pages === 'string') assert.fail(pages);
  const h = readLogHeader(ram.page(pages[0]!));
  if (typeof h === 'string') assert.fail(h);
  const bytes = (pages.length - 1) * (PS - LOG_HEADER - LOG_NEXT) + slot.log!.tailOff - LOG_HEADER;
  const ix = readIndex(ram, pages, bytes, h.logId);
  if (typeof ix === 'string') assert.fail(ix);
  assert.ok(ix.runs, 'the index has RUNS');
  const runs: number[] = [];
  for (let i = 0; i < ix.runs.data.length; i += 2) for (let k = 0; k < ix.runs.data[i + 1]!; k++) runs.push(ix.runs.data[i]! + k);
  const mapped: number[] = [];
  for (const e of ix.dirs.values()) {
    const g = readGroup(ram, pages, e, h.logId);
    if (typeof g === 'string') assert.fail(g);
    for (const p of g.pages) {
      if (p.type !== RecordType.Map && p.type !== RecordType.Span) continue;
      for (let k = 0; k < p.r.count; k++) mapped.push(p.r.pfn + k);
    }
  }
  const l = ix.locate;
  // (v3 minor 5) the last step is written twice, each copy ending with a PUBLISHED record: a tail only when other records follow the RUNS.
  const runsEnd = l.indexPos + l.indexBytes + l.runsBytes;
  return { runs, mapped: [...new Set(mapped)].sort((a, b) => a - b), tail: recordsAfter(ram, runsEnd).some((t) => t !== RecordType.Published) };
}

test('a compaction in slices with no change during it: RUNS list its groups\' pages; the log mounts lazily and equals the full replay', () => {
  for (const seed of [31, 32, 33]) {
    const { ram, vol } = slicedCompaction(seed, () => {});
    const want = dump(vol);
    vol.detach();
    const { runs, mapped, tail } = runsAndGroups(ram);
    assert.equal(tail, false, `seed ${seed}: nothing after the RUNS but PUBLISHED`);
    assert.ok(mapped.length > 20, `seed ${seed}: ${mapped.length} data pages`);
    assert.deepEqual(runs, mapped, `seed ${seed}: RUNS DATA = the pages the groups map`);
    const full = mountOn(copyRam(ram), { verify: 'full' });
    assert.deepEqual(dump(full), want, `seed ${seed}: the full replay`);
    const wantFs = full.statfs(), wantShape = shapeOf(full), wantFree = full.pram!.allocator.freeCount;
    const lazy = mountOn(ram, { verify: 'lazy' });
    assert.ok(lazily(lazy), `seed ${seed}: booted lazily from the index`);
    assert.equal(lazy.pram!.allocator.freeCount, wantFree, `seed ${seed}: the same pages reserved`);
    assert.deepEqual(lazy.statfs(), wantFs, `seed ${seed}: statfs before any directory loads`);
    assert.deepEqual(shapeOf(lazy), wantShape, `seed ${seed}: the space model before any directory loads`);
    assert.deepEqual(dump(lazy), want, `seed ${seed}: the tree`);
    assert.deepEqual(shapeOf(lazy), wantShape, `seed ${seed}: the space model once loaded`);
    assert.deepEqual(lazy.losses, [], `seed ${seed}`);
    full.detach();
    lazy.detach();
  }
});

test('a compaction in slices with changes during it: the changes follow the RUNS; RUNS still list the groups\' snapshot; the lazy mount (the changes its tail) is right, every page verifies, none given twice', () => {
  for (const seed of [41, 42, 43]) {
    const r = new Prng(seed + 100);
    const { ram, vol } = slicedCompaction(seed, (v, step) => {
      if (step % 7 === 3) for (let i = 0; i < 4; i++) randomOp(v, r);   // writes, unlinks, renames between slices
      if (step % 23 === 5) assert.equal(v.sync(), 0);                  // commits appended to the old log meanwhile
    });
    const want = dump(vol);
    vol.detach();
    const { runs, mapped, tail } = runsAndGroups(ram);
    assert.equal(tail, true, `seed ${seed}: the last step's records follow the RUNS`);
    assert.deepEqual(runs, mapped, `seed ${seed}: RUNS DATA = the pages the groups map, not the tree's at publish`);
    const full = mountOn(copyRam(ram), { verify: 'full' });
    assert.deepEqual(full.losses, [], `seed ${seed}: every page verifies`);
    assert.deepEqual(dump(full), want, `seed ${seed}: the full replay`);
    const wantFs = full.statfs(), wantShape = shapeOf(full);
    const lazy = mountOn(ram, { verify: 'lazy' });
    // The records after the RUNS are the tail: the nodes the walk did not group, then the last step's changes.
    assert.ok(lazily(lazy), `seed ${seed}: booted lazily from the index, the last step's records its tail`);
    beforeLoads(lazy, wantFs, wantShape, `seed ${seed}`);
    assert.deepEqual(dump(lazy), want, `seed ${seed}: the tree`);
    assert.deepEqual(shapeOf(lazy), wantShape, `seed ${seed}: the space model once loaded`);
    assert.deepEqual(lazy.losses, [], `seed ${seed}`);
    assert.equal(lazy.pram!.allocator.freeCount, full.pram!.allocator.freeCount, `seed ${seed}: the same pages reserved`);
    // Pages taken after the mount are none the image holds: a full replay of the result checks every page once.
    const f = (lazy.mknod(1, 'after', 0o100644, 0, 0, 0) as { ino: number }).ino;
    assert.equal(lazy.write(f, 0, Buffer.alloc(40 * PS, seed)), 40 * PS);
    assert.equal(lazy.sync(), 0);
    const after = dump(lazy);
    lazy.detach();
    full.detach();
    const back = mountOn(ram, { verify: 'full' });
    assert.deepEqual(back.losses, [], `seed ${seed}: no page given twice`);
    assert.deepEqual(dump(back), after, `seed ${seed}: after writes`);
    back.detach();
  }
});
