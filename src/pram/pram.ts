// The engine: one object per mounted image, the same code for the simulated
// machine and the arena. It owns what persistence needs beyond the fs's page
// cache: which pages belong to the committed checkpoint (Frozen: written only
// after a copy, so a crash of the owner comes back to the last checkpoint),
// pages released while frozen (freed at the next commit), and the chain's own
// pages. Reserve, load and save are in reserve.ts, load.ts + tree.ts and
// save.ts, verification and what a lazy mount leaves to do in lazymount.ts,
// the fs's data pages (fresh, copied on write, let go) in datapages.ts;
// this file sequences them.

import type { PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import type { BannedRegions } from '../boot/banned.js';
import type { PageAllocator } from '../boot/allocator.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import { assert } from '../format/assert.js';
import type { Handoff } from './handoff.js';
import type { ChangeSet, LoadedImage, Loss, NodeImage } from './image.js';
import { LiveLog, logPagesFor, OLD_LOG_STEP, type LogHandoff, type Published } from './live.js';
import { Emitter, leastChangedBytes, type Emitted } from './records.js';
import { writeCommit } from './commitlog.js';
import { Slices } from './slices.js';
import { Settler } from './settler.js';
import type { LogReplay } from './replay.js';
import type { LazyLog, LoadedGroup } from './lazy.js';
import type { Run } from './load.js';
import { loadImage, type Shape, type SidePages } from './loading.js';
import { LazyMount } from './lazymount.js';

import { reserveChain } from './reserve.js';
import { chainPagesFor, writeChain, xattrRecords } from './save.js';
import { SpaceLedger } from './ledger.js';
import { SimplePageMap } from './pagemap.js';
import { RunHeads } from './runheads.js';
import { Pins } from './pins.js';
import { SeqPages } from './logpages.js';
import { DataPages } from './datapages.js';
import type { Log, PramOptions, PramStats, ReserveOptions, ReserveResult } from './types.js';

export type { Log, PramOptions, PramStats, ReserveOptions, ReserveResult } from './types.js';

export class Pram {
  /** Early boot: walk and reserve the chain from headPfn (RFC pram_reserve). */
  static reserve(mem: PhysMem, memblock: Memblock, headPfn: number, log: Log, opts: ReserveOptions = {}): ReserveResult {
    return reserveChain(mem, memblock, headPfn, log, opts);
  }

  private generation: number;
  private headPfn: number;
  /** Link/meta pages and copies of the committed checkpoint; a lazily booted log's until its list is first needed (logpages.ts). */
  private chain: number[] | SeqPages = [];
  private get chainPages(): number[] { const c = this.chain; return c instanceof SeqPages ? (this.chain = c.all()) : c; }
  private side: number[] | SidePages = [];   // the log's ATIMES_PAGES records' pages (v3 minor 6), freed with it at the next compaction: listed when first needed
  private get sidePages(): number[] { const s = this.side; return Array.isArray(s) ? s : (this.side = s.list()); }
  private deferred: number[] = [];     // released while Frozen: free after the next commit
  private readonly runs = new Map<number, Run>();
  private readonly runHead: RunHeads;
  /** Verification on first read, and what a lazy mount still has to load, adopt and check (lazymount.ts). */
  private readonly lz: LazyMount;
  // Views (fs/ view()): pinned pages, and those the fs no longer uses waiting for their last unpin.
  private readonly pins: Pins;
  private last: Shape = { links: 0, meta: 0, data: 0, copies: 0, entries: 0 };
  private readonly log: Log;
  /** Room for the next durable steps, kept before anything grows (ledger.ts). */
  readonly space: SpaceLedger;
  /** The v3 log (an arena handoff, unless opts.live is false or banned regions need v2's copies); null: v2 chains. */
  private live: LiveLog | null = null;
  /** The fs's data pages: fresh, copied on write, let go (datapages.ts). */
  private readonly data: DataPages;
  /** Background work in bounded slices (v3 only; slices.ts): settling checksums, compaction. */
  readonly slices: Slices | null = null;

  constructor(
    readonly mem: PhysMem,
    readonly frames: PageFrames,
    readonly allocator: PageAllocator,
    readonly banned: BannedRegions,
    readonly handoff: Handoff,
    readonly opts: PramOptions = {},
  ) {
    const h = handoff.read();
    this.generation = h?.generation ?? 0;
    this.headPfn = h?.headPfn ?? 0;
    this.runHead = new RunHeads(mem.pageCount);
    this.pins = new Pins(frames);
    this.log = opts.log ?? (() => {});
    this.lz = new LazyMount({ mem, frames, runs: this.runs, runHead: this.runHead, log: this.log }, {
      // Damage in the log: the next commit writes a fresh one (of what loaded), as after a damaged replay.
      damaged: () => { if (this.live) this.live.cursor = null; },
      // Tail records that waited for a group's load (taildefer.ts): the pages they freed were reserved until now; the charge becomes exact.
      settle: (s) => { for (const p of s.freed) this.release(p); this.space.adjust({ bytes: s.bytes, inline: s.inline }); this.space.refill(); },
    });
    // Banned data pages need v2's copies (pfn 0, the header, is banned in every arena and holds no data).
    const logs = opts.live !== false && typeof handoff.commitLog === 'function' && !banned.regions().some((r) => r.end >= 1);
    if (logs) this.live = new LiveLog(mem, allocator, handoff as Handoff & LogHandoff, null);
    if (this.live) this.slices = new Slices({ live: this.live, generation: () => this.generation, ctx: () => ({ ...this.commits().ctx, side: undefined }),
      committed: (g, p, e) => { this.generation = g; this.headPfn = p.head; this.published(p, e, true, true); } },
    opts.extents ? null : new Settler(mem, frames, this.runHead));   // settling one page at a time would split runs
    this.space = new SpaceLedger(
      { free: () => allocator.freeCount, returning: () => this.returning() },
      logs ? (shape) => logPagesFor(shape, mem.pageSize) : (shape) => chainPagesFor(shape, mem.pageSize),
    );
    this.data = new DataPages(mem, frames, allocator, banned, this.space, this.slices?.settler ?? null, {
      readable: (pfn) => this.readable(pfn),
      forgetRun: (pfn) => this.forgetRun(pfn, true),
      // A page of the committed checkpoint waits for the next commit; a pinned one for its last unpin.
      retire: (pfn) => { if (this.frames.flags[pfn]! & PageFlag.Frozen) this.deferred.push(pfn); else this.pins.retired.add(pfn); },
    });
  }

  /** The image is kept as a v3 log (commit() appends); false: v2 chains (every commit writes the whole tree). */
  get logs(): boolean { return this.live !== null; }

  /**
   * Load what boot reserved (a chain, a replayed log, or a log booted lazily;
   * loading.ts): nodes (pages adopted, not copied) and every loss, exactly.
   * readOnly: write nothing to the memory (the holes of a cut file are marked Bad, not zero-filled).
   */
  load(reserved: ReserveResult, opts: { verify: 'full' | 'lazy'; readOnly?: boolean }, replay?: LogReplay, lazy?: LazyLog): LoadedImage {
    assert(this.chain.length === 0, 'an engine loads once');
    const l = loadImage({
      mem: this.mem, frames: this.frames, allocator: this.allocator, banned: this.banned, log: this.log,
      newPageMap: this.opts.newPageMap ?? (() => new SimplePageMap()), runs: this.runs, runHead: this.runHead,
      later: this.lz.laterFiles,
    }, reserved, opts, replay, lazy);
    this.chain = l.chainPages;
    this.side = l.sidePages;
    if (this.live && l.cursor) this.live.adopt(l.cursor, l.compacted, l.sidePages.count);   // else the next commit compacts
    this.last = l.shape;
    this.space.adjust(l.adjust);
    this.lz.loaded(l);
    return l.image;
  }

  /** A log booted lazily, whose groups loadGroup adopts (null: the image was loaded whole). */
  get lazyLog(): LazyLog | null { return this.lz.log; }

  /** The group of directory `dir` of a lazily booted log, adopted (null: loaded before; lazymount.ts); `pathOf` names it in losses. */
  loadGroup(dir: number, pathOf: (ino: number) => string): LoadedGroup | string | null { return this.lz.loadGroup(dir, pathOf); }

  /** Background work between requests (fs/ checkpoint.ts): files kept for adoption on first use adopted ahead of it (lazymount.ts); true: more to do. */
  adoptLater(until: number): boolean { return this.lz.adoptLater(until); }

  /** A loss found after the load (a lazily loaded group's damage). */
  lateLoss(l: Loss): void { this.lz.late.push(l); }

  /** The lazy mount's checking thread's blocks by verdict (lazymount.ts); null: none ran. */
  aheadVerdicts(): number[] | null { return this.lz.aheadVerdicts(); }

  /** Unmount: the lazy mount's checking thread stops (pages it did not reach are checked on first read, as before). */
  close(): void { this.lz.touch.stopAhead(); }

  /** A fresh data page for the fs, or -ENOSPC (datapages.ts). */
  allocData(hint?: number, opts: { fromReserve?: boolean } = {}): number { return this.data.alloc(hint, opts); }

  /** count fresh data pages at consecutive pfns: the first pfn, or < 0 (then the caller takes pages one by one; datapages.ts). */
  allocDataRun(hint: number, count: number): number { return this.data.allocRun(hint, count); }

  /** pfn..pfn+count-1 were just written whole from src[at..]: their checksums from those bytes (Settler.written). */
  written(pfn: number, count: number, src: Uint8Array, at: number): void {
    this.slices?.settler?.written(pfn, count, src, at);
  }

  /** Record pages these xattrs take in the next checkpoint (the ledger's cost model). */
  xattrRecords(xattrs: readonly [string, Uint8Array][]): number {
    return xattrRecords(xattrs, this.mem.pageSize);
  }

  /** The fs no longer uses this page. A page of the committed checkpoint stays until the next commit (datapages.ts). */
  release(pfn: number): void { this.data.release(pfn); }

  /** The pfn the fs may write: the page itself, or a copy when Frozen or Pinned (datapages.ts). */
  writable(pfn: number, whole = false, opts: { fromReserve?: boolean } = {}): number { return this.data.writable(pfn, whole, opts); }

  /** How many of pfn..pfn+count-1, from the first, may be read (their unverified runs checked in one batch); -EIO if not the first. */
  readableRun(pfn: number, count: number): number { return this.lz.touch.readableRun(pfn, count); }

  /** readableRun, checking the runs wholly in `pages` (pfn `from` onwards, just copied out) on those bytes. */
  readableRunCopied(pfn: number, count: number, from: number, pages: Uint8Array): number { return this.lz.touch.readableRun(pfn, count, { from, pages }); }

  /** A read's copy of pfn..pfn+count-1 into target[to..] and its first check in one (FirstTouch.readInto); undefined: not done. */
  readRunInto(pfn: number, count: number, inPage: number, target: Uint8Array, to: number, bytes: number): number | undefined { return this.lz.touch.readInto(pfn, count, inPage, target, to, bytes); }

  /** A view shows pfn..pfn+count-1: until unpinned, a write goes to a copy and a release waits. */
  pin(pfn: number, count: number): void { this.pins.pin(pfn, count); }

  /** The view is gone: a page no longer used by the fs and pinned by nothing else is freed. */
  unpin(pfn: number, count: number): void {
    this.pins.unpin(pfn, count, (q) => {
      if (this.frames.flags[q]! & PageFlag.Frozen) this.deferred.push(q);
      else this.allocator.free(q);
    });
    this.space.refill();
  }

  /** Pages the next commit frees: the chain's and the deferred ones no view pins (those wait for their unpin). */
  private returning(): number {
    // A compaction in slices has taken part of its reserve already.
    let n = this.chain.length + (Array.isArray(this.side) ? this.side.length : this.side.count) + this.deferred.length + (this.slices?.pages ?? 0);
    if (this.pins.used) for (const pfn of this.deferred) if (this.frames.flags[pfn]! & PageFlag.Pinned) n--;
    return n;
  }

  /** 0 when the page may be read; -EIO when it failed its checksum (verified, with its run, on first read when lazy). */
  readable(pfn: number): number { return this.lz.touch.readable(pfn); }

  /**
   * Save: write a complete new chain, publish it through the handoff, then free
   * the previous checkpoint's own pages and the pages released since. 0 or -errno;
   * on failure the previous checkpoint stays current and intact.
   */
  checkpoint(nodes: Iterable<NodeImage>): number {
    if (this.live) return this.commitLog(null, () => nodes, false);
    const saved = writeChain(nodes, {
      mem: this.mem, frames: this.frames, allocator: this.allocator, banned: this.banned,
      extents: this.opts.extents ?? false, runs: this.runs, runHead: this.runHead,
      verify: (pfn) => { this.readable(pfn); },
    });
    this.allocator.releaseHeld();
    if (typeof saved === 'number') {
      this.log(`PRAM: Failed to save FS tree: ${saved}`);
      return saved;
    }
    const pending = (this.handoff as { pending?: { pages: number; nodes: number } }).pending;
    if (pending) { pending.pages = saved.links.length + saved.metaPages.length + saved.dataPfns.length + saved.copies.length; pending.nodes = saved.nodes; }
    this.handoff.commit(saved.headPfn, this.generation + 1);
    this.generation++;
    this.headPfn = saved.headPfn;

    // The previous checkpoint is no longer needed: its own pages and the deferred frees go.
    for (const pfn of [...this.chainPages, ...this.sidePages.splice(0)]) { this.forgetRun(pfn, false); this.allocator.free(pfn); }
    this.freeDeferred();
    this.chain = [...saved.links, ...saved.metaPages, ...saved.copies];
    for (const pfn of saved.dataPfns) this.frames.flags[pfn]! |= PageFlag.Frozen;
    this.space.refill();
    this.last = { links: saved.links.length, meta: saved.metaPages.length, data: saved.dataPfns.length, copies: saved.copies.length, entries: saved.entries };
    return 0;
  }

  /**
   * A durable step of the v3 engine: an append of what changed, or a compaction
   * (commitlog.ts decides and writes it). Nothing changed: nothing written. 0 or
   * -errno; on failure the previous commit stays current and intact.
   */
  commit(changes: ChangeSet | null, all: () => Iterable<NodeImage>, opts: { closing?: boolean } = {}): number {
    if (!this.live) return this.checkpoint(all());
    return this.commitLog(changes, all, opts.closing ?? false);
  }

  private commitLog(changes: ChangeSet | null, all: () => Iterable<NodeImage>, closing: boolean): number {
    const generation = this.generation + 1;
    this.slices!.settler?.settleAll();   // every page written since the last commit checksummed in one batch: the records only encode
    const w = writeCommit(changes, all, generation, closing, { mem: this.mem, live: this.live!, slices: this.slices!,
      emitter: this.commits(), log: this.log, room: () => this.space.room() });
    if (typeof w === 'number') return w;
    this.commitDone(generation, w.p, w.e, w.compact);
    return 0;
  }

  /**
   * The next commit of `nodes` changed inodes and `names` changed names would compact whole: the
   * caller passes no change set then (fs/ builds none: it would only be dropped).
   */
  compactsWhole(changed: { nodes: number; names: number }, opts: { closing?: boolean } = {}): boolean {
    const least = leastChangedBytes(changed.nodes, changed.names);
    return this.live !== null && this.live.cursor !== null && least > 0 && this.live.compactsWhole(least, this.slices!.driven, opts.closing ?? false);
  }

  private commitDone(generation: number, p: Published, e: Emitted, compact: boolean): void {
    this.generation = generation;
    this.headPfn = p.head;
    this.published(p, e, compact);
  }

  /** The commits' record emitter, reused from commit to commit (slices.ts has its own for a compaction in slices). */
  private commits(): Emitter {
    return this.emitter ??= new Emitter({ mem: this.mem, frames: this.frames, runs: this.runs, runHead: this.runHead, extents: this.opts.extents ?? false,
      verify: (pfn) => { this.readable(pfn); }, spans: this.opts.spans, side: (count) => this.live!.writer.takeSide(count) });
  }
  private emitter: Emitter | null = null;

  /**
   * After a v3 commit: the old log (a compaction) and the deferred frees go; the pages it named are frozen.
   * `sliced` (a compaction in slices published): a mount that finds its last step damaged loads the old log the
   * other slot names (FORMAT.md §v3, minor 5), so it and the pages its last commit held stay unpooled until the
   * next commit: counted free, taken by an allocation only when no other page is left.
   */
  private published(p: Published, e: Emitted, compact: boolean, sliced = false): void {
    // The old log is given back in steps (a commit pools at most OLD_LOG_STEP of it): its pages count as free now.
    // The chain is then the log's own page list (no copy of a million files' log): appends grow it in place.
    if (compact) {
      this.allocator.freeLater(this.chainPages, this.forgetOld);
      this.allocator.freeLater(this.sidePages.splice(0));   // (an append's ATIMES_PAGES pages: the log's till now)
      this.chain = p.newPages;
      this.allocator.releaseKept();    // pages let go before this compaction: its DATA lists none of them
    } else if (this.chainPages !== this.live!.cursor!.pages) for (const pfn of p.newPages) this.chainPages.push(pfn);
    for (const pfn of p.sidePages ?? []) this.sidePages.push(pfn);
    if (!sliced) this.allocator.drainLater(OLD_LOG_STEP);
    this.freeDeferred(sliced, !compact);
    e.freezeNamed();
    this.slices!.settler?.reset();     // what it named is checksummed
    this.space.refill();
    this.last = { links: 0, meta: this.live!.cursor!.pages.length, data: this.space.shape.data, copies: 0, entries: e.records };
  }

  private readonly forgetOld = (pfn: number): void => this.forgetRun(pfn, false);

  /** The deferred frees go (`later`: unpooled till the next commit, after a compaction in slices; `kept`: allocator.freeKept). */
  private freeDeferred(later = false, kept = false): void {
    const held: number[] = [], aside: number[] = [];
    for (const pfn of this.deferred) {
      this.forgetRun(pfn, false);
      if (!(this.frames.flags[pfn]! & PageFlag.Pinned)) {
        if (later || kept) this.frames.flags[pfn]! &= ~PageFlag.Unverified;   // nobody's to read or verify now
        if (later) held.push(pfn); else if (kept) aside.push(pfn); else this.allocator.free(pfn);
        continue;
      }
      this.frames.flags[pfn]! &= ~PageFlag.Frozen;   // in no checkpoint now; freed at its last unpin
      this.pins.retired.add(pfn);
    }
    this.deferred = [];
    this.allocator.freeLater(held);
    this.allocator.freeKept(aside);
  }

  /** Losses found after load (lazy verification failures): cheap, unlike stats(). */
  lateLosses(): readonly Loss[] { return this.lz.late; }

  /** The head pfn of the committed checkpoint (what /sys/kernel/pram shows). */
  get head(): number { return this.headPfn; }

  stats(): PramStats {
    const unverified = this.lz.unverified(() => [...this.deferred, ...this.pins.retired]);
    return {
      generation: this.generation, headPfn: this.headPfn, linkPages: this.last.links, metaPages: this.last.meta,
      dataPages: this.last.data, copiedPages: this.last.copies, entries: this.last.entries,
      deferredFrees: this.deferred.length, unverified, losses: [...this.lz.late],
    };
  }

  /**
   * A page of a cached run changed or left: the run's checksum no longer describes
   * it. Members still unverified are verified first when `verify` (their only
   * checksum is the run's), so the damage of a run is never forgotten.
   */
  private forgetRun(pfn: number, verify: boolean): void {
    const head = this.runHead.headOf(pfn);
    if (head < 0) return;
    if (verify && this.frames.flags[pfn]! & PageFlag.Unverified) this.readable(pfn);
    this.runHead.clear(head, Math.max(this.runs.get(head)?.count ?? 1, pfn - head + 1));
    this.runs.delete(head);
  }
}
