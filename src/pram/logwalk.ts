// The first step of a v3 mount (replay.ts): the log pages a header slot names, from its head to
// the committed tail, each page's header checked (magic, crc, log id, seq), the walk bounded by
// the slot's page count; every page reserved through memblock (a stretch of consecutive pfns as
// one reservation). A page that does not fit ends the walk: what follows is reported lost (the
// log is cut there) -- unless the log itself still says which page it is: a page whose header
// alone is damaged between pages that chain to it (walkPast) or before the page the slot or the
// index names at the next seq, or, after a damaged next pointer,
// the slot's tail page or the page the log's index names (logindexed.ts), or the head page whose
// header alone is damaged when its first record and the page after it say its log id (headNamed).
// A large log is read through the arena's fd (LogPages).
import type { PhysMem } from '../mem/physmem.js';
import { pageTable } from '../mem/native.js';
import type { Memblock } from '../boot/memblock.js';
import { Owner } from '../boot/frames.js';
import { assert } from '../format/assert.js';
import type { SlotLog } from '../format/header.js';
import { framedCrc, LOG_HEADER, LOG_NEXT, readLogHeader, RECORD_NAMES } from '../format/v3.js';
import { align8, RECORD_HEADER, u32, u64 } from '../format/v3-base.js';
import { indexedPages } from './logindexed.js';
import type { Segment } from './segment.js';


