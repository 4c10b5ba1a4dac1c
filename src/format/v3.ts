// Version 3 of the on-memory format (docs/FORMAT.md §v3): the live image of an
// arena as one checksummed record log. A log is a chain of log pages (a
// 32-byte header, a stream area, the next page's pfn in the last 8 bytes);
// records are 8-aligned in the stream and may span pages. A header slot names
// the log's head page and the committed tail (slot extension 2, or 3 when it may hold SPANs: header.ts).
// This file is the codec only (a SPAN's own is v3-span.ts): the engine's writer
// and replay are pram/log.ts and pram/replay.ts.

import { assert } from './assert.js';
import { crc32c, crc32cAt } from './crc.js';
import { PAGE_SIZE_MIN } from './v1.js';
import { align8, putU64, u32, u64, RECORD_HEADER, RECORD_NAMES, RecordType, GROUP_PAGES, INODE_FIXED, NAME_FIXED, MAP_SIZE, UNMAP_SIZE, DROP_SIZE, SPAN_FIXED,
  ATIMES_FIXED, ATIMES_ENTRY, PUBLISHED_SIZE, PUBLISH_COPIES, ATIMES_PAGES_FIXED, ATIMES_PAGES_RUN } from './v3-base.js';
import type { InodeFields } from './v3-put.js';
import { decodeIndex, decodeLocate, decodeRuns, decodeRunsAt, indexPayload, locatePayload, runsPayload, INDEX_ENTRY, INDEX_FIXED, INDEX_MAX_ENTRIES, LOCATE_SIZE,
  RUNS_FIXED, RUNS_ENTRY, RUNS_MAX_ENTRIES, RunsKind, type IndexEntry, type LocateRecord, type RunsRecord } from './v3-index.js';

export { decodeIndex, decodeLocate, decodeRunsAt, INDEX_ENTRY, INDEX_FIXED, INDEX_MAX_ENTRIES, LOCATE_SIZE, RUNS_FIXED, RUNS_ENTRY, RUNS_MAX_ENTRIES, RunsKind, type IndexEntry, type LocateRecord, type RunsRecord };

export const LOG_MAGIC = 0x474f4c50;          // bytes 'P','L','O','G'
export const LOG_HEADER = 32;                 // magic, first, log id, seq, reserved, crc
export const LOG_HEADER_CRC_AT = 28;          // crc32c of header bytes 0..27
export const LOG_NEXT = 8;                    // the next page's pfn: the last 8 bytes of a page
export { u32, RECORD_HEADER, RecordType, RECORD_NAMES, MAP_LRU, GROUP_PAGES, INODE_FIXED, NAME_FIXED, MAP_SIZE, UNMAP_SIZE, DROP_SIZE, SPAN_FIXED,
  SPAN_CRCS_CRC_AT, SPAN_BLOCK, ATIMES_FIXED, ATIMES_ENTRY, ATIMES_MAX_ENTRIES, PUBLISHED_SIZE, PUBLISH_COPIES, LOCATE_SLICED, ATIMES_PAGES_FIXED, ATIMES_PAGES_RUN, ATIMES_PAGES_MAX_ENTRIES } from './v3-base.js';
import { atimesIno, decodeAtimesAt, decodeAtimesPagesAt, type AtimesRecord, type AtimesPagesRecord } from './v3-atimes.js';
export { atimesIno, atimesRecord, checkAtimes, decodeAtimesAt, decodeAtimesPagesAt, atimesOfPage, atimesPagesFit, atimesPageEntries, atimesPageOf, type AtimesRecord, type AtimesPagesRecord } from './v3-atimes.js';
export { putInode, putDrop, putName, putMap, putSpan, putUnmap, putIndex, putLocate, putRuns, putAtimes, putAtimesPages, putPublished, type RecordOut, type InodeFields } from './v3-put.js';
import { decodeSpanInto, encodeSpan, spanCrc, spanCrcsDamage, type SpanHead, type SpanRecord } from './v3-span.js';
export { decodeSpanInto, encodeSpan, spanCrc, spanCrcOf, spanCrcsDamage, type SpanHead, type SpanRecord } from './v3-span.js';

/** Stream bytes of the LOCATE record: the groups start right after it. */
export const LOCATE_BYTES = RECORD_HEADER + LOCATE_SIZE;

