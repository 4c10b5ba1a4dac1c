// One record per pfn, like the kernel's struct page array: who owns the page,
// a few state bits and the page's cached checksum. Plain typed arrays so a
// 4 GiB arena (1M pages) costs 6 bytes a page. Meaning of the bits is the
// engine's (pram/); boot/ only uses the owner.
//
// Owner and PageFlag are `const` objects plus same-named types rather than
// `const enum`s, so plain-JS callers (tests in test/e2e) can read them at run time.

import type { PhysMem } from '../mem/physmem.js';
import { pageTable } from '../mem/native.js';
import { assert } from '../format/assert.js';

export const Owner = {
  None: 0,      // free (in the allocator's pool, or not yet handed to it)
  Hole: 1,      // not RAM: a hole in the firmware memory map
  Reserved: 2,  // memblock early reservation (kernel image, initrd, early allocations, pram chain)
  Header: 3,    // arena header
  Link: 4,      // pram link page
  Meta: 5,      // pram file image page
  Data: 6,      // file data page
  Held: 7,      // banned page met by the allocator, held aside until the operation ends
  Kernel: 8,    // the running (simulated) kernel's own pages
} as const;
export type Owner = (typeof Owner)[keyof typeof Owner];

export const PageFlag = {
  Dirty: 1,       // csum stale
  Frozen: 2,      // in the committed checkpoint: copy on write
  Unverified: 4,  // lazy verification pending
  Bad: 8,         // csum failed
  Lru: 16,        // was in the page cache
  Pinned: 32,     // under a live read-only view: written only after a copy, freed when unpinned
} as const;
export type PageFlag = (typeof PageFlag)[keyof typeof PageFlag];

const OWNER_NAMES = Object.fromEntries(Object.entries(Owner).map(([k, v]) => [v, k])) as Record<number, string>;

export function ownerName(owner: number): string {
  return OWNER_NAMES[owner] ?? `owner${owner}`;
}

/**
 * The most pages one memory may have: every per-page array (owner, flags,
 * checksum here; the allocator's bitmap, memblock's records, the engine's run
 * bytes) is a typed array, and Node 20 caps a typed array at 2^32 elements.
 * 16 TiB at 4 KiB pages; larger pages reach further. Boot refuses more.
 */
export const PAGE_COUNT_MAX = 2 ** 32;

/**
 * Deferred owner fills kept as ranges at most, beyond which the table is written: set in pfn order (a lazy
 * boot's runs, sorted) each is an append; out of order (a replay's runs) each insertion moves the later ones.
 */
const FILLS_MAX = 16384, FILLS_UNSORTED_MAX = 1024;

export class PageFrames {
  readonly flags: Uint8Array;
  readonly csum: Uint32Array;
  private readonly table: Uint8Array;
  // Owners set by ranges (memblock's reservations, holes) and not yet written into the table: sorted,
  // disjoint (start, end, owner) triples; null once written. A lazy mount reserves a 12 GiB image's ~3M
  // pages as a few runs: writing a byte a page touched 3 MB of table at mount (each 2 MiB huge page
  // a first touch of 0.1-5 ms on a VM). The table is written when `owner` is first read: after the
  // mount, at the first page the allocator hands out or takes back. Until then the table is all None.
  private fills: number[] | null = [];

  constructor(readonly pageCount: number) {
    if (!(Number.isSafeInteger(pageCount) && pageCount >= 0 && pageCount <= PAGE_COUNT_MAX)) assert(false, `page count ${pageCount} within 0..2^32`);
    // Not counted by V8 (mem/native.ts pageTable): kept for the mount's life, mostly never touched.
    this.table = new Uint8Array(pageTable(pageCount, false));
    this.flags = new Uint8Array(pageTable(pageCount, false));
    this.csum = new Uint32Array(pageTable(4 * pageCount, false));
  }

  /** The owner of every pfn (a table; the ranges set so far are written into it first). */
  get owner(): Uint8Array {
    if (this.fills) this.writeFills();
    return this.table;
  }

  /** The ranges are still ranges: `owner` has not been read (busy tests use firstOwned). */
  get deferred(): boolean {
    return this.fills !== null;
  }

  /** Frames for a memory, its firmware holes already marked Owner.Hole. */
  static forMem(mem: PhysMem): PageFrames {
    const frames = new PageFrames(mem.pageCount);
    // Holes as ranges (no per-pfn present() scan of a big arena).
    for (const h of mem.holes ?? []) frames.setOwners(h.start, h.end + 1 - h.start, Owner.Hole);
    return frames;
  }

  /** Pages start..start+count-1 (within memory) owned by `owner`: a range while the table is unwritten. */
  setOwners(start: number, count: number, owner: Owner): void {
    const fills = this.fills, end = start + count;
    if (!(start >= 0 && count > 0 && end <= this.pageCount)) assert(false, `owners of pfns ${start}+${count} inside memory`);
    if (!fills) { this.table.fill(owner, start, end); return; }
    // Insertion point: the first range starting at or after `start` (reservations mostly come in pfn order: the end).
    let lo = 0, hi = fills.length / 3;
    if (hi > 0 && fills[fills.length - 3]! < start) lo = hi;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (fills[3 * mid]! < start) lo = mid + 1; else hi = mid; }
    const at = 3 * lo;
    const prevEnd = at > 0 ? fills[at - 2]! : 0, nextStart = at < fills.length ? fills[at]! : Infinity;
    // Over another range (not memblock's way), too many, or None (a range says owned): the table.
    if (prevEnd > start || nextStart < end || fills.length >= 3 * (at === fills.length ? FILLS_MAX : FILLS_UNSORTED_MAX) || owner === Owner.None) {
      this.writeFills();
      this.table.fill(owner, start, end);      // after the others: it wins where it overlaps
      return;
    }
    const joinPrev = at > 0 && prevEnd === start && fills[at - 1] === owner, joinNext = nextStart === end && fills[at + 2] === owner;
    if (joinPrev && joinNext) { fills[at - 2] = fills[at + 1]!; fills.splice(at, 3); }
    else if (joinPrev) fills[at - 2] = end;
    else if (joinNext) fills[at] = start;
    else fills.splice(at, 0, start, end, owner);
  }

  /**
   * The first pfn of start..end-1 owned by anyone (a hole too), -1 if none; only while the table is
   * unwritten (deferred): then every owner is in the ranges. A binary search, whatever the count.
   */
  firstOwned(start: number, end: number): number {
    const fills = this.fills;
    assert(fills !== null, 'firstOwned while the owners are ranges');
    if (end <= start) return -1;
    let lo = 0, hi = fills.length / 3;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (fills[3 * mid + 1]! <= start) lo = mid + 1; else hi = mid; }
    // Range lo is the first ending after start.
    if (lo * 3 >= fills.length || fills[3 * lo]! >= end) return -1;
    return Math.max(start, fills[3 * lo]!);
  }

  /** The ranges written into the table; from now on every owner is the table's. */
  private writeFills(): void {
    const fills = this.fills!;
    this.fills = null;
    for (let k = 0; k < fills.length; k += 3) this.table.fill(fills[k + 2]!, fills[k]!, fills[k + 1]!);
  }

  /** Pages with this owner (a scan: for logs and tests, not hot paths). */
  countOwned(owner: Owner): number {
    const table = this.owner;
    let n = 0;
    for (let i = 0; i < this.pageCount; i++) if (table[i] === owner) n++;
    return n;
  }
}
