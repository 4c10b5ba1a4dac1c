// The records of a v3 commit (docs/FORMAT.md §v3): from a change set (an
// append: DROP, INODE, NAME, then per changed 32-page group an UNMAP of the
// group and MAP runs of what it holds now) or from the whole tree (a
// compaction: INODE, NAMEs and MAP runs per node). Data pages named here get
// their checksum — only pages written since their last one; cached runs keep
// theirs — and are frozen once the commit is published. Lone pages at
// consecutive indexes and pfns become one SPAN record (4 bytes a page, each
// page its own checksum) instead of a MAP each. Records go straight into the
// log (a RecordOut, pram/log.ts); an Emitter is reused from commit to commit,
// so nothing is allocated per record or per page named.

import type { PhysMem } from '../mem/physmem.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import { assert } from '../format/assert.js';
import { crc32c } from '../format/crc.js';
import { encodeXattrs } from '../format/v2.js';
import { align8, ATIMES_ENTRY, ATIMES_MAX_ENTRIES, ATIMES_PAGES_MAX_ENTRIES, putAtimesPages, DROP_SIZE, GROUP_PAGES, inodeRecordBytes, MAP_LRU, nameRecordBytes, putDrop, putInode, putMap, putName, putAtimes, putSpan, putUnmap, RECORD_HEADER, SPAN_BLOCK,
  type RecordOut } from '../format/v3.js';
import type { ChangeSet, NodeImage } from './image.js';
import { runCsum, type Run } from './load.js';
import type { RunHeads } from './runheads.js';

export interface RecordContext {
  mem: PhysMem;
  frames: PageFrames;
  runs: Map<number, Run>;
  runHead: RunHeads;
  /** New runs of up to 32 pages (the arena's extents flag); false: a MAP per page (damage costs one page). */
  extents: boolean;
  /** Verify an unverified page (lazy load) now; afterwards its flags say Bad or not. */
  verify(pfn: number): void;
  /** false: a MAP per lone page, as before SPAN records (v3 minor 0: tests of the older encoding). */
  spans?: boolean;
  /**
   * Pages outside the log for an append's ATIMES_PAGES record (LogWriter.takeSide), null when none may be taken:
   * absent, atimes go inline (pram.ts gives a compaction in slices none: its last step is written twice, into a fresh log).
   */
  side?: (count: number) => number[] | null;
}

/** What a commit wrote: records, nodes, and the data pages they name (frozen once it is published). */
export interface Emitted {
  readonly records: number;
  readonly nodes: number;
  freezeNamed(): void;
}