assert(LOG_HEADER + LOG_NEXT + RECORD_HEADER < PAGE_SIZE_MIN, 'a log page holds a record header');

/** Bytes of stream a log page carries. */
export function logPayload(pageSize: number): number { return pageSize - LOG_HEADER - LOG_NEXT; }

export { align8 } from './v3-base.js';
/** Stream bytes of a node's INODE record without its inline content (xattrBytes: encoded xattrs). */
export const inodeRecordBytes = (xattrBytes: number): number => RECORD_HEADER + align8(INODE_FIXED + xattrBytes);
/**
 * Stream bytes `inlineBytes` of inline content add to an INODE record, 8-aligned: exact when
 * its xattrs end 8-aligned (none, say), else at most 8 over (align8(a + b) <= align8(a) + align8(b)).
 */
export const inlineRecordBytes = (inlineBytes: number): number => align8(inlineBytes);
/** Stream bytes of the NAME record of a name of `nameBytes` UTF-8 bytes. */
export const nameRecordBytes = (nameBytes: number): number => RECORD_HEADER + align8(NAME_FIXED + nameBytes);

// ---- log page header ----

export interface LogPageHeader { logId: number; seq: number; first: number }

/** Writes a fresh log page header (first: offset in the page of the first record starting there, 0 = none). */
export function writeLogHeader(page: Buffer, h: LogPageHeader): void {
  page.fill(0, 0, LOG_HEADER);
  page.writeUInt32LE(LOG_MAGIC, 0);
  page.writeUInt32LE(h.first, 4);
  putU64(page, h.logId, 8);
  putU64(page, h.seq, 16);
  page.writeUInt32LE(crc32cAt(page, 0, LOG_HEADER_CRC_AT), LOG_HEADER_CRC_AT);
}

/** The header, or why it is not a log page header. */
/** computed: the crc32c of the header's bytes 0..27 when the caller summed many pages' at once (groups.ts streamBytes). */
export function readLogHeader(page: Buffer, computed = crc32cAt(page, 0, LOG_HEADER_CRC_AT)): LogPageHeader | string {
  if (page.readUInt32LE(0) !== LOG_MAGIC) return `not a log page (magic 0x${page.readUInt32LE(0).toString(16)})`;
  const saved = page.readUInt32LE(LOG_HEADER_CRC_AT);
  if (saved !== computed) return `log page header crc saved 0x${saved.toString(16)}, computed 0x${computed.toString(16)}`;
  const first = page.readUInt32LE(4);
  const logId = u64(page, 8), seq = u64(page, 16);
  if (logId === null || seq === null) return 'log id or seq over 2^53';
  if (first !== 0 && (first < LOG_HEADER || first >= page.length - LOG_NEXT || first % 8 !== 0)) return `first record offset ${first} outside the stream`;
  return { logId, seq, first };
}

export function readNext(page: Buffer): bigint { return page.readBigUInt64LE(page.length - LOG_NEXT); }
export function writeNext(page: Buffer, pfn: number): void { putU64(page, pfn, page.length - LOG_NEXT); }

// ---- records ----

export interface InodeRecord extends InodeFields {
  xattrs: Uint8Array; inline: Uint8Array;
  /** Pages the node's map holds after this commit (replay checks the map it rebuilt against it). */
  pages: number;
}
export interface NameRecord { parent: number; ino: number; name: string }   // ino 0: the name is gone
export interface MapRecord { ino: number; index: number; pfn: number; count: number; csum: number; flags: number }
export interface UnmapRecord { ino: number; index: number; count: number }

export type LogRecord =
  | { type: RecordType.Inode; r: InodeRecord }
  | { type: RecordType.Drop; ino: number }
  | { type: RecordType.Name; r: NameRecord }
  | { type: RecordType.Map; r: MapRecord }
  | { type: RecordType.Unmap; r: UnmapRecord }
  | { type: RecordType.Span; r: SpanRecord }
  | { type: RecordType.Index; entries: IndexEntry[] }
  | { type: RecordType.Locate; r: LocateRecord }
  | { type: RecordType.Runs; r: RunsRecord }
  | { type: RecordType.Atimes; r: AtimesRecord }
  | { type: RecordType.Published; r: PublishedRecord }
  | { type: RecordType.AtimesPages; r: AtimesPagesRecord };

