// Data-page verification against the checksums a loaded image carries: a run
// (an EXTENT entry, a MAP run of <= 32 pages) has one crc32c over all its
// pages, a lone page its own. A full mount checks every run in one batch
// (runCrcs: one native call, on both cores when large); a lazy mount checks a
// run the first time a read touches it (FirstTouch), the runs a read covers
// again in one batch. A failed run is Bad as a whole and reported once,
// exactly (file, page indexes, bytes); the pages of a good run are marked
// verified together. Which pages a run holds is load.ts's (runs, runHead).
// After a lazy mount a native thread may check the unverified pages ahead of
// the readers (ahead.ts): a run of a block it found good is taken as verified.

import type { PhysMem } from '../mem/physmem.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import { EIO } from '../format/errno.js';
import { crc32c, crc32cFile, crc32cMany, crc32cRanges, crc32cReadCheck, type CrcThreads } from '../format/crc.js';
import type { Loss, NodeImage } from './image.js';
import type { Log, Run } from './types.js';
import { RUN, type LogReplay } from './replay.js';
import { SPAN } from './spans.js';
import type { RunHeads } from './runheads.js';
import { AHEAD_FLAG_BITS, aheadBlockOf, CheckingThread } from './ahead.js';
import { aheadReadLone } from '../mem/native.js';
import { unbuilt } from './laterpages.js';

/** Runs a read verifies in one batch at most (a read of 1 MiB covers 8 runs of 32 pages, or 256 lone pages). */
const BATCH_RUNS_MAX = 4096;

/**
 * crc32c of each run pfns[i]..pfns[i]+counts[i]-1 in one native call. `pread`
 * (a full mount): read the runs from the arena's fd when it has one, leaving
 * them unmapped until a read uses them; else through the mapping, one view per
 * run inside one mapping segment.
 */
export function runCrcs(mem: PhysMem, pfns: ArrayLike<number>, counts: ArrayLike<number>, opts: { pread?: boolean } & CrcThreads = {}): Uint32Array {
  const n = pfns.length, ps = mem.pageSize;
  if (opts.pread && mem.preadFd !== undefined) {
    const offsets = new Float64Array(n), lengths = new Uint32Array(n);
    for (let i = 0; i < n; i++) { offsets[i] = pfns[i]! * ps; lengths[i] = counts[i]! * ps; }
    try {
      return crc32cFile(mem.preadFd, offsets, lengths, opts);
    } catch {
      // The fd did not read (a device error): the mapping shows the same bytes.
    }
  }
  const views: Uint8Array[] = [];
  const at: number[] = [];          // index of views[k] in the input
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = counts[i] === 1 ? mem.page(pfns[i]!) : mem.run(pfns[i]!, counts[i]!);
    if (v) { views.push(v); at.push(i); continue; }
    let c = 0;                        // across a segment boundary: page by page, chained
    for (let q = pfns[i]!; q < pfns[i]! + counts[i]!; q++) c = crc32c(mem.page(q), c);
    out[i] = c;
  }
  const crcs = crc32cMany(views, opts);
  for (let k = 0; k < views.length; k++) out[at[k]!] = crcs[k]!;
  return out;
}

/**
 * A full mount of a v3 log: the crc32c of every MAP run the replay kept, and
 * of every page of its spans, in one batch, left in csum at the run's first
 * pfn (a span's: at each page's) -- adoption reads them there before it
 * stores the log's own values.
 */
export function logRunCrcs(mem: PhysMem, rp: LogReplay, csum: Uint32Array): void {
  let n = 0;
  for (const rn of rp.nodes.values()) {
    if (rn.groups) for (const runs of rn.groups.values()) n += runs.length / RUN;
    if (rn.blocks) for (const spans of rn.blocks.values()) for (let k = 0; k < spans.length; k += SPAN) n += spans[k + 2]!;
  }
  const pfns = new Float64Array(n), counts = new Uint32Array(n);
  let i = 0;
  for (const rn of rp.nodes.values()) {
    if (rn.groups) for (const runs of rn.groups.values()) {
      for (let k = 0; k < runs.length; k += RUN) { pfns[i] = runs[k + 1]!; counts[i++] = runs[k + 2]!; }   // index, pfn, count, ...
    }
    if (rn.blocks) for (const spans of rn.blocks.values()) {
      for (let k = 0; k < spans.length; k += SPAN) for (let p = spans[k + 1]!, end = p + spans[k + 2]!; p < end; p++) { pfns[i] = p; counts[i++] = 1; }
    }
  }
  const crcs = runCrcs(mem, pfns, counts, { pread: true });
  for (let k = 0; k < n; k++) csum[pfns[k]!] = crcs[k]!;
}

