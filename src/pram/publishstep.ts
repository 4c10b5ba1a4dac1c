// The step that published a compaction in slices, written twice (docs/FORMAT.md §v3, minor 5):
// its records P, a PUBLISHED record (copy 0), the same bytes again P', a second PUBLISHED
// (copy 1). A full replay (replay.ts) that finds damage touching the step reads it here record
// by record: the record at each offset of P when it checks, else the one at the same offset of
// P' (a byte copy: the same record there); damaged in both, mended from the two when their bits
// differ in few places and exactly one mix of them checks (mendRecord). What results is the step
// whole, unless a record is lost in both copies (then the replay's older rule: the step is lost).

import type { Segment } from './segment.js';
import type { Loss } from './image.js';
import { RECORD_HEADER, RECORD_PAYLOAD_MAX, RecordType, align8 } from '../format/v3.js';
import { patchStream, PUBLISHED_BYTES, recordAt, recordChecks, streamAt, type PublishedAt } from './logstream.js';

/** Where the step's copies are: P = [first, first + bytes), P' = [second, second + bytes); end: past the second PUBLISHED. */
export interface StepBounds { first: number; second: number; bytes: number; end: number; generation: number; pub: PublishedAt }

/**
 * The step's copies, from the PUBLISHED records found (either copy's tells both; its own copy's records end where it
 * begins; copy 1's PUBLISHED has no zeros after), or null: none found, or they disagree.
 */
export function stepBounds(found: readonly PublishedAt[]): StepBounds | null {
  let b: StepBounds | null = null;
  for (const p of found) {
    const { first, second, bytes, copy, generation } = p.r;
    if ((copy === 0 ? first : second) + bytes !== p.pos || second < first + bytes + PUBLISHED_BYTES) continue;   // not this step's
    const s: StepBounds = { first, second, bytes, end: second + bytes + PUBLISHED_BYTES, generation, pub: p };
    if (b && (b.first !== s.first || b.second !== s.second || b.bytes !== s.bytes || b.generation !== s.generation)) return null;
    if (!b || (b.pub.padded && !p.padded)) b = s;        // the PUBLISHED kept: one that reads back when there is one
  }
  return b;
}

/**
 * The step's records read from both copies: per record, P's when it checks, else P''s at the same offset
 * (`covered` counts those). -1 when a record checks in neither copy (or the copies do not end together).
 */
export function mergeStep(segments: Segment[], per: number, b: StepBounds): { pos: number[]; gens: number[]; covered: number; mended: number[] } | number {
  const pos: number[] = [], gens: number[] = [], mended: number[] = [];
  let covered = 0;
  for (let r = 0; r < b.bytes;) {
    let at = b.first + r, x = recordAt(segments, per, at);
    if (!x) { at = b.second + r; x = recordAt(segments, per, at) ?? mendRecord(segments, per, b, r); covered++; }
    if (!x || r + x.total > b.bytes) return -1;
    if ('mended' in x) mended.push(b.first + r, b.second + r);
    pos.push(at); gens.push(x.generation);
    r += x.total;
  }
  return { pos, gens, covered, mended };
}

/** Most bits in which a record's two copies may differ for a mend: 2^n mixes tried, a wrong one checking with odds 2^n / 2^32. */
export const MEND_BITS_MAX = 10;

/**
 * The step's record at offset r when it checks in neither copy: bit flips in each at different places leave every
 * bit right in one of them. Where the copies differ (at most MEND_BITS_MAX bits, over a length either copy's header
 * gives), each mix is tried; when exactly one checks (crc, fields) it is the record, written over copy 1's bytes in
 * the segments (their pages copied: the arena is not written) and read from there. Not a SPAN: its page crcs, which
 * its record crc does not cover, are read later from the arena's page. Null: no mix, or more than one, checks.
 */
function mendRecord(segments: Segment[], per: number, b: StepBounds, r: number): { total: number; generation: number; mended: true } | null {
  const heads = [b.first, b.second].map((p) => streamAt(segments, per, p + r, RECORD_HEADER));
  let found: Buffer | null = null;
  for (const length of new Set(heads.map((h) => h?.readUInt32LE(8) ?? -1))) {
    const total = RECORD_HEADER + align8(length);
    if (length < 0 || length > RECORD_PAYLOAD_MAX || r + total > b.bytes) continue;
    const one = streamAt(segments, per, b.first + r, total), two = streamAt(segments, per, b.second + r, total);
    if (!one || !two) continue;
    const bits: number[] = [];
    for (let i = 0; i < total && bits.length <= MEND_BITS_MAX; i++) for (let x = one[i]! ^ two[i]!, k = 0; x; x >>= 1, k++) if (x & 1) bits.push(i * 8 + k);
    if (bits.length > MEND_BITS_MAX) continue;
    for (let mix = 0; mix < 2 ** bits.length; mix++) {
      const m = Buffer.from(one);
      bits.forEach((bit, k) => { if (mix & (1 << k)) m[bit >> 3]! ^= 1 << (bit & 7); });
      if (m.readUInt32LE(8) !== length || m.readUInt16LE(4) === RecordType.Span || !recordChecks(m)) continue;
      if (found) return null;                              // two mixes check: neither is known to be the record
      found = m;
    }
  }
  if (!found) return null;
  patchStream(segments, per, b.second + r, found);
  return { total: found.length, generation: found.readUInt32LE(12), mended: true };
}

/** A damaged record's loss and what it began with (the place, type and why): reworded when the other copy covers it. */
export interface Said { loss: Loss; head: string }

/**
 * Damage the replay met: at, the index of the next good record kept; where; resume, the stream byte reading resumed at
 * (-1: the end); from, where the damaged record began; said, its loss (null: a cut log's, said by the walk).
 */
export interface Damage { at: number; where: string; resume: number; from: number; said: Said | null }

/** What a covered damage's loss says after its place, type and why. */
export const COVERED = 'skipped; the step that published the compaction in slices is written twice and what this skipped was read from ' +
  'its other copy: nothing is lost';

/** What the loss of a damaged record of the step says when the record was mended from both copies (mendRecord). */
export const MENDED = 'skipped; the step that published the compaction in slices is written twice and this record is damaged in both ' +
  'copies, at different bits: it was read with each bit where they differ taken from the copy that makes its crc check: nothing is lost';

/** Whether damage from `from` that resumed at `resume` took bytes of the step. */
export const touchesStep = (b: StepBounds, from: number, resume: number): boolean => from < b.end && (resume < 0 || resume > b.first);
