// The page cache of one file: file index (in pages) -> pfn, as a two-level
// radix. The top level is a sparse map of chunks, each chunk a Uint32Array of
// CHUNK_PAGES pfns, so a huge sparse file costs only the chunks it touches.
// pfn 0 is never a data page (it is the arena header / a reserved page), so 0
// marks a hole. A chunk starts small and doubles up to CHUNK_PAGES as higher
// slots are used, so thousands of small files do not cost 4 KiB of map each. What the pages hold and how they persist is the engine's
// business; this file only keeps the numbers.
import type { PageMap } from '../pram/image.js';
import { assert } from '../format/assert.js';

export const CHUNK_SHIFT = 10;
export const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_PAGES - 1;
const CHUNK_FIRST = 8;

interface Chunk { pfns: Uint32Array; count: number }

/** The next power of two from `size` that holds `slot`. */
function grown(size: number, slot: number): number {
  let n = size;
  while (n <= slot) n *= 2;
  return Math.min(n, CHUNK_PAGES);
}

export class RadixPageMap implements PageMap {
  private readonly chunks = new Map<number, Chunk>();
  private sortedKeys: number[] | null = [];
  private present = 0;

  get count(): number { return this.present; }

  get(index: number): number {
    const c = this.chunks.get(Math.floor(index / CHUNK_PAGES));
    return c ? c.pfns[index & CHUNK_MASK] ?? 0 : 0;
  }

  set(index: number, pfn: number): void {
    // Hot path: the message is only built when the check fails.
    if (!(Number.isSafeInteger(index) && index >= 0 && pfn > 0 && pfn <= 0xffffffff && Number.isInteger(pfn))) {
      assert(false, `page ${index} -> pfn ${pfn}: index a non-negative integer, pfn in 1..2^32-1`);
    }
    const key = Math.floor(index / CHUNK_PAGES);
    let c = this.chunks.get(key);
    const slot = index & CHUNK_MASK;
    if (!c) {
      c = { pfns: new Uint32Array(grown(CHUNK_FIRST, slot)), count: 0 };
      this.chunks.set(key, c);
      this.sortedKeys = null;
    } else if (slot >= c.pfns.length) {
      const pfns = new Uint32Array(grown(c.pfns.length, slot));
      pfns.set(c.pfns);
      c.pfns = pfns;
    }
    if (c.pfns[slot] === 0) { c.count++; this.present++; }
    c.pfns[slot] = pfn;
  }

  delete(index: number): void {
    const key = Math.floor(index / CHUNK_PAGES);
    const c = this.chunks.get(key);
    if (!c) return;
    const slot = index & CHUNK_MASK;
    if (slot >= c.pfns.length || c.pfns[slot] === 0) return;
    c.pfns[slot] = 0;
    c.count--;
    this.present--;
    if (c.count === 0) { this.chunks.delete(key); this.sortedKeys = null; }
  }

  /** Ascending by index. Safe against deletion of the entry just yielded. */
  *entries(): IterableIterator<[index: number, pfn: number]> {
    for (const key of this.keys()) {
      const c = this.chunks.get(key);
      if (!c) continue;
      const base = key * CHUNK_PAGES;
      for (let i = 0; i < c.pfns.length; i++) {
        const pfn = c.pfns[i]!;
        if (pfn !== 0) yield [base + i, pfn];
      }
    }
  }

  /** Present pages with index >= from, ascending (for truncate and SEEK_DATA). */
  *from(from: number): IterableIterator<[index: number, pfn: number]> {
    const first = Math.floor(from / CHUNK_PAGES);
    for (const key of this.keys()) {
      if (key < first) continue;
      const c = this.chunks.get(key);
      if (!c) continue;
      const base = key * CHUNK_PAGES;
      for (let i = key === first ? from & CHUNK_MASK : 0; i < c.pfns.length; i++) {
        const pfn = c.pfns[i]!;
        if (pfn !== 0) yield [base + i, pfn];
      }
    }
  }

  /** First present index >= from, or -1. */
  nextData(from: number): number {
    for (const [index] of this.from(from)) return index;
    return -1;
  }

  /** First hole index >= from (there always is one: the radix is finite). */
  nextHole(from: number): number {
    let index = from;
    for (;;) {
      const c = this.chunks.get(Math.floor(index / CHUNK_PAGES));
      if (!c) return index;
      if (c.count === CHUNK_PAGES) { index = (Math.floor(index / CHUNK_PAGES) + 1) * CHUNK_PAGES; continue; }
      for (let i = index & CHUNK_MASK; i < c.pfns.length; i++, index++) if (c.pfns[i] === 0) return index;
      if (index % CHUNK_PAGES !== 0) return index; // past the chunk's allocated slots: a hole
    }
  }

  /** Highest present index, or -1. */
  lastIndex(): number {
    const keys = this.keys();
    for (let k = keys.length - 1; k >= 0; k--) {
      const c = this.chunks.get(keys[k]!);
      if (!c) continue;
      for (let i = c.pfns.length - 1; i >= 0; i--) if (c.pfns[i] !== 0) return keys[k]! * CHUNK_PAGES + i;
    }
    return -1;
  }

  private keys(): number[] {
    if (!this.sortedKeys) this.sortedKeys = [...this.chunks.keys()].sort((a, b) => a - b);
    return this.sortedKeys;
  }
}

/**
 * A read-only view of the pages below `limit`: what a checkpoint saves of a
 * file with pages preallocated past its end (fallocate KEEP_SIZE). The image
 * model knows no such pages, so the preallocation lasts only while mounted.
 */
export class PageMapPrefix implements PageMap {
  constructor(private readonly inner: RadixPageMap, private readonly limit: number) {}
  get(index: number): number { return index < this.limit ? this.inner.get(index) : 0; }
  set(): void { assert(false, 'a saved page map prefix is read-only'); }
  delete(): void { assert(false, 'a saved page map prefix is read-only'); }
  get count(): number { let n = 0; for (const _ of this.entries()) n++; return n; }
  *entries(): IterableIterator<[index: number, pfn: number]> {
    for (const e of this.inner.entries()) { if (e[0] >= this.limit) return; yield e; }
  }
}