/**
 * Data pages a lazy mount has still to verify: those flagged Unverified, less
 * the ones the fs no longer holds (`gone`: released, or replaced by a write's
 * copy, waiting for the next commit or their last unpin). Those keep their
 * flag, but nothing reads them again: a page written whole after the mount is
 * verified by that write.
 */
export function unverifiedPages(flags: Uint8Array, gone: Iterable<number>): number {
  let n = 0;
  for (let pfn = 0; pfn < flags.length; pfn++) if (flags[pfn]! & PageFlag.Unverified) n++;
  for (const pfn of new Set(gone)) if (flags[pfn]! & PageFlag.Unverified) n--;
  return n;
}

export interface FirstTouchContext {
  mem: PhysMem;
  frames: PageFrames;
  runs: Map<number, Run>;
  runHead: RunHeads;
  log: Log;
  /** Losses found after load: a failed first read is added here. */
  late: Loss[];
  /** The loaded nodes with their paths (lazy mounts), to name the file of a failed run. */
  builds: () => readonly { node: { pages: NodeImage['pages'] }; path: string }[] | undefined;
}

/** Bytes of the pages from pfn `from` on (whole pages), just copied out of the arena by a read. */
export interface Copied { from: number; pages: Uint8Array }

/** Lazy verification on first read: a run at a time, the runs of one read in one batch. */
export class FirstTouch {
  // The batch being verified (n runs): first pfn, pages, expected and computed
  // checksum of each run; typed and reused, so a read's first touch allocates nothing per page.
  private n = 0;
  private readonly starts = new Float64Array(BATCH_RUNS_MAX);
  private readonly counts = new Uint32Array(BATCH_RUNS_MAX);
  private readonly expected = new Uint32Array(BATCH_RUNS_MAX);
  private readonly actual = new Uint32Array(BATCH_RUNS_MAX);
  // The ranges of a copy to checksum (byte offset, length) and which run each is.
  private readonly rangeAt = new Uint32Array(BATCH_RUNS_MAX);
  private readonly rangeLen = new Uint32Array(BATCH_RUNS_MAX);
  private readonly rangeCrc = new Uint32Array(BATCH_RUNS_MAX);
  private readonly rangeRun = new Uint32Array(BATCH_RUNS_MAX);

  private readonly ahead: CheckingThread;   // the checking thread ahead of the readers (ahead.ts)
  private readonly loneBad = new Uint32Array(1);   // readLone's: the crc of the page that failed

  constructor(private readonly ctx: FirstTouchContext) {
    this.ahead = new CheckingThread(ctx);
  }

  /** After a lazy mount of `dataPages` data pages: the checking thread starts, if its rule wants it (ahead.ts). */
  startAhead(dataPages: number, later = false): void {
    this.ahead.start(dataPages, later);
  }

  /** A group of an index-led mount loaded: the thread takes back its verdicts on the group's blocks (ahead.ts). */
  groupLoaded(nodes: readonly { pages: NodeImage['pages'] }[], last: boolean): void {
    this.ahead.groupLoaded(nodes, last);
  }

  /** A checking thread was started (its verdicts may vouch for pages): sums given to it sooner let it check them sooner. */
  get aheadRan(): boolean { return this.ahead.ran; }

  /** Blocks by the checking thread's verdict: [not checked, being checked, good, differing, left to readers, dropped]; null: no thread ran. */
  aheadVerdicts(): number[] | null {
    return this.ahead.verdictCounts();
  }

  /** The checking thread stops and is joined (unmount); verdicts it left stay usable. Again: nothing. */
  stopAhead(): void {
    this.ahead.stop();
  }

  /** 0 when the page may be read; -EIO when it failed its checksum (verified here, with its whole run, on first read). */
  readable(pfn: number): number {
    const f = this.ctx.frames.flags[pfn]!;
    if (f & PageFlag.Bad) return -EIO;
    if (!(f & PageFlag.Unverified)) return 0;
    this.reset();
    this.add(pfn);
    return this.settle() ? 0 : -EIO;
  }

  /**
   * How many of the pages pfn..pfn+count-1, from the first, may be read;
   * -EIO when the first cannot. The unverified runs among them are checked in
   * one batch; verdicts are applied in order up to the first failed run (the
   * runs after it stay unverified: nothing is reported that was not read).
   */
  readableRun(pfn: number, count: number, copied?: Copied): number {
    const flags = this.ctx.frames.flags;
    let i = 0;
    for (;;) {
      while (i < count && (flags[pfn + i]! & (PageFlag.Bad | PageFlag.Unverified)) === 0) i++;
      if (i < count && !(flags[pfn + i]! & PageFlag.Bad)) {
        this.reset();
        for (let j = i; j < count && this.n < BATCH_RUNS_MAX;) {
          const f = flags[pfn + j]!;
          if (f & PageFlag.Bad) break;
          j = f & PageFlag.Unverified ? this.add(pfn + j) - pfn : j + 1;
        }
        if (this.settle(copied)) continue;             // all good: on to the next batch
        while (!(flags[pfn + i]! & PageFlag.Bad)) i++;  // the pages before the failed run were verified
      }
      return i === count ? count : i === 0 ? -EIO : i;
    }
  }

