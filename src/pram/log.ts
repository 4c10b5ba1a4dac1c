// The v3 log writer (docs/FORMAT.md §v3): records written in place after a
// log's tail, field by field straight into the log pages (format/v3.ts put*
// through RecordOut), new log pages taken as the stream crosses into them, each
// record's crc computed over the bytes written. Nothing is allocated per record
// (a Buffer per record made the garbage whose collection landed in a sync's
// p99). Bytes at or before the committed tail are never written again: a page's
// header is written once when the page is taken, the next pointer (the page's
// last 8 bytes, outside the stream) before the stream crosses into the next
// page. So a process killed at any instant leaves the committed log intact;
// publishing the new tail (the header slot) is the commit, done by the caller.

import type { PhysMem } from '../mem/physmem.js';
import type { PageAllocator } from '../boot/allocator.js';
import { Owner } from '../boot/frames.js';
import { assert } from '../format/assert.js';
import { crc32cAt } from '../format/crc.js';
import { ENOSPC } from '../format/errno.js';
import { align8, LOG_HEADER, LOG_NEXT, RECORD_HEADER, writeLogHeader, writeNext, type RecordOut, type RecordType } from '../format/v3.js';

/** Where a log stands: its pages in order and the end of its stream. */
export interface LogCursor {
  logId: number;       // generation of the compaction that began the log
  pages: number[];     // log pages in stream order; pages[0] is the head
  tailOff: number;     // stream end in the last page (bytes from the page start)
  bytes: number;       // stream bytes written (records), for the compaction trigger
}

export const tailPfn = (c: LogCursor): number => c.pages[c.pages.length - 1]!;

const HI = 2 ** 32;
/** The host's byte order: words are stored through a Uint32Array view (a store each, no bounds-checked Buffer call). */
const LE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const le32 = (v: number): number => (LE ? v : ((v & 0xff) << 24 | (v & 0xff00) << 8 | (v >>> 8) & 0xff00 | v >>> 24) >>> 0);

/** The page as 32-bit words (a page starts 4-aligned in its mapping, as every page-sized buffer does). */
function wordsOf(page: Buffer): Uint32Array {
  if (page.byteOffset % 4 !== 0) assert(false, 'a page starts 4-aligned');
  return new Uint32Array(page.buffer, page.byteOffset, page.length >>> 2);
}

/**
 * One writer per log engine. A session: open(cursor), records through the
 * RecordOut methods, close(); then apply() joins what was written to the
 * cursor, or rollback() gives the pages it took back. Sessions never overlap
 * (a commit and a compaction slice each run one, synchronously).
 */
export class LogWriter implements RecordOut {
  private cur: LogCursor | null = null;
  private page: Buffer;
  private words: Uint32Array;          // the page as words
  private off = 0;
  private readonly limit: number;               // where a page's stream ends (its next pointer follows)
  /** Pages the session took, in stream order (reused from session to session). */
  private readonly taken: number[] = [];
  /** Pages the session took outside the log's chain (ATIMES_PAGES, v3 minor 6): given back with the session's, else its caller's once published. */
  readonly side: number[] = [];
  private failed = false;
  private pos = 0;                     // stream bytes of the log, this session's included
  // The record being written: where it starts, the index in `taken` of the page after that, its framed length, its end.
  private recPage: Buffer;
  private recOff = 0;
  private recNext = 0;
  private recLen = 0;
  private recEnd = 0;
  // The record's stretch its crc skips (RecordOut.uncovered): where it starts in the record, its bytes (0: none).
  private skipAt = 0;
  private skipLen = 0;
  /** Records written in this session. */
  records = 0;
  /** Where the stream goes once a page could not be taken: the session is then only counted, never published. */
  private readonly spare: Buffer;
  private readonly scratch = Buffer.alloc(1024);
  private readonly wide = new DataView(new ArrayBuffer(8));

  constructor(private readonly mem: PhysMem, private readonly allocator: PageAllocator) {
    this.limit = mem.pageSize - LOG_NEXT;
    this.spare = Buffer.alloc(mem.pageSize);
    this.page = this.recPage = this.spare;
    this.words = wordsOf(this.spare);
  }

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

  /** Starts a session after the cursor's tail. */
  open(cur: LogCursor): RecordOut {
    if (this.cur) this.rollback();               // a session cut short by a throw: never published, its pages go back
    this.cur = cur;
    this.page = this.recPage = this.mem.page(tailPfn(cur));
    this.words = wordsOf(this.page);
    this.off = cur.tailOff;
    this.pos = this.recEnd = cur.bytes;
    this.taken.length = 0;
    this.side.length = 0;
    this.failed = false;
    this.records = 0;
    return this;
  }

