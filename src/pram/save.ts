// Save (a checkpoint): write a complete new chain for the given nodes -- a
// META/NODE page per node (RFC file image + v2 tail), XATTR and NAME pages when
// needed, DATA or EXTENT entries for its pages, packed into link pages that
// carry a skip pointer to the link after next. Data pages are referenced, not
// copied, except a page in a banned region, which is copied to an allowed page
// with the LRU flag cleared (RFC), and a node's inline bytes (image.ts), which
// the chain has no form for: they are written into a data page of the chain.
// Checksums are computed only for pages written since their last checksum. Publishing the chain and freeing the old
// one is pram.ts's; on ENOSPC this writer frees what it allocated and the
// previous checkpoint is untouched.

import type { PhysMem } from '../mem/physmem.js';
import { Owner, PageFlag, type PageFrames } from '../boot/frames.js';
import type { BannedRegions } from '../boot/banned.js';
import type { PageAllocator } from '../boot/allocator.js';
import { ENOSPC } from '../format/errno.js';
import { publishProgress } from '../format/progress.js';
import { crc32c } from '../format/crc.js';
import { EntryType, ENTRY_LRU, FileImageView, LinkPageView, NAME_MAX, linkLenMax } from '../format/v1.js';
import { EXTENT_PAGES_MAX, MetaTailView, encodeXattrs, extentFlags, writeNamePage, xattrInlineMax, xattrPagePayload, XATTR_PAGE_HEADER } from '../format/v2.js';
import type { NodeImage } from './image.js';
import type { TreeShape } from './ledger.js';
import { runCsum, type Run } from './load.js';
import { EntryFault, EntryTable } from './types.js';
import { RunHeads } from './runheads.js';
import { assert } from '../format/assert.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../format/mode.js';

export interface SaveContext {
  mem: PhysMem;
  frames: PageFrames;
  allocator: PageAllocator;
  banned: BannedRegions;
  extents: boolean;
  runs: Map<number, Run>;
  runHead: RunHeads;
  /** Verify an unverified page (lazy load) now; afterwards its flags say Bad or not. */
  verify(pfn: number): void;
}

export interface SavedChain {
  headPfn: number;
  links: number[];
  metaPages: number[];   // META/NODE/NAME/XATTR pages
  copies: number[];      // data pages written for this chain: banned pages copied, inline bytes
  dataPfns: number[];    // the fs's data pages the chain references (to freeze)
  entries: number;
  nodes: number;
}

class ENOSPCError { }

/**
 * The cost model of this chain for the space ledger: pages writeChain allocates
 * at most for a tree of this shape (records, copies and inline nodes one page
 * each, and link pages for every entry; extents and the v1 root only make it smaller).
 */
export function chainPagesFor(shape: Readonly<TreeShape>, pageSize: number): number {
  const entries = shape.records + shape.data + shape.copies + shape.inline;
  return shape.records + shape.copies + shape.inline + Math.ceil(entries / linkLenMax(pageSize));
}

/** Record pages a node's xattrs take in the chain: none while they fit inline in its META page. */
export function xattrRecords(xattrs: readonly [string, Uint8Array][], pageSize: number): number {
  if (xattrs.length === 0) return 0;
  const bytes = encodeXattrs(xattrs).length;
  return bytes <= xattrInlineMax(pageSize) ? 0 : Math.ceil(bytes / xattrPagePayload(pageSize));
}

/**
 * The first node that keeps the image from being written with META and DATA
 * entries only (what the RFC's loader reads), and why; null when none does.
 */
export function rfcObstacle(nodes: readonly NodeImage[], pageSize: number): { node: NodeImage; why: string } | null {
  for (const n of nodes) {
    if (n.ino === 1) {
      if (n.xattrs.length) return { node: n, why: 'the root directory has xattrs: v1 has no place for the root\'s attributes' };
      continue;
    }
    if ((n.mode & S_IFMT) !== S_IFREG) return { node: n, why: `not a regular file (${fileKind(n.mode)}): v1 holds regular files only` };
    if (n.names.length !== 1) return { node: n, why: `a hard link (${n.names.length} names): v1 names each file once` };
    if (n.names[0]!.parent !== 1) return { node: n, why: 'not in the root directory: v1 has no directories' };
    const bytes = n.xattrs.length ? encodeXattrs(n.xattrs).length : 0;
    if (bytes > xattrInlineMax(pageSize)) {
      return { node: n, why: `xattrs of ${bytes} bytes: v1 keeps at most ${xattrInlineMax(pageSize)} bytes of xattrs, in the META page's tail` };
    }
  }
  return null;
}

/** True when the image can be written with META and DATA entries only (readable by the RFC). */
export function rfcCompatible(nodes: readonly NodeImage[], pageSize: number): boolean {
  return rfcObstacle(nodes, pageSize) === null;
}

function fileKind(mode: number): string {
  const kinds: Record<number, string> = { [S_IFDIR]: 'a directory', [S_IFLNK]: 'a symlink', [S_IFCHR]: 'a character device',
    [S_IFBLK]: 'a block device', [S_IFIFO]: 'a fifo', [S_IFSOCK]: 'a socket' };
  return kinds[mode & S_IFMT] ?? `mode ${mode.toString(8)}`;
}

