// Background work of the v3 engine in bounded slices (pram/slices.ts, fs/
// background.ts): a compaction written node by node while commits append to
// the current log, checked against a walk of the tree at every step — the arena
// as a kill would leave it must load the last commit exactly — and settling
// checksums ahead of the commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageFlag } from '../boot/frames.js';
import { crc32c } from '../format/crc.js';
import { Prng } from '../machine/prng.js';
import type { Volume } from './volume.js';
import { copyRam, dump, growUntilDue, logByte, logRecords, mountOn, newRam, PS, randomOp, type Dump } from './livekit.js';
import { LOG_HEADER, LOG_NEXT, RECORD_HEADER, RecordType } from '../format/v3.js';

/** Commits of ~3 KiB of records each until the log is due for a compaction. */
function growLog(vol: Volume): void {
  const f = (vol.mknod(1, 'grow', 0o100644, 0, 0, 0) as { ino: number }).ino;
  // Due, and past 1 MiB: the fill test's arena must fill while a compaction of that size is in slices.
  for (let i = 0; !vol.pram!.slices!.wanted() || vol.pram!.stats().metaPages * PS < 1 << 20; i++) {
    assert.ok(i < 2000, 'the log became due');
    vol.setxattr(f, 'user.grow', Buffer.alloc(3000, i & 0xff), 0);
    assert.equal(vol.sync(), 0);
  }
}

/** A volume of `ops` seeded changes, synced, driven, its log due for a compaction. */
function dueVolume(seed: number, ops: number, opts: { spans?: boolean } = {}): { r: Prng; ram: ReturnType<typeof newRam>; vol: Volume } {
  const r = new Prng(seed);
  const ram = newRam(4096);
  const vol = mountOn(ram, opts);
  for (let i = 0; i < ops; i++) randomOp(vol, r);
  assert.equal(vol.sync(), 0);
  vol.background(0);                                       // a driver: the library calls this between requests
  growLog(vol);
  return { r, ram, vol };
}

/** The arena as a kill now would leave it loads exactly `committed`, with nothing lost. */
function killNowLoads(vol: Volume, ram: ReturnType<typeof newRam>, committed: Dump, what: string): void {
  const back = mountOn(copyRam(ram), { verify: 'full' });
  assert.deepEqual(back.losses, [], `${what}: losses`);
  assert.deepEqual(dump(back), committed, `${what}: the tree of the last commit`);
}

test('a compaction in slices interleaved with changes and commits: at every step the arena loads the last commit; the fresh log takes over at its last step', () => {
  for (const seed of [11, 12]) {
    const { r, ram, vol } = dueVolume(seed, 50);
    const head = vol.pram!.head;
    let committed = dump(vol);
    let steps = 0, commits = 0;
    for (;;) {
      assert.ok(++steps < 5000, `seed ${seed}: the compaction ends`);
      vol.background(0);                                    // the least slice: one node, or 64 groups of one
      assert.equal(vol.pram!.head, head, `seed ${seed} step ${steps}: a slice never commits`);
      assert.ok(vol.pram!.slices!.compacting, `seed ${seed} step ${steps}: compacting in slices`);
      killNowLoads(vol, ram, committed, `seed ${seed} step ${steps}, between slices`);
      for (let k = r.below(3); k > 0; k--) randomOp(vol, r);
      const last = vol.pram!.slices!.sliced;              // every node written: the next sync publishes the fresh log
      if (last || r.chance(0.3)) {
        assert.equal(vol.sync(), 0);
        committed = dump(vol);
        if (last) break;
        assert.equal(vol.pram!.head, head, `seed ${seed} step ${steps}: a commit during the compaction appends to the current log`);
        commits++;
        killNowLoads(vol, ram, committed, `seed ${seed} step ${steps}, after a commit`);
      }
    }
    assert.notEqual(vol.pram!.head, head, `seed ${seed}: the sync after the last slice published the fresh log`);
    assert.ok(steps > 3 && commits > 0, `seed ${seed}: ${steps} slices, ${commits} commits in between`);
    assert.equal(vol.pram!.slices!.compacting, false);
    assert.equal(vol.unsaved(), false, 'the last step committed everything');
    killNowLoads(vol, ram, committed, `seed ${seed}, published`);
    // The old log's pages went back: the arena's used pages are what a fresh mount of it reserves.
    const used = vol.pram!.allocator.freeCount;
    vol.detach();
    const back = mountOn(ram, { verify: 'full' });
    assert.deepEqual(dump(back), committed);
    assert.equal(back.pram!.allocator.freeCount, used, `seed ${seed}: no page leaked or lost by the compaction`);
    for (let i = 0; i < 20; i++) randomOp(back, r);
    assert.equal(back.sync(), 0);
    const after = dump(back);
    back.detach();
    assert.deepEqual(dump(mountOn(ram)), after, `seed ${seed}: the published log takes appends`);
  }
});

