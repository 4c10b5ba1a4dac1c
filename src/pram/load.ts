// Load on mount: turn the reserved chain into NodeImage[] without copying a
// data page. Pages are verified against their entry's checksum (all of them,
// or with 'lazy' only link and meta pages; data pages then verify on first
// read, see pram.ts). Everything that cannot be restored is reported in
// `losses` exactly: which file, which page, which byte range. In RFC mode the
// first failure stops the load (files loaded so far stay); in salvage mode
// only the damaged piece is lost. Tree repair (names, parents) is tree.ts's.

import type { PhysMem } from '../mem/physmem.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import { EINVAL } from '../format/errno.js';
import { publishProgress } from '../format/progress.js';
import { crc32c } from '../format/crc.js';
import { DecodeError } from '../format/reader.js';
import { decodeFileImage } from '../format/decode.js';
import { EntryType, ENTRY_LRU, ENTRY_TYPE_MASK } from '../format/v1.js';
import { decodeNamePage, decodeXattrPage, entryPages, type ExtraName, type MetaTail } from '../format/v2.js';
import type { Loss, NodeImage, PageMap } from './image.js';
import { EntryFault, type Log, type ReserveResult, type Run } from './types.js';
export type { Run } from './types.js';
import { faultText, hexPfn } from './reserve.js';
import type { RunHeads } from './runheads.js';
import { runCrcs } from './verify.js';
import { S_IFMT, S_IFREG } from '../format/mode.js';

/** Shared by every node without xattr pieces (most): replaced by its own array before a push. */
const NO_PARTS: Uint8Array[] = [];

/** A node while it is being loaded. */
export interface NodeBuild {
  node: NodeImage;
  tail: MetaTail | null;
  metaPfn: number;
  dataSeen: number;          // data pages found (adopted or damaged)
  nextIndex: number;         // one past the highest file page adopted so far
  placed: number;            // names kept in the tree (tree.ts)
  xattrParts: Uint8Array[];
  path: string;              // filled in by tree.ts
}


/** A node the RFC-mode load gave back unread after it stopped: reported by path (tree.ts). */
export interface Abandoned { name: string | null; parent: number; metaPfn: number; dataPages: number }

export interface LoadState {
  builds: NodeBuild[];
  abandoned: Abandoned[];    // RFC mode: nodes after the stop, named for the loss report
  stopPfn: number;           // RFC mode: the page the load stopped at, 0 if it did not
  extraNames: ExtraName[];
  losses: Loss[];
  chainPages: number[];      // loaded-chain pages no node adopted: freed after the next commit
  runs: Map<number, Run>;    // extents of the loaded chain, by first pfn
  runHead: RunHeads;         // pfn -> the run it belongs to
  pathOf: Map<Loss, NodeBuild>; // losses whose path is final only after tree.ts
  cutAtGap: { b: NodeBuild; from: number; link: number }[]; // files whose entries went on in a lost link page
}

export interface LoadContext {
  mem: PhysMem;
  frames: PageFrames;
  verify: 'full' | 'lazy';
  log: Log;
  newPageMap: () => PageMap;
  runs: Map<number, Run>;
  runHead: RunHeads;
}

/** crc32c of pfn..pfn+count-1, read through the arena's fd when it has one (fs/ writes data that way: no page is faulted in to be checksummed). */
export function runCsum(mem: PhysMem, pfn: number, count: number): number {
  if (mem.preadFd !== undefined) return runCrcs(mem, [pfn], [count], { pread: true })[0]!;
  const run = mem.run(pfn, count);
  if (run) return crc32c(run);
  let c = 0;
  for (let q = pfn; q < pfn + count; q++) c = crc32c(mem.page(q), c);
  return c;
}

