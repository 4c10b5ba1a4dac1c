// A v3 log's stream read from its pages (docs/FORMAT.md §v3): the bytes of a
// stretch of the stream copied out of the pages that hold it, and, for a lazy
// mount's group load, every page header and next pointer of the pages read
// checked on the way. Those are checked in one typed-array pass (no object
// and no BigInt per page: a 4 GiB file's group spans ~1030 log pages); a page
// the pass cannot clear goes to the caller's exact check, which says what.

import type { PhysMem } from '../mem/physmem.js';
import { pageTable } from '../mem/native.js';
import { crc32cRanges } from '../format/crc.js';
import { LOG_HEADER, LOG_HEADER_CRC_AT, LOG_MAGIC, LOG_NEXT, logPayload, readLogHeader, readNext } from '../format/v3.js';

const HI = 2 ** 32;
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A log's pages by seq, as its page headers chain them (each header checked), up to `count` pages. */
export function logPages(mem: PhysMem, head: number, count: number): number[] | string {
  const pages: number[] = [];
  let pfn = head, logId = -1;
  for (let seq = 0; seq < count; seq++) {
    if (!(Number.isSafeInteger(pfn) && pfn >= 1 && pfn < mem.pageCount)) return `log page ${seq} pfn ${pfn} is outside the arena`;
    const h = readLogHeader(mem.page(pfn));
    if (typeof h === 'string') return `log page ${seq}: ${h}`;
    if (seq === 0) logId = h.logId;
    if (h.logId !== logId || h.seq !== seq) return `log page ${seq} belongs to another log`;
    pages.push(pfn);
    const next = readNext(mem.page(pfn));
    pfn = next > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(next);
  }
  return pages;
}

/** Pages a walk reads in one pread at most (1 MiB of 4 KiB pages): a log's pages often lie at consecutive pfns. */
const WALK_PAGES = 256;

/**
 * The pfns of log pages seq0..total-1 of log `logId`, the first at `pfn`, as their next pointers
 * chain them, each header checked as logPages does (magic, crc, first-record offset, this log's
 * id, its seq); or where the chain breaks. Read with pread in stretches of consecutive pfns and
 * checked by words (a lazy mount walks its tail this way: a read-all session's 16 MB of atimes is
 * ~4000 pages, and a mapped page, a view and a header object each cost ~4 us a page); through the
 * mapping, page by page, where the memory has no pread. `keep`: the pages read are kept, whole and
 * in seq order (WalkedPages), on memory V8 does not count when it is 1 MiB or more (a read-all
 * session's 16 MB tail, counted, brought a full collection of 5-20 ms into the mount; the tail's
 * records keep views of it).
 */
