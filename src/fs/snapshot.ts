// Between live inodes and the engine's image model (pram/image.ts): `toImages`
// lists what a checkpoint saves, `fromImages` rebuilds inodes and dentries
// after a load. Page maps cross as numbers only; no data is copied, except a
// small file's inline bytes (inline.ts), which cross as they are. An image
// whose tree is broken (a name whose parent is missing or not a directory, a
// directory named twice, a node no name reaches) is repaired by linking the
// stray into /lost+found, and every repair is reported as a Loss.
import type { Loss, NodeImage, NodeName, PageMap } from '../pram/image.js';
import type { Inode } from './inode.js';
import { contentOf, opsFor } from './inode.js';
import { chargeLoaded, NO_BYTES } from './inline.js';
import { INLINE_MAX } from '../format/inline.js';
import { S_IFDIR, S_IFMT } from './mode.js';
import { nameCost } from './names.js';
import { LOST_FOUND, strayLoss, strayName, uniqueName } from '../pram/lostfound.js';
import { PageMapPrefix, RadixPageMap } from './pagemap.js';
import { LaterPageMap } from '../pram/laterpages.js';
import { INO_MAX, ROOT_INO, type InodeTable } from './table.js';

/**
 * Every named inode (nlink > 0) and the root, with all their names. `full`: page
 * maps whole (a v3 log keeps pages past the size, fallocate KEEP_SIZE); else
 * only the pages inside the size (a v2 chain's loader would drop the others).
 */
export function toImages(t: InodeTable, full = false): NodeImage[] {
  t.loadAll();
  const names = new Map<number, NodeName[]>();
  for (const node of t.inodes.values()) {
    if (!node.dir || !liveNode(node)) continue;
    for (const [name, d] of node.dir.entries) {
      let list = names.get(d.ino);
      if (!list) names.set(d.ino, (list = []));
      list.push({ parent: node.ino, name });
    }
  }
  const out: NodeImage[] = [];
  for (const node of t.inodes.values()) {
    if (!liveNode(node)) continue; // unlinked but open: dies with this mount
    out.push(imageOf(t, node, node.ino === ROOT_INO ? [] : names.get(node.ino) ?? [], full));
  }
  return out;
}

/** A node a commit keeps: named, or the root. */
export function liveNode(node: Inode): boolean {
  return node.nlink > 0 || node.ino === ROOT_INO;
}

/** One inode as the engine saves it. */
export function imageOf(t: InodeTable, node: Inode, names: NodeName[], full: boolean): NodeImage {
  return {
    ino: node.ino, mode: node.mode, uid: node.uid, gid: node.gid, rdev: node.rdev,
    size: node.dir ? 0 : node.size,
    atimeNs: node.atimeNs, mtimeNs: node.mtimeNs, ctimeNs: node.ctimeNs,
    names,
    xattrs: node.hasXattrs ? [...node.xattrs] : [],
    pages: node.madePages ? (full ? node.madePages : savedPages(node.madePages, node.size, t.pc.pageSize)) : EMPTY,
    inline: node.inline,
  };
}

const EMPTY = new RadixPageMap();

/** The pages a checkpoint saves: all of them, or (after fallocate KEEP_SIZE) those inside the file's size. */
function savedPages(pages: RadixPageMap, size: number, pageSize: number): PageMap {
  const limit = Math.ceil(size / pageSize);
  return pages.lastIndex() < limit ? pages : new PageMapPrefix(pages, limit);
}

export interface RootDefaults { uid: number; gid: number; mode: number }

/** Rebuilds the table from a loaded image; returns the repairs made. */
export function fromImages(t: InodeTable, images: readonly NodeImage[], root: RootDefaults): Loss[] {
  const losses: Loss[] = [];
  for (const img of images) makeLoaded(t, img, losses);
  let rootNode = t.get(ROOT_INO);
  if (!rootNode) {
    rootNode = t.make(S_IFDIR | (root.mode & 0o7777), root.uid, root.gid, 0, ROOT_INO, ROOT_INO);
  }
  rootNode.nlink = 2;
  const strays: Inode[] = [];
  // A loaded node starts with no name bytes: nameBytes > 0 says a name of its own was attached (no set of every ino).
  // Not nlink: a directory's nlink also counts the subdirectories attached into it, which may come first.
  for (const img of images) {
    const node = t.get(img.ino);
    if (!node || node.ino === ROOT_INO || node.nameBytes > 0) continue;
    for (const { parent, name } of img.names) {
      const dir = t.get(parent);
      const bad = !dir || !dir.dir || dir.dir.get(name) || (node.dir && node.nameBytes > 0);
      if (bad) {
        losses.push({ path: null, pfn: null, what: `name '${name}' of inode ${img.ino} in directory ${parent}: parent missing, not a directory, duplicate, or a second name of a directory` });
        continue;
      }
      attach(dir, name, node);
    }
    if (node.nameBytes === 0) strays.push(node);
  }
  // Whatever the root cannot reach (a missing parent, a directory cycle) goes to lost+found.
  // Files hang in directories: when the root reaches every directory and no node is nameless, nothing is stray.
  if (strays.length > 0 || !allDirsReached(t)) {
    const reached = reachable(t);
    for (const node of t.inodes.values()) if (!reached.has(node.ino) && node.nameBytes > 0) strays.push(node);
    if (strays.length > 0) adoptStrays(t, strays, reached, losses);
  }
  // The ledger learns what the loaded tree takes (admitted already: it was saved).
  for (const node of t.inodes.values()) {
    t.rechargeXattrs(node);
    if (node.ops.hasPages) chargeLoaded(t.pc, contentOf(node));
  }
  return losses;
}

