// A group read without its large SPANs' page crcs (a lazy mount's group load, and the groups a tail
// touches at mount). A directory holding files of gigabytes has a group of megabytes that is almost
// all page crcs (12 GiB in the root: 12 MB, 768 SPANs of 16 KiB), and a lazy load keeps such files for
// adoption on first use (laterpages.ts) anyway. A SPAN's record crc covers its header and fixed fields
// only (docs/FORMAT.md §v3, minor 1; its page crcs have a crc of their own), so its record checks
// without them: here it is read as those 56 bytes, and its page crcs are read, and their own crc
// checked, when first needed (spans.ts SpanCrcs.later: the file's adoption). Reading 56 bytes a SPAN
// with pread cost ~2 ms at 12 GiB where the whole group's 12 MB cost 6-36 ms (fresh memory's first
// touches). Everything else is read and checked as groups.ts readGroup does; anything that does not
// check gives null, and the caller reads the group whole (which then says exactly what is wrong).

import type { PhysMem } from '../mem/physmem.js';
import { crc32cRanges } from '../format/crc.js';
import { align8, decodeSpanInto, framedCrc, logPayload, LOG_HEADER, RECORD_HEADER, RECORD_PAYLOAD_MAX, RecordType,
  SPAN_BLOCK, SPAN_CRCS_CRC_AT, SPAN_FIXED, u32, type IndexEntry, type InodeRecord, type SpanHead } from '../format/v3.js';
import { placeRecord, type Group, type SpanDecoder } from './groups.js';
import { streamBytes, streamPagesBytes, type PageCheck } from './stream.js';
import { preadOrErrno } from '../mem/native.js';
import type { ThinSpan } from './spans.js';

/**
 * Groups smaller than this (1 MiB) are read whole (one pread): skipping pays only where page crcs are most of the
 * bytes. PRAM_THIN_GROUP_BYTES sets another (tests: 0 reads every group with a large SPAN thin).
 */
export function thinGroupBytes(): number {
  const v = process.env['PRAM_THIN_GROUP_BYTES'], n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : 1 << 20;
}
/**
 * Least record bytes a node, on average, of a group read thin: a directory of large files (12 GiB in 12 files:
 * ~1 MB a node). A directory of small files (~250 bytes a node) is read whole without a look: its first
 * window alone (~1300 NAMEs) cost a load ~1 ms of cold code to find no SPAN in it.
 */
const NODE_BYTES = 16 << 10;

/** Nodes whose home is directory `dir` by the HOMES runs (first, count, home triples), counted once per index. */
function nodesHomedIn(homes: Float64Array, dir: number): number {
  let per = homedCounts.get(homes);
  if (!per) {
    per = new Map();
    for (let i = 0; i + 2 < homes.length; i += 3) per.set(homes[i + 2]!, (per.get(homes[i + 2]!) ?? 0) + homes[i + 1]!);
    homedCounts.set(homes, per);
  }
  return per.get(dir) ?? 0;
}
const homedCounts = new WeakMap<Float64Array, Map<number, number>>();

/** A SPAN of at least this many pages is read without its page crcs (an even count: no padding after them, which its record crc covers). */
const THIN_SPAN_PAGES = 256;
/**
 * Stream bytes read at once where records are not skipped: from 4 KiB (after a file's SPANs: its next one's
 * INODE and first SPAN's head), doubled while no SPAN is skipped, up to 64 KiB (more for a larger record).
 */
const WINDOW = 64 << 10;
const FIRST_WINDOW = 4 << 10;
const HEAD = RECORD_HEADER + SPAN_FIXED;
const HI = 2 ** 32;
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const NO_CRCS = new Uint32Array(0);

/** The group's records as kept: each whole, but a thin SPAN as its first HEAD bytes; `places`: a thin one's stream place, else -1. */
interface Kept { b: Buffer; n: number; offs: number[]; places: number[] }

/**
 * The group of directory `e.ino` read with its large SPANs' page crcs skipped, or null: a small group, one of
 * small nodes, or anything that does not check (the caller then reads it
 * whole, as before). `homes`: the index's HOMES runs (how many nodes the group holds). `check`: the log pages
 * read have their headers checked on the way (those only skipped: when their crcs are read).
 */
export function readGroupThin(mem: PhysMem, pages: readonly number[], e: IndexEntry, logId: number, homes: Float64Array, check?: PageCheck): Group | null {
  const min = thinGroupBytes();
  if (e.bytes < min || e.bytes < Math.min(min, NODE_BYTES) * nodesHomedIn(homes, e.ino)) return null;
  const kept = keptRecords(mem, pages, e, check);
  return kept && thinGroup(kept, e.ino, logId);
}

