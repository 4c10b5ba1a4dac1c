// The records of a buffer (a group's, a tail's, the index's) framed and their crcs checked, every crc in one native call:
// a mount reads a tail of 10^4 records and groups of up to 10^5 in a fresh process, where a call per record into a crc
// (or per field into a reader) costs ms of cold JS. groups.ts and tailread.ts decode or classify what this frames.

import { crc32cRanges } from '../format/crc.js';
import { framedCrc, RECORD_HEADER, RECORD_PAYLOAD_MAX, RecordType, SPAN_CRCS_CRC_AT, SPAN_FIXED } from '../format/v3.js';
import { wordsOf } from '../format/v3-peek.js';

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The records of b framed, their places in `offs`, and every crc checked in one native call (a mount's tail of 10^4
 * records, a group of 10^5: framedCrc one by one was ms of cold JS): how many, or null when a header, a length, the
 * generation (`logId`, when given: a group's records carry the log id) or a crc does not check. A SPAN's framed crc
 * covers bytes 4..55, continued over any padding after its page crcs (an odd count: paddedSpansCheck); its page crcs
 * have a crc of their own (spanCrcsDamage when it differs).
 */
export function framesChecked(b: Buffer, logId: number | null): number | null {
  // Fields read as words, the lists filled through locals (no call per record: this runs cold, once per tail or group).
  const w = wordsOf(b), id = logId === null ? -1 : logId >>> 0, end = b.length;
  let n = 0, m = 0, o = offs, ca = crcAt, cl = crcLen, cw = crcWant, padded: number[] | null = null;
  for (let at = 0; at < end;) {
    if (at + RECORD_HEADER > end) return null;
    const h = at >>> 2, type = w[h + 1]! & 0xffff, length = w[h + 2]!;
    if (length > RECORD_PAYLOAD_MAX) return null;
    const total = RECORD_HEADER + ((length + 7) & ~7);                // align8 (length is small now)
    if (at + total > end || (id >= 0 && w[h + 3] !== id)) return null;
    if (n === o.length) o = offs = grown(o);
    o[n++] = at;
    if (m + 2 > ca.length) { growCrcs(); ca = crcAt; cl = crcLen; cw = crcWant; }
    if (type !== RecordType.Span || length < SPAN_FIXED) { ca[m] = at + 4; cl[m] = total - 4; cw[m++] = at; }
    else {
      if (total === RECORD_HEADER + length) { ca[m] = at + 4; cl[m] = RECORD_HEADER - 4 + SPAN_FIXED; cw[m++] = at; }
      else if (LITTLE && total === RECORD_HEADER + length + 4) (padded ??= []).push(at);     // an odd count of page crcs: summed below
      else if (framedCrc(b, at, type, length) !== w[h]) return null;
      ca[m] = at + RECORD_HEADER + SPAN_FIXED; cl[m] = length - SPAN_FIXED; cw[m++] = at + RECORD_HEADER + SPAN_CRCS_CRC_AT;
    }
    at += total;
  }
  const out = crcOut;
  crc32cRanges(b, ca, cl, m, out);
  for (let k = 0; k < m; k++) if (out[k] !== w[cw[k]! >>> 2]) return null;
  return padded === null || paddedSpansCheck(w, padded) ? n : null;
}

/** Words of a padded SPAN its framed crc covers: header bytes 4..15 and the fixed fields (13 words), then the padding (1). */
const PADDED_WORDS = 14;

/**
 * The framed crcs of the SPANs at `at` (b's words w; each with 4 bytes of padding after an odd count of page crcs): the
 * bytes the crc covers are not one range (the page crcs lie between), so they are copied together and summed in one
 * native call (two crc calls per record cost ms in a tail of thousands of SPANs). Little-endian hosts only (the caller's).
 */
function paddedSpansCheck(w: Uint32Array, at: readonly number[]): boolean {
  const n = at.length, side = new Uint32Array(PADDED_WORDS * n), from = new Uint32Array(n), lens = new Uint32Array(n).fill(4 * PADDED_WORDS), sums = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const h = at[k]! >>> 2, s = PADDED_WORDS * k;
    side.set(w.subarray(h + 1, h + PADDED_WORDS), s);          // (one copy, not a loop of 13: cold, per SPAN)
    side[s + PADDED_WORDS - 1] = w[h + RECORD_HEADER / 4 + (w[h + 2]! >>> 2)]!;      // the word after the payload
    from[k] = 4 * s;
  }
  crc32cRanges(new Uint8Array(side.buffer), from, lens, n, sums);
  for (let k = 0; k < n; k++) if (sums[k] !== w[at[k]! >>> 2]) return false;
  return true;
}

/** A huge group's or tail's scratch is not kept (4 x 4 bytes a record). */
export function shrinkScratch(): void {
  if (offs.length > KEPT_RECORDS) offs = new Uint32Array(1024);
  if (crcAt.length > KEPT_RECORDS) { crcAt = new Uint32Array(1024); crcLen = new Uint32Array(1024); crcOut = new Uint32Array(1024); crcWant = new Uint32Array(1024); }
}

/**
 * Record offsets (framesChecked's answer: offs[0..n), valid until its next call; exported live, read-only to importers), crc
 * checks, one native crc call per group or tail: kept across groups up to 64 Ki records.
 */
export let offs = new Uint32Array(1024), crcAt = new Uint32Array(1024), crcLen = new Uint32Array(1024), crcOut = new Uint32Array(1024), crcWant = new Uint32Array(1024);
const KEPT_RECORDS = 1 << 16;

/** The crc lists of framesChecked, twice as long. */
function growCrcs(): void {
  crcAt = grown(crcAt); crcLen = grown(crcLen); crcWant = grown(crcWant); crcOut = new Uint32Array(crcAt.length);
}

const grown = (a: Uint32Array): Uint32Array => { const b = new Uint32Array(a.length * 2); b.set(a); return b; };
