// The lazy mount's boot (docs/FORMAT.md §v3 minor 3): the slot, LOCATE, the log
// pages from the index's page on, the index and its RUNS, and the records after
// them (tail.ts) are read and checked, then the log's pages and every data page
// the RUNS list are reserved: no group is read, no log page before the index is
// touched. Apart from lazy.ts, whose LazyLog it hands back: this runs once, before
// the allocator, and owns the run arithmetic of what to reserve; LazyLog loads
// the groups afterwards, as fs/ asks. Anything this boot cannot trust (no RUNS, a
// page or run that does not fit) is a string saying why, and the caller replays
// the whole log instead: nothing is reserved then.

import { readPage, type PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import { Owner } from '../boot/frames.js';
import type { SlotLog } from '../format/header.js';
import { decodeLocate, LOCATE_BYTES, LOCATE_SIZE, LOG_HEADER, logPayload, readLogHeader, RECORD_HEADER, RecordType } from '../format/v3.js';
import { homeOf, readGroup, readIndex } from './groups.js';
import { readGroupThin } from './groupthin.js';
import { streamBytes, walkedBytes, walkLog, type WalkedPages } from './stream.js';
import { tailOverlay, type TailOverlay } from './tail.js';
import { SpanCrcs } from './spans.js';
import { cutRuns, normalRuns } from './pageruns.js';
import { LazyLog } from './lazy.js';
import { LazyCursor, SeqPages } from './logpages.js';

/**
 * The lazy boot of the log a slot names, or why it cannot be one. Nothing is
 * reserved unless every run checks (in the arena, above the header, free, no
 * two overlapping).
 */
export function lazyBoot(mem: PhysMem, memblock: Memblock, slot: { headPfn: number; log: SlotLog }): LazyLog | string {
  const head = slot.headPfn, per = logPayload(mem.pageSize), total = slot.log.logPages;
  if (!(head >= 1 && head < mem.pageCount) || total < 1) return 'the slot names no log';
  const b = readPage(mem, head), h = readLogHeader(b);   // not mapped (mem/physmem.ts readPage says why)
  if (typeof h === 'string' || h.seq !== 0) return 'the head page\'s header';
  const bytes = (total - 1) * per + slot.log.tailOff - LOG_HEADER;
  // LOCATE lies in the head page (80 bytes from the stream's start): read it there, checked by readIndex below.
  if (bytes < LOCATE_BYTES || b.readUInt16LE(LOG_HEADER + 4) !== RecordType.Locate) return 'no LOCATE';
  const at = LOG_HEADER + RECORD_HEADER, locate = decodeLocate(b.subarray(at, at + LOCATE_SIZE));
  if (typeof locate === 'string') return `LOCATE: ${locate}`;
  const { indexPos, indexBytes, runsBytes, indexPfn } = locate;
  if (runsBytes === 0) return 'no RUNS (a log of before v3 minor 3)';
  if (indexPos + indexBytes + runsBytes > bytes) return 'RUNS past the log\'s end';
  const tailAt = indexPos + indexBytes + runsBytes;
  // The pages from the index's on, through their next pointers, each header checked.
  const seq0 = Math.floor(indexPos / per);
  if (!(seq0 < total)) return 'the index is past the log';
  // The walk keeps the pages it reads: the index, RUNS and tail are read out of them, not read again.
  const walked: WalkedPages = { seq0, bytes: null };
  const after = walkLog(mem, indexPfn, seq0, total, h.logId, walked);
  if (typeof after === 'string') return after;
  if (after[after.length - 1] !== slot.log.tailPfn) return 'the walk does not end at the slot\'s tail';
  // The log's pages by seq: the LOG runs (checked below) and the walk's; listed only when the writer first needs them.
  let pages = new SeqPages(new Float64Array(0), seq0, after);
  // Where the walk kept no pages (memory without pread), the index is read through the pages from the index's on.
  const sparsePages = (pos: number, n: number): readonly number[] => pages.span(Math.floor(pos / per), Math.floor((pos + Math.max(n, 1) - 1) / per));
  // (readIndex's page list is only its default reader's: LOCATE and a reader are given.)
  const index = readIndex(mem, [], bytes, h.logId, b.subarray(LOG_HEADER, LOG_HEADER + LOCATE_BYTES),
    (pos, n) => walkedBytes(walked, mem.pageSize, pos, n, false) ?? streamBytes(mem, sparsePages(pos, n), pos, n));
  if (typeof index === 'string') return index;
  if (!index.runs) return 'no RUNS';
  // The pages before the index's, from the LOG runs: checked as runs, not listed (logpages.ts: a million files' log
  // is ~61 000 pages, listing them cost ~2 ms in code not yet compiled).
  const logRuns = index.runs.log;
  let listed = 0;
  for (let i = 1; i < logRuns.length; i += 2) listed += logRuns[i]!;
  if (listed > seq0) return 'the LOG runs list more pages than lie before the index';
  if (listed !== seq0) return `the LOG runs list ${listed} pages, ${seq0} lie before the index`;
  if (seq0 > 0 && logRuns[0] !== head) return 'the LOG runs do not begin at the head';
  pages = new SeqPages(logRuns, seq0, after);
  // Records after the RUNS (later commits): the groups they touch, replayed with them (tail.ts).
  let tail: TailOverlay | null = null, dataRuns = index.runs.data;
  const crcs = new SpanCrcs();
  if (tailAt < bytes) {
    if (index.runs.homes.length === 0) return 'records after the index (later commits), and no HOMES to place them';
    // The walked pages' last read: the payloads moved together in place (no copy).
    const raw = walkedBytes(walked, mem.pageSize, tailAt, bytes - tailAt, true) ?? streamBytes(mem, sparsePages(tailAt, bytes - tailAt), tailAt, bytes - tailAt);
    if (!raw) return 'the tail is past the log pages';
    const homes = index.runs.homes;
    const t = tailOverlay(raw, { index, homeOf: (ino) => index.dirs.has(ino) ? ino : index.links.get(ino) ?? homeOf(homes, ino),
      // A group of large files' SPANs without their page crcs (groupthin.ts): read when each file is adopted.
      group: (dir) => {
        const e = index.dirs.get(dir)!, at = sparsePages(e.pos, e.bytes);
        return readGroupThin(mem, at, e, h.logId, homes) ?? readGroup(mem, at, e, h.logId);
      } }, crcs, index.runs.data, after);
    if (typeof t === 'string') return `the tail: ${t}`;
    // LazyTree finds a touched directory's way up by HOMES (a directory's entry is its parent). A compaction in
    // slices by older code listed each directory as itself: its touched directories have no way up (it could go
    // round once the tail moves one), so such a log is told by that and replayed whole. The root is itself in every log.
    for (const d of t.touched) if (d !== 1 && homeOf(homes, d) === d) return `the tail: directory ${d} has no parent in HOMES (a compaction in slices by older code)`;
    tail = t;
    dataRuns = retouched(dataRuns, t.before.pages, t.after.pages);
    // The space model's totals as a full replay counts them: the touched groups as the tail left them.
    index.runs.modelBytes += t.after.bytes - t.before.bytes;
    index.runs.inline += t.after.inline - t.before.inline;
    // Groups whose records wait for their load: the pages those name reserved too, their records charged as new (settled at the load).
    const more: number[] = [];
    for (const d of t.deferred.values()) {
      index.runs.modelBytes += d.charge.bytes;
      index.runs.inline += d.charge.inline;
      for (const p of d.pages) more.push(p);      // (pfn, count) pairs
    }
    if (more.length) dataRuns = withPages(dataRuns, more);
  }
  let data = 0;
  for (let i = 1; i < dataRuns.length; i += 2) data += dataRuns[i]!;
  // The tail's ATIMES_PAGES records' pages (minor 6) are the log's, reserved unread: a page listed twice is refused below.
  const runs = reservable(mem, memblock, [...metaRuns(logRuns, after), ...(tail?.atimes?.runs() ?? [])], dataRuns);
  if (typeof runs === 'string') return runs;
  // pram's own pages are reserved with banning off (as the replay does): they stay usable by pram.
  const ban = memblock.banWhileReserving;
  memblock.banWhileReserving = false;
  try {
    for (const [start, count, owner] of runs) memblock.reserve(start, count, owner, owner === Owner.Meta ? 'pram log' : 'pram page', true);
  } finally { memblock.banWhileReserving = ban; }
  return new LazyLog(mem, index, new LazyCursor(h.logId, pages, slot.log.tailOff, bytes), data, tail, crcs);
}

/**
 * The DATA runs less the pages the tail's groups held before it and not after, plus those they hold only after it
 * (before, after: normalRuns). Run arithmetic: a touched group may hold a file of millions of pages.
 */
function retouched(data: Float64Array, before: readonly number[], after: readonly number[]): Float64Array {
  const drop = cutRuns(before, after), add = cutRuns(after, before);
  if (drop.length === 0 && add.length === 0) return data;
  // reservable() sorts, and refuses a page listed twice (an added page the DATA runs hold as well).
  return Float64Array.from([...cutRuns(data, drop), ...add]);
}

/** The data runs and the (pfn, count) pairs `more`, a page named twice once (reservable() refuses one listed twice). */
function withPages(data: Float64Array, more: number[]): Float64Array {
  return Float64Array.from([...data, ...normalRuns(more)]);
}

/** The log's pages as (pfn, count) runs of consecutive pfns: the LOG runs as listed, then `after`'s (no pass over the LOG runs' pages). */
function metaRuns(logRuns: Float64Array, after: readonly number[]): number[] {
  const runs: number[] = [];
  const add = (pfn: number, count: number): void => {
    const k = runs.length - 2;
    if (k >= 0 && runs[k]! + runs[k + 1]! === pfn) runs[k + 1] = runs[k + 1]! + count;
    else runs.push(pfn, count);
  };
  for (let i = 0; i < logRuns.length; i += 2) add(logRuns[i]!, logRuns[i + 1]!);
  for (let i = 0; i < after.length;) {
    let j = i + 1;
    while (j < after.length && after[j] === after[j - 1]! + 1) j++;
    add(after[i]!, j - i);
    i = j;
  }
  return runs;
}

/** The log's runs (metaRuns) and the data runs as runs to reserve, or why one cannot be (outside, over the header, busy, overlapping). */
function reservable(mem: PhysMem, memblock: Memblock, meta: readonly number[], data: Float64Array): [number, number, Owner][] | string {
  const runs: [number, number, Owner][] = [];
  for (let i = 0; i < meta.length; i += 2) runs.push([meta[i]!, meta[i + 1]!, Owner.Meta]);
  for (let i = 0; i < data.length; i += 2) runs.push([data[i]!, data[i + 1]!, Owner.Data]);
  runs.sort((a, b) => a[0] - b[0]);
  // Runs that meet and have one owner are reserved as one (a read-all session's ATIMES_PAGES runs lie between the
  // log's pages: ~160 runs, ~2 once joined, each reservation a cold call at mount).
  const joined: [number, number, Owner][] = [];
  let end = 1;
  for (let k = 0; k < runs.length; k++) {
    const run = runs[k]!, start = run[0], count = run[1], last = joined[joined.length - 1];
    if (start < end || start + count > mem.pageCount) return `pages ${start}+${count} overlap others, the header, or pass the arena's end`;
    if (last && start === end && last[2] === run[2]) last[1] += count;
    else joined.push(run);
    end = start + count;
  }
  for (const [start, count] of joined) if (memblock.busyPfn(start, count) >= 0) return `pages ${start}+${count} are reserved already`;
  return joined;
}
