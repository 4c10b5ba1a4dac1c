// Early-boot reservations, memblock-style: before the page allocator exists,
// whoever needs memory (kernel image, initrd, early allocations, pram's saved
// chain) reserves pfn ranges here. A reservation is exclusive: it fails and
// reserves nothing if any page is busy (already reserved, or a hole). Every
// successful reservation bans its pfns (RFC: memblock_reserve calls
// pram_ban_region), except while pram reserves its own chain. Handing the
// remaining pages to the allocator is allocator.ts's job.

import { assert } from '../format/assert.js';
import type { BannedRegions } from './banned.js';
import { Owner, type PageFrames } from './frames.js';

export interface Reservation { start: number; count: number; owner: Owner; what: string }

/** Zeros to compare a table's bytes with (a view of them per call: no copy). */
const ZEROS = Buffer.alloc(1 << 16);

/** bytes[start, end) are all 0 (native compares, ZEROS.length bytes at a time). */
function allZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let at = start; at < end; at += ZEROS.length) {
    const n = Math.min(ZEROS.length, end - at);
    if (!ZEROS.subarray(0, n).equals(Buffer.from(bytes.buffer, bytes.byteOffset + at, n))) return false;
  }
  return true;
}

export class Memblock {
  /** False while pram reserves its own chain: those pages must stay usable by pram (RFC). */
  banWhileReserving = true;

  // Record id (index + 1) per pfn; 0 = not reserved here. Made when first asked (isReserved,
  // unreserve, reservations): a mount reserves a 12 GiB image's ~3M pages, and filling 4 bytes
  // a page cost a first touch of 12 MB. Until then `runs` keeps (start, count, id) per reserve
  // and `ends` the id of the run ending before each pfn (what extends a record). Runs never
  // overlap then: only unreserve cuts one, and it makes recordOf first.
  private recordOf: Uint32Array | null = null;
  private runs: number[] = [];
  private readonly ends = new Map<number, number>();
  private readonly records: { owner: Owner; what: string }[] = [];
  // Every reservation as (start, count) pairs, so the allocator can start from them instead of
  // a scan of every pfn's owner; null once an unreserve did not match one pair exactly.
  private spans: number[] | null = [];

  constructor(readonly frames: PageFrames, readonly banned: BannedRegions) {}

  /** recordOf, made from the runs on first use. */
  private ids(): Uint32Array {
    if (this.recordOf) return this.recordOf;
    const ids = new Uint32Array(this.frames.pageCount);
    for (let k = 0; k < this.runs.length; k += 3) ids.fill(this.runs[k + 2]!, this.runs[k]!, this.runs[k]! + this.runs[k + 1]!);
    this.runs = [];
    this.ends.clear();
    return (this.recordOf = ids);
  }

  /** First busy pfn in [start, start+count), -1 if all are free; a pfn outside memory counts as busy. */
  busyPfn(start: number, count: number): number {
    const frames = this.frames, end = start + count;
    if (start < 0) return start;
    // Owners still ranges (frames.ts): a search of them, not of a page table (a lazy mount's every reservation).
    if (frames.deferred) {
      const busy = frames.firstOwned(start, Math.min(end, frames.pageCount));
      return busy >= 0 ? busy : end > frames.pageCount ? Math.max(start, frames.pageCount) : -1;
    }
    const owner = frames.owner;
    let pfn = start;
    // Owner.None is 0: four owners at a time through a word view (a replay checks ~3M pages at 12 GiB).
    // Most asks find every page free: a native compare with zeros says so (a lazy mount asks for a GiB image's
    // 262 144 data pages at once, a word loop in code not yet compiled cost it milliseconds); the loop finds where not.
    if (end <= this.frames.pageCount && count >= 64 && allZero(owner, start, end)) return -1;
    if (end <= this.frames.pageCount && count >= 64 && owner.byteOffset % 4 === 0) {
      const words = (this.wide ??= new Uint32Array(owner.buffer, owner.byteOffset, Math.floor(owner.length / 4)));
      while (pfn % 4 !== 0) { if (owner[pfn] !== Owner.None) return pfn; pfn++; }
      let w = pfn / 4;
      const wEnd = Math.floor(end / 4);
      while (w < wEnd && words[w] === 0) w++;
      pfn = w * 4;
    }
    for (; pfn < end; pfn++) {
      if (pfn >= this.frames.pageCount || owner[pfn] !== Owner.None) return pfn;
    }
    return -1;
  }
  private wide: Uint32Array | null = null;