test('with a driver, a commit that finds the log due appends: the compaction never runs whole inside it', () => {
  const { r, ram, vol } = dueVolume(5, 60);
  const head = vol.pram!.head, gen = vol.pram!.stats().generation;
  randomOp(vol, r);
  vol.setattr(1, { mode: 0o40700 });
  assert.equal(vol.sync(), 0);
  assert.equal(vol.pram!.head, head, 'the due log was appended to, not compacted inside the commit');
  assert.equal(vol.pram!.stats().generation, gen + 1);
  let slices = 0;
  while (vol.background(0)) assert.ok(++slices < 5000);
  assert.ok(slices > 2, `the compaction took ${slices} slices`);
  assert.equal(vol.pram!.head, head, 'slices never commit');
  assert.equal(vol.sync(), 0);
  assert.notEqual(vol.pram!.head, head, 'the next sync published the fresh log');
  const committed = dump(vol);
  vol.detach();
  assert.deepEqual(dump(mountOn(ram, { verify: 'full' })), committed);
});

test('a kill before the last step leaves the fresh log\'s pages unreachable: the next mount has them free', () => {
  const { ram, vol } = dueVolume(9, 80);
  const committed = dump(vol);
  const freeBefore = mountOn(copyRam(ram)).pram!.allocator.freeCount;
  for (let i = 0; i < 5; i++) vol.background(0);
  assert.ok(vol.pram!.slices!.compacting && vol.pram!.slices!.pages > 0, 'a fresh log holds pages');
  const killed = mountOn(copyRam(ram), { verify: 'full' });
  assert.deepEqual(dump(killed), committed);
  assert.equal(killed.pram!.allocator.freeCount, freeBefore, 'the abandoned compaction\'s pages are free at mount');
});

test('written pages get their checksum between commits (settling); a page written again is checksummed again', () => {
  const ram = newRam(2048);
  const vol = mountOn(ram);
  const f = (vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.sync(), 0);
  // Half pages: a page written whole is checksummed from the writer's bytes at once (writecrc.test.ts), these are left to settle.
  for (let off = 0; off < 8 * PS; off += PS / 2) assert.equal(vol.write(f, off, Buffer.alloc(PS / 2, 7)), PS / 2);
  const { frames, mem } = vol.pram!;
  const img = vol.images().find((n) => n.ino === f)!;
  const pfns = [...Array(8).keys()].map((i) => img.pages.get(i));
  assert.ok(pfns.every((p) => frames.flags[p]! & PageFlag.Dirty), 'written: Dirty');
  while (vol.background(1));
  for (const p of pfns) {
    assert.equal(frames.flags[p]! & PageFlag.Dirty, 0, `pfn ${p} settled`);
    assert.equal(frames.csum[p], crc32c(mem.page(p)), `pfn ${p}: its checksum`);
  }
  assert.equal(vol.write(f, 3 * PS + 5, Buffer.from('again')), 5);
  assert.ok(frames.flags[pfns[3]!]! & PageFlag.Dirty, 'written again (in place: not committed yet): Dirty again');
  assert.equal(vol.sync(), 0);
  const committed = dump(vol);
  vol.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, []);
  assert.deepEqual(dump(back), committed);
});

