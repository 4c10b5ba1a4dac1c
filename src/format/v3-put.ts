// The v3 records written field by field through a RecordOut (pram/log.ts writes them straight
// into log pages). The framed, one-buffer encoders and the decoders are v3.ts's (a SPAN's: v3-span.ts).
import { assert } from './assert.js';
import { crc32c, crc32cAt } from './crc.js';
import { RecordType, GROUP_PAGES, INODE_FIXED, NAME_FIXED, MAP_SIZE, UNMAP_SIZE, DROP_SIZE, SPAN_FIXED, SPAN_BLOCK, ATIMES_FIXED, ATIMES_ENTRY, ATIMES_MAX_ENTRIES, ATIMES_PAGES_FIXED, ATIMES_PAGES_RUN, ATIMES_PAGES_MAX_ENTRIES,
  PUBLISHED_SIZE } from './v3-base.js';
import { INDEX_ENTRY, INDEX_FIXED, INDEX_MAX_ENTRIES, LOCATE_SIZE, RUNS_ENTRY, RUNS_FIXED, RUNS_MAX_ENTRIES, type IndexEntry, type RunsRecord } from './v3-index.js';

/**
 * Where a record is written field by field, in stream order: pram/log.ts writes
 * straight into log pages, crossing them as the stream does. Records start
 * 8-aligned and every u32 lies 4-aligned, every u64 8-aligned in its record,
 * and a page's stream area starts and ends 8-aligned: no field is split by a
 * page's end, only byte strings are.
 */
export interface RecordOut {
  /** A record's header for a payload of `length` bytes (its crc is set by end()); flags 0 unless given (v3 minor 5: LOCATE_SLICED). */
  record(type: RecordType, length: number, generation: number, flags?: number): void;
  u32(v: number): void;
  /** A u64 from a safe integer (no BigInt). */
  u64(v: number): void;
  /** A u64 from a bigint, two's complement (the times). */
  i64(v: bigint): void;
  bytes(b: Uint8Array): void;
  /** `s` as UTF-8, `byteLength` bytes (Buffer.byteLength(s)). */
  text(s: string, byteLength: number): void;
  /**
   * u32s v[0, count) the record's crc does not cover (a SPAN's page crcs: they
   * have their own crc in its fixed fields). At most one stretch per record.
   */
  uncovered(v: Uint32Array, count: number): void;
  /** Zeros to the record's 8-aligned end, then its crc over header bytes 4… and the payload with them (less what is uncovered). */
  end(): void;
}

/** An INODE's fixed fields (a NodeImage has them all). */
export interface InodeFields {
  ino: number; mode: number; uid: number; gid: number; rdev: number; size: number;
  atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint;
}

export function putInode(o: RecordOut, f: InodeFields, xattrs: Uint8Array, inline: Uint8Array, pages: number, generation: number): void {
  o.record(RecordType.Inode, INODE_FIXED + xattrs.length + inline.length, generation);
  o.u64(f.ino); o.u32(f.mode >>> 0); o.u32(f.uid >>> 0); o.u32(f.gid >>> 0); o.u32(0);
  o.u64(f.rdev); o.u64(f.size); o.i64(f.atimeNs); o.i64(f.mtimeNs); o.i64(f.ctimeNs);
  o.u32(xattrs.length); o.u32(inline.length); o.u64(pages);
  if (xattrs.length) o.bytes(xattrs);
  if (inline.length) o.bytes(inline);
  o.end();
}

export function putDrop(o: RecordOut, ino: number, generation: number): void {
  o.record(RecordType.Drop, DROP_SIZE, generation);
  o.u64(ino);
  o.end();
}

/** A NAME record; ino 0: the name is gone. */
export function putName(o: RecordOut, parent: number, ino: number, name: string, generation: number): void {
  const len = Buffer.byteLength(name, 'utf8');
  o.record(RecordType.Name, NAME_FIXED + len, generation);
  o.u64(parent); o.u64(ino); o.u32(len); o.u32(0);
  o.text(name, len);
  o.end();
}

export function putMap(o: RecordOut, ino: number, index: number, pfn: number, count: number, csum: number, flags: number, generation: number): void {
  if (!(count >= 1 && count <= GROUP_PAGES)) assert(false, `MAP run of ${count} pages`);
  o.record(RecordType.Map, MAP_SIZE, generation);
  o.u64(ino); o.u64(index); o.u64(pfn);
  o.u32(count); o.u32(csum >>> 0); o.u32(flags); o.u32(0);
  o.end();
}

/**
 * A SPAN record in place (encodeSpan is its reference): pages index…index+count-1
 * at pfn…, crcs[0, count) their checksums; its crc skips them (spanCrc).
 */
export function putSpan(o: RecordOut, ino: number, index: number, pfn: number, count: number, flags: number, crcs: Uint32Array, generation: number): void {
  if (!(count >= 1 && count <= SPAN_BLOCK && count <= crcs.length && Math.floor(index / SPAN_BLOCK) === Math.floor((index + count - 1) / SPAN_BLOCK))) assert(false, `SPAN ${index}+${count} inside one block`);
  o.record(RecordType.Span, SPAN_FIXED + 4 * count, generation);
  o.u64(ino); o.u64(index); o.u64(pfn);
  o.u32(count); o.u32(flags); o.u32(crcsCrc(crcs, count)); o.u32(0);
  o.uncovered(crcs, count);
  o.end();
}

