// The lazy mount's checking thread (native/ahead.c) as verify.ts's FirstTouch
// sees it: the thread checks the unverified pages ahead of the readers on the
// other core, one verdict word per block; a read takes the runs of a block it
// found good as verified and checks the rest itself, so a damaged page is
// still found, failed and reported by a reader, once. On an index-led mount a
// page has no sum until its group loads: the thread passes it by then, and
// each load sends the blocks of its pages back to it (groupLoaded), so no
// verdict ever covers a page it did not check.

import type { PhysMem } from '../mem/physmem.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import type { NodeImage } from './image.js';
import type { Run } from './types.js';
import { AHEAD_WAITS, aheadStart, aheadStop, aheadWake, mapReadsStats } from '../mem/native.js';
import { EXTENT_PAGES_MAX } from '../format/v2.js';
import type { RunHeads } from './runheads.js';
import { eachStretch } from './pagemap.js';

/** Data a lazy mount holds from which a thread checks it ahead of the readers (measured: 1 GiB and more gain, 64-256 MiB lose 2-3 ms). */
const AHEAD_BYTES_MIN = 512 << 20;
/** Whether a lazy mount of `dataPages` data pages starts the checking thread (CheckingThread.start's rule). */
export function aheadWanted(mem: PhysMem, dataPages: number, mapped = mem.readsMapped === true): boolean {
  const want = process.env['PRAM_VERIFY_AHEAD'];
  // Reads through the arena's mapping check each page as they copy it, for nothing: a thread checking beside
  // them would only take memory bandwidth (and, where the two vCPUs share a core, half the reader's speed).
  if (mapped && want !== '1') return false;
  return mem.preadFd !== undefined && want !== '0' && (want === '1' || dataPages * mem.pageSize >= AHEAD_BYTES_MIN);
}

/** Pfns per block of the checking thread (native/ahead.c): one verdict word each. */
const AHEAD_BLOCK_PAGES = 512;
/** The checking thread's block of `pfn` (one verdict vouches for all of it). */
export const aheadBlockOf = (pfn: number): number => Math.floor(pfn / AHEAD_BLOCK_PAGES);
/**
 * A block's verdict word: not yet checked, being checked, all its runs matched, one differs, a reader checks it,
 * sums came while it was being checked (the verdict is dropped, the block is Free again).
 */
const enum Ahead { Free = 0, Busy = 1, Good = 2, Diff = 3, Taken = 4, Stale = 5 }

const NO_VERDICTS = new Int32Array(0);

/** The page flags the native side reads (the thread, aheadReadLone), as one word: unverified | bad << 8 | dirty << 16. */
export const AHEAD_FLAG_BITS = PageFlag.Unverified | PageFlag.Bad << 8 | PageFlag.Dirty << 16;

/** What the thread reads: the frames' flags and sums, the cached runs and which run each page is in. */
export interface AheadContext {
  mem: PhysMem;
  frames: PageFrames;
  runs: Map<number, Run>;
  runHead: RunHeads;
}

/** The checking thread of one lazy mount (at most one) and its verdicts. */
export class CheckingThread {
  private thread: object | null = null;
  private verdicts: Int32Array | null = null;
  private goodBlock = -1;             // the last block found good (a verdict never changes once good)
  // A start put off while the arena's reads go through its mapping, until its first fills decide (afterRead).
  private pending: { dataPages: number; later: boolean } | null = null;
  private allLoaded = false;          // an index-led mount's last group loaded (before any thread ran)

  constructor(private readonly ctx: AheadContext) {}

  /** A thread ran: its verdicts may vouch for a page (they stay usable after stop). */
  get ran(): boolean {
    return this.verdicts !== null;
  }

  /**
   * After a lazy mount of `dataPages` data pages: a thread checks the
   * unverified runs and lone pages block by block ahead of the readers --
   * from AHEAD_BYTES_MIN of data on (below, the readers catch it up at once
   * and gain nothing), or always with PRAM_VERIFY_AHEAD=1, never with 0 or
   * when the arena has no fd to read from. Each run's expected sum goes to
   * its first pfn's csum (a run's pages are Dirty: no other sum of their own
   * is read there) so the thread finds it. `later`: an index-led mount, whose
   * sums come as groups load (groupLoaded): the thread waits for them.
   */
  start(dataPages: number, later: boolean, mapped = this.ctx.mem.readsMapped === true): void {
    const { mem, frames, runs, runHead } = this.ctx;
    const fd = mem.preadFd;
    if (this.thread || fd === undefined) return;
    if (!aheadWanted(mem, dataPages, mapped)) {
      if (mapped && aheadWanted(mem, dataPages, false)) this.pending = { dataPages, later };
      return;
    }
    for (const [head, run] of runs) if (frames.flags[head]! & PageFlag.Unverified) frames.csum[head] = run.csum;
    const verdicts = new Int32Array(new SharedArrayBuffer(4 * Math.ceil(mem.pageCount / AHEAD_BLOCK_PAGES)));
    const bits = AHEAD_FLAG_BITS | (later && !this.allLoaded ? AHEAD_WAITS : 0);
    try {
      this.thread = aheadStart(fd, mem.pageSize, frames.flags, runHead.bytes, frames.csum, verdicts, bits);
      this.verdicts = verdicts;
    } catch {
      // No thread (none could start): every read checks its own pages, as without one.
    }
  }

