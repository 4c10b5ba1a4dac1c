// The page allocator that runs after early boot: every pfn still owned by
// nobody goes into a free pool (a bitmap, one bit per page). Allocation is
// next-fit from a cursor (or a caller's hint), so pages taken one after the
// other come out physically contiguous and large files form runs.
//
// It never hands out a banned page. Like the RFC's pram_alloc_page, the banned
// pages it meets are taken out of the pool and held aside (Owner.Held) until
// the caller's operation ends and calls releaseHeld(); meanwhile the search
// cannot meet them again. Deciding what an "operation" is belongs to the caller.
//
// pfns index the bitmap with `>>> 5` (exact below 2^32: PAGE_COUNT_MAX bounds every pfn)
// and are rebuilt from word numbers by multiplication, never `<<` (which wraps at 2^31).
//
// Invariant: a page is in exactly one place — the pool, held, or owned by one
// user (frames.owner). Double free and allocating an owned page are bugs.

import { assert } from '../format/assert.js';
import { smallInt } from '../format/smallint.js';
import type { BannedRegions } from './banned.js';
import { Owner, type PageFrames } from './frames.js';
import type { Memblock } from './memblock.js';
import { OwnedSpans } from './ownedspans.js';
import { allOnes, firstSet, noteWord, popcount, summaryOf } from './poolbits.js';

export interface AllocatorOptions {
  /** Runs never cross a multiple of this many pages (an Arena's mapping segment). */
  segmentPages?: number;
  /**
   * Every page with an owner, as (start, count) pairs (memblock's reservations of a memory
   * without holes): the pool is built from them, not from a scan of every pfn's owner.
   */
  owned?: readonly number[];
}

/** Pages an alloc that found no other page pools from freeLater()'s before it searches again. */
const LATER_STEP = 4096;

export class PageAllocator {
  // Bit set = page in the pool; built at the first use (the owned spans kept till then): a lazy mount of a
  // 12 GiB image would fill 425 KB of fresh memory for it, and a mount may never allocate.
  private pool: Uint32Array | null = null;
  private owned: readonly number[] | null = null;
  // Held banned pages as (bitmap word, bits) pairs: a banned region is held a word at a time,
  // not page by page (60 GiB banned in a 64 GiB arena took 7 s per operation page by page).
  private readonly held: number[] = [];
  private heldPages = 0;
  private cursor = 0;
  private freeNotBanned = 0;
  private readonly segmentPages: number;
  // Pages given back in bounded steps (freeLater): counted free already, pooled by drainLater, or by alloc when it finds no other.
  private readonly later: { pfns: readonly number[]; at: number; before?: (pfn: number) => void }[] = [];
  private laterPages = 0;
  // Pages given back that the compaction lists as data (freeKept): counted free, taken only when no other page is left.
  private kept: number[] = [];
  // Bit w set = pool word w has a page: the search skips 1024 full pages a bit (a 12 GiB arena's data is ~3000 words of it,
  // not ~100 000). Built at the first search; every change of a pool word keeps it (note()).
  private sum: Uint32Array | undefined;

  constructor(readonly frames: PageFrames, readonly banned: BannedRegions, opts: AllocatorOptions = {}) {
    this.segmentPages = opts.segmentPages ?? Number.MAX_SAFE_INTEGER;
    const n = frames.pageCount;
    if (opts.owned) {
      // The pool is every page less the owned spans: counted from them now (range arithmetic), its bitmap built at the first use.
      this.owned = opts.owned.slice();
      const owned = new OwnedSpans(this.owned);
      let free = n - owned.total;
      for (const r of banned.regions()) if (r.start < n) { const to = Math.min(r.end, n - 1); free -= to - r.start + 1 - owned.within(r.start, to); }
      this.freeNotBanned = smallInt(free);
      return;
    }
    // One pass over the owners building whole bitmap words (a big arena has millions of pfns),
    // then the banned pages subtracted region by region instead of a search per pfn. Owners
    // are read four at a time: a run of 32 unowned pages (most of a fresh memory) is one word
    // test, not 32 (16M pages: 62 -> 8 ms of CPU; the first touch of the tables' pages stays).
    this.pool = new Uint32Array(Math.ceil(n / 32));
    let free = this.fromOwners();
    // Pooled pages inside banned regions are not counted free: a popcount per bitmap word (60 GiB banned: ~0.5M words, not 15M pfns).
    for (const r of banned.regions()) if (r.start < n) free -= this.pooledIn(r.start, Math.min(r.end, n - 1));
    this.freeNotBanned = smallInt(free);
  }