const EMPTY = new Uint8Array(0);
const HOST_LE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export class Emitter implements Emitted {
  records = 0;
  nodes = 0;
  private out: RecordOut | null = null;
  private generation = 0;
  // Runs named (pfn, count pairs), the group being gathered (index, pfn), changed groups: kept across commits.
  private namedRuns = new Float64Array(64);
  private nNamed = 0;
  private readonly gIndex = new Float64Array(GROUP_PAGES);
  private readonly gPfn = new Float64Array(GROUP_PAGES);
  private gLen = 0;
  private changed = new Float64Array(16);
  // Lone pages being gathered into one SPAN: ino, first index and pfn, pages, LRU flag; their crcs.
  private readonly span = { ino: 0, index: 0, pfn: 0, count: 0, flags: 0 };
  private spanCrcs: Uint32Array | null = null;

  constructor(readonly ctx: RecordContext) {}

  /** Start over: the next records go to `out` as those of commit `generation`. */
  reset(out: RecordOut, generation: number): this {
    this.out = out; this.generation = generation;
    this.records = 0; this.nodes = 0; this.nNamed = 0; this.gLen = 0; this.span.count = 0;
    return this;
  }

  /** Writes the SPAN being gathered: due before the writer's session closes (treeRecords and changeRecords end with it). */
  flush(): void {
    const s = this.span;
    if (s.count === 0) return;
    this.records++;
    // One page is a MAP (as short), more a SPAN.
    if (s.count === 1) putMap(this.out!, s.ino, s.index, s.pfn, 1, this.spanCrcs![0]!, s.flags, this.generation);
    else putSpan(this.out!, s.ino, s.index, s.pfn, s.count, s.flags, this.spanCrcs!, this.generation);
    s.count = 0;
  }

  inode(n: NodeImage, pages: number): void {
    this.flush();
    this.nodes++; this.records++;
    putInode(this.out!, n, n.xattrs.length ? encodeXattrs(n.xattrs) : EMPTY, n.inline ?? EMPTY, pages, this.generation);
  }

  /**
   * The atime-only changes (ascending inos): at least a page of entries in pages of their own, each up to
   * ATIMES_PAGES_MAX_ENTRIES named by an ATIMES_PAGES record (v3 minor 6: a lazy mount reserves them unread);
   * fewer, or no page to take, as ATIMES records of at most ATIMES_MAX_ENTRIES each.
   */
  atimes(a: { inos: Float64Array; times: BigUint64Array }): void {
    this.flush();
    const n = a.inos.length, per = this.ctx.mem.pageSize / ATIMES_ENTRY;
    let k = 0;
    while (this.ctx.side && n - k >= per) {
      const to = Math.min(n, k + ATIMES_PAGES_MAX_ENTRIES);
      if (!this.paged(a, k, to)) break;
      k = to;
    }
    for (; k < n; k += ATIMES_MAX_ENTRIES) {
      this.records++;
      putAtimes(this.out!, a.inos, a.times, k, Math.min(n, k + ATIMES_MAX_ENTRIES), this.generation);
    }
  }

  /** Entries [from, to) written over pages taken for them, then the ATIMES_PAGES record naming them; false: no pages. */
  private paged(a: { inos: Float64Array; times: BigUint64Array }, from: number, to: number): boolean {
    const mem = this.ctx.mem, per = mem.pageSize / ATIMES_ENTRY, count = Math.ceil((to - from) / per);
    const pages = this.ctx.side!(count);
    if (!pages) return false;
    // The entries as words (ino low, high; atime low, high), as an ATIMES record lays them out: no Buffer call per entry.
    const words = new Uint32Array(4 * count * per), t = new Uint32Array(a.times.buffer, a.times.byteOffset, 2 * a.times.length);
    for (let k = from, w = 0; k < to; k++, w += 4) {
      if (!(k === from || a.inos[k]! > a.inos[k - 1]!)) assert(false, 'ATIMES inos ascending');
      const ino = a.inos[k]!;
      words[w] = ino >>> 0; words[w + 1] = (ino - (ino >>> 0)) / 2 ** 32; words[w + 2] = t[2 * k]!; words[w + 3] = t[2 * k + 1]!;
    }
    if (!HOST_LE) assert(false, 'a little-endian host');
    const bytes = new Uint8Array(words.buffer), crcs = new Uint32Array(count), firsts = new Float64Array(count), runs: number[] = [];
    for (let j = 0; j < count; j++) {
      const page = mem.page(pages[j]!), src = bytes.subarray(j * mem.pageSize, (j + 1) * mem.pageSize);
      page.set(src);
      crcs[j] = crc32c(src);
      firsts[j] = a.inos[from + j * per]!;
      const r = runs.length - 2;
      if (r >= 0 && runs[r]! + runs[r + 1]! === pages[j]) runs[r + 1]!++;
      else runs.push(pages[j]!, 1);
    }
    this.records++;
    putAtimesPages(this.out!, to - from, a.inos[from]!, a.inos[to - 1]!, runs, firsts, crcs, this.generation);
    return true;
  }

  drop(ino: number): void { this.flush(); this.records++; putDrop(this.out!, ino, this.generation); }

  name(parent: number, name: string, ino: number): void { this.flush(); this.records++; putName(this.out!, parent, ino, name, this.generation); }

  unmap(ino: number, index: number, count: number): void { this.flush(); this.records++; putUnmap(this.out!, ino, index, count, this.generation); }

  /** A present page of the group being gathered (ascending, all inside one 32-page group). */
  page(index: number, pfn: number): void {
    if (!(this.gLen < GROUP_PAGES)) assert(false, 'a group holds 32 pages');
    this.gIndex[this.gLen] = index; this.gPfn[this.gLen] = pfn; this.gLen++;
  }

  /**
   * MAP runs for the group gathered: a cached run as it was, pages written since
   * their checksum as new runs, any other page alone with the checksum it has (a
   * damaged page keeps one that cannot match it, so the damage stays visible).
   */
  group(ino: number): void {
    const { frames, runs, runHead, mem } = this.ctx;
    const idx = this.gIndex, pfns = this.gPfn, len = this.gLen;
    this.gLen = 0;
    let k = 0;
    while (k < len) {
      const index = idx[k]!, pfn = pfns[k]!;
      const cached = runHead.isHead(pfn) ? runs.get(pfn) : undefined;
      if (cached && this.contiguous(k, len, cached.count)) {
        this.map(ino, index, pfn, cached.count, cached.csum);
        k += cached.count;
        continue;
      }
      // A run not logged whole any more: verified first (its checksum is the only one its pages have), then
      // forgotten; its members are Dirty (no checksum of their own) and get new runs below.
      if (runHead.headOf(pfn) >= 0) { this.ctx.verify(pfn); this.forget(pfn); }
      let f = frames.flags[pfn]!;
      if (f & PageFlag.Unverified && f & PageFlag.Dirty) { this.ctx.verify(pfn); f = frames.flags[pfn]!; }
      if (f & PageFlag.Bad || !(f & PageFlag.Dirty)) {
        const csum = f & PageFlag.Bad && f & PageFlag.Dirty ? (~crc32c(mem.page(pfn))) >>> 0 : frames.csum[pfn]!;
        this.map(ino, index, pfn, 1, csum);
        k++;
        continue;
      }
      // Pages written since their checksum, physically contiguous: one new run.
      let n = 1;
      while (this.ctx.extents && k + n < len && idx[k + n] === index + n && pfns[k + n] === pfn + n) {
        const q = pfn + n;
        if (runHead.headOf(q) >= 0 || (frames.flags[q]! & (PageFlag.Dirty | PageFlag.Bad | PageFlag.Unverified)) !== PageFlag.Dirty) break;
        n++;
      }
      if (n === 1) {
        const csum = runCsum(mem, pfn, 1);
        frames.csum[pfn] = csum;
        frames.flags[pfn] = f & ~PageFlag.Dirty;
        this.map(ino, index, pfn, 1, csum);
      } else {
        const csum = runCsum(mem, pfn, n);
        runs.set(pfn, { count: n, csum });
        runHead.mark(pfn, n);
        this.map(ino, index, pfn, n, csum);
      }
      k += n;
    }
  }

  /**
   * The 32-page groups changed (keys of `groups`): one UNMAP per stretch of
   * consecutive changed groups, then MAP runs of what each group holds now.
   */
  changedGroups(n: NodeImage, groups: ReadonlyMap<number, number>): void {
    if (this.changed.length < groups.size) this.changed = new Float64Array(2 * groups.size);
    let u = 0;
    for (const g of groups.keys()) this.changed[u++] = g;
    const sorted = this.changed.subarray(0, u).sort();
    for (let i = 0; i < u;) {
      let j = i + 1;
      while (j < u && sorted[j] === sorted[j - 1]! + 1) j++;
      this.unmap(n.ino, sorted[i]! * GROUP_PAGES, (j - i) * GROUP_PAGES);
      i = j;
    }
    for (let i = 0; i < u; i++) {
      const g = sorted[i]! * GROUP_PAGES;
      for (let index = g; index < g + GROUP_PAGES; index++) {
        const pfn = n.pages.get(index);
        if (pfn) this.page(index, pfn);
      }
      this.group(n.ino);
    }
  }

  /** The commit is published: every page its records name is frozen (written only after a copy). */
  freezeNamed(): void {
    const flags = this.ctx.frames.flags, named = this.namedRuns;
    for (let i = 0; i < this.nNamed; i += 2) {
      const end = named[i]! + named[i + 1]!;
      for (let q = named[i]!; q < end; q++) flags[q]! |= PageFlag.Frozen;
    }
  }

  private map(ino: number, index: number, pfn: number, count: number, csum: number): void {
    const lru = this.ctx.frames.flags[pfn]! & PageFlag.Lru ? MAP_LRU : 0;
    this.named(pfn, count);
    if (count === 1 && this.ctx.spans !== false) { this.lone(ino, index, pfn, csum, lru); return; }
    this.flush();
    this.records++;
    putMap(this.out!, ino, index, pfn, count, csum, lru, this.generation);
  }

  /** A lone page: it continues the SPAN being gathered (next index and pfn, same LRU flag, same block) or begins one. */
  private lone(ino: number, index: number, pfn: number, csum: number, flags: number): void {
    const s = this.span;
    if (!(s.count > 0 && s.ino === ino && s.index + s.count === index && s.pfn + s.count === pfn && s.flags === flags &&
      Math.floor(s.index / SPAN_BLOCK) === Math.floor(index / SPAN_BLOCK))) {
      this.flush();
      s.ino = ino; s.index = index; s.pfn = pfn; s.flags = flags;
    }
    (this.spanCrcs ??= new Uint32Array(SPAN_BLOCK))[s.count++] = csum;
  }

  /** Pages pfn…pfn+count-1 are named (one pair with the run before when they continue it). */
  private named(pfn: number, count: number): void {
    const n = this.nNamed;
    if (n > 0 && this.namedRuns[n - 2]! + this.namedRuns[n - 1]! === pfn) { this.namedRuns[n - 1] = this.namedRuns[n - 1]! + count; return; }
    if (n + 2 > this.namedRuns.length) {
      const grown = new Float64Array(2 * this.namedRuns.length);
      grown.set(this.namedRuns);
      this.namedRuns = grown;
    }
    this.namedRuns[this.nNamed++] = pfn; this.namedRuns[this.nNamed++] = count;
  }

  /** The gathered pages from k on hold `count` consecutive indexes at consecutive pfns. */
  private contiguous(k: number, len: number, count: number): boolean {
    if (k + count > len) return false;
    const last = k + count - 1;
    return this.gIndex[last]! - this.gIndex[k]! === count - 1 && this.gPfn[last]! - this.gPfn[k]! === count - 1;
  }

  private forget(pfn: number): void {
    const { runs, runHead } = this.ctx;
    const head = runHead.headOf(pfn);
    runHead.clear(head, runs.get(head)?.count ?? 1);
    runs.delete(head);
  }
}