export function readEntries(r: ReserveResult, ctx: LoadContext): LoadState {
  const reader = new ChainReader(r, ctx);
  const e = r.entries;
  if (ctx.verify === 'full') reader.actual = entryCrcs(ctx.mem, r);
  for (let i = 0; i < e.length; i++) {
    if ((i & 4095) === 0) publishProgress('load', i, e.length, 'items');
    reader.at = i;
    reader.entry(e.flags[i]!, e.csum[i]!, e.pfn[i]!, e.index[i]!, e.fault[i]! as EntryFault, e.link[i]!);
  }
  reader.endCut();
  reader.endOrphans();
  publishProgress('load', e.length, e.length, 'items');
  return reader.st;
}

/** A full mount: the crc32c of every data run the chain names, in one batch (index: entry), before the entries are read. */
function entryCrcs(mem: PhysMem, r: ReserveResult): Uint32Array {
  const e = r.entries, pfns: number[] = [], counts: number[] = [], at: number[] = [];
  for (let i = 0; i < e.length; i++) {
    const type = e.flags[i]! & ENTRY_TYPE_MASK;
    if (e.fault[i] !== EntryFault.None || (type !== EntryType.Data && type !== EntryType.Extent)) continue;
    pfns.push(e.pfn[i]!); counts.push(entryPages(e.flags[i]!)); at.push(i);
  }
  const crcs = runCrcs(mem, pfns, counts, { pread: true }), out = new Uint32Array(e.length);
  for (let k = 0; k < at.length; k++) out[at[k]!] = crcs[k]!;
  return out;
}

/** Reads entries in chain order; a META/NODE entry opens a node, the entries after it belong to it. */
class ChainReader {
  readonly st: LoadState;
  /** A full mount: crc32c of each data entry's pages, computed in one batch (entryCrcs); `at`: the entry being read. */
  actual: Uint32Array | null = null;
  at = 0;
  private cur: NodeBuild | null = null;
  private curLost = false;     // the current node's meta page was lost: its data pages go too
  private stopped = false;     // RFC mode after the first failure: the rest is only given back
  private ghost: Abandoned | null = null;   // after the stop: the node whose entries are being given back
  // After the stop: data pages of the node being loaded that were not loaded.
  private cutFrom = -1;
  private cutTo = -1;
  private cutPages = 0;
  // Salvage: data entries met after a lost link page and before the next file (their file is unknown).
  private orphanPages = 0;
  private orphanLink = 0;

  constructor(private readonly r: ReserveResult, private readonly ctx: LoadContext) {
    this.st = { builds: [], abandoned: [], stopPfn: 0, extraNames: [], losses: [], chainPages: [...r.links], runs: ctx.runs, runHead: ctx.runHead,
      pathOf: new Map(), cutAtGap: [] };
  }

  entry(flags: number, csum: number, pfn: number, index: number, fault: EntryFault, link: number): void {
    if (fault === EntryFault.Gap) { this.gap(link); return; }
    if (fault !== EntryFault.None) { this.faulted(flags, pfn, index, fault); return; }
    const count = entryPages(flags);
    const type = flags & ENTRY_TYPE_MASK;
    if (this.stopped) { this.own(pfn, count); this.abandon(type, pfn, index, count); return; }
    if (this.afterGap && (type === EntryType.Meta || type === EntryType.Node)) { this.endOrphans(); this.afterGap = false; }
    switch (type) {
      case EntryType.Meta: case EntryType.Node: case EntryType.Name: case EntryType.Xattr:
        this.own(pfn, 1);
        this.metaLike(type, csum, pfn, index);
        return;
      case EntryType.Data: case EntryType.Extent:
        this.data(flags, csum, pfn, index, count);
        return;
      default:
        this.own(pfn, count);
        this.fail(pfn, `entry of unknown type ${type} (flags 0x${hex(flags)}) names pfn:${hexPfn(pfn)}`, this.cur);
    }
  }

  /** Pages of the loaded chain that no node adopts: given back after the next commit. */
  private own(pfn: number, count: number): void {
    for (let q = pfn; q < pfn + count; q++) this.st.chainPages.push(q);
  }

  private lose(l: Loss, b: NodeBuild | null = null): void {
    this.st.losses.push(l);
    if (b) this.st.pathOf.set(l, b);
  }

