// The first step of a v3 mount (replay.ts): the log pages a header slot names, from its head to
// the committed tail, each page's header checked (magic, crc, log id, seq), the walk bounded by
// the slot's page count; every page reserved through memblock (a stretch of consecutive pfns as
// one reservation). A page that does not fit ends the walk: what follows is reported lost (the
// log is cut there). A large log is read through the arena's fd (LogPages).
import type { PhysMem } from '../mem/physmem.js';
import { pageTable } from '../mem/native.js';
import type { Memblock } from '../boot/memblock.js';
import { Owner } from '../boot/frames.js';
import { assert } from '../format/assert.js';
import type { SlotLog } from '../format/header.js';
import { LOG_HEADER, LOG_NEXT, readLogHeader } from '../format/v3.js';
import { u64 } from '../format/v3-base.js';

/** One log page's stream: bytes [start, end) of the page; first: where its first record starts (0 = none). */
export interface Segment { pfn: number; start: number; end: number; first: number; page: Buffer }

/** The log's pages in order (whole: it reached the slot's tail); `lose` hears why a walk was cut. */
export function walkLog(mem: PhysMem, memblock: Memblock, slot: { headPfn: number; log: SlotLog },
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
  for (; ; seq++) {
    if (seq >= slot.log.logPages) { cut('is past the page count the slot records'); break; }
    if (!(Number.isSafeInteger(pfn) && pfn >= 1 && pfn < mem.pageCount && mem.present(pfn))) { cut('is outside the arena'); break; }
    if ((pfn >= held && pfn < held + heldCount) || memblock.busyPfn(pfn, 1) >= 0) { cut('is already reserved (a cycle, or a page of something else)'); break; }
    const page = copies.page(pfn, seq);
    const h = readLogHeader(page);
    if (typeof h === 'string') { cut(`has a damaged header (${h})`); break; }
    if (seq === 0) logId = h.logId;
    if (h.logId !== logId || h.seq !== seq) { cut(`belongs to another log (log id ${h.logId}, seq ${h.seq}; expected ${logId}, ${seq})`); break; }
    if (heldCount && held + heldCount === pfn) heldCount++; else { flush(); held = pfn; heldCount = 1; }
    pages.push(pfn);
    const tail = pfn === slot.log.tailPfn && seq === slot.log.logPages - 1;
    const end = tail ? slot.log.tailOff : ps - LOG_NEXT;
    if (end < LOG_HEADER || end > ps - LOG_NEXT) { cut(`ends its stream at ${end}, outside the page`); break; }
    segments.push({ pfn, start: LOG_HEADER, end, first: h.first, page });
    bytes += end - LOG_HEADER;
    if (tail) { whole = true; break; }
    pfn = u64(page, page.length - LOG_NEXT) ?? -1;   // readNext's value as a number (no BigInt a page); over 2^53: outside
  }
  flush();
  return { segments, pages, logId, bytes, whole };
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
