// The record reader of the v3 log's replay (replay.ts): a cursor over the segments the
// walk read (logwalk.ts), and the record at it checked (crc, bounds, payload) and
// decoded, within a page without a copy or across pages through scratch buffers.
// Apart from replay.ts because reading a record is one job and what its damage
// costs (the loss said, the resync, the cut back, the publish step) is another:
// the reader only reports damage, through `damage`, which the replay implements.

import type { PhysMem } from '../mem/physmem.js';
import { decodeMapInto, decodePayload, framedCrc, LOG_HEADER, LOG_NEXT, readRecordHeader, RECORD_HEADER,
  RECORD_PAYLOAD_MAX, RecordType, recordCrc, SPAN_BLOCK, SPAN_FIXED, spanCrcOf, align8, type LogRecord, type MapRecord } from '../format/v3.js';
import type { Segment } from './segment.js';
import { decodeSpan } from './spans.js';

/** A cursor over the log's segments that reads, checks and decodes the record at it. */
export abstract class LogReader {
  protected seg = 0;
  protected off = 0;
  protected gen = 0;                                     // generation of the record next() returned
  protected flags = 0;                                   // and its header flags, when a LOCATE or RUNS
  protected across: { seg: number; off: number } | null = null;   // where next()'s record starts, when read across log pages
  // MAP records, most of a log, decode into this one record: apply() copies its numbers.
  private readonly headScratch = Buffer.allocUnsafeSlow(RECORD_HEADER);
  private spanScratch = Buffer.allocUnsafeSlow(0);
  private readonly map: { type: RecordType.Map; r: MapRecord } = { type: RecordType.Map, r: { ino: 0, index: 0, pfn: 0, count: 0, csum: 0, flags: 0 } };

  constructor(protected readonly mem: PhysMem) {}

  /** A record that cannot be used: reported (the replay's rules), and the cursor moved past it. */
  protected abstract damage(segments: Segment[], at: { seg: number; off: number }, why: string, head: Buffer | null, payload?: Buffer): void;

  /**
   * The record at the cursor, checked (crc, bounds, payload) and decoded, the cursor
   * past it; null (the damage reported, the cursor resynced) when it cannot be used.
   * `check` false: a record this replay already checked (crc not computed again).
   */
  protected next(segments: Segment[], at: { seg: number; off: number }, check: boolean): LogRecord | null {
    const s = segments[at.seg]!, page = s.page;
    this.across = null;
    // Most records lie inside one page: read there, without a copy.
    if (at.off + RECORD_HEADER <= s.end) {
      const length = page.readUInt32LE(at.off + 8);
      const total = RECORD_HEADER + align8(length);
      if (length <= RECORD_PAYLOAD_MAX && at.off + total <= s.end) {
        const type = page.readUInt16LE(at.off + 4), gen = page.readUInt32LE(at.off + 12);
        if (type === RecordType.Runs || type === RecordType.Locate) this.flags = page.readUInt16LE(at.off + 6);
        if (check) {
          const saved = page.readUInt32LE(at.off), crc = framedCrc(page, at.off, type, length);   // bytes 4..15 then payload: one stretch (a SPAN's: spanCrc)
          if (crc !== saved) {
            this.damage(segments, at, `failed crc32c (saved 0x${saved.toString(16)}, computed 0x${crc.toString(16)})`, page.subarray(at.off, at.off + RECORD_HEADER), page.subarray(at.off + RECORD_HEADER, at.off + RECORD_HEADER + length));
            return null;
          }
        }
        const rec = type === RecordType.Map ? decodeMapInto(page, at.off + RECORD_HEADER, length, this.map.r) ?? this.map
          : type === RecordType.Span ? decodeSpan(page, at.off + RECORD_HEADER, length)
          : decodePayload(type, page.subarray(at.off + RECORD_HEADER, at.off + RECORD_HEADER + length));
        if (typeof rec === 'string') { this.damage(segments, at, `is malformed: ${rec}`, page.subarray(at.off, at.off + RECORD_HEADER), page.subarray(at.off + RECORD_HEADER, at.off + RECORD_HEADER + length)); return null; }
        this.off = at.off + total;
        this.gen = gen;
        return rec;
      }
    }
    const head = this.read(segments, RECORD_HEADER, this.headScratch);
    if (!head) { this.damage(segments, at, 'is cut by the end of the log', null); return null; }
    const h = readRecordHeader(head);
    if (h.length > RECORD_PAYLOAD_MAX) { this.damage(segments, at, `claims ${h.length} bytes`, head); return null; }
    // A SPAN's bytes go through a reused scratch (its crcs are copied out below); other records keep views of theirs (inline bytes).
    const span = h.type === RecordType.Span;
    const padded = this.read(segments, align8(h.length), span ? this.scratch(align8(h.length)) : undefined);
    if (!padded) { this.damage(segments, at, 'is cut by the end of the log', head); return null; }
    const payload = padded.subarray(0, h.length);
    const crc = !check ? h.crc : h.type === RecordType.Span && h.length >= SPAN_FIXED ? spanCrcOf(head.subarray(4, RECORD_HEADER), padded, h.length)
      : recordCrc(head.subarray(4, RECORD_HEADER), padded);
    if (crc !== h.crc) { this.damage(segments, at, `failed crc32c (saved 0x${h.crc.toString(16)}, computed 0x${crc.toString(16)})`, head, payload); return null; }
    const rec = span ? decodeSpan(payload, 0, payload.length) : decodePayload(h.type, payload);
    if (typeof rec === 'string') { this.damage(segments, at, `is malformed: ${rec}`, head, payload); return null; }
    if (rec.type === RecordType.Span) this.across = at;   // its crcs stay in the log pages (SpanCrcs.addAt): the scratch is reused
    this.gen = h.generation;
    this.flags = h.flags;
    return rec;
  }

  /** Stream bytes the walk read. */
  protected readEnd(segments: Segment[]): number {
    const n = segments.length;
    return n ? this.streamPos(n - 1, segments[n - 1]!.end) : 0;
  }

  /** Stream position of (seg, off): the log's pages are its segments in seq order. */
  protected streamPos(seg: number, off: number): number { return seg * (this.mem.pageSize - LOG_HEADER - LOG_NEXT) + off - LOG_HEADER; }

  /** The SPAN scratch, at least `n` bytes (one buffer of its own: 8-aligned crcs are viewed in place). */
  private scratch(n: number): Buffer {
    if (this.spanScratch.length < n) this.spanScratch = Buffer.allocUnsafeSlow(Math.max(n, SPAN_FIXED + 4 * SPAN_BLOCK + 8));
    return this.spanScratch;
  }

  /** `n` stream bytes from the cursor (across pages), or null past the stream's end; bytes across pages are copied into `into` when given. */
  private read(segments: Segment[], n: number, into?: Buffer): Buffer | null {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const s = segments[this.seg];
      if (!s) return null;
      if (this.off >= s.end) {
        if (s.end < this.mem.pageSize - LOG_NEXT) return null;
        this.seg++; if (this.seg >= segments.length) return null;
        this.off = segments[this.seg]!.start;
        continue;
      }
      const take = Math.min(need, s.end - this.off);
      parts.push(s.page.subarray(this.off, this.off + take));   // the walk's page: a large log's copy (logwalk.ts), not a first touch of the mapping
      this.off += take; need -= take;
    }
    if (parts.length === 1) return parts[0]!;
    if (!into) return Buffer.concat(parts);
    let at = 0;
    for (const p of parts) { into.set(p, at); at += p.length; }
    return into.subarray(0, n);
  }
}
