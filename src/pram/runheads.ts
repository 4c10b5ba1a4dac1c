// Which cached run a data page belongs to: the pages an EXTENT entry names
// share one checksum, so a change to one page forgets the run and a lazy check
// of one page verifies the whole run. One byte per pfn: 0 = in no run, else 1
// + the distance back to the run's first page. A run holds at most
// EXTENT_PAGES_MAX (32) pages, so the byte never overflows whatever the pfn
// (an Int32Array of head pfn + 1 overflowed at 2^31 pages and cost four bytes a page).

import { assert } from '../format/assert.js';
import { EXTENT_PAGES_MAX } from '../format/v2.js';
import { pageTable } from '../mem/native.js';

assert(EXTENT_PAGES_MAX <= 255, 'a run fits a one-byte distance');

export class RunHeads {
  private readonly back: Uint8Array;

  constructor(pageCount: number) {
    // A table kept for the mount's life, touched only where runs are cached: not counted by V8 (mem/native.ts pageTable).
    this.back = new Uint8Array(pageTable(pageCount, false));
  }

  /** The distance bytes themselves (one per pfn), for a reader outside JS (native/ahead.c). */
  get bytes(): Uint8Array {
    return this.back;
  }

  /** First pfn of the run holding pfn, or -1 when it is in none. */
  headOf(pfn: number): number {
    const d = this.back[pfn]!;
    return d === 0 ? -1 : pfn - d + 1;
  }

  /** pfn is the first page of a cached run. */
  isHead(pfn: number): boolean {
    return this.back[pfn] === 1;
  }

  /** start..start+count-1 form one run. */
  mark(start: number, count: number): void {
    if (!(count >= 1 && count <= EXTENT_PAGES_MAX)) assert(false, `run of ${count} pages at pfn ${start}`);
    for (let k = 0; k < count; k++) this.back[start + k] = k + 1;
  }

  /** Forget the run starting at `start`: its pages among start..start+count-1 that still point at it. */
  clear(start: number, count: number): void {
    for (let k = 0; k < count; k++) if (this.back[start + k] === k + 1) this.back[start + k] = 0;
  }
}