/**
 * PUBLISHED (minor 5): the commit that published a compaction in slices; where the two copies of that step's records
 * begin in the stream (copy 1's at a log page's first byte), a copy's bytes, which copy this record ends, and the
 * zeros after its fixed fields (copy 0's: up to where copy 1 begins; copy 1's: none).
 */
export interface PublishedRecord { generation: number; first: number; second: number; bytes: number; copy: number; pad: number }

/** A record ready for the stream: header + payload, padded to 8, crc set. */
function frame(type: RecordType, payload: Buffer, generation: number, flags = 0): Buffer {
  const out = Buffer.alloc(RECORD_HEADER + align8(payload.length));
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  out.writeUInt32LE(payload.length, 8);
  out.writeUInt32LE(generation >>> 0, 12);
  payload.copy(out, RECORD_HEADER);
  out.writeUInt32LE(recordCrc(out.subarray(4, RECORD_HEADER), out.subarray(RECORD_HEADER)), 0);   // padding too: every byte is checked
  return out;
}

export function recordCrc(header12: Uint8Array, payload: Uint8Array): number {
  return crc32c(payload, crc32c(header12));
}

export function encodeRecord(rec: LogRecord, generation: number): Buffer {
  switch (rec.type) {
    case RecordType.Inode: {
      const r = rec.r;
      const b = Buffer.alloc(INODE_FIXED + r.xattrs.length + r.inline.length);
      b.writeBigUInt64LE(BigInt(r.ino), 0);
      b.writeUInt32LE(r.mode >>> 0, 8); b.writeUInt32LE(r.uid >>> 0, 12); b.writeUInt32LE(r.gid >>> 0, 16);
      b.writeBigUInt64LE(BigInt(r.rdev), 24); b.writeBigUInt64LE(BigInt(r.size), 32);
      b.writeBigUInt64LE(BigInt.asUintN(64, r.atimeNs), 40); b.writeBigUInt64LE(BigInt.asUintN(64, r.mtimeNs), 48);
      b.writeBigUInt64LE(BigInt.asUintN(64, r.ctimeNs), 56);
      b.writeUInt32LE(r.xattrs.length, 64); b.writeUInt32LE(r.inline.length, 68);
      b.writeBigUInt64LE(BigInt(r.pages), 72);
      b.set(r.xattrs, INODE_FIXED); b.set(r.inline, INODE_FIXED + r.xattrs.length);
      return frame(rec.type, b, generation);
    }
    case RecordType.Drop: {
      const b = Buffer.alloc(DROP_SIZE);
      b.writeBigUInt64LE(BigInt(rec.ino), 0);
      return frame(rec.type, b, generation);
    }
    case RecordType.Name: {
      const raw = Buffer.from(rec.r.name, 'utf8');
      const b = Buffer.alloc(NAME_FIXED + raw.length);
      b.writeBigUInt64LE(BigInt(rec.r.parent), 0); b.writeBigUInt64LE(BigInt(rec.r.ino), 8);
      b.writeUInt32LE(raw.length, 16); raw.copy(b, NAME_FIXED);
      return frame(rec.type, b, generation);
    }
    case RecordType.Map: return encodeMap(rec.r, generation);
    case RecordType.Span: return encodeSpan(rec.r, rec.r.crcs, generation);
    case RecordType.Unmap: {
      const r = rec.r, b = Buffer.alloc(UNMAP_SIZE);
      b.writeBigUInt64LE(BigInt(r.ino), 0); b.writeBigUInt64LE(BigInt(r.index), 8); b.writeBigUInt64LE(BigInt(r.count), 16);
      return frame(rec.type, b, generation);
    }
    case RecordType.Index: return frame(rec.type, indexPayload(rec.entries), generation);
    case RecordType.Locate: return encodeLocate(rec.r, generation);
    case RecordType.Runs: return frame(rec.type, runsPayload(rec.r), generation);
    case RecordType.Atimes: {
      const r = rec.r, b = Buffer.alloc(ATIMES_FIXED + ATIMES_ENTRY * r.n);
      b.writeUInt32LE(r.n, 0);
      for (let k = 0; k < r.n; k++) { putU64(b, atimesIno(r, k), ATIMES_FIXED + ATIMES_ENTRY * k); b.writeBigUInt64LE(r.times[2 * k + 1]!, ATIMES_FIXED + ATIMES_ENTRY * k + 8); }
      return frame(rec.type, b, generation);
    }
    case RecordType.Published: {
      const r = rec.r, b = Buffer.alloc(PUBLISHED_SIZE + r.pad);
      putU64(b, r.generation, 0); putU64(b, r.first, 8); putU64(b, r.second, 16); putU64(b, r.bytes, 24); b.writeUInt32LE(r.copy, 32);
      return frame(rec.type, b, generation);
    }
    case RecordType.AtimesPages: {
      const r = rec.r, nr = r.runs.length / 2, p = r.crcs.length, f = ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * nr, b = Buffer.alloc(f + 12 * p);
      b.writeUInt32LE(r.n, 0); b.writeUInt32LE(nr, 4); putU64(b, r.lo, 8); putU64(b, r.hi, 16); b.writeUInt32LE(p, 24);
      r.runs.forEach((v, i) => putU64(b, v, ATIMES_PAGES_FIXED + 8 * i));
      r.firsts.forEach((v, j) => putU64(b, v, f + 8 * j));
      r.crcs.forEach((c, j) => b.writeUInt32LE(c, f + 8 * p + 4 * j));
      return frame(rec.type, b, generation);
    }
  }
}