  /** A loss; in RFC mode also the end of the load, logged as the RFC does. */
  private fail(pfn: number, what: string, b: NodeBuild | null = null): void {
    this.lose({ path: b?.path ?? null, pfn, what }, b);
    if (this.r.salvage) return;
    this.ctx.log(`PRAM: pfn:${hexPfn(pfn)} corrupted`);
    this.ctx.log(`PRAM: Failed to load FS tree: ${-EINVAL}`);
    this.stop(pfn);
  }

  /** RFC mode: the rest of the chain is given back unread; every file it held is still named (abandon). */
  private stop(pfn: number): void {
    this.stopped = true;
    this.st.stopPfn = pfn;
  }

  /** An entry after the stop: nothing loads, but the loss report must name what it held. */
  private abandon(type: number, pfn: number, index: number, count: number): void {
    if (type === EntryType.Meta || type === EntryType.Node) {
      this.endCut();
      this.cur = null;
      const img = decodeFileImage(this.ctx.mem.page(pfn));
      this.ghost = img instanceof DecodeError ? { name: null, parent: 1, metaPfn: pfn, dataPages: 0 }
        : { name: img.name || null, parent: img.tail?.parent ?? 1, metaPfn: pfn, dataPages: 0 };
      this.st.abandoned.push(this.ghost);
    } else if (type === EntryType.Data || type === EntryType.Extent) {
      if (this.ghost) this.ghost.dataPages += count;
      else if (this.cur) {
        // The file being loaded when the load stopped keeps what came before; the rest is a hole now.
        if (this.cutFrom < 0 || index < this.cutFrom) this.cutFrom = index;
        this.cutTo = Math.max(this.cutTo, index + count);
        this.cutPages += count;
        this.cur.dataSeen += count;
      }
    }
  }

  /**
   * A damaged link page was skipped: its entries are unknown. The file being read
   * may have gone on in it (its pages from here on are lost), and the data entries
   * after the gap may belong to a file whose META entry was in it: nothing is
   * attributed across the gap (a page of another file would be wrong content).
   */
  private gap(link: number): void {
    this.endOrphans();
    const b = this.cur;
    if (b) this.st.cutAtGap.push({ b, from: b.nextIndex, link });
    this.closeNode(false);
    this.orphanLink = link;
    this.orphanPages = 0;
    this.afterGap = true;
  }
  private afterGap = false;

  /** One loss for the data pages found after a gap that no file can claim. */
  endOrphans(): void {
    if (this.orphanPages === 0) return;
    this.lose({ path: null, pfn: this.orphanLink || null,
      what: `${this.orphanPages} data page(s) after the lost link page${this.orphanLink ? ` pfn:${hexPfn(this.orphanLink)}` : ''} belong to a file whose entries were lost: dropped` });
    this.orphanPages = 0;
  }

  /** End of the stopped node's data: one loss for every page it did not get. */
  endCut(): void {
    const b = this.cur;
    if (!b || this.cutPages === 0) return;
    const ps = this.ctx.mem.pageSize;
    const range = { start: this.cutFrom * ps, end: this.cutTo * ps };
    this.lose({ path: b.path, pfn: this.st.stopPfn, range,
      what: `${this.cutPages} data page(s) at indexes ${this.cutFrom}-${this.cutTo - 1} (bytes ${range.start}-${range.end - 1}) not loaded: the load stopped at pfn:${hexPfn(this.st.stopPfn)}` }, b);
    this.cutPages = 0;
  }

  private closeNode(lost: boolean): void { this.cur = null; this.curLost = lost; }

