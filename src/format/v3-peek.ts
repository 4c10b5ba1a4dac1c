// The fields of framed v3 records read where they lie, into columns, no record object made: a lazy mount's tail
// holds thousands of records that wait for a group's load (pram/taildefer.ts), and deciding which group each waits
// for needs a few of their fields only. One loop over the records' words with no call per field: the mount runs it
// once, in a fresh process, where every call of cold code costs (a helper call per field was ms for 6 000 records).
// It checks each payload as its decoder would (v3.ts decodeInodeAt, decodeNameAt, decodeMapInto, decodePayload's
// DROP and UNMAP, v3-span.ts decodeSpanInto): a record whose fields it gives is decoded later and cannot fail then.

import { DROP_SIZE, GROUP_PAGES, INODE_FIXED, MAP_SIZE, NAME_FIXED, RECORD_HEADER, RecordType, SPAN_BLOCK, SPAN_FIXED, u32, UNMAP_SIZE } from './v3-base.js';

const HI = 2 ** 32;
/** A u64's high word at most this: the value is under 2^53 (what u64 gives as a number, not null). */
const HI_MAX = 0x1fffff;
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Per record, by kind (0 where a kind has no such field; a kind other than these six: its type only):
 * ino — an INODE's, DROP's, MAP's, UNMAP's, SPAN's node; a NAME's directory.
 * x — an INODE's mode; a NAME's target (0: the name removed); a MAP's or SPAN's first page.
 * n — an INODE's xattr bytes; a NAME's name as UTF-8 once decoded (its bytes when valid); a MAP's or SPAN's page count.
 * m — an INODE's inline bytes.
 */
export interface RecordFields { type: Uint16Array; ino: Float64Array; x: Float64Array; n: Uint32Array; m: Uint32Array }

/**
 * The fields of the framed records at b[at[k]] (each 8-aligned, its header's length checked against b), and the first
 * k whose payload its decoder refuses (-1: none). A kind other than INODE, DROP, NAME, MAP, UNMAP, SPAN is not checked:
 * `others` counts them.
 */
export function recordFields(b: Buffer, at: ArrayLike<number>): { f: RecordFields; bad: number; others: number } {
  const count = at.length, w = wordsOf(b);
  // Columns in locals; a u64 whose high word is 0 taken as its low word (no double made: cold code allocates one).
  const T = new Uint16Array(count), I = new Float64Array(count), X = new Float64Array(count), N = new Uint32Array(count), M = new Uint32Array(count);
  const f: RecordFields = { type: T, ino: I, x: X, n: N, m: M };
  let others = 0;
  for (let k = 0; k < count; k++) {
    const h = at[k]! >>> 2, q = h + RECORD_HEADER / 4, type = w[h + 1]! & 0xffff, length = w[h + 2]!;
    T[k] = type;
    if (type < RecordType.Inode || type > RecordType.Span) { others++; continue; }
    // Every kind of the six begins with a u64 under 2^53: an ino (a NAME's directory).
    const hi = w[q + 1]!;
    if (length < DROP_SIZE || hi > HI_MAX) return { f, bad: k, others };
    I[k] = hi === 0 ? w[q]! : hi * HI + w[q]!;
    switch (type) {
      case RecordType.Inode:
        if (length < INODE_FIXED || w[q + 7]! > HI_MAX || w[q + 9]! > HI_MAX || w[q + 19]! > HI_MAX || INODE_FIXED + w[q + 16]! + w[q + 17]! !== length) return { f, bad: k, others };
        X[k] = w[q + 2]!; N[k] = w[q + 16]!; M[k] = w[q + 17]!;
        break;
      case RecordType.Unmap:
        if (length < UNMAP_SIZE || w[q + 3]! > HI_MAX || w[q + 5]! > HI_MAX) return { f, bad: k, others };
        break;
      case RecordType.Name: {
        const len = w[q + 4]!, hi1 = w[q + 3]!;
        if (length < NAME_FIXED || hi1 > HI_MAX || len < 1 || len > 255 || NAME_FIXED + len !== length) return { f, bad: k, others };
        // Its bytes four a word, here (a call per NAME, cold, was most of this loop's time): NAME_BYTES says why this is decodeNameAt's rule.
        let zero = 0, high = 0;
        for (let p = q + NAME_FIXED / 4, rest = len; rest > 0; p++, rest -= 4) {
          let v = w[p]!;
          if (rest < 4) { const keep = (1 << (8 * rest)) - 1; v = (v & keep) | (0x41414141 & ~keep); }
          const slash = v ^ 0x2f2f2f2f;
          zero |= ((v - 0x01010101) & ~v) | ((slash - 0x01010101) & ~slash);
          high |= v;
        }
        const s = 4 * q + NAME_FIXED;
        if ((zero & 0x80808080) !== 0 || (b[s] === 0x2e && (len === 1 || (len === 2 && b[s + 1] === 0x2e)))) return { f, bad: k, others };
        X[k] = hi1 === 0 ? w[q + 2]! : hi1 * HI + w[q + 2]!;
        N[k] = (high & 0x80808080) === 0 ? len : Buffer.byteLength(b.toString('utf8', s, s + len));
        break;
      }
      case RecordType.Map: case RecordType.Span: {
        // Within one group (MAP) or block (SPAN) of `per` pages, a power of 2 dividing 2^32: the index's low word's remainder.
        const map = type === RecordType.Map, per = map ? GROUP_PAGES : SPAN_BLOCK, n = w[q + 6]!, hi2 = w[q + 5]!;
        if (length < (map ? MAP_SIZE : SPAN_FIXED) || w[q + 3]! > HI_MAX || hi2 > HI_MAX) return { f, bad: k, others };
        if (n < 1 || n > per || (w[q + 2]! & (per - 1)) + n > per) return { f, bad: k, others };
        if (!map && (length !== SPAN_FIXED + 4 * n || w[q + 9] !== 0)) return { f, bad: k, others };
        X[k] = hi2 === 0 ? w[q + 4]! : hi2 * HI + w[q + 4]!; N[k] = n;
        break;
      }
    }
  }
  return { f, bad: -1, others };
}

/** b's little-endian u32 words (a view where b lies 4-aligned on a little-endian host, else a copy). */
export function wordsOf(b: Uint8Array): Uint32Array {
  return LITTLE && b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : Uint32Array.from({ length: b.length >>> 2 }, (_, i) => u32(b, 4 * i));
}

/*
 * NAME_BYTES: a NAME's `len` bytes, read in place by recordFields: their UTF-8 length once decoded, or the record refused
 * as decodeNameAt refuses it. A '/' or NUL byte is one in the string and nothing else is (decoding replaces a bad
 * sequence, never taking an ASCII byte into it), and only the bytes '.' and '..' give those names; a name of other than
 * ASCII is decoded to count (rare). Four bytes a word: some byte of a word x is 0 exactly when (x - 0x01010101) & ~x
 * has a byte's high bit set (some byte is '/' when x ^ '////' has a 0), one is not ASCII when its own high bit is; the
 * bytes of the last word past the name (the record's own padding, within b: its length is checked) are read as 'A'.
 */
