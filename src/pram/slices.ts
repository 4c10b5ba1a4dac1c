// The v3 engine's work between commits, in bounded slices (issue 13: the event
// loop never stalls). Two kinds, both driven by the caller (fs/ Volume.background,
// scheduled by the library between requests), neither ever needed for safety:
//
// - settling (settler.ts): data pages written since their checksum get it now, a
//   few at a time, so the commit that names them only encodes records. A write
//   after that makes the page Dirty again (Pram.writable), so nothing goes stale.
// - a compaction in slices: a fresh log is written node by node after the
//   records the committed log holds, while commits keep appending to that log.
//   Nothing reaches the fresh log until its last step — one commit that appends
//   the records of everything changed since the compaction began (as an append
//   would: DROP, INODE, NAME, UNMAP + MAP of changed groups) and publishes it in
//   the header slot. A kill before that leaves the fresh log's pages unnamed by
//   any slot: free at the next mount (replay reserves only what the slot's log
//   names).
//
// Every record of the fresh log carries its log id as generation; those of the last
// step are no compaction's (the snapshot is no commit's state): PUBLISHED ends them,
// LOCATE and RUNS TOTALS say "in slices" (v3 minor 5), and damage there loads the commit before (replay.ts).

import type { PhysMem } from '../mem/physmem.js';
import { GROUP_PAGES } from '../format/v3.js';
import type { ChangeSet, NodeImage, PageMap } from './image.js';
import type { LiveLog } from './live.js';
import type { LogCursor } from './log.js';
import { changeRecords, Emitter, type Emitted, type RecordContext } from './records.js';
import { IndexBuilder, setLocate } from './indexes.js';
import { LOCATE_SLICED, LOG_HEADER, LOG_NEXT, putPublished, type LocateRecord } from '../format/v3.js';
import { PUBLISHED_BYTES } from './logstream.js';
import type { Settler } from './settler.js';
import { PfnRuns } from './pageruns.js';

/** 32-page groups a slice writes (≤ 128 MAP records) before it looks at the clock again. */
const CLOCK_EVERY = 4;
/** A directory's NAMEs a slice writes before it looks at the clock again (a directory of 10^4 names spans slices). */
const NAMES_EVERY = 256;

/**
 * One node for a compaction slice: its image (names unused) and, for a directory, the names it holds.
 * group (v3 minor 2, indexes.ts): 'dir' begins the group of this directory; 'member' belongs to the
 * group open (linked: it has names in other directories too); 'rest' (and anything after it) comes after the index, ungrouped.
 * parent ('dir'): its HOMES entry, the directory whose names, written before, hold it (none: itself, as older code wrote).
 */
export interface SliceNode { node: NodeImage; names: readonly ChangeSet['names'][number][]; group?: 'dir' | 'member' | 'rest'; linked?: boolean; parent?: number }
/** The walk of a compaction in slices: the next node, null after the last, undefined for "not in this slice" (its own slice next). */
export type NextSliceNode = () => SliceNode | null | undefined;

/** A fresh log being written in slices; published by finish(), or given back by abandon(). */
export class SlicedCompaction {
  private cur: SliceNode | null = null;
  private at = 0;                      // next page index of cur to write
  private nameAt = 0;                  // next of cur's names to write
  private done = false;
  private e: Emitter | null = null;    // reused from slice to slice
  private readonly ix: IndexBuilder;
  private grouping: 'none' | 'open' | 'between' | 'done' = 'none';
  private locate: LocateRecord | null = null;
  // Data pages the groups map, as written (minor 3 RUNS): a snapshot over slices, not the tree at publish
  // (a page one node let go and another took before a later slice is listed twice: normal runs list it once).
  private readonly data = new PfnRuns();
  private pageSize = 0;
  /** Linked member nodes: their home, then each later directory of the walk naming them. */
  private readonly linked = new Map<number, number[]>();

  private constructor(private readonly live: LiveLog, private readonly fresh: LogCursor) {
    this.ix = new IndexBuilder(live.writer);
  }

  /** A fresh log with this id (its head page taken), or -ENOSPC. */
  static begin(live: LiveLog, logId: number): SlicedCompaction | number {
    const fresh = live.writer.begin(logId);
    return typeof fresh === 'number' ? fresh : new SlicedCompaction(live, fresh);
  }

  get logId(): number { return this.fresh.logId; }
  /** Pages the fresh log holds (taken from the compaction's reserve in the ledger). */
  get pages(): number { return this.fresh.pages.length; }
  /** Every node was written: the next step is finish(). */
  get sliced(): boolean { return this.done; }

