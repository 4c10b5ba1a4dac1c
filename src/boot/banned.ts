// The banned-region set (RFC): pfn ranges pram must never store data in —
// every early reservation (memblock) and every pram_banned= range. Sorted,
// disjoint and non-adjacent (a new region merges with every region it
// overlaps or touches), bounded like the kernel's static array. Whether a page
// is banned is a binary search. Callers decide what to do with a banned page.

import { assert } from '../format/assert.js';

export interface PfnRange { start: number; end: number } // inclusive

/** The RFC's MAX_NR_BANNED = 32 + 2 * MAX_NUMNODES. */
export function bannedCapacity(nodes = 1): number {
  return 32 + 2 * nodes;
}

export class BannedRegions {
  private readonly list: PfnRange[] = [];
  /** False turns the mechanism off (the sim's --no-ban): add() records nothing. */
  enabled = true;

  constructor(
    readonly capacity: number = bannedCapacity(),
    private readonly log: (line: string) => void = () => {},
  ) {
    assert(Number.isInteger(capacity) && capacity >= 0, 'banned capacity is a non-negative integer');
  }

  /**
   * Ban [start, end] (pfns, inclusive). Merges with every region it overlaps
   * or touches; false (and a logged error) only when a new region is needed
   * and the table is full — the ban is then lost, as in the RFC.
   */
  add(start: number, end: number): boolean {
    assert(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end >= start,
      `banned region ${start}-${end} is a valid pfn range`);
    if (!this.enabled) return true;
    // First region that could touch [start, end]: the first whose end >= start - 1.
    const first = this.lowerBound(start - 1);
    let last = first;
    while (last < this.list.length && this.list[last]!.start <= end + 1) last++;
    if (last > first) {
      const merged = {
        start: Math.min(start, this.list[first]!.start),
        end: Math.max(end, this.list[last - 1]!.end),
      };
      this.list.splice(first, last - first, merged);
    } else {
      if (this.list.length >= this.capacity) {
        this.log(`PRAM: Failed to ban ${start}-${end}: Too many banned regions`);
        return false;
      }
      this.list.splice(first, 0, { start, end });
    }
    this.checkInvariants();
    return true;
  }

  /** Is this pfn banned? Binary search over the sorted regions. */
  contains(pfn: number): boolean {
    const i = this.lowerBound(pfn);
    return i < this.list.length && this.list[i]!.start <= pfn;
  }

  /** The region holding pfn, or null. */
  regionOf(pfn: number): PfnRange | null {
    const i = this.lowerBound(pfn);
    const r = this.list[i];
    return r && r.start <= pfn ? { start: r.start, end: r.end } : null;
  }

  regions(): readonly PfnRange[] {
    return this.list.map((r) => ({ start: r.start, end: r.end }));
  }

  get count(): number {
    return this.list.length;
  }

  totalPages(): number {
    let total = 0;
    for (const r of this.list) total += r.end - r.start + 1;
    return total;
  }

  /** The boot log table (the RFC's pram_show_banned). */
  table(): string[] {
    const lines = ['PRAM: banned regions:'];
    this.list.forEach((r, i) => {
      lines.push(`${String(i).padStart(4)}: [${hex8(r.start)} - ${hex8(r.end)}] ${r.end - r.start + 1} pages`);
    });
    lines.push(`Total banned: ${this.totalPages()} pages in ${this.list.length} regions`);
    return lines;
  }

  /** Index of the first region whose end >= pfn (list.length if none). */
  private lowerBound(pfn: number): number {
    let lo = 0, hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid]!.end < pfn) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  private checkInvariants(): void {
    assert(this.list.length <= this.capacity, 'banned regions within capacity');
    for (let i = 1; i < this.list.length; i++) {
      // sorted, disjoint and not even adjacent: adjacent regions must have merged
      assert(this.list[i - 1]!.end + 1 < this.list[i]!.start, 'banned regions sorted, disjoint, non-adjacent');
    }
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