/**
 * A MAP record, framed: the same bytes as frame() would make, in one buffer
 * and one crc call (the crc of bytes 4…15 chained into the payload's is the
 * crc of bytes 4… at once). The hot path of every commit and compaction.
 */
export function encodeMap(r: MapRecord, generation: number): Buffer {
  if (!(r.count >= 1 && r.count <= GROUP_PAGES)) assert(false, `MAP run of ${r.count} pages`);
  const b = Buffer.allocUnsafe(RECORD_HEADER + MAP_SIZE);
  b.writeUInt32LE(RecordType.Map, 4);                 // type, flags 0
  b.writeUInt32LE(MAP_SIZE, 8); b.writeUInt32LE(generation >>> 0, 12);
  putU64(b, r.ino, 16); putU64(b, r.index, 24); putU64(b, r.pfn, 32);
  b.writeUInt32LE(r.count, 40); b.writeUInt32LE(r.csum >>> 0, 44); b.writeUInt32LE(r.flags, 48); b.writeUInt32LE(0, 52);
  b.writeUInt32LE(crc32c(b.subarray(4)), 0);
  return b;
}

/** The crc a framed record at b[at, at+total) must carry (bytes 4… all; a SPAN's: spanCrc). */
export function framedCrc(b: Uint8Array, at: number, type: number, length: number): number {
  return type === RecordType.Span && length >= SPAN_FIXED ? spanCrc(b, at, length) : crc32cAt(b, at + 4, RECORD_HEADER - 4 + align8(length));
}

/** The LOCATE record, framed (written first as a placeholder, then in place once the index is known). */
export function encodeLocate(r: LocateRecord, generation: number, flags = 0): Buffer {
  return frame(RecordType.Locate, locatePayload(r), generation, flags);
}
/** What a record header says before its payload is read (length bounds the read). */
export interface RecordHeader { crc: number; type: number; flags: number; length: number; generation: number }

export function readRecordHeader(h: Buffer): RecordHeader {
  return { crc: h.readUInt32LE(0), type: h.readUInt16LE(4), flags: h.readUInt16LE(6), length: h.readUInt32LE(8), generation: h.readUInt32LE(12) };
}

/** Largest payload a record may have (an INODE with 64 KiB xattrs of many names; anything longer is damage). */
export const RECORD_PAYLOAD_MAX = 4 << 20;

const NO_BYTES = new Uint8Array(0);

/**
 * Decode a payload whose crc matched; a string says what is malformed. An INODE's
 * inline bytes are a view into `p` (copy them to keep them past its page's life).
 */
