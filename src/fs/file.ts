// Regular-file content over the page cache: read, write, truncate, fallocate
// and SEEK_DATA/SEEK_HOLE. Pages come from the engine (allocData), are made
// writable through it (copy-on-write of checkpointed pages) and checked through
// it before a read (lazy verification). Holes are absent map slots and read as
// zeros. Persisting the pages is the engine's business, not this file's.
import { EFBIG, EINVAL, EIO, ENOSPC, ENXIO, EOPNOTSUPP } from '../format/errno.js';
import { readData, type PhysMem } from '../mem/physmem.js';
import type { RadixPageMap } from './pagemap.js';
import type { SpaceLedger } from '../pram/ledger.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MAX_FILE_BYTES, SEEK_DATA, SEEK_HOLE } from './mode.js';

/** What fs/ needs from the engine (the real one is pram/'s Pram). */
export interface PageEngine {
  /** pfn or -ENOSPC (the ledger did not admit it); content undefined. `fromReserve`: may use reserved pages. */
  allocData(hint?: number, opts?: Reserve): number;
  /** count fresh pages at consecutive pfns, the first, or < 0 (no room or no such run: take them one by one). */
  allocDataRun?(hint: number, count: number): number;
  release(pfn: number): void;
  /** pfn to write (a copy if frozen) or -errno; `whole`: every byte will be overwritten (no copy, no verify). */
  writable(pfn: number, whole?: boolean, opts?: Reserve): number;
  readable(pfn: number): number;      // 0 or -EIO
  /** How many of pfn..pfn+count-1, from the first, may be read (verifying as readable does); -EIO if not the first. */
  readableRun(pfn: number, count: number): number;
  /**
   * readableRun, but the unverified runs lying wholly in `pages` (the content of
   * pfn `from` onwards, whole pages, just copied out of the arena) are checked
   * on those bytes instead of being read again.
   */
  readableRunCopied?(pfn: number, count: number, from: number, pages: Uint8Array): number;
  /**
   * Copies `bytes` bytes of pfn..pfn+count-1 from byte inPage of the first
   * into target[to..] and checks them (as readableRun) in one step; undefined
   * when it did not (nothing to check, or not on the copy): copy and check then.
   */
  readRunInto?(pfn: number, count: number, inPage: number, target: Uint8Array, to: number, bytes: number): number | undefined;
  /**
   * pfn..pfn+count-1 now hold exactly src[at, at + count pages), each written
   * whole by the caller just now: the engine may take their checksums from
   * these bytes instead of reading the pages back.
   */
  written?(pfn: number, count: number, src: Uint8Array, at: number): void;
  /** A view shows these pages: writes go to copies and releases wait until unpin. */
  pin(pfn: number, count: number): void;
  unpin(pfn: number, count: number): void;
  /** The space ledger: record growth is admitted against it first (room >= 0), then reported (adjust). */
  readonly space: Pick<SpaceLedger, 'room' | 'charge' | 'adjust' | 'refill'>;
  /** Record pages these xattrs take in the next durable step. */
  xattrRecords(xattrs: readonly [string, Uint8Array][]): number;
}

interface Reserve { fromReserve?: boolean }

/** The engine's Reserve options, shared: an object literal per page written was garbage per write (issue 13). */
export const NOT_FROM_RESERVE: Readonly<Reserve> = Object.freeze({ fromReserve: false });
const FROM_RESERVE: Readonly<Reserve> = Object.freeze({ fromReserve: true });
const reserveOf = (pc: PageCache): Readonly<Reserve> => (pc.fromReserve ? FROM_RESERVE : NOT_FROM_RESERVE);

export interface PageCache {
  readonly mem: PhysMem;
  readonly engine: PageEngine;
  readonly pageSize: number;
  /** Last pfn handed out, so the next allocation can ask for its neighbour. */
  lastPfn: number;
  /** Set while a write the kernel already acknowledged is stored: it may use the reserved pages. */
  fromReserve?: boolean;
}

