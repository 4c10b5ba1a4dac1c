// Pages pinned under views (fs/ view()): a count per pfn, made on first use.
// A pinned page the fs no longer uses is retired, not freed: it goes at its
// last unpin, so a view never shows a page given to someone else.
import { Owner, PageFlag, type PageFrames } from '../boot/frames.js';
import { assert } from '../format/assert.js';

export class Pins {
  private counts: Uint32Array | null = null;
  /** Pinned pages the fs no longer uses: handed to `gone` at their last unpin. */
  readonly retired = new Set<number>();

  constructor(private readonly frames: PageFrames) {}

  /** Whether any page was ever pinned (no counts are kept before). */
  get used(): boolean { return this.counts !== null; }

  /** A view shows pfn..pfn+count-1 (data pages). */
  pin(pfn: number, count: number): void {
    const pins = (this.counts ??= new Uint32Array(this.frames.pageCount));
    for (let q = pfn; q < pfn + count; q++) {
      if (!(this.frames.owner[q] === Owner.Data && pins[q]! < 0xffffffff)) assert(false, `pin of pfn ${q}: a data page`);
      pins[q]!++;
      this.frames.flags[q]! |= PageFlag.Pinned;
    }
  }

  /** The view is gone: each retired page whose last pin this was goes to `gone`. */
  unpin(pfn: number, count: number, gone: (pfn: number) => void): void {
    const pins = this.counts!;
    for (let q = pfn; q < pfn + count; q++) {
      if (!(pins[q]! > 0)) assert(false, `unpin of pfn ${q}: pinned`);
      if (--pins[q]! > 0) continue;
      this.frames.flags[q]! &= ~PageFlag.Pinned;
      if (this.retired.delete(q)) gone(q);
    }
  }
}