  /**
   * A read's copy and first check in one: copies `bytes` bytes of pages
   * pfn..pfn+count-1, from byte inPage of the first, into target[to..]
   * through the arena's fd, and checks their unverified runs on the copy (one
   * native call, each run summed while hot in cache). Returns as readableRun (the
   * bytes of pages past the good ones are the caller's to zero), or undefined
   * when it cannot be done so -- no fd, nothing unverified, a damaged page, a
   * run reaching past the copy's whole pages, a batch too large, a failed
   * pread: then nothing is marked and the caller copies and checks as before.
   */
  readInto(pfn: number, count: number, inPage: number, target: Uint8Array, to: number, bytes: number): number | undefined {
    const { mem, frames, runHead } = this.ctx, fd = mem.preadFd, ps = mem.pageSize, flags = frames.flags;
    if (fd === undefined) return undefined;
    this.ahead.afterRead();
    const lone = this.ctx.builds() ? this.readLone(fd, pfn, count, inPage, target, to, bytes) : null;   // none after a full mount
    if (lone !== null) return lone;
    const skip = inPage === 0 ? 0 : ps - inPage;                        // the partial first page's bytes
    const from = pfn + (inPage === 0 ? 0 : 1), end = from + Math.floor((bytes - skip) / ps);   // whole pages copied
    const back = runHead.bytes, ran = this.ahead.ran;
    let notGood = -1;            // a block the thread had not found good when this read asked: its other lone pages are not asked again
    this.reset();
    for (let j = 0; j < count;) {
      const q = pfn + j, f = flags[q]!;
      if (f & PageFlag.Bad) return undefined;
      if (!(f & PageFlag.Unverified)) { j++; continue; }
      if (this.n === BATCH_RUNS_MAX) return undefined;
      if (back[q] === 0 && !(f & PageFlag.Dirty)) {
        // A lone page (a SPAN's, its own sum): queued here, as add would, with one question to the thread per block,
        // not per page: a read of 1 MiB of a SPAN file holds 256 of them (this loop and apply, profiled over 1 GiB a
        // reader checked itself: 11.6-13.1 ms through add, 8.0-8.8 so).
        if (ran && aheadBlockOf(q) !== notGood) {
          if (this.ahead.vouches(q)) { j++; continue; }               // its block was found good: q is verified now
          notGood = aheadBlockOf(q);
        }
        if (q < from || q >= end) return undefined;
        const k = this.n++;
        this.starts[k] = q;
        this.counts[k] = 1;
        this.expected[k] = frames.csum[q]!;
        this.rangeAt[k] = skip + (q - from) * ps;
        this.rangeLen[k] = ps;
        j++;
        continue;
      }
      const k = this.n;
      j = this.add(pfn + j) - pfn;
      if (this.n === k) continue;                                      // checked ahead: verified
      const start = this.starts[k]!;
      if (start < from || start + this.counts[k]! > end) return undefined;
      this.rangeAt[k] = skip + (start - from) * ps;
      this.rangeLen[k] = this.counts[k]! * ps;
    }
    if (this.n === 0) return undefined;
    try {
      crc32cReadCheck(fd, pfn * ps + inPage, target, to, bytes, this.rangeAt, this.rangeLen, this.n, this.expected, this.actual);
    } catch {
      return undefined;   // the fd did not read: the caller's path reads through the mapping
    }
    if (this.apply(this.actual)) return count;
    let i = 0;
    while (!(flags[pfn + i]! & PageFlag.Bad)) i++;   // the pages before the failed run were verified
    return i === 0 ? -EIO : i;
  }

  /**
   * readInto for reads whose unverified pages are all lone pages (a SPAN's, each with its own sum), in one
   * native call: the per-page queueing and marking here cost a reader ~9 ms a GiB. Returns as readInto;
   * null when that call does not do it (readInto's own loop then does).
   */
  private readLone(fd: number, pfn: number, count: number, inPage: number, target: Uint8Array, to: number, bytes: number): number | undefined | null {
    const { mem, frames, runHead } = this.ctx;
    const r = aheadReadLone(fd, mem.pageSize, frames.flags, runHead.bytes, frames.csum, AHEAD_FLAG_BITS, this.ahead.words, pfn, count, inPage, target, to, bytes, this.loneBad);
    if (r === -1) return null;
    if (r < 0) return undefined;                 // the fd did not read: the caller's path reads through the mapping
    if (r === count) return count;
    const q = pfn + r, expected = frames.csum[q]!;
    frames.flags[q] = (frames.flags[q]! & ~PageFlag.Unverified) | PageFlag.Bad;
    this.report(q, 1, expected, this.loneBad[0]!);
    return r === 0 ? -EIO : r;
  }

