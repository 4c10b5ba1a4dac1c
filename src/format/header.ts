// The arena header at pfn 0 (format v2; the simulated machine has none). It
// names the arena's geometry and holds two checkpoint slots A and B: a commit
// writes the slot with the older generation, so a torn write damages only the
// slot being written, whose crc then fails and the other slot is used.
// Opening an arena checks, in order: magic, version, page size, page count,
// header checksum -- each mismatch its own error with saved and computed values.

import { assert } from './assert.js';
import { crc32c, crc32cAt } from './crc.js';
import { PAGE_SIZE_MIN } from './v1.js';

export const HEADER_MAGIC = 0x4d415250;       // bytes 'P','R','A','M'
/**
 * The newest arena header version this pram reads (2: slots name v2 chains; 3: slots may name v3 logs;
 * 4, v3 minor 1: those logs may hold SPAN records -- an older pram refuses the arena instead of losing them;
 * 5, v3 minor 2: a compaction's log may begin with LOCATE and hold INDEX records -- an older pram would report them as damage;
 * 6, v3 minor 3: LOCATE names the index's page and the index is followed by RUNS records -- a lazy mount needs no walk of the log;
 * 7, v3 minor 4: a commit may hold ATIMES records (atime-only changes, batched) -- an older pram would report them as damage;
 * 8, v3 minor 5: a compaction in slices ends its last step with a PUBLISHED record -- an older pram would report it as damage;
 * 9, v3 minor 6: a commit may hold ATIMES_PAGES records naming pages outside the log -- an older pram would report them as
 * damage and hand those pages out as free).
 */
export const FORMAT_VERSION = 9;
/** Header versions this pram mounts. */
export const FORMAT_VERSIONS = [2, 3, 4, 5, 6, 7, 8, 9] as const;
export const HEADER_CRC_AT = 28;              // crc32c of bytes 0..27
export const SLOT_A_AT = 64;
export const SLOT_B_AT = 128;
export const SLOT_SIZE = 64;
export const SLOT_CRC_AT = 60;                // crc32c of slot bytes 0..59
export const HEADER_FLAG_EXTENTS = 1;
// Slot extension (v2, in bytes the first slots left 0): u32 version @32 (1: the
// fields below are meaningful), u64 second link pfn @40 (the head link page's
// link_pfn, 0 = one link page): when the head link page is damaged, the chain
// resumes there instead of ending. Slots written before it read version 0.
export const SLOT_EXT_AT = 32;
export const SLOT_EXT_VERSION = 1;
export const SLOT_SECOND_AT = 40;
// Slot extension 2: the slot names a v3 record log (format/v3.ts), whatever the
// header version says: u64 tail pfn @40, u32 tail offset @48 (stream end in the
// tail page), u32 log page count @52 (bounds the walk). head pfn is the log's first page.
export const SLOT_EXT_LOG = 2;
// Slot extension 3 (v3 minor 1, header version 4): the same fields; the log may
// hold SPAN records (format/v3.ts). Written for every log this pram publishes.
export const SLOT_EXT_LOG_SPANS = 3;
// Slot extension 4 (v3 minor 2, header version 5): the same fields; a compaction's
// log may begin with a LOCATE record and hold INDEX records. Written for every log this pram publishes.
export const SLOT_EXT_LOG_INDEX = 4;
// Slot extension 5 (v3 minor 3, header version 6): the same fields; a compaction's LOCATE
// may name its index's page and RUNS records may follow the index. Written for every log this pram publishes.
export const SLOT_EXT_LOG_RUNS = 5;
// Slot extension 6 (v3 minor 4, header version 7): the same fields; an appended commit may hold
// ATIMES records. Written for every log this pram publishes.
export const SLOT_EXT_LOG_ATIMES = 6;
// Slot extension 7 (v3 minor 5, header version 8; 6 is minor 4's): the same fields; a compaction in slices
// flags its LOCATE and ends its last step with a PUBLISHED record. Written for every log this pram publishes.
export const SLOT_EXT_LOG_PUBLISHED = 7;
// Slot extension 8 (v3 minor 6, header version 9): the same fields; an appended commit may hold ATIMES_PAGES
// records, whose pages lie outside the log. Written for every log this pram publishes.
export const SLOT_EXT_LOG_ATIMES_PAGES = 8;
export const SLOT_TAIL_AT = 40;
export const SLOT_TAIL_OFF_AT = 48;
export const SLOT_LOG_PAGES_AT = 52;

assert(SLOT_B_AT + SLOT_SIZE <= PAGE_SIZE_MIN, 'header fits the smallest page');

export interface Geometry { pageSize: number; pageCount: number; flags: number }

export interface Slot {
  generation: number;  // 0 = never written
  headPfn: number;     // 0 = empty image
  pages: number;       // pages in the chain: link + meta + data
  nodes: number;       // nodes in the image
  /** The second link page (slot extension 1); absent in slots written without it. */
  secondPfn?: number;
  /** Slot extension 2: the slot names a v3 log ending at (tailPfn, tailOff), logPages pages long. */
  log?: SlotLog;
}

