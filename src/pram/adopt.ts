// Load of a replayed v3 log (replay.ts reserved its pages): nodes with their
// names and page maps, data pages adopted in place (Frozen; verified now, or
// lazily on first read against their run's checksum), and every loss said
// exactly. A node whose rebuilt page map disagrees with its INODE record, or
// that an appended commit with a damaged record changed, cannot be trusted:
// its pages and the holes inside its size read EIO until rewritten — never
// zeros or an older version in place of what was written.

import type { PageAllocator } from '../boot/allocator.js';
import { Owner, PageFlag } from '../boot/frames.js';
import { decodeXattrs } from '../format/v2.js';
import { MAP_LRU, type SpanRecord } from '../format/v3.js';
import { DecodeError } from '../format/reader.js';
import type { Loss, NodeImage, NodeName, PageMap } from './image.js';
import type { LoadContext } from './load.js';
import { logRunCrcs } from './verify.js';
import { RUN, type LogReplay, type ReplayNode } from './replay.js';
import { SPAN, spanPages, type SpanCrcs } from './spans.js';
import { LaterPageMap } from './laterpages.js';

/** Most pages one damaged file's holes may be poisoned with (hostile sizes stay bounded). */
const MAX_POISON = 1 << 16;

/** The v2 load's context (what pages, maps and runs are adopted into), and what poisoning holes needs. */
export interface AdoptContext extends Omit<LoadContext, 'log'> {
  allocator: PageAllocator;
  readOnly: boolean;
  /**
   * A lazy mount's group loads: a whole, trusted file of at least `minPages` pages is adopted on first use
   * (laterpages.ts): `made` told of each one kept for later, `built` when it is adopted. Absent: every file is adopted with its node.
   */
  later?: { minPages: number; made: (map: LaterPageMap) => void; built: (pages: PageMap) => void };
}

/** A loaded node with data pages, kept for lazy verification: which file a failed first read names (verify.ts). */
export interface AdoptedPages { node: { pages: NodeImage['pages'] }; path: string }

export interface Adopted { nodes: NodeImage[]; losses: Loss[]; builds: AdoptedPages[]; dataPages: number }

/** What a loss of the node being adopted is told with; one per load, not a closure per node. */
export type LoseFn = (what: string, pfn?: number | null, range?: { start: number; end: number }) => void;

export function adoptLog(rp: LogReplay, ctx: AdoptContext): Adopted {
  const losses: Loss[] = [...rp.losses];
  // Each node's names go on its replay node; only directories' first names are kept apart (paths), and names of lost nodes.
  const { firstNames, lost } = attachNames(rp);
  const paths = new Map<number, string>();
  let ino = 0, current: NodeName[] | null = null;       // the node being adopted and its names
  const pathOf = (at: number, depth = 0): string => {
    if (at === 1) return '/';
    const known = paths.get(at);
    if (known) return known;
    const n = at === ino && current ? current[0] : firstNames.get(at);
    if (!n || depth > 4096) return `(ino ${at})`;
    const dir = pathOf(n.parent, depth + 1);
    const p = dir === '/' ? `/${n.name}` : `${dir}/${n.name}`;
    paths.set(at, p);
    return p;
  };
  for (const [at, list] of lost) {
    for (const n of list) losses.push({ path: `${pathOf(n.parent)}${n.parent === 1 ? '' : '/'}${n.name}`, pfn: null, what: `name names ino ${at}, whose INODE record was lost: dropped` });
  }

  const nodes: NodeImage[] = [];
  const builds: AdoptedPages[] = [];
  const tally = { dataPages: 0 };
  if (ctx.verify === 'full') logRunCrcs(ctx.mem, rp, ctx.frames.csum);   // every run at once, on both cores
  // The path is built only when a loss names it (a string per node cost ~1 µs at mount).
  const none = ctx.newPageMap();
  const lose: LoseFn = (what, pfn = null, range) => losses.push(range ? { path: pathOf(ino), pfn, what, range } : { path: pathOf(ino), pfn, what });
  for (const [at, rn] of rp.nodes) {
    ino = at;
    current = rn.names;
    rp.nodes.delete(at);   // its records go as it is adopted: the replay is not held whole beside the images
    const node = adoptNode(ctx, ino, rn, rn.names ?? undefined, none, rp.crcs, tally, lose);
    nodes.push(node);
    // Only a node with pages can fail a first read; its path is made now (the names are not kept past the load).
    if (ctx.verify === 'lazy' && node.pages.count > 0) builds.push({ node: { pages: node.pages }, path: pathOf(ino) });
  }
  rp.names.clear();
  return { nodes, losses, builds, dataPages: tally.dataPages };
}