  private reset(): void {
    this.n = 0;
  }

  /** Queue the run (or lone page) holding the unverified pfn -- or mark it verified when the thread found its block good; returns the pfn after it. */
  private add(pfn: number): number {
    const { runHead, runs, frames } = this.ctx;
    const head = runHead.headOf(pfn);
    const run = head >= 0 ? runs.get(head) : undefined;
    const start = run ? head : pfn, count = run?.count ?? 1;
    if (this.ahead.ran && (run || !(frames.flags[pfn]! & PageFlag.Dirty)) && this.ahead.vouches(start)) return start + count;
    const k = this.n++;
    this.starts[k] = start;
    this.counts[k] = count;
    this.expected[k] = run ? run.csum : frames.csum[pfn]!;
    return start + count;
  }

  /** Checks the queued runs; marks them verified (or Bad, reported) in order up to the first failure. True: all good. */
  private settle(copied?: Copied): boolean {
    return this.apply(this.crcs(copied));
  }

  /** Marks the queued runs verified (or Bad, reported) by their computed checksums, in order up to the first failure. */
  private apply(actual: Uint32Array): boolean {
    const n = this.n;
    const { frames } = this.ctx;
    for (let k = 0; k < n; k++) {
      const start = this.starts[k]!, end = start + this.counts[k]!;
      const ok = actual[k] === this.expected[k];
      for (let q = start; q < end; q++) frames.flags[q] = (frames.flags[q]! & ~PageFlag.Unverified) | (ok ? 0 : PageFlag.Bad);
      if (!ok) { this.report(start, this.counts[k]!, this.expected[k]!, actual[k]!); return false; }
    }
    return true;
  }

  /**
   * The queued runs' checksums (in `actual`): a run wholly in `copied` from
   * those bytes (every such run in one native call, no view per page), the
   * others read through the arena's fd when it has one (fs/ copies data out
   * the same way, so a page a read verifies is never mapped into this process:
   * a first touch costs more than the copy), else through the mapping.
   */
  private crcs(copied?: Copied): Uint32Array {
    const { mem } = this.ctx;
    const n = this.n, ps = mem.pageSize, out = this.actual;
    if (!copied) {
      if (n === 1 && this.counts[0] === 1 && mem.preadFd === undefined) out[0] = crc32c(mem.page(this.starts[0]!));
      else out.set(runCrcs(mem, this.starts.subarray(0, n), this.counts.subarray(0, n), { pread: true }));
      return out;
    }
    let m = 0;
    const rest: number[] = [];
    for (let k = 0; k < n; k++) {
      const at = (this.starts[k]! - copied.from) * ps, len = this.counts[k]! * ps;
      if (at >= 0 && at + len <= copied.pages.length) { this.rangeAt[m] = at; this.rangeLen[m] = len; this.rangeRun[m++] = k; } else rest.push(k);
    }
    if (m > 0) {
      crc32cRanges(copied.pages, this.rangeAt, this.rangeLen, m, this.rangeCrc);
      for (let i = 0; i < m; i++) out[this.rangeRun[i]!] = this.rangeCrc[i]!;
    }
    if (rest.length > 0) {
      const c = runCrcs(mem, rest.map((k) => this.starts[k]!), rest.map((k) => this.counts[k]!), { pread: true });
      rest.forEach((k, i) => { out[k] = c[i]!; });
    }
    return out;
  }

  private report(start: number, count: number, expected: number, actual: number): void {
    const where = this.where(start);
    const ps = this.ctx.mem.pageSize;
    const range = where ? { start: where.index * ps, end: (where.index + count) * ps } : undefined;
    this.ctx.late.push({
      path: where?.path ?? null, pfn: start, range,
      what: `data page${count > 1 ? 's' : ''} ${where ? where.index : '?'}${count > 1 && where ? `-${where.index + count - 1}` : ''}` +
        `${range ? ` (bytes ${range.start}-${range.end - 1})` : ''} failed crc32c on first read (saved 0x${expected.toString(16)}, computed 0x${actual.toString(16)})`,
    });
    this.ctx.log(`PRAM: pfn:${start.toString(16)} corrupted`);
  }

  /** Which file holds pfn, and where: a scan of the page maps, paid only when a check fails. */
  private where(pfn: number): { path: string; index: number } | null {
    for (const b of this.ctx.builds() ?? []) {
      if (unbuilt(b.node.pages)) continue;        // adopted on first use (laterpages.ts): none of its pages was read
      for (const [index, p] of b.node.pages.entries()) if (p === pfn) return { path: b.path, index };
    }
    return null;
  }
}
