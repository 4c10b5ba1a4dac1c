// Content of regular files and symlinks, small or paged. A file of at most
// INLINE_MAX bytes (format/inline.ts) keeps them in the heap (`inline`), not in
// arena pages: a tiny file costs bytes beside its inode, not a page. Every
// content operation here takes either form and hands a paged file to file.ts.
//
// An inline file becomes paged, first, when a write, truncate or fallocate
// would take it past INLINE_MAX, or when fallocate must keep room past its end
// (KEEP_SIZE). Shrinking a paged file keeps it paged, except to size 0 (no
// pages left: it is inline again, so `open(O_TRUNC)` + a small write gives a
// small file). An inline buffer is never written after it is set: each change
// makes a new one, so the engine may keep what toImages handed it, and a view
// is a copy that no later write changes.
//
// The ledger counts each non-empty inline file once (TreeShape.inline: a v2
// chain writes it into a data page) and its bytes, 8-aligned, in the INODE
// record a v3 log writes (TreeShape.bytes); growth is admitted before it is made.
import { INLINE_MAX } from '../format/inline.js';
import { inlineRecordBytes } from '../format/v3.js';
import { EFBIG, EINVAL, ENOSPC, ENXIO, EOPNOTSUPP } from '../format/errno.js';
import {
  dropPages, fallocateData, readInto, seekData, setSize, viewData, writeData, type FileData, type PageCache,
} from './file.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MAX_FILE_BYTES, SEEK_DATA, SEEK_HOLE } from './mode.js';

/** A file's content in either form: `inline` non-null (pages empty, size = its length) or in pages. */
export interface Content extends FileData {
  inline: Buffer | null;
  /** Pages held, known without asking for the map (an inode's loaded pages may wait for their adoption: inode.ts). */
  readonly pageCount?: number;
}

/** The bytes of an empty file (shared: an inline buffer is never written). */
export const NO_BYTES: Buffer = Buffer.alloc(0);