/**
 * Who names each ino (parent, name), from the replayed directories, put on its replay
 * node (no map of every ino); the first name of each directory (paths are built
 * from them), and the names of inos whose INODE record was lost.
 */
function attachNames(rp: LogReplay): { firstNames: Map<number, NodeName>; lost: Map<number, NodeName[]> } {
  const lost = new Map<number, NodeName[]>();
  for (const [parent, dir] of rp.names) for (const [name, ino] of dir) {
    const n = rp.nodes.get(ino);
    const list = n ? n.names : lost.get(ino);
    if (list) list.push({ parent, name });
    else if (n) n.names = [{ parent, name }];
    else lost.set(ino, [{ parent, name }]);
  }
  const firstNames = new Map<number, NodeName>();
  for (const dir of rp.names.keys()) {
    const first = rp.nodes.get(dir)?.names?.[0] ?? lost.get(dir)?.[0];
    if (first) firstNames.set(dir, first);
  }
  return { firstNames, lost };
}

/** Shared by every node without xattrs (most): a load never changes a node's xattr list (fs/ copies it). */
const NO_XATTRS: [string, Uint8Array][] = [];
/** Shared by the root and every nameless node: never changed (fs/ reads it only). */
const NO_NAMES: NodeName[] = [];

/**
 * One replayed node as an image (`none`: the load's one empty page map, shared by every node that maps nothing; never written): its page runs adopted in place, its damage poisoned and told.
 * `spans`: its pages instead, SPAN records in file order holding as many pages as its INODE says (spans.ts spansInOrder; rn holds none).
 */
export function adoptNode(ctx: AdoptContext, ino: number, rn: ReplayNode, named: NodeName[] | undefined, none: PageMap, crcs: SpanCrcs,
  tally: { dataPages: number }, lose: LoseFn, spans?: readonly SpanRecord[]): NodeImage {
  const r = rn.rec;
  let xattrs = NO_XATTRS;
  if (r.xattrs.length) {
    const x = decodeXattrs(r.xattrs);
    if (x instanceof DecodeError) lose(`extended attributes unreadable (${x.message}): dropped`);
    else xattrs = x;
  }
  const node: NodeImage = {
    ino, mode: r.mode, uid: r.uid, gid: r.gid, rdev: r.rdev, size: r.size,
    // Equal times share one BigInt (most files: mtime = ctime, often atime too): 24 heap bytes each kept by the inode.
    atimeNs: r.atimeNs === r.mtimeNs ? r.mtimeNs : r.atimeNs === r.ctimeNs ? r.ctimeNs : r.atimeNs,
    mtimeNs: r.mtimeNs, ctimeNs: r.ctimeNs === r.mtimeNs ? r.mtimeNs : r.ctimeNs,
    // inline set here, null or not: every image has one shape (fs/ reads 10^4 of them a group: no second hidden class).
    names: ino === 1 ? NO_NAMES : named ?? NO_NAMES, xattrs, pages: none, inline: r.inline.length ? r.inline : null,
  };
  if (spans) {
    const adopt = (pages: PageMap) => { for (const s of spans) adoptSpan(ctx, pages, s.index, s.pfn, s.count, crcs.ofRecord(s), s.flags & MAP_LRU ? PageFlag.Lru : 0, false, lose); return pages; };
    for (const s of spans) tally.dataPages += s.count;
    node.pages = deferred(ctx, r.pages, adopt) ?? adopt(ctx.newPageMap());
    return node;
  }
  if (!rn.groups && !rn.blocks && !rn.poison && r.pages === 0) return node;   // most small files: nothing mapped
  const groups = rn.groups ? [...rn.groups.keys()].sort((a, b) => a - b) : [];
  let count = spanPages(rn);
  for (const g of groups) { const runs = rn.groups!.get(g)!; for (let k = 0; k < runs.length; k += RUN) count += runs[k + 2]!; }
  let why: string | null = null;
  if (count !== r.pages) why = `its page map holds ${count} page(s), its INODE record says ${r.pages} (a MAP, SPAN or UNMAP record was lost)`;
  tally.dataPages += count;
  const adopt = (pages: PageMap) => {
    eachInOrder(rn, groups, (runs, k, span) => {
      const lru = runs[k + 4]! & MAP_LRU ? PageFlag.Lru : 0;
      if (span) adoptSpan(ctx, pages, runs[k]!, runs[k + 1]!, runs[k + 2]!, crcs.of(runs[k + 3]!, runs[k + 2]!), lru, why !== null, lose);
      else adoptRun(ctx, pages, runs[k]!, runs[k + 1]!, runs[k + 2]!, runs[k + 3]!, lru, why !== null, lose);
    });
    return pages;
  };
  // A file whose page map is in doubt or has lost pages is adopted now: its poisoned pages and its losses are the load's.
  const later = why === null && !rn.poison ? deferred(ctx, count, adopt) : null;
  if (later) { node.pages = later; return node; }
  node.pages = adopt(ctx.newPageMap());
  if (why !== null) lose(`${why}: its content cannot be trusted and reads EIO until rewritten`);
  if (rn.poison || why !== null) tally.dataPages += poison(ctx, node, rn, why !== null, lose);
  return node;
}