  /** An entry reserve could not reserve (it logged why): say which file loses what. */
  private faulted(flags: number, pfn: number, index: number, fault: EntryFault): void {
    const t = flags & ENTRY_TYPE_MASK, n = entryPages(flags), ps = this.ctx.mem.pageSize;
    const why = faultText(fault);
    const shown = pfn ? `pfn:${hexPfn(pfn)}` : 'a pfn outside memory';
    const cur = this.cur;
    if ((t === EntryType.Data || t === EntryType.Extent) && cur) {
      cur.dataSeen += n;
      const range = { start: index * ps, end: (index + n) * ps };
      this.lose({ path: cur.path, pfn: pfn || null, range,
        what: `data page${n > 1 ? 's' : ''} ${index} (bytes ${range.start}-${range.end - 1}) lost: entry names ${shown}: ${why}` }, cur);
    } else if (t === EntryType.Meta || t === EntryType.Node) {
      this.closeNode(true);
      this.lose({ path: null, pfn: pfn || null, what: `meta page ${shown} lost (${why}): the file it describes is lost with its data` });
    } else if (cur || !this.curLost) {
      this.lose({ path: cur?.path ?? null, pfn: pfn || null, what: `entry of type ${t} naming ${shown} lost: ${why}` }, cur);
    }
    if (!this.r.salvage) this.stop(pfn);
  }

  private metaLike(type: number, csum: number, pfn: number, index: number): void {
    const page = this.ctx.mem.page(pfn);
    const actual = crc32c(page);
    const cur = this.cur;
    if (actual !== csum) {
      const what = `${typeName(type)} page pfn:${hexPfn(pfn)} failed crc32c (saved 0x${hex(csum)}, computed 0x${hex(actual)})`;
      if (type === EntryType.Meta || type === EntryType.Node) { this.closeNode(true); this.fail(pfn, `${what}: the file it describes is lost with its data`); }
      else this.fail(pfn, what, cur);
      return;
    }
    if (type === EntryType.Name) {
      const n = decodeNamePage(page);
      if (n instanceof DecodeError) this.fail(pfn, `NAME page pfn:${hexPfn(pfn)}: ${n.message}`);
      else this.st.extraNames.push(n);
      return;
    }
    if (type === EntryType.Xattr) {
      const part = decodeXattrPage(page);
      if (!cur) this.fail(pfn, `XATTR page pfn:${hexPfn(pfn)} follows no file`);
      else if (part instanceof DecodeError) this.fail(pfn, `XATTR page pfn:${hexPfn(pfn)}: ${part.message}`, cur);
      else if (index !== cur.xattrParts.length) this.fail(pfn, `XATTR page pfn:${hexPfn(pfn)} out of order (index ${index})`, cur);
      else (cur.xattrParts === NO_PARTS ? (cur.xattrParts = []) : cur.xattrParts).push(Uint8Array.from(part));
      return;
    }
    this.openNode(type, pfn, page);
  }

  private openNode(type: number, pfn: number, page: Buffer): void {
    this.closeNode(true);
    const img = decodeFileImage(page);
    const at = `${typeName(type)} page pfn:${hexPfn(pfn)}`;
    if (img instanceof DecodeError) { this.fail(pfn, `${at}: ${img.message}`); return; }
    if (type === EntryType.Meta && (img.mode & S_IFMT) !== S_IFREG) { this.fail(pfn, `${at} '${img.name}': mode 0${img.mode.toString(8)} is not a regular file`); return; }
    if (type === EntryType.Node && !img.tail) { this.fail(pfn, `${at} '${img.name}' has no valid tail`); return; }
    const isRoot = img.tail?.ino === 1;
    if ((img.name === '') !== isRoot) { this.fail(pfn, `${at}: ${isRoot ? 'root has a name' : 'empty name'}`); return; }
    const t = img.tail;
    const node: NodeImage = {
      ino: t?.ino ?? 0, mode: img.mode, uid: t?.uid ?? 0, gid: t?.gid ?? 0, rdev: t?.rdev ?? 0, size: img.size,
      atimeNs: t?.atimeNs ?? 0n, mtimeNs: t?.mtimeNs ?? 0n, ctimeNs: t?.ctimeNs ?? 0n,
      names: isRoot ? [] : [{ parent: t?.parent ?? 1, name: img.name }],
      xattrs: [], pages: this.ctx.newPageMap(),
    };
    this.cur = { node, tail: t, metaPfn: pfn, dataSeen: 0, nextIndex: 0, placed: 0, xattrParts: t?.xattrInline ? [Uint8Array.from(t.xattrInline)] : NO_PARTS, path: img.name };
    this.curLost = false;
    this.st.builds.push(this.cur);
  }