  /**
   * A group of an index-led mount loaded: its nodes' pages have their sums
   * now (a run's goes to its first pfn, as in start). A verdict on a
   * block holding one of them was made without them: a good one or a
   * differing one (it may have seen a page's flag before its sum) is taken
   * back (Free), one being made is dropped (Stale), then the thread walks the
   * blocks again. The compare-exchange orders the pages' flags and sums
   * before the thread's next look at the block. `last`: every group loaded.
   */
  groupLoaded(nodes: readonly { pages: NodeImage['pages'] }[], last: boolean): void {
    if (last) this.allLoaded = true;
    if (!this.thread) return;
    const { frames, runs, runHead } = this.ctx, v = this.verdicts!, back = runHead.bytes;
    const blocks = new Set<number>();
    // Per stretch: its blocks by range, its run heads by the heads' bytes (a native scan): a SPAN's pages are in no
    // run, and a loop over every page of a group holding a file of gigabytes cost a mount tens of milliseconds.
    for (const n of nodes) eachStretch(n.pages, (pfn, count) => {
      for (let b = Math.floor(pfn / AHEAD_BLOCK_PAGES), last = Math.floor((pfn + count - 1) / AHEAD_BLOCK_PAGES); b <= last; b++) blocks.add(b);
      const heads = back.subarray(pfn, pfn + count);
      for (let i = heads.indexOf(1); i >= 0;) {
        const q = pfn + i, run = runs.get(q);
        if (run && frames.flags[q]! & PageFlag.Unverified) frames.csum[q] = run.csum;
        i = heads.indexOf(1, i + (run?.count ?? 1));
      }
    });
    for (const b of blocks) {
      for (;;) {
        const s = Atomics.load(v, b);
        if (Atomics.compareExchange(v, b, s, s === Ahead.Good || s === Ahead.Diff ? Ahead.Free : s === Ahead.Busy ? Ahead.Stale : s) === s) break;
      }
    }
    this.goodBlock = -1;
    if (blocks.size > 0 || last) aheadWake(this.thread, last);
  }

  /**
   * Before a read, while a start is put off: once the arena's mapping has judged its first fills, the thread
   * starts after all if the mapping was given up (its reads are preads, as without one), else never.
   */
  afterRead(): void {
    if (!this.pending) return;
    const fd = this.ctx.mem.preadFd, v = fd === undefined ? 'kept' : mapReadsStats(fd)?.verdict ?? 'kept';   // no mapping: never
    if (v === 'kept') this.pending = null;
    else if (v === 'gave up') {
      const { dataPages, later } = this.pending;
      this.pending = null;
      this.start(dataPages, later, false);
    }
  }

  /** The verdict words for a native reader (aheadReadLone): empty when no thread ran. */
  get words(): Int32Array {
    return this.verdicts ?? NO_VERDICTS;
  }

  /** Blocks by verdict: [not checked, being checked, good, differing, left to readers, dropped]; null: no thread ran. */
  verdictCounts(): number[] | null {
    if (!this.verdicts) return null;
    const c = [0, 0, 0, 0, 0, 0];
    for (let b = 0; b < this.verdicts.length; b++) c[Atomics.load(this.verdicts, b)]!++;
    return c;
  }

  /** The thread stops and is joined (unmount); verdicts it left stay usable. Again: nothing. */
  stop(): void {
    if (this.thread) aheadStop(this.thread);
    this.thread = null;
  }

  /**
   * True when the thread found the block of `start` (the first pfn of a run
   * or a lone page) good: then every page that block vouches for is marked
   * verified at once (markBlock). Asked only while ran.
   */
  vouches(start: number): boolean {
    if (!this.checkedAhead(start)) return false;
    this.markBlock(Math.floor(start / AHEAD_BLOCK_PAGES));
    return true;
  }

  /**
   * True when the thread found start's block good (every run and lone page
   * whose first pfn is there matched, read after the mount; a page still
   * unverified was never written since, so the verdict holds for it). A block
   * not checked yet is marked taken: the thread leaves it to the readers;
   * one being checked now, the next is (the thread is just ahead of this
   * reader: both would read the same blocks in step, so it goes further on).
   * Pages of a run forgotten since (Dirty, in no run) are never taken from it.
   */
  private checkedAhead(start: number): boolean {
    const b = Math.floor(start / AHEAD_BLOCK_PAGES), v = this.verdicts!;
    if (b === this.goodBlock) return true;
    const state = Atomics.load(v, b);
    if (state === Ahead.Good) this.goodBlock = b;
    else if (state === Ahead.Free) Atomics.compareExchange(v, b, Ahead.Free, Ahead.Taken);
    else if (state === Ahead.Busy && b + 1 < v.length) Atomics.compareExchange(v, b + 1, Ahead.Free, Ahead.Taken);
    return state === Ahead.Good;
  }

  /**
   * Block b was found good: every page it vouches for is verified at once (the
   * reads after this one find them so): its lone pages, and the pages of each
   * run whose first pfn is in it (a run may reach into the next block). Pages
   * of a run forgotten since (Dirty, in no run) stay for their reader.
   */
  private markBlock(b: number): void {
    const { frames, runHead } = this.ctx, flags = frames.flags, back = runHead.bytes;
    const first = b * AHEAD_BLOCK_PAGES, end = Math.min(first + AHEAD_BLOCK_PAGES, flags.length);
    const last = Math.min(end + EXTENT_PAGES_MAX - 1, flags.length);
    for (let q = first; q < last; q++) {
      const f = flags[q]!;
      if (!(f & PageFlag.Unverified) || f & PageFlag.Bad) continue;
      const d = back[q]!;
      if (d === 0 ? q < end && !(f & PageFlag.Dirty) : q - d + 1 >= first && q - d + 1 < end) flags[q] = f & ~PageFlag.Unverified;
    }
  }
}