export function walkLog(mem: PhysMem, pfn: number, seq0: number, total: number, logId: number, keep?: WalkedPages): number[] | string {
  const out: number[] = [], ps = mem.pageSize, words = ps / 4, nextAt = (ps - LOG_NEXT) / 4;
  const idLo = (logId % HI) | 0, idHi = Math.floor(logId / HI) | 0;
  // keep: each stretch read where its first page goes in seq order (a stretch's pages past the chain's jump are
  // overwritten by the next one's); a page read otherwise (no pread) leaves no copy.
  if (keep) { keep.seq0 = seq0; keep.bytes = mem.readAt && LITTLE && ps % 4 === 0 && total > seq0 ? fresh((total - seq0) * ps, false) : null; }
  // Stretches read grow while the chain stays in them and start small again where it jumps (a tail of many
  // small commits has its pages between data pages: a 1 MiB read for each would read 256 times too much),
  // a page alone where the chain jumped from a stretch's first page.
  for (let seq = seq0, want = 8; seq < total;) {
    if (!(Number.isSafeInteger(pfn) && pfn >= 1 && pfn < mem.pageCount)) return `log page ${seq} is outside the arena`;
    const c = Math.min(total - seq, want, mem.pageCount - pfn);
    const buf = keep?.bytes ? keep.bytes.subarray((seq - seq0) * ps, (seq - seq0 + c) * ps) : mem.readAt && LITTLE && ps % 4 === 0 ? pagesScratch(c * ps) : null;
    if (!buf || buf.byteOffset % 4 !== 0 || !mem.readAt!(pfn * ps, buf, 0, c * ps)) {
      if (keep) keep.bytes = null;
      const page = mem.page(pfn), h = readLogHeader(page);
      if (typeof h === 'string' || h.logId !== logId || h.seq !== seq) return `log page ${seq} does not belong to the log`;
      out.push(pfn);
      seq++;
      pfn = Number(readNext(page));
      continue;
    }
    const sums = headerSums(buf, c, ps), sumsI = new Int32Array(sums.buffer, sums.byteOffset, c);
    const w = new Int32Array(buf.buffer, buf.byteOffset, c * words);
    for (let i = 0; ; i++) {
      const at = i * words, s = seq + i;
      if (!headerWordsOk(w, at, sumsI[i]!, idLo, idHi, s, ps)) return `log page ${s} does not belong to the log`;
      out.push(pfn + i);
      const next = (w[at + nextAt + 1]! >>> 0) * HI + (w[at + nextAt]! >>> 0);
      if (i + 1 === c || next !== pfn + i + 1) {           // the chain leaves the stretch read
        // A jump after the stretch's first page: the chain is scattered (a tail of small commits, its pages a few
        // apart among data pages), and a stretch of 8 read 5 times the pages it needed; the next reads 1 then.
        want = next === pfn + i + 1 ? Math.min(4 * want, WALK_PAGES) : i === 0 ? 1 : 8;
        seq += i + 1; pfn = next; break;
      }
    }
  }
  return out;
}

/**
 * Log pages seq0.. as walkLog read them (`keep`): whole, in seq order, each header and next pointer checked;
 * bytes null when the walk could not keep them (memory without pread). A lazy mount reads its index, RUNS
 * and tail out of them (walkedBytes) instead of reading the same pages again.
 */
export interface WalkedPages { seq0: number; bytes: Buffer | null }

/**
 * Stream bytes [pos, pos + n) out of the walked pages, or null when they do not hold them all. A copy; or
 * (`inPlace`) the payloads moved together over the walked pages' bytes, a view of them: only for the last read
 * of those pages (its first page's bytes before pos, and anything after, are overwritten).
 */
export function walkedBytes(w: WalkedPages, pageSize: number, pos: number, n: number, inPlace: boolean): Buffer | null {
  const per = logPayload(pageSize), ps = pageSize;
  if (!w.bytes || n <= 0 || LOG_HEADER + per + LOG_NEXT !== ps) return null;
  const s0 = Math.floor(pos / per), s1 = Math.floor((pos + n - 1) / per);
  if (s0 < w.seq0 || (s1 + 1 - w.seq0) * ps > w.bytes.length) return null;
  const whole = w.bytes.subarray((s0 - w.seq0) * ps, (s1 + 1 - w.seq0) * ps);
  if (inPlace) return payloadsTogether(whole, s0, pos, n, per, ps);
  const out = fresh(n);
  for (let done = 0; done < n;) {
    const seq = Math.floor((pos + done) / per), off = (pos + done) % per, take = Math.min(n - done, per - off);
    whole.copy(out, done, (seq - s0) * ps + LOG_HEADER + off, (seq - s0) * ps + LOG_HEADER + off + take);
    done += take;
  }
  return out;
}

/**
 * The pages streamBytes reads are checked against: each one's header (magic, crc, first-record
 * offset, this log's id, its seq) and next pointer (the next page of `pages`, when there is one).
 * `exact`: told each page the typed pass did not clear (every page, where there is none: memory
 * without pread), its whole bytes and its header's computed crc when known; it checks and reports.
 */
export interface PageCheck { logId: number; exact: (seq: number, page: Buffer, headerCrc?: number) => void }

