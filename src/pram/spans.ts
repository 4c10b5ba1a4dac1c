// SPAN records while a v3 log replays (docs/FORMAT.md §v3, minor 1): a long
// stretch of a file at consecutive pfns, each page with its own crc32c. A
// node keeps its spans per block of SPAN_BLOCK file pages as flat arrays,
// SPAN numbers a span (index, pfn, count, crc place, flags); the pages'
// crcs stay where the record holds them (SpanCrcs), so a span costs a few
// numbers and, at adoption, one block copy of its crcs into the frames --
// never an object or a Map entry per page or per 32-page group.
// Because every page has its own crc, a span cut by a later UNMAP or MAP
// splits into pieces without poisoning anything. Reservation of the live
// pages (groups' runs and spans alike) goes through Reserver: stretches that
// follow one another in the arena become one memblock reservation.

import type { PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import { Owner } from '../boot/frames.js';
import { assert } from '../format/assert.js';
import { decodeSpanInto, RecordType, SPAN_BLOCK, SPAN_FIXED, spanCrcsDamage, type InodeRecord, type LogRecord, type SpanHead, type SpanRecord } from '../format/v3.js';
import type { Loss } from './image.js';
import type { Segment } from './segment.js';

/** Numbers per span in a block's array: index, pfn, count, crc place (SpanCrcs), flags. */
export const SPAN = 5;

/** What a node holds of spans (ReplayNode's fields). */
export interface SpanHolder {
  blocks: Map<number, number[]> | null;   // block -> its spans, SPAN numbers each
  poison: Set<number> | null;
}

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A SPAN read without its page crcs (groupthin.ts): `crcsPos` is the stream place of its record in the lazily
 * booted log; its crcs (empty here) are read, and their own crc checked, when first needed (SpanCrcs.later).
 */
export interface ThinSpan extends SpanRecord { crcsPos: number }
export const isThin = (r: SpanRecord): r is ThinSpan => (r as Partial<ThinSpan>).crcsPos !== undefined;

/**
 * Reads a thin SPAN's page crcs from the log (its record at stream place `pos`, `count` pages), their own crc
 * checked: lazy.ts LazyLog. `keep` false: a view valid until the next call (the caller copies them at once).
 */
export type LaterCrcs = (pos: number, count: number, keep: boolean) => Uint32Array;

/**
 * Every span's page crcs, where the records hold them, never copied before
 * adoption: a view of the log page for a record inside one page, or, for one
 * read across log pages (a 16 KiB SPAN always is), its place in the log's
 * stream (segment, offset), gathered from the log pages when adopted. A slab
 * copy of them cost a page of fresh memory per 4 MiB of data (~20 us a page
 * on this VM: ~5 ms a GiB). A span keeps crcAt = entry number × SPAN_BLOCK +
 * its first page's place in the record, so a piece of a cut span stays in its entry.
 */
export class SpanCrcs {
  private views: (Uint32Array | null)[] = [];   // an in-page record's crcs; null: at (seg, off) in the stream
  private seg: number[] = [];
  private off: number[] = [];
  private count: number[] = [];
  /** The log's pages as the replay reads them (stream places point into them). */
  stream: readonly Segment[] = [];
  private gathered: Uint32Array | null = null;
  /** Where a thin SPAN's crcs are read from (an entry of seg -1 holds its record's stream place in off): set by the lazy log. */
  later: LaterCrcs | null = null;
  /** The thin entry whose crcs `thinView` holds (-1: none), a view of the lazy log's scratch: valid until the next read. */
  private thinAt = -1;
  private thinView: Uint32Array | null = null;

  reset(): void { this.views = []; this.seg = []; this.off = []; this.count = []; this.thinAt = -1; this.thinView = null; }

  /** A SPAN's crcs kept: its own view, or (a thin SPAN) its record's place, read when first asked for; returns crcAt of its first page. */
  addRecord(r: SpanRecord): number {
    if (!isThin(r)) return this.add(r.crcs);
    if (!(r.count <= SPAN_BLOCK)) assert(false, `a SPAN of ${r.count} pages`);
    return this.push(null, -1, r.crcsPos, r.count);
  }

  /** A SPAN's page crcs: its own, or (thin) read from the log now, valid until the next read (adoption copies them at once). */
  ofRecord(r: SpanRecord): Uint32Array {
    return isThin(r) ? this.readLater(r.crcsPos, r.count, false) : r.crcs;
  }

  private readLater(pos: number, count: number, keep: boolean): Uint32Array {
    if (!this.later) assert(false, 'a thin SPAN\'s crcs asked for before the lazy log reads them');
    this.thinAt = -1;                  // the scratch the last read left is overwritten
    return this.later!(pos, count, keep);
  }

  /** The record's crcs kept (their memory must stay unchanged until adoption: the reserved log's); returns crcAt of its first page. */
  add(crcs: Uint32Array): number {
    if (!(crcs.length <= SPAN_BLOCK)) assert(false, `a SPAN of ${crcs.length} pages`);
    return this.push(crcs, 0, 0, crcs.length);
  }

  /** `count` crcs from byte `off` of segment `seg`'s page (off may reach past its stream: they go on in the next pages). */
  addAt(seg: number, off: number, count: number): number {
    if (!(count <= SPAN_BLOCK)) assert(false, `a SPAN of ${count} pages`);
    return this.push(null, seg, off, count);
  }

  private push(view: Uint32Array | null, seg: number, off: number, count: number): number {
    this.views.push(view); this.seg.push(seg); this.off.push(off); this.count.push(count);
    return (this.views.length - 1) * SPAN_BLOCK;
  }

  /** The crcs of count pages from crcAt (a stream place's: gathered into a scratch, valid until the next call). */
  of(crcAt: number, count: number): Uint32Array {
    const e = Math.floor(crcAt / SPAN_BLOCK), at = crcAt % SPAN_BLOCK;
    if (!(at + count <= this.count[e]!)) assert(false, `crcs ${at}+${count} of a span of ${this.count[e]}`);
    // A thin SPAN's: read whole (its crc covers them all) into the lazy log's scratch, kept for the pieces a cut left
    // while no other is read (adoption asks for them in file order, and copies each at once). A fresh array per SPAN
    // cost its pages' first touches: ~64 a GiB of a file a tail's records replayed, 16 KiB each.
    if (this.seg[e] === -1) {
      if (this.thinAt !== e) { this.thinView = this.readLater(this.off[e]!, this.count[e]!, false); this.thinAt = e; }
      return this.thinView!.subarray(at, at + count);
    }
    const v = this.views[e];
    return v ? v.subarray(at, at + count) : this.gather(this.seg[e]!, this.off[e]! + 4 * at, count);
  }

  /** count crcs from byte `off` of segment `seg`'s page (past its end: on in the next pages), copied out of the log pages. */
  private gather(seg: number, off: number, count: number): Uint32Array {
    const out = (this.gathered ??= new Uint32Array(SPAN_BLOCK)).subarray(0, count);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, 4 * count);
    let s = this.stream[seg]!, done = 0;
    while (done < bytes.length) {
      if (off >= s.end) { const past = off - s.end; s = this.stream[++seg]!; off = s.start + past; continue; }
      const take = Math.min(bytes.length - done, s.end - off);
      bytes.set(s.page.subarray(off, off + take), done);
      done += take; off += take;
    }
    if (!LITTLE) { const dv = new DataView(out.buffer, out.byteOffset, 4 * count); for (let k = 0; k < count; k++) out[k] = dv.getUint32(4 * k, true); }
    return out;
  }
}