/**
 * A later map for a file of `count` pages whose adoption `adopt` does (into a fresh map), or null: adopted now
 * (a full load, a full verification, or a small file: a closure kept per file costs as much as adopting it).
 * Adopting later loses nothing it would report now: a lazy load's adoption of trusted runs and spans tells no loss.
 */
function deferred(ctx: AdoptContext, count: number, adopt: (pages: PageMap) => PageMap): LaterPageMap | null {
  const l = ctx.later;
  if (!l || ctx.verify !== 'lazy' || count < l.minPages) return null;
  const map = new LaterPageMap(count, () => adopt(ctx.newPageMap()), l.built);
  l.made(map);
  return map;
}

/** Offsets of a group's runs (RUN numbers each; SPAN numbers for a block's spans: both start index, pfn, count) in file order. */
function byIndex(runs: number[], step: number): number[] {
  const at: number[] = [];
  let sorted = true;
  for (let k = 0; k < runs.length; k += step) { if (k > 0 && runs[k]! < runs[k - step]!) sorted = false; at.push(k); }
  return sorted ? at : at.sort((a, b) => runs[a]! - runs[b]!);
}

/**
 * The node's runs and spans in file order, each as (its array, offset, is a span):
 * a page map fills fastest in order (a file loaded front to back stays one compact run).
 */
function eachInOrder(rn: ReplayNode, groups: number[], f: (runs: number[], k: number, span: boolean) => void): void {
  const blocks = rn.blocks ? [...rn.blocks.keys()].sort((a, b) => a - b) : [];
  if (blocks.length === 0 || groups.length === 0) {
    for (const g of groups) { const runs = rn.groups!.get(g)!; for (const k of byIndex(runs, RUN)) f(runs, k, false); }
    for (const b of blocks) { const spans = rn.blocks!.get(b)!; for (const k of byIndex(spans, SPAN)) f(spans, k, true); }
    return;
  }
  // Both (a compacted file changed since): the runs in file order and the spans in file order, merged by first index
  // (runs and spans never overlap; a tie, in a hostile log, takes the run first, as the stable sort of them all did).
  // No tuple per run and no sort of them all: a file a tail's writes cut had ~600 runs and spans.
  const r = inOrder(rn.groups!, groups, RUN), s = inOrder(rn.blocks!, blocks, SPAN);
  let i = 0, j = 0;
  while (i < r.arrays.length || j < s.arrays.length) {
    if (j >= s.arrays.length || (i < r.arrays.length && r.arrays[i]![r.at[i]!]! <= s.arrays[j]![s.at[j]!]!)) { f(r.arrays[i]!, r.at[i]!, false); i++; }
    else { f(s.arrays[j]!, s.at[j]!, true); j++; }
  }
}

/** The runs (or spans) of keys `keys` (ascending) of `by`, in file order: each as its array and offset in it. */
function inOrder(by: Map<number, number[]>, keys: number[], step: number): { arrays: number[][]; at: number[] } {
  const arrays: number[][] = [], at: number[] = [];
  for (const key of keys) { const a = by.get(key)!; for (const k of byIndex(a, step)) { arrays.push(a); at.push(k); } }
  return { arrays, at };
}

/**
 * A span's pages adopted: each page its own checksum (copied in one block),
 * verified now against logRunCrcs' values (full) or on first read (lazy); a
 * failed page is lost alone.
 */
