// The step that published a compaction in slices, written twice (docs/FORMAT.md §v3, minor 5):
// its records P, a PUBLISHED record (copy 0), the same bytes again P', a second PUBLISHED
// (copy 1). A full replay (replay.ts) that finds damage touching the step reads it here record
// by record: the record at each offset of P when it checks, else the one at the same offset of
// P' (a byte copy: the same record there). What results is the step whole, unless the same
// record is damaged in both copies (then the replay's older rule: the step is lost).

import type { Segment } from './segment.js';
import type { Loss } from './image.js';
import { PUBLISHED_BYTES, recordAt, type PublishedAt } from './logstream.js';

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
export function mergeStep(segments: Segment[], per: number, b: StepBounds): { pos: number[]; gens: number[]; covered: number } | number {
  const pos: number[] = [], gens: number[] = [];
  let covered = 0;
  for (let r = 0; r < b.bytes;) {
    let at = b.first + r, x = recordAt(segments, per, at);
    if (!x) { at = b.second + r; x = recordAt(segments, per, at); covered++; }
    if (!x || r + x.total > b.bytes) return -1;
    pos.push(at); gens.push(x.generation);
    r += x.total;
  }
  return { pos, gens, covered };
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

/** Whether damage from `from` that resumed at `resume` took bytes of the step. */
export const touchesStep = (b: StepBounds, from: number, resume: number): boolean => from < b.end && (resume < 0 || resume > b.first);