/** The host's byte order: a little-endian host's Uint32Array holds the crcs as the format lays them out. */
const HOST_LE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** crc32c of the u32s v[0, count) laid out little-endian (a SPAN's crc of its page crcs). */
function crcsCrc(v: Uint32Array, count: number): number {
  if (HOST_LE) return crc32cAt(new Uint8Array(v.buffer, v.byteOffset, 4 * count), 0, 4 * count);
  const b = Buffer.allocUnsafe(4 * count);
  for (let k = 0; k < count; k++) b.writeUInt32LE(v[k]!, 4 * k);
  return crc32c(b);
}

export function putUnmap(o: RecordOut, ino: number, index: number, count: number, generation: number): void {
  o.record(RecordType.Unmap, UNMAP_SIZE, generation);
  o.u64(ino); o.u64(index); o.u64(count);
  o.end();
}

/** An INDEX record of entries[from, to) (at most INDEX_MAX_ENTRIES). */
export function putIndex(o: RecordOut, entries: readonly IndexEntry[], from: number, to: number, generation: number): void {
  if (!(to > from && to - from <= INDEX_MAX_ENTRIES)) assert(false, `INDEX of ${to - from} entries`);
  o.record(RecordType.Index, INDEX_FIXED + INDEX_ENTRY * (to - from), generation);
  o.u32(to - from); o.u32(0);
  for (let i = from; i < to; i++) {
    const e = entries[i]!;
    o.u64(e.ino); o.u64(e.home); o.u64(e.pos); o.u64(e.bytes);
  }
  o.end();
}

/**
 * A PUBLISHED record (v3 minor 5) ending copy `r.copy` of the step that publishes a compaction in slices as commit
 * `r.generation`: each copy's records are `r.bytes` stream bytes, from `r.first` and from `r.second`; `r.pad` zeros after.
 */
export function putPublished(o: RecordOut, r: { generation: number; first: number; second: number; bytes: number; copy: number; pad: number }, generation: number): void {
  o.record(RecordType.Published, PUBLISHED_SIZE + r.pad, generation);
  o.u64(r.generation); o.u64(r.first); o.u64(r.second); o.u64(r.bytes); o.u32(r.copy); o.u32(0);
  for (let k = 0; k < r.pad; k += 8) o.u64(0);
  o.end();
}

/** A RUNS record (v3 minor 3) of pairs [from, to) of r.runs (at most RUNS_MAX_ENTRIES runs). */
export function putRuns(o: RecordOut, r: RunsRecord, from: number, to: number, generation: number, flags = 0): void {
  if (!(to >= from && to - from <= RUNS_MAX_ENTRIES)) assert(false, `RUNS of ${to - from} runs`);
  o.record(RecordType.Runs, RUNS_FIXED + RUNS_ENTRY * (to - from), generation, flags);
  o.u32(r.kind); o.u32(to - from); o.u64(r.a); o.u64(r.b);
  for (let i = 2 * from; i < 2 * to; i++) o.u64(r.runs[i]!);
  o.end();
}

/** A LOCATE record through the writer (a compaction's first record: a placeholder of zeros, set in place by encodeLocate's bytes before it is published). */
export function putLocate(o: RecordOut, generation: number): void {
  o.record(RecordType.Locate, LOCATE_SIZE, generation);
  for (let at = 0; at < LOCATE_SIZE; at += 8) o.u64(0);
  o.end();
}

/**
 * An ATIMES record (v3 minor 4) of entries [from, to): inos[k] (strictly ascending) got atime times[k].
 * What a commit writes for nodes whose only change since their last record is their atime (a read).
 */
export function putAtimes(o: RecordOut, inos: ArrayLike<number>, times: ArrayLike<bigint>, from: number, to: number, generation: number): void {
  if (!(to > from && to - from <= ATIMES_MAX_ENTRIES)) assert(false, `ATIMES of ${to - from} entries`);
  o.record(RecordType.Atimes, ATIMES_FIXED + ATIMES_ENTRY * (to - from), generation);
  o.u32(to - from); o.u32(0);
  for (let k = from; k < to; k++) {
    if (!(k === from || inos[k]! > inos[k - 1]!)) assert(false, 'ATIMES inos ascending');
    o.u64(inos[k]!); o.i64(times[k]!);
  }
  o.end();
}

/**
 * An ATIMES_PAGES record (v3 minor 6): n entries (inos lo…hi) written already over the pages of `runs` ((pfn, count)
 * pairs), firsts[j] the ino of page j's first entry, crcs[j] the crc32c of page j. What a commit writes in place of
 * ATIMES records for a large batch.
 */
export function putAtimesPages(o: RecordOut, n: number, lo: number, hi: number, runs: readonly number[], firsts: Float64Array, crcs: Uint32Array, generation: number): void {
  const r = runs.length / 2;
  if (!(n >= 1 && n <= ATIMES_PAGES_MAX_ENTRIES && r >= 1 && lo >= 1 && hi >= lo && firsts.length === crcs.length)) assert(false, `ATIMES_PAGES of ${n} entries in ${r} runs`);
  o.record(RecordType.AtimesPages, ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * r + 12 * crcs.length, generation);
  o.u32(n); o.u32(r); o.u64(lo); o.u64(hi); o.u32(crcs.length); o.u32(0);
  for (const v of runs) o.u64(v);
  for (let j = 0; j < firsts.length; j++) o.u64(firsts[j]!);
  for (let j = 0; j < crcs.length; j++) o.u32(crcs[j]!);
  o.end();
}
