// The v3 engine end to end on simulated RAM with an arena header: seeded
// random changes, commits and remounts against a dump of what the last commit
// held; a commit cut at every msync (and bytes past the tail scrambled); idle
// commits write nothing; v2 images convert on their first commit; compaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { HeaderView } from '../format/header.js';
import type { Volume } from './volume.js';
import { Prng } from '../machine/prng.js';
import { ENOSPC } from '../format/errno.js';
import { copyRam, dump, indexOf, mountOn, newRam, randomOp, type Dump } from './livekit.js';
import { LOCATE_BYTES, LOG_HEADER, LOG_NEXT } from '../format/v3.js';
import { OLD_LOG_STEP } from '../pram/live.js';

const PS = 4096;

test('seeded changes: every commit comes back exactly after a remount, and uncommitted changes do not', () => {
  for (const seed of [1, 2, 3]) {
    const r = new Prng(seed);
    const ram = newRam(4096);
    let vol = mountOn(ram);
    let committed: Dump = dump(vol);
    for (let round = 0; round < 30; round++) {
      for (let k = r.below(6); k >= 0; k--) randomOp(vol, r);
      assert.equal(vol.sync(), 0, `seed ${seed} round ${round}: sync`);
      committed = dump(vol);
      if (r.chance(0.3)) {
        for (let k = r.below(4); k >= 0; k--) randomOp(vol, r);   // never committed
        vol.detach();
        vol = mountOn(ram, { verify: r.chance(0.5) ? 'lazy' : 'full' });
        assert.deepEqual(vol.losses, [], `seed ${seed} round ${round}: losses`);
        assert.ok(vol.pram!.logs, 'a remounted log is kept as a log (its pages are not banned)');
        assert.deepEqual(dump(vol), committed, `seed ${seed} round ${round}: the tree of the last commit`);
      }
    }
    assert.equal(vol.unmount(), 0);
  }
});

test('a commit cut at every msync (records past the tail scrambled) comes back to the previous commit or the new one, never a mix', () => {
  const r = new Prng(7);
  const ram = newRam(4096);
  const vol = mountOn(ram);
  let before: Dump = dump(vol), after: Dump | null = null;
  const seen = { old: 0, new: 0 };
  const real = ram.sync.bind(ram);
  let n = 0;
  ram.sync = () => {
    n++;
    for (const scramble of [false, true]) {
      const copy = copyRam(ram);
      if (scramble) scrambleFree(copy, vol, r);
      const got = dump(mountOn(copy));
      if (sameDump(got, before)) seen.old++;
      else { assert.ok(after && sameDump(got, after), `msync ${n}: neither the previous commit nor the new one`); seen.new++; }
    }
    real();
  };
  for (let round = 0; round < 25; round++) {
    for (let k = r.below(5); k >= 0; k--) randomOp(vol, r);
    // What the commit will hold: the tree now (dump reads change only atime, which is not compared).
    after = dump(vol);
    assert.equal(vol.sync(), 0);
    before = dump(vol);
    assert.ok(sameDump(before, after));
  }
  ram.sync = real;
  assert.ok(seen.old > 20 && seen.new > 10, `both outcomes seen: ${JSON.stringify(seen)}`);
});

function sameDump(a: Dump, b: Dump): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** What a kill in the middle of an append leaves: any bytes in pages the committed image does not use. */
function scrambleFree(copy: SimRam, vol: Volume, r: Prng): void {
  const frames = vol.pram!.frames;
  for (let pfn = 1; pfn < copy.pageCount; pfn++) if (frames.owner[pfn] === 0 && r.chance(0.5)) copy.page(pfn).fill(r.below(256));
}

