// Early boot of a v3 image (docs/FORMAT.md §v3): walk the log a header slot
// names (logwalk.ts), check every record's crc (read by logreader.ts), replay
// the records into per-node state (the last INODE of an ino wins; NAMEs keyed
// by directory and name; MAP/UNMAP on 32-page groups, SPANs per block in
// spans.ts), then reserve the log pages and the live data pages through
// memblock before the allocator exists.
// A damaged record is an exact loss and the walk resumes at the next page's
// first record (replaydamage.ts says what it costs); a damaged page ends the
// walk; damage that may reach an appended commit cuts back to a commit boundary.
// The step that published a compaction in slices is written twice: damage in one
// copy is read from the other (publishstep.ts);
// the same record damaged in both replays nothing (boot.ts falls back to the older slot's log).
// Turning this into nodes is adopt.ts's (the load).

import type { PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import { assert } from '../format/assert.js';
import type { SlotLog } from '../format/header.js';
import { LOG_HEADER, LOG_NEXT, RECORD_HEADER, RecordType, SPAN_FIXED, LOCATE_SLICED, RunsKind, type AtimesPagesRecord, type LogRecord,
  type PublishedRecord } from '../format/v3.js';
import { atimesLost, replayPages, reserveSides } from './atimespages.js';
import type { Loss } from './image.js';
import type { LogCursor } from './log.js';
import { walkLog } from './logwalk.js';
import type { Segment } from './segment.js';
import { SpanCrcs } from './spans.js';
import { DamageReader } from './replaydamage.js';
import type { Log } from './types.js';
import { applyRecord, type ReplayNode } from './apply.js';
import { COVERED, MENDED, mergeStep, stepBounds, touchesStep, type Damage, type StepBounds } from './publishstep.js';
import { publishedIn, PUBLISHED_BYTES, type PublishedAt } from './logstream.js';
import { claim } from './replayclaim.js';

export { RUN, type ReplayNode, type ReplayState } from './apply.js';

export interface LogReplay {
  cursor: LogCursor | null;           // the log, to append to; null when the walk was cut (compact next)
  generation: number;
  nodes: Map<number, ReplayNode>;
  names: Map<number, Map<string, number>>;   // dir ino -> name -> ino
  losses: Loss[];
  pages: number;                      // pages reserved (log + data)
  logPages: number[];                 // the log pages reserved, in order
  crcs: SpanCrcs;                     // the page crcs of every span (ReplayNode.blocks point into it)
  /** Stream bytes up to the end of the compaction's index and RUNS (LOCATE says; minor 3), 0: none (all of the log is tail). */
  indexEnd: number;
  sidePages: number[];                // the pages of the ATIMES_PAGES records replayed (minor 6): the log's until its next compaction
  /**
   * Damage that may have taken a record of the step that published a compaction in slices (minor 5): nothing of
   * the log was replayed and `loss` (in losses) says so; the boot may fall back to the log the other slot names.
   */
  publish?: { where: string; loss: Loss };
}

/** Walk, check and replay the log the slot names, reserving its pages. */
export function replayLog(mem: PhysMem, memblock: Memblock, slot: { headPfn: number; generation: number; log: SlotLog }, log: Log): LogReplay {
  const out: LogReplay = { cursor: null, generation: slot.generation, nodes: new Map(), names: new Map(), losses: [], pages: 0, logPages: [], crcs: new SpanCrcs(), indexEnd: 0, sidePages: [] };
  const lose = (pfn: number | null, what: string) => out.losses.push({ path: null, pfn, what });
  log('PRAM: Examining persistent memory (v3 log)...');
  // pram's own pages are reserved with banning off (as reserveChain does): they stay usable by pram.
  const ban = memblock.banWhileReserving;
  memblock.banWhileReserving = false;
  try { return replayReserved(mem, memblock, slot, log, out, lose); } finally { memblock.banWhileReserving = ban; }
}

function replayReserved(mem: PhysMem, memblock: Memblock, slot: { headPfn: number; generation: number; log: SlotLog }, log: Log,
  out: LogReplay, lose: (pfn: number | null, what: string) => void): LogReplay {
  const segs = walkLog(mem, memblock, slot, lose);
  out.pages = segs.pages.length;
  out.logPages = segs.pages;
  if (segs.whole) {
    const last = segs.segments[segs.segments.length - 1]!;
    out.cursor = { logId: segs.logId, pages: segs.pages, tailOff: last.end, bytes: segs.bytes };
  }
  out.crcs.stream = segs.segments;
  new Replayer(mem, memblock, out, segs.logId, segs.segments).run(segs.segments, segs.whole);
  out.pages += reserveSides(memblock, out.sidePages) + claim(mem, memblock, out);   // then the data pages: one a file's too is its loss
  log(`PRAM: ${out.pages} pages reserved`);
  return out;
}

/**
 * Reads records across segments; a damaged one is reported and skipped to the
 * next page's first record (DamageReader). Records are applied as they are read (nothing per
 * record is kept but its generation and place, in typed arrays): damage that
 * reaches past the compaction's records cuts the log back to a commit boundary
 * (below), and then the replay starts over and applies only the records before
 * the cut, so what loads is always one whole commit.
 */
class Replayer extends DamageReader {
  private applied: Loss[] = [];                        // losses apply() found (dropped if the replay starts over)
  private readonly sides = new Set<number>();          // the pages of the ATIMES_PAGES records applied (out.sidePages)

  // Minor 5: LOCATE or RUNS TOTALS flagged the compaction as one in slices (DamageReader.known: either was read);
  // the PUBLISHED record (index, the commit, where its step began).
  private sliced = false;
  private pub: { at: number; gen: number; start: number } | null = null;
  // The publish step's second copy, [copyFrom, copyTo) in the stream (its PUBLISHED included): read, not applied.
  private copyFrom = 0;
  private copyTo = 0;
  private readonly pubs: PublishedAt[] = [];            // whole PUBLISHED records read or found in skipped bytes
  private rebuilt = false;                             // the records kept were rebuilt around the publish step (repairStep)

  constructor(mem: PhysMem, private readonly memblock: Memblock, protected readonly out: LogReplay, logId: number, segments: Segment[]) {
    super(mem, logId, segments);
  }

  run(segments: Segment[], whole: boolean): void {
    if (segments.length > 0) this.off = segments[0]!.start;
    this.walk(segments);
    if (!whole) this.damages.push(this.cutLog(segments));
    this.repairStep(segments, whole);
    const end = this.cut();
    if (end < this.count || this.rebuilt) this.again(segments, end);
    for (const l of this.applied) this.out.losses.push(l);
    this.out.sidePages = [...this.sides];
    const l = this.out.publish ? null : this.locate, indexEnd = l ? l.indexPos + l.indexBytes + l.runsBytes : 0;
    // An index without RUNS (minor 2) leads no lazy mount: the log counts as all tail.
    if (l && l.runsBytes > 0 && indexEnd <= (this.out.cursor?.bytes ?? 0)) this.out.indexEnd = indexEnd;
  }

  /** Reads, checks, keeps and applies the records from the cursor to the end of what the walk read. */
  private walk(segments: Segment[]): void {
    while (this.seg < segments.length) {
      const s = segments[this.seg]!;
      if (this.off >= s.end) {
        if (s.end < this.mem.pageSize - LOG_NEXT) break;  // the tail
        this.seg++; if (this.seg < segments.length) this.off = segments[this.seg]!.start;
        continue;
      }
      const at = { seg: this.seg, off: this.off };
      const rec = this.next(segments, at, true);
      if (rec === null) continue;
      this.keep(this.gen, at.seg, at.off);
      if (rec.type === RecordType.Index || rec.type === RecordType.Runs) this.indexSeen = this.streamPos(this.seg, this.off);
      if (rec.type === RecordType.Runs && rec.r.kind === RunsKind.Totals && !this.known) { this.known = true; this.sliced = (this.flags & LOCATE_SLICED) !== 0; }
      if (rec.type === RecordType.Published) this.published(rec.r, this.streamPos(at.seg, at.off));
      if (this.copyTo === 0 || !this.inCopy(at.seg, at.off)) this.apply(rec, s.pfn, at.off);
    }
  }

  /** The walk was cut (a page that is no log page): damage from where it stopped to the end. */
  private cutLog(segments: Segment[]): Damage {
    return { at: this.count, where: 'the cut log', resume: -1, from: this.readEnd(segments), said: null };
  }

  /** The cut fell before the end: start over from nothing and apply the records before it (rare: damage in an appended commit). */
  private again(segments: Segment[], end: number): void {
    this.out.nodes.clear();
    this.out.names.clear();
    this.out.crcs.reset();
    this.sides.clear();
    this.applied = [];
    for (let i = 0; i < end; i++) {
      const at = { seg: this.segs[i]!, off: this.offs[i]! };
      this.seg = at.seg; this.off = at.off;
      const r = this.next(segments, at, false);
      if (r === null) assert(false, `record ${i} of the replay reads back`);
      else if (this.copyTo === 0 || !this.inCopy(at.seg, at.off)) this.apply(r, segments[at.seg]!.pfn, at.off);
    }
  }

  /**
   * Damage inside the compaction's records (the log id's generation, before and
   * after it) costs only what it held: each INODE's page count and each name's
   * target are checked after. Damage that may have taken records of an appended
   * commit cuts the log back to before the commit of the last good record: a
   * lost UNMAP or NAME removal must not bring back an older state. What loads
   * is then exactly an older commit, as with a damaged header slot.
   */
  private cut(): number {
    if (this.logId < 0) {
      if (this.damages.length) this.out.losses.push({ path: null, pfn: null, what: 'no page of the log could be read: nothing of the image is replayed (everything it held is lost)' });
      return 0;
    }
    const id = this.logId >>> 0;
    for (const d of this.damages) {
      if (this.inPublish(d, id)) { this.publishLost(d); return 0; }
      if (d.at < this.count && this.gens[d.at] === id) continue;                        // still inside the compaction
      const last = d.at > 0 ? this.gens[d.at - 1]! : id;
      let from = Math.max(last, id + 1);
      // After a whole PUBLISHED: the compaction in slices loads as the commit that published it.
      if (last === id && this.pub && this.pub.at < d.at) from = Math.max(from, ((this.pub.gen + 1) >>> 0));
      let end = d.at;
      while (end > 0 && this.gens[end - 1]! >= from && this.gens[end - 1] !== id) end--;
      const slot = this.out.generation;
      if (from > slot) continue;                         // no commit after it to lose (a cut in a publish step's second copy)
      this.out.losses.push({ path: null, pfn: null, what: `${d.where === 'the cut log' ? 'the log is cut (above)' : `the damaged ${d.where}`}: ` +
        `commits ${from}..${slot} are not replayed, the image loaded is that of commit ${from - 1}; anything newer is lost` });
      return end;
    }
    return this.count;
  }

  /**
   * Damage that may have taken a record of the step that published a compaction in slices (minor 5): its records
   * carry the log id, yet losing one (a NAME removed, a DROP, an UNMAP of a change made while the slices ran) would
   * bring an older name, node or page back unreported, and the records before them are no commit's state. So: damage
   * with no appended commit's record before it and no whole PUBLISHED, whose skipped bytes reach past where that
   * step begins (PUBLISHED says; else the end of the RUNS). A log whose LOCATE is damaged and whose RUNS TOTALS was not
   * read is not told apart from one in slices: the same holds for it (past the last INDEX or RUNS read). Else (a whole
   * compaction, an older log): as before.
   */
  private inPublish(d: { at: number; resume: number }, id: number): boolean {
    if (d.at > 0 && this.gens[d.at - 1] !== id) return false;
    const pub = this.pub, l = this.locate;
    if (pub ? pub.at < d.at : !this.sliced && !(this.locateLost && !this.known)) return false;
    const start = pub ? pub.start : l ? l.indexPos + l.indexBytes + l.runsBytes : this.indexSeen;
    return d.resume < 0 || d.resume > start;
  }

  /** Nothing of the log is replayed; the boot may fall back to the log before the compaction (boot.ts). */
  private publishLost(d: { where: string }): void {
    const where = d.where === 'the cut log' ? 'cut log (above)' : d.where;
    const loss: Loss = { path: null, pfn: null, what: `the damaged ${where} may have taken a record of the step that published the compaction in slices ` +
      `(the changes made while it ran): nothing of the log is replayed, the image loaded is that of commit 0 (empty); everything it held is lost` };
    this.out.losses.push(loss);
    this.out.publish = { where, loss };
  }

  /** A whole PUBLISHED read at stream byte `pos` (minor 5): copy 0's says where the second copy lies (read, not applied). */
  private published(r: PublishedRecord, pos: number): void {
    this.pubs.push({ pos, r });
    this.pub ??= { at: this.count - 1, gen: r.generation, start: r.first };
    if (r.copy === 0 && r.first + r.bytes === pos && this.copyTo === 0) { this.copyFrom = r.second; this.copyTo = r.second + r.bytes + PUBLISHED_BYTES; }
  }

  private inCopy(seg: number, off: number): boolean {
    const p = this.streamPos(seg, off);
    return p >= this.copyFrom && p < this.copyTo;
  }

  /**
   * Damage that took bytes of the step that published a compaction in slices (minor 5): the step's records are read
   * from both copies (publishstep.ts) and the records kept rebuilt around them; the replay then starts over (again)
   * with the step whole. The same record lost in both copies (damaged in both and not mended from the two:
   * publishstep.ts mendRecord), or no PUBLISHED left to say where they are: the step is lost (inPublish, as before the copy).
   */
  private repairStep(segments: Segment[], whole: boolean): void {
    if (!this.damages.length && !this.atimesHits.length) return;
    if (this.known && !this.sliced && !this.pubs.length) return;        // a whole compaction's log, or an older one
    const per = this.mem.pageSize - LOG_HEADER - LOG_NEXT;
    // A small step's copies and PUBLISHED records often share the damaged record's page: the resync skipped them (the
    // damaged record itself may be PUBLISHED copy 0 with bits flipped in its padding alone: logstream publishedPadded).
    if (this.pubs.length < 2) for (const d of this.damages) this.pubs.push(...publishedIn(segments, per, d.from, d.resume < 0 ? this.readEnd(segments) : d.resume));
    const b = stepBounds(this.pubs);
    if (!b) return;
    this.pub ??= { at: Infinity, gen: b.generation, start: b.first };   // found in skipped bytes: read after no damage
    const hits = this.atimesHits.filter((h) => h.from >= b.first && h.from < b.end);
    if (!hits.length && !this.damages.some((d) => touchesStep(b, d.from, d.resume))) return;
    const m = mergeStep(segments, per, b);
    if (typeof m === 'number') return;
    for (const h of hits) h.said.loss.what = `${h.said.head}: ${COVERED}`;
    this.rebuild(segments, b, m, per);
    if (!whole) this.damages.push(this.cutLog(segments));
  }

  /**
   * The records kept: those before the step as they were, the step's (from either copy), one PUBLISHED; then the walk
   * again from the step's end (a record boundary: what a resync skipped past it is read after all). Damage before the
   * step keeps its loss (a compaction record's) and stops at the step; the step's own was covered; later damage is
   * found again by the walk (its losses said then).
   */
  private rebuild(segments: Segment[], b: StepBounds, m: { pos: number[]; gens: number[]; mended: number[] }, per: number): void {
    const posOf = (i: number): number => this.segs[i]! * per + this.offs[i]! - LOG_HEADER;
    let a = 0;
    while (a < this.count && posOf(a) < b.first) a++;
    this.count = a;
    m.pos.forEach((p, k) => this.keep(m.gens[k]!, Math.floor(p / per), LOG_HEADER + (p % per)));
    // A PUBLISHED whose padding alone was hit does not read back: none is kept, the step's last record stands for it.
    this.pub = { at: b.pub.padded ? this.count - 1 : this.count, gen: b.generation, start: b.first };
    if (!b.pub.padded) this.keep(this.logId >>> 0, Math.floor(b.pub.pos / per), LOG_HEADER + (b.pub.pos % per));
    const later = new Set<Loss>();
    for (const d of this.damages) if (d.from >= b.end && d.said) later.add(d.said.loss);
    for (const h of this.atimesHits) if (h.from >= b.end) later.add(h.said.loss);
    if (later.size) this.out.losses = this.out.losses.filter((l) => !later.has(l));
    for (const d of this.damages) if (d.from >= b.first && d.from < b.end && d.said) d.said.loss.what = `${d.said.head}: ${m.mended.includes(d.from) ? MENDED : COVERED}`;
    this.damages = this.damages.filter((d) => d.from < b.first).map((d) => ((d.resume < 0 || d.resume > b.first) ? { ...d, at: a, resume: b.first } : d));
    this.copyFrom = this.copyTo = 0;
    this.rebuilt = true;
    this.seg = Math.floor(b.end / per); this.off = LOG_HEADER + (b.end % per);
    this.walk(segments);
  }

  private apply(rec: LogRecord, pfn: number, off: number): void {
    if (rec.type === RecordType.Locate) {
      if (pfn === this.first && off === LOG_HEADER) { this.locate = rec.r; this.known = true; this.sliced = (this.flags & LOCATE_SLICED) !== 0; }
      return;
    }
    if (rec.type === RecordType.AtimesPages) { this.applyPages(rec.r, pfn, off); return; }
    if (rec.type === RecordType.Span && rec.r.crcsDamage && this.out.nodes.has(rec.r.ino)) {
      // Only the page whose crc changed can fail its check: the span stays, each page as good as its own check.
      const r = rec.r, d = rec.r.crcsDamage;
      this.applied.push({ path: null, pfn, what: `log record at pfn:${pfn.toString(16)} offset ${off}: the page crcs of the SPAN of ino ${r.ino}, pages ${r.index}-${r.index + r.count - 1}, ` +
        `failed crc32c (saved 0x${d.saved.toString(16)}, computed 0x${d.computed.toString(16)}): a page whose crc changed fails its check when verified and reads EIO` });
    }
    applyRecord(this.out, rec,
      (r) => this.across ? this.out.crcs.addAt(this.across.seg, this.across.off + RECORD_HEADER + SPAN_FIXED, r.count) : this.out.crcs.add(r.crcs),
      (type, ino, count) => this.orphan(pfn, off, type, ino, count));
  }

  /** An ATIMES_PAGES record (minor 6): read, checked and applied as an ATIMES record's (atimespages.ts); its pages reserved after the replay. */
  private applyPages(r: AtimesPagesRecord, pfn: number, off: number): void {
    const pages = replayPages(this.mem, (q, n) => this.memblock.busyPfn(q, n), this.sides, r, (what, n) => this.applied.push(atimesLost(pfn, off, what, n)));
    for (const a of pages ?? []) applyRecord(this.out, { type: RecordType.Atimes, r: a }, () => 0, () => {});
  }

  private orphan(pfn: number, off: number, type: string, ino: number, count: number): void {
    this.applied.push({ path: null, pfn, what: `log record at pfn:${pfn.toString(16)} offset ${off}: ${type} for ino ${ino}, which has no INODE record: its ${count} page(s) dropped` });
  }
}