export interface SlotLog { tailPfn: number; tailOff: number; logPages: number }

/** What a slot holds: never written (all zero), a checkpoint, or damage (crc or values). */
export type SlotState =
  | { state: 'empty' }
  | { state: 'valid'; slot: Slot }
  | { state: 'damaged'; saved: number; computed: number; why: string };

/** A damaged slot, named for the loss report or the refusal. */
export interface DamagedSlot { which: 0 | 1; saved: number; computed: number; why: string }

export const slotName = (which: 0 | 1): string => (which === 0 ? 'A' : 'B');

// Every commit reads both slots and writes one: u64s as two u32s and one scratch
// slot, so a commit makes no BigInt or Buffer here (its garbage was a sync's p99).
const HI = 2 ** 32;
/** A u64 as a number, -1 over 2^53 - 1. */
const u64At = (b: Buffer, at: number): number => {
  const hi = b.readUInt32LE(at + 4);
  return hi > 0x1fffff ? -1 : hi * HI + b.readUInt32LE(at);
};
const putU64 = (b: Buffer, v: number, at: number): void => { b.writeUInt32LE(v % HI, at); b.writeUInt32LE(Math.floor(v / HI), at + 4); };
const slotScratch = Buffer.alloc(SLOT_SIZE);

export class HeaderView {
  constructor(readonly buf: Buffer) {}
  get magic(): number { return this.buf.readUInt32LE(0); }
  get version(): number { return this.buf.readUInt32LE(4); }
  get pageSize(): number { return this.buf.readUInt32LE(8); }
  get flags(): number { return this.buf.readUInt32LE(12); }
  get pageCount(): number { return Number(this.buf.readBigUInt64LE(16)); }
  /** Raise the header version (a v2 arena whose slot now names a v3 log): the version word and the header crc. */
  setVersion(version: number): void {
    this.buf.writeUInt32LE(version, 4);
    this.buf.writeUInt32LE(this.computeCrc(), HEADER_CRC_AT);
  }
  get reserved24(): number { return this.buf.readUInt32LE(24); }
  get crc(): number { return this.buf.readUInt32LE(HEADER_CRC_AT); }
  computeCrc(): number { return crc32c(this.buf.subarray(0, HEADER_CRC_AT)); }

  format(g: Geometry, version: number = FORMAT_VERSION): void {
    const b = this.buf;
    b.fill(0, 0, SLOT_B_AT + SLOT_SIZE);
    b.writeUInt32LE(HEADER_MAGIC, 0);               // magic
    b.writeUInt32LE(version, 4);                    // format version
    b.writeUInt32LE(g.pageSize, 8);                 // page size
    b.writeUInt32LE(g.flags >>> 0, 12);             // flags (extents)
    b.writeBigUInt64LE(BigInt(g.pageCount), 16);    // page count
    b.writeUInt32LE(this.computeCrc(), HEADER_CRC_AT);
  }

  slotAt(which: 0 | 1): number { return which === 0 ? SLOT_A_AT : SLOT_B_AT; }

  /** The slot's values, or null when it was never written or is damaged (torn or rotted). */
  readSlot(which: 0 | 1): Slot | null {
    const st = this.inspectSlot(which);
    return st.state === 'valid' ? st.slot : null;
  }

  /**
   * Tells a never-written slot (all 64 bytes zero) from a damaged one: a damaged
   * slot may have held the newest checkpoint, so its loss must be reported.
   */
  inspectSlot(which: 0 | 1): SlotState {
    const o = this.slotAt(which), b = this.buf;
    let zero = true;
    for (let i = o; i < o + SLOT_SIZE && zero; i += 4) zero = b.readUInt32LE(i) === 0;
    if (zero) return { state: 'empty' };
    const saved = b.readUInt32LE(o + SLOT_CRC_AT);
    const computed = crc32cAt(b, o, SLOT_CRC_AT);
    if (saved !== computed) return { state: 'damaged', saved, computed, why: 'crc mismatch' };
    const gen = u64At(b, o), head = u64At(b, o + 8);
    const pages = u64At(b, o + 16), nodes = u64At(b, o + 24);
    const ext = b.readUInt32LE(o + SLOT_EXT_AT), second = u64At(b, o + SLOT_SECOND_AT);
    if (gen === 0) return { state: 'damaged', saved, computed, why: 'generation 0 in a written slot' };
    if (gen < 0 || head < 0 || pages < 0 || nodes < 0 || second < 0) return { state: 'damaged', saved, computed, why: 'a value over 2^53' };
    const slot: Slot = { generation: gen, headPfn: head, pages, nodes };
    if (ext === SLOT_EXT_LOG || ext === SLOT_EXT_LOG_SPANS || ext === SLOT_EXT_LOG_INDEX || ext === SLOT_EXT_LOG_RUNS || ext === SLOT_EXT_LOG_ATIMES
      || ext === SLOT_EXT_LOG_PUBLISHED || ext === SLOT_EXT_LOG_ATIMES_PAGES) {
      const tail = u64At(b, o + SLOT_TAIL_AT);
      if (tail < 0) return { state: 'damaged', saved, computed, why: 'a value over 2^53' };
      slot.log = { tailPfn: tail, tailOff: b.readUInt32LE(o + SLOT_TAIL_OFF_AT), logPages: b.readUInt32LE(o + SLOT_LOG_PAGES_AT) };
    } else if (ext >= SLOT_EXT_VERSION) slot.secondPfn = second;
    return { state: 'valid', slot };
  }

