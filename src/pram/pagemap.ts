// A plain page map (file index -> pfn) for nodes the engine loads when the
// caller (fs/) does not pass its own page cache factory. Insertion by the
// loader is in ascending index order, so entries() sorts only when needed.

import type { PageMap } from './image.js';

export class SimplePageMap implements PageMap {
  private readonly map = new Map<number, number>();
  private sorted = true;
  private last = -1;

  get count(): number { return this.map.size; }
  get(index: number): number { return this.map.get(index) ?? 0; }
  set(index: number, pfn: number): void {
    if (!this.map.has(index) && index < this.last) this.sorted = false;
    this.last = Math.max(this.last, index);
    this.map.set(index, pfn);
  }
  delete(index: number): void { this.map.delete(index); }
  *entries(): IterableIterator<[index: number, pfn: number]> {
    if (this.sorted) { yield* this.map.entries(); return; }
    yield* [...this.map.entries()].sort((a, b) => a[0] - b[0]);
  }
}

/**
 * A page map that finds its stretches itself (fs/'s RadixPageMap): all of them, or consecutive pfns from an
 * index and the next present index.
 */
type Stretches = PageMap & {
  eachRun?(f: (index: number, pfn: number, count: number) => void): void;
  run?(index: number, max: number): number; nextData?(from: number): number;
};

/** f(pfn, count) for each stretch of consecutive pfns a page map holds: by its own run finder where it has one, else a page at a time. */
export function eachStretch(pages: Stretches, f: (pfn: number, count: number) => void): void {
  if (pages.eachRun) { pages.eachRun((_, pfn, count) => f(pfn, count)); return; }
  if (!pages.run || !pages.nextData) {
    for (const [, pfn] of pages.entries()) f(pfn, 1);
    return;
  }
  for (let i = pages.nextData(0); i >= 0;) {
    const n = pages.run(i, 2 ** 31);
    f(pages.get(i), n);
    i = pages.nextData(i + n);
  }
}