/** A node's present pages from `pages` (ascending) as MAP runs, a group at a time. */
export function pageRecords(e: Emitter, ino: number, pages: Iterable<[number, number]>): void {
  let g = -1;
  for (const [index, pfn] of pages) {
    const gi = Math.floor(index / GROUP_PAGES);
    if (gi !== g && g >= 0) e.group(ino);
    g = gi;
    e.page(index, pfn);
  }
  if (g >= 0) e.group(ino);
}

/** A compaction: every node whole, as a fresh log holds it. */
export function treeRecords(nodes: Iterable<NodeImage>, e: Emitter): Emitted {
  for (const n of nodes) {
    e.inode(n, n.pages.count);
    for (const nm of n.names) e.name(nm.parent, nm.name, n.ino);
    pageRecords(e, n.ino, n.pages.entries());
  }
  e.flush();
  return e;
}

/** An append: what changed since the last commit (a compaction writes no ATIMES: its INODEs carry the atimes). */
export function changeRecords(c: ChangeSet, e: Emitter): Emitted {
  for (const ino of c.dropped) e.drop(ino);
  for (const n of c.nodes) {
    if (c.fresh.has(n.ino)) e.drop(n.ino);   // an older log's state of this ino is void
    e.inode(n, n.pages.count);
  }
  // A node whose only change is its atime: 16 bytes of an ATIMES record instead of an INODE record.
  if (c.atimes) e.atimes(c.atimes);
  for (const nm of c.names) e.name(nm.parent, nm.name, nm.ino);
  for (const n of c.nodes) {
    const changed = c.groups.get(n.ino);
    if (changed && changed.size > 0) e.changedGroups(n, changed);
  }
  e.flush();
  return e;
}

/**
 * Stream bytes changeRecords writes for `c` at least (an INODE per node, a NAME
 * per name, a DROP per ino gone; pages not counted): a commit that knows from
 * this alone that its append would be due compacts without writing it first.
 */
export function leastChangeBytes(c: ChangeSet): number {
  return c.nodes.length * inodeRecordBytes(0) + c.names.length * nameRecordBytes(0) + c.dropped.length * DROP_BYTES;
}

/** leastChangeBytes before the change set is built: `nodes` changed inodes (each an INODE or a DROP), `names` changed names. */
export function leastChangedBytes(nodes: number, names: number): number {
  return nodes * Math.min(inodeRecordBytes(0), DROP_BYTES) + names * nameRecordBytes(0);
}

const DROP_BYTES = RECORD_HEADER + align8(DROP_SIZE);