test('an arena filled while a compaction runs in slices: writes stop at ENOSPC, every sync succeeds; a last step that no longer fits gives the compaction up; nothing lost or leaked', () => {
  // A MAP per page (the older encoding): the fill's SPANs would be so small that the last step still fits.
  const { ram, vol } = dueVolume(21, 40, { spans: false });
  const slices = vol.pram!.slices!;
  for (let i = 0; i < 3; i++) vol.background(0);
  assert.ok(slices.compacting);
  const f = (vol.mknod(1, 'fill', 0o100644, 0, 0, 0) as { ino: number }).ino;
  let off = 0;
  for (let i = 0; ; i++) {
    assert.ok(i < 5000, 'the arena fills up');
    const n = vol.write(f, off, Buffer.alloc(PS, i & 0xff));
    if (typeof n === 'number' && n < 0) { assert.equal(n, -28, 'ENOSPC'); break; }
    off += PS;
    assert.equal(vol.sync(), 0, `sync at ${off} bytes`);                // each write committed: the full arena has nothing left to append
  }
  assert.ok(slices.compacting, 'the fresh log\'s pages count in the ledger\'s reserve: appends kept fitting');
  assert.equal(vol.sync(), 0, 'the sync at a full arena');
  while (vol.background(0));
  assert.ok(slices.sliced, 'every node written');
  const head = vol.pram!.head;
  assert.equal(vol.sync(), 0, 'the last step does not fit: given up, and the sync commits as usual');
  assert.equal(slices.compacting, false);
  assert.equal(vol.pram!.head, head);
  const committed = dump(vol), free = vol.pram!.allocator.freeCount;
  vol.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, []);
  assert.deepEqual(dump(back), committed);
  assert.equal(back.pram!.allocator.freeCount, free, 'the given-up fresh log\'s pages went back');
});

test('a directory of thousands of names spans slices (a slice writes at most a few pages of NAMEs); renames and unlinks in between end exactly', () => {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  const d = (vol.mkdir(1, 'big', 0o40755, 0, 0) as { ino: number }).ino;
  for (let i = 0; i < 3000; i++) assert.ok(typeof vol.mknod(d, `file-with-a-longish-name-${i}`, 0o100644, 0, 0, 0) !== 'number');
  assert.equal(vol.sync(), 0);
  vol.background(0);
  growLog(vol);
  const slices = vol.pram!.slices!;
  let most = 0, steps = 0;
  while (!slices.sliced) {
    assert.ok(++steps < 5000, 'the compaction ends');
    const before = slices.pages;
    vol.background(0);
    most = Math.max(most, slices.pages - before);
    if (steps % 3 === 0) {
      assert.equal(vol.rename(d, `file-with-a-longish-name-${steps}`, d, `renamed-${steps}`, 0), 0);
      assert.equal(vol.unlink(d, `file-with-a-longish-name-${2999 - steps}`), 0);
      assert.equal(vol.sync(), 0);
    }
  }
  // 3000 NAMEs of ~64 bytes are ~47 pages: in one slice before; 256 at a time now.
  assert.ok(most <= 6, `a slice took ${most} log pages`);
  assert.equal(vol.sync(), 0);
  assert.equal(slices.compacting, false, 'published');
  const committed = dump(vol);
  vol.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, []);
  assert.deepEqual(dump(back), committed);
});

test('a compaction in slices of sparse files (holes of whole groups, a lone page far out) and a dense one names exactly their pages', () => {
  const { ram, vol } = dueVolume(21, 10);
  const at = { sparse: [0, 31, 32, 100, 101, 5000, 70_000], far: [300_000], dense: Array.from({ length: 200 }, (_, i) => i) };
  const blocks: Record<string, number> = {};
  for (const [name, idx] of Object.entries(at)) {
    const ino = (vol.mknod(1, name, 0o100644, 0, 0, 0) as { ino: number }).ino;
    for (const i of idx) assert.equal(vol.write(ino, i * PS, Buffer.alloc(PS, (i % 250) + 1)), PS);
    blocks[name] = (vol.getattr(ino) as { blocks: number }).blocks;
  }
  assert.equal(vol.sync(), 0);
  const head = vol.pram!.head;
  for (let slices = 0; vol.background(0);) assert.ok(++slices < 5000, 'the compaction ends');
  assert.equal(vol.sync(), 0);
  assert.notEqual(vol.pram!.head, head, 'the fresh log was published');
  const committed = dump(vol);
  vol.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, []);
  assert.deepEqual(dump(back), committed);
  for (const name of Object.keys(at)) {
    const ino = back.resolve(`/${name}`, { follow: true });
    assert.equal((back.getattr(ino) as { blocks: number }).blocks, blocks[name], `${name}: its pages and no others`);
  }
});