  /**
   * `count` pages outside the chain for the open session (an ATIMES_PAGES record's entries), or null when fewer
   * are free beyond those the compaction may list as data (allocator.freeKept: never such a page, so a lazy mount
   * reserves them apart from the DATA runs). Consecutive pfns where the pool has them (next-fit from the last).
   */
  takeSide(count: number): number[] | null {
    if (this.failed || this.allocator.freeCount - this.allocator.keptCount - this.allocator.heldCount < count) return null;
    const got: number[] = [];
    for (let k = 0; k < count; k++) {
      const pfn = this.allocator.alloc(Owner.Meta, got.length ? got[got.length - 1]! + 1 : undefined);
      if (pfn < 0) { for (const p of got) this.allocator.free(p); return null; }
      got.push(pfn);
    }
    for (const p of got) this.side.push(p);
    return got;
  }

  /** Stream bytes of the log so far, the open session's included: where the next record starts. */
  get streamPos(): number { return this.pos; }

  /** The pfn of the open session's log page of this seq (its cursor's or one it took), -1 when none is taken yet. */
  pageAt(seq: number): number {
    const cur = this.cur!;
    return seq < cur.pages.length ? cur.pages[seq]! : this.taken[seq - cur.pages.length] ?? -1;
  }

  /**
   * The stream bytes [from, to) of this log -- whole records, written before -- copied to its end as they are
   * (headers, crcs, padding: a SPAN's uncovered crcs too), a record at a time, so each page taken says where its
   * first record starts (v3 minor 5: the second copy of a publish step).
   */
  copy(from: number, to: number): void {
    const per = this.limit - LOG_HEADER;
    for (let at = from; at < to;) {
      const len = this.streamU32(at + 8, per);
      if (this.failed || len < 0) return;          // a session that took no page for them: never published
      const total = RECORD_HEADER + align8(len);
      if (!(total <= to - at)) assert(false, `a whole record at stream byte ${at} of the copy`);
      if (this.off === this.limit) this.cross();
      this.recPage = this.page; this.recOff = this.off; this.recNext = this.taken.length;
      this.recLen = total; this.recEnd = this.pos + total; this.skipLen = 0;
      for (let p = at; p < at + total;) {
        const src = this.mem.page(this.pageAt(Math.floor(p / per))), o = LOG_HEADER + (p % per);
        const n = Math.min(at + total - p, this.limit - o);
        this.bytes(src.subarray(o, o + n));
        p += n;
      }
      this.records++;
      at += total;
    }
  }

  /** The u32 at stream byte `pos` (4-aligned: never across pages), -1 when its page was not taken. */
  private streamU32(pos: number, per: number): number {
    const pfn = this.pageAt(Math.floor(pos / per));
    return pfn < 0 ? -1 : this.mem.page(pfn).readUInt32LE(LOG_HEADER + (pos % per));
  }

  /** Pages the open session has taken beyond its cursor's tail page. */
  get pagesTaken(): number { return this.taken.length; }

  /**
   * The session's writing is done: 0, or -ENOSPC (a page could not be taken)
   * with the session ended and every page it took given back. The bytes
   * written past the committed tail are never read: the slot bounds the walk.
   */
  close(): number {
    this.allocator.releaseHeld();
    if (!this.failed) return 0;
    this.rollback();
    return -ENOSPC;
  }

  /** The session's records join its cursor (now ending where they do); the pages it took. */
  apply(): number[] {
    const cur = this.cur!, pages = this.taken.slice();
    for (const p of pages) cur.pages.push(p);
    cur.tailOff = this.off;
    cur.bytes = this.pos;
    this.cur = null;
    return pages;
  }

  /** The session is dropped: its pages go back, its cursor is as it was. */
  rollback(): void {
    for (const p of this.taken) this.allocator.free(p);
    for (const p of this.side) this.allocator.free(p);
    this.taken.length = 0;
    this.side.length = 0;
    this.cur = null;
  }

  /** A log never published: its pages go back. */
  abandon(cur: LogCursor): void {
    this.allocator.releaseHeld();
    for (const p of cur.pages) this.allocator.free(p);
  }

  // ---- RecordOut: fields straight into the log page ----