export interface FileData { size: number; pages: RadixPageMap }

function validPos(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Copies up to `len` bytes at `off` straight from the arena into
 * target[at..]: one copy per run of physically contiguous pages, holes zeroed.
 * Returns the bytes copied (short at EOF, or before a damaged page), -EIO when
 * the first page is damaged, -EINVAL for a bad position or a target too small.
 */
export function readInto(pc: PageCache, f: FileData, off: number, target: Uint8Array, at: number, len: number): number {
  if (!validPos(at) || at + len > target.length) return -EINVAL;
  const ps = pc.pageSize;
  let copied = false;
  // Through the arena's fd or its read-only reads mapping when it has them: no page mapped writable into this
  // process. A run is copied before it is checked, so a lazy mount verifies its unverified runs on the copy (one
  // read of the arena, as after a full mount); what a failed check leaves in target is zeroed.
  const check = pc.mem.readAt && pc.engine.readableRunCopied ? (pfn: number, count: number, inPage: number, bytes: number, done: number): number => {
    const to = at + done;
    let ok = pc.engine.readRunInto?.(pfn, count, inPage, target, to, bytes);
    copied = ok !== undefined;
    if (ok === undefined) {
      copied = readData(pc.mem, pfn * ps + inPage, target, to, bytes);
      if (!copied) return pc.engine.readableRun(pfn, count);
      const skip = inPage === 0 ? 0 : ps - inPage, whole = Math.max(0, Math.floor((bytes - skip) / ps));
      ok = whole === 0 ? pc.engine.readableRun(pfn, count) : pc.engine.readableRunCopied!(pfn, count, pfn + (inPage === 0 ? 0 : 1), target.subarray(to + skip, to + skip + whole * ps));
    }
    const good = ok < 0 ? 0 : Math.min(ok * ps - inPage, bytes);
    if (good < bytes) target.fill(0, to + good, to + bytes);
    return ok;
  } : undefined;
  return eachRun(pc, f, off, len, (pfn, count, inPage, bytes, done) => {
    const to = at + done;
    if (pfn === 0) { target.fill(0, to, to + bytes); return; }
    if (copied || readData(pc.mem, pfn * ps + inPage, target, to, bytes)) return;
    const run = count > 1 ? pc.mem.run(pfn, count) : pc.mem.page(pfn);
    if (run) run.copy(target, to, inPage, inPage + bytes);
    else copyRun(pc.mem, pfn, count, ps, inPage, bytes, (view, a) => { view.copy(target, to + a); });
  }, check);
}

/**
 * The bytes at `off` (up to `len`, short at EOF or before a damaged page) as
 * views over the arena's own pages, one per physically contiguous run (a run
 * crossing a mapping segment is split), holes as zeroed buffers. Each page
 * run shown is passed to `shown` (the caller pins it). -EIO when the first
 * page is damaged. The views alias the pages: valid until they change.
 */
export function viewData(pc: PageCache, f: FileData, off: number, len: number, out: Buffer[], shown?: (pfn: number, count: number) => void): number {
  return eachRun(pc, f, off, len, (pfn, count, inPage, bytes) => {
    if (pfn === 0) { out.push(Buffer.alloc(bytes)); return; }
    shown?.(pfn, count);
    copyRun(pc.mem, pfn, count, pc.pageSize, inPage, bytes, (view) => { out.push(view); });
  });
}

/**
 * Walks [off, off + len) clipped at EOF run by run: `fn` gets a hole (pfn 0)
 * or present pages at consecutive pfns that may be read (lazy verification
 * happens here through `check`, readableRun unless the caller copies first;
 * once per page: a verified page costs one flag test), and the
 * bytes done before it. Returns the bytes walked (short before a damaged
 * page), -EIO when the first page is damaged, -EINVAL for a bad position.
 */
function eachRun(pc: PageCache, f: FileData, off: number, len: number,
  fn: (pfn: number, count: number, inPage: number, bytes: number, done: number) => void,
  check: (pfn: number, count: number, inPage: number, bytes: number, done: number) => number = (pfn, count) => pc.engine.readableRun(pfn, count)): number {
  if (!validPos(off) || !validPos(len)) return -EINVAL;
  if (off >= f.size || len === 0) return 0;
  const n = Math.min(len, f.size - off);
  const ps = pc.pageSize;
  let done = 0;
  while (done < n) {
    const index = Math.floor((off + done) / ps);
    const inPage = off + done - index * ps;
    const pfn = f.pages.get(index);
    let count = f.pages.run(index, Math.ceil((inPage + n - done) / ps));
    if (pfn !== 0) {
      count = check(pfn, count, inPage, Math.min(count * ps - inPage, n - done), done);
      if (count < 0) return done > 0 ? done : count;
    }
    const bytes = Math.min(count * ps - inPage, n - done);
    fn(pfn, count, inPage, bytes, done);
    done += bytes;
  }
  return done;
}

/** Writes what fits; returns bytes written, or -ENOSPC/-errno if nothing could be. */
export function writeData(pc: PageCache, f: FileData, off: number, data: Uint8Array): number {
  if (!validPos(off)) return -EINVAL;
  const n = data.length;
  if (n === 0) return 0;
  if (off + n > MAX_FILE_BYTES) return -EFBIG;
  const ps = pc.pageSize;
  const src = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, n);
  let done = 0;
  let err = 0;
  while (done < n) {
    const pos = off + done;
    const index = Math.floor(pos / ps);
    const inPage = pos - index * ps;
    // Resolve a physically contiguous run of writable pages, then copy once.
    let first = 0, count = 0, bytes = 0;
    while (done + bytes < n) {
      const pageStart = count === 0 ? inPage : 0;
      const whole = pageStart === 0 ? Math.floor((n - done - bytes) / ps) : 0;
      const fresh = whole >= RUN_PAGES_MIN ? freshRun(pc, f, index + count, whole, count === 0 ? -1 : first + count) : 0;
      if (fresh > 0) {                  // a run of holes taken in one step, contiguous with the pages before it
        if (count === 0) first = f.pages.get(index);
        count += fresh;
        bytes += fresh * ps;
        continue;
      }
      const take = Math.min(ps - pageStart, n - done - bytes);
      const pfn = pageForWrite(pc, f, index + count, take === ps);
      if (pfn < 0) { err = pfn; break; }
      if (count === 0) first = pfn;
      // Not contiguous: the page stays mapped and starts the next run.
      else if (pfn !== first + count) break;
      count++;
      bytes += take;
      if (take < ps - pageStart) break;
    }
    if (count === 0) break;
    // Through the arena's fd when it has one: the kernel copies, this process maps (and faults) no page.
    if (!pc.mem.writeAt?.(first * ps + inPage, src, done, bytes)) copyInto(pc, first, count, inPage, bytes, src, done);
    wroteWhole(pc, first, inPage, bytes, src, done);
    done += bytes;
    if (err) break;
  }
  if (done === 0) return err || -ENOSPC;
  if (off + done > f.size) f.size = off + done;
  return done;
}