  /**
   * Writes nodes (from `next`, null when there are none left, undefined when the
   * next one wants a slice of its own: a large file's adoption) until `until`;
   * a node's pages may span slices (a group at a time). 0 or -ENOSPC.
   */
  slice(next: NextSliceNode, ctx: RecordContext, until: number): number {
    const e = this.emitter(ctx);
    while (!this.done) {
      if (!this.cur) {
        const n = next();
        if (n === undefined) break;
        this.cur = n;
        this.at = 0;
        this.grouped(e, this.cur);
        if (!this.cur) { this.done = true; break; }
        this.nameAt = 0;
        e.inode(this.cur.node, this.cur.node.pages.count);
      }
      if (this.names(e, until) && this.groups(e, until)) this.cur = null;
      if (performance.now() >= until) break;
    }
    e.flush();                         // a SPAN being gathered ends with the slice's session
    return this.live.closeFresh();
  }

  /** The last step: the records of what changed since the compaction began, then the fresh log is published. */
  finish(changes: ChangeSet, ctx: RecordContext, generation: number, mem: PhysMem): { e: Emitted; head: number; newPages: number[]; oldPages: number[] } | number {
    const first = this.fresh.bytes, w = this.live.writer;
    const e = changeRecords(changes, this.emitter(ctx));
    // v3 minor 5: PUBLISHED ends this step (its records are no compaction's: a reader must know where they end); then the
    // step again, byte for byte, and a second PUBLISHED: a record damaged in one copy is read from the other (replay.ts).
    // The first PUBLISHED is padded with zeros to its page's end: the copy begins a page of its own, so bit flips in one
    // page (or a damaged record's resync to the next page) reach one copy only.
    const bytes = w.streamPos - first, per = mem.pageSize - LOG_HEADER - LOG_NEXT;
    const pad = (per - (w.streamPos + PUBLISHED_BYTES) % per) % per, second = w.streamPos + PUBLISHED_BYTES + pad;
    putPublished(w, { generation, first, second, bytes, copy: 0, pad }, this.logId);
    w.copy(first, first + bytes);
    putPublished(w, { generation, first, second, bytes, copy: 1, pad: 0 }, this.logId);
    const r = this.live.closeFresh();
    if (r < 0) return r;
    if (this.locate) setLocate(mem, this.fresh, this.locate, LOCATE_SLICED);   // not published yet: LOCATE is set before the slot names the log
    return { e, ...this.live.publishFresh(this.fresh, generation, e) };
  }

  /**
   * The index follows the walk (v3 minor 2): LOCATE first, a group per 'dir'
   * node with the 'member' nodes after it, the INDEX records at the first
   * 'rest' node or the walk's end. A walk that gives no roles writes none.
   */
  private grouped(e: Emitter, n: SliceNode | null): void {
    if (this.grouping === 'none') {
      if (n?.group !== 'dir' || this.fresh.bytes !== 0 || this.live.writer.streamPos !== 0) { this.grouping = 'done'; return; }
      this.ix.begin(this.live.writer, this.logId);
      this.grouping = 'between';
    }
    if (this.grouping === 'done') return;
    if (n && n.group === 'member' && this.grouping === 'open') {
      this.ix.node(n.node);
      if (n.linked) this.linked.set(n.node.ino, [this.dir]);
      return;
    }
    if (this.grouping === 'open') this.ix.close(e);
    if (n && n.group === 'dir') {
      this.dir = n.node.ino; this.ix.open(e, n.node.ino); this.ix.node(n.node, n.parent); this.ix.held(n.names); this.grouping = 'open';
      for (const nm of n.names) { const l = this.linked.get(nm.ino); if (l && !l.includes(nm.parent)) l.push(nm.parent); }
      return;
    }
    // Linked nodes once every group is written: each with its home and (minor 3) every other directory naming it.
    for (const [ino, [home, ...also]] of this.linked) this.ix.link(ino, home!, also);
    const w = this.live.writer;
    this.locate = this.ix.writeIndex(w, this.logId);
    // RUNS right after the index; 'rest' nodes and the last step's records follow it (a tail).
    this.ix.writeRuns(w, this.locate, this.data.normal(), this.pageSize, this.logId, LOCATE_SLICED);
    this.grouping = 'done';
  }
  private dir = 0;

  /** A data page a group maps (listed by the RUNS DATA records). */
  private mapped(pfn: number): void { this.data.add(pfn); }

  abandon(): void { this.live.drop(this.fresh); }

  /** The emitter, its records going after the fresh log's tail (every one carries the log id as generation). */
  private emitter(ctx: RecordContext): Emitter {
    this.e ??= new Emitter(ctx);
    this.pageSize = ctx.mem.pageSize;
    return this.e.reset(this.live.extendFresh(this.fresh), this.logId);
  }

