// Limits: the engine's per-page structures at pfns past 2^31 and near 2^32
// (an 8 TiB memory at 4 KiB pages). Such a memory cannot be built here, so
// the memory is sparse (a page exists once touched) and so are the typed
// arrays (Node allocates them zeroed and lazily: only touched pages cost).
// The one structure built by a scan of every pfn, the allocator's pool (30 s
// and 2.4 GB at 2^31 pages, measured), is filled for a window of pfns instead:
// the same object and methods, a pool as its constructor would leave it there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PhysMem } from '../mem/physmem.js';
import { BannedRegions } from '../boot/banned.js';
import { Memblock } from '../boot/memblock.js';
import { PageAllocator } from '../boot/allocator.js';
import { Owner, PAGE_COUNT_MAX, PageFrames } from '../boot/frames.js';
import { bootMemory, isRefusal } from './boot.js';
import { EntryView, LinkPageView } from '../format/v1.js';
import { Pram } from './pram.js';
import { MemoryHandoff } from './handoff.js';
import { RunHeads } from './runheads.js';
import { EntryTable } from './types.js';
import { node, root, PS, Rand } from './testkit.js';

const HIGH = 2 ** 31 + 5;            // a run's head past 2^31
const COUNT = 2 ** 31 + 4096;        // pages of the sparse memory

/** A memory whose pages exist once touched (4 KiB each): pfns up to 2^31 + 4096 for a few MB. */
class SparseMem implements PhysMem {
  readonly pageSize = PS;
  private readonly pages = new Map<number, Buffer>();
  constructor(readonly pageCount: number) {}
  page(pfn: number): Buffer {
    if (!(Number.isInteger(pfn) && pfn >= 0 && pfn < this.pageCount)) throw new RangeError(`pfn ${pfn} outside`);
    let p = this.pages.get(pfn);
    if (!p) this.pages.set(pfn, (p = Buffer.alloc(PS)));
    return p;
  }
  run(): Buffer | null { return null; }
  present(pfn: number): boolean { return Number.isInteger(pfn) && pfn >= 0 && pfn < this.pageCount; }
  sync(): void {}
  close(): void {}
  get touched(): number { return this.pages.size; }
}

/** The real allocator with its pool holding the free pages of [lo, hi) only (see the header). */
function windowAllocator(frames: PageFrames, banned: BannedRegions, lo: number, hi: number): PageAllocator {
  const a = Object.create(PageAllocator.prototype) as PageAllocator;
  const pool = new Uint32Array(Math.ceil(frames.pageCount / 32));
  let free = 0;
  for (let pfn = lo; pfn < hi; pfn++) {
    if (frames.owner[pfn] !== Owner.None) continue;
    pool[Math.floor(pfn / 32)]! |= 1 << (pfn % 32);
    free++;
  }
  Object.assign(a, { frames, banned, pool, owned: null, held: [], cursor: lo, freeNotBanned: free, segmentPages: Number.MAX_SAFE_INTEGER, later: [], laterPages: 0, kept: [] });
  return a;
}

function bootHigh(mem: SparseMem, handoff: MemoryHandoff, opts: { verify: 'full' | 'lazy' }) {
  const frames = new PageFrames(mem.pageCount);
  const banned = new BannedRegions();
  const memblock = new Memblock(frames, banned);
  memblock.reserve(0, 1, Owner.Kernel, 'zero page');
  const log: string[] = [];
  const reserved = Pram.reserve(mem, memblock, handoff.read()?.headPfn ?? 0, (l) => log.push(l));
  const allocator = windowAllocator(frames, banned, 2 ** 31, mem.pageCount);
  const pram = new Pram(mem, frames, allocator, banned, handoff, { extents: true, log: (l) => log.push(l) });
  return { pram, frames, allocator, memblock, reserved, image: pram.load(reserved, { verify: opts.verify }), log };
}

test('RunHeads: a run whose head is at pfn 2^31 + 5, and one ending at the last pfn below 2^32', () => {
  const heads = new RunHeads(PAGE_COUNT_MAX);
  heads.mark(HIGH, 32);
  for (let q = HIGH; q < HIGH + 32; q++) assert.equal(heads.headOf(q), HIGH, `pfn ${q}`);
  assert.equal(heads.headOf(HIGH - 1), -1);
  assert.equal(heads.headOf(HIGH + 32), -1);
  assert.ok(heads.isHead(HIGH) && !heads.isHead(HIGH + 1));
  const last = PAGE_COUNT_MAX - 32;
  heads.mark(last, 32);
  assert.equal(heads.headOf(PAGE_COUNT_MAX - 1), last);
  heads.clear(HIGH, 32);
  assert.equal(heads.headOf(HIGH + 7), -1);
  assert.equal(heads.headOf(last + 7), last);
});

