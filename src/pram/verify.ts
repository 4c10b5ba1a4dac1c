// Data-page verification against the checksums a loaded image carries: a run
// (an EXTENT entry, a MAP run of <= 32 pages) has one crc32c over all its
// pages, a lone page its own. A full mount checks every run in one batch
// (runCrcs: one native call, on both cores when large); a lazy mount checks a
// run the first time a read touches it (FirstTouch), the runs a read covers
// again in one batch. A failed run is Bad as a whole and reported once,
// exactly (file, page indexes, bytes); the pages of a good run are marked
// verified together. Which pages a run holds is load.ts's (runs, runHead).

import type { PhysMem } from '../mem/physmem.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import { EIO } from '../format/errno.js';
import { crc32c, crc32cFile, crc32cMany, type CrcThreads } from '../format/crc.js';
import type { Loss, NodeImage } from './image.js';
import type { Run } from './load.js';
import { RUN, type LogReplay } from './replay.js';
import { SPAN } from './spans.js';
import type { RunHeads } from './runheads.js';
import type { Log } from './types.js';

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
  // The batch being verified: first pfn, pages, expected checksum of each run.
  private readonly starts: number[] = [];
  private readonly counts: number[] = [];
  private readonly expected: number[] = [];

  constructor(private readonly ctx: FirstTouchContext) {}

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
        for (let j = i; j < count && this.starts.length < BATCH_RUNS_MAX;) {
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

  private reset(): void {
    this.starts.length = 0;
    this.counts.length = 0;
    this.expected.length = 0;
  }

  /** Queue the run (or lone page) holding the unverified pfn; returns the pfn after it. */
  private add(pfn: number): number {
    const { runHead, runs, frames } = this.ctx;
    const head = runHead.headOf(pfn);
    const run = head >= 0 ? runs.get(head) : undefined;
    const start = run ? head : pfn, count = run?.count ?? 1;
    this.starts.push(start);
    this.counts.push(count);
    this.expected.push(run ? run.csum : frames.csum[pfn]!);
    return start + count;
  }

  /** Checks the queued runs; marks them verified (or Bad, reported) in order up to the first failure. True: all good. */
  private settle(copied?: Copied): boolean {
    const n = this.starts.length;
    const { frames } = this.ctx;
    const actual = this.crcs(copied);
    for (let k = 0; k < n; k++) {
      const start = this.starts[k]!, end = start + this.counts[k]!;
      const ok = actual[k] === this.expected[k];
      for (let q = start; q < end; q++) frames.flags[q] = (frames.flags[q]! & ~PageFlag.Unverified) | (ok ? 0 : PageFlag.Bad);
      if (!ok) { this.report(start, this.counts[k]!, this.expected[k]!, actual[k]!); return false; }
    }
    return true;
  }

  /**
   * The queued runs' checksums: a run wholly in `copied` from those bytes, the
   * others read through the arena's fd when it has one (fs/ copies data out
   * the same way, so a page a read verifies is never mapped into this process:
   * a first touch costs more than the copy), else through the mapping.
   */
  private crcs(copied?: Copied): ArrayLike<number> {
    const { mem } = this.ctx;
    const n = this.starts.length, ps = mem.pageSize;
    if (!copied) {
      return n === 1 && this.counts[0] === 1 && mem.preadFd === undefined ? [crc32c(mem.page(this.starts[0]!))]
        : runCrcs(mem, this.starts, this.counts, { pread: true });
    }
    const out = new Array<number>(n), rest: number[] = [], inCopy: number[] = [], views: Uint8Array[] = [];
    for (let k = 0; k < n; k++) {
      const at = (this.starts[k]! - copied.from) * ps, end = at + this.counts[k]! * ps;
      if (at >= 0 && end <= copied.pages.length) { inCopy.push(k); views.push(copied.pages.subarray(at, end)); } else rest.push(k);
    }
    if (views.length > 0) {
      const mine = crc32cMany(views);   // the addon's crc32c: one call for the batch
      inCopy.forEach((k, i) => { out[k] = mine[i]!; });
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
      for (const [index, p] of b.node.pages.entries()) if (p === pfn) return { path: b.path, index };
    }
    return null;
  }
}
