// The space ledger: pages are promised before they are taken, so a durable
// step never fails for lack of room. It keeps the shape of the tree as the
// next durable step will write it (records, data pages, copies of banned
// pages, files held inline) and asks the format's cost model how many pages that step allocates.
// Pages are counted, not named: which pfn is allocated stays the allocator's.
//
// The rule (docs/RELIABILITY.md, "Space is reserved when it is promised"):
//
//     free >= need + max(0, need - returning) + reserved
//
// need: pages the next durable step allocates for the whole current tree (its
// new chain or log records, written before the old ones are freed); returning:
// pages that step gives back once committed (the previous checkpoint's chain
// pages and the deferred frees of pages it froze); reserved: pages promised to
// a caller that has not taken them yet (the FUSE writeback headroom). The first
// term lets the next step run; the second lets the step after it run too when
// nothing changed in between, so the rule survives its own commit. Every
// operation that grows what must be stored is admitted only if the rule still
// holds afterwards, and fails with -ENOSPC, changing nothing, if not.

import { ENOSPC } from '../format/errno.js';
import { smallInt } from '../format/smallint.js';

/** What the next durable step must write for the tree (counts, not pfns). */
export interface TreeShape {
  /** Pages of metadata records: one per node, plus its xattr and extra-name pages (a chain's cost). */
  records: number;
  /** Bytes of the same metadata as log records: an INODE per node (with its xattrs and inline bytes), a NAME per name (a log's cost). */
  bytes: number;
  /** Data pages the tree references (each one entry). */
  data: number;
  /** Data pages the step must copy (they sit in a banned region). */
  copies: number;
  /** Nodes whose content is held inline (fs/ keeps it in the heap, at most INLINE_MAX bytes). */
  inline: number;
}

/** Pages a durable step allocates for a tree of this shape (the format's cost model): it reads the shape and keeps nothing. */
export type StepCost = (shape: Readonly<TreeShape>) => number;

/** Where the ledger reads what it does not keep itself. */
export interface LedgerSource {
  /** Pages the allocator can hand out now. */
  free(): number;
  /** Pages the next durable step gives back after it commits. */
  returning(): number;
}

export class SpaceLedger {
  readonly shape: TreeShape = { records: 0, bytes: 0, data: 0, copies: 0, inline: 0 };
  /** room()'s shape as grown, filled in place: a write admits a page with no shape made for it (issue 13: garbage per write). */
  private readonly grownShape: TreeShape = { records: 0, bytes: 0, data: 0, copies: 0, inline: 0 };
  private reservedPages = 0;
  private reservedTarget = 0;

  constructor(private readonly src: LedgerSource, private readonly cost: StepCost) {}

  /** Pages the next durable step allocates for the current tree. */
  need(): number { return this.cost(this.shape); }

  /** Pages set aside for promises not yet taken. */
  get reserved(): number { return this.reservedPages; }

  /**
   * Pages still free for new promises once `take` more pages are allocated and the
   * tree grows by `grow` (negative: the rule would be broken by that much).
   */
  room(take = 0, grow: Partial<TreeShape> = NO_GROWTH): number {
    const need = this.cost(grown(this.shape, grow, this.grownShape));
    return this.src.free() - take - need - Math.max(0, need - this.src.returning()) - this.reservedPages;
  }

  /**
   * Admit an operation that allocates `take` pages now and grows the tree by
   * `grow`: 0 and the shape grown, or -ENOSPC with nothing changed. With
   * `fromReserve`, a shortfall is drawn from the reserved pages (the caller
   * holds a promise: the FUSE writeback headroom).
   */
  charge(take: number, grow: Partial<TreeShape> = NO_GROWTH, opts: { fromReserve?: boolean } = NOT_RESERVED): number {
    const r = this.room(take, grow);
    if (r < 0) {
      if (!opts.fromReserve || this.reservedPages + r < 0) return -ENOSPC;
      this.reservedPages += r;   // the promise is kept by what it set aside
    }
    this.adjust(grow);
    return 0;
  }

  /** The tree changed without a new promise (a shrink, or growth already admitted). */
  adjust(delta: Partial<TreeShape>): void {
    const s = this.shape;
    s.records = smallInt(s.records + (delta.records ?? 0));
    s.bytes = smallInt(s.bytes + (delta.bytes ?? 0));
    s.data = smallInt(s.data + (delta.data ?? 0));
    s.copies = smallInt(s.copies + (delta.copies ?? 0));
    s.inline = smallInt(s.inline + (delta.inline ?? 0));
  }

  /**
   * Keep `pages` set aside for a promise made elsewhere (the kernel's dirty
   * pages of a FUSE mount). Takes what the room allows now and tops up from
   * later room (refill()); returns the pages reserved.
   */
  reserve(pages: number): number {
    this.reservedTarget = Math.max(0, pages);
    this.reservedPages = Math.min(this.reservedPages, this.reservedTarget);
    return this.refill();
  }

  /** Top the reservation back up to its target from whatever room there is. */
  refill(): number {
    const want = this.reservedTarget - this.reservedPages;
    if (want > 0) this.reservedPages += Math.max(0, Math.min(want, this.room()));
    return this.reservedPages;
  }

  /** Give the reservation up (an unmount, or the promise ended). */
  release(): void { this.reservedTarget = 0; this.reservedPages = 0; }
}

/** Defaults shared by every call: a default object literal would be a new object per call. */
const NO_GROWTH: Readonly<Partial<TreeShape>> = Object.freeze({});
const NOT_RESERVED: Readonly<{ fromReserve?: boolean }> = Object.freeze({});

/** s grown by g, written into `out` (the cost model only reads it, and keeps nothing). */
function grown(s: TreeShape, g: Partial<TreeShape>, out: TreeShape): TreeShape {
  out.records = smallInt(s.records + (g.records ?? 0));
  out.bytes = smallInt(s.bytes + (g.bytes ?? 0));
  out.data = smallInt(s.data + (g.data ?? 0));
  out.copies = smallInt(s.copies + (g.copies ?? 0));
  out.inline = smallInt(s.inline + (g.inline ?? 0));
  return out;
}
