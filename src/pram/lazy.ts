// A lazy mount led by a compaction's index (docs/FORMAT.md §v3 minor 3), once
// booted (lazyboot.ts: the log's and the data's pages reserved from the RUNS, no
// group read): each directory's group is read, checked and adopted when the file
// system first needs it (loadGroup); fs/ decides when. A group that fails its
// checks is a string saying why.

import type { PhysMem } from '../mem/physmem.js';
import { decodeSpanInto, LOG_HEADER, logPayload, readLogHeader, readNext, RECORD_HEADER, RECORD_NAMES, RecordType, SPAN_BLOCK, SPAN_FIXED, spanCrcsDamage, u32, type SpanHead } from '../format/v3.js';
import { assert } from '../format/assert.js';
import type { Loss, NodeImage } from './image.js';
import type { LazyCursor } from './logpages.js';
import { homeOf, readGroup, salvageGroup, type GroupIndex } from './groups.js';
import { readGroupThin } from './groupthin.js';
import { fresh, streamBytes, streamPagesBytes } from './stream.js';
import { replayDeferred, replayGroup, type TailOverlay } from './tail.js';
import type { DeferredGroup } from './taildefer.js';
import { atimesLost, pagesReader, type PagesReader } from './atimespages.js';
import { adoptNode, type AdoptContext } from './adopt.js';
import type { ReplayNode, ReplayState } from './apply.js';
import { SpanCrcs, spansInOrder } from './spans.js';
import { S_IFDIR, S_IFMT } from '../format/mode.js';
import type { IndexEntry, InodeRecord } from '../format/v3.js';

/**
 * One directory's group as fs/ takes it: its nodes adopted (the directory first), the names it holds.
 * A node's inline bytes may be a view of the buffer groups are read into (LazyLog.spare): valid until the next group loads.
 */
export interface LoadedGroup {
  nodes: NodeImage[]; names: { name: string; ino: number }[]; damaged: boolean;
  /** A group whose tail records waited for its load (taildefer.ts): the pages no node holds any more, and the mount's charge less the exact. */
  settle?: { freed: number[]; bytes: number; inline: number };
}

const NONE: readonly number[] = [];
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Largest group read into a reused buffer (LazyLog.spare): a larger one gets fresh memory, not kept past its load. */
const SPARE_MAX = 16 << 20;
/** A SPAN payload's page count (its u32 after ino, index and pfn). */
const SPAN_COUNT_AT = 24;
/** Stream bytes LazyLog.crcsAt reads at once: a file's next SPANs' page crcs with the one asked for. */
const AHEAD_BYTES = 256 << 10;
/** Group and SPAN reads through a list of their own pages before the log's page list is made (LazyLog.pagesOf). */
const SPARSE_READS = 64;

export class LazyLog {
  /** Groups read so far (each at most once). */
  private readonly loaded = new Set<number>();
  private crcs = new SpanCrcs();
  /** Nodes of the compaction not loaded yet (statfs counts them). */
  unloaded: number;

  constructor(private readonly mem: PhysMem, readonly index: GroupIndex, readonly cursor: LazyCursor, readonly dataPages: number,
    /** The groups the records after the RUNS touched, replayed with them (tail.ts; those of one group wait for its load), or null: nothing follows the RUNS. */
    readonly tail: TailOverlay | null = null, crcs?: SpanCrcs) {
    if (crcs) this.crcs = crcs;
    this.crcs.later = (pos, count, keep) => this.crcsAt(pos, count, keep);
    this.unloaded = index.locate.nodes - (tail ? tail.before.nodes - tail.after.nodes : 0);
    for (const d of tail?.deferred.values() ?? []) this.unloaded += d.nodes;
    this.checked = new Uint8Array(cursor.log.length);
    for (const dir of tail?.gone ?? []) this.loaded.add(dir);       // removed by the tail: nothing to load
  }

  get logId(): number { return this.cursor.logId; }
  /** Stream bytes up to the end of the index's RUNS: what follows is the tail. */
  get indexEnd(): number { const l = this.index.locate; return l.indexPos + l.indexBytes + l.runsBytes; }
  /** Every inode number the compaction used is at most this. */
  get maxIno(): number { return this.tail?.maxIno ?? this.index.locate.maxIno; }
  /** Every group loaded. */
  get done(): boolean { return this.loaded.size === this.index.dirs.size + (this.tail?.fresh.length ?? 0); }