/** Blocks of [from, end) the node has spans in: the block numbers in range, or its own keys when fewer (a hostile range stays cheap). */
function blocksIn(blocks: Map<number, number[]>, from: number, end: number): number[] {
  const first = Math.floor(from / SPAN_BLOCK), last = Math.floor((end - 1) / SPAN_BLOCK);
  if (last - first + 1 <= blocks.size) {
    const out: number[] = [];
    for (let b = first; b <= last; b++) if (blocks.has(b)) out.push(b);
    return out;
  }
  return [...blocks.keys()].filter((b) => b >= first && b <= last);
}

/** Takes [from, end) out of the node's spans: a span across it keeps the pieces outside (their crcs are their own). */
export function cutSpans(n: SpanHolder, from: number, end: number): void {
  if (!n.blocks || end <= from) return;
  // In place, each span cut where it lies (the same spans in the same order as a copy of the rest: a block a tail's
  // writes cut holds dozens, and copying them all for each cut, in cold code, was most of an UNMAP's apply).
  for (const b of blocksIn(n.blocks, from, end)) {
    const spans = n.blocks.get(b)!;
    for (let k = 0; k < spans.length;) {
      const index = spans[k]!, count = spans[k + 2]!;
      if (index >= end || index + count <= from) { k += SPAN; continue; }
      const pfn = spans[k + 1]!, crcAt = spans[k + 3]!, flags = spans[k + 4]!, right = end - index;
      if (index < from && right < count) { spans.splice(k, SPAN, index, pfn, from - index, crcAt, flags, end, pfn + right, count - right, crcAt + right, flags); k += 2 * SPAN; }
      else if (index < from) { spans[k + 2] = from - index; k += SPAN; }
      else if (right < count) { spans[k] = end; spans[k + 1] = pfn + right; spans[k + 2] = count - right; spans[k + 3] = crcAt + right; k += SPAN; }
      else spans.splice(k, SPAN);
    }
    if (spans.length === 0) n.blocks.delete(b);
  }
}

