// Reads of a v3 log's stream at a stream position, across its pages (the segments the walk read,
// logwalk.ts): the replay's looks ahead past a damaged record (replay.ts) and the two copies of a
// publish step (publishstep.ts). Each copies the bytes it reads; none is on the replay's hot path.

import { align8, ATIMES_ENTRY, ATIMES_FIXED, ATIMES_MAX_ENTRIES, ATIMES_PAGES_FIXED, ATIMES_PAGES_RUN, decodePayload, framedCrc, LOG_HEADER, LOG_NEXT, PUBLISHED_SIZE, RECORD_HEADER,
  RECORD_PAYLOAD_MAX, RecordType, RUNS_FIXED, RunsKind, type PublishedRecord } from '../format/v3.js';
import { decodeSpan } from './spans.js';
import type { Segment } from './segment.js';

/** Stream bytes of a PUBLISHED record without zeros after its fields (copy 1's; copy 0's at least). */
export const PUBLISHED_BYTES = RECORD_HEADER + PUBLISHED_SIZE;

/** A whole PUBLISHED record and the stream byte it starts at. */
/** padded: a PUBLISHED copy 0 whose crc checks only with its zero padding as written (publishedPadded): it does not read back. */
export interface PublishedAt { pos: number; r: PublishedRecord; padded?: boolean }

/** `n` stream bytes from position `pos` (a copy), or null when a page of them was not read. */
export function streamAt(segments: Segment[], per: number, pos: number, n: number): Buffer | null {
  const out = Buffer.allocUnsafe(n);
  for (let got = 0; got < n;) {
    const s = segments[Math.floor((pos + got) / per)], off = LOG_HEADER + ((pos + got) % per);
    if (!s || off < s.start || off >= s.end) return null;
    const take = Math.min(n - got, s.end - off);
    s.page.copy(out, got, off, off + take);
    got += take;
  }
  return out;
}

/** The whole, crc-valid, well-formed record at stream byte `pos`: its stream bytes and generation; or null. */
export function recordAt(segments: Segment[], per: number, pos: number): { total: number; generation: number } | null {
  const head = streamAt(segments, per, pos, RECORD_HEADER);
  if (!head) return null;
  const length = head.readUInt32LE(8);
  if (length > RECORD_PAYLOAD_MAX) return null;
  const b = streamAt(segments, per, pos, RECORD_HEADER + align8(length));
  return b ? recordChecks(b) : null;
}

/** Whether the framed record `b` (its header, payload and padding: no more) checks (crc, fields): its bytes and generation, or null. */
export function recordChecks(b: Buffer): { total: number; generation: number } | null {
  const length = b.readUInt32LE(8), type = b.readUInt16LE(4);
  if (length > RECORD_PAYLOAD_MAX || RECORD_HEADER + align8(length) !== b.length) return null;
  if (framedCrc(b, 0, type, length) !== b.readUInt32LE(0)) return null;
  const rec = type === RecordType.Span ? decodeSpan(b, RECORD_HEADER, length) : decodePayload(type, b.subarray(RECORD_HEADER, RECORD_HEADER + length));
  return typeof rec === 'string' ? null : { total: b.length, generation: b.readUInt32LE(12) };
}

/**
 * Writes `bytes` at stream position `pos` into the segments' pages, each page copied first (the segment then holds
 * the copy): the arena is not written. Every page of the range was read (the caller read the bytes there).
 */
export function patchStream(segments: Segment[], per: number, pos: number, bytes: Buffer): void {
  for (let got = 0; got < bytes.length;) {
    const s = segments[Math.floor((pos + got) / per)]!, off = LOG_HEADER + ((pos + got) % per);
    const take = Math.min(bytes.length - got, s.end - off);
    s.page = Buffer.from(s.page);
    bytes.copy(s.page, off, got, got + take);
    got += take;
  }
}

/** The whole PUBLISHED record at `pos`, or null (a cheap look at its type and length first: this probes every 8 bytes). */
export function publishedAt(segments: Segment[], per: number, pos: number): PublishedAt | null {
  const head = streamAt(segments, per, pos, RECORD_HEADER);
  if (!head || head.readUInt16LE(4) !== RecordType.Published || head.readUInt32LE(8) < PUBLISHED_SIZE || head.readUInt32LE(8) > PUBLISHED_SIZE + per) return null;
  if (!recordAt(segments, per, pos)) return publishedPadded(segments, per, pos, head.readUInt32LE(8));
  const rec = decodePayload(RecordType.Published, streamAt(segments, per, pos + RECORD_HEADER, head.readUInt32LE(8))!);
  return typeof rec === 'string' || rec.type !== RecordType.Published ? null : { pos, r: rec.r };
}

