// The v3 engine's log (docs/FORMAT.md §v3): which log is committed, and the
// two ways a commit changes it — an append of a change set's records after the
// committed tail, or a compaction that writes a fresh log of the whole tree and
// makes it current (the old log's pages are then freed by pram.ts, like an old
// v2 chain). Either way the records are made durable (msync) before the header
// slot that names the new tail is written and made durable.

import type { PhysMem } from '../mem/physmem.js';
import type { PageAllocator } from '../boot/allocator.js';
import type { SlotLog } from '../format/header.js';
import { LOG_HEADER, LOG_NEXT, MAP_SIZE, RECORD_HEADER } from '../format/v3.js';
import type { TreeShape } from './ledger.js';
import { LogWriter, tailPfn, type LogCursor } from './log.js';
import type { Emitted } from './records.js';

/** A handoff that can name a v3 log (the arena header's slots, extension 2). */
export interface LogHandoff {
  commitLog(headPfn: number, generation: number, log: SlotLog): void;
  pending?: { pages: number; nodes: number };
}

/** Compaction is due when the log holds more than twice what a fresh one took, plus this. */
export const COMPACT_FLOOR_BYTES = 1 << 20;

export interface Published { head: number; newPages: number[]; oldPages: number[] }

export class LiveLog {
  private readonly writer: LogWriter;
  /** Stream bytes of the last compaction (what a fresh log takes, as of then). */
  private compactBytes = 0;

  /** cursor: the committed log (from the load), or null when the current image is not a v3 log. */
  constructor(private readonly mem: PhysMem, allocator: PageAllocator, private readonly handoff: LogHandoff, public cursor: LogCursor | null) {
    this.writer = new LogWriter(mem, allocator);
    if (cursor) this.compactBytes = cursor.bytes;
  }

  /**
   * The committed log found at mount. It counts as compact as mounted, so the
   * first change after a mount appends (a baseline of 0 made every mount's first
   * commit rewrite the whole tree); the log may then grow to twice that plus the floor.
   */
  adopt(cursor: LogCursor): void {
    this.cursor = cursor;
    this.compactBytes = cursor.bytes;
  }

  /** The next commit must write a fresh log: none yet, or this one has grown past twice a fresh one. */
  dueForCompaction(): boolean {
    return this.cursor === null || this.cursor.bytes > 2 * this.compactBytes + COMPACT_FLOOR_BYTES;
  }

  /** Log pages an append of `bytes` takes beyond the tail page. */
  appendPages(bytes: number): number {
    if (!this.cursor) return Infinity;
    const room = this.mem.pageSize - LOG_NEXT - this.cursor.tailOff;
    return bytes <= room ? 0 : Math.ceil((bytes - room) / (this.mem.pageSize - LOG_HEADER - LOG_NEXT));
  }

  /** Append and publish; the log pages taken (to free at the next compaction), or -ENOSPC. */
  append(e: Emitted, generation: number): Published | number {
    const cur = this.cursor!;
    const next = this.writer.append(cur, e.records);
    if (typeof next === 'number') return next;
    this.publish(next, generation, e);
    return { head: next.pages[0]!, newPages: next.pages.slice(cur.pages.length), oldPages: [] };
  }

  /** Write a fresh log (log id = this generation) and publish it; the old log's pages are the caller's to free. */
  compact(e: Emitted, generation: number): Published | number {
    const fresh = this.writer.begin(generation);
    if (typeof fresh === 'number') return fresh;
    const next = this.writer.append(fresh, e.records);
    if (typeof next === 'number') { this.writer.abandon(fresh); return next; }
    return this.publishFresh(next, generation, e);
  }

  // A compaction in slices (slices.ts): a fresh log begun, extended, then published or dropped.
  begin(logId: number): LogCursor | number { return this.writer.begin(logId); }
  extend(cur: LogCursor, records: readonly Buffer[]): LogCursor | number { return this.writer.append(cur, records); }
  drop(cur: LogCursor): void { this.writer.abandon(cur); }

  /** Makes a fresh log current; the old log's pages are the caller's to free. */
  publishFresh(next: LogCursor, generation: number, e: Emitted): Published {
    const old = this.cursor?.pages ?? [];
    this.publish(next, generation, e);
    this.compactBytes = next.bytes;
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
