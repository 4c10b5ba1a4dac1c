// The inode table of a mounted volume: inode numbers, the clock, the page
// cache context, attributes, and the end of an inode's life (evict). The
// namespace (namespace.ts), content (file.ts) and image (snapshot.ts) code all
// work on this table; Volume is its public face.
import { assert } from '../format/assert.js';
import { ENOSPC } from '../format/errno.js';
import { inlineRecordBytes, inodeRecordBytes } from '../format/v3.js';
import { encodeXattrs } from '../format/v2.js';
import type { PageCache } from './file.js';
import { blocksOf, dropContent } from './inline.js';
import { contentOf, Inode, opsFor, type InodeOps } from './inode.js';
import { RadixPageMap } from './pagemap.js';
import { LaterPageMap } from '../pram/laterpages.js';
import { DT_DIR, S_IFMT } from './mode.js';
import { ChangeTracker } from './changes.js';

export interface Attr {
  ino: number; mode: number; nlink: number; uid: number; gid: number; rdev: number;
  size: number; blocks: number; blksize: number; atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint;
}

export const ROOT_INO = 1;
/** An inode past 2^32 would not fit FUSE's generation-less numbering nicely; plenty anyway. */
export const INO_MAX = 0xffffffff;
/**
 * V8 caps a Map at 2^24 entries: inodes per mount and names per directory stay
 * one short of it, so the next create answers ENOSPC instead of throwing a RangeError.
 */
export const MAP_ENTRIES_MAX = 2 ** 24 - 1;

const DAY_NS = 86_400_000_000_000n;

/**
 * What the table asks of a lazy mount's loader (lazytree.ts LazyTree): named here, where it is used, so the
 * table does not import the loader that builds on it.
 */
export interface TreeLoader {
  /** The inode `ino` after loading the group that holds it (undefined: none does). */
  fetch(ino: number): Inode | undefined;
  /** Every group not loaded yet. */
  loadAll(): void;
  /** A directory known from the index without loading it. */
  isDir(ino: number): boolean;
  /** Nodes of the image not loaded yet (statfs). */
  readonly unloaded: number;
}

export class InodeTable {
  readonly inodes = new Map<number, Inode>();
  nextIno = ROOT_INO + 1;
  /**
   * Counts changes of what a checkpoint saves: every change sets ctime
   * (POSIX), so touch('m'|'c') and setattr count it. atime alone does not
   * (a read is not worth a checkpoint; the next one saves it).
   */
  changes = 0;
  /** What changed since the last commit (a v3 engine logs only that); null until track(). */
  tracker: ChangeTracker | null = null;

  constructor(readonly pc: PageCache, readonly clock: () => bigint) {}

  /** Start tracking changes (after the load: what was loaded is what the log holds). */
  track(): void {
    this.tracker = new ChangeTracker(this.nextIno);
    for (const node of this.inodes.values()) this.tracker.watch(node);
    this.tracker.clear();
  }

  /** An attribute of `node` changed (setattr): counted, and logged at the next commit. */
  changed(node: Inode): void {
    this.changes++;
    this.tracker?.node(node.ino);
  }

  /** A lazily mounted image's loader (lazytree.ts): a miss here loads the group that holds the inode. Null once all is loaded. */
  lazy: TreeLoader | null = null;

  get(ino: number): Inode | undefined {
    const node = this.inodes.get(ino);
    return node !== undefined || this.lazy === null ? node : this.lazy.fetch(ino);
  }

  /** Load whatever a lazy mount has not loaded yet (a compaction, check, info need the whole tree). */
  loadAll(): void {
    this.lazy?.loadAll();
  }

  /**
   * A directory entry's type: a subdirectory a lazy mount has not loaded is known
   * without loading it. -1: no such node (a lazy mount's group load found the
   * name dangling in a damaged image and dropped it with a loss).
   */
  dtOf(ino: number): number {
    const node = this.inodes.get(ino);
    if (node === undefined && this.lazy?.isDir(ino)) return DT_DIR;
    return (node ?? this.get(ino))?.ops.dt ?? -1;
  }