  isDir(ino: number): boolean {
    const t = this.tail?.state.nodes.get(ino);
    if (t) return (t.rec.mode & S_IFMT) === S_IFDIR;
    return this.index.dirs.has(ino) && !this.tail?.gone.has(ino);
  }
  isLoaded(dir: number): boolean { return this.loaded.has(dir); }

  /** The directory whose group holds node `ino` (a directory: its own; a linked node: its home), or 0 when no group does. */
  groupOf(ino: number): number {
    const f = this.tail?.deferredFresh.get(ino);
    if (f !== undefined) return f;
    const t = this.tail?.home.get(ino);
    if (t !== undefined) return this.tail!.also.has(ino) || t === ino ? t : 0;
    if (this.index.dirs.has(ino)) return ino;
    return this.index.links.get(ino) ?? 0;
  }

  /**
   * The directory whose group holds grouped node `ino`'s records, any node (HOMES, minor 3), or 0: not
   * a grouped node, or a log written before HOMES (a later commit's records are placed by it).
   */
  homeOf(ino: number): number {
    if (this.index.dirs.has(ino)) return ino;
    return this.index.links.get(ino) ?? (this.index.runs ? homeOf(this.index.runs.homes, ino) : 0);
  }

  /** The directory naming grouped directory `dir` (HOMES; the root and nameless ones: itself), or 0 without HOMES. */
  parentOf(dir: number): number {
    return this.tail?.parent.get(dir) ?? (this.index.runs ? homeOf(this.index.runs.homes, dir) : 0);
  }

  /** The other directories naming linked node `ino` (minor 3). */
  namedIn(ino: number): readonly number[] {
    if (this.tail?.home.has(ino)) return this.tail.also.get(ino) ?? NONE;
    return this.index.namedIn.get(ino) ?? NONE;
  }

  /** Directories in the order their groups were written (breadth first from the root: a parent before its children), then those the tail made. */
  *dirs(): IterableIterator<number> {
    yield* this.index.dirs.keys();
    if (this.tail) yield* this.tail.fresh;
  }

  /** A group the tail touched or made, as the tail left it. */
  private loadTail(dir: number, ctx: AdoptContext, lose: (l: Loss) => void, pathOf: (ino: number) => string): LoadedGroup {
    const t = this.tail!, none = ctx.newPageMap(), tally = { dataPages: 0 }, nodes: NodeImage[] = [];
    for (const ino of [dir, ...(t.members.get(dir) ?? [])]) {
      const rn = t.state.nodes.get(ino);
      if (!rn) continue;
      const path = () => (ino === dir ? pathOf(dir) : `${pathOf(dir)}/(ino ${ino})`);
      nodes.push(adoptNode(ctx, ino, rn, undefined, none, this.crcs, tally, (what, pfn = null, range) => lose(range ? { path: path(), pfn, what, range } : { path: path(), pfn, what }), t.spans.get(ino)));
    }
    this.unloaded -= nodes.length;
    this.settleAtimes(nodes, lose);
    const names = [...(t.state.names.get(dir) ?? [])].map(([name, ino]) => ({ name, ino }));
    return { nodes, names, damaged: false };
  }