  private data(flags: number, csum: number, pfn: number, index: number, count: number): void {
    const b = this.cur;
    if (!b) {
      // Only this page is lost (its file's meta page, if any, was reported already).
      this.own(pfn, count);
      if (this.afterGap) { this.orphanPages += count; return; }
      if (!this.curLost) this.lose({ path: null, pfn, what: `data page pfn:${hexPfn(pfn)} (index ${index}) follows no file: dropped` });
      return;
    }
    const { mem, frames } = this.ctx;
    const ps = mem.pageSize;
    b.dataSeen += count;
    // Chains list a file's pages in ascending order: only an index below the next expected one can repeat.
    let dup = false;
    if (index < b.nextIndex) for (let k = 0; k < count && !dup; k++) dup = b.node.pages.get(index + k) !== 0;
    if (dup || index + count > Math.ceil(b.node.size / ps)) {
      // A page past the size (what fallocate KEEP_SIZE leaves) or a second copy of an index:
      // only that page is dropped, the file and the rest of the chain load (the RFC loads them too).
      const range = { start: index * ps, end: (index + count) * ps };
      this.own(pfn, count);
      this.lose({ path: b.path, pfn, range, what: `data page pfn:${hexPfn(pfn)}${count > 1 ? `+${count}` : ''} index ${index}: ` +
        (dup ? 'index already present: this copy dropped' : `beyond the file size ${b.node.size}: dropped`) }, b);
      return;
    }
    if (index + count > b.nextIndex) b.nextIndex = index + count;
    // Adopt: the page now belongs to the node and to the committed checkpoint.
    let flagsOut: number = PageFlag.Frozen | (flags & ENTRY_LRU ? PageFlag.Lru : 0);
    if (count > 1) {
      this.st.runs.set(pfn, { count, csum });
      this.st.runHead.mark(pfn, count);
      flagsOut |= PageFlag.Dirty;                 // no per-page checksum is known for pages of a run
    }
    if (this.ctx.verify === 'lazy') {
      flagsOut |= PageFlag.Unverified;
      if (count === 1) frames.csum[pfn] = csum;   // the expected value, checked on first read
    } else {
      const actual = this.actual![this.at]!;
      if (count === 1) frames.csum[pfn] = actual;
      if (actual !== csum) {
        flagsOut |= PageFlag.Bad;
        if (count === 1) frames.csum[pfn] = csum; // keep the saved value: the damage stays detectable
        const range = { start: index * ps, end: (index + count) * ps };
        const what = `data page${count > 1 ? 's' : ''} ${index}${count > 1 ? `-${index + count - 1}` : ''} ` +
          `(bytes ${range.start}-${range.end - 1}) failed crc32c (saved 0x${hex(csum)}, computed 0x${hex(actual)})`;
        if (!this.r.salvage) { this.own(pfn, count); this.fail(pfn, what, b); return; }
        this.lose({ path: b.path, pfn, range, what }, b);
      }
    }
    const pages = b.node.pages;
    if (count === 1) { frames.flags[pfn] = flagsOut; pages.set(index, pfn); return; }
    frames.flags.fill(flagsOut, pfn, pfn + count);
    if (pages.setRun) pages.setRun(index, pfn, count);
    else for (let k = 0; k < count; k++) pages.set(index + k, pfn + k);
  }
}

function typeName(t: number): string {
  return t === EntryType.Meta ? 'META' : t === EntryType.Node ? 'NODE' : t === EntryType.Name ? 'NAME' : 'XATTR';
}

export function hex(v: number): string { return v.toString(16).padStart(8, '0'); }