function validPos(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** What inline bytes cost in the ledger: a node counted inline and their bytes in its INODE record (none when empty). */
function costOf(b: Buffer | null): { inline: number; bytes: number } {
  return b !== null && b.length > 0 ? { inline: 1, bytes: inlineRecordBytes(b.length) } : { inline: 0, bytes: 0 };
}

/** The ledger gives back what `b` cost (the file emptied, moved to pages or went). */
function uncharge(pc: PageCache, b: Buffer | null): void {
  const c = costOf(b);
  if (c.inline === 0) return;
  pc.engine.space.adjust({ inline: -1, bytes: -c.bytes });
  pc.engine.space.refill();
}

/** Make `bytes` the file's inline content: the ledger admits growth (more record bytes), or -ENOSPC and nothing changes. */
function setInline(pc: PageCache, f: Content, bytes: Buffer): number {
  const next = costOf(bytes), prev = costOf(f.inline);
  // Both move the same way: a count changes only between empty and not, and non-empty bytes cost at least 8.
  const delta = { inline: next.inline - prev.inline, bytes: next.bytes - prev.bytes };
  if (delta.bytes > 0 && pc.engine.space.charge(0, delta, { fromReserve: pc.fromReserve }) < 0) return -ENOSPC;
  f.inline = bytes;
  f.size = bytes.length;
  if (delta.bytes < 0) { pc.engine.space.adjust(delta); pc.engine.space.refill(); }
  return 0;
}

/** Move inline bytes into pages (page 0): 0, or -errno with the file unchanged. */
export function toPages(pc: PageCache, f: Content): number {
  const bytes = f.inline;
  if (bytes === null) return 0;
  f.inline = null;
  if (bytes.length === 0) return 0;
  // Same cost to the next chain (one page, one entry): give the inline cost back, then take the page.
  const cost = costOf(bytes);
  pc.engine.space.adjust({ inline: -cost.inline, bytes: -cost.bytes });
  const n = writeData(pc, f, 0, bytes);
  if (n === bytes.length) return 0;
  dropPages(pc, f, 0, Infinity);
  f.inline = bytes;
  pc.engine.space.adjust(cost);    // admitted before; the page it would have taken is back
  return n < 0 ? n : -ENOSPC;
}

/** After a paged operation: a file left with nothing (size 0, no pages) is inline again. */
function settle(f: Content, r: number): number {
  if (f.inline === null && f.size === 0 && f.pages.count === 0) f.inline = NO_BYTES;
  return r;
}

/** Everything the file holds goes (eviction): its pages, or its count in the ledger. */
export function dropContent(pc: PageCache, f: Content): void {
  if (f.inline !== null) {
    uncharge(pc, f.inline);
    f.inline = NO_BYTES;
    return;
  }
  dropPages(pc, f, 0, Infinity);
}

/** Count a loaded file's inline bytes in the ledger (admitted already: it was saved). */
export function chargeLoaded(pc: PageCache, f: Content): void {
  const cost = costOf(f.inline);
  if (cost.inline > 0) pc.engine.space.adjust(cost);
}

/** 512-byte blocks for stat: pages for a paged file; an inline file shows the blocks its bytes would fill (0 when empty). */
export function blocksOf(f: Content, pageSize: number): number {
  return f.inline !== null ? Math.ceil(f.inline.length / 512) : (f.pageCount ?? f.pages.count) * (pageSize / 512);
}

/** Bytes in [off, off + len) clipped at EOF, or -EINVAL; as file.ts checks. */
function span(f: Content, off: number, len: number): number {
  if (!validPos(off) || !validPos(len)) return -EINVAL;
  return off >= f.size ? 0 : Math.min(len, f.size - off);
}

export function readContent(pc: PageCache, f: Content, off: number, target: Uint8Array, at: number, len: number): number {
  if (f.inline === null) return readInto(pc, f, off, target, at, len);
  if (!validPos(at) || !validPos(len) || at + len > target.length) return -EINVAL;
  const n = span(f, off, len);
  if (n > 0) f.inline.copy(target, at, off, off + n);
  return n;
}

/** Views (file.ts viewData); an inline file's is a copy, pinned by nothing. */
export function viewContent(pc: PageCache, f: Content, off: number, len: number, out: Buffer[], shown?: (pfn: number, count: number) => void): number {
  if (f.inline === null) return viewData(pc, f, off, len, out, shown);
  const n = span(f, off, len);
  if (n > 0) out.push(Buffer.from(f.inline.subarray(off, off + n)));
  return n;
}

export function writeContent(pc: PageCache, f: Content, off: number, data: Uint8Array): number {
  if (f.inline === null) return writeData(pc, f, off, data);
  if (!validPos(off)) return -EINVAL;
  const n = data.length;
  if (n === 0) return 0;
  if (off + n > MAX_FILE_BYTES) return -EFBIG;
  if (off + n > INLINE_MAX) {
    const r = toPages(pc, f);
    return r < 0 ? r : settle(f, writeData(pc, f, off, data));
  }
  const next = Buffer.alloc(Math.max(f.size, off + n));
  f.inline.copy(next);
  next.set(data, off);
  const r = setInline(pc, f, next);
  return r < 0 ? r : n;
}

export function setContentSize(pc: PageCache, f: Content, size: number): number {
  if (f.inline === null) return settle(f, setSize(pc, f, size));
  if (!Number.isSafeInteger(size) || size < 0) return size > MAX_FILE_BYTES ? -EFBIG : -EINVAL;
  if (size > INLINE_MAX) {
    const r = toPages(pc, f);
    return r < 0 ? r : setSize(pc, f, size);
  }
  if (size === f.size) return 0;
  const next = size === 0 ? NO_BYTES : Buffer.alloc(size);
  f.inline.copy(next, 0, 0, Math.min(size, f.size));
  return setInline(pc, f, next);
}

/**
 * fallocate: mode 0 within INLINE_MAX extends the inline bytes with zeros;
 * PUNCH_HOLE zeroes them (an inline file has no holes); a range already
 * stored needs nothing; anything else (room kept past EOF, past INLINE_MAX)
 * moves the file to pages and asks file.ts.
 */
export function fallocateContent(pc: PageCache, f: Content, mode: number, off: number, len: number): number {
  if (f.inline === null) return fallocateData(pc, f, mode, off, len);
  if (!validPos(off) || !Number.isSafeInteger(len) || len <= 0) return -EINVAL;
  if (off + len > MAX_FILE_BYTES) return -EFBIG;
  const end = off + len;
  if (mode === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
    if (off >= f.size) return 0;
    const next = Buffer.from(f.inline);
    next.fill(0, off, Math.min(end, f.size));
    f.inline = next;
    return 0;
  }
  if (mode !== 0 && mode !== FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
  if (end <= f.size) return 0;
  if (mode === 0 && end <= INLINE_MAX) {
    const next = Buffer.alloc(end);
    f.inline.copy(next);
    return setInline(pc, f, next);
  }
  const r = toPages(pc, f);
  return r < 0 ? r : settle(f, fallocateData(pc, f, mode, off, len));
}

/** SEEK_DATA/SEEK_HOLE: an inline file is data from 0 to its end. */
export function seekContent(pc: PageCache, f: Content, off: number, whence: number): number {
  if (f.inline === null) return seekData(pc, f, off, whence);
  if (whence !== SEEK_DATA && whence !== SEEK_HOLE) return -EINVAL;
  if (!Number.isSafeInteger(off) || off < 0 || off >= f.size) return -ENXIO;
  return whence === SEEK_DATA ? off : f.size;
}