/**
 * src[from, from + bytes) into the run's pages through the mapping (no fd to write through). A function of its
 * own: a closure in writeData capturing its locals would make V8 allocate their context on every write.
 */
function copyInto(pc: PageCache, first: number, count: number, inPage: number, bytes: number, src: Buffer, from: number): void {
  copyRun(pc.mem, first, count, pc.pageSize, inPage, bytes, (view, at) => { src.copy(view, 0, from + at, from + at + view.length); });
}

/** The pages of a run written whole (not a partial head or tail) go to the engine's written() with their bytes. */
function wroteWhole(pc: PageCache, first: number, inPage: number, bytes: number, src: Uint8Array, done: number): void {
  if (!pc.engine.written) return;
  const ps = pc.pageSize;
  const head = inPage === 0 ? 0 : 1, end = Math.floor((inPage + bytes) / ps);
  if (end > head) pc.engine.written(first + head, end - head, src, done + head * ps - inPage);
}

/** Whole pages of a write that are taken in one step when they are holes (below: one by one). */
const RUN_PAGES_MIN = 4;
/** At most this many pages a step (a run this long is usually free after the last one). */
const RUN_PAGES_MAX = 256;

/**
 * Pages index.. (up to max) that are holes, taken fresh at consecutive pfns
 * (the engine's allocDataRun) and mapped; how many, 0 when none were (not a
 * hole, no run free, or `at` >= 0 and the run would not start there: the pages
 * are then taken one by one as before).
 */
