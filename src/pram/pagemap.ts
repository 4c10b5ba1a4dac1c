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
