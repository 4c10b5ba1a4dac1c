// What the v3 codecs (v3.ts, v3-index.ts, v3-span.ts) share: the record header's size, and u64 fields as
// numbers — two u32 halves, no BigInt (a commit encodes a MAP per page it names, the replay
// decodes one per record).

/** Bytes before a record's payload: crc, type, flags, length, generation. */
export const RECORD_HEADER = 16;

const HI = 2 ** 32;

/** Writes v (an integer below 2^53) as a little-endian u64 at `at`. */
export function putU64(b: Buffer, v: number, at: number): void {
  b.writeUInt32LE(v % HI, at); b.writeUInt32LE(Math.floor(v / HI), at + 4);
}

/**
 * A little-endian u32 read from the bytes (a third of Buffer.readUInt32LE's cost: a replay or a
 * group's load reads several per record); past the buffer's end a RangeError, as readUInt32LE.
 */
export function u32(b: Uint8Array, at: number): number {
  if (!(at >= 0 && at + 4 <= b.length)) throw new RangeError(`u32 at ${at} of ${b.length} bytes`);
  return (b[at]! | b[at + 1]! << 8 | b[at + 2]! << 16 | b[at + 3]! << 24) >>> 0;
}

/**
 * A u64 as a number, null over 2^53 - 1. A high word of 0 gives the low word itself: `0 * 2^32 + lo`
 * is a heap number in unoptimized code even when small, and the first one stored in an object's field
 * makes V8 keep that field of every object of its shape as a boxed double (an inode's ino, size and rdev,
 * a dentry's ino: 16 bytes and an allocation each, per file of a mount).
 */
export const u64 = (b: Uint8Array, at: number): number | null => {
  const hi = u32(b, at + 4);
  return hi === 0 ? u32(b, at) : hi > 0x1fffff ? null : hi * HI + u32(b, at);
};

/** n rounded up to a multiple of 8: records start 8-aligned in the stream. */
export const align8 = (n: number): number => (n + 7) & ~7;

export const GROUP_PAGES = 32;                // a MAP run never crosses a group; a dirty group is logged whole

export const enum RecordType { Inode = 1, Drop = 2, Name = 3, Map = 4, Unmap = 5, Span = 6, Index = 7, Locate = 8, Runs = 9, Atimes = 10, Published = 11, AtimesPages = 12 }
export const RECORD_NAMES: { [type: number]: string } = { 1: 'INODE', 2: 'DROP', 3: 'NAME', 4: 'MAP', 5: 'UNMAP', 6: 'SPAN', 7: 'INDEX', 8: 'LOCATE', 9: 'RUNS', 10: 'ATIMES', 11: 'PUBLISHED', 12: 'ATIMES_PAGES' };
export const MAP_LRU = 1;                     // MAP flags: the pages were in the page cache

export const INODE_FIXED = 80;
export const NAME_FIXED = 24;
export const MAP_SIZE = 40;
export const UNMAP_SIZE = 24;
export const DROP_SIZE = 8;
/**
 * PUBLISHED (v3 minor 5): ends each of the two copies of the step that published a compaction in slices: u64 the
 * publishing commit's generation, u64 where copy 0's records begin in the stream, u64 where copy 1's begin (a log
 * page's first byte), u64 the bytes of a copy's records, u32 which copy it ends, u32 0; copy 0's then zeros up to
 * where copy 1 begins. The fixed bytes: a payload has at least these.
 */
export const PUBLISHED_SIZE = 40;
/** Copies of the publish step a log in slices holds (v3 minor 5): damage in one is covered by the other. */
export const PUBLISH_COPIES = 2;
/**
 * LOCATE's and the RUNS TOTALS record's header flags (v3 minor 5): bit 0, the compaction ran in slices (a PUBLISHED
 * record ends its last step). Twice, so a damaged LOCATE does not leave a reader guessing.
 */
export const LOCATE_SLICED = 1;
/** SPAN (v3 minor 1): ino, index, pfn, count, flags, crc of the page crcs, 0, then one crc32c per page. */
export const SPAN_FIXED = 40;
/** Where a SPAN payload keeps the crc32c of its page crcs. */
export const SPAN_CRCS_CRC_AT = 32;
/** A SPAN never crosses a block of this many file pages (index / SPAN_BLOCK the same for its first and last page). */
export const SPAN_BLOCK = 4096;
/** ATIMES (v3 minor 4): u32 entries n, u32 0, then n entries of ATIMES_ENTRY bytes: u64 ino, i64 atime (ns), inos strictly ascending. */
export const ATIMES_FIXED = 8;
export const ATIMES_ENTRY = 16;
/**
 * Entries per ATIMES record (64 KiB of payload): a damaged record costs the atimes of at most this many
 * files, and a lazy mount checks a record's inos whole on its first use (the root's group, at mount).
 */
export const ATIMES_MAX_ENTRIES = 4096;
/**
 * ATIMES_PAGES (v3 minor 6): u32 entries n, u32 runs r, u64 lowest ino, u64 highest ino, u32 pages p, u32 0, then r
 * runs of 16 bytes (u64 pfn, u64 count), then p × u64: the first ino of each page, then p × u32: the crc32c of each
 * page. The n entries (ATIMES_ENTRY bytes each, as an ATIMES record's) lie back to back over the runs' pages, outside
 * the log: a mount reserves them unread, and a lookup reads the one page its ino's place falls in.
 */
export const ATIMES_PAGES_FIXED = 32;
export const ATIMES_PAGES_RUN = 16;
/** Entries per ATIMES_PAGES record (1 MiB of entries: 256 pages of 4 KiB): bounds the record (a few KiB: its runs, first inos and crcs). */
export const ATIMES_PAGES_MAX_ENTRIES = 65536;