/** A SPAN applied: whatever spans held in its range goes (the caller cuts the groups' runs), then the span is the block's. */
export function addSpan(n: SpanHolder, index: number, pfn: number, count: number, crcAt: number, flags: number): void {
  // A span lies in one block: only that block's spans can be cut (a group's file, span after span: none has any yet).
  if (n.blocks?.has(Math.floor(index / SPAN_BLOCK))) cutSpans(n, index, index + count);
  placeSpan(n, index, pfn, count, crcAt, flags);
}

/** A SPAN applied where the node holds nothing (the caller knows: apply.ts restating): the span is its block's. */
export function placeSpan(n: SpanHolder, index: number, pfn: number, count: number, crcAt: number, flags: number): void {
  const b = Math.floor(index / SPAN_BLOCK);
  const spans = (n.blocks ??= new Map()).get(b);
  if (spans) spans.push(index, pfn, count, crcAt, flags);
  else n.blocks.set(b, [index, pfn, count, crcAt, flags]);
  if (n.poison) for (let i = index; i < index + count; i++) n.poison.delete(i);
}

/**
 * A group's page records split: the nodes whose records are SPANs only, each after the one before
 * (ascending, none overlapping) and as many pages as their INODE says, with their spans (a replay
 * would leave them so, and adoption take them in this order: they adopt straight from the records,
 * lazy.ts), and every other node's records, to replay.
 */
export function spansInOrder(pages: LogRecord[], nodes: ReadonlyMap<number, InodeRecord>): { direct: Map<number, SpanRecord[]>; rest: LogRecord[] } {
  const direct = new Map<number, SpanRecord[]>(), not = new Set<number>();
  // The SPANs first (a group of small files' MAPs costs a type test each, no Map or Set operation).
  for (const p of pages) {
    if (p.type !== RecordType.Span || not.has(p.r.ino)) continue;
    const list = direct.get(p.r.ino), last = list?.[list.length - 1];
    if (last && p.r.index < last.index + last.count) { not.add(p.r.ino); direct.delete(p.r.ino); continue; }
    if (list) list.push(p.r); else direct.set(p.r.ino, [p.r]);
  }
  if (direct.size === 0) return { direct, rest: pages };
  for (const p of pages) if (p.type === RecordType.Map) direct.delete(p.r.ino);     // a node with MAPs too is replayed
  for (const [ino, list] of direct) {
    let count = 0;
    for (const r of list) count += r.count;
    if (count !== nodes.get(ino)?.pages) direct.delete(ino);
  }
  return { direct, rest: direct.size === 0 ? pages : pages.filter((p) => !direct.has((p as { r: { ino: number } }).r.ino)) };
}

/** Pages the node's spans hold. */
export function spanPages(n: SpanHolder): number {
  let pages = 0;
  if (n.blocks) for (const spans of n.blocks.values()) for (let k = 0; k < spans.length; k += SPAN) pages += spans[k + 2]!;
  return pages;
}

/**
 * Reserves live pages through memblock, stretches that follow one another as
 * one reservation (a big file's runs and spans are mostly contiguous).
 */
export class Reserver {
  private pending = 0;
  private pendingCount = 0;
  pages = 0;

  constructor(readonly mem: PhysMem, private readonly memblock: Memblock) {}

  /** Why pfn..pfn+count-1 cannot be claimed, or '' (then it is claimed). */
  claim(pfn: number, count: number): string {
    const mem = this.mem;
    const ok = pfn >= 1 && pfn + count <= mem.pageCount && mem.present(pfn) && mem.present(pfn + count - 1);
    if (!ok) return 'outside the arena or inside the header';
    if ((pfn < this.pending + this.pendingCount && pfn + count > this.pending) || this.memblock.busyPfn(pfn, count) >= 0) return 'already claimed by another run or a log page';
    if (this.pendingCount && this.pending + this.pendingCount === pfn) this.pendingCount += count;
    else { this.flush(); this.pending = pfn; this.pendingCount = count; }
    this.pages += count;
    return '';
  }

  flush(): void {
    // Every piece was found free by claim() (busyPfn) and pieces never overlap: not scanned again.
    if (this.pendingCount && !this.memblock.reserve(this.pending, this.pendingCount, Owner.Data, 'pram page', true)) assert(false, 'every page of a run was checked free');
    this.pendingCount = 0;
  }
}

/**
 * Reserve every span's pages. A span that cannot be claimed whole is claimed
 * page by page: only the pages that cannot be are lost (their indexes read EIO).
 */