  /**
   * The group of directory `dir`, read, checked and adopted (null when loaded before);
   * a group that fails its checks is a string saying why.
   */
  loadGroup(dir: number, ctx: AdoptContext, lose: (l: Loss) => void, pathOf: (ino: number) => string): LoadedGroup | string | null {
    if (this.loaded.has(dir)) return null;
    if (this.tail && (this.tail.touched.has(dir) || this.tail.fresh.includes(dir))) { this.loaded.add(dir); return this.loadTail(dir, ctx, lose, pathOf); }
    const e = this.index.dirs.get(dir);
    if (!e) return `no group for directory ${dir}`;
    this.loaded.add(dir);
    let damaged = false;
    const told = lose;
    lose = (l) => { damaged = true; told(l); };
    const deferred = this.tail?.deferred.get(dir);
    const g = this.readChecked(dir, e, lose, pathOf, deferred !== undefined);
    if (typeof g === 'string') return g;
    if (deferred) return this.loadDeferred(dir, g, deferred, ctx, lose, pathOf, () => damaged);
    // Only nodes with page records are replayed (their runs and spans), but those with SPANs only, in order (a large
    // file: 256 a GiB), which adopt straight from them; the rest adopt straight from their INODE record.
    const { direct, rest } = spansInOrder(g.pages, g.nodes);
    const paged = new Map<number, InodeRecord>();
    for (const p of rest) { const ino = (p as { r: { ino: number } }).r.ino; if (!paged.has(ino)) paged.set(ino, g.nodes.get(ino)!); }   // MAP and SPAN records only
    const st: ReplayState = { nodes: new Map(), names: new Map() };
    replayGroup({ dir: null, nodes: paged, names: [], pages: rest }, dir, st, this.crcs, false);
    const has = (ino: number) => g.nodes.has(ino) || (ino === dir && g.dir !== null);
    // A name of a node whose INODE record was lost (a directory's or a linked node's is in another group).
    const kept = (n: { ino: number }) => has(n.ino) || this.index.dirs.has(n.ino) || (this.index.links.get(n.ino) ?? dir) !== dir;
    const names = g.names.every(kept) ? g.names : g.names.filter((n) => {
      if (kept(n)) return true;
      const base = pathOf(dir);
      lose({ path: `${base === '/' ? '' : base}/${n.name}`, pfn: null, what: `name names ino ${n.ino}, whose INODE record was lost: dropped` });
      return false;
    });
    const none = ctx.newPageMap();
    const tally = { dataPages: 0 };
    const nodes: NodeImage[] = [];
    // One loss function for the group (a closure per node costs at 10^4 nodes); `at` is the node being adopted.
    let at = dir;
    const loseNode = (what: string, pfn: number | null = null, range?: { start: number; end: number }) => {
      const path = at === dir ? pathOf(dir) : `${pathOf(dir)}/(ino ${at})`;
      lose(range ? { path, pfn, what, range } : { path, pfn, what });
    };
    // A node without page records: one ReplayNode for them all, its rec set per node (adoptNode keeps none of it).
    const bare: ReplayNode = { rec: null as unknown as InodeRecord, groups: null, blocks: null, poison: null, names: null };
    const adopt = (ino: number, rec: InodeRecord) => {
      at = ino;
      const rn = st.nodes.get(ino) ?? (bare.rec = rec, bare);
      nodes.push(adoptNode(ctx, ino, rn, undefined, none, this.crcs, tally, loseNode, direct.get(ino)));
    };
    if (g.dir && !g.nodes.has(dir)) adopt(dir, g.dir);     // (a second INODE of the directory in its group: the later one, as a replay)
    for (const [ino, rec] of g.nodes) adopt(ino, rec);
    this.unloaded -= nodes.length;
    this.settleAtimes(nodes, lose);
    return { nodes, names, damaged };
  }

  private pagesReader: PagesReader | null = null;

  /** The atimes the tail's ATIMES records give the nodes just adopted (tailatimes.ts: a later INODE record of a node wins). */
  private settleAtimes(nodes: NodeImage[], lose: (l: Loss) => void): void {
    const a = this.tail?.atimes;
    if (!a || nodes.length === 0) return;
    let lo = Infinity, hi = -Infinity;
    for (const n of nodes) { if (n.ino < lo) lo = n.ino; if (n.ino > hi) hi = n.ino; }
    // A malformed record (its inos out of order: a full replay skips it as damage) costs its atimes, as there.
    const of = a.within(lo, hi, (at, n, what) => {
      const { pfn, off } = this.at(this.indexEnd + at);
      lose(atimesLost(pfn, off, what, n));
    }, this.pagesReader ??= pagesReader(this.mem));
    for (const n of nodes) {
      const t = of(n.ino);
      if (t !== undefined) n.atimeNs = t;
    }
  }