  /**
   * Reserve [start, start+count) for owner; false (nothing reserved) if any page is busy.
   * `checked`: the caller has just found every page free (busyPfn), so they are not scanned again.
   */
  reserve(start: number, count: number, owner: Owner, what: string, checked = false): boolean {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(count) && count > 0)) assert(false, `reserve ${start}+${count} is a range`);
    assert(owner !== Owner.None && owner !== Owner.Hole, 'reservations have a real owner');
    if (!checked && this.busyPfn(start, count) >= 0) return false;
    // Extend the previous record when pram reserves adjacent pages one by one.
    const prev = start === 0 ? 0 : this.recordOf ? this.recordOf[start - 1]! : this.ends.get(start) ?? 0;
    let id: number;
    if (prev !== 0 && this.records[prev - 1]!.owner === owner && this.records[prev - 1]!.what === what) id = prev;
    else { this.records.push({ owner, what }); id = this.records.length; }
    this.frames.setOwners(start, count, owner);   // a range until the table is read (a 12 GiB image reserves ~3M pages)
    if (this.recordOf) this.recordOf.fill(id, start, start + count);
    else { this.runs.push(start, count, id); this.ends.set(start + count, id); }
    if (this.banWhileReserving) this.banned.add(start, start + count - 1);
    this.spans?.push(start, count);
    return true;
  }

  /** Give back pages reserved here (pram's rollback). Bans stay: the RFC never unbans. */
  unreserve(start: number, count: number): void {
    const spans = this.spans;
    let k = spans ? spans.length - 2 : -1;
    while (k >= 0 && !(spans![k] === start && spans![k + 1] === count)) k -= 2;
    if (k >= 0) spans!.splice(k, 2); else this.spans = null;
    const ids = this.ids();
    for (let pfn = start; pfn < start + count; pfn++) {
      assert(ids[pfn] !== 0, `pfn ${pfn} unreserved but was not reserved`);
      ids[pfn] = 0;
      this.frames.owner[pfn] = Owner.None;
    }
  }

  /** Every page reserved here as (start, count) pairs, or null when only a scan can tell (after a partial unreserve). */
  reservedSpans(): readonly number[] | null {
    return this.spans;
  }

  isReserved(pfn: number): boolean {
    return pfn >= 0 && pfn < this.frames.pageCount && this.ids()[pfn] !== 0;
  }

  /** Current reservations as maximal runs of one record, ascending by pfn (a scan: for logs and tests). */
  reservations(): readonly Reservation[] {
    const out: Reservation[] = [];
    let cur: Reservation | null = null, curId = 0;
    const ids = this.ids();
    for (let pfn = 0; pfn < ids.length; pfn++) {
      const id = ids[pfn]!;
      if (id !== 0 && id === curId && cur && cur.start + cur.count === pfn) { cur.count++; continue; }
      if (cur) out.push(cur);
      cur = null; curId = id;
      if (id !== 0) cur = { start: pfn, count: 1, owner: this.records[id - 1]!.owner, what: this.records[id - 1]!.what };
    }
    if (cur) out.push(cur);
    return out;
  }

  /** Pages reserved here. */
  reservedCount(): number {
    let n = 0;
    if (!this.recordOf) { for (let k = 1; k < this.runs.length; k += 3) n += this.runs[k]!; return n; }
    for (let pfn = 0; pfn < this.recordOf.length; pfn++) if (this.recordOf[pfn] !== 0) n++;
    return n;
  }
}