  /** The pool's bitmap, built from the owned spans at the first use. */
  private get free_(): Uint32Array {
    if (this.pool) return this.pool;
    this.pool = new Uint32Array(Math.ceil(this.frames.pageCount / 32));
    this.fromOwned(this.owned!);
    this.owned = null;
    return this.pool;
  }

  /** Pages of [from, to] in the pool, a bitmap word at a time. */
  private pooledIn(from: number, to: number): number {
    let pooled = 0;
    for (let pfn = from; pfn <= to;) {
      const w = pfn >>> 5, base = w * 32, lo = pfn - base, hi = Math.min(31, to - base);
      const span = hi === 31 ? ~0 << lo : (~0 << lo) & ~(~0 << (hi + 1));
      pooled += popcount(this.free_[w]! & span);
      pfn = base + hi + 1;
    }
    return pooled;
  }

  /** The pool's bitmap from the owned spans: every page, less theirs (the spans never overlap: checked). */
  private fromOwned(owned: readonly number[]): void {
    const pool = this.pool!, n = this.frames.pageCount;
    pool.fill(0xffffffff);
    if (n % 32) pool[pool.length - 1] = (1 << (n % 32)) - 1;
    for (let k = 0; k < owned.length; k += 2) {
      const start = owned[k]!, end = start + owned[k + 1]! - 1;
      // A word at a time (a 12 GiB image reserves ~3M pages); each bit cleared once: spans never overlap.
      for (let pfn = start; pfn <= end;) {
        const w = pfn >>> 5, base = w * 32, lo = pfn - base, hi = Math.min(31, end - base);
        // Whole words inside the span: one fill (a 16 MiB SPAN is 128 words), each checked full first.
        if (lo === 0 && hi === 31 && end - base >= 63) {
          const wEnd = Math.floor((end + 1) / 32);
          if (!allOnes(pool, w, wEnd)) assert(false, `owned pfns ${pfn}..${wEnd * 32 - 1} are owned once`);
          pool.fill(0, w, wEnd);
          pfn = wEnd * 32;
          continue;
        }
        const span = hi === 31 ? ~0 << lo : (~0 << lo) & ~(~0 << (hi + 1));
        if ((pool[w]! & span) !== span) assert(false, `owned pfns ${pfn}..${base + hi} are owned once`);
        pool[w]! &= ~span;
        pfn = base + hi + 1;
      }
    }
  }

  /** The pool from a scan of every pfn's owner. Returns the pages in it. */
  private fromOwners(): number {
    const owner = this.frames.owner, n = this.frames.pageCount, pool = this.pool!;
    const wide = owner.byteOffset % 4 === 0 ? new Uint32Array(owner.buffer, owner.byteOffset, Math.floor(n / 4)) : null;
    let free = 0;
    for (let w = 0; w * 32 < n; w++) {
      const base = w * 32, q = w * 8;
      if (wide && base + 32 <= n && (wide[q]! | wide[q + 1]! | wide[q + 2]! | wide[q + 3]! | wide[q + 4]! | wide[q + 5]! | wide[q + 6]! | wide[q + 7]!) === 0) {
        pool[w] = 0xffffffff;
        free += 32;
        continue;
      }
      let bits = 0;
      const end = Math.min(32, n - base);
      for (let b = 0, pfn = base; b < end; b++, pfn++) if (owner[pfn] === Owner.None) { bits |= 1 << b; free++; }
      pool[w] = bits;
    }
    return free;
  }

  /** The end of early boot: every page memblock did not reserve (and that is not a hole) becomes free. */
  static fromMemblock(memblock: Memblock, opts: AllocatorOptions = {}): PageAllocator {
    return new PageAllocator(memblock.frames, memblock.banned, opts);
  }

  /** Pages alloc() could hand out now (free and not banned). */
  get freeCount(): number {
    return this.freeNotBanned + this.laterPages + this.kept.length;
  }

  /**
   * Give back pages the image's compaction may list as data (v3: RUNS DATA) until a compaction that lists none of
   * them (releaseKept): they count as free at once, but an alloc takes one only when no other page is left. Taken
   * again by a later commit's log or file, such a page ties the tail's records to its old group and a lazy mount
   * applies them at mount (pram/taildefer.ts); kept aside, one group's changes wait for that group's load.
   */
  freeKept(pfns: readonly number[]): void {
    // An index loop: a commit's code runs a few times a second, unoptimized, where for-of makes an object per page.
    for (let i = 0; i < pfns.length; i++) this.kept.push(pfns[i]!);
  }