  /**
   * The buffer groups are read into, reused (fresh memory costs a fault per page first touched: a 2.5 MB group's new
   * huge mapping took 10-36 ms under memory pressure, a pread into a reused one 0.5 ms). What a load hands fs/ may
   * point into it (inline bytes: snapshot.ts loadInline copies them before any other group loads).
   */
  private spare: Buffer | null = null;

  /** Group `e` of directory `dir` read from the log, its pages' headers checked, salvaged when it does not check whole (each loss to `lose`); a string: unreadable. */
  private readChecked(dir: number, e: IndexEntry, lose: (l: Loss) => void, pathOf: (ino: number) => string, deferred: boolean) {
    // The group's pages are read once: their headers and next pointers are checked from the same copy.
    const check = { logId: this.logId, exact: (seq: number, page: Buffer, sum?: number) => this.checkPage(seq, page, lose, sum) };
    // A group of large files' SPANs: read without their page crcs, read when each file is adopted (crcsAt below).
    const thin = this.index.runs ? readGroupThin(this.mem, this.pagesOf(e.pos, e.bytes), e, this.logId, this.index.runs.homes, check) : null;
    if (thin) return thin;
    const need = streamPagesBytes(this.mem.pageSize, e.pos, e.bytes), kept = this.spare;
    this.spare = null;
    const into = need > SPARE_MAX ? null : kept && kept.length >= need ? kept : fresh(Math.min(SPARE_MAX, Math.max(need, 2 * (kept?.length ?? 0))));
    const pages = this.pagesOf(e.pos, e.bytes);
    const raw = streamBytes(this.mem, pages, e.pos, e.bytes, check, into ?? undefined);
    const read = readGroup(this.mem, pages, e, this.logId, raw);
    // Kept for the next load unless views into it outlive this one (a SPAN's page crcs, a deferred group's records), or none is left.
    if (into && !deferred && !this.done && (typeof read === 'string' || !read.pages.some((p) => p.type === RecordType.Span))) this.spare = into;
    const g = typeof read === 'string' ? salvageGroup(this.mem, pages, e, this.logId) : read;
    if (g === null) return read as string;
    if ('lost' in g) for (const l of g.lost) {
      const { pfn, off } = this.at(l.pos);
      lose({ path: null, pfn, what: `log record at pfn:${pfn.toString(16)} offset ${off} (${RECORD_NAMES[l.type] ?? 'record'} in the group of directory ${pathOf(dir)}) ${l.why}: skipped` });
    }
    // As the replay: a SPAN whose page crcs were damaged stays; only the page whose crc changed fails its check.
    for (const p of g.pages) {
      if (p.type !== RecordType.Span || !p.r.crcsDamage) continue;
      lose(this.crcsLoss(g.spanDamage.get(p)!, p.r, p.r.crcsDamage!));
    }
    return g;
  }

  /** The loss of a SPAN whose page crcs fail their own crc (its record at stream place `pos`): the SPAN stays, only a page whose crc changed fails. */
  private crcsLoss(pos: number, r: SpanHead, d: { saved: number; computed: number }): Loss {
    const where = this.at(pos);
    return { path: null, pfn: where.pfn, what: `log record at pfn:${where.pfn.toString(16)} offset ${where.off}: the page crcs of the SPAN of ino ${r.ino}, pages ${r.index}-${r.index + r.count - 1}, ` +
      `failed crc32c (saved 0x${d.saved.toString(16)}, computed 0x${d.computed.toString(16)}): a page whose crc changed fails its check when verified and reads EIO` };
  }

  /**
   * Where a loss found after the load goes (LazyMount: a late loss): a thin SPAN's page crcs are read when its
   * file is adopted (groupthin.ts), so their damage, and that of a log page only they lie in, is found then.
   */
  lateLoss: (l: Loss) => void = (l) => this.early.push(l);
  /** Late losses found before the lazy mount took the log (none in a mount: adoption waits for fs/): its to take. */
  readonly early: Loss[] = [];

