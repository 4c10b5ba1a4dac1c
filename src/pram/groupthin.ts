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
import { align8, decodeInodeAt, decodeMapInto, decodeNameAt, decodeSpanInto, framedCrc, logPayload, LOG_HEADER, RECORD_HEADER, RECORD_PAYLOAD_MAX, RecordType,
  SPAN_CRCS_CRC_AT, SPAN_FIXED, u32, type IndexEntry, type InodeRecord, type MapRecord, type SpanHead } from '../format/v3.js';
import { S_IFDIR, S_IFMT } from '../format/mode.js';
import type { Group } from './groups.js';
import { streamBytes, streamPagesBytes, type PageCheck } from './stream.js';
import type { ThinSpan } from './spans.js';

/**
 * Groups smaller than this (1 MiB) are read whole (one pread): skipping pays only where page crcs are most of the
 * bytes. PRAM_THIN_GROUP_BYTES sets another (tests: 0 reads every group with a large SPAN thin).
 */
export function thinGroupBytes(): number {
  const n = Number(process.env['PRAM_THIN_GROUP_BYTES'] ?? '');
  return Number.isSafeInteger(n) && n >= 0 && process.env['PRAM_THIN_GROUP_BYTES'] !== '' ? n : 1 << 20;
}
/** A SPAN of at least this many pages is read without its page crcs (an even count: no padding after them, which its record crc covers). */
const THIN_SPAN_PAGES = 256;
/** Stream bytes read at once where records are not skipped (grown for a larger record). */
const WINDOW = 64 << 10;
/** Bytes read after a skipped SPAN: the next one's header and fixed fields, or enough to see a smaller record. */
const AFTER_SKIP = 128;
const HEAD = RECORD_HEADER + SPAN_FIXED;
const NO_CRCS = new Uint32Array(0);

/** The group's records as kept: each whole, but a thin SPAN as its first HEAD bytes; `thin`: their stream places, in order. */
interface Kept { b: Buffer; n: number; offs: number[]; thin: Map<number, number> }

/**
 * The group of directory `e.ino` read with its large SPANs' page crcs skipped, or null: a small group, no SPAN
 * to skip in its first bytes, or anything that does not check (the caller then reads it whole, as before).
 * `check`: the log pages read have their headers checked on the way (those only skipped: when their crcs are read).
 */
export function readGroupThin(mem: PhysMem, pages: readonly number[], e: IndexEntry, logId: number, check?: PageCheck): Group | null {
  if (e.bytes < thinGroupBytes()) return null;
  const kept = keptRecords(mem, pages, e, check);
  return kept && thinGroup(kept, e.ino, logId);
}

/** The group's bytes, thin SPANs cut to their heads; null when the first window holds no SPAN to skip, or a record's framing fails. */
function keptRecords(mem: PhysMem, pages: readonly number[], e: IndexEntry, check?: PageCheck): Kept | null {
  const end = e.pos + e.bytes, k: Kept = { b: Buffer.allocUnsafe(1 << 16), n: 0, offs: [], thin: new Map() };
  let pos = e.pos, want = WINDOW, first = true;
  while (pos < end) {
    const n = Math.min(want, end - pos);
    const b = n <= AFTER_SKIP ? small(mem, pages, pos, n) : streamBytes(mem, pages, pos, n, check, windowFor(mem.pageSize, pos, n));
    if (!b) return null;
    let at = 0, skipped = false;
    want = WINDOW;
    while (at + RECORD_HEADER <= n) {
      const type = b.readUInt16LE(at + 4), length = u32(b, at + 8), total = RECORD_HEADER + align8(length);
      if (length > RECORD_PAYLOAD_MAX || pos + at + total > end) return null;
      if (type === RecordType.Span && length >= SPAN_FIXED + 4 * THIN_SPAN_PAGES && total === RECORD_HEADER + length) {
        if (at + HEAD > n) { want = AFTER_SKIP; break; }
        k.thin.set(keep(k, b, at, HEAD), pos + at);
        at += total;
        skipped = true;
        continue;
      }
      if (at + total > n) { want = Math.max(WINDOW, total); break; }
      keep(k, b, at, total);
      at += total;
    }
    if (first && !skipped) return null;
    first = false;
    if (skipped && at >= n) want = AFTER_SKIP;
    if (at === 0 && want <= n) return null;    // no progress (cannot happen: a record fits the next read)
    pos += at;
  }
  return k;
}

/** Record b[at, at+len) appended to the kept bytes; its offset there. */
function keep(k: Kept, b: Buffer, at: number, len: number): number {
  if (k.n + len > k.b.length) { const g = Buffer.allocUnsafe(Math.max(2 * k.b.length, k.n + len)); k.b.copy(g, 0, 0, k.n); k.b = g; }
  b.copy(k.b, k.n, at, at + len);
  k.offs.push(k.n);
  k.n += len;
  return k.n - len;
}

