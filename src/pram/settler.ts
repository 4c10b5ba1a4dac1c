// Settling: data pages written since their checksum get it between commits, a
// few at a time (fs/ Volume.background), or all at once when a commit begins, so
// the commit that names them only encodes records. Apart from slices.ts's
// compaction in slices: it shares no state with it, only the background driver;
// the engine (pram.ts) makes it and marks pages Dirty through it.

import type { PhysMem } from '../mem/physmem.js';
import { Owner, PageFlag, type PageFrames } from '../boot/frames.js';
import { assert } from '../format/assert.js';
import { crc32c, crc32cRanges } from '../format/crc.js';
import { runCrcs } from './verify.js';
import type { RunHeads } from './runheads.js';

/** Pages a settling step checksums in one call (neighbours are read together: the batch is sorted). */
const SETTLE_BATCH = 64;

/** Data pages written since their checksum, checksummed a few at a time before the commit that names them. */
export class Settler {
  // pfns queued, in a typed array grown by doubling (a gigabyte written queues 262 144: no boxed array).
  private queue = new Uint32Array(1024);
  private queued = 0;
  // written()'s page ranges and their crcs, reused from write to write.
  private rangeAt = new Uint32Array(0);
  private rangeLen = new Uint32Array(0);
  private rangeCrc = new Uint32Array(0);

  constructor(private readonly mem: PhysMem, private readonly frames: PageFrames, private readonly runHead: RunHeads) {}

  /** pfn became Dirty (a new page, a copy, or a clean page written in place). */
  dirty(pfn: number): void {
    if (this.queued === this.queue.length) {
      const grown = new Uint32Array(2 * this.queue.length);
      grown.set(this.queue);
      this.queue = grown;
    }
    this.queue[this.queued++] = pfn;
  }

  /** pfn..pfn+count-1 became Dirty (fresh pages taken in a run). */
  dirtyRun(pfn: number, count: number): void {
    while (this.queued + count > this.queue.length) {
      const grown = new Uint32Array(2 * this.queue.length);
      grown.set(this.queue);
      this.queue = grown;
    }
    for (let i = 0; i < count; i++) this.queue[this.queued++] = pfn + i;
  }

  /** A commit checksummed every page it named: nothing left to settle. */
  reset(): void {
    this.queued = 0;
    if (this.queue.length > 1 << 16) this.queue = new Uint32Array(1024);   // a big write's queue is not kept
  }

  get pending(): number { return this.queued; }

  /**
   * Checksums queued pages until `until` (performance.now()); true when some are left.
   * Only a page that is still a Dirty data page, not Bad or unverified and in no
   * cached run: group() in records.ts would checksum it alone the same way.
   */
  settle(until: number): boolean {
    while (this.queued > 0) {
      const from = Math.max(0, this.queued - SETTLE_BATCH);
      this.sum(this.queue.subarray(from, this.queued));
      this.queued = from;
      if (performance.now() >= until) break;
    }
    return this.queued > 0;
  }

  /**
   * Checksums every queued page now, in one native call (on every core when
   * large): a commit calls it first, so naming a gigabyte just written costs
   * one crc32c pass over it, not a call per page.
   */
  settleAll(): void {
    if (this.queued === 0) return;
    this.sum(this.queue.subarray(0, this.queued));
    this.reset();
  }

  /**
   * pfn..pfn+count-1 now hold exactly src[at, at + count pages), written whole
   * by one call: each that a settling step would checksum gets its checksum
   * from these bytes (no read back through the fd) and is no longer Dirty. The
   * same value a read-back gives: the page holds these bytes and nothing else.
   * Still queued: sum() passes over it (a later write makes it Dirty again).
   */
  written(pfn: number, count: number, src: Uint8Array, at: number): void {
    const { frames, runHead } = this, ps = this.mem.pageSize;
    if (!(at >= 0 && at + count * ps <= src.length)) assert(false, 'the written bytes cover the pages');
    if (at + count * ps > 0xffffffff) return;              // offsets are 32-bit: a read-back settles them
    if (this.rangeAt.length < count) { this.rangeAt = new Uint32Array(count); this.rangeLen = new Uint32Array(count).fill(ps); this.rangeCrc = new Uint32Array(count); }
    for (let i = 0; i < count; i++) this.rangeAt[i] = at + i * ps;
    crc32cRanges(src, this.rangeAt, this.rangeLen, count, this.rangeCrc);   // over the caller's buffer: no view made
    for (let i = 0; i < count; i++) {
      const q = pfn + i;
      if (frames.owner[q] !== Owner.Data || (frames.flags[q]! & (PageFlag.Dirty | PageFlag.Bad | PageFlag.Unverified)) !== PageFlag.Dirty || runHead.headOf(q) >= 0) continue;
      frames.csum[q] = this.rangeCrc[i]!;
      frames.flags[q]! &= ~PageFlag.Dirty;
    }
    // Just queued by allocData/writable (the queue's tail, in order) and settled now: off the queue again,
    // so a gigabyte written whole never grows it. A page left Dirty stops this (it stays queued).
    for (let q = pfn + count - 1; q >= pfn && this.queued > 0 && this.queue[this.queued - 1] === q && !(frames.flags[q]! & PageFlag.Dirty); q--) this.queued--;
  }

  /** Checksums the pages of `queued` that still need it; neighbours are read together (sorted unless already ascending). */
  private sum(queued: Uint32Array): void {
    const { frames, mem, runHead } = this;
    const batch = new Float64Array(queued.length);
    let n = 0, ascending = true;
    for (let i = 0; i < queued.length; i++) {
      const pfn = queued[i]!;
      if (frames.owner[pfn] !== Owner.Data || (frames.flags[pfn]! & (PageFlag.Dirty | PageFlag.Bad | PageFlag.Unverified)) !== PageFlag.Dirty || runHead.headOf(pfn) >= 0) continue;
      if (n > 0 && pfn < batch[n - 1]!) ascending = false;
      batch[n++] = pfn;
    }
    if (n === 0) return;
    const pfns = ascending ? batch.subarray(0, n) : batch.subarray(0, n).sort();
    // Read through the arena's fd when it has one (fs/ writes data that way): a page this process never
    // mapped is not faulted in just to be checksummed.
    const crcs = n > 1 || mem.preadFd !== undefined ? runCrcs(mem, pfns, new Uint32Array(n).fill(1), { pread: true }) : [crc32c(mem.page(pfns[0]!))];
    for (let i = 0; i < n; i++) {
      const pfn = pfns[i]!;
      if (frames.flags[pfn]! & PageFlag.Dirty) {   // a pfn queued twice: the first settles it
        frames.csum[pfn] = crcs[i]!;
        frames.flags[pfn]! &= ~PageFlag.Dirty;
      }
    }
  }
}