  /**
   * The page crcs of the thin SPAN whose record is at stream place `pos` (SpanCrcs.later), read now (its file's
   * adoption), their own crc checked: damaged, a late loss saying so exactly as a group's load says it, and the
   * crcs as read (only a page whose crc changed then fails its check). The log pages read have their headers checked.
   * `keep` false: a view of a scratch, valid until the next call (adoption copies them into the frames at once; a
   * file of 12 GiB read first: 768 SPANs, each fresh array's first touches cost more than the read).
   */
  private crcsAt(pos: number, count: number, keep: boolean): Uint32Array {
    const n = SPAN_FIXED + 4 * count, b = this.readAhead(pos + RECORD_HEADER, n);
    // Its fields were checked at its group's load (decoded again only to say a damage: a cold decode a SPAN cost ~10 us).
    if (u32(b, SPAN_COUNT_AT) !== count) assert(false, 'a thin SPAN\'s fields checked at its group\'s load');
    const d = spanCrcsDamage(b, 0, count);
    // Read again (another file's crcs read between two pieces of its span), a damage is told once.
    if (d && !this.told.has(pos)) {
      const head: SpanHead = { ino: 0, index: 0, pfn: 0, count: 0, flags: 0 };
      if (decodeSpanInto(b, 0, n, head) !== null || head.count !== count) assert(false, 'a thin SPAN\'s fields checked at its group\'s load');
      this.told.add(pos);
      this.lateLoss(this.crcsLoss(pos, head, d));
    }
    // Not kept: a view of the window where they lie aligned (it is read again only by a later call), no copy.
    if (LITTLE && !keep && (b.byteOffset + SPAN_FIXED) % 4 === 0) return new Uint32Array(b.buffer, b.byteOffset + SPAN_FIXED, count);
    const crcs = keep ? new Uint32Array(count) : this.crcsScratch.subarray(0, count);
    if (LITTLE) new Uint8Array(crcs.buffer, crcs.byteOffset, 4 * count).set(b.subarray(SPAN_FIXED, n));
    else for (let k = 0; k < count; k++) crcs[k] = u32(b, SPAN_FIXED + 4 * k);
    return crcs;
  }
  /**
   * Stream bytes [at, at + n) of the groups (before the index: never written again), out of a window read ahead
   * of them: a file's SPANs lie one after another, so its adoption reads 256 KiB at once, not 16 KiB a SPAN
   * (4 GiB adopted: 256 reads of a SPAN's crcs cost ~5 ms). The window's log pages have their headers checked.
   */
  private readAhead(at: number, n: number): Buffer {
    const w = this.window;
    if (w.bytes === null || at < w.pos || at + n > w.pos + w.bytes.length) {
      const len = Math.max(n, Math.min(AHEAD_BYTES, this.index.locate.indexPos - at)), lose = this.lateLoss;
      const need = streamPagesBytes(this.mem.pageSize, at, len);
      if (this.crcsPages.length < need) this.crcsPages = Buffer.allocUnsafeSlow(need);
      w.bytes = streamBytes(this.mem, this.pagesOf(at, len), at, len, { logId: this.logId, exact: (seq, page, sum) => this.checkPage(seq, page, lose, sum) }, this.crcsPages);
      w.pos = at;
      if (!w.bytes) assert(false, 'a thin SPAN lies in the log pages its group was read from');
    }
    return w.bytes!.subarray(at - w.pos, at - w.pos + n);
  }
  private readonly window: { pos: number; bytes: Buffer | null } = { pos: 0, bytes: null };
  /** readAhead's log pages as read, and crcsAt's crcs handed out as a view: kept across calls. */
  private crcsPages = Buffer.alloc(0);
  private readonly crcsScratch = new Uint32Array(SPAN_BLOCK);
  /** Stream places of the thin SPANs whose damaged crcs were told (crcsAt). */
  private readonly told = new Set<number>();