test('allocator, frames and memblock at pfns past 2^31', () => {
  const frames = new PageFrames(COUNT);
  const banned = new BannedRegions();
  const memblock = new Memblock(frames, banned);
  assert.ok(memblock.reserve(HIGH, 3, Owner.Reserved, 'high'));
  assert.ok(memblock.isReserved(HIGH + 2) && !memblock.isReserved(HIGH + 3));
  const a = windowAllocator(frames, banned, 2 ** 31, COUNT);
  assert.equal(a.freeCount, 4096 - 3);
  const first = a.alloc(Owner.Data);
  assert.equal(first, 2 ** 31, 'the first free page of the window, not a wrapped one');
  assert.equal(a.alloc(Owner.Data, HIGH), HIGH + 3, 'next-fit past the reservation');
  const run = a.allocRun(Owner.Data, 40, 2 ** 31 + 1000);
  assert.equal(run, 2 ** 31 + 1000);
  a.free(first);
  assert.ok(a.isFree(first));
  assert.equal(a.alloc(Owner.Data, first), first);
  memblock.unreserve(HIGH, 3);
  assert.equal(frames.owner[HIGH], Owner.None);
});

test('entries and link pages carry pfns and indexes past 2^32 exactly', () => {
  const t = new EntryTable(4);
  t.push(2, 0xdeadbeef, 2 ** 32 + 7, 2 ** 40, 2 ** 33, 0);
  assert.deepEqual([t.pfn[0], t.index[0], t.link[0]], [2 ** 32 + 7, 2 ** 40, 2 ** 33]);
  const page = Buffer.alloc(PS);
  const link = new LinkPageView(page);
  link.linkPfn = 2 ** 32 + 1;
  const e: EntryView = link.entry(0);
  e.pfn = 2 ** 32 + 7; e.index = 2 ** 40 + 3;
  assert.deepEqual([link.linkPfn, e.pfn, e.index], [2 ** 32 + 1, 2 ** 32 + 7, 2 ** 40 + 3]);
  assert.equal(e.pfnBig, 2n ** 32n + 7n);
});

test('boot refuses a memory of more than 2^32 pages with one clear line', () => {
  const mem = new SparseMem(PAGE_COUNT_MAX + 1);
  const b = bootMemory({ mem, cmdline: '', log: () => {} });
  assert.ok(isRefusal(b));
  assert.equal(b.errno, -27);
  assert.match(b.message, /at most 2\^32 pages \(16 TiB at this page size\)/);
});

test('the engine at pfns past 2^31: extents saved, reserved, lazily verified and damage named by pfn', () => {
  const mem = new SparseMem(COUNT), handoff = new MemoryHandoff();
  const one = bootHigh(mem, handoff, { verify: 'full' });
  const r = new Rand(31);
  const content = r.bytes(40 * PS - 100);
  const f = node(2, 0o100644, [{ parent: 1, name: 'high.bin' }], { size: content.length });
  for (let i = 0; i < 40; i++) {
    const pfn = one.pram.allocData();
    assert.ok(pfn >= 2 ** 31, `data page ${i} at pfn ${pfn}`);
    content.copy(mem.page(pfn), 0, i * PS, (i + 1) * PS);
    f.pages.set(i, pfn);
  }
  assert.equal(one.pram.checkpoint([root(), f]), 0);
  assert.ok(handoff.headPfn >= 2 ** 31);

  // Next boot: the chain is walked and its extents cached at pfns past 2^31.
  const two = bootHigh(mem, handoff, { verify: 'lazy' });
  assert.deepEqual(two.image.losses, []);
  const g = two.image.nodes.find((n) => n.names[0]?.name === 'high.bin')!;
  const pfns = [...g.pages.entries()].map(([, pfn]) => pfn);
  assert.equal(pfns.length, 40);
  assert.ok(pfns.every((p) => p >= 2 ** 31));
  // Damage the 10th page: its lazy check covers its whole run, and the loss names the run's head.
  const victim = pfns[9]!;
  mem.page(victim)[17] ^= 1;
  assert.equal(two.pram.readable(pfns[9]!), -5);
  const late = two.pram.lateLosses();
  assert.equal(late.length, 1);
  assert.equal(late[0]!.pfn, pfns[0], `the run starts at pfn ${pfns[0]} (past 2^31), not a wrapped pfn`);
  assert.equal(late[0]!.path, '/high.bin');
  assert.equal(two.pram.readable(pfns[31]!), -5, 'the whole run of 32 pages is bad');
  assert.equal(two.pram.readable(pfns[32]!), 0, 'the next run verifies on its own');
  // A write to a good page of the second run forgets that run (copy on write of the checkpoint).
  assert.ok(two.pram.writable(pfns[35]!) >= 2 ** 31);
  assert.ok(mem.touched < 200, `a sparse memory: ${mem.touched} pages touched`);
});