/**
 * 1000 names removed while the slices run, then the arena filled up to `back` pages from full: the last step (a DROP
 * and a NAME removal each, the fill's pages) is written twice (v3 minor 5). What the sync did: finish()'s result, the
 * step's bytes (PUBLISHED says; 0 when given up), the pages free before it, and the volume.
 */
function removalsStep(back: number) {
  const ram = newRam(2048), vol = mountOn(ram), n = 1000;
  const m = (vol.mkdir(1, 'm', 0o755, 0, 0) as { ino: number }).ino;
  for (let i = 0; i < n; i++) assert.equal(typeof vol.mknod(m, `a-longer-name-for-file-${i}`, 0o100644, 0, 0, 0), 'object');
  assert.equal(vol.sync(), 0);
  growUntilDue(vol);
  const slices = vol.pram!.slices!, finish = slices.finish.bind(slices);
  let finished: number | null = null;
  slices.finish = (c) => (finished = finish(c));
  for (let i = 0; i < 3; i++) vol.background(0);
  assert.ok(slices.compacting && !slices.sliced, 'the compaction runs in slices');
  for (let i = 0; i < n; i++) assert.equal(vol.unlink(m, `a-longer-name-for-file-${i}`), 0);
  const f = (vol.mknod(1, 'fill', 0o100644, 0, 0, 0) as { ino: number }).ino;
  let pages = 0;
  for (;; pages++) { const w = vol.write(f, pages * PS, Buffer.alloc(PS, pages & 0xff)); if (typeof w === 'number' && w < 0) { assert.equal(w, -28); break; } }
  assert.equal(typeof vol.setattr(f, { size: (pages - back) * PS }), 'object');
  while (vol.background(0));
  assert.ok(slices.sliced, 'every node written');
  const free = vol.pram!.allocator.freeCount;
  assert.equal(vol.sync(), 0, 'the sync commits, whatever the last step did');
  const pub = logRecords(ram).find((r) => r.type === RecordType.Published);
  const at = pub ? logByte(ram, pub, RECORD_HEADER + 24) : null;
  return { ram, vol, free, finished: finished as number | null, stepBytes: at ? Number(ram.page(at.pfn).readBigUInt64LE(at.off)) : 0 };
}

test('a last step of many removals on a nearly full arena: where the step fits once but not with its second copy, the compaction in slices is given up and the sync compacts whole; nothing lost, no page leaked', () => {
  // The step's size, from an arena with room for both copies.
  const roomy = removalsStep(80);
  assert.equal(roomy.finished, 0, 'published');
  const per = PS - LOG_HEADER - LOG_NEXT, once = Math.ceil(roomy.stepBytes / per) + 1, twice = 2 * once + 1;
  assert.ok(once > 20, `a step of ${roomy.stepBytes} bytes`);
  roomy.vol.detach();
  // Pages enough for the step once, not twice (with the first copy's padding and the two PUBLISHED records).
  const s = removalsStep(30);
  assert.ok(s.free > once && s.free < twice, `${s.free} pages free before the last step: it takes ${once}, twice ${twice}`);
  assert.equal(s.finished, -28, 'the last step hit ENOSPC: given up');
  assert.equal(s.vol.pram!.slices!.compacting, false);
  const want = dump(s.vol), free = s.vol.pram!.allocator.freeCount;
  assert.ok(!want.has('/m/a-longer-name-for-file-0') && want.has('/fill'), 'the sync committed the removals and the fill');
  s.vol.detach();
  const back = mountOn(s.ram, { verify: 'full' });
  assert.deepEqual(back.losses, []);
  assert.deepEqual(dump(back), want);
  assert.equal(back.pram!.allocator.freeCount, free, 'the given-up fresh log\'s pages went back');
  back.detach();
});