  /** A group whose tail records waited for its load: replayed, the records applied (tail.ts replayDeferred), adopted as the tail left it. */
  private loadDeferred(dir: number, g: Parameters<typeof replayDeferred>[0], d: DeferredGroup,
    ctx: AdoptContext, lose: (l: Loss) => void, pathOf: (ino: number) => string, damaged: () => boolean): LoadedGroup | string {
    // A subdirectory's name is priced here, not with its group: a deferred record may only remove one (the subdirectory
    // moved or removed by the eager part, which prices its new name and nothing of the old one).
    const r = replayDeferred(g, dir, d, this.crcs, (ino) => this.index.dirs.has(ino) ? 0 : this.homeOf(ino),
      (type, ino) => lose({ path: pathOf(dir), pfn: null, what: `a ${type} of ino ${ino} in the tail, which has no INODE: its pages dropped` }));
    if (r.logMapped.length) return `its tail records leave pfn:${r.logMapped[0]!.toString(16)} mapped, a page a later commit's log holds`;
    if (r.foreign.length) return `its tail records map pfn:${r.foreign[0]!.toString(16)}, a page the compaction lists that the group did not hold`;
    const st = r.st, none = ctx.newPageMap(), tally = { dataPages: 0 }, nodes: NodeImage[] = [];
    let at = dir;
    const loseNode = (what: string, pfn: number | null = null, range?: { start: number; end: number }) => {
      const path = at === dir ? pathOf(dir) : `${pathOf(dir)}/(ino ${at})`;
      lose(range ? { path, pfn, what, range } : { path, pfn, what });
    };
    const adopt = (ino: number) => { at = ino; nodes.push(adoptNode(ctx, ino, st.nodes.get(ino)!, undefined, none, this.crcs, tally, loseNode)); };
    if (st.nodes.has(dir)) adopt(dir);
    for (const ino of st.nodes.keys()) if (ino !== dir) adopt(ino);
    this.unloaded -= r.nodesBefore + d.nodes;
    this.settleAtimes(nodes, lose);
    const kept = (ino: number) => st.nodes.has(ino) || this.index.dirs.has(ino) || (this.index.links.get(ino) ?? dir) !== dir;
    const names: { name: string; ino: number }[] = [];
    for (const [name, ino] of st.names.get(dir) ?? []) {
      if (kept(ino)) { names.push({ name, ino }); continue; }
      const base = pathOf(dir);
      lose({ path: `${base === '/' ? '' : base}/${name}`, pfn: null, what: `name names ino ${ino}, whose INODE record was lost: dropped` });
    }
    return { nodes, names, damaged: damaged(), settle: { freed: r.freed, bytes: r.bytes, inline: r.inline } };
  }

  /** Stream position -> the log page holding it and the offset in that page. */
  private at(pos: number): { pfn: number; off: number } {
    const per = logPayload(this.mem.pageSize);
    return { pfn: this.cursor.log.at(Math.floor(pos / per))!, off: LOG_HEADER + (pos % per) };
  }

  /**
   * The log's pages as a list holding those of stream bytes [pos, pos + n) (logpages.ts): the page list is not made
   * at mount, so the first loads read through a list of their own pages; past SPARSE_READS of them it is made.
   */
  private pagesOf(pos: number, n: number): readonly number[] {
    const log = this.cursor.log;
    if (log.made || ++this.sparseReads > SPARSE_READS) return log.all();
    const per = logPayload(this.mem.pageSize);
    return log.span(Math.floor(pos / per), Math.floor((pos + Math.max(n, 1) - 1) / per));
  }
  private sparseReads = 0;

  /**
   * The header and next pointer of log page `seq` (its bytes as read for a group), each page once:
   * the lazy boot did not walk them. Their records are read and checked all the same (the index
   * named the pages), so a damaged header or pointer loses nothing; it is reported, and the next
   * commit writes a fresh log.
   */
  private checkPage(seq: number, page: Buffer, lose: (l: Loss) => void, headerCrc?: number): void {
    const pages = this.cursor.log;
    if (this.checked[seq] || seq >= pages.length) return;
    this.checked[seq] = 1;
    const pfn = pages.at(seq)!, h = headerCrc === undefined ? readLogHeader(page) : readLogHeader(page, headerCrc);
    const bad = typeof h === 'string' ? `a damaged header (${h})` : h.logId !== this.logId || h.seq !== seq ? `a header of another log or place (log id ${h.logId}, seq ${h.seq})`
      : seq + 1 < pages.length && Number(readNext(page)) !== pages.at(seq + 1) ? 'a damaged next pointer' : null;
    if (bad) lose({ path: null, pfn, what: `log page ${seq} pfn:${pfn.toString(16)} has ${bad}: the index names its place, its records are read and checked as they are (nothing of it is lost)` });
  }
  private checked = new Uint8Array(0);
}
