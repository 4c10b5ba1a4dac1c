// The records of a v3 commit (docs/FORMAT.md §v3): from a change set (an
// append: DROP, INODE, NAME, then per changed 32-page group an UNMAP of the
// group and MAP runs of what it holds now) or from the whole tree (a
// compaction: INODE, NAMEs and MAP runs per node). Data pages named here get
// their checksum — only pages written since their last one; cached runs keep
// theirs — and are collected to be frozen once the commit is published. Lone
// pages at consecutive indexes and pfns become one SPAN record (4 bytes a
// page, each page its own checksum) instead of a MAP each.

import type { PhysMem } from '../mem/physmem.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import { crc32c } from '../format/crc.js';
import { encodeXattrs } from '../format/v2.js';
import { encodeMap, encodeRecord, encodeSpan, GROUP_PAGES, MAP_LRU, RecordType, SPAN_BLOCK, type LogRecord } from '../format/v3.js';
import type { ChangeSet, NodeImage, PageMap } from './image.js';
import { runCsum, type Run } from './load.js';
import type { RunHeads } from './runheads.js';

export interface RecordContext {
  mem: PhysMem;
  frames: PageFrames;
  runs: Map<number, Run>;
  runHead: RunHeads;
  generation: number;           // of the commit being written
  /** New runs of up to 32 pages (the arena's extents flag); false: a MAP per page (damage costs one page). */
  extents: boolean;
  /** Verify an unverified page (lazy load) now; afterwards its flags say Bad or not. */
  verify(pfn: number): void;
  /** false: a MAP per lone page, as before SPAN records (v3 minor 0: tests of the older encoding). */
  spans?: boolean;
}

/** Framed records and the data pages they name. */
export interface Emitted { records: Buffer[]; bytes: number; named: number[]; nodes: number }

const EMPTY = new Uint8Array(0);

export class Emitter implements Emitted {
  private out: Buffer[] = [];
  private size = 0;
  named: number[] = [];
  nodes = 0;
  // Lone pages being gathered into one SPAN: ino, first index and pfn, pages, LRU flag, crcs.
  private span = { ino: 0, index: 0, pfn: 0, count: 0, flags: 0 };
  private spanCrcs: Uint32Array | null = null;
  constructor(readonly ctx: RecordContext) {}

  /** The framed records (a SPAN being gathered is ended first). */
  get records(): Buffer[] { this.flush(); return this.out; }
  get bytes(): number { this.flush(); return this.size; }

  private push(b: Buffer): void {
    this.out.push(b);
    this.size += b.length;
  }

  put(rec: LogRecord): void {
    this.flush();
    this.push(encodeRecord(rec, this.ctx.generation));
  }

  inode(n: NodeImage, pages: number): void {
    this.flush();
    this.nodes++;
    this.put({ type: RecordType.Inode, r: {
      ino: n.ino, mode: n.mode, uid: n.uid, gid: n.gid, rdev: n.rdev, size: n.size,
      atimeNs: n.atimeNs, mtimeNs: n.mtimeNs, ctimeNs: n.ctimeNs, pages,
      xattrs: n.xattrs.length ? encodeXattrs(n.xattrs) : EMPTY,
      inline: (n as { inline?: Uint8Array | null }).inline ?? EMPTY,
    } });
  }