  now(): bigint {
    return this.clock();
  }

  /** A new, unnamed inode (nlink 0); the caller links it. */
  /** A free inode number: the next one, or (after a loaded image used the top of the range) the lowest free. */
  private freeIno(): number {
    if (this.nextIno <= INO_MAX) return this.nextIno;
    this.loadAll();                     // the lowest free number: every number used must be known
    let ino = ROOT_INO + 1;
    while (this.inodes.has(ino)) ino++;
    return ino;
  }

  make(mode: number, uid: number, gid: number, rdev: number, parent: number, ino = this.freeIno()): Inode {
    const ops = opsFor(mode);
    if (ops === null) assert(false, `file type ${(mode & S_IFMT).toString(8)} has an ops table`);
    if (!(ino <= INO_MAX && !this.inodes.has(ino))) assert(false, `inode ${ino} is free`);
    const t = this.now();
    return this.insert(new Inode(ino, mode, ops!, uid, gid, rdev, t, t, t, parent));
  }

  /**
   * A loaded inode (snapshot.ts makeLoaded: it checked the number free and within INO_MAX, and the
   * type's `ops`): its times brought along (no clock read) and its page map, no second lookup of
   * the number (a lazy mount's group makes 10^4 of them, the table holds up to 10^6).
   */
  makeLoaded(ops: InodeOps, img: { ino: number; mode: number; uid: number; gid: number; rdev: number; atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint; pages?: unknown }): Inode {
    return this.insert(new Inode(img.ino, img.mode, ops, img.uid, img.gid, img.rdev, img.atimeNs, img.mtimeNs, img.ctimeNs, ROOT_INO,
      img.pages instanceof RadixPageMap || img.pages instanceof LaterPageMap ? img.pages : undefined));
  }

  private insert(node: Inode): Inode {
    this.inodes.set(node.ino, node);
    if (node.ino >= this.nextIno) this.nextIno = node.ino + 1;
    this.tracker?.made(node);
    return node;
  }

  attr(node: Inode): Attr {
    const ps = this.pc.pageSize;
    return {
      ino: node.ino, mode: node.mode, nlink: node.nlink, uid: node.uid, gid: node.gid, rdev: node.rdev,
      size: node.size, blocks: node.ops.hasPages ? blocksOf(contentOf(node), ps) : 0, blksize: ps,
      atimeNs: node.atimeNs, mtimeNs: node.mtimeNs, ctimeNs: node.ctimeNs,
    };
  }

  touch(node: Inode, what: 'm' | 'c' | 'a'): void {
    const t = this.now();
    if (what === 'a') { node.atimeNs = t; this.tracker?.atime(node.ino); return; }
    this.tracker?.node(node.ino);
    this.changes++;
    node.ctimeNs = t;
    if (what === 'm') node.mtimeNs = t;
  }

  /**
   * relatime: update atime on read only when it is not newer than mtime/ctime or a day old.
   * Most reads change nothing: they compare with the clock read by an earlier call (at most
   * a second old, by Date.now()) instead of reading it, which costs more than a 4 KiB copy.
   */
  accessed(node: Inode): void {
    if (node.atimeNs > node.mtimeNs && node.atimeNs > node.ctimeNs && Date.now() - this.seenAtMs < 1000 && this.seenNs - node.atimeNs <= DAY_NS) return;
    const t = this.now();
    this.seenNs = t; this.seenAtMs = Date.now();
    if (node.atimeNs <= node.mtimeNs || node.atimeNs <= node.ctimeNs || t - node.atimeNs > DAY_NS) { node.atimeNs = t; this.tracker?.atime(node.ino); }
  }
  private seenNs = 0n;
  private seenAtMs = -Infinity;

