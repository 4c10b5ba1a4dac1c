// A lazy mount keeps memblock's reservations as ranges (boot/frames.ts) and the allocator's pool
// unbuilt (boot/allocator.ts) until a page is handed out or taken back: the owner table, once read,
// and the pool are then what a full replay's mount has, page for page, and the session goes on as
// any. Seeded: each failure names its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageAllocator } from '../boot/allocator.js';
import { Owner } from '../boot/frames.js';
import { bootMemory, isRefusal } from '../pram/boot.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import type { Volume } from './volume.js';
import { copyRam, dump, mountOn, newRam, PS, randomOp, randomTree } from './livekit.js';

const seeds = (n: number, base: number): number[] =>
  process.env.PRAM_SEEDS ? process.env.PRAM_SEEDS.split(',').map(Number) : Array.from({ length: n }, (_, i) => base + i);

/** Every pfn's owner and whether it is pooled, as one string per pfn (the first difference reads well). */
function pages(vol: Volume): string[] {
  const { frames, allocator } = vol.pram!;
  const owner = frames.owner, out: string[] = [];
  for (let pfn = 0; pfn < frames.pageCount; pfn++) out.push(`${pfn}:${owner[pfn]}${allocator.isFree(pfn) ? ' pooled' : ''}`);
  return out;
}

/**
 * A lazy boot of `ram`: no owner byte written, the free pages counted from the ranges; then the owner table
 * as memblock's own records have it (pfn by pfn), and the pool as a scan of that table builds it.
 */
function bootChecked(ram: SimRam, label: string): void {
  const handoff = ArenaHeaderHandoff.attach(ram);
  if (!(handoff instanceof ArenaHeaderHandoff)) throw new Error(handoff.message);
  const b = bootMemory({ mem: ram, handoff, cmdline: '', log: () => {}, lazy: true });
  assert.ok(!isRefusal(b) && b.lazy, `${label}: booted lazily`);
  assert.equal(b.frames.deferred, true, `${label}: no owner byte written`);
  const free = b.allocator.freeCount;
  const want = new Array<number>(ram.pageCount).fill(Owner.None);
  for (const r of b.memblock.reservations()) want.fill(r.owner, r.start, r.start + r.count);
  assert.deepEqual([...b.frames.owner], want, `${label}: the owners memblock recorded`);
  const scan = new PageAllocator(b.frames, b.banned);
  assert.equal(free, scan.freeCount, `${label}: the free pages a scan counts`);
  for (let pfn = 0; pfn < ram.pageCount; pfn++) if (b.allocator.isFree(pfn) !== scan.isFree(pfn)) assert.fail(`${label}: pfn ${pfn} pooled as a scan has it`);
}

test('a lazy mount writes no owner byte; read, the owners and the pool are a full mount\'s, and a session on it remounts whole', () => {
  let lazyRuns = 0;
  for (const seed of seeds(8, 500)) {
    const { ram, vol } = randomTree(seed, 150);
    assert.equal(vol.sync(), 0);
    const r = new Prng(seed * 7 + 3);
    for (let i = 0; i < 20; i++) randomOp(vol, r);
    assert.equal(vol.sync(), 0);
    vol.detach();
    const full = mountOn(copyRam(ram), { verify: 'full' });
    const lazy = mountOn(ram, { verify: 'lazy' });
    if (!lazy.pram!.lazyLog) { lazy.detach(); full.detach(); continue; }
    lazyRuns++;
    bootChecked(copyRam(ram), `seed ${seed}`);
    const settled = lazy.pram!.lazyLog.tail?.deferred.size ?? 0;   // a deferred group's load may free pages (the table is written then)
    if (!settled) assert.equal(lazy.pram!.frames.deferred, true, `seed ${seed}: the owners are still ranges`);
    assert.equal(lazy.pram!.allocator.freeCount, full.pram!.allocator.freeCount, `seed ${seed}: free pages counted from the ranges`);
    assert.deepEqual(pages(lazy), pages(full), `seed ${seed}: owners and pool`);
    for (let i = 0; i < 25; i++) randomOp(lazy, r);
    assert.equal(lazy.sync(), 0);
    const want = dump(lazy);
    assert.equal(lazy.sync(), 0);
    const free = lazy.pram!.allocator.freeCount;
    lazy.detach();
    full.detach();
    const back = mountOn(ram, { verify: 'full' });
    assert.deepEqual(back.losses, [], `seed ${seed}: every page verifies`);
    assert.deepEqual(dump(back), want, `seed ${seed}: the tree`);
    assert.equal(back.pram!.allocator.freeCount, free, `seed ${seed}: free pages`);
    back.detach();
  }
  assert.ok(lazyRuns >= 4, `${lazyRuns} images booted lazily`);
});

test('a lazy mount of a compacted image: the first page written after it writes the owner table, as a full mount has it', () => {
  const ram = newRam(2048);
  const vol = mountOn(ram);
  const f = (vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.write(f, 0, Buffer.alloc(300 * PS, 5)), 300 * PS);
  assert.equal(vol.unmount(), 0);                        // its compaction: an index and no tail
  const full = mountOn(copyRam(ram), { verify: 'full' });
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.ok(lazy.pram!.lazyLog && !lazy.pram!.lazyLog.tail, 'booted lazily, nothing after the index');
  assert.equal(lazy.pram!.frames.deferred, true, 'no owner byte written at mount');
  bootChecked(copyRam(ram), 'compacted');
  assert.deepEqual(pages(lazy), pages(full));
  assert.equal(lazy.pram!.frames.owner[0], Owner.Header);
  const g = (lazy.mknod(1, 'g', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(lazy.write(g, 0, Buffer.alloc(PS, 9)), PS);
  assert.equal(lazy.write(f, 0, Buffer.alloc(PS, 6)), PS);   // a frozen page overwritten: a copy, the old page freed at the commit
  assert.equal(lazy.sync(), 0);
  const want = dump(lazy);
  lazy.detach();
  full.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, []);
  assert.deepEqual(dump(back), want);
  back.detach();
});