/** The group's bytes, thin SPANs cut to their heads; null when a record's framing fails. */
function keptRecords(mem: PhysMem, pages: readonly number[], e: IndexEntry, check?: PageCheck): Kept | null {
  const end = e.pos + e.bytes, k: Kept = { b: Buffer.allocUnsafeSlow(1 << 16), n: 0, offs: [], places: [] };
  let pos = e.pos, want = FIRST_WINDOW;
  while (pos < end) {
    const n = Math.min(want, end - pos);
    const b = streamBytes(mem, pages, pos, n, check, windowFor(mem.pageSize, pos, n));
    if (!b) return null;
    let at = 0, thin = false, cut = 0;
    while (at + RECORD_HEADER <= n) {
      const type = b.readUInt16LE(at + 4), length = u32(b, at + 8), total = RECORD_HEADER + align8(length);
      if (length > RECORD_PAYLOAD_MAX || pos + at + total > end) return null;
      thin = isThinSpan(type, length);
      if (thin) {
        if (at + HEAD > n) break;              // the chain reads it
        keep(k, b, at, HEAD, pos + at);
        at += total;
        continue;
      }
      if (at + total > n) { cut = total; break; }
      keep(k, b, at, total, -1);
      at += total;
    }
    if (at === 0 && !thin && cut === 0) return null;    // bytes after the last record that are not one: read whole, it says what
    pos += at;
    want = Math.max(Math.min(2 * want, WINDOW), cut);
    if (!thin) continue;
    pos = thinChain(k, mem, pages, pos, end);    // past the window, or its head cut by it
    if (pos < 0) return null;
    want = FIRST_WINDOW;
  }
  return k;
}

/** A SPAN read as its head alone: of THIN_SPAN_PAGES pages or more, an even count (no padding after its page crcs). */
const isThinSpan = (type: number, length: number): boolean =>
  type === RecordType.Span && length >= SPAN_FIXED + 4 * THIN_SPAN_PAGES && length % 8 === 0;

/**
 * From stream place `pos`, the thin SPANs that follow one another, each read as its head alone by one pread
 * straight into the kept bytes (a file's SPANs: one after another, 16 KiB apart); where the first other record
 * (or the end) lies, or -1: a record's framing fails. The log pages only these reads touch are checked later
 * (LazyLog.crcsAt reads them with the page crcs).
 */
function thinChain(k: Kept, mem: PhysMem, pages: readonly number[], pos: number, end: number): number {
  while (pos + HEAD <= end) {
    if (k.n + HEAD > k.b.length) grow(k, HEAD);
    if (!readInto(mem, pages, pos, HEAD, k.b, k.n)) return -1;
    const type = k.b.readUInt16LE(k.n + 4), length = u32(k.b, k.n + 8), total = RECORD_HEADER + align8(length);
    if (!isThinSpan(type, length)) return pos;
    if (length > RECORD_PAYLOAD_MAX || pos + total > end) return -1;
    k.offs.push(k.n);
    k.places.push(pos);
    k.n += HEAD;
    pos += total;
  }
  return pos;
}

/** Record b[at, at+len) appended to the kept bytes (`place`: a thin SPAN's stream place, else -1). */
function keep(k: Kept, b: Buffer, at: number, len: number, place: number): void {
  if (k.n + len > k.b.length) grow(k, len);
  b.copy(k.b, k.n, at, at + len);
  k.offs.push(k.n);
  k.places.push(place);
  k.n += len;
}

function grow(k: Kept, len: number): void {
  const g = Buffer.allocUnsafeSlow(Math.max(2 * k.b.length, k.n + len));
  k.b.copy(g, 0, 0, k.n);
  k.b = g;
}

/** Stream bytes [pos, pos + n) into out[at...]: pread where the memory has an fd (no page of it mapped here), else the mapping. */
function readInto(mem: PhysMem, pages: readonly number[], pos: number, n: number, out: Buffer, at: number): boolean {
  const per = logPayload(mem.pageSize), fd = mem.preadFd;
  for (let done = 0; done < n;) {
    const seq = Math.floor((pos + done) / per), off = (pos + done) % per, take = Math.min(n - done, per - off), pfn = pages[seq];
    if (pfn === undefined) return false;
    if (fd === undefined || preadOrErrno(fd, out, at + done, take, pfn * mem.pageSize + LOG_HEADER + off) !== take) mem.page(pfn).copy(out, at + done, LOG_HEADER + off, LOG_HEADER + off + take);
    done += take;
  }
  return true;
}