  /** Frees an inode nobody names, opens or has looked up. */
  maybeEvict(node: Inode): void {
    if (node.nlink > 0 || node.opens > 0 || node.lookups > 0 || node.ino === ROOT_INO) return;
    if (node.ops.hasPages) dropContent(this.pc, contentOf(node));
    this.inodes.delete(node.ino);
    this.tracker?.node(node.ino);
    this.charge(node, 0, 0);
  }

  /**
   * Record pages a live inode takes in the next durable step: its META/NODE page,
   * its xattr pages and a NAME page per name after the first. Counted while the
   * inode lives (an unlinked open file too: an upper bound is safe).
   */
  recordsOf(node: Inode): number {
    return 1 + node.xattrRecords + (node.dir ? 0 : Math.max(0, node.nlink - 1));
  }

  /** What xattrs cost a node: record pages in a chain, encoded bytes in its INODE record. */
  xattrCost(xattrs: readonly [string, Uint8Array][]): { records: number; bytes: number } {
    if (xattrs.length === 0) return { records: 0, bytes: 0 };
    return { records: this.pc.engine.xattrRecords(xattrs), bytes: encodeXattrs(xattrs).length };
  }

  /** Set what `node`'s xattrs cost from the ones it holds (a load, a removal) and report it to the ledger. */
  rechargeXattrs(node: Inode): void {
    const cost = this.xattrCost(node.hasXattrs ? [...node.xattrs] : []);
    node.xattrRecords = cost.records;
    node.xattrBytes = cost.bytes;
    this.recharge(node);
  }

  /**
   * The ledger told what nodes a lazy load made take (xattrs, records, inline bytes): as rechargeXattrs
   * and chargeLoaded (inline.ts) node by node, in one adjust for the group.
   */
  chargeMade(nodes: readonly Inode[]): void {
    let records = 0, bytes = 0, inline = 0, shrunk = false;
    for (const n of nodes) {
      const x = n.hasXattrs ? this.xattrCost([...n.xattrs]) : null;
      n.xattrRecords = x?.records ?? 0;
      n.xattrBytes = x?.bytes ?? 0;
      const r = this.recordsOf(n), b = this.bytesOf(n);
      if (r < n.records || b < n.bytes) shrunk = true;
      records += r - n.records; bytes += b - n.bytes;
      n.records = r; n.bytes = b;
      if (n.ops.hasPages && n.inline !== null && n.inline.length > 0) { inline++; bytes += inlineRecordBytes(n.inline.length); }
    }
    if (records !== 0 || bytes !== 0 || inline !== 0) this.pc.engine.space.adjust({ records, bytes, inline });
    if (shrunk) this.pc.engine.space.refill();
  }

  /** Record bytes a live inode takes in a log: its INODE record with its xattrs, and a NAME record per name (inline.ts counts its inline bytes). */
  bytesOf(node: Inode): number {
    return inodeRecordBytes(node.xattrBytes) + node.nameBytes;
  }

  /** Report to the ledger what `node` takes now (after a change that was admitted, or a shrink). */
  recharge(node: Inode): void {
    this.charge(node, this.recordsOf(node), this.bytesOf(node));
  }

  /** 0 when `records` more record pages and `bytes` more record bytes fit (the ledger keeps its rule), else -ENOSPC. */
  admit(records: number, bytes: number): number {
    return (records <= 0 && bytes <= 0) || this.pc.engine.space.room(0, { records, bytes }) >= 0 ? 0 : -ENOSPC;
  }

  private charge(node: Inode, records: number, bytes: number): void {
    const delta = records - node.records, deltaBytes = bytes - node.bytes;
    if (delta === 0 && deltaBytes === 0) return;
    node.records = records;
    node.bytes = bytes;
    this.pc.engine.space.adjust({ records: delta, bytes: deltaBytes });
    if (delta < 0 || deltaBytes < 0) this.pc.engine.space.refill();
  }
}
