// The page cache of one file: file index (in pages) -> pfn, as a two-level
// radix. The top level is a sparse map of chunks, each chunk a Uint32Array of
// CHUNK_PAGES pfns, so a huge sparse file costs only the chunks it touches.
// pfn 0 is never a data page (it is the arena header / a reserved page), so 0
// marks a hole. What the pages hold and how they persist is the engine's
// business; this file only keeps the numbers.
import type { PageMap } from '../pram/image.js';
import { assert } from '../format/assert.js';

export const CHUNK_SHIFT = 10;
export const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_PAGES - 1;

interface Chunk { pfns: Uint32Array; count: number }

export class RadixPageMap implements PageMap {
  private readonly chunks = new Map<number, Chunk>();
  private sortedKeys: number[] | null = [];
  private present = 0;

  get count(): number { return this.present; }

  get(index: number): number {
    const c = this.chunks.get(Math.floor(index / CHUNK_PAGES));
    return c ? c.pfns[index & CHUNK_MASK]! : 0;
  }

  set(index: number, pfn: number): void {
    assert(Number.isSafeInteger(index) && index >= 0, `page index ${index} is a non-negative integer`);
    assert(Number.isInteger(pfn) && pfn > 0 && pfn <= 0xffffffff, `pfn ${pfn} fits a page map slot`);
    const key = Math.floor(index / CHUNK_PAGES);
    let c = this.chunks.get(key);
    if (!c) {
      c = { pfns: new Uint32Array(CHUNK_PAGES), count: 0 };
      this.chunks.set(key, c);
      this.sortedKeys = null;
    }
    const slot = index & CHUNK_MASK;
    if (c.pfns[slot] === 0) { c.count++; this.present++; }
    c.pfns[slot] = pfn;
  }

  delete(index: number): void {
    const key = Math.floor(index / CHUNK_PAGES);
    const c = this.chunks.get(key);
    if (!c) return;
    const slot = index & CHUNK_MASK;
    if (c.pfns[slot] === 0) return;
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
      for (let i = 0; i < CHUNK_PAGES; i++) {
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
      for (let i = key === first ? from & CHUNK_MASK : 0; i < CHUNK_PAGES; i++) {
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
      for (let i = index & CHUNK_MASK; i < CHUNK_PAGES; i++, index++) if (c.pfns[i] === 0) return index;
    }
  }

  private keys(): number[] {
    if (!this.sortedKeys) this.sortedKeys = [...this.chunks.keys()].sort((a, b) => a - b);
    return this.sortedKeys;
  }
}
