// One boot of a simulated kernel on the machine's RAM, in the RFC's order
// (arch/x86 setup_arch): parse early params, memblock-reserve low memory, the
// kernel image and the initrd, make the early allocations, then reserve pram's
// saved chain (Pram.reserve, the RFC's pram_reserve) before the page allocator
// takes over every page left; then the running kernel allocates (and writes)
// pages for itself. Loading the reserved chain is the later mount's (fs/
// mountParts with `booted`). The only RAM this file writes is the kernel's own
// allocated pages; what kexec overwrites is kexec.ts's. See machine.ts for the
// fault model.

import type { PageAllocator } from '../boot/allocator.js';
import { Owner } from '../boot/frames.js';
import type { Memblock } from '../boot/memblock.js';
import { assert } from '../format/assert.js';
import type { PhysMem } from '../mem/physmem.js';
import { bootMemory, isRefusal, type Booted } from '../pram/boot.js';
import type { Prng } from './prng.js';

/** A kexec/bootloader segment: where one piece of the next kernel sits in RAM. */
export interface Segment { what: string; start: number /*pfn*/; pages: number }

export interface EarlyBootOptions {
  bannedCapacity: number;
  /** The banned-region mechanism off: pram_banned= ignored, reservations not banned. */
  noBan: boolean;
  /** Early allocations before pram_reserve(): how many (inclusive range) and how big one may be. */
  earlyAllocsMin: number;
  earlyAllocsMax: number;
  earlyAllocPagesMax: number;
  /** Early allocations land bottom-up in this window above the kernel image's end. */
  earlyWindowBytes: number;
  /** Chance that one early allocation lands anywhere in RAM instead (top-down, like a node-local allocation). */
  strayAllocProbability: number;
  /** After the allocator exists, the running kernel takes this many allocations (inclusive range) of 1..runtimeAllocPagesMax pages. */
  runtimeAllocsMin: number;
  runtimeAllocsMax: number;
  runtimeAllocPagesMax: number;
}

/** A running kernel: what pram/'s boot left (params, frames, banned, memblock, reserved chain, allocator) and its own pages. */
export interface KernelState extends Omit<Booted, 'losses'> {
  boot: number;
  cmdline: string;
  /** The running kernel's own allocations after boot (Owner.Kernel), each [start, pages]. */
  kernelAllocs: Segment[];
  segments: Segment[];
}

const EARLY_NAMES = ['page tables', 'brk', 'log_buf', 'ACPI tables', 'swiotlb', 'percpu',
  'mem_map', 'setup_data', 'e820 table', 'initial stack', 'early ioremap', 'node data'];

const LOW_MEMORY_BYTES = 1 << 20; // x86 reserves the first 1 MiB (BIOS data, real-mode trampoline)

export function bootKernel(args: {
  boot: number;
  mem: PhysMem;
  cmdline: string;
  segments: Segment[];
  prng: Prng;
  opts: EarlyBootOptions;
  log: (line: string) => void;
  /** Fault injection: extra early reservations (e.g. on a saved pram page). */
  injected?: Segment[];
}): KernelState {
  const { mem, opts, prng, log } = args;
  log(`Command line: ${args.cmdline}`);
  // pram/'s boot (the one the arena mount runs too); the early hook is this kernel's setup_arch.
  const booted = bootMemory({
    mem, cmdline: args.cmdline, log, banned: { capacity: opts.bannedCapacity, enabled: !opts.noBan },
    early: (memblock) => earlyReservations(memblock, args),
  });
  assert(!isRefusal(booted), 'a kernel boot (no handoff, not strict) is never refused');
  const { params, frames, banned, memblock, reserved, allocator } = booted;

  let free = 0;
  for (let pfn = 0; pfn < mem.pageCount; pfn++) if (frames.owner[pfn] === Owner.None) free++;
  log(`Memory: ${free * mem.pageSize / 1024}K available (${memblock.reservedCount() * mem.pageSize / 1024}K reserved)`);   // not >> 10: wraps at 2 GiB
  const kernelAllocs = runtimeAllocations(allocator, mem, prng, opts, log);
  return { boot: args.boot, cmdline: args.cmdline, params, frames, banned, memblock, reserved, allocator, kernelAllocs, segments: args.segments };
}

/**
 * setup_arch's reservations before pram_reserve(): low memory, the kernel
 * image and initrd, the early allocations, injected faults. A busy, invalid or
 * corrupted saved page found by the reserve that follows rolls back all of it,
 * so whatever the dropped image held goes to the allocator with the rest.
 */