/** Bytes of the whole log pages holding stream bytes [pos, pos + n): what an `into` buffer of streamBytes needs. */
export function streamPagesBytes(pageSize: number, pos: number, n: number): number {
  const per = logPayload(pageSize);
  return (Math.floor((pos + n - 1) / per) - Math.floor(pos / per) + 1) * pageSize;
}

/**
 * Stream bytes [pos, pos + n) of the log whose pages are `pages` (copied), or null past them.
 * Read with pread where the memory has it (one call per stretch of consecutive pfns): a first
 * touch of a mapped page costs a fault, more than the copy; else through the mapping.
 * `into`: the caller's buffer, used when it holds streamPagesBytes (the bytes returned are then
 * a view of it, valid while the caller does not reuse it): a group load reuses one, where fresh
 * memory costs a fault per page first touched (a new huge mapping under memory pressure: 10-36 ms a 2.5 MB group).
 */
export function streamBytes(mem: PhysMem, pages: readonly number[], pos: number, n: number, check?: PageCheck, into?: Buffer): Buffer | null {
  const per = logPayload(mem.pageSize), ps = mem.pageSize;
  if (LOG_HEADER + per + LOG_NEXT !== ps) return null;
  const s0 = Math.floor(pos / per), s1 = Math.floor((pos + n - 1) / per);
  for (let s = s0; s <= s1; s++) if (pages[s] === undefined) return null;
  // From 1 MiB on (or into the caller's buffer) the pages are read into memory the bytes are returned in, and their
  // payloads moved together in place: in a fresh process each 4 KiB first touched costs a fault (~1-4 us here), as much as the copy.
  const own = into !== undefined && into.length >= (s1 - s0 + 1) * ps;
  const inPlace = own || n >= 1 << 20;
  let whole: Buffer | null = null;
  // One page too: through the mapping it would map the page's segment (16 MiB; a lazy mount's index and RUNS
  // lie past the data, so their segment would be mapped at every mount: lazyboot.ts headPage says what that costs).
  if (mem.readAt) {
    whole = own ? into!.subarray(0, (s1 - s0 + 1) * ps) : inPlace ? fresh((s1 - s0 + 1) * ps) : pagesScratch((s1 - s0 + 1) * ps);
    for (let s = s0; s <= s1 && whole;) {
      let e = s + 1;
      while (e <= s1 && pages[e] === pages[e - 1]! + 1) e++;
      if (!mem.readAt(pages[s]! * ps, whole, (s - s0) * ps, (e - s) * ps)) whole = null;
      s = e;
    }
  }
  if (check && n > 0) {
    if (whole) checkHeaders(whole, s0, s1, ps, pages, check);
    else for (let s = s0; s <= s1; s++) check.exact(s, mem.page(pages[s]!));
  }
  if (whole && inPlace) return payloadsTogether(whole, s0, pos, n, per, ps);
  const out = fresh(n);
  for (let done = 0; done < n;) {
    const seq = Math.floor((pos + done) / per), off = (pos + done) % per;
    const take = Math.min(n - done, per - off);
    if (whole) whole.copy(out, done, (seq - s0) * ps + LOG_HEADER + off, (seq - s0) * ps + LOG_HEADER + off + take);
    else mem.page(pages[seq]!).copy(out, done, LOG_HEADER + off, LOG_HEADER + off + take);
    done += take;
  }
  return out;
}

/**
 * Stream bytes [pos, pos + n) out of `whole` (log pages from seq s0, whole), each page's payload
 * moved down over the headers and next pointers before it (overwritten: read before this); the view returned.
 */
function payloadsTogether(whole: Buffer, s0: number, pos: number, n: number, per: number, ps: number): Buffer {
  for (let done = 0; done < n;) {
    const seq = Math.floor((pos + done) / per), off = (pos + done) % per;
    const take = Math.min(n - done, per - off), from = (seq - s0) * ps + LOG_HEADER + off;
    whole.copyWithin(done, from, from + take);    // done <= from: an overlap moves down (memmove)
    done += take;
  }
  return whole.subarray(0, n);
}