/**
 * A pure v1 chain of an image v1 can express (rfcObstacle: null): META and
 * DATA entries only, whatever the arena saves with. It is written into free
 * pages and published nowhere: data pages are referenced, not copied (banned
 * ones are), so it stays valid until those pages change. -ENOSPC as writeChain.
 */
export function writeV1Chain(nodes: readonly NodeImage[], ctx: Omit<SaveContext, 'extents' | 'runs' | 'runHead'>): SavedChain | number {
  assert(rfcCompatible(nodes, ctx.mem.pageSize), 'a v1 chain is written only for an image v1 can express');
  return writeChain(nodes, { ...ctx, extents: false, runs: new Map(), runHead: new RunHeads(0) });
}

export function writeChain(input: Iterable<NodeImage>, ctx: SaveContext): SavedChain | number {
  const nodes = [...input];
  const { mem, frames, allocator } = ctx;
  const ps = mem.pageSize;
  const out: SavedChain = { headPfn: 0, links: [], metaPages: [], copies: [], dataPfns: [], entries: 0, nodes: 0 };
  let estimate = 0;
  for (const n of nodes) estimate += 1 + n.names.length + n.pages.count + (n.inline?.length ? 1 : 0);
  const table = new EntryTable(estimate + 16);
  const add = (flags: number, csum: number, pfn: number, index: number) => table.push(flags, csum, pfn, index, 0, EntryFault.None);
  const alloc = (owner: Owner): number => {
    const pfn = allocator.alloc(owner);
    if (pfn < 0) throw new ENOSPCError();
    return pfn;
  };
  const compat = rfcCompatible(nodes, ps);

  try {
    nodes.forEach((n, i) => {
      if ((i & 255) === 0) publishProgress('save', i, nodes.length, 'files');
      if (compat && n.ino === 1) return;   // v1 has no place for the root's attributes
      out.nodes++;
      writeNode(n);
    });
    publishProgress('save', nodes.length, nodes.length, 'files');
    const max = linkLenMax(ps);
    const nLinks = Math.ceil(table.length / max);
    for (let k = 0; k < nLinks; k++) { const p = alloc(Owner.Link); out.links.push(p); }
    for (let k = 0; k < nLinks; k++) {
      const page = mem.page(out.links[k]!);
      page.fill(0);
      const link = new LinkPageView(page);
      const first = k * max, len = Math.min(max, table.length - first);
      link.len = len;
      link.linkPfn = out.links[k + 1] ?? 0;
      const after = out.links[k + 2] ?? 0;
      link.pad = after < 2 ** 32 ? after : 0;   // skip pointer: lets a loader step over one damaged link page
      for (let i = 0; i < len; i++) {
        const e = link.entry(i), j = first + i;
        e.flags = table.flags[j]!; e.csum = table.csum[j]!; e.pfn = table.pfn[j]!; e.index = table.index[j]!;
      }
      link.seal();
    }
    out.headPfn = out.links[0] ?? 0;
    out.entries = table.length;
    return out;
  } catch (e) {
    if (!(e instanceof ENOSPCError)) throw e;
    publishProgress('save', nodes.length, nodes.length, 'files');
    for (const p of [...out.links, ...out.metaPages, ...out.copies]) allocator.free(p);
    return -ENOSPC;
  }

  function writeNode(n: NodeImage): void {
    const metaPfn = alloc(Owner.Meta);
    out.metaPages.push(metaPfn);
    const page = mem.page(metaPfn);
    page.fill(0);
    const img = new FileImageView(page);
    img.size = n.size; img.mode = n.mode;
    const primary = n.names[0];
    img.setName(primary?.name ?? '');
    const blob = n.xattrs.length ? encodeXattrs(n.xattrs) : null;
    const inline = blob && blob.length <= xattrInlineMax(ps) ? blob : null;
    const xattrPages = blob && !inline ? Math.ceil(blob.length / xattrPagePayload(ps)) : 0;
    new MetaTailView(page).write({
      ino: n.ino, parent: primary?.parent ?? 0, uid: n.uid, gid: n.gid, rdev: n.rdev,
      atimeNs: n.atimeNs, mtimeNs: n.mtimeNs, ctimeNs: n.ctimeNs, dataPages: n.inline?.length ? 1 : n.pages.count,
      nlink: n.names.length, xattrPages, xattrBytes: blob?.length ?? 0, xattrInline: inline,
    });
    const type = (n.mode & S_IFMT) === S_IFREG ? EntryType.Meta : EntryType.Node;
    add(type, crc32c(page), metaPfn, 0);
    for (let k = 0; k < xattrPages; k++) {
      const xp = alloc(Owner.Meta);
      out.metaPages.push(xp);
      const b = mem.page(xp);
      b.fill(0);
      const part = blob!.subarray(k * xattrPagePayload(ps), (k + 1) * xattrPagePayload(ps));
      b.writeUInt32LE(part.length, 0);
      b.set(part, XATTR_PAGE_HEADER);
      add(EntryType.Xattr, crc32c(b), xp, k);
    }
    writeData(n);
    for (const extra of n.names.slice(1)) {
      const np = alloc(Owner.Meta);
      out.metaPages.push(np);
      const b = mem.page(np);
      writeNamePage(b, { target: n.ino, parent: extra.parent, name: extra.name.slice(0, NAME_MAX) });
      add(EntryType.Name, crc32c(b), np, 0);
    }
  }

  function writeData(n: NodeImage): void {
    if (n.inline?.length) { writeInline(n.inline); return; }
    let pend: [index: number, pfn: number][] = [];
    for (const [index, pfn] of n.pages.entries()) {
      if (ctx.extents && pend.length && extendable(pend, index, pfn)) { pend.push([index, pfn]); continue; }
      flush(pend);
      pend = [[index, pfn]];
    }
    flush(pend);
  }

  function extendable(pend: [number, number][], index: number, pfn: number): boolean {
    const [li, lp] = pend[pend.length - 1]!;
    return index === li + 1 && pfn === lp + 1 && !ctx.banned.contains(pfn);
  }

  // Emit a physically and logically contiguous group: cached runs as they were,
  // verified pages as new runs of at most EXTENT_PAGES_MAX, the rest one by one.
  function flush(pend: [number, number][]): void {
    let k = 0;
    while (k < pend.length) {
      const [index, pfn] = pend[k]!;
      const cached = ctx.extents && ctx.runHead.isHead(pfn) ? ctx.runs.get(pfn) : undefined;
      if (ctx.extents && cached && k + cached.count <= pend.length && !anyBanned(pfn, cached.count)) {
        add(extentFlags(cached.count, true), cached.csum, pfn, index);
        for (let q = 0; q < cached.count; q++) out.dataPfns.push(pfn + q);
        k += cached.count;
        continue;
      }
      let len = 0;
      if (ctx.extents) {
        while (k + len < pend.length && len < EXTENT_PAGES_MAX) {
          const q = pend[k + len]![1];
          if (len > 0 && ctx.runHead.isHead(q)) break;        // let a cached run start there
          if (frames.flags[q]! & PageFlag.Unverified) ctx.verify(q);
          if (frames.flags[q]! & (PageFlag.Bad | PageFlag.Unverified) || ctx.banned.contains(q)) break;
          len++;
        }
      }
      if (len >= 2) {
        const csum = runCsum(mem, pfn, len);
        add(extentFlags(len, true), csum, pfn, index);
        for (let q = pfn; q < pfn + len; q++) { frames.flags[q]! |= PageFlag.Dirty; out.dataPfns.push(q); }
        ctx.runHead.mark(pfn, len);
        ctx.runs.set(pfn, { count: len, csum });
        k += len;
        continue;
      }
      single(index, pfn);
      k++;
    }
  }

  // Inline bytes become page 0 of an ordinary file (zero past the end); the page is the chain's, freed with it.
  function writeInline(bytes: Uint8Array): void {
    if (!(bytes.length <= ps)) assert(false, `inline bytes (${bytes.length}) fit a page`);
    const pfn = alloc(Owner.Data);
    out.copies.push(pfn);
    const page = mem.page(pfn);
    page.fill(0);
    page.set(bytes);
    add(EntryType.Data, crc32c(page), pfn, 0);        // never in the page cache: no LRU, as a copy
  }

  function anyBanned(pfn: number, count: number): boolean {
    for (let q = pfn; q < pfn + count; q++) if (ctx.banned.contains(q)) return true;
    return false;
  }

  function single(index: number, pfn: number): void {
    let f = frames.flags[pfn]!;
    if ((f & PageFlag.Unverified) && (f & PageFlag.Dirty)) { ctx.verify(pfn); f = frames.flags[pfn]!; }
    if (ctx.banned.contains(pfn)) {
      const copy = alloc(Owner.Data);
      out.copies.push(copy);
      mem.page(copy).set(mem.page(pfn));
      const c = (f & PageFlag.Bad) ? badCsum(pfn, f) : crc32c(mem.page(copy));
      add(EntryType.Data, c, copy, index);            // a copy was never in the page cache: no LRU
      return;
    }
    let csum: number;
    if (f & PageFlag.Bad) csum = badCsum(pfn, f);
    else if (f & PageFlag.Unverified) csum = frames.csum[pfn]!;      // the saved value, still to be checked
    else if (f & PageFlag.Dirty) {
      csum = crc32c(mem.page(pfn));
      frames.csum[pfn] = csum;
      frames.flags[pfn] = f & ~PageFlag.Dirty;
    } else csum = frames.csum[pfn]!;
    add(EntryType.Data | ENTRY_LRU, csum, pfn, index);
    out.dataPfns.push(pfn);
  }

  /** A page known to be damaged keeps a checksum that cannot match it, so the damage stays visible. */
  function badCsum(pfn: number, f: number): number {
    return f & PageFlag.Dirty ? (~crc32c(mem.page(pfn))) >>> 0 : frames.csum[pfn]!;
  }
}
