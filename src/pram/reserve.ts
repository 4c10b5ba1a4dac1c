// Early boot: walk the saved chain from the head pfn and reserve every link
// page and every page its entries name, through memblock, before anything else
// can allocate them (the RFC's pram_reserve). Banning is off during the walk so
// the reserved pages remain usable by pram. RFC mode drops the whole image on
// the first invalid, corrupted or busy page, rolling back every reservation;
// salvage mode keeps what verifies and says what it skipped. Either way the
// walk is bounded by the page count and a revisited pfn is an error, so a
// crafted chain can neither hang nor over-allocate. Loading is load.ts's.

import type { PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import { Owner } from '../boot/frames.js';
import { EBUSY, EINVAL } from '../format/errno.js';
import { assert } from '../format/assert.js';
import { decodeLinkHeader, linkFaultText, type LinkHeader } from '../format/decode.js';
import { EntryType, ENTRY_TYPE_MASK, LINK_HEADER_SIZE, ENTRY_SIZE, getU64 } from '../format/v1.js';
import { EXTENT_PAGES_MAX, EXTENT_COUNT_SHIFT } from '../format/v2.js';
import type { Loss } from './image.js';
import { EntryFault, EntryTable, type Log, type ReserveOptions, type ReserveResult } from './types.js';

const MINE_LINK = 1, MINE_PAGE = 2;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function hexPfn(pfn: number | bigint): string {
  return pfn.toString(16);
}

/** Owner recorded for an entry's page(s) while reserved. */
export function entryOwner(flags: number): Owner {
  const t = flags & ENTRY_TYPE_MASK;
  return t === EntryType.Data || t === EntryType.Extent ? Owner.Data : Owner.Meta;
}

export function reserveChain(mem: PhysMem, memblock: Memblock, headPfn: number, log: Log, opts: ReserveOptions = {}): ReserveResult {
  const salvage = opts.salvage ?? false;
  const firstPfn = Math.max(1, opts.firstPfn ?? 1);
  const result: ReserveResult = { headPfn, links: [], entries: new EntryTable(headPfn ? Math.min(mem.pageCount, 1 << 15) : 0, mem.pageCount), pages: 0, losses: [], error: 0, salvage, firstPfn };
  if (headPfn === 0) return result;

  log('PRAM: Examining persistent memory...');
  const mine = new Uint8Array(mem.pageCount);
  const held: [start: number, count: number][] = [];
  const valid = (pfn: number) => Number.isSafeInteger(pfn) && pfn >= firstPfn && pfn < mem.pageCount && mem.present(pfn);
  const lose = (pfn: number | null, what: string) => result.losses.push({ path: null, pfn, what } satisfies Loss);

  const ban = memblock.banWhileReserving;
  memblock.banWhileReserving = false;
  let pfn: number = headPfn;
  let pfnBig: bigint = BigInt(headPfn);
  // The previous good link's pointer to the link after `pfn`; for the head, the handoff's second pfn.
  let skip = salvage && opts.secondPfn && opts.secondPfn !== headPfn ? opts.secondPfn : 0;
  let skipFrom = 'the header slot\'s second link pfn';
  let steps = 0;
  let err = 0;
  // Adjacent pages of one owner become one memblock reservation. Meta and data pages
  // interleave in the chain but each kind lies in runs of its own, so one pending run per kind.
  const runs = [{ start: 0, count: 0, owner: Owner.Meta as Owner }, { start: 0, count: 0, owner: Owner.Data as Owner }];
  const flushRun = (run: { start: number; count: number; owner: Owner }) => {
    if (!run.count) return;
    const ok = memblock.reserve(run.start, run.count, run.owner, 'pram page');
    assert(ok, 'every page of a run was checked free');
    held.push([run.start, run.count]);
    run.count = 0;
  };
  let skipped = 0;                         // entries not reserved (salvage)
  const owners = memblock.frames.owner;   // read directly in the hot loop (memblock.busyPfn's test)
  const pageCount = mem.pageCount;

  let header: LinkHeader | null = null;   // set by linkProblem when the page is usable
  // Why `pfn` cannot be used as a link page, or null (and `header` is its decoded header).
  const linkProblem = (): { word: string; errno: number; why: string } | null => {
    if (!valid(pfn)) return { word: 'invalid', errno: EINVAL, why: 'outside memory or inside the header' };
    if (mine[pfn] === MINE_LINK) return { word: 'revisited', errno: EINVAL, why: 'revisited: the chain has a cycle' };
    if (mine[pfn] === MINE_PAGE) return { word: 'busy', errno: EBUSY, why: 'already named by an entry' };
    const h = decodeLinkHeader(mem.page(pfn));
    if ('kind' in h) return { word: 'corrupted', errno: EINVAL, why: linkFaultText(h) };
    if (memblock.busyPfn(pfn, 1) >= 0) return { word: 'busy', errno: EBUSY, why: 'reserved by someone else' };
    header = h;
    return null;
  };

  while (pfn !== 0) {
    if (++steps > mem.pageCount) {
      log(`PRAM: pfn:${hexPfn(pfnBig)} walk longer than memory`);
      lose(pfn, 'chain longer than the page count: walk stopped');
      if (!salvage) err = -EINVAL;
      else result.entries.push(0, 0, 0, 0, 0, EntryFault.Gap);
      break;
    }
    const bad = linkProblem();
    if (bad) {
      log(`PRAM: pfn:${hexPfn(pfnBig)} ${bad.word}`);
      if (!salvage) { err = -bad.errno; break; }
      lose(valid(pfn) ? pfn : null, `link page pfn:${hexPfn(pfnBig)} ${bad.why}: its entries are lost` +
        (skip ? `; chain resumed at pfn:${hexPfn(skip)} (${skipFrom})` : '; chain ends here'));
      result.entries.push(0, 0, 0, 0, valid(pfn) ? pfn : 0, EntryFault.Gap);
      pfn = skip; pfnBig = BigInt(skip); skip = 0;
      continue;
    }
    const page = mem.page(pfn);
    const h = header!;
    // Entries read as 32-bit words when the host is little-endian like the format (hot loop).
    const words = HOST_LE && page.byteOffset % 4 === 0 ? new Uint32Array(page.buffer, page.byteOffset, page.length >>> 2) : null;
    memblock.reserve(pfn, 1, Owner.Link, 'pram link');
    mine[pfn] = MINE_LINK;
    held.push([pfn, 1]);
    result.links.push(pfn);
    const entriesBefore = result.entries.length;

    for (let i = 0; i < h.len && err === 0; i++) {
      const at = LINK_HEADER_SIZE + i * ENTRY_SIZE;
      const w = at >>> 2;
      const flags = words ? words[w]! : page.readUInt32LE(at);
      const epfn = words ? words[w + 2]! + words[w + 3]! * 4294967296 : getU64(page, at + 8);
      const type = flags & ENTRY_TYPE_MASK;
      const count = type === EntryType.Extent ? flags >>> EXTENT_COUNT_SHIFT : 1;
      let fault = EntryFault.None;
      let word = '';
      let shown = epfn;
      if (count < 1 || count > EXTENT_PAGES_MAX || (type === EntryType.Extent && count < 2)) { fault = EntryFault.BadExtent; word = 'invalid'; }
      else if (!(epfn >= firstPfn && epfn + count <= pageCount && Number.isSafeInteger(epfn)) || !mem.present(epfn) || !mem.present(epfn + count - 1)) { fault = EntryFault.Invalid; word = 'invalid'; }
      else {
        // Claimed by this walk (pending runs are not in memblock yet), else busy in memblock.
        for (let q = epfn; q < epfn + count; q++) {
          if (mine[q]) { fault = EntryFault.Duplicate; word = 'busy'; break; }
        }
        if (!fault) for (let q = epfn; q < epfn + count; q++) {
          if (owners[q] !== Owner.None) { fault = EntryFault.Busy; word = 'busy'; shown = q; break; }
        }
      }
      const csum = words ? words[w + 1]! : page.readUInt32LE(at + 4);
      const index = words ? words[w + 4]! + words[w + 5]! * 4294967296 : getU64(page, at + 16);
      if (fault) {
        log(`PRAM: pfn:${hexPfn(fault === EntryFault.Invalid || fault === EntryFault.BadExtent ? page.readBigUInt64LE(at + 8) : BigInt(shown))} ${word}`);
        if (!salvage) { err = fault === EntryFault.Busy || fault === EntryFault.Duplicate ? -EBUSY : -EINVAL; break; }
        // Reported by load, which knows the file the entry belonged to.
        result.entries.push(flags, csum, valid(epfn) ? epfn : 0, index, pfn, fault);
        skipped++;
        continue;
      }
      const run = runs[type === EntryType.Data || type === EntryType.Extent ? 1 : 0]!;   // entryOwner, inlined
      if (run.count && run.start + run.count === epfn) run.count += count;
      else { flushRun(run); run.start = epfn; run.count = count; }
      if (count === 1) mine[epfn] = MINE_PAGE; else mine.fill(MINE_PAGE, epfn, epfn + count);
      result.entries.push(flags, csum, epfn, index, pfn, EntryFault.None);
    }
    flushRun(runs[0]!); flushRun(runs[1]!);
    if (err) {
      // The RFC unreserves this link's pages first, then the links before it.
      result.entries.truncate(entriesBefore);
      break;
    }
    skip = h.skip;
    skipFrom = 'skip pointer';
    pfnBig = h.next;
    pfn = h.next > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER + 1 : Number(h.next);
  }
  memblock.banWhileReserving = ban;

  if (err) {
    for (const [start, count] of held) memblock.unreserve(start, count);
    log(`PRAM: Reservation failed: ${err}`);
    result.losses.push({ path: null, pfn: null, what: `image dropped: reservation failed (${err})` });
    result.headPfn = 0; result.links = []; result.entries = new EntryTable(); result.pages = 0; result.error = err;
    return result;
  }
  result.pages = held.reduce((n, [, c]) => n + c, 0);
  log(`PRAM: ${result.pages} pages reserved`);
  if (result.losses.length || skipped) log(`PRAM: salvage: ${result.losses.length} damaged link pages and ${skipped} entries skipped`);
  return result;
}

export function faultText(f: EntryFault): string {
  switch (f) {
    case EntryFault.Invalid: return 'pfn outside memory or inside the header';
    case EntryFault.Busy: return 'page reserved by someone else';
    case EntryFault.Duplicate: return 'page already claimed by another entry or link';
    case EntryFault.BadExtent: return `extent length outside 2..${EXTENT_PAGES_MAX}`;
    default: return 'ok';
  }
}