export function decodePayload(type: number, p: Buffer): LogRecord | string {
  const need = type === RecordType.Inode ? INODE_FIXED : type === RecordType.Drop ? DROP_SIZE : type === RecordType.Name ? NAME_FIXED
    : type === RecordType.Map ? MAP_SIZE : type === RecordType.Unmap ? UNMAP_SIZE : type === RecordType.Span ? SPAN_FIXED
    : type === RecordType.Index ? INDEX_FIXED : type === RecordType.Locate ? LOCATE_SIZE : type === RecordType.Runs ? RUNS_FIXED
    : type === RecordType.Atimes ? ATIMES_FIXED : type === RecordType.Published ? PUBLISHED_SIZE : type === RecordType.AtimesPages ? ATIMES_PAGES_FIXED : -1;
  if (need < 0) return `unknown record type ${type}`;
  if (p.length < need) return `${RECORD_NAMES[type]} payload of ${p.length} bytes, at least ${need} expected`;
  if (type === RecordType.Index) { const e = decodeIndex(p); return typeof e === 'string' ? e : { type: RecordType.Index, entries: e }; }
  if (type === RecordType.Locate) { const r = decodeLocate(p); return typeof r === 'string' ? r : { type: RecordType.Locate, r }; }
  if (type === RecordType.Runs) { const r = decodeRuns(p); return typeof r === 'string' ? r : { type: RecordType.Runs, r }; }
  if (type === RecordType.Atimes) { const r = decodeAtimesAt(p, 0, p.length); return typeof r === 'string' ? r : { type: RecordType.Atimes, r }; }
  if (type === RecordType.AtimesPages) { const r = decodeAtimesPagesAt(p, 0, p.length); return typeof r === 'string' ? r : { type: RecordType.AtimesPages, r }; }
  if (type === RecordType.Published) {
    const generation = u64(p, 0), first = u64(p, 8), second = u64(p, 16), bytes = u64(p, 24), copy = p.readUInt32LE(32), pad = p.length - PUBLISHED_SIZE;
    if (generation === null || first === null || second === null || bytes === null) return 'PUBLISHED: a value over 2^53';
    if (copy >= PUBLISH_COPIES || p.readUInt32LE(36) !== 0 || bytes % 8 !== 0 || second < first + bytes || (copy === 1 && pad > 0) || pad % 8 !== 0) {
      return `PUBLISHED: copy ${copy}, reserved ${p.readUInt32LE(36)}, copies at ${first} and ${second} of ${bytes} bytes, ${pad} bytes after`;
    }
    for (let k = PUBLISHED_SIZE; k < p.length; k++) if (p[k] !== 0) return `PUBLISHED: byte ${k} after its fields not 0`;
    return { type: RecordType.Published, r: { generation, first, second, bytes, copy, pad } };
  }
  const ino = u64(p, 0);
  if (ino === null) return 'a value over 2^53';
  switch (type) {
    case RecordType.Inode: { const r = decodeInodeAt(p, 0, p.length); return typeof r === 'string' ? r : { type, r }; }
    case RecordType.Drop: return { type, ino };
    case RecordType.Name: { const r = decodeNameAt(p, 0, p.length); return typeof r === 'string' ? r : { type, r }; }
    case RecordType.Map: {
      const r: MapRecord = { ino, index: 0, pfn: 0, count: 0, csum: 0, flags: 0 };
      return decodeMapInto(p, 0, p.length, r) ?? { type, r };
    }
    case RecordType.Span: {
      const r: SpanHead = { ino, index: 0, pfn: 0, count: 0, flags: 0 };
      const bad = decodeSpanInto(p, 0, p.length, r);
      if (bad !== null) return bad;
      const crcs = new Uint32Array(r.count);
      for (let k = 0; k < r.count; k++) crcs[k] = p.readUInt32LE(SPAN_FIXED + 4 * k);
      const damage = spanCrcsDamage(p, 0, r.count);
      return { type, r: damage ? { ...r, crcs, crcsDamage: damage } : { ...r, crcs } };
    }
    default: {
      const index = u64(p, 8), count = u64(p, 16);
      if (index === null || count === null) return 'a value over 2^53';
      return { type: RecordType.Unmap, r: { ino, index, count } };
    }
  }
}