function earlyReservations(memblock: Memblock, args: Parameters<typeof bootKernel>[0]): void {
  const { mem, opts, prng, log } = args;
  const { frames, banned } = memblock;
  const lowPages = Math.min(mem.pageCount, Math.ceil(LOW_MEMORY_BYTES / mem.pageSize));
  for (let pfn = 0; pfn < lowPages;) {
    if (frames.owner[pfn] !== Owner.None) { pfn++; continue; }
    let end = pfn;
    while (end < lowPages && frames.owner[end] === Owner.None) end++;
    memblock.reserve(pfn, end - pfn, Owner.Reserved, 'low memory');
    log(`memblock: reserve ${range(pfn, end - pfn, mem.pageSize)} low memory`);
    pfn = end;
  }
  // The new kernel keeps its image and initrd; purgatory and the boot-params page
  // were only needed to get here, so their pages are free RAM again (still overwritten).
  for (const s of args.segments.filter((seg) => seg.what === 'kernel image' || seg.what === 'initrd')) {
    const ok = memblock.reserve(s.start, s.pages, Owner.Reserved, s.what);
    assert(ok, `${s.what} at pfn ${s.start} (+${s.pages}) was placed on free RAM`);
    log(`memblock: reserve ${range(s.start, s.pages, mem.pageSize)} ${s.what}`);
  }

  const kernel = args.segments.find((s) => s.what === 'kernel image');
  earlyAllocations(memblock, mem, kernel ? kernel.start + kernel.pages : lowPages, prng, opts, log);

  for (const f of args.injected ?? []) {
    const ok = memblock.reserve(f.start, f.pages, Owner.Reserved, f.what);
    log(`memblock: reserve ${range(f.start, f.pages, mem.pageSize)} ${f.what}${ok ? '' : ' failed: busy'}`);
  }
  for (const line of banned.table()) log(line);
}

/**
 * The running kernel's own allocations once the page allocator exists (slab,
 * page tables, page cache of other file systems...): seeded sizes at seeded
 * places anywhere in free memory, and written, as the kernel uses them. They
 * can only miss pram's saved pages because those were reserved first.
 */
function runtimeAllocations(allocator: PageAllocator, mem: PhysMem, prng: Prng, opts: EarlyBootOptions,
  log: (line: string) => void): Segment[] {
  const count = prng.range(opts.runtimeAllocsMin, opts.runtimeAllocsMax);
  const out: Segment[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const pages = Math.max(1, Math.floor(opts.runtimeAllocPagesMax * prng.float() ** 3));
    const start = allocator.allocRun(Owner.Kernel, pages, prng.below(mem.pageCount));
    allocator.releaseHeld();
    if (start < 0) continue;
    for (let p = start; p < start + pages; p++) prng.fill(mem.page(p));
    out.push({ what: 'kernel allocation', start, pages });
    total += pages;
  }
  log(`kernel: ${out.length} allocations after boot, ${total} pages (anywhere free)`);
  return out;
}

/**
 * The allocations that precede pram_reserve(): memblock bottom-up from the
 * kernel image's end, from a seeded offset (different per boot), skipping busy
 * pages; a few (strayAllocProbability) land top-down anywhere.
 */
function earlyAllocations(memblock: Memblock, mem: PhysMem, from: number, prng: Prng,
  opts: EarlyBootOptions, log: (line: string) => void): void {
  const count = prng.range(opts.earlyAllocsMin, opts.earlyAllocsMax);
  const windowPages = Math.max(1, Math.floor(opts.earlyWindowBytes / mem.pageSize));
  const windowEnd = Math.min(mem.pageCount, from + windowPages);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const what = EARLY_NAMES[prng.below(EARLY_NAMES.length)]!;
    // Mostly small, sometimes big: sizes skewed toward one page.
    const pages = Math.max(1, Math.floor(opts.earlyAllocPagesMax * prng.float() ** 3));
    let pfn = -1;
    if (prng.chance(opts.strayAllocProbability)) {
      pfn = firstFit(memblock, prng.below(mem.pageCount), 0, pages, -1);
    } else {
      const offset = prng.below(Math.max(1, Math.floor(windowPages / 4)));
      pfn = firstFit(memblock, from + offset, windowEnd, pages, 1);
      if (pfn < 0) pfn = firstFit(memblock, from, windowEnd, pages, 1);
    }
    if (pfn < 0) pfn = firstFit(memblock, mem.pageCount - pages, 0, pages, -1); // memblock falls back top-down
    if (pfn < 0) { log(`memblock: early ${what} of ${pages} pages failed`); continue; }
    memblock.reserve(pfn, pages, Owner.Reserved, what);
    log(`memblock: reserve ${range(pfn, pages, mem.pageSize)} ${what}`);
    total += pages;
  }
  log(`memblock: ${count} early allocations, ${total} pages`);
}

/** First start (walking from `from` toward `to` in direction dir) of `pages` free pages. */
function firstFit(memblock: Memblock, from: number, to: number, pages: number, dir: 1 | -1): number {
  const n = memblock.frames.pageCount;
  for (let pfn = Math.max(0, Math.min(from, n - pages)); dir > 0 ? pfn + pages <= to : pfn >= to; pfn += dir) {
    const busy = memblock.busyPfn(pfn, pages);
    if (busy < 0) return pfn;
    if (dir > 0) pfn = busy; // skip past the busy page (the loop adds one)
  }
  return -1;
}

export function range(start: number, pages: number, pageSize: number): string {
  const a = start * pageSize, b = (start + pages) * pageSize - 1;
  return `[mem 0x${a.toString(16).padStart(8, '0')}-0x${b.toString(16).padStart(8, '0')}]`;
}