export function claimSpans(ino: number, n: SpanHolder, r: Reserver, losses: Loss[]): void {
  if (!n.blocks) return;
  for (const [b, spans] of n.blocks) {
    let kept: number[] | null = null;   // a copy only once a page is lost
    for (let k = 0; k < spans.length; k += SPAN) {
      const index = spans[k]!, pfn = spans[k + 1]!, count = spans[k + 2]!, crcAt = spans[k + 3]!, flags = spans[k + 4]!;
      if (r.claim(pfn, count) === '') { kept?.push(index, pfn, count, crcAt, flags); continue; }
      kept ??= spans.slice(0, k);
      // Page by page: stretches that can be claimed stay spans, each stretch that cannot is one loss.
      let from = 0, lost = '';
      for (let i = 0; i <= count; i++) {
        const why = i < count ? r.claim(pfn + i, 1) : 'end';
        if ((why === '') === (lost === '') && i < count) continue;
        if (lost === '' && i > from) kept.push(index + from, pfn + from, i - from, crcAt + from, flags);
        else if (lost !== '') loseStretch(ino, n, r, losses, index + from, pfn + from, i - from, lost);
        from = i; lost = why === '' || why === 'end' ? '' : why;
      }
    }
    if (!kept) continue;
    if (kept.length) n.blocks.set(b, kept); else n.blocks.delete(b);
  }
}

function loseStretch(ino: number, n: SpanHolder, r: Reserver, losses: Loss[], index: number, pfn: number, count: number, why: string): void {
  const pages = count > 1 ? `s ${index}-${index + count - 1}` : ` ${index}`;
  losses.push({ path: null, pfn: pfn >= 1 && pfn < r.mem.pageCount ? pfn : null,
    what: `ino ${ino}: data page${pages} lost: SPAN names pfn:${pfn.toString(16)}+${count}, ${why}` });
  for (let i = index; i < index + count; i++) (n.poison ??= new Set()).add(i);
}

const HI = 2 ** 32;

/**
 * A SPAN payload at b[at, at+length) as a record (as decodeSpan, its page crcs' crc checked by the
 * caller), read from `w`, b's words (b 4-aligned): a group's load decodes ~256 a GiB, in a fresh process.
 */
export function decodeSpanWords(b: Buffer, w: Uint32Array, at: number, length: number): { type: RecordType.Span; r: SpanRecord } | string {
  const q = at / 4, count = w[q + 6]!;
  // decodeSpanInto's checks, on the words: each u64's high word below 2^21, count within one block, the length, the reserved word.
  if (at % 4 !== 0 || length < SPAN_FIXED || w[q + 1]! > 0x1fffff || w[q + 3]! > 0x1fffff || w[q + 5]! > 0x1fffff || length !== SPAN_FIXED + 4 * count || w[q + 9] !== 0) return decodeSpan(b, at, length, false);
  const index = w[q + 3]! * HI + w[q + 2]!;
  if (count < 1 || count > SPAN_BLOCK || Math.floor(index / SPAN_BLOCK) !== Math.floor((index + count - 1) / SPAN_BLOCK)) return decodeSpan(b, at, length, false);
  return { type: RecordType.Span, r: { ino: w[q + 1]! * HI + w[q]!, index, pfn: w[q + 5]! * HI + w[q + 4]!, count, flags: w[q + 7]!, crcs: w.subarray(q + SPAN_FIXED / 4, q + SPAN_FIXED / 4 + count) } };
}

/**
 * A SPAN payload at b[at, at+length) as a record; its crcs a view of b when
 * they lie aligned (kept so until adoption copies them into the frames), else
 * a copy; crcsDamage set when they fail the crc kept for them (`checkCrcs` false: the caller checked them).
 */
export function decodeSpan(b: Buffer, at: number, length: number, checkCrcs = true): { type: RecordType.Span; r: SpanRecord } | string {
  const head: SpanHead = { ino: 0, index: 0, pfn: 0, count: 0, flags: 0 };
  const bad = decodeSpanInto(b, at, length, head);
  if (bad !== null) return bad;
  const from = b.byteOffset + at + SPAN_FIXED;
  let crcs: Uint32Array;
  if (LITTLE && from % 4 === 0) crcs = new Uint32Array(b.buffer, from, head.count);
  else {
    crcs = new Uint32Array(head.count);
    for (let k = 0; k < head.count; k++) crcs[k] = b.readUInt32LE(at + SPAN_FIXED + 4 * k);
  }
  const damage = checkCrcs ? spanCrcsDamage(b, at, head.count) : null;
  const r: SpanRecord = { ino: head.ino, index: head.index, pfn: head.pfn, count: head.count, flags: head.flags, crcs };
  if (damage) r.crcsDamage = damage;
  return { type: RecordType.Span, r };
}
