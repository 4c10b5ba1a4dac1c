// What a damaged record of the v3 log costs in the full replay (replay.ts): the loss said and
// where reading resumes -- the next page's first record; exactly past a damaged LOCATE or INDEX
// record (they hold no file) or ATIMES record (its atimes alone are lost); at the RUNS TOTALS
// when LOCATE is lost and the resync would skip it -- and the good records kept, each one's
// generation and place, among which the damage found is placed. Apart from replay.ts because
// reading a record (logreader.ts) and its damage are what the walk does per record; what the
// damage found costs after the walk (the cut back, the publish step repaired) is the replay's.

import type { PhysMem } from '../mem/physmem.js';
import { framedCrc, LOG_HEADER, LOG_NEXT, RECORD_HEADER, RECORD_NAMES, RecordType, align8, LOCATE_BYTES, LOCATE_SIZE,
  ATIMES_FIXED, ATIMES_ENTRY, ATIMES_PAGES_MAX_ENTRIES, type LocateRecord } from '../format/v3.js';
import type { Loss } from './image.js';
import type { Segment } from './segment.js';
import { LogReader } from './logreader.js';
import type { Damage, Said } from './publishstep.js';
import { atimesPast, totalsIn } from './logstream.js';

/** The log reader of the replay: it keeps the good records' places and says what a damaged one costs (LogReader.damage). */
export abstract class DamageReader extends LogReader {
  protected count = 0;                                  // good records read
  protected gens = new Uint32Array(1024);               // per good record: its generation, page (segment) and offset
  protected segs = new Uint32Array(1024);
  protected offs = new Uint32Array(1024);
  // at: index of the next good record; resume: the stream byte reading resumed at (-1: the end); from: where the damaged
  // record began; said: its loss and what it began with (reworded when the publish step's other copy covers it).
  protected damages: Damage[] = [];
  protected readonly atimesHits: { from: number; said: Said }[] = [];   // damaged ATIMES records (an exact loss, no cut)

  protected locate: LocateRecord | null = null;         // the compaction's LOCATE, read as the log's first record
  protected readonly first: number;                     // the head page's pfn
  // LOCATE or RUNS TOTALS was read (known: whether the compaction ran in slices, minor 5); its LOCATE was damaged;
  // where the last INDEX or RUNS record read ends.
  protected known = false;
  protected locateLost = false;
  protected indexSeen = 0;
  /** Where the losses are said (the replay's result). */
  protected abstract readonly out: { losses: Loss[] };

  constructor(mem: PhysMem, protected readonly logId: number, segments: Segment[]) {
    super(mem);
    this.first = segments[0]?.pfn ?? -1;
  }

  /** A good record's generation and place (the cut reads the generations; a replay over reads the places). */
  protected keep(gen: number, seg: number, off: number): void {
    if (this.count === this.gens.length) {
      const grow = (a: Uint32Array) => { const b = new Uint32Array(a.length * 2); b.set(a); return b; };
      this.gens = grow(this.gens); this.segs = grow(this.segs); this.offs = grow(this.offs);
    }
    this.gens[this.count] = gen; this.segs[this.count] = seg; this.offs[this.count] = off;
    this.count++;
  }