/** The log's pages in order (whole: it reached the slot's tail); `lose` hears why a walk was cut. */
export function walkLog(mem: PhysMem, memblock: Memblock, slot: { headPfn: number; generation: number; log: SlotLog },
  lose: (pfn: number | null, what: string) => void): { segments: Segment[]; pages: number[]; logId: number; bytes: number; whole: boolean } {
  const ps = mem.pageSize;
  const segments: Segment[] = [];
  const pages: number[] = [];
  let pfn = slot.headPfn, logId = -1, bytes = 0, whole = false;
  const hex = (p: number | bigint) => p.toString(16);
  const copies = new LogPages(mem, slot.log.logPages);
  // Pages taken, reserved once per stretch of consecutive pfns (a compacted log is one): not a record a page.
  let held = 0, heldCount = 0;
  const flush = () => {
    if (heldCount && !memblock.reserve(held, heldCount, Owner.Meta, 'pram log', true)) assert(false, 'every log page was checked free');
    heldCount = 0;
  };
  let seq = 0;
  // One closure for the walk, not one a page (a 12 GiB image's log has ~3 000 pages).
  const cut = (why: string) => lose(Number.isSafeInteger(pfn) && pfn > 0 && pfn < mem.pageCount ? pfn : null,
    `log page ${seq} pfn:${hex(pfn)} ${why}: the records after it are lost (log cut at page ${seq} of ${slot.log.logPages})`);
  const free = (p: number) => Number.isSafeInteger(p) && p >= 1 && p < mem.pageCount && mem.present(p) &&
    !(p >= held && p < held + heldCount) && memblock.busyPfn(p, 1) < 0;
  // Log page seq at pfn, or why it is not: its header checked (a damaged one walked past when the log names the
  // page all the same: the slot's tail, the log's index, or the pages on both sides, walkPast; `first` then unknown, 0).
  const pageAt = (at: number, seq: number): { page: Buffer; first: number } | string => {
    if (!(Number.isSafeInteger(at) && at >= 1 && at < mem.pageCount && mem.present(at))) return 'is outside the arena';
    if (!free(at)) return 'is already reserved (a cycle, or a page of something else)';
    const page = copies.page(at, seq), h = readLogHeader(page);
    if (typeof h !== 'string') {
      if (seq === 0) logId = h.logId;
      return h.logId !== logId || h.seq !== seq ? `belongs to another log (log id ${h.logId}, seq ${h.seq}; expected ${logId}, ${seq})` : { page, first: h.first };
    }
    const tail = at === slot.log.tailPfn && seq === slot.log.logPages - 1;
    if (seq === 0) {
      const head = headNamed(mem, page, slot.generation, tail, (p) => free(p) && p !== at);
      if (!head) return `has a damaged header (${h})`;
      logId = head.logId;
      lose(at, `log page 0 pfn:${hex(at)}, the head, has a damaged header (${h}); the slot names it and ${head.why}: walked past, its records read and each checked`);
      return { page, first: LOG_HEADER };
    }
    const why = tail ? 'the slot names it as the log\'s tail' : indexed(seq) === at ? 'the log\'s index names it'
      : walkPast(mem, page, seq, logId, (p) => free(p) && p !== at) ? `the page before leads to it and it leads to log page ${seq + 1}`
      : u64(page, page.length - LOG_NEXT) === named(seq + 1) ? `the page before leads to it and it leads to log page ${seq + 1}, which the slot or the log's index names` : null;
    if (!why) return `has a damaged header (${h})`;
    lose(at, `log page ${seq} pfn:${hex(at)} has a damaged header (${h}); ${why}: walked past, its records read and each checked ` +
      `(where its first record begins is unknown: a damaged record before it resyncs past it)`);
    return { page, first: 0 };
  };
  // Log page seq as the slot (its tail) or the log's index names it, when a next pointer leads elsewhere.
  let index: (number | undefined)[] | null | undefined;
  const indexed = (seq: number): number | undefined => (index === undefined ? (index = indexedPages(mem, slot, logId)) : index)?.[seq];
  const named = (seq: number): number | undefined => seq === slot.log.logPages - 1 ? slot.log.tailPfn : indexed(seq);
  for (; ; seq++) {
    if (seq >= slot.log.logPages) { cut('is past the page count the slot records'); break; }
    let step = pageAt(pfn, seq);
    const other = typeof step === 'string' && seq > 0 ? named(seq) : undefined;
    const there = other !== undefined && other !== pfn ? pageAt(other, seq) : null;
    if (there !== null && typeof there !== 'string') {
      // The page before leads elsewhere (its next pointer damaged): the slot or the index names the page itself.
      lose(pages[seq - 1]!, `log page ${seq - 1} pfn:${hex(pages[seq - 1]!)}: its next pointer is damaged ` +
        `(it leads to pfn:${hex(pfn)}): ${seq === slot.log.logPages - 1 ? 'the slot names log page ' + seq + ', its tail,' : 'the log\'s index names log page ' + seq}` +
        ` at pfn:${hex(other!)}: the walk goes on there`);
      pfn = other!;
      step = there;
    }
    if (typeof step === 'string') { cut(step); break; }
    const { page, first } = step;
    if (heldCount && held + heldCount === pfn) heldCount++; else { flush(); held = pfn; heldCount = 1; }
    pages.push(pfn);
    const tail = pfn === slot.log.tailPfn && seq === slot.log.logPages - 1;
    const end = tail ? slot.log.tailOff : ps - LOG_NEXT;
    if (end < LOG_HEADER || end > ps - LOG_NEXT) { cut(`ends its stream at ${end}, outside the page`); break; }
    segments.push({ pfn, start: LOG_HEADER, end, first, page });
    bytes += end - LOG_HEADER;
    if (tail) { whole = true; break; }
    pfn = u64(page, page.length - LOG_NEXT) ?? -1;   // readNext's value as a number (no BigInt a page); over 2^53: outside
  }
  flush();
  return { segments, pages, logId, bytes, whole };
}

/** Whether pfn is a page of the log at seq, as its header says (a present page of the arena, its header whole). */
function fits(mem: PhysMem, pfn: number, seq: number, logId: number): boolean {
  if (!(Number.isSafeInteger(pfn) && pfn >= 1 && pfn < mem.pageCount && mem.present(pfn))) return false;
  const h = readLogHeader(mem.page(pfn));
  return typeof h !== 'string' && h.logId === logId && h.seq === seq;
}

/**
 * Whether log page seq, reached through the page before's next pointer, is the log's though its header is damaged: its
 * own next pointer leads to a page whose whole header says this log and seq + 1. Both neighbours name it, so it is
 * the page the log wrote there (a next pointer is outside any crc: the walk always trusts one the page it leads to
 * confirms); its stream bytes are read as any page's, each record checked by its own crc. A header whose crc checks
 * but names another log or seq is no damaged header: that page is not walked past.
 */
function walkPast(mem: PhysMem, page: Buffer, seq: number, logId: number, free: (pfn: number) => boolean): boolean {
  const next = u64(page, page.length - LOG_NEXT);
  return next !== null && free(next) && fits(mem, next, seq + 1, logId);
}