  /**
   * MAP runs for one group's present pages (ascending, all inside one group):
   * a cached run as it was, pages written since their checksum as new runs,
   * any other page alone with the checksum it has (a damaged page keeps one
   * that cannot match it, so the damage stays visible).
   */
  group(ino: number, list: [number, number][]): void {
    const { frames, runs, runHead, mem } = this.ctx;
    let k = 0;
    while (k < list.length) {
      const [index, pfn] = list[k]!;
      const cached = runHead.isHead(pfn) ? runs.get(pfn) : undefined;
      if (cached && contiguous(list, k, cached.count)) {
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
      let len = 1;
      while (this.ctx.extents && k + len < list.length && list[k + len]![0] === index + len && list[k + len]![1] === pfn + len) {
        const q = pfn + len;
        if (runHead.headOf(q) >= 0 || (frames.flags[q]! & (PageFlag.Dirty | PageFlag.Bad | PageFlag.Unverified)) !== PageFlag.Dirty) break;
        len++;
      }
      if (len === 1) {
        const csum = crc32c(mem.page(pfn));
        frames.csum[pfn] = csum;
        frames.flags[pfn] = f & ~PageFlag.Dirty;
        this.map(ino, index, pfn, 1, csum);
      } else {
        const csum = runCsum(mem, pfn, len);
        runs.set(pfn, { count: len, csum });
        runHead.mark(pfn, len);
        this.map(ino, index, pfn, len, csum);
      }
      k += len;
    }
  }

  private map(ino: number, index: number, pfn: number, count: number, csum: number): void {
    const lru = this.ctx.frames.flags[pfn]! & PageFlag.Lru ? MAP_LRU : 0;
    for (let q = pfn; q < pfn + count; q++) this.named.push(q);
    if (count === 1 && this.ctx.spans !== false) { this.lone(ino, index, pfn, csum, lru); return; }
    this.flush();
    this.push(encodeMap({ ino, index, pfn, count, csum, flags: lru }, this.ctx.generation));
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

  /** Ends the SPAN being gathered: one page is a MAP (as short), more a SPAN. */
  private flush(): void {
    const s = this.span;
    if (s.count === 0) return;
    const crcs = this.spanCrcs!;
    this.push(s.count === 1 ? encodeMap({ ino: s.ino, index: s.index, pfn: s.pfn, count: 1, csum: crcs[0]!, flags: s.flags }, this.ctx.generation)
      : encodeSpan(s, crcs, this.ctx.generation));
    s.count = 0;
  }

  private forget(pfn: number): void {
    const { runs, runHead } = this.ctx;
    const head = runHead.headOf(pfn);
    runHead.clear(head, runs.get(head)?.count ?? 1);
    runs.delete(head);
  }
}

function contiguous(list: [number, number][], k: number, count: number): boolean {
  if (k + count > list.length) return false;
  const [i0, p0] = list[k]!;
  const [il, pl] = list[k + count - 1]!;
  return il - i0 === count - 1 && pl - p0 === count - 1;
}

/** Groups of a page map in ascending order, each as its [index, pfn] list. */
function* groupsOf(pages: PageMap): Generator<[number, number][]> {
  let cur: [number, number][] = [];
  let g = -1;
  for (const [index, pfn] of pages.entries()) {
    const gi = Math.floor(index / GROUP_PAGES);
    if (gi !== g && cur.length) { yield cur; cur = []; }
    g = gi;
    cur.push([index, pfn]);
  }
  if (cur.length) yield cur;
}

/** A compaction: every node whole, as a fresh log holds it. */
export function treeRecords(nodes: Iterable<NodeImage>, ctx: RecordContext): Emitted {
  const e = new Emitter(ctx);
  for (const n of nodes) {
    e.inode(n, n.pages.count);
    for (const nm of n.names) e.put({ type: RecordType.Name, r: { parent: nm.parent, name: nm.name, ino: n.ino } });
    for (const list of groupsOf(n.pages)) e.group(n.ino, list);
  }
  return e;
}

/** An append: what changed since the last commit. */
export function changeRecords(c: ChangeSet, ctx: RecordContext): Emitted {
  const e = new Emitter(ctx);
  for (const ino of c.dropped) e.put({ type: RecordType.Drop, ino });
  for (const n of c.nodes) {
    if (c.fresh.has(n.ino)) e.put({ type: RecordType.Drop, ino: n.ino });   // an older log's state of this ino is void
    e.inode(n, n.pages.count);
  }
  for (const nm of c.names) e.put({ type: RecordType.Name, r: nm });
  for (const n of c.nodes) {
    const changed = c.pages.get(n.ino);
    if (!changed || changed.size === 0) continue;
    const groups = [...new Set([...changed].map((i) => Math.floor(i / GROUP_PAGES)))].sort((a, b) => a - b);
    // One UNMAP per stretch of consecutive changed groups, then what each group holds now.
    for (let i = 0; i < groups.length;) {
      let j = i + 1;
      while (j < groups.length && groups[j] === groups[j - 1]! + 1) j++;
      e.put({ type: RecordType.Unmap, r: { ino: n.ino, index: groups[i]! * GROUP_PAGES, count: (j - i) * GROUP_PAGES } });
      i = j;
    }
    for (const g of groups) {
      const list: [number, number][] = [];
      for (let index = g * GROUP_PAGES; index < (g + 1) * GROUP_PAGES; index++) {
        const pfn = n.pages.get(index);
        if (pfn) list.push([index, pfn]);
      }
      if (list.length) e.group(n.ino, list);
    }
  }
  return e;
}