  /** A compaction that lists none of the kept pages is durable: they are given back as freeLater's. */
  releaseKept(): void {
    if (this.kept.length === 0) return;
    this.freeLater(this.kept);
    this.kept = [];
  }

  /** Pages given to freeKept() not released or taken yet. */
  get keptCount(): number {
    return this.kept.length;
  }

  /** Pools up to `max` kept pages (an alloc that found no other page); the pages pooled. */
  private drainKept(max: number): number {
    const n = Math.min(max, this.kept.length);
    for (let i = 0; i < n; i++) this.free(this.kept.pop()!);
    return n;
  }

  /**
   * Give these owned pages back in bounded steps (a compaction's old log: tens of
   * thousands of pages at a million files, too many for one commit). They count
   * as free at once (a page alloc handed out is never banned); drainLater() pools
   * them, `before` each first; an alloc that finds no other page drains them itself.
   */
  freeLater(pfns: readonly number[], before?: (pfn: number) => void): void {
    if (pfns.length === 0) return;
    this.later.push({ pfns, at: 0, before });
    this.laterPages += pfns.length;
  }

  /** Pools up to `max` pages given to freeLater(); the pages pooled. */
  drainLater(max: number): number {
    let done = 0;
    while (done < max && this.later.length > 0) {
      const batch = this.later[0]!;
      const end = Math.min(batch.pfns.length, batch.at + (max - done));
      for (let i = batch.at; i < end; i++) {
        const pfn = batch.pfns[i]!;
        batch.before?.(pfn);
        this.free(pfn);
      }
      done += end - batch.at;
      this.laterPages -= end - batch.at;
      batch.at = end;
      if (batch.at === batch.pfns.length) this.later.shift();
    }
    return done;
  }

  /** Pages given to freeLater() not pooled yet. */
  get laterCount(): number {
    return this.laterPages;
  }

  /** Pages held aside since the last releaseHeld(). */
  get heldCount(): number {
    return this.heldPages;
  }

  isFree(pfn: number): boolean {
    return (this.free_[pfn >>> 5]! & (1 << (pfn & 31))) !== 0;
  }

  /** One page for owner: next-fit from hint (else the cursor), wrapping once. -1 when none is left. */
  alloc(owner: Owner, hint?: number): number {
    assert(owner !== Owner.None && owner !== Owner.Hole && owner !== Owner.Held, 'alloc for a real owner');
    const from = this.start(hint);
    let pfn = this.search(from, this.frames.pageCount);
    if (pfn < 0) pfn = this.search(0, from);
    if (pfn < 0) return this.drainLater(LATER_STEP) > 0 || this.drainKept(LATER_STEP) > 0 ? this.alloc(owner, hint) : -1;
    this.take(pfn, owner);
    this.cursor = pfn + 1 < this.frames.pageCount ? pfn + 1 : 0;
    return pfn;
  }

  /** count contiguous pages (free, not banned, within one segment); the first pfn, or -1. */
  allocRun(owner: Owner, count: number, hint?: number): number {
    assert(Number.isSafeInteger(count) && count > 0, 'allocRun count > 0');
    if (count === 1) return this.alloc(owner, hint);
    const from = this.start(hint);
    let start = this.searchRun(from, this.frames.pageCount, count);
    if (start < 0) start = this.searchRun(0, Math.min(from + count - 1, this.frames.pageCount), count);
    if (start < 0) return this.drainLater(Number.MAX_SAFE_INTEGER) > 0 || this.drainKept(Number.MAX_SAFE_INTEGER) > 0 ? this.allocRun(owner, count, hint) : -1;
    for (let pfn = start; pfn < start + count; pfn++) this.take(pfn, owner);
    this.cursor = start + count < this.frames.pageCount ? start + count : 0;
    return start;
  }

  /** Take a specific free page (e.g. the simulated kernel's fixed allocations). False if not in the pool. */
  claim(pfn: number, owner: Owner): boolean {
    if (pfn < 0 || pfn >= this.frames.pageCount || !this.isFree(pfn)) return false;
    this.take(pfn, owner);
    return true;
  }

  /** Return a page to the pool (any owned page, including early reservations given up after boot). */
  free(pfn: number): void {
    // Hot paths: a message is built only when its check fails (a template per call cost seconds over millions of pages).
    if (!(pfn >= 0 && pfn < this.frames.pageCount)) assert(false, `free of pfn ${pfn} inside memory`);
    const owner = this.frames.owner[pfn]!;
    if (!(!this.isFree(pfn) && owner !== Owner.None)) assert(false, `double free of pfn ${pfn}`);
    if (!(owner !== Owner.Hole && owner !== Owner.Held)) assert(false, `free of pfn ${pfn} owned by ${owner}`);
    this.frames.owner[pfn] = Owner.None;
    this.frames.flags[pfn] = 0;
    this.free_[pfn >>> 5]! |= 1 << (pfn & 31);
    this.note(pfn >>> 5);
    if (!this.banned.contains(pfn)) this.freeNotBanned++;
  }

