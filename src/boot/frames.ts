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

export class PageFrames {
  readonly owner: Uint8Array;
  readonly flags: Uint8Array;
  readonly csum: Uint32Array;

  constructor(readonly pageCount: number) {
    if (!(Number.isSafeInteger(pageCount) && pageCount >= 0 && pageCount <= PAGE_COUNT_MAX)) assert(false, `page count ${pageCount} within 0..2^32`);
    this.owner = new Uint8Array(pageTable(pageCount));
    this.flags = new Uint8Array(pageTable(pageCount));
    this.csum = new Uint32Array(pageTable(4 * pageCount));
  }

  /** Frames for a memory, its firmware holes already marked Owner.Hole. */
  static forMem(mem: PhysMem): PageFrames {
    const frames = new PageFrames(mem.pageCount);
    // Holes as ranges (no per-pfn present() scan of a big arena).
    for (const h of mem.holes ?? []) frames.owner.fill(Owner.Hole, h.start, h.end + 1);
    return frames;
  }

  /** Pages with this owner (a scan: for logs and tests, not hot paths). */
  countOwned(owner: Owner): number {
    let n = 0;
    for (let i = 0; i < this.pageCount; i++) if (this.owner[i] === owner) n++;
    return n;
  }
}
