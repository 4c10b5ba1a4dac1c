// The pages of an ATIMES_PAGES record (v3 minor 6, docs/FORMAT.md §v3): a large batch of
// atime-only changes written outside the log, which the record names. A full replay reads
// them when it applies the record; a lazy mount reserves them unread and reads them when a
// group's adoption first needs them (tailatimes.ts). Either way each page is checked on its
// own crc: a damaged page costs the atimes it held (they keep their earlier value), no more.

import type { PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import { Owner } from '../boot/frames.js';
import type { Loss } from './image.js';
import { atimesOfPages, type AtimesPagesRecord, type AtimesRecord } from '../format/v3.js';

/** Pages of ATIMES_PAGES records read so far in this process (tests: a lazy mount reads none). */
export const atimesPagesRead = { pages: 0 };

/** Told of a page of the record that failed its crc: its pfn, the entries it held, why. */
export type PageBad = (pfn: number, n: number, why: string) => void;

/** Why the record's runs cannot be its pages (outside the arena, over the header), or null. */
export function runsOutside(mem: PhysMem, rec: AtimesPagesRecord): string | null {
  for (let i = 0; i < rec.runs.length; i += 2) {
    const pfn = rec.runs[i]!, count = rec.runs[i + 1]!;
    if (pfn < 1 || pfn + count > mem.pageCount) return `its pages pfn:${pfn.toString(16)}+${count} pass the arena`;
  }
  return null;
}

/**
 * The record's entries from its pages (through the fd when the memory has one: nothing mapped), less those of each
 * page that fails its crc (`bad`); or what is malformed (then none is used).
 */
export function readAtimesPages(mem: PhysMem, rec: AtimesPagesRecord, bad: PageBad): AtimesRecord | string {
  const outside = runsOutside(mem, rec);
  if (outside) return outside;
  const ps = mem.pageSize, buf = Buffer.allocUnsafe(rec.crcs.length * ps), pfns: number[] = [];
  let at = 0;
  for (let i = 0; i < rec.runs.length; i += 2) {
    const pfn = rec.runs[i]!, count = rec.runs[i + 1]!;
    if (!mem.readAt?.(pfn * ps, buf, at, count * ps)) for (let q = 0; q < count; q++) buf.set(mem.page(pfn + q), at + q * ps);
    for (let q = 0; q < count; q++) pfns.push(pfn + q);
    at += count * ps;
  }
  atimesPagesRead.pages += pfns.length;
  return atimesOfPages(rec, buf, ps, (j, n, why) => bad(pfns[j]!, n, why));
}

/**
 * A full replay's reading of an ATIMES_PAGES record: its pages must lie in the arena, free (`busy`: the first busy
 * pfn of a run, or -1: the log's pages are reserved) and none another such record's (`sides`), else its atimes are
 * lost (the pages are not the log's); then read, each checked on its crc (a page that fails costs its entries). The
 * entries to apply as an ATIMES record's (its pages joined to `sides`), or null (`lost` told why).
 */
export function replayPages(mem: PhysMem, busy: (pfn: number, count: number) => number, sides: Set<number>, r: AtimesPagesRecord,
  lost: (what: string, n: number) => void): AtimesRecord | null {
  let why = runsOutside(mem, r);
  for (let i = 0; i < r.runs.length && !why; i += 2) {
    const b = busy(r.runs[i]!, r.runs[i + 1]!);
    if (b >= 0) why = `its page pfn:${b.toString(16)} is reserved already`;
    for (let q = r.runs[i]!; q < r.runs[i]! + r.runs[i + 1]! && !why; q++) if (sides.has(q)) why = `its page pfn:${q.toString(16)} is another ATIMES_PAGES record's`;
  }
  const a = why ?? readAtimesPages(mem, r, (q, n, w) => lost(pageLoss(q, w), n));
  if (typeof a !== 'string') {
    for (let i = 0; i < r.runs.length; i += 2) for (let q = r.runs[i]!; q < r.runs[i]! + r.runs[i + 1]!; q++) sides.add(q);
    return a;
  }
  lost(`(ATIMES_PAGES) is malformed: ${a}`, r.n);
  return null;
}

/** What a lost page of the record says after where the record is: its page, its entries, why. */
export function pageLoss(pfn: number, why: string): string {
  return `(ATIMES_PAGES) its page pfn:${pfn.toString(16)} ${why}`;
}

/** The replay's ATIMES_PAGES records' pages reserved as the log's (each found free when its record was applied); how many. */
export function reserveSides(memblock: Memblock, pfns: readonly number[]): number {
  for (const pfn of pfns) memblock.reserve(pfn, 1, Owner.Meta, 'pram log', true);
  return pfns.length;
}

/** An atimes loss of the record at log page `pfn`, byte `off` (atimesLoss's words). */
export function atimesLost(pfn: number, off: number, what: string, n: number): Loss {
  return { path: null, pfn, what: atimesLoss(`log record at pfn:${pfn.toString(16)} offset ${off}`, what, n, pfn) };
}

/** The words of every atimes loss (ATIMES, ATIMES_PAGES or a page of one): `where` and `what` said, then the cost. */
export function atimesLoss(where: string, what: string, n: number, commitPfn: number): string {
  return `${where} ${what}: atime updates of up to ${n} files in the commit at pfn:${commitPfn.toString(16)} are lost: kept the earlier atime`;
}