function freshRun(pc: PageCache, f: FileData, index: number, max: number, at: number): number {
  if (!pc.engine.allocDataRun || pc.fromReserve || f.pages.get(index) !== 0) return 0;
  const n = Math.min(f.pages.run(index, Math.min(max, RUN_PAGES_MAX)), max, RUN_PAGES_MAX);
  if (n < RUN_PAGES_MIN) return 0;
  const prev = index > 0 ? f.pages.get(index - 1) : 0;
  const hint = at >= 0 ? at : prev > 0 ? prev + 1 : pc.lastPfn + 1;
  const pfn = pc.engine.allocDataRun(hint, n);
  if (pfn < 0) return 0;
  if (at >= 0 && pfn !== at) { for (let i = 0; i < n; i++) pc.engine.release(pfn + i); return 0; }
  f.pages.setRun(index, pfn, n);
  pc.lastPfn = pfn + n - 1;
  return n;
}

function pageForWrite(pc: PageCache, f: FileData, index: number, whole: boolean): number {
  let pfn = f.pages.get(index);
  if (pfn === 0) {
    const prev = index > 0 ? f.pages.get(index - 1) : 0;
    pfn = pc.engine.allocData(prev > 0 ? prev + 1 : pc.lastPfn + 1, reserveOf(pc));
    if (pfn < 0) return pfn;
    pc.lastPfn = pfn;
    // A fresh page holds whatever its last owner left: zero what the write will not cover.
    if (!whole) zeroRange(pc, pfn, 0, pc.pageSize);
    f.pages.set(index, pfn);
    return pfn;
  }
  // A whole-page overwrite needs neither the old bytes (no copy) nor their check (a damaged page heals).
  const w = pc.engine.writable(pfn, whole, reserveOf(pc));
  if (w < 0) return w;
  if (w !== pfn) f.pages.set(index, w);
  return w;
}

let zeros = new Uint8Array(0);

/** Zeroes bytes [from, to) of page pfn, through the arena's fd when it has one (as writeData writes). */
function zeroRange(pc: PageCache, pfn: number, from: number, to: number): void {
  if (to <= from) return;
  if (zeros.length < to - from) zeros = new Uint8Array(pc.pageSize);
  if (!pc.mem.writeAt?.(pfn * pc.pageSize + from, zeros, 0, to - from)) pc.mem.page(pfn).fill(0, from, to);
}

/** Calls `fn` with one view of `bytes` bytes starting `inPage` into the run, or piecewise (one per page, `at` bytes in) when the run crosses a segment. */
function copyRun(mem: PhysMem, pfn: number, count: number, ps: number, inPage: number, bytes: number, fn: (view: Buffer, at: number) => void): void {
  const run = count > 1 ? mem.run(pfn, count) : mem.page(pfn);
  if (run) { fn(run.subarray(inPage, inPage + bytes), 0); return; }
  // Piecewise: rare (segment boundary); wrap fn per page with an offset.
  let at = 0;
  for (let i = 0; i < count; i++) {
    const start = i === 0 ? inPage : 0;
    const take = Math.min(ps - start, bytes - at);
    fn(mem.page(pfn + i).subarray(start, start + take), at);
    at += take;
  }
}