  /**
   * Build the slot apart, then copy it in with one 64-byte copy: a process killed
   * during a commit leaves the old slot or the new one, not a mix (a power cut
   * can still tear it; its crc then fails and the other slot is used).
   */
  writeSlot(which: 0 | 1, s: Slot): void {
    const o = this.slotAt(which), b = slotScratch.fill(0);
    putU64(b, s.generation, 0);                       // generation
    putU64(b, s.headPfn, 8);                          // head pfn
    putU64(b, s.pages, 16);                           // pages in chain
    putU64(b, s.nodes, 24);                           // nodes
    if (s.log) {
      b.writeUInt32LE(SLOT_EXT_LOG_ATIMES_PAGES, SLOT_EXT_AT);       // slot extension: a v3 log, SPANs, LOCATE, INDEX, RUNS, PUBLISHED and ATIMES_PAGES allowed
      putU64(b, s.log.tailPfn, SLOT_TAIL_AT);                         // tail pfn
      b.writeUInt32LE(s.log.tailOff, SLOT_TAIL_OFF_AT);               // tail offset
      b.writeUInt32LE(s.log.logPages, SLOT_LOG_PAGES_AT);             // log pages
    } else if (s.secondPfn !== undefined) {
      b.writeUInt32LE(SLOT_EXT_VERSION, SLOT_EXT_AT);   // slot extension version
      putU64(b, s.secondPfn, SLOT_SECOND_AT);           // second link pfn
    }
    b.writeUInt32LE(crc32cAt(b, 0, SLOT_CRC_AT), SLOT_CRC_AT);
    this.buf.set(b, o);
  }

  /** The valid slot with the newest generation, and which one it is. */
  current(): { slot: Slot; which: 0 | 1 } | null {
    const a = this.readSlot(0), b = this.readSlot(1);
    if (a && (!b || a.generation >= b.generation)) return { slot: a, which: 0 };
    if (b) return { slot: b, which: 1 };
    return null;
  }

  /** The current checkpoint and every damaged slot (an empty slot is not damage). */
  survey(): { current: { slot: Slot; which: 0 | 1 } | null; damaged: DamagedSlot[] } {
    const damaged: DamagedSlot[] = [];
    for (const which of [0, 1] as const) {
      const st = this.inspectSlot(which);
      if (st.state === 'damaged') damaged.push({ which, saved: st.saved, computed: st.computed, why: st.why });
    }
    return { current: this.current(), damaged };
  }
}

export type AttachError = { field: 'magic' | 'version' | 'pageSize' | 'pageCount' | 'crc'; saved: number; computed: number; message: string };

/** Attach checks in order; `expect` is what the mapping says (arena size in pages, page size). */
export function checkHeader(buf: Buffer, expect: { pageSize: number; pageCount: number }): AttachError | null {
  const h = new HeaderView(buf);
  const x = (v: number) => `0x${v.toString(16)}`;
  if (h.magic !== HEADER_MAGIC) return { field: 'magic', saved: h.magic, computed: HEADER_MAGIC, message: `not a pram arena: magic ${x(h.magic)}, expected ${x(HEADER_MAGIC)}` };
  if (!(FORMAT_VERSIONS as readonly number[]).includes(h.version)) return { field: 'version', saved: h.version, computed: FORMAT_VERSION, message: `arena format version ${h.version}, this pram reads versions ${FORMAT_VERSIONS.slice(0, -1).join(', ')} and ${FORMAT_VERSION}` };
  if (h.pageSize !== expect.pageSize) return { field: 'pageSize', saved: h.pageSize, computed: expect.pageSize, message: `arena page size ${h.pageSize}, expected ${expect.pageSize}` };
  if (h.pageCount !== expect.pageCount) return { field: 'pageCount', saved: h.pageCount, computed: expect.pageCount, message: `arena records ${h.pageCount} pages but the mapping holds ${expect.pageCount} (truncated or resized?)` };
  const c = h.computeCrc();
  if (h.crc !== c) return { field: 'crc', saved: h.crc, computed: c, message: `arena header checksum saved ${x(h.crc)}, computed ${x(c)}` };
  return null;
}
