// The v3 engine's log (docs/FORMAT.md §v3): which log is committed, and the
// two ways a commit changes it — an append of a change set's records after the
// committed tail, or a compaction that writes a fresh log of the whole tree and
// makes it current (the old log's pages are then freed by pram.ts, like an old
// v2 chain). Either way the records are made durable (msync) before the header
// slot that names the new tail is written and made durable.

import type { PhysMem } from '../mem/physmem.js';
import type { PageAllocator } from '../boot/allocator.js';
import type { SlotLog } from '../format/header.js';
import { LOG_HEADER, LOG_NEXT, MAP_SIZE, RECORD_HEADER, type RecordOut } from '../format/v3.js';
import type { TreeShape } from './ledger.js';
import { LogWriter, tailPfn, type LogCursor } from './log.js';
import type { Emitted } from './records.js';
import { assert } from '../format/assert.js';

/** A handoff that can name a v3 log (the arena header's slots, extension 2). */
export interface LogHandoff {
  commitLog(headPfn: number, generation: number, log: SlotLog): void;
  pending?: { pages: number; nodes: number };
}

/**
 * Compaction is due when the records after the compacted part (the tail) are
 * more than that part plus this: the floor keeps a tiny log from compacting at
 * every few commits. Low, because a lazy mount reads and applies the tail: 64 KiB
 * is a few ms of it, 1 MiB was ~100 ms, and compacting a small tree costs as little.
 * This rule alone bounds the tail: a lazy mount takes any tail the log holds over
 * its index (never more to read than the whole replay: tail.ts), so the mount and
 * this rule cannot disagree about which tails may stand.
 */
export const COMPACT_FLOOR_BYTES = 64 << 10;

/**
 * Old-log pages a commit gives back after a compaction (allocator.freeLater): a
 * million files' log is tens of thousands of pages, freed over the next commits
 * (an allocation short of pages pools the rest itself).
 */
export const OLD_LOG_STEP = 2048;

/**
 * newPages: an append's pages, or a fresh log's own page list (the cursor's: later appends grow it); sidePages: the
 * pages an append took outside the chain (its ATIMES_PAGES records'), the log's until the next compaction.
 */
export interface Published { head: number; newPages: number[]; oldPages: number[]; sidePages?: number[] }

export class LiveLog {
  /** Writes records in place; one session at a time (an append, a compaction or one of its slices). */
  readonly writer: LogWriter;
  /**
   * Stream bytes of the compacted part of the log: what the last compaction
   * wrote (this process), or at mount the bytes up to the end of its index's
   * RUNS (0 when the log has none: all of it is tail).
   */
  private compactBytes = 0;
  /**
   * Bytes of the pages the tail's ATIMES_PAGES records name (v3 minor 6): counted as tail bytes by the due rule,
   * as the ATIMES records they stand for were (the pages are the log's until the next compaction).
   */
  private sideBytes = 0;
  private readonly pageSize: number;

  /** cursor: the committed log (from the load), or null when the current image is not a v3 log. */
  constructor(mem: PhysMem, allocator: PageAllocator, private readonly handoff: LogHandoff, public cursor: LogCursor | null) {
    this.writer = new LogWriter(mem, allocator);
    this.pageSize = mem.pageSize;
    if (cursor) this.compactBytes = cursor.bytes;
  }

  /**
   * The committed log found at mount; `compacted`: the stream bytes up to the
   * end of its compaction's index (RUNS), 0 without one (a log of before v3
   * minor 3, or a compaction written without its index for room). What follows
   * is the tail a lazy mount must replay over the index: once it outweighs the
   * compacted part the next commit compacts, so the image gets its index back
   * (a mount that took the whole log as compact never wrote one: an image built
   * by one large append was replayed whole at every mount).
   */
  adopt(cursor: LogCursor, compacted: number, sidePages = 0): void {
    if (!(compacted >= 0 && compacted <= cursor.bytes)) assert(false, 'the compacted part lies inside the log');
    this.cursor = cursor;
    this.compactBytes = compacted;
    this.sideBytes = sidePages * this.pageSize;
  }