  record(type: RecordType, length: number, generation: number, flags = 0): void {
    if (this.off === this.limit) this.cross();
    this.recPage = this.page; this.recOff = this.off; this.recNext = this.taken.length;
    this.recLen = RECORD_HEADER + align8(length);
    this.recEnd = this.pos + this.recLen;
    this.skipLen = 0;
    this.u32(0);                                  // the crc, set by end()
    this.u32(type | flags << 16);                 // type, flags
    this.u32(length);
    this.u32(generation >>> 0);
  }

  u32(v: number): void {
    if (this.off === this.limit) this.cross();
    this.words[this.off >>> 2] = le32(v);
    this.off += 4; this.pos += 4;
  }

  u64(v: number): void {
    if (this.off === this.limit) this.cross();
    const lo = v >>> 0, at = this.off >>> 2;
    this.words[at] = le32(lo);
    this.words[at + 1] = le32((v - lo) / HI);
    this.off += 8; this.pos += 8;
  }

  i64(v: bigint): void {
    if (this.off === this.limit) this.cross();
    this.wide.setBigInt64(0, v, true);           // two's complement, the same bits as BigInt.asUintN(64, v)
    const at = this.off >>> 2;
    this.words[at] = le32(this.wide.getUint32(0, true));
    this.words[at + 1] = le32(this.wide.getUint32(4, true));
    this.off += 8; this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    for (let at = 0; at < b.length;) {
      if (this.off === this.limit) this.cross();
      const n = Math.min(b.length - at, this.limit - this.off);
      this.page.set(n === b.length ? b : b.subarray(at, at + n), this.off);
      at += n; this.off += n; this.pos += n;
    }
  }

  text(s: string, byteLength: number): void {
    if (this.off === this.limit) this.cross();
    if (this.limit - this.off >= byteLength) {
      this.page.write(s, this.off, byteLength, 'utf8');
      this.off += byteLength; this.pos += byteLength;
      return;
    }
    const b = byteLength <= this.scratch.length ? this.scratch : Buffer.alloc(byteLength);
    b.write(s, 0, byteLength, 'utf8');
    this.bytes(b.subarray(0, byteLength));
  }

  uncovered(v: Uint32Array, count: number): void {
    if (this.skipLen !== 0) assert(false, 'one uncovered stretch a record');
    this.skipAt = this.recLen - (this.recEnd - this.pos);
    for (let k = 0; k < count; k++) this.u32(v[k]!);
    this.skipLen = 4 * count;
  }

  end(): void {
    const pad = this.recEnd - this.pos;         // < 8, and inside this page (the stream's page ends are 8-aligned)
    if (pad > 0) { this.page.fill(0, this.off, this.off + pad); this.off += pad; this.pos += pad; }
    this.records++;
    if (this.failed) return;
    // crc32c chained over the record's bytes 4…, less the stretch it skips.
    const c = this.skipLen === 0 ? this.crcOver(4, this.recLen, 0)
      : this.crcOver(this.skipAt + this.skipLen, this.recLen, this.crcOver(4, this.skipAt, 0));
    this.recPage.writeUInt32LE(c, this.recOff);
  }

  /** crc32c from `seed` over the record's bytes [from, to), page by page. */
  private crcOver(from: number, to: number, seed: number): number {
    let left = to - from, c = seed;
    if (left <= 0) return c;
    let page = this.recPage, at = this.recOff, next = this.recNext, skip = from;
    while (skip >= this.limit - at) { skip -= this.limit - at; page = this.mem.page(this.taken[next++]!); at = LOG_HEADER; }
    at += skip;
    for (;;) {
      const n = Math.min(left, this.limit - at);
      c = crc32cAt(page, at, n, c);
      left -= n;
      if (left === 0) return c;
      page = this.mem.page(this.taken[next++]!); at = LOG_HEADER;
    }
  }

  /** The stream crosses into a new page: taken, its header written (first: after what is left of the record), linked. */
  private cross(): void {
    if (!this.failed) {
      const next = this.allocator.alloc(Owner.Meta);
      if (next >= 0) {
        const first = LOG_HEADER + (this.recEnd - this.pos);
        const np = this.mem.page(next);
        writeLogHeader(np, { logId: this.cur!.logId, seq: this.cur!.pages.length + this.taken.length, first: first < this.limit ? first : 0 });
        writeNext(np, 0);
        writeNext(this.page, next);
        this.taken.push(next);
        this.page = np; this.words = wordsOf(np); this.off = LOG_HEADER;
        return;
      }
      this.failed = true;
    }
    this.page = this.spare; this.words = wordsOf(this.spare); this.off = LOG_HEADER;
  }
}
