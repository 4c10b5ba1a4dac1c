// A large write in two steps (a FUSE WRITE of 64 KiB or more): the whole pages
// it covers are taken fresh, outside the file's page map, and filled through
// the arena's fd by a pool thread while the main thread serves other requests;
// once they are filled, install() applies the write as write() would apply it
// at that moment (the partial head and tail pages are written then, the whole
// pages swapped into the map, the size and the old pages settled). Until then
// nothing shows the write: a read, truncate or write meanwhile sees and changes
// the file as it was, and the staged write lands after them, which is an order
// the caller allowed (the write has not returned). No page the file shows is
// ever written by another thread, so nothing needs pinning; a staged page
// settled (checksummed) while it was filled is made Dirty again at install.
import { assert } from '../format/assert.js';
import { writeData, type PageCache } from './file.js';
import { toPages, type Content } from './inline.js';
import { contentOf, type Inode } from './inode.js';
import type { InodeTable } from './table.js';
import { MAX_FILE_BYTES } from './mode.js';

/** Whole pages a write must cover to be staged: below that the thread hop costs more than the copy. */
export const STAGED_PAGES_MIN = 16;

export interface StagedWrite {
  readonly off: number;
  readonly data: Uint8Array;
  /** Index of the first whole page; pfns[k] is staged for page first + k. */
  readonly first: number;
  readonly pfns: number[];
}

/** One pwrite: data[at, at + bytes) to byte pos of the arena (consecutive staged pfns). */
export interface StagedRun { pos: number; at: number; bytes: number }

/** Fresh pages for the whole pages of the write, or null (too few, or no room: write at once, which reports ENOSPC/EFBIG). */
export function stage(pc: PageCache, off: number, data: Uint8Array): StagedWrite | null {
  const ps = pc.pageSize;
  if (!Number.isSafeInteger(off) || off < 0 || off + data.length > MAX_FILE_BYTES) return null;
  const first = Math.ceil(off / ps), end = Math.floor((off + data.length) / ps);
  if (end - first < STAGED_PAGES_MIN) return null;
  const pfns: number[] = [];
  for (let i = first; i < end; i++) {
    const pfn = pc.engine.allocData(pc.lastPfn + 1, { fromReserve: pc.fromReserve });
    if (pfn < 0) { for (const p of pfns) pc.engine.release(p); return null; }
    pfns.push(pfn);
    pc.lastPfn = pfn;
  }
  return { off, data, first, pfns };
}

/** The pwrites that fill a staged write: one per run of consecutive pfns. */
export function stagedRuns(w: StagedWrite, ps: number): StagedRun[] {
  const runs: StagedRun[] = [];
  const at0 = w.first * ps - w.off;
  for (let k = 0; k < w.pfns.length;) {
    let n = 1;
    while (k + n < w.pfns.length && w.pfns[k + n] === w.pfns[k]! + n) n++;
    runs.push({ pos: w.pfns[k]! * ps, at: at0 + k * ps, bytes: n * ps });
    k += n;
  }
  return runs;
}

/**
 * Stage the write and fill its pages on pool threads (mem.writeAtLater);
 * `filled` runs once every pwrite returned (never synchronously), with
 * whether all wrote every byte. False: not staged, nothing done.
 */
export function stageAndFill(pc: PageCache, off: number, data: Uint8Array, filled: (w: StagedWrite, ok: boolean) => void): boolean {
  const mem = pc.mem;
  if (!mem.writeAtLater) return false;
  const w = stage(pc, off, data);
  if (!w) return false;
  const runs = stagedRuns(w, pc.pageSize);
  let left = runs.length, all = true;
  const landed = (ok: boolean): void => { all &&= ok; if (--left === 0) filled(w, all); };
  for (const r of runs) {
    if (!mem.writeAtLater(r.pos, data, r.at, r.bytes, landed)) queueMicrotask(() => landed(false));
  }
  return true;
}

/** Give the staged pages back (the fill failed, or the file is gone). */
export function unstage(pc: PageCache, w: StagedWrite): void {
  for (const p of w.pfns) pc.engine.release(p);
}

/**
 * Apply a filled staged write to the file as it is now: bytes written (short
 * when the tail found no room), or -errno with nothing written and the staged
 * pages given back.
 */
export function install(pc: PageCache, f: Content, w: StagedWrite): number {
  const ps = pc.pageSize;
  const headBytes = w.first * ps - w.off;
  const wholeEnd = headBytes + w.pfns.length * ps;
  if (f.inline !== null) {
    const r = toPages(pc, f);
    if (r < 0) { unstage(pc, w); return r; }
  }
  if (headBytes > 0) {
    const r = writeData(pc, f, w.off, w.data.subarray(0, headBytes));
    if (r < headBytes) { unstage(pc, w); return r; }   // short or -errno: the whole pages are not written
  }
  for (let k = 0; k < w.pfns.length; k++) {
    const pfn = w.pfns[k]!;
    // Dirty again (a settling step may have checksummed it before it was filled): never Frozen nor pinned, so itself.
    assert(pc.engine.writable(pfn, true, { fromReserve: pc.fromReserve }) === pfn, 'a staged page is written in place');
    const old = f.pages.get(w.first + k);
    f.pages.set(w.first + k, pfn);
    if (old !== 0) pc.engine.release(old);
  }
  wroteStaged(pc, w, headBytes);
  let done = wholeEnd;
  if (wholeEnd < w.data.length) {
    const r = writeData(pc, f, w.off + wholeEnd, w.data.subarray(wholeEnd));
    if (r > 0) done += r;
  }
  if (w.off + done > f.size) f.size = w.off + done;
  return done;
}

/**
 * The staged pages hold the write's bytes and nothing since: their checksums from those bytes (no read-back), a run at a
 * time. Sound because w.data did not change since the fill (writeAtLater's contract; FUSE holds the request's buffer).
 */
function wroteStaged(pc: PageCache, w: StagedWrite, headBytes: number): void {
  if (!pc.engine.written) return;
  for (let k = 0; k < w.pfns.length;) {
    let n = 1;
    while (k + n < w.pfns.length && w.pfns[k + n] === w.pfns[k]! + n) n++;
    pc.engine.written(w.pfns[k]!, n, w.data, headBytes + k * pc.pageSize);
    k += n;
  }
}

/**
 * A write of a large run in two steps: the whole pages it covers filled through
 * the arena's fd on pool threads, then `landed` (never synchronously) applies it
 * with installStaged. False: not staged (small, no fd, no room), nothing done.
 */
export function writeLater(pc: PageCache, off: number, data: Uint8Array, fromReserve: boolean, landed: (w: StagedWrite, filled: boolean) => void): boolean {
  pc.fromReserve = fromReserve;
  try { return stageAndFill(pc, off, data, landed); } finally { pc.fromReserve = false; }
}

/**
 * Apply a landed staged write to `node` as it is now, as a write at that moment
 * would apply (times touched); when the fill failed the staged pages go back and
 * `write` writes the bytes through the mapping instead. `node` -errno: it is gone.
 */
export function installStaged(t: InodeTable, pc: PageCache, node: Inode | number, w: StagedWrite, filled: boolean, fromReserve: boolean,
  write: () => number): number {
  if (typeof node === 'number' || !filled) {
    unstage(pc, w);
    return typeof node === 'number' ? node : write();
  }
  pc.fromReserve = fromReserve;
  let r: number;
  try { r = install(pc, contentOf(node), w); } finally { pc.fromReserve = false; }
  if (r > 0) t.touch(node, 'm');
  return r;
}
