// The fields of framed v3 records read where they lie, into columns, no record object made: a lazy mount's tail
// holds thousands of records that wait for a group's load (pram/taildefer.ts), and deciding which group each waits
// for needs a few of their fields only. Read in one native call (native/records.c): a JS loop over the records ran
// cold at mount and then had V8 compile it on a background thread (8-10 ms of TurboFan competing with the mount).
// It checks each payload as its decoder would (v3.ts decodeInodeAt, decodeNameAt, decodeMapInto, decodePayload's
// DROP and UNMAP, v3-span.ts decodeSpanInto): a record whose fields it gives is decoded later and cannot fail then.

import { recordFields as nativeFields } from '../mem/native.js';

/**
 * Per record, by kind (0 where a kind has no such field; a kind other than these six: its type only):
 * ino — an INODE's, DROP's, MAP's, UNMAP's, SPAN's node; a NAME's directory.
 * x — an INODE's mode; a NAME's target (0: the name removed); a MAP's or SPAN's first page.
 * n — an INODE's xattr bytes; a NAME's name as UTF-8 once decoded (its bytes when valid); a MAP's or SPAN's page count.
 * m — an INODE's inline bytes.
 */
export interface RecordFields { type: Uint16Array; ino: Float64Array; x: Float64Array; n: Uint32Array; m: Uint32Array }

/**
 * The fields of the framed records at b[at[k]] (each header and payload within b: pram/frames.ts framed them; a
 * RangeError otherwise), and the first k whose payload its decoder refuses (-1: none). A kind other than INODE, DROP,
 * NAME, MAP, UNMAP, SPAN is not checked: `others` lists their ks (before the refused one). A NAME's bytes are checked as decodeNameAt checks its
 * string (a NUL or '/' byte is one in the string and nothing else is: decoding replaces a bad sequence, never taking an
 * ASCII byte into it), and n is its UTF-8 length once decoded as Buffer decodes it (the WHATWG decoder).
 */
export function recordFields(b: Buffer, at: ArrayLike<number>): { f: RecordFields; bad: number; others: Uint32Array } {
  const count = at.length, places = at instanceof Uint32Array ? at : Uint32Array.from(at);
  const f: RecordFields = { type: new Uint16Array(count), ino: new Float64Array(count), x: new Float64Array(count), n: new Uint32Array(count), m: new Uint32Array(count) };
  const others = new Uint32Array(count + 1);
  const bad = nativeFields(b, places, count, f.type, f.ino, f.x, f.n, f.m, others);
  return { f, bad, others: others.subarray(1, 1 + others[0]!) };
}
