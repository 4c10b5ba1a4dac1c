// The fs's data pages, as the engine (pram.ts) hands them out: a fresh page, a run of
// them at consecutive pfns, the page to write (itself, or a copy when it belongs to the
// committed checkpoint -- Frozen -- or a view shows it -- Pinned), and a page the fs lets
// go. Each page is admitted by the space ledger (ledger.ts) before it is taken, and marked
// Dirty for the settler (settler.ts): its checksum comes at the next checkpoint.

import { copyPage, type PhysMem } from '../mem/physmem.js';
import type { BannedRegions } from '../boot/banned.js';
import type { PageAllocator } from '../boot/allocator.js';
import { Owner, PageFlag, type PageFrames } from '../boot/frames.js';
import { ENOSPC } from '../format/errno.js';
import { assert } from '../format/assert.js';
import type { SpaceLedger } from './ledger.js';
import type { Settler } from './settler.js';

// A copy's growth of the tree, shared: a write makes no object for it (a commit's garbage, issue 13's stalls).
const NO_COPY = Object.freeze({ copies: 0 }), COPY_OF_BANNED = Object.freeze({ copies: -1 });

/** What the data pages ask of the engine. */
export interface DataPagesHost {
  /** 0 when the page may be read; -EIO when it failed its checksum (Pram.readable). */
  readable(pfn: number): number;
  /** The page changed or left: a cached run holding it is forgotten, its unverified members verified first (Pram.forgetRun). */
  forgetRun(pfn: number): void;
  /** A Frozen or Pinned page the fs no longer uses: freed after the next commit (Frozen), else at its last unpin. */
  retire(pfn: number): void;
}

export class DataPages {
  /** allocRun found no run when this many pages were free (-1: it did): it tries again once more are. */
  private noRunAt = -1;

  constructor(
    private readonly mem: PhysMem,
    private readonly frames: PageFrames,
    private readonly allocator: PageAllocator,
    private readonly banned: BannedRegions,
    private readonly space: SpaceLedger,
    private readonly settler: Settler | null,
    private readonly host: DataPagesHost,
  ) {}

  /**
   * A fresh data page for the fs (Dirty: its checksum is computed at the next checkpoint). -ENOSPC when the ledger
   * cannot admit it; `fromReserve` may draw on the reserved pages (a write the kernel already acknowledged).
   */
  alloc(hint?: number, opts: { fromReserve?: boolean } = {}): number {
    if (this.space.charge(1, { data: 1 }, opts) < 0) return -ENOSPC;
    const pfn = this.allocator.alloc(Owner.Data, hint);
    if (this.allocator.heldCount > 0) this.allocator.releaseHeld();   // banned pages passed over (rare): back to the pool
    assert(pfn >= 0, 'an admitted page is there to take');
    this.frames.flags[pfn] = PageFlag.Dirty;
    this.settler?.dirty(pfn);
    return pfn;
  }

  /**
   * count fresh data pages at consecutive pfns (alloc's, in one step: one charge, one search); the first pfn, or < 0
   * when the ledger has no room for them all or no such run is free (the caller takes pages one by one then).
   */
  allocRun(hint: number, count: number): number {
    // A search that found no run scanned the whole pool: not again until pages come back to it.
    if (this.allocator.freeCount <= this.noRunAt) return -ENOSPC;
    if (this.space.charge(count, { data: count }) < 0) return -ENOSPC;   // not from the reserve: undone exactly below
    const pfn = this.allocator.allocRun(Owner.Data, count, hint);
    if (this.allocator.heldCount > 0) this.allocator.releaseHeld();
    if (pfn < 0) { this.space.adjust({ data: -count }); this.noRunAt = this.allocator.freeCount; return -ENOSPC; }
    this.noRunAt = -1;
    this.frames.flags.fill(PageFlag.Dirty, pfn, pfn + count);
    this.settler?.dirtyRun(pfn, count);
    return pfn;
  }

  /** The fs no longer uses this page. A page of the committed checkpoint stays until the next commit. */
  release(pfn: number): void {
    this.host.forgetRun(pfn);
    this.space.adjust({ data: -1, copies: this.banned.contains(pfn) ? -1 : 0 });
    if (this.frames.flags[pfn]! & (PageFlag.Frozen | PageFlag.Pinned)) this.host.retire(pfn);
    else { this.allocator.free(pfn); this.space.refill(); }
  }

  /**
   * The pfn the fs may write: the page itself, or a copy when it belongs to the committed checkpoint or is pinned
   * under a view. `whole`: the caller overwrites the entire page, so the old content is neither copied nor verified
   * (a damaged page heals) -- but an unverified run holding it is verified first: the run's checksum is the only one its other pages have.
   */
  writable(pfn: number, whole = false, opts: { fromReserve?: boolean } = {}): number {
    const f = this.frames.flags[pfn]!;
    if (!whole && f & (PageFlag.Unverified | PageFlag.Bad)) {
      const r = this.host.readable(pfn);
      if (r < 0) return r;
    }
    this.host.forgetRun(pfn);
    if (!(this.frames.flags[pfn]! & (PageFlag.Frozen | PageFlag.Pinned))) {
      if (!(this.frames.flags[pfn]! & PageFlag.Dirty)) this.settler?.dirty(pfn);
      this.frames.flags[pfn] = (this.frames.flags[pfn]! & ~(PageFlag.Bad | PageFlag.Unverified)) | PageFlag.Dirty;
      return pfn;
    }
    // The copy is a new page; the original waits for the next commit (it counts as returning).
    if (this.space.charge(1, this.banned.contains(pfn) ? COPY_OF_BANNED : NO_COPY, opts) < 0) return -ENOSPC;
    const copy = this.allocator.alloc(Owner.Data, pfn + 1);
    if (this.allocator.heldCount > 0) this.allocator.releaseHeld();
    assert(copy >= 0, 'an admitted copy is there to take');
    if (!whole) copyPage(this.mem, pfn, copy);   // through the fd when there is one: no page faulted in
    this.frames.flags[copy] = PageFlag.Dirty | (this.frames.flags[pfn]! & PageFlag.Lru);
    this.settler?.dirty(copy);
    this.host.retire(pfn);   // Frozen: after the next commit; pinned: a view still shows it
    return copy;
  }
}
