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
import { MAP_LRU } from '../format/v3.js';
import { DecodeError } from '../format/reader.js';
import type { Loss, NodeImage } from './image.js';
import type { LoadContext } from './load.js';
import { logRunCrcs } from './verify.js';
import { RUN, type LogReplay, type ReplayNode } from './replay.js';
import { SPAN, spanPages } from './spans.js';

/** Most pages one damaged file's holes may be poisoned with (hostile sizes stay bounded). */
const MAX_POISON = 1 << 16;

/** The v2 load's context (what pages, maps and runs are adopted into), and what poisoning holes needs. */
export interface AdoptContext extends Omit<LoadContext, 'log'> {
  allocator: PageAllocator;
  readOnly: boolean;
}

export interface Adopted { nodes: NodeImage[]; losses: Loss[]; builds: { node: NodeImage; path: string }[]; dataPages: number }

export function adoptLog(rp: LogReplay, ctx: AdoptContext): Adopted {
  const losses: Loss[] = [...rp.losses];
  const names = new Map<number, { parent: number; name: string }[]>();
  for (const [parent, dir] of rp.names) for (const [name, ino] of dir) {
    let list = names.get(ino);
    if (!list) names.set(ino, (list = []));
    list.push({ parent, name });
  }
  const paths = new Map<number, string>();
  const pathOf = (ino: number, depth = 0): string => {
    if (ino === 1) return '/';
    const known = paths.get(ino);
    if (known) return known;
    const n = names.get(ino)?.[0];
    if (!n || depth > 4096) return `(ino ${ino})`;
    const dir = pathOf(n.parent, depth + 1);
    const p = dir === '/' ? `/${n.name}` : `${dir}/${n.name}`;
    paths.set(ino, p);
    return p;
  };
  for (const [ino, list] of names) {
    if (rp.nodes.has(ino)) continue;
    for (const n of list) losses.push({ path: `${pathOf(n.parent)}${n.parent === 1 ? '' : '/'}${n.name}`, pfn: null, what: `name names ino ${ino}, whose INODE record was lost: dropped` });
  }

  const nodes: NodeImage[] = [];
  const builds: Adopted['builds'] = [];
  let dataPages = 0;
  if (ctx.verify === 'full') logRunCrcs(ctx.mem, rp, ctx.frames.csum);   // every run at once, on both cores
  for (const [ino, rn] of rp.nodes) {
    // The path is built only when a loss or a failed first read names it (a string per node cost ~1 µs at mount).
    const build = { node: null as unknown as NodeImage, get path() { return pathOf(ino); } };
    const lose = (what: string, pfn: number | null = null, range?: { start: number; end: number }) =>
      losses.push(range ? { path: build.path, pfn, what, range } : { path: build.path, pfn, what });
    const r = rn.rec;
    let xattrs: [string, Uint8Array][] = [];
    if (r.xattrs.length) {
      const x = decodeXattrs(r.xattrs);
      if (x instanceof DecodeError) lose(`extended attributes unreadable (${x.message}): dropped`);
      else xattrs = x;
    }
    const node: NodeImage = {
      ino, mode: r.mode, uid: r.uid, gid: r.gid, rdev: r.rdev, size: r.size,
      atimeNs: r.atimeNs, mtimeNs: r.mtimeNs, ctimeNs: r.ctimeNs,
      names: ino === 1 ? [] : names.get(ino) ?? [], xattrs, pages: ctx.newPageMap(),
    };
    if (r.inline.length) (node as { inline?: Uint8Array }).inline = r.inline;
    const groups = rn.groups ? [...rn.groups.keys()].sort((a, b) => a - b) : [];
    let count = spanPages(rn);
    for (const g of groups) { const runs = rn.groups!.get(g)!; for (let k = 0; k < runs.length; k += RUN) count += runs[k + 2]!; }
    let why: string | null = null;
    if (count !== r.pages) why = `its page map holds ${count} page(s), its INODE record says ${r.pages} (a MAP, SPAN or UNMAP record was lost)`;
    eachInOrder(rn, groups, (runs, k, span) => {
      const lru = runs[k + 4]! & MAP_LRU ? PageFlag.Lru : 0;
      if (span) adoptSpan(ctx, node, runs[k]!, runs[k + 1]!, runs[k + 2]!, rp.crcs.of(runs[k + 3]!, runs[k + 2]!), lru, why !== null, lose);
      else adoptRun(ctx, node, runs[k]!, runs[k + 1]!, runs[k + 2]!, runs[k + 3]!, lru, why !== null, lose);
      dataPages += runs[k + 2]!;
    });
    if (why !== null) lose(`${why}: its content cannot be trusted and reads EIO until rewritten`);
    if (rn.poison || why !== null) dataPages += poison(ctx, node, rn, why !== null, lose);
    nodes.push(node);
    build.node = node;
    builds.push(build);
  }
  return { nodes, losses, builds, dataPages };
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
  // Both (a compacted file changed by appends since): merged by first index; runs and spans never overlap.
  const all: [number[], number, boolean][] = [];
  for (const g of groups) { const runs = rn.groups!.get(g)!; for (let k = 0; k < runs.length; k += RUN) all.push([runs, k, false]); }
  for (const b of blocks) { const spans = rn.blocks!.get(b)!; for (let k = 0; k < spans.length; k += SPAN) all.push([spans, k, true]); }
  for (const [runs, k, span] of all.sort((x, y) => x[0][x[1]]! - y[0][y[1]]!)) f(runs, k, span);
}

/**
 * A span's pages adopted: each page its own checksum (copied in one block),
 * verified now against logRunCrcs' values (full) or on first read (lazy); a
 * failed page is lost alone.
 */
function adoptSpan(ctx: AdoptContext, node: NodeImage, index: number, pfn: number, count: number, crcs: Uint32Array, lru: number,
  distrust: boolean, lose: (what: string, pfn: number | null, range?: { start: number; end: number }) => void): void {
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
  if (node.pages.setRun) node.pages.setRun(index, pfn, count);
  else for (let k = 0; k < count; k++) node.pages.set(index + k, pfn + k);
}

function adoptRun(ctx: AdoptContext, node: NodeImage, index: number, pfn: number, count: number, csum: number, lru: number,
  distrust: boolean, lose: (what: string, pfn: number | null, range?: { start: number; end: number }) => void): void {
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
  if (count === 1) node.pages.set(index, pfn);
  else if (node.pages.setRun) node.pages.setRun(index, pfn, count);
  else for (let k = 0; k < count; k++) node.pages.set(index + k, pfn + k);
}

/**
 * Indexes known lost (a run that could not be claimed, a partly unmapped run) and,
 * for a node that cannot be trusted, every hole inside its size: a Bad page each, so
 * they read EIO, not zeros. Returns the pages taken.
 */
function poison(ctx: AdoptContext, node: NodeImage, rn: ReplayNode, all: boolean,
  lose: (what: string, pfn: number | null, range?: { start: number; end: number }) => void): number {
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