/** Truncate or extend; frees pages past the new end and zeroes the tail of the last one. */
export function setSize(pc: PageCache, f: FileData, size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) return size > MAX_FILE_BYTES ? -EFBIG : -EINVAL;
  const ps = pc.pageSize;
  if (size < f.size) {
    const tail = size % ps;
    const last = Math.floor(size / ps);
    if (tail !== 0 && f.pages.get(last) !== 0) {
      const pfn = pageForWrite(pc, f, last, false);
      if (pfn < 0) return pfn;
      zeroRange(pc, pfn, tail, ps);
    }
    dropPages(pc, f, Math.ceil(size / ps), Infinity);
  }
  f.size = size;
  return 0;
}

/** Unmaps and releases pages with index in [from, to). */
export function dropPages(pc: PageCache, f: FileData, from: number, to: number): void {
  const doomed: [number, number][] = [];
  for (const e of f.pages.from(from)) { if (e[0] >= to) break; doomed.push(e); }
  for (const [index, pfn] of doomed) { f.pages.delete(index); pc.engine.release(pfn); }
}

export function fallocateData(pc: PageCache, f: FileData, mode: number, off: number, len: number): number {
  if (!validPos(off) || !Number.isSafeInteger(len) || len <= 0) return -EINVAL;
  if (off + len > MAX_FILE_BYTES) return -EFBIG;
  const ps = pc.pageSize;
  if (mode === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) return punchHole(pc, f, off, len);
  if (mode !== 0 && mode !== FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
  const fresh: number[] = [];
  const end = Math.ceil((off + len) / ps);
  for (let index = Math.floor(off / ps); index < end; index++) {
    if (f.pages.get(index) !== 0) continue;
    const pfn = pageForWrite(pc, f, index, false);
    if (pfn < 0) {
      // Nothing half-done: give back what this call took.
      for (const i of fresh) { pc.engine.release(f.pages.get(i)); f.pages.delete(i); }
      return pfn === -ENOSPC ? -ENOSPC : pfn;
    }
    fresh.push(index);
  }
  if (mode === 0 && off + len > f.size) f.size = off + len;
  return 0;
}

function punchHole(pc: PageCache, f: FileData, off: number, len: number): number {
  const ps = pc.pageSize;
  const end = Math.min(off + len, Math.max(f.size, off));
  if (end <= off) return 0;
  const firstWhole = Math.ceil(off / ps);
  const lastWhole = Math.floor(end / ps); // exclusive
  const zero = (index: number, from: number, to: number): number => {
    if (f.pages.get(index) === 0) return 0;
    const pfn = pageForWrite(pc, f, index, false);
    if (pfn < 0) return pfn;
    zeroRange(pc, pfn, from, to);
    return 0;
  };
  if (firstWhole > lastWhole) return zero(Math.floor(off / ps), off % ps, end - Math.floor(off / ps) * ps);
  if (off % ps !== 0) { const r = zero(firstWhole - 1, off % ps, ps); if (r < 0) return r; }
  if (end % ps !== 0 && lastWhole >= firstWhole) { const r = zero(lastWhole, 0, end % ps); if (r < 0) return r; }
  dropPages(pc, f, firstWhole, lastWhole);
  return 0;
}

export function seekData(pc: PageCache, f: FileData, off: number, whence: number): number {
  if (whence !== SEEK_DATA && whence !== SEEK_HOLE) return -EINVAL;
  if (!Number.isSafeInteger(off) || off < 0 || off >= f.size) return -ENXIO;
  const ps = pc.pageSize;
  const index = Math.floor(off / ps);
  if (whence === SEEK_DATA) {
    const d = f.pages.nextData(index);
    if (d < 0 || d * ps >= f.size) return -ENXIO;
    return Math.max(off, d * ps);
  }
  const h = f.pages.nextHole(index);
  return Math.min(Math.max(off, h * ps), f.size);
}