/**
 * Log pages s0..s1 as read whole into `whole`, their headers and next pointers checked in one pass
 * over the words (the headers' crcs in one native call); a page that does not pass goes to check.exact.
 * Words are read signed (|0 on the other side): a word of 2^31 and more read unsigned is a heap number in cold code.
 */
function checkHeaders(whole: Buffer, s0: number, s1: number, ps: number, pages: readonly number[], check: PageCheck): void {
  const k = s1 - s0 + 1, sums = headerSums(whole, k, ps), sumsI = new Int32Array(sums.buffer, sums.byteOffset, k);
  const aligned = LITTLE && whole.byteOffset % 4 === 0 && ps % 4 === 0;
  const w = aligned ? new Int32Array(whole.buffer, whole.byteOffset, (k * ps) / 4) : null;
  const idLo = (check.logId % HI) | 0, idHi = Math.floor(check.logId / HI) | 0, nextAt = (ps - LOG_NEXT) / 4, words = ps / 4;
  for (let i = 0, at = 0; i < k; i++, at += words) {
    const seq = s0 + i;
    if (w && headerWordsOk(w, at, sumsI[i]!, idLo, idHi, seq, ps)) {
      const next = seq + 1 < pages.length ? pages[seq + 1] : -1;
      if (next === -1 || (next !== undefined && w[at + nextAt] === ((next % HI) | 0) && w[at + nextAt + 1] === (Math.floor(next / HI) | 0))) continue;
    }
    check.exact(seq, whole.subarray(i * ps, (i + 1) * ps), sums[i]);
  }
}

/**
 * The header of the log page whose words begin at w[at], as readLogHeader and the log's own checks judge it: magic,
 * crc (`sum`: its header bytes' crc32c, signed), log id (idLo, idHi: its words, signed), seq, first-record offset.
 * Header words: 0 magic, 1 first record's offset, 2-3 log id, 4-5 seq, 6 reserved, 7 crc of bytes 0..27.
 */
function headerWordsOk(w: Int32Array, at: number, sum: number, idLo: number, idHi: number, seq: number, ps: number): boolean {
  const first = w[at + 1]!;
  return w[at] === LOG_MAGIC && w[at + 7] === sum && w[at + 2] === idLo && w[at + 3] === idHi && w[at + 4] === ((seq % HI) | 0) &&
    w[at + 5] === (Math.floor(seq / HI) | 0) && (first === 0 || (first >= LOG_HEADER && first < ps - LOG_NEXT && first % 8 === 0));
}

/** The crc32c of each of the k whole log pages' header bytes 0..27 in `whole`. */
function headerSums(whole: Buffer, k: number, ps: number): Uint32Array {
  const offsets = new Uint32Array(k), lengths = new Uint32Array(k).fill(LOG_HEADER_CRC_AT), out = new Uint32Array(k);
  for (let i = 0; i < k; i++) offsets[i] = i * ps;
  crc32cRanges(whole, offsets, lengths, k, out);
  return out;
}

/**
 * A buffer for n bytes: from 1 MiB on, on huge pages (mem/native pageTable). A fresh
 * process touches every page of a new buffer once, and each 4 KiB touch costs a fault
 * (~1-4 us here): a 100 MiB tail read cost ~1 s of faults in its copies. `counted` false:
 * from 1 MiB on, memory V8 leaves out of its external count (mem/native.ts pageTable).
 */
export function fresh(n: number, counted = true): Buffer {
  return n >= 1 << 20 ? Buffer.from(pageTable(n, counted)) : Buffer.allocUnsafe(n);
}

/** Whole log pages as streamBytes reads them: one buffer kept across calls up to 8 MiB (a fresh one costs a page fault per page). */
let scratch = Buffer.alloc(0);
function pagesScratch(n: number): Buffer {
  if (n > 8 << 20) return fresh(n);
  if (scratch.length < n) scratch = fresh(Math.max(n, Math.min(2 * scratch.length, 8 << 20)));
  return scratch.subarray(0, n);
}