/**
 * The log id of a head page whose header is damaged (the slot names the page as its head), when the log still says it:
 * the page its next pointer leads to has a whole header of seq 1 (its log id), or the slot names the head as its tail
 * too (a log of one page); and the head's first record, when it lies whole in the page (LOCATE, or a group's first
 * INODE), checks and carries that log id as its generation (mod 2^32). A log's first record is always a compaction's,
 * so its generation is the log id: in a one-page log the log id is the latest at or below the slot's generation with
 * those low 32 bits (commits appended since the compaction: fewer than 2^32). Null: the log does not say.
 */
function headNamed(mem: PhysMem, page: Buffer, generation: number, tail: boolean, free: (pfn: number) => boolean): { logId: number; why: string } | null {
  const first = firstGeneration(page), next = u64(page, page.length - LOG_NEXT);
  const h = next !== null && free(next) ? readLogHeader(mem.page(next)) : null;
  if (h !== null && typeof h !== 'string' && h.seq === 1) {
    if (first !== null && first !== h.logId % 2 ** 32) return null;
    return { logId: h.logId, why: `log page 1 (pfn:${next!.toString(16)}, where its next pointer leads) says log id ${h.logId}` + (first !== null ? ', as its first record does' : '') };
  }
  if (!tail || first === null) return null;
  const logId = generation - ((generation - first) % 2 ** 32 + 2 ** 32) % 2 ** 32;
  return logId >= 1 ? { logId, why: `as its tail (a log of one page), and its first record says log id ${logId}` } : null;
}

/** The generation of the record at the start of a head page's stream when it lies whole in the page and checks, else null. */
function firstGeneration(page: Buffer): number | null {
  const end = page.length - LOG_NEXT, at = LOG_HEADER;
  const type = page.readUInt16LE(at + 4), length = u32(page, at + 8);
  if (!(type in RECORD_NAMES) || at + RECORD_HEADER + align8(length) > end) return null;
  return framedCrc(page, at, type, length) === u32(page, at) ? u32(page, at + 12) : null;
}

/** Logs from this many pages on are copied (below, a huge page would not pay for the reads). */
const COPY_PAGES_MIN = 512;
/** Most log bytes copied: V8 counts the copy as external memory (a longer log reads its rest through the mapping). */
const COPY_BYTES_MAX = 32 << 20;
/** Most pages one read takes: the stretch read grows by doubling while the log goes on at consecutive pfns. */
const READ_PAGES_MAX = 1024;

/**
 * A large log's pages copied through the arena's fd into one table on huge
 * pages, page seq at slot seq: each page of a mapping costs a first touch per
 * 4 KiB (~10-30 us on a VM: ~8 ms a GiB of data), a copy ~1 us. Read in
 * stretches of consecutive pfns (a compacted log is one), each twice the last
 * while the walk goes on where the last ended; a page read ahead that the walk
 * does not take is overwritten. Without an fd, or when a read fails, the mapping.
 */
export class LogPages {
  private buf: Buffer | null = null;
  private from = -1;          // pfns [from, to) are at slots slot.. of buf
  private to = -1;
  private slot = 0;
  private want = 1;

  constructor(private readonly mem: PhysMem, logPages: number) {
    const n = Math.min(logPages, Math.floor(COPY_BYTES_MAX / mem.pageSize));
    if (mem.readAt && mem.preadFd !== undefined && n >= COPY_PAGES_MIN) this.buf = Buffer.from(pageTable(n * mem.pageSize));
  }

  /** Log page seq, at pfn (a present pfn of the memory). */
  page(pfn: number, seq: number): Buffer {
    const ps = this.mem.pageSize, buf = this.buf;
    if (!buf || (seq + 1) * ps > buf.length) return this.mem.page(pfn);
    if (pfn >= this.from && pfn < this.to && this.slot + pfn - this.from === seq) return buf.subarray(seq * ps, (seq + 1) * ps);
    this.want = pfn === this.to ? Math.min(this.want * 2, READ_PAGES_MAX) : 1;
    const n = Math.min(this.want, buf.length / ps - seq, this.mem.pageCount - pfn);
    if (!this.mem.readAt!(pfn * ps, buf, seq * ps, n * ps)) { this.buf = null; return this.mem.page(pfn); }
    this.from = pfn; this.to = pfn + n; this.slot = seq;
    return buf.subarray(seq * ps, (seq + 1) * ps);
  }
}