test('sync, fsync and unmount with nothing changed write nothing', () => {
  const ram = newRam();
  const vol = mountOn(ram);
  const f = vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number };
  vol.write(f.ino, 0, Buffer.alloc(10000, 1));
  assert.equal(vol.sync(), 0);
  const gen = vol.pram!.stats().generation;
  const bytes = copyRam(ram);
  let syncs = 0;
  const real = ram.sync.bind(ram);
  ram.sync = () => { syncs++; real(); };
  assert.equal(vol.sync(), 0);
  assert.equal(vol.fsync(f.ino), 0);
  assert.equal(vol.unsaved(), false);
  assert.equal(syncs, 0, 'no msync');
  assert.equal(vol.pram!.stats().generation, gen, 'no commit');
  for (let pfn = 0; pfn < ram.pageCount; pfn++) assert.ok(ram.page(pfn).equals(bytes.page(pfn)), `pfn ${pfn} unchanged`);
  assert.equal(vol.unmount(), 0);
  assert.equal(new HeaderView(ram.page(0)).current()!.slot.generation, gen);
});

test('a small change costs a few records: an fsync after a 4 KiB write into a large file appends, the image is not rewritten', () => {
  const ram = newRam(8192);
  const vol = mountOn(ram);
  const f = (vol.mknod(1, 'big', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.write(f, 0, Buffer.alloc(6000 * PS, 3)), 6000 * PS);
  assert.equal(vol.sync(), 0);
  const head = vol.pram!.head;
  const free = vol.pram!.allocator.freeCount;
  const logPages = new HeaderView(ram.page(0)).current()!.slot.log!.logPages;
  assert.equal(vol.write(f, 1234 * PS + 10, Buffer.alloc(PS, 4)), PS);
  assert.equal(vol.fsync(f), 0);
  assert.equal(vol.pram!.head, head, 'the same log: appended, not compacted');
  assert.ok(free - vol.pram!.allocator.freeCount <= 3, 'a copy of the two pages written, at most one log page');
  const slot = new HeaderView(ram.page(0)).current()!.slot;
  assert.ok(slot.log!.logPages - logPages <= 1, 'at most one log page appended');
  vol.detach();
  const back = mountOn(ram);
  const b = back.read(f, 1234 * PS, 2 * PS) as Buffer;
  assert.equal(b[9], 3); assert.equal(b[10], 4); assert.equal(b[PS + 9], 4); assert.equal(b[PS + 10], 3);
  // After a remount, the next small change appends to the same log too.
  assert.equal(back.write(f, 7 * PS, Buffer.alloc(100, 5)), 100);
  assert.equal(back.fsync(f), 0);
  assert.equal(back.pram!.head, head, 'appended to the log it mounted');
});

test('a v2 image mounts, and its first commit writes a v3 log (the header version follows)', () => {
  const ram = newRam(2048, 2);
  const v2 = mountOn(ram, { live: false });
  const d = (v2.mkdir(1, 'd', 0o755, 0, 0) as { ino: number }).ino;
  const f = (v2.mknod(d, 'f', 0o100600, 0, 0, 0) as { ino: number }).ino;
  v2.write(f, 0, Buffer.alloc(3 * PS + 5, 8));
  v2.setxattr(f, 'user.a', Buffer.from('b'), 0);
  assert.equal(v2.unmount(), 0);
  assert.equal(new HeaderView(ram.page(0)).current()!.slot.log, undefined, 'a v2 chain');
  const expect = dump(mountOn(copyRam(ram)));
  const vol = mountOn(ram);
  assert.deepEqual(dump(vol), expect);
  assert.equal(vol.sync(), 0);                       // nothing changed, but the image is not a log yet
  const h = new HeaderView(ram.page(0));
  assert.ok(h.current()!.slot.log, 'the slot names a v3 log');
  assert.equal(h.version, 9);                       // v3 minor 6 (LOCATE, INDEX, RUNS, PUBLISHED and ATIMES_PAGES records)
  vol.detach();
  assert.deepEqual(dump(mountOn(ram)), expect);
});

test('the log is compacted once it holds more than twice a fresh one (plus the floor); the old log pages are freed', () => {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  const f = (vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.sync(), 0);
  const heads = new Set<number>([vol.pram!.head]);
  for (let i = 0; i < 1000; i++) {
    vol.setattr(f, { mode: i & 0o777 });
    vol.setxattr(f, 'user.big', Buffer.alloc(3000, i & 0xff), 0);     // ~3 KiB of records per commit
    assert.equal(vol.sync(), 0);
    heads.add(vol.pram!.head);
  }
  assert.ok(heads.size >= 2, 'compacted at least once');
  const slot = new HeaderView(ram.page(0)).current()!.slot;
  assert.ok(slot.log!.logPages <= 2 * (1 << 20) / PS, `the log stays bounded: ${slot.log!.logPages} pages`);
  vol.detach();
  const back = mountOn(ram);
  assert.equal((back.getattr(f) as { mode: number }).mode & 0o777, 999 & 0o777);
  assert.equal(Buffer.from(back.getxattr(f, 'user.big') as Uint8Array)[0], 999 & 0xff);
});

test('the ledger\'s v3 cost model covers what a compaction writes; pages past the size (KEEP_SIZE) are kept by the log', () => {
  for (const seed of [41, 42, 43]) {
    const r = new Prng(seed);
    const ram = newRam(8192);
    const vol = mountOn(ram);
    for (let i = 0; i < 200; i++) randomOp(vol, r);
    const f = (vol.mknod(1, 'keep', 0o100644, 0, 0, 0) as { ino: number }).ino;
    assert.equal(vol.fallocate(f, 1, 0, 5 * PS), 0);            // FALLOC_FL_KEEP_SIZE: 5 pages, size 0
    const need = vol.pram!.space.need();
    assert.equal(vol.pram!.checkpoint(vol.images()), 0);       // a compaction of the whole tree
    const pages = new HeaderView(ram.page(0)).current()!.slot.log!.logPages;
    // The ledger prices the log without its index (the commit writes that log when the index does not fit
    // the room): the index's own pages (LOCATE, INDEX, RUNS; +1 for where they fall on pages) come on top.
    const ix = indexOf(ram);
    const indexPages = typeof ix === 'string' ? 0 : Math.ceil((LOCATE_BYTES + ix.locate.indexBytes + ix.locate.runsBytes) / (PS - LOG_HEADER - LOG_NEXT)) + 1;
    assert.ok(pages <= need + indexPages, `seed ${seed}: the compaction took ${pages} log pages, the ledger promised ${need} (+ ${indexPages} of index)`);
    assert.equal(vol.sync(), 0);
    vol.detach();
    const back = mountOn(ram);
    assert.equal((back.getattr(f) as { blocks: number }).blocks, 5 * PS / 512, 'the preallocated pages came back');
    assert.equal(back.setattr(f, { size: 5 * PS }) !== null, true);
    assert.deepEqual(back.read(f, 0, 5 * PS), Buffer.alloc(5 * PS));
  }
});

test('a remounted log past the compaction floor: an idle sync writes nothing and the first small change appends', () => {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  for (let i = 0; i < 320; i++) {
    const f = (vol.mknod(1, `f${i}`, 0o100644, 0, 0, 0) as { ino: number }).ino;
    vol.setxattr(f, 'user.big', Buffer.alloc(3500, i & 0xff), 0);      // a fresh log of ~1.1 MiB
  }
  assert.equal(vol.sync(), 0);
  const head = vol.pram!.head;
  assert.ok(new HeaderView(ram.page(0)).current()!.slot.log!.logPages * PS > (1 << 20), 'the log is past the 1 MiB floor');
  vol.detach();
  const back = mountOn(ram);
  const gen = back.pram!.stats().generation;
  assert.equal(back.sync(), 0);
  assert.equal(back.pram!.stats().generation, gen, 'idle: no commit, no compaction');
  const f0 = back.resolve('/f0');
  assert.equal(back.setattr(f0, { mode: 0o600 }) !== null, true);
  assert.equal(back.sync(), 0);
  assert.equal(back.pram!.head, head, 'appended to the mounted log, not compacted');
  back.detach();
  assert.equal(((mountOn(ram).getattr(f0)) as { mode: number }).mode & 0o777, 0o600);
});

test('small files cost bytes, not pages: 100-byte files fill a log arena at about 0.5 KiB each, and the full arena still compacts and remounts whole', () => {
  const ram = newRam(1024);                      // 4 MiB
  const vol = mountOn(ram);
  const used = () => { const s = vol.statfs(); return s.blocks - s.bfree; };
  assert.equal(vol.sync(), 0);
  const empty = used();
  let made = 0;
  for (; ; made++) {
    const f = vol.mknod(1, `file-${made}`, 0o100644, 0, 0, 0);
    if (typeof f === 'number') { assert.equal(f, -ENOSPC); break; }
    const n = vol.write(f.ino, 0, Buffer.alloc(100, made & 0xff));
    if (n !== 100) { assert.equal(n, -ENOSPC); assert.equal(vol.unlink(1, `file-${made}`), 0); break; }
    if (made === 999) {
      assert.equal(vol.sync(), 0);
      const perFile = (used() - empty) * PS / 1000;
      assert.ok(perFile <= 600, `1000 files of 100 bytes: ${perFile} B of arena each (statfs, with the reserve for the next compaction)`);
    }
  }
  assert.ok(made > 5000, `a 4 MiB arena held ${made} files of 100 bytes (a page per record would hold about 400)`);
  assert.equal(vol.sync(), 0, 'the full arena commits');
  assert.equal(vol.pram!.checkpoint(vol.images()), 0, 'and compacts: the ledger promised room for a fresh log');
  assert.equal(vol.sync(), 0);
  vol.detach();
  const back = mountOn(ram);
  for (const i of [0, 1, made >> 1, made - 1]) {
    assert.deepEqual(back.read(back.resolve(`/file-${i}`), 0, 200), Buffer.alloc(100, i & 0xff), `file-${i}`);
  }
  assert.equal((back.readdir(1, 0, made + 10) as unknown[]).length, made + 2, 'every name, with . and ..');
});

test('the ledger counts record bytes exactly: names of every length (UTF-8 too), links, renames, exchanges, xattrs; a compaction fits, and a remount counts the same', () => {
  const nameOf = (r: Prng) => {
    const len = 1 + r.below(r.below(4) === 0 ? 120 : 20);
    let s = '';
    while (Buffer.byteLength(s) + 2 <= len) s += r.below(5) === 0 ? 'é' : String.fromCharCode(97 + r.below(26));
    return s || 'x';
  };
  for (const seed of [7, 8, 9]) {
    const r = new Prng(seed);
    const ram = newRam(4096);
    const vol = mountOn(ram);
    const names: { dir: number; name: string }[] = [];
    const dirs = [1];
    for (let i = 0; i < 600; i++) {
      const pick = names.length ? names[r.below(names.length)]! : null;
      const dir = dirs[r.below(dirs.length)]!, name = nameOf(r);
      const ino = pick ? vol.lookup(pick.dir, pick.name) : -1;
      const at = typeof ino === 'number' ? -1 : ino.ino;
      switch (r.below(8)) {
        case 0: { const d = vol.mkdir(dir, name, 0o755, 0, 0); if (typeof d !== 'number') { dirs.push(d.ino); } break; }
        case 1: case 2: { const f = vol.mknod(dir, name, 0o100644, 0, 0, 0); if (typeof f !== 'number') { names.push({ dir, name }); vol.write(f.ino, 0, r.bytes(r.below(200))); } break; }
        case 3: if (at > 0 && vol.link(at, dir, name) !== null) names.push({ dir, name }); break;
        case 4: if (pick && vol.rename(pick.dir, pick.name, dir, name, 0) === 0) { pick.dir = dir; pick.name = name; } break;
        case 5: {
          const other = names.length ? names[r.below(names.length)]! : null;
          if (pick && other && vol.rename(pick.dir, pick.name, other.dir, other.name, 2) === 0) { /* RENAME_EXCHANGE: both names stay */ }
          break;
        }
        case 6: if (at > 0) vol.setxattr(at, `user.${name}`, r.bytes(r.below(300)), 0); break;
        default: if (at > 0) { const keys = vol.listxattr(at) as string[]; if (keys.length) vol.removexattr(at, keys[0]!); } break;
      }
      for (let j = names.length - 1; j >= 0; j--) if (typeof vol.lookup(names[j]!.dir, names[j]!.name) === 'number') names.splice(j, 1);
    }
    const shape = { ...vol.pram!.space.shape };
    const need = vol.pram!.space.need();
    assert.equal(vol.pram!.checkpoint(vol.images()), 0);
    const pages = new HeaderView(ram.page(0)).current()!.slot.log!.logPages;
    // The ledger prices the log without its index (the commit writes that log when the index does not fit
    // the room): the index's own pages (LOCATE, INDEX, RUNS; +1 for where they fall on pages) come on top.
    const ix = indexOf(ram);
    const indexPages = typeof ix === 'string' ? 0 : Math.ceil((LOCATE_BYTES + ix.locate.indexBytes + ix.locate.runsBytes) / (PS - LOG_HEADER - LOG_NEXT)) + 1;
    assert.ok(pages <= need + indexPages, `seed ${seed}: the compaction took ${pages} log pages, the ledger promised ${need} (+ ${indexPages} of index)`);
    assert.ok(need <= pages + 2, `seed ${seed}: the ledger promised ${need} pages for a compaction of ${pages}: not exact`);
    vol.detach();
    const back = mountOn(ram);
    assert.deepEqual({ ...back.pram!.space.shape }, shape, `seed ${seed}: the remount counts what the changes counted`);
    back.detach();
  }
});

test('a compaction gives a large old log back in steps: its pages count as free at once, later commits pool them, none leaks or is freed twice', () => {
  const ram = newRam(16384);                                    // 64 MiB
  const vol = mountOn(ram);
  assert.equal(vol.sync(), 0);
  for (let i = 0; i < 24_000; i++) vol.mknod(1, `a-rather-long-file-name-to-fill-the-log-with-names-${i}`, 0o100644, 0, 0, 0);
  assert.equal(vol.sync(), 0);                                  // a change larger than the log: compacted at once
  vol.driveBackground();                                        // driven: a due compaction waits for slices (none run)
  for (let k = 0; !vol.pram!.slices!.wanted(); k++) {           // appends, each smaller than the log, until it is due
    assert.ok(k < 20, 'the log becomes due');
    for (let i = 0; i < 12_000; i++) vol.mknod(1, `b-${k}-a-rather-long-file-name-to-fill-the-log-with-names-${i}`, 0o100644, 0, 0, 0);
    assert.equal(vol.sync(), 0);
  }
  vol.pram!.slices!.driven = false;
  const allocator = vol.pram!.allocator;
  const logPages = new HeaderView(ram.page(0)).current()!.slot.log!.logPages;
  assert.ok(logPages > OLD_LOG_STEP, `a log of ${logPages} pages`);
  const head = vol.pram!.head;
  vol.setattr(1, { mode: 0o700 });
  assert.equal(vol.sync(), 0);                                  // no driver: the compaction runs whole in this commit
  assert.notEqual(vol.pram!.head, head, 'compacted');
  assert.equal(allocator.laterCount, logPages - OLD_LOG_STEP, 'one step of the old log pooled by the commit');
  const free = allocator.freeCount;
  for (let i = 0; allocator.laterCount > 0; i++) {
    assert.ok(i < 10, 'later commits pool the rest');
    vol.setattr(1, { mode: 0o700 + (i & 7) });
    assert.equal(vol.sync(), 0);
  }
  assert.ok(Math.abs(allocator.freeCount - free) < 8, 'appends take a few pages; the pages given back were counted free all along');
  const used = allocator.freeCount;
  const before = dump(vol);
  vol.detach();
  const back = mountOn(ram);
  assert.deepEqual(dump(back), before);
  assert.equal(back.pram!.allocator.freeCount, used, 'no page leaked or lost');
  back.detach();
});
