// The v3 log writer (docs/FORMAT.md §v3): appends framed records after the
// committed tail, taking new log pages as the stream crosses into them. Bytes
// at or before the committed tail are never written again: a page's header is
// written once when the page is taken, the next pointer (the page's last 8
// bytes, outside the stream) before the stream crosses into the next page. So
// a process killed at any instant leaves the committed log intact; publishing
// the new tail (the header slot) is the commit, done by the caller.

import type { PhysMem } from '../mem/physmem.js';
import type { PageAllocator } from '../boot/allocator.js';
import { Owner } from '../boot/frames.js';
import { ENOSPC } from '../format/errno.js';
import { LOG_HEADER, LOG_NEXT, writeLogHeader, writeNext } from '../format/v3.js';

/** Where a log stands: its pages in order and the end of its stream. */
export interface LogCursor {
  logId: number;       // generation of the compaction that began the log
  pages: number[];     // log pages in stream order; pages[0] is the head
  tailOff: number;     // stream end in the last page (bytes from the page start)
  bytes: number;       // stream bytes written (records), for the compaction trigger
}

export const tailPfn = (c: LogCursor): number => c.pages[c.pages.length - 1]!;

export class LogWriter {
  constructor(private readonly mem: PhysMem, private readonly allocator: PageAllocator) {}

  /** A new, empty log: its head page taken and its header written. -ENOSPC when no page is free. */
  begin(logId: number): LogCursor | number {
    const head = this.allocator.alloc(Owner.Meta);
    this.allocator.releaseHeld();
    if (head < 0) return -ENOSPC;
    const page = this.mem.page(head);
    writeLogHeader(page, { logId, seq: 0, first: LOG_HEADER });
    writeNext(page, 0);
    return { logId, pages: [head], tailOff: LOG_HEADER, bytes: 0 };
  }

  /**
   * Appends the records after the cursor's tail: the advanced cursor (a new
   * object), or -ENOSPC with every page this call took given back (the bytes
   * written past the committed tail are never read: the slot bounds the walk).
   */
  append(cur: LogCursor, records: readonly Buffer[]): LogCursor | number {
    const ps = this.mem.pageSize, end = ps - LOG_NEXT;
    const pages = [...cur.pages];
    let page = this.mem.page(pages[pages.length - 1]!);
    let off = cur.tailOff, bytes = cur.bytes;
    for (const rec of records) {
      let at = 0;
      while (at < rec.length) {
        if (off === end) {
          const next = this.allocator.alloc(Owner.Meta);
          if (next < 0) { this.giveBack(pages.slice(cur.pages.length)); return -ENOSPC; }
          // The first record boundary in the new page is known now: after what is left of this record.
          const firstOff = LOG_HEADER + (at === 0 ? 0 : rec.length - at);
          const np = this.mem.page(next);
          writeLogHeader(np, { logId: cur.logId, seq: pages.length, first: firstOff < end ? firstOff : 0 });
          writeNext(np, 0);
          writeNext(page, next);
          pages.push(next);
          page = np; off = LOG_HEADER;
        }
        const n = Math.min(rec.length - at, end - off);
        rec.copy(page, off, at, at + n);
        at += n; off += n;
      }
      bytes += rec.length;
    }
    this.allocator.releaseHeld();
    return { logId: cur.logId, pages, tailOff: off, bytes };
  }

  /** A log never published: its pages go back. */
  abandon(cur: LogCursor): void { this.giveBack(cur.pages); }

  private giveBack(pages: number[]): void {
    this.allocator.releaseHeld();
    for (const p of pages) this.allocator.free(p);
  }
}