  /**
   * The next commit must write a fresh log: none yet, or its tail (of `bytes`,
   * the committed log's by default; a commit passes its append's end) is more
   * than the compacted part plus the floor.
   */
  dueForCompaction(bytes = this.cursor?.bytes ?? 0): boolean {
    return this.cursor === null || bytes + this.sideBytes - this.compactBytes > this.compactBytes + COMPACT_FLOOR_BYTES;
  }

  /**
   * A commit whose records take at least `appended` stream bytes writes a compaction whole now: due
   * with them counted, and no driver for slices, the unmount's commit (`closing`), or the change
   * larger than the committed log (the compaction then costs what the append would: O(change)).
   */
  compactsWhole(appended: number, driven: boolean, closing: boolean): boolean {
    const committed = this.cursor?.bytes ?? 0;
    return this.dueForCompaction(committed + appended) && (!driven || closing || appended > committed);
  }

  /** Stream bytes of the log with the open append's records (after endAppend(): where the append ends), and its ATIMES_PAGES records' pages. */
  get appendEnd(): number { return this.writer.streamPos + this.writer.side.length * this.pageSize; }

  /**
   * An append: records are written through the RecordOut returned, in place
   * after the committed tail; then endAppend() says whether every page it needed
   * was taken, and publishAppend() or dropAppend() ends it.
   */
  openAppend(): RecordOut { return this.writer.open(this.cursor!); }

  /** 0, or -ENOSPC (the append's pages are given back already). */
  endAppend(): number { return this.writer.close(); }

  /** Publishes the append (ended with 0). */
  publishAppend(generation: number, e: Emitted): Published {
    const cur = this.cursor!, sidePages = this.writer.side.slice(), newPages = this.writer.apply();
    this.sideBytes += sidePages.length * this.pageSize;
    this.publish(cur, generation, e);
    return { head: cur.pages[0]!, newPages, oldPages: [], sidePages };
  }

  /** The append is not published: its pages go back (its bytes past the committed tail are never read). */
  dropAppend(): void { this.writer.rollback(); }

  /** A fresh log (log id = this generation) opened for its records, or -ENOSPC. */
  openFresh(logId: number): LogCursor | number {
    const fresh = this.writer.begin(logId);
    if (typeof fresh !== 'number') this.writer.open(fresh);
    return fresh;
  }

  /** The records written since openFresh() / extendFresh() join the fresh log: 0, or -ENOSPC (the fresh log is the caller's to drop). */
  closeFresh(): number {
    const r = this.writer.close();
    if (r === 0) this.writer.apply();
    return r;
  }

  /** A fresh log being written in slices (slices.ts) is opened again after its tail. */
  extendFresh(fresh: LogCursor): RecordOut { return this.writer.open(fresh); }

  /** A log never published: its pages go back. */
  drop(fresh: LogCursor): void { this.writer.abandon(fresh); }

  /** Makes a fresh log (closed) current; the old log's pages are the caller's to free. */
  publishFresh(next: LogCursor, generation: number, e: Emitted): Published {
    const old = this.cursor?.pages ?? [];
    this.publish(next, generation, e);
    this.compactBytes = next.bytes;
    this.sideBytes = 0;
    return { head: next.pages[0]!, newPages: next.pages, oldPages: old };
  }

  private publish(next: LogCursor, generation: number, e: Emitted): void {
    // Informational (pram info): log pages, and the nodes this commit wrote (a compaction: all of them).
    if (this.handoff.pending) { this.handoff.pending.pages = next.pages.length; this.handoff.pending.nodes = e.nodes; }
    this.handoff.commitLog(next.pages[0]!, generation, { tailPfn: tailPfn(next), tailOff: next.tailOff, logPages: next.pages.length });
    this.cursor = next;
  }
}

/**
 * The v3 cost model for the space ledger: log pages a compaction of a tree of
 * this shape writes. Records are packed byte by byte across pages, so the
 * cost is the metadata's record bytes (an INODE per node with its xattrs and
 * inline bytes, a NAME per name: fs/ counts them exactly) and at most one MAP
 * per data page; an append is only made when the room left still admits this.
 */
export function logPagesFor(shape: Readonly<TreeShape>, pageSize: number): number {
  const bytes = shape.bytes + (shape.data + shape.copies) * (RECORD_HEADER + MAP_SIZE);
  return Math.ceil(bytes / (pageSize - LOG_HEADER - LOG_NEXT)) + 1;
}