/**
 * A PUBLISHED copy 0 (the one padded with zeros to its page's end) whose crc fails only because bits flipped in that
 * padding: with the padding as the writer wrote it (zeros, which its decoder requires) its crc is the one saved, so its
 * header and fields are as written -- and they say where the step's copies are. null otherwise.
 */
function publishedPadded(segments: Segment[], per: number, pos: number, length: number): PublishedAt | null {
  if (length === PUBLISHED_SIZE) return null;
  const b = streamAt(segments, per, pos, RECORD_HEADER + align8(length));   // a copy
  if (!b) return null;
  b.fill(0, RECORD_HEADER + PUBLISHED_SIZE);
  if (framedCrc(b, 0, RecordType.Published, length) !== b.readUInt32LE(0)) return null;
  const rec = decodePayload(RecordType.Published, b.subarray(RECORD_HEADER, RECORD_HEADER + length));
  return typeof rec === 'string' || rec.type !== RecordType.Published || rec.r.copy !== 0 ? null : { pos, r: rec.r, padded: true };
}

/**
 * Where the whole RUNS TOTALS record of log `generation` (mod 2^32) lies in the stream bytes [from, to) that a damaged
 * record's resync skipped, or -1. There is one a log (minor 3), right after its INDEX records: every byte before it is
 * the compaction's own (its groups and its index), and its flags say whether the compaction ran in slices.
 */
export function totalsIn(segments: Segment[], per: number, from: number, to: number, generation: number): number {
  for (let pos = from + (8 - from % 8) % 8; pos + RECORD_HEADER + RUNS_FIXED <= to; pos += 8) {
    const head = streamAt(segments, per, pos, RECORD_HEADER);
    if (!head || head.readUInt16LE(4) !== RecordType.Runs || head.readUInt32LE(8) !== RUNS_FIXED || head.readUInt32LE(12) !== generation) continue;
    const b = streamAt(segments, per, pos, RECORD_HEADER + RUNS_FIXED);
    if (b && recordChecks(b) && b.readUInt32LE(RECORD_HEADER) === RunsKind.Totals) return pos;
  }
  return -1;
}

/** Whole PUBLISHED records in the stream bytes [from, to) that a damaged record's resync skipped. */
export function publishedIn(segments: Segment[], per: number, from: number, to: number): PublishedAt[] {
  const out: PublishedAt[] = [];
  for (let pos = from + (8 - from % 8) % 8; pos + PUBLISHED_BYTES <= to; pos += 8) {
    const p = publishedAt(segments, per, pos);
    if (p) out.push(p);
  }
  return out;
}

/**
 * Where the stream continues past a damaged record whose header says ATIMES (v3 minor 4) or ATIMES_PAGES (minor 6), or -1:
 * trusted only when its length is one an ATIMES record has and it ends at the stream's end or where
 * a whole record that checks begins (a bit flipped in its type or length fails that; no other type
 * becomes ATIMES by one flipped bit with a length an ATIMES record could have).
 */
export function atimesPast(pageSize: number, segments: Segment[], at: { seg: number; off: number }, head: Buffer): number {
  const length = head.readUInt32LE(8);
  const type = head.readUInt16LE(4);
  // (minor 6) ATIMES_PAGES: whatever its runs and pages, a length of 4-byte steps from its least.
  const pages = type === RecordType.AtimesPages && length >= ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN + 4 && length % 4 === 0 && length <= RECORD_PAYLOAD_MAX;
  if (!pages && (type !== RecordType.Atimes || length < ATIMES_FIXED + ATIMES_ENTRY || (length - ATIMES_FIXED) % ATIMES_ENTRY !== 0 ||
    length > ATIMES_FIXED + ATIMES_ENTRY * ATIMES_MAX_ENTRIES)) return -1;
  const per = pageSize - LOG_HEADER - LOG_NEXT, after = at.seg * per + at.off - LOG_HEADER + RECORD_HEADER + align8(length);
  const last = segments[segments.length - 1];
  if (!last) return -1;
  const end = (segments.length - 1) * per + (last.end - LOG_HEADER);
  if (after === end) return after;
  if (after > end) return -1;
  const next = streamAt(segments, per, after, RECORD_HEADER);
  if (!next) return -1;
  const nlen = next.readUInt32LE(8), ntotal = RECORD_HEADER + align8(nlen);
  if (nlen > RECORD_PAYLOAD_MAX || after + ntotal > end) return -1;
  const whole = streamAt(segments, per, after, ntotal);
  return whole && framedCrc(whole, 0, whole.readUInt16LE(4), nlen) === whole.readUInt32LE(0) ? after : -1;
}