/** One loaded image as an inode (no names yet), or null (a loss says why). */
export function makeLoaded(t: InodeTable, img: NodeImage, losses: Loss[]): Inode | null {
  const ops = opsFor(img.mode);
  if (!ops || !Number.isSafeInteger(img.ino) || img.ino < 1 || img.ino > INO_MAX || t.inodes.has(img.ino)) {
    losses.push({ path: null, pfn: null, what: `node ${img.ino}: unknown file type ${img.mode.toString(8)}, inode number outside 1..2^32-1, or duplicate inode; dropped` });
    return null;
  }
  if (img.ino === ROOT_INO && (img.mode & S_IFMT) !== S_IFDIR) {
    losses.push({ path: '/', pfn: null, what: 'root is not a directory; a new root was made' });
    return null;
  }
  const node = t.makeLoaded(ops, img);
  node.size = node.dir ? 0 : img.size;
  if (img.xattrs.length) for (const [k, v] of img.xattrs) node.xattrs.set(k, v);
  if (!node.ops.hasPages) return node;
  // The engine made its page maps with our factory: make() adopted those holding pages, no copy.
  if (img.pages.count > 0 && node.adoptedPages !== img.pages && !(img.pages instanceof LaterPageMap)) for (const [i, pfn] of img.pages.entries()) node.pages!.set(i, pfn);
  loadInline(node, img, losses);
  return node;
}

/** A loaded node's content form: its inline bytes (copied: they may sit in a page the engine reuses), or pages; empty is inline. */
function loadInline(node: Inode, img: NodeImage, losses: Loss[]): void {
  const bytes = img.inline;
  node.inline = null;
  if (!bytes || bytes.length === 0) {   // empty means none: the content is in pages (or the file is empty)
    if (node.size === 0 && node.pageCount === 0) node.inline = NO_BYTES;
    return;
  }
  const pages = node.pageCount;
  if (bytes.length > INLINE_MAX || pages > 0) {
    losses.push({ path: null, pfn: null, what: `inode ${img.ino}: ${bytes.length} inline bytes beside ${pages} pages (at most ${INLINE_MAX} bytes and no pages); inline bytes dropped` });
    return;
  }
  if (bytes.length !== img.size) {
    losses.push({ path: null, pfn: null, what: `inode ${img.ino}: size ${img.size} but ${bytes.length} inline bytes; size set to ${bytes.length}` });
  }
  const copy = Buffer.allocUnsafe(bytes.length);   // not Buffer.from(bytes): its array-like path costs ~1 µs a file
  copy.set(bytes);
  node.inline = copy;
  node.size = bytes.length;
}

function attach(dir: Inode, name: string, node: Inode): void {
  dir.dir!.add(name, node.ino);
  node.nlink += node.dir ? 2 : 1;
  node.nameBytes += nameCost(name);
  if (node.dir) { node.dir.parent = dir.ino; dir.nlink++; }
}

/** The root reaches every directory (a walk of the directories only: no set of every ino). */
function allDirsReached(t: InodeTable): boolean {
  let dirs = 0;
  for (const node of t.inodes.values()) if (node.dir) dirs++;
  const seen = new Set<number>([ROOT_INO]);
  const queue = [ROOT_INO];
  while (queue.length > 0) {
    for (const d of t.get(queue.pop()!)!.dir!.entries.values()) {
      if (seen.has(d.ino) || !t.get(d.ino)?.dir) continue;
      seen.add(d.ino);
      queue.push(d.ino);
    }
  }
  return seen.size === dirs;
}

function reachable(t: InodeTable): Set<number> {
  const seen = new Set<number>([ROOT_INO]);
  const queue = [ROOT_INO];
  while (queue.length > 0) {
    const dir = t.get(queue.pop()!)!;
    for (const d of dir.dir!.entries.values()) {
      if (seen.has(d.ino)) continue;
      seen.add(d.ino);
      if (t.get(d.ino)?.dir) queue.push(d.ino);
    }
  }
  return seen;
}

/** /lost+found in the root (made when missing or not a directory) and the name it has there. */
export function lostFound(t: InodeTable): { dir: Inode; name: string } {
  const root = t.get(ROOT_INO)!;
  const lf = root.dir!.get(LOST_FOUND);
  const found = lf ? t.get(lf.ino) : undefined;
  if (found?.dir) return { dir: found, name: LOST_FOUND };
  const made = t.make(S_IFDIR | 0o700, root.uid, root.gid, 0, ROOT_INO);
  made.nlink = 0;
  const name = uniqueName(new Set(root.dir!.entries.keys()), LOST_FOUND);
  attach(root, name, made);
  return { dir: made, name };
}

/** A node no name reaches, named in /lost+found; the loss says so. */
export function attachStray(t: InodeTable, lf: { dir: Inode; name: string }, node: Inode, was: string, losses: Loss[]): void {
  attach(lf.dir, strayName(node.ino), node);
  const path = `/${lf.name}/${strayName(node.ino)}`;
  losses.push({ path, pfn: null, what: strayLoss(was, path) });
}

function adoptStrays(t: InodeTable, strays: Inode[], reached: Set<number>, losses: Loss[]): void {
  const lf = lostFound(t);
  for (const node of strays) {
    // Cut it out of unreachable directories first, so no cycle survives.
    for (const dir of t.inodes.values()) {
      if (!dir.dir || reached.has(dir.ino)) continue;
      for (const [name, d] of dir.dir.entries) {
        if (d.ino !== node.ino) continue;
        dir.dir.remove(name);
        if (node.dir) { dir.nlink--; node.nlink -= 2; } else node.nlink--;
      }
    }
    attachStray(t, lf, node, `inode ${node.ino}, no reachable name`, losses);
  }
}