/** The window streamBytes reads whole pages into (kept across reads and groups: fresh memory costs a fault a page). */
function windowFor(pageSize: number, pos: number, n: number): Buffer {
  const need = streamPagesBytes(pageSize, pos, n);
  if (windowBuf.length < need) windowBuf = Buffer.allocUnsafeSlow(need);
  return windowBuf;
}
let windowBuf = Buffer.alloc(0);

/**
 * The kept records decoded as groups.ts groupOf decodes them (the directory's INODE first, then its names,
 * nodes and their pages), in one pass that also lists every crc to check: all checked in one native call
 * at the end (a thin SPAN's over its head), null if any fails. A thin SPAN is decoded from the words (793
 * records at 12 GiB: field by field through u64 was ~3 us each in a fresh process).
 */
function thinGroup(k: Kept, dir: number, logId: number): Group | null {
  const b = k.b, m = k.offs.length, gen = logId >>> 0;
  if (!LITTLE || b.byteOffset % 4 !== 0) return null;
  const w = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  const at = new Uint32Array(m), len = new Uint32Array(m), want = new Uint32Array(m), out = new Uint32Array(m);
  const g: Group = { dir: null as unknown as InodeRecord, names: [], nodes: new Map(), pages: [], spanDamage: new Map() };
  for (let i = 0; i < m; i++) {
    const o = k.offs[i]!, q = o >>> 2, type = w[q + 1]! & 0xffff, length = w[q + 2]!, p = o + RECORD_HEADER, place = k.places[i]!;
    if (w[q + 3] !== gen) return null;
    at[i] = o + 4; want[i] = o;
    len[i] = place >= 0 ? HEAD - 4 : RECORD_HEADER - 4 + align8(length);
    if (type === RecordType.Span && place >= 0) {
      // ino, index, pfn: u64 words below 2^21 high; count in one block; the reserved word 0 (decodeSpanInto's checks).
      const count = w[q + 10]!, index = u64w(w[q + 7]!, w[q + 6]!);
      if (w[q + 5]! > 0x1fffff || w[q + 7]! > 0x1fffff || w[q + 9]! > 0x1fffff || w[q + 13] !== 0 || length !== SPAN_FIXED + 4 * count) return null;
      if (count < 1 || count > SPAN_BLOCK || Math.floor(index / SPAN_BLOCK) !== Math.floor((index + count - 1) / SPAN_BLOCK)) return null;
      const r: ThinSpan = { ino: u64w(w[q + 5]!, w[q + 4]!), index, pfn: u64w(w[q + 9]!, w[q + 8]!), count, flags: w[q + 11]!, crcs: NO_CRCS, crcsPos: place };
      if (!g.nodes.has(r.ino)) return null;
      g.pages.push({ type, r });
      continue;
    }
    if (type === RecordType.Span && length >= SPAN_FIXED) {
      // A SPAN read whole: its record crc (over any padding too) now, its page crcs' own with the rest.
      if (framedCrc(b, o, type, length) !== w[q]) return null;
      at[i] = p + SPAN_FIXED; len[i] = length - SPAN_FIXED; want[i] = p + SPAN_CRCS_CRC_AT;
    }
    if (!placeRecord(g, b, type, p, length, i, dir, spanCopied)) return null;
  }
  crc32cRanges(b, at, len, m, out);
  for (let i = 0; i < m; i++) if (out[i] !== w[want[i]! >>> 2]) return null;
  return m > 0 ? g : null;
}

/** A u64 from its words (high below 2^21): the low word itself when the high is 0 (`0 * 2^32 + lo` is a heap number in cold code: v3-base u64). */
const u64w = (hi: number, lo: number): number => (hi === 0 ? lo : hi * HI + lo);

/** A SPAN read whole out of a window that is read over again: its page crcs copied out. */
const spanCopied: SpanDecoder = (b, p, length) => {
  const head: SpanHead = { ino: 0, index: 0, pfn: 0, count: 0, flags: 0 };
  const bad = decodeSpanInto(b, p, length, head);
  if (bad !== null) return bad;
  const crcs = new Uint32Array(head.count);
  for (let j = 0; j < head.count; j++) crcs[j] = u32(b, p + SPAN_FIXED + 4 * j);
  return { type: RecordType.Span, r: { ...head, crcs } };
};
