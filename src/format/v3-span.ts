// SPAN records (v3 minor 1, docs/FORMAT.md §v3): one record for a stretch of a file's lone pages at
// consecutive pfns, a crc32c per page, and a crc of their own for those crcs that the record's crc
// skips. Apart from v3.ts because a SPAN is the one record whose crc does not cover its whole payload:
// its framing, its two crcs and its decoder belong together, and every other record frames alike.
// v3.ts hands these names on; v3-put.ts `putSpan` writes the same bytes in place.
import { assert } from './assert.js';
import { crc32c, crc32cAt, crc32cRanges } from './crc.js';
import { align8, putU64, u64, RECORD_HEADER, RecordType, SPAN_BLOCK, SPAN_CRCS_CRC_AT, SPAN_FIXED } from './v3-base.js';

/** A SPAN: pages index…index+count-1 at pfn…pfn+count-1, each with its own crc32c (crcs[k]: page index+k). */
export interface SpanRecord {
  ino: number; index: number; pfn: number; count: number; flags: number; crcs: Uint32Array;
  /** Read back: the page crcs failed the crc kept for them (each page is then only as good as its own check). */
  crcsDamage?: { saved: number; computed: number };
}

/** A SPAN's fixed fields; its crcs follow at payload offset SPAN_FIXED. */
export type SpanHead = Omit<SpanRecord, 'crcs' | 'crcsDamage'>;

/**
 * A SPAN record, framed (docs/FORMAT.md §v3, minor 1): one record for a long
 * stretch of a file at consecutive pfns, 4 bytes a page (a MAP costs 56), each
 * page keeping its own crc32c so a flipped data bit still costs one page.
 * crcs[0..count) are the pages' checksums. The record's crc covers all but
 * them (spanCrc); they have a crc of their own in the fixed fields. A flipped
 * bit among them is reported at mount (that crc fails) and costs only the page
 * whose crc it changed (the page fails its check when verified), not the
 * record (which would distrust the whole file). Beside encodeMap: the
 * reference codec of putSpan, which the engine writes in place (pram/log.test.ts
 * holds them byte-identical).
 */
export function encodeSpan(r: SpanHead, crcs: ArrayLike<number>, generation: number): Buffer {
  const { count } = r;
  if (!(count >= 1 && count <= SPAN_BLOCK && Math.floor(r.index / SPAN_BLOCK) === Math.floor((r.index + count - 1) / SPAN_BLOCK))) assert(false, `SPAN ${r.index}+${count} inside one block`);
  const length = SPAN_FIXED + 4 * count;
  const b = Buffer.allocUnsafe(RECORD_HEADER + align8(length));
  b.writeUInt32LE(RecordType.Span, 4);                // type, flags 0
  b.writeUInt32LE(length, 8); b.writeUInt32LE(generation >>> 0, 12);
  putU64(b, r.ino, 16); putU64(b, r.index, 24); putU64(b, r.pfn, 32);
  b.writeUInt32LE(count, 40); b.writeUInt32LE(r.flags, 44);
  for (let k = 0, at = RECORD_HEADER + SPAN_FIXED; k < count; k++, at += 4) b.writeUInt32LE(crcs[k]! >>> 0, at);
  b.writeUInt32LE(crc32cAt(b, RECORD_HEADER + SPAN_FIXED, 4 * count), RECORD_HEADER + SPAN_CRCS_CRC_AT);
  b.writeUInt32LE(0, RECORD_HEADER + SPAN_CRCS_CRC_AT + 4);
  b.fill(0, RECORD_HEADER + length);                  // the padding is checked too
  b.writeUInt32LE(spanCrc(b, 0, length), 0);
  return b;
}

/** Bytes of a framed SPAN its crc covers: 4…55 (header and fixed fields), then the padding after the page crcs. */
export function spanCrc(b: Uint8Array, at: number, length: number): number {
  const fixed = crc32cAt(b, at + 4, RECORD_HEADER - 4 + SPAN_FIXED);
  const end = RECORD_HEADER + length, pad = align8(length) - length;
  return pad ? crc32cAt(b, at + end, pad, fixed) : fixed;
}

/** spanCrc of a SPAN read in two pieces: its header's bytes 4…15 and its payload with padding. */
export function spanCrcOf(header12: Uint8Array, padded: Uint8Array, length: number): number {
  const fixed = crc32cAt(padded, 0, SPAN_FIXED, crc32c(header12));
  const pad = align8(length) - length;
  return pad ? crc32cAt(padded, length, pad, fixed) : fixed;
}

/** A SPAN payload's page crcs against the crc kept for them: null when they match, else both values. */
export function spanCrcsDamage(b: Uint8Array, at: number, count: number): { saved: number; computed: number } | null {
  const saved = (b[at + SPAN_CRCS_CRC_AT]! | b[at + SPAN_CRCS_CRC_AT + 1]! << 8 | b[at + SPAN_CRCS_CRC_AT + 2]! << 16 | b[at + SPAN_CRCS_CRC_AT + 3]! << 24) >>> 0;
  // The addon's crc over one range: the library's call cost ~4 us for 16 KiB, this ~1 (a file's adoption checks 64 a GiB).
  one.offsets[0] = at + SPAN_FIXED; one.lengths[0] = 4 * count;
  crc32cRanges(b, one.offsets, one.lengths, 1, one.out);
  const computed = one.out[0]!;
  return saved === computed ? null : { saved, computed };
}
const one = { offsets: new Uint32Array(1), lengths: new Uint32Array(1), out: new Uint32Array(1) };

/**
 * A SPAN payload at b[at, at+length) decoded into `into` (its crcs stay where
 * they are: b[at+SPAN_FIXED …], one u32 per page); a string says what is malformed.
 */
export function decodeSpanInto(b: Buffer, at: number, length: number, into: SpanHead): string | null {
  if (length < SPAN_FIXED) return `SPAN payload of ${length} bytes, at least ${SPAN_FIXED} expected`;
  const ino = u64(b, at), index = u64(b, at + 8), pfn = u64(b, at + 16), count = b.readUInt32LE(at + 24);
  if (ino === null || index === null || pfn === null) return 'a value over 2^53';
  if (count < 1 || count > SPAN_BLOCK || Math.floor(index / SPAN_BLOCK) !== Math.floor((index + count - 1) / SPAN_BLOCK)) return `SPAN ${index}+${count} crosses a block of ${SPAN_BLOCK} pages`;
  if (length !== SPAN_FIXED + 4 * count) return `SPAN of ${count} pages in ${length} bytes (${SPAN_FIXED + 4 * count} expected)`;
  if (b.readUInt32LE(at + SPAN_CRCS_CRC_AT + 4) !== 0) return 'SPAN reserved field not 0';
  into.ino = ino; into.index = index; into.pfn = pfn; into.count = count; into.flags = b.readUInt32LE(at + 28);
  return null;
}