// A u64 time as one BigInt: its 8 bytes through a scratch (Buffer.readBigUInt64LE makes four BigInts).
const TIME_BYTES = new Uint8Array(8);
const TIME = new BigUint64Array(TIME_BYTES.buffer);
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function timeAt(b: Buffer, at: number): bigint {
  if (!HOST_LE) return b.readBigUInt64LE(at);
  for (let k = 0; k < 8; k++) TIME_BYTES[k] = b[at + k]!;
  return TIME[0]!;
}
/** The 8 bytes at a and at b are the same (equal times share one BigInt). */
const same8 = (p: Buffer, a: number, b: number): boolean => u32(p, a) === u32(p, b) && u32(p, a + 4) === u32(p, b + 4);

/**
 * An INODE payload at b[at, at+length) (crc matched), or what is malformed. Its inline bytes
 * are a view into b (copy them to keep them past its page's life); equal times are one BigInt.
 */
export function decodeInodeAt(b: Buffer, at: number, length: number): InodeRecord | string {
  if (length < INODE_FIXED) return `INODE payload of ${length} bytes, at least ${INODE_FIXED} expected`;
  const ino = u64(b, at), rdev = u64(b, at + 24), size = u64(b, at + 32), pages = u64(b, at + 72);
  const xl = u32(b, at + 64), il = u32(b, at + 68);
  if (ino === null || rdev === null || size === null || pages === null) return 'a value over 2^53';
  if (INODE_FIXED + xl + il !== length) return `INODE lengths ${xl}+${il} do not fill its ${length} bytes`;
  const mtimeNs = timeAt(b, at + 48);
  const atimeNs = same8(b, at + 40, at + 48) ? mtimeNs : timeAt(b, at + 40);
  const ctimeNs = same8(b, at + 56, at + 48) ? mtimeNs : same8(b, at + 56, at + 40) ? atimeNs : timeAt(b, at + 56);
  const x = at + INODE_FIXED;
  return { ino, mode: u32(b, at + 8), uid: u32(b, at + 12), gid: u32(b, at + 16), rdev, size,
    atimeNs, mtimeNs, ctimeNs, pages,
    xattrs: xl ? Uint8Array.from(b.subarray(x, x + xl)) : NO_BYTES,
    inline: il ? new Uint8Array(b.buffer, b.byteOffset + x + xl, il) : NO_BYTES };
}

// Buffer's own utf8Slice where it has one: toString('utf8', s, e) costs twice as much (a mount decodes a name per file).
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (s: number, e: number) => string }).utf8Slice;
const utf8 = (b: Buffer, s: number, e: number): string => (utf8Slice ? utf8Slice.call(b, s, e) : b.toString('utf8', s, e));

/** A NAME payload at b[at, at+length) (crc matched), or what is malformed. */
export function decodeNameAt(b: Buffer, at: number, length: number): NameRecord | string {
  if (length < NAME_FIXED) return `NAME payload of ${length} bytes, at least ${NAME_FIXED} expected`;
  const parent = u64(b, at), target = u64(b, at + 8), len = u32(b, at + 16);
  if (parent === null || target === null) return 'a value over 2^53';
  if (len < 1 || len > 255 || NAME_FIXED + len !== length) return `NAME length ${len}`;
  const name = utf8(b, at + NAME_FIXED, at + NAME_FIXED + len);
  if (name.includes('/') || name.includes('\0') || name === '.' || name === '..') return `NAME '${name}' is not a path component`;
  return { parent, ino: target, name };
}

/**
 * A MAP payload at b[at, at+length) decoded into `into` (the replay's hot path:
 * one scratch record, nothing allocated per page mapped); a string says what is malformed.
 */
export function decodeMapInto(b: Buffer, at: number, length: number, into: MapRecord): string | null {
  if (length < MAP_SIZE) return `MAP payload of ${length} bytes, at least ${MAP_SIZE} expected`;
  const ino = u64(b, at), index = u64(b, at + 8), pfn = u64(b, at + 16), count = b.readUInt32LE(at + 24);
  if (ino === null || index === null || pfn === null) return 'a value over 2^53';
  if (count < 1 || count > GROUP_PAGES || Math.floor(index / GROUP_PAGES) !== Math.floor((index + count - 1) / GROUP_PAGES)) return `MAP run ${index}+${count} crosses a group`;
  into.ino = ino; into.index = index; into.pfn = pfn; into.count = count;
  into.csum = b.readUInt32LE(at + 28); into.flags = b.readUInt32LE(at + 32);
  return null;
}