  /**
   * cur's names from `nameAt` until the clock says stop; true when all are written.
   * Names of the directory as next() found it: a change since is the tracker's,
   * logged again by the last step after these (replay: the later record wins).
   */
  private names(e: Emitter, until: number): boolean {
    const names = this.cur!.names;
    while (this.nameAt < names.length) {
      const nm = names[this.nameAt++]!;
      e.name(nm.parent, nm.name, nm.ino);
      if (this.nameAt % NAMES_EVERY === 0 && this.nameAt < names.length && performance.now() >= until) return false;
    }
    return true;
  }

  /**
   * Groups of cur from `at` (a group's first index) until the clock says stop;
   * true when the node is done. A group's pages are read with get(), not an
   * iterator: a compaction of a 4 GiB file made an [index, pfn] pair per page
   * (2 M objects: scavenges inside the slices). Only an empty group asks the
   * map for its next present page (a hole is skipped whole).
   */
  private groups(e: Emitter, until: number): boolean {
    const n = this.cur!.node, pages = n.pages;
    for (let k = 1; ; k++) {
      const g = this.at;
      let any = false;
      for (let index = g; index < g + GROUP_PAGES; index++) {
        const pfn = pages.get(index);
        if (pfn) { e.page(index, pfn); any = true; if (this.grouping === 'open') this.mapped(pfn); }
      }
      if (any) { e.group(n.ino); this.at = g + GROUP_PAGES; } else {
        const next = firstFrom(pages, g);                 // past g: g holds none
        if (next < 0) return true;
        this.at = next - (next % GROUP_PAGES);
      }
      if (k % CLOCK_EVERY === 0 && performance.now() >= until) return false;
    }
  }
}

/** The first present index >= from, or -1: the map's own from() when it has one. */
function firstFrom(pages: PageMap, from: number): number {
  for (const [index] of pagesFrom(pages, from)) return index;
  return -1;
}

/** Present pages with index >= from, ascending: the map's own from() when it has one. */
function pagesFrom(pages: PageMap, from: number): Iterable<[number, number]> {
  const m = pages as PageMap & { from?(i: number): IterableIterator<[number, number]> };
  if (typeof m.from === 'function') return m.from(from);
  return (function* () { for (const e of pages.entries()) if (e[0] >= from) yield e; })();
}

/** What the engine lends the slices: its log, a record context, and the commit bookkeeping of a published compaction. */
export interface SlicesHost {
  live: LiveLog;
  generation(): number;
  ctx(): RecordContext;
  /** A fresh log was published as commit `generation`: free the old log, freeze what e named (Pram.published). */
  committed(generation: number, p: { head: number; newPages: number[]; oldPages: number[] }, e: Emitted): void;
}

/** The engine's background work: settling, and at most one compaction in slices. */
export class Slices {
  private compaction: SlicedCompaction | null = null;
  private gaveUp = -1;                 // generation at which a slice failed: not again before the next commit
  /**
   * A driver calls the fs's background() between requests (the library does):
   * a commit that finds the log due appends and leaves the compaction to slices.
   * Without one, a due compaction runs whole inside the commit (as before).
   */
  driven = false;

  constructor(private readonly host: SlicesHost, readonly settler: Settler | null) {}

  get compacting(): boolean { return this.compaction !== null; }
  /** Every node is in the fresh log: the next step is finish(). */
  get sliced(): boolean { return this.compaction?.sliced ?? false; }
  /** Pages the fresh log holds: part of the compaction's reserve, already taken. */
  get pages(): number { return this.compaction?.pages ?? 0; }

  /** A compaction in slices should begin now. */
  wanted(): boolean {
    const live = this.host.live;
    return this.driven && !this.compaction && live.cursor !== null && live.dueForCompaction() && this.gaveUp !== this.host.generation();
  }

  begin(): number {
    const c = SlicedCompaction.begin(this.host.live, this.host.generation() + 1);
    if (typeof c === 'number') return c;
    this.compaction = c;
    return 0;
  }

  /** One slice until `until`; on failure (-ENOSPC) the compaction is given up (a commit compacts whole when it must). */
  slice(next: NextSliceNode, until: number): number {
    const c = this.compaction!;
    const r = c.slice(next, this.host.ctx(), until);
    if (r < 0) { this.abandon(); this.gaveUp = this.host.generation(); }
    return r;
  }

  /** Publishes the fresh log with the records of `changes` (everything since begin()) as the next commit. */
  finish(changes: ChangeSet): number {
    const c = this.compaction!;
    const generation = this.host.generation() + 1;
    const done = c.finish(changes, this.host.ctx(), generation, this.host.ctx().mem);
    if (typeof done === 'number') { this.abandon(); this.gaveUp = this.host.generation(); return done; }
    this.compaction = null;
    this.host.committed(generation, done, done.e);
    return 0;
  }

  /** The fresh log's pages go back (nothing ever named them). */
  abandon(): void {
    this.compaction?.abandon();
    this.compaction = null;
  }
}