/** Stream bytes [pos, pos + n) of a short read (a SPAN's head): pread where the memory has it, else the mapping. */
function small(mem: PhysMem, pages: readonly number[], pos: number, n: number): Buffer | null {
  const per = logPayload(mem.pageSize), out = smallBuf.subarray(0, n);
  for (let done = 0; done < n;) {
    const seq = Math.floor((pos + done) / per), off = (pos + done) % per, take = Math.min(n - done, per - off), pfn = pages[seq];
    if (pfn === undefined) return null;
    if (!mem.readAt?.(pfn * mem.pageSize + LOG_HEADER + off, out, done, take)) mem.page(pfn).copy(out, done, LOG_HEADER + off, LOG_HEADER + off + take);
    done += take;
  }
  return out;
}
const smallBuf = Buffer.alloc(AFTER_SKIP);

/** The window streamBytes reads whole pages into (kept across reads and groups: fresh memory costs a fault a page). */
function windowFor(pageSize: number, pos: number, n: number): Buffer {
  const need = streamPagesBytes(pageSize, pos, n);
  if (windowBuf.length < need) windowBuf = Buffer.allocUnsafeSlow(need);
  return windowBuf;
}
let windowBuf = Buffer.alloc(0);

/** The kept records checked (every crc in one native call, a thin SPAN's over its head) and decoded as groups.ts groupOf does. */
function thinGroup(k: Kept, dir: number, logId: number): Group | null {
  const b = k.b, m = k.offs.length;
  const at = new Uint32Array(m + 1), len = new Uint32Array(m + 1), want = new Uint32Array(m + 1), out = new Uint32Array(m + 1);
  let c = 0;
  for (const o of k.offs) {
    const type = b.readUInt16LE(o + 4), length = u32(b, o + 8);
    if (u32(b, o + 12) !== (logId >>> 0)) return null;
    if (k.thin.has(o)) { at[c] = o + 4; len[c] = HEAD - 4; want[c++] = o; continue; }
    if (type !== RecordType.Span || length < SPAN_FIXED) { at[c] = o + 4; len[c] = RECORD_HEADER - 4 + align8(length); want[c++] = o; continue; }
    // A SPAN read whole: its record crc (over any padding too), and its page crcs' own.
    if (framedCrc(b, o, type, length) !== u32(b, o)) return null;
    at[c] = o + RECORD_HEADER + SPAN_FIXED; len[c] = length - SPAN_FIXED; want[c++] = o + RECORD_HEADER + SPAN_CRCS_CRC_AT;
  }
  crc32cRanges(b, at, len, c, out);
  for (let i = 0; i < c; i++) if (out[i] !== u32(b, want[i]!)) return null;
  return decoded(k, dir);
}

/** The kept records decoded in order: the directory's INODE first, then its names, nodes and their pages. */
function decoded(k: Kept, dir: number): Group | null {
  const g: Group = { dir: null as unknown as InodeRecord, names: [], nodes: new Map(), pages: [], spanDamage: new Map() };
  const b = k.b;
  for (let i = 0; i < k.offs.length; i++) {
    const o = k.offs[i]!, type = b.readUInt16LE(o + 4), length = u32(b, o + 8), p = o + RECORD_HEADER;
    if (type === RecordType.Inode) {
      const r = decodeInodeAt(b, p, length);
      if (typeof r === 'string') return null;
      if (i > 0) g.nodes.set(r.ino, r);
      else if (r.ino === dir && (r.mode & S_IFMT) === S_IFDIR) g.dir = r;
      else return null;
    } else if (i === 0) return null;
    else if (type === RecordType.Name) {
      const r = decodeNameAt(b, p, length);
      if (typeof r === 'string' || r.parent !== dir || r.ino === 0) return null;
      g.names.push(r);
    } else if (type === RecordType.Map) {
      const r: MapRecord = { ino: 0, index: 0, pfn: 0, count: 0, csum: 0, flags: 0 };
      if (decodeMapInto(b, p, length, r) !== null || !g.nodes.has(r.ino)) return null;
      g.pages.push({ type, r });
    } else if (type === RecordType.Span) {
      const head: SpanHead = { ino: 0, index: 0, pfn: 0, count: 0, flags: 0 }, place = k.thin.get(o);
      if (decodeSpanInto(b, p, length, head) !== null || !g.nodes.has(head.ino)) return null;
      if (place === undefined) {
        const crcs = new Uint32Array(head.count);
        for (let j = 0; j < head.count; j++) crcs[j] = u32(b, p + SPAN_FIXED + 4 * j);
        g.pages.push({ type, r: { ...head, crcs } });
      } else {
        const r: ThinSpan = { ...head, crcs: NO_CRCS, crcsPos: place };
        g.pages.push({ type, r });
      }
    } else return null;
  }
  return k.offs.length > 0 ? g : null;
}
