// The pages of an ATIMES_PAGES record (v3 minor 6, docs/FORMAT.md §v3): a large batch of
// atime-only changes written outside the log, which the record names with each page's first
// ino. A full replay reads them all when it applies the record; a lazy mount reserves them
// unread and reads a page when a lookup's ino falls in it (tailatimes.ts). Either way each page
// is checked on its own crc: a damaged page costs the atimes it held (they keep their earlier
// value), no more.

import type { PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import { Owner } from '../boot/frames.js';
import { atimesOfPage, atimesPageEntries, atimesPagesFit, type AtimesPagesRecord, type AtimesRecord } from '../format/v3.js';
import type { Loss } from './image.js';
import { runPfns } from './pageruns.js';

/** Pages of ATIMES_PAGES records read so far in this process (tests: a lazy mount reads none, a lookup one). */
export const atimesPagesRead = { pages: 0 };

/** How a lookup reads a record's pages (the lazy mount's memory): whether they fit it, page j's entries, where page j is. */
export interface PagesReader {
  fit(r: AtimesPagesRecord): string | null;
  page(r: AtimesPagesRecord, j: number): AtimesRecord | string;
  where(r: AtimesPagesRecord, j: number): { pfn: number; n: number };
}

/** Why the record's runs cannot be its pages (outside the arena), or why they cannot hold its entries at this page size; null: they can. */
function unfit(mem: PhysMem, rec: AtimesPagesRecord): string | null {
  for (let i = 0; i < rec.runs.length; i += 2) {
    const pfn = rec.runs[i]!, count = rec.runs[i + 1]!;
    if (pfn < 1 || pfn + count > mem.pageCount) return `its pages pfn:${pfn.toString(16)}+${count} pass the arena`;
  }
  return atimesPagesFit(rec, mem.pageSize);
}

/** The pfn of the record's page j. */
function pfnOf(rec: AtimesPagesRecord, j: number): number {
  for (let i = 0; i < rec.runs.length; i += 2) {
    if (j < rec.runs[i + 1]!) return rec.runs[i]! + j;
    j -= rec.runs[i + 1]!;
  }
  return -1;
}

/** Page j's entries, read through the fd when the memory has one (nothing mapped) and checked (atimesOfPage), or why not. */
function readPage(mem: PhysMem, rec: AtimesPagesRecord, j: number, buf: Buffer): AtimesRecord | string {
  const pfn = pfnOf(rec, j);
  if (!mem.readAt?.(pfn * mem.pageSize, buf, 0, mem.pageSize)) buf.set(mem.page(pfn));
  atimesPagesRead.pages++;
  return atimesOfPage(rec, j, buf);
}

/** The lazy mount's reader of ATIMES_PAGES records' pages (one at a time, as lookups need them). */
export function pagesReader(mem: PhysMem): PagesReader {
  const buf = Buffer.alloc(mem.pageSize);
  return {
    fit: (r) => unfit(mem, r),
    page: (r, j) => readPage(mem, r, j, buf),
    where: (r, j) => ({ pfn: pfnOf(r, j), n: atimesPageEntries(r, j, mem.pageSize) }),
  };
}

/**
 * A full replay's reading of an ATIMES_PAGES record: its pages must lie in the arena, hold its entries, be free
 * (`busy`: the first busy pfn of a run, or -1: the log's pages are reserved) and none another such record's
 * (`sides`), else its atimes are lost (the pages are not the log's); then each page read and checked (one that
 * fails costs its entries). The good pages' entries to apply as ATIMES records (its pages joined to `sides`), or
 * null (`lost` told why).
 */
export function replayPages(mem: PhysMem, busy: (pfn: number, count: number) => number, sides: Set<number>, r: AtimesPagesRecord,
  lost: (what: string, n: number) => void): AtimesRecord[] | null {
  let why = unfit(mem, r);
  for (let i = 0; i < r.runs.length && !why; i += 2) {
    const b = busy(r.runs[i]!, r.runs[i + 1]!);
    if (b >= 0) why = `its page pfn:${b.toString(16)} is reserved already`;
    for (let q = r.runs[i]!; q < r.runs[i]! + r.runs[i + 1]! && !why; q++) if (sides.has(q)) why = `its page pfn:${q.toString(16)} is another ATIMES_PAGES record's`;
  }
  if (why) { lost(`(ATIMES_PAGES) is malformed: ${why}`, r.n); return null; }
  const out: AtimesRecord[] = [], buf = Buffer.alloc(mem.pageSize);
  for (let j = 0; j < r.crcs.length; j++) {
    const a = readPage(mem, r, j, buf);
    if (typeof a === 'string') lost(pageLoss(pfnOf(r, j), a), atimesPageEntries(r, j, mem.pageSize));
    else out.push(a);
  }
  for (const q of runPfns(r.runs)) sides.add(q);
  return out;
}

/** The replay's ATIMES_PAGES records' pages reserved as the log's (each found free when its record was applied); how many. */
export function reserveSides(memblock: Memblock, pfns: readonly number[]): number {
  for (const pfn of pfns) memblock.reserve(pfn, 1, Owner.Meta, 'pram log', true);
  return pfns.length;
}

/** What a lost page of the record says after where the record is. */
export function pageLoss(pfn: number, why: string): string {
  return `(ATIMES_PAGES) its page pfn:${pfn.toString(16)} ${why}`;
}

/** An atimes loss of the record at log page `pfn`, byte `off` (ATIMES, ATIMES_PAGES or a page of one; `what` says which and why). */
export function atimesLost(pfn: number, off: number, what: string, n: number): Loss {
  return { path: null, pfn, what: `log record at pfn:${pfn.toString(16)} offset ${off} ${what}: atime updates of up to ${n} files in the commit at pfn:${pfn.toString(16)} are lost: kept the earlier atime` };
}