  /** End of an operation: banned pages held aside go back to the pool (RFC pram_chain_free). */
  releaseHeld(): void {
    if (this.held.length === 0) return;   // (the owner table untouched: read, it is written from memblock's ranges)
    const held = this.held, owner = this.frames.owner;
    for (let i = 0; i < held.length; i += 2) {
      const w = held[i]!, bits = held[i + 1]!, base = w * 32;
      this.free_[w]! |= bits;
      this.note(w);
      if (bits === ~0) { owner.fill(Owner.None, base, base + 32); continue; }   // a word held whole: all 32 were set Held together
      for (let b = 0; b < 32; b++) {
        if (!(bits & (1 << b))) continue;
        if (owner[base + b] !== Owner.Held) assert(false, `held pfn ${base + b} still held`);
        owner[base + b] = Owner.None;
      }
    }
    held.length = 0;
    this.heldPages = 0;
  }

  private start(hint?: number): number {
    return hint !== undefined && hint >= 0 && hint < this.frames.pageCount ? Math.floor(hint) : this.cursor;
  }

  private take(pfn: number, owner: Owner): void {
    if (!(this.isFree(pfn) && this.frames.owner[pfn] === Owner.None)) assert(false, `pfn ${pfn} in the pool is unowned`);
    if (this.banned.contains(pfn)) assert(false, `pfn ${pfn} handed out is not banned`);
    this.free_[pfn >>> 5]! &= ~(1 << (pfn & 31));
    this.note(pfn >>> 5);
    this.frames.owner[pfn] = owner;
    this.freeNotBanned--;
  }

  /** First free pfn in [from, to) that is not banned; banned ones met are held aside. -1 if none. */
  private search(from: number, to: number): number {
    let pfn = from;
    for (;;) {
      pfn = this.nextFree(pfn, to);
      if (pfn < 0) return -1;
      const region = this.banned.regionOf(pfn);
      if (!region) return pfn;
      this.holdRange(pfn, Math.min(region.end, to - 1));
      pfn = region.end + 1;
    }
  }

  /** First start in [from, to) of count free, unbanned pages inside one segment. -1 if none. */
  private searchRun(from: number, to: number, count: number): number {
    let pfn = from;
    for (;;) {
      pfn = this.nextFree(pfn, to);
      if (pfn < 0 || pfn + count > this.frames.pageCount) return -1;
      const region = this.banned.regionOf(pfn);
      if (region) { pfn = region.end + 1; continue; }
      const segEnd = (Math.floor(pfn / this.segmentPages) + 1) * this.segmentPages;
      if (pfn + count > segEnd) { pfn = segEnd; continue; }
      let ok = true;
      for (let q = pfn + 1; q < pfn + count; q++) {
        if (!this.isFree(q) || this.banned.contains(q)) { pfn = q + 1; ok = false; break; }
      }
      if (ok) return pfn;
    }
  }

  /** Hold every pooled page in [from, to] aside (they are banned), a bitmap word at a time. */
  private holdRange(from: number, to: number): void {
    const owner = this.frames.owner;
    for (let pfn = from; pfn <= to;) {
      const w = pfn >>> 5, base = w * 32;
      const lo = pfn - base, hi = Math.min(31, to - base);
      const span = hi === 31 ? ~0 << lo : (~0 << lo) & ~(~0 << (hi + 1));   // bits lo..hi (a shift by 32 is one by 0)
      const bits = this.free_[w]! & span;
      if (bits !== 0) {
        this.free_[w]! &= ~bits;
        this.note(w);
        if (bits === ~0) owner.fill(Owner.Held, base, base + 32);
        else for (let b = lo; b <= hi; b++) if (bits & (1 << b)) owner[base + b] = Owner.Held;
        this.held.push(w, bits);
        this.heldPages += popcount(bits);
      }
      pfn = base + hi + 1;
    }
  }

  /** First pooled pfn in [from, to). -1 if none. */
  private nextFree(from: number, to: number): number {
    return firstSet(this.free_, this.sum ??= summaryOf(this.free_), from, to);
  }

  /** Pool word w changed: its summary bit follows. */
  private note(w: number): void {
    if (this.sum) noteWord(this.free_, this.sum, w);
  }
}
