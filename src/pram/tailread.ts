// A lazy mount's tail read (tail.ts): its records framed and checked as recordsIn checks them, but not decoded — most
// wait for a group's load (taildefer.ts), and deciding which needs a few fields only, read in place into columns
// (format/v3-peek.ts recordFields). A record is decoded when it is applied: at mount for the eager ones, at its
// group's load for a deferred one (tailDecoded).

import { assert } from '../format/assert.js';
import { NAME_FIXED, RECORD_HEADER, RecordType, u32, type LogRecord } from '../format/v3.js';
import { recordFields, type RecordFields } from '../format/v3-peek.js';
import { framesChecked, offs, shrinkScratch } from './frames.js';
import { decodedAt, recordsIn } from './groups.js';
import { decodeSpanWords } from './spans.js';

/**
 * The records of a lazy mount's tail, checked, none decoded: its bytes, each record's first byte, the fields deciding
 * where it goes (v3-peek.ts, by the same k), and the SPANs whose page crcs are damaged (their first bytes; null: none).
 */
export interface TailRecords {
  b: Buffer; at: Uint32Array; f: RecordFields; spanDamage: ReadonlySet<number> | null;
  /** The records of a kind recordFields does not read (ATIMES, ATIMES_PAGES, PUBLISHED...), decoded once here: by k. */
  others: ReadonlyMap<number, LogRecord>;
}

/**
 * The records in b checked as recordsIn checks them (every header and crc in one native call, each payload as its
 * decoder would take it), none decoded — a lazy mount's tail, whose records mostly wait for a group's load (taildefer.ts:
 * the mount reads the fields it needs in place). What recordsIn refuses, this refuses in the same words (the records
 * read one by one then); a SPAN whose page crcs are damaged is marked, as there.
 */
export function tailRecords(b: Buffer, where: string): TailRecords | string {
  const n = framesChecked(b, null);
  const at = n === null ? null : offs.slice(0, n);
  shrinkScratch();
  const read = at && recordFields(b, at);
  const others = read && read.bad < 0 ? othersDecoded(b, at!, read.f, read.others) : null;
  if (others) return { b, at: at!, f: read!.f, spanDamage: null, others };
  // Something does not check: recordsIn reads the records one by one then (and says what).
  const recs = recordsIn(b, where);
  if (typeof recs === 'string') return recs;
  const damaged = new Set<number>();
  for (const x of recs) if (x.rec.type === RecordType.Span && x.rec.r.crcsDamage) damaged.add(x.at);
  const at1 = Uint32Array.from(recs, (x) => x.at), decoded = new Map<number, LogRecord>();
  recs.forEach((x, k) => { if (!(x.rec.type >= RecordType.Inode && x.rec.type <= RecordType.Span)) decoded.set(k, x.rec); });
  return { b, at: at1, f: recordFields(b, at1).f, spanDamage: damaged.size ? damaged : null, others: decoded };
}

/**
 * The records recordFields does not check (any kind but the six a commit writes: a tail's ATIMES and ATIMES_PAGES,
 * a few; their ks `ks`), each decoded once (the caller takes them from here: a cold decode twice cost ms), or null
 * when one does not.
 */
function othersDecoded(b: Buffer, at: Uint32Array, f: RecordFields, ks: Uint32Array): Map<number, LogRecord> | null {
  const out = new Map<number, LogRecord>();
  for (const k of ks) {
    const rec = decodedAt(b, f.type[k]!, at[k]! + RECORD_HEADER, u32(b, at[k]! + 8));
    if (typeof rec === 'string') return null;
    out.set(k, rec);
  }
  return out;
}

/**
 * Tail records taken so far, in this process: decoded into objects, or passed over undecoded as an INODE a later one
 * replaces (tail.ts applyDeferred). Tests hold a deferred group's records untaken until its load, and taken once.
 */
export const tailDecodes = { records: 0 };

/** The tail's records at the given first bytes, decoded (each checked by tailRecords: none fails): the eager ones at mount, a deferred group's at its load. */
export function tailDecoded(b: Buffer, at: ArrayLike<number>): LogRecord[] {
  const out: LogRecord[] = new Array(at.length);
  // NAME, MAP, UNMAP and SPAN fields read as words where they lie (b 4-aligned, its records 8-aligned), as recordFields
  // checked them at mount: no cold generic decode, no u64 call or subarray per field (inPlace).
  const w = LITTLE && b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : null;
  for (let k = 0; k < at.length; k++) {
    const a = at[k]!, type = b[a + 4]! | b[a + 5]! << 8, p = a + RECORD_HEADER, q = p >>> 2;
    const rec = w === null ? decodedAt(b, type, p, u32(b, a + 8)) : inPlace(b, w, type, p, q) ?? decodedAt(b, type, p, u32(b, a + 8));
    assert(typeof rec !== 'string', `a tail record checked at mount decodes (byte ${a}: ${rec as string})`);
    out[k] = rec;
  }
  tailDecodes.records += at.length;
  return out;
}

/**
 * A record of the tail decoded from its words (payload at byte p, word q), as its decoder gives it, for the kinds a
 * deferred group holds most (a bench tail: 800 NAMEs, 600 SPANs, MAPs and UNMAPs); null: another kind. recordFields
 * checked each field as its decoder does (a NAME's bytes a path component), so none fails here.
 */
function inPlace(b: Buffer, w: Uint32Array, type: number, p: number, q: number): LogRecord | string | null {
  switch (type) {
    case RecordType.Name: return { type, r: { parent: num(w[q + 1]!, w[q]!), ino: num(w[q + 3]!, w[q + 2]!), name: b.toString('utf8', p + NAME_FIXED, p + NAME_FIXED + w[q + 4]!) } };
    case RecordType.Map: return { type, r: { ino: num(w[q + 1]!, w[q]!), index: num(w[q + 3]!, w[q + 2]!), pfn: num(w[q + 5]!, w[q + 4]!), count: w[q + 6]!, csum: w[q + 7]!, flags: w[q + 8]! } };
    case RecordType.Unmap: return { type, r: { ino: num(w[q + 1]!, w[q]!), index: num(w[q + 3]!, w[q + 2]!), count: num(w[q + 5]!, w[q + 4]!) } };
    case RecordType.Span: return decodeSpanWords(b, w, p, u32(b, p - RECORD_HEADER + 8));
    default: return null;
  }
}

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A u64 from its words (its high word checked under 2^21 by recordFields); a high word of 0 gives the low word itself (a small integer, no heap number: v3-base.ts u64). */
const num = (hi: number, lo: number): number => (hi === 0 ? lo : hi * 2 ** 32 + lo);