function adoptSpan(ctx: AdoptContext, pages: PageMap, index: number, pfn: number, count: number, crcs: Uint32Array, lru: number,
  distrust: boolean, lose: LoseFn): void {
  const { frames } = ctx;
  const ps = ctx.mem.pageSize;
  const flags = PageFlag.Frozen | lru | (distrust ? PageFlag.Bad | PageFlag.Dirty : ctx.verify === 'lazy' ? PageFlag.Unverified : 0);
  frames.flags.fill(flags, pfn, pfn + count);
  if (!distrust && ctx.verify === 'full') {
    for (let k = 0; k < count; k++) {
      const actual = frames.csum[pfn + k]!, saved = crcs[k]!;    // actual: computed by logRunCrcs
      if (actual === saved) continue;
      frames.flags[pfn + k]! |= PageFlag.Bad;
      const range = { start: (index + k) * ps, end: (index + k + 1) * ps };
      lose(`data page ${index + k} (bytes ${range.start}-${range.end - 1}) failed crc32c (saved 0x${saved.toString(16)}, computed 0x${actual.toString(16)})`, pfn + k, range);
    }
  }
  if (!distrust) frames.csum.set(crcs, pfn);
  if (pages.setRun) pages.setRun(index, pfn, count);
  else for (let k = 0; k < count; k++) pages.set(index + k, pfn + k);
}

function adoptRun(ctx: AdoptContext, pages: PageMap, index: number, pfn: number, count: number, csum: number, lru: number,
  distrust: boolean, lose: LoseFn): void {
  const { mem, frames } = ctx;
  const ps = mem.pageSize;
  let flags: number = PageFlag.Frozen | lru;
  // Distrusted pages stay damaged in every later commit: a checksum that cannot match (records.ts, Bad and Dirty).
  if (distrust) flags |= PageFlag.Bad | PageFlag.Dirty;
  else if (count > 1) {
    ctx.runs.set(pfn, { count, csum });
    ctx.runHead.mark(pfn, count);
    flags |= PageFlag.Dirty;                  // no per-page checksum is known for pages of a run
  }
  if (distrust) {
    // nothing to verify: the page map itself is in doubt
  } else if (ctx.verify === 'lazy') {
    flags |= PageFlag.Unverified;
    if (count === 1) frames.csum[pfn] = csum;
  } else {
    const actual = frames.csum[pfn]!;          // computed by logRunCrcs
    frames.csum[pfn] = csum;
    if (actual !== csum) {
      flags |= PageFlag.Bad;
      const range = { start: index * ps, end: (index + count) * ps };
      lose(`data page${count > 1 ? 's' : ''} ${index}${count > 1 ? `-${index + count - 1}` : ''} (bytes ${range.start}-${range.end - 1}) ` +
        `failed crc32c (saved 0x${csum.toString(16)}, computed 0x${actual.toString(16)})`, pfn, range);
    }
  }
  frames.flags.fill(flags, pfn, pfn + count);
  // A lone page as a run too: the map keeps a load's runs as runs (fs/pagemap.ts); a set() would fill its chunks.
  if (pages.setRun) pages.setRun(index, pfn, count);
  else for (let k = 0; k < count; k++) pages.set(index + k, pfn + k);
}

/**
 * Indexes known lost (a run that could not be claimed, a partly unmapped run) and,
 * for a node that cannot be trusted, every hole inside its size: a Bad page each, so
 * they read EIO, not zeros. Returns the pages taken.
 */
function poison(ctx: AdoptContext, node: NodeImage, rn: ReplayNode, all: boolean, lose: LoseFn): number {
  const ps = ctx.mem.pageSize;
  const want = new Set<number>();
  for (const i of rn.poison ?? []) if (node.pages.get(i) === 0) want.add(i);
  if (all) {
    const end = Math.min(Math.ceil(node.size / ps), MAX_POISON);
    for (let i = 0; i < end && want.size < MAX_POISON; i++) if (node.pages.get(i) === 0) want.add(i);
  }
  let n = 0;
  for (const index of [...want].sort((a, b) => a - b).slice(0, MAX_POISON)) {
    const pfn = ctx.allocator.alloc(Owner.Data);
    if (pfn < 0) break;                                    // no room: the loss is still reported
    if (!ctx.readOnly) ctx.mem.page(pfn).fill(0);
    ctx.frames.flags[pfn] = PageFlag.Bad | PageFlag.Dirty;
    node.pages.set(index, pfn);
    n++;
  }
  ctx.allocator.releaseHeld();
  if (rn.poison?.size && !all) lose(`${rn.poison.size} page(s) whose record or page was lost read EIO until rewritten`, null);
  return n;
}