  /** A record that cannot be used: reported, and reading resumes at the next page's first record. */
  protected damage(segments: Segment[], at: { seg: number; off: number }, why: string, head: Buffer | null, payload?: Buffer): void {
    const s = segments[at.seg]!;
    const type = head ? RECORD_NAMES[head.readUInt16LE(4)] ?? `type ${head.readUInt16LE(4)}` : 'record';
    const ino = payload && payload.length >= 8 ? ` (ino ${payload.readBigUInt64LE(0)} per its unverified payload)` : '';
    const gen = head ? `, generation ${head.readUInt32LE(12)} per its unverified header` : '';
    const where = `log record at pfn:${s.pfn.toString(16)} offset ${at.off}`;
    const past = this.pastIndex(at, head);
    if (past >= 0) {
      // LOCATE and INDEX hold no file: the records they point to are all read; only an index-led mount would need them.
      this.out.losses.push({ path: null, pfn: s.pfn, what: `${where} (${type}${gen}) ${why}: skipped; it holds no file (the log's index: nothing is lost, the whole log is replayed)` });
      const per = this.mem.pageSize - LOG_HEADER - LOG_NEXT;
      if (past === LOCATE_BYTES) this.locateLost = true;
      else this.indexSeen = Math.max(this.indexSeen, past);
      this.seg = Math.floor(past / per); this.off = LOG_HEADER + (past % per);
      return;
    }
    const atimes = head ? atimesPast(this.mem.pageSize, segments, at, head) : -1;
    if (atimes >= 0) {
      // An ATIMES record holds only atimes: losing it costs those, not the commits after it (no cut back).
      const n = head!.readUInt16LE(4) === RecordType.Atimes ? (head!.readUInt32LE(8) - ATIMES_FIXED) / ATIMES_ENTRY : ATIMES_PAGES_MAX_ENTRIES;
      const loss: Loss = { path: null, pfn: s.pfn, what: `${where} (${type}${gen}) ${why}: atime updates of up to ${n} files in the commit at pfn:${s.pfn.toString(16)} are lost: kept the earlier atime` };
      this.out.losses.push(loss);
      this.atimesHits.push({ from: this.streamPos(at.seg, at.off), said: { loss, head: `${where} (${type}${gen}) ${why}` } });
      const per = this.mem.pageSize - LOG_HEADER - LOG_NEXT;
      this.seg = Math.floor(atimes / per); this.off = LOG_HEADER + (atimes % per);
      return;
    }
    const said: Said = { loss: { path: null, pfn: s.pfn, what: `${where} (${type}${ino}${gen}) ${why}: skipped` }, head: `${where} (${type}${ino}${gen}) ${why}` };
    this.out.losses.push(said.loss);
    const from = this.streamPos(at.seg, at.off);
    // Resync: the next page whose header names a record start.
    let k = at.seg + 1;
    while (k < segments.length && segments[k]!.first === 0) k++;
    this.seg = k;
    if (k < segments.length) this.off = segments[k]!.first;
    if (k < segments.length && this.off > segments[k]!.end) this.seg = segments.length;
    // LOCATE lost, whether the compaction ran in slices is unknown: reading resumes at its RUNS TOTALS when skipped whole.
    const per = this.mem.pageSize - LOG_HEADER - LOG_NEXT, to = this.seg < segments.length ? this.streamPos(this.seg, this.off) : this.readEnd(segments);
    const totals = this.known ? -1 : totalsIn(segments, per, from + 8, to, this.logId >>> 0);
    if (totals >= 0) { this.seg = Math.floor(totals / per); this.off = LOG_HEADER + (totals % per); }
    this.damages.push({ at: this.count, where, resume: this.seg < segments.length ? this.streamPos(this.seg, this.off) : -1, from, said });
  }

  /**
   * Where the stream continues past a damaged LOCATE or INDEX record, exactly (-1: it is not one):
   * LOCATE is the first record and of one size; the INDEX records end where the LOCATE read says.
   */
  private pastIndex(at: { seg: number; off: number }, head: Buffer | null): number {
    const pos = this.streamPos(at.seg, at.off);
    if (pos === 0 && ((head && head.readUInt16LE(4) === RecordType.Locate && head.readUInt32LE(8) === LOCATE_SIZE) || this.goodAt(LOCATE_BYTES))) return LOCATE_BYTES;
    const l = this.locate;
    const end = l ? l.indexPos + l.indexBytes + l.runsBytes : -1;   // the INDEX records, then (minor 3) the RUNS records
    return l && pos >= l.indexPos && pos < end ? end : -1;
  }

  /**
   * Whether a whole, crc-valid record starts at stream byte `pos` of the head page. A damaged
   * first record whose header no longer says LOCATE still was one when a record starts right
   * after LOCATE's 80 bytes: a compaction's log begins with LOCATE or with an INODE (96 bytes
   * at least), and bytes 80… of an INODE are its fixed fields, never a valid record.
   */
  private goodAt(pos: number): boolean {
    const page = this.mem.page(this.first), off = LOG_HEADER + pos;
    if (this.first < 0 || off + RECORD_HEADER > page.length - LOG_NEXT) return false;
    const length = page.readUInt32LE(off + 8), type = page.readUInt16LE(off + 4);
    if (!(type in RECORD_NAMES) || off + RECORD_HEADER + align8(length) > page.length - LOG_NEXT) return false;
    return framedCrc(page, off, type, length) === page.readUInt32LE(off);
  }
}
