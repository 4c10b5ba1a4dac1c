// Inodes and their operations tables. As in Linux's ramfs, the file type picks
// one const table when the inode is made (makeInode); after that the table,
// not scattered mode checks, decides what read, write, lookup or readlink do.
// Directory contents live in `Directory` (dentries by name, with readdir
// cookies); file and symlink content inline (at most INLINE_MAX bytes, in the
// heap) or in a RadixPageMap (inline.ts, file.ts).
import { EINVAL, EISDIR, ENOTDIR } from '../format/errno.js';
import { RadixPageMap } from './pagemap.js';
import { LaterPageMap } from '../pram/laterpages.js';
import { assert } from '../format/assert.js';
import {
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO,
  S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
} from './mode.js';
import type { PageCache } from './file.js';
import {
  fallocateContent, NO_BYTES, readContent, seekContent, setContentSize, viewContent, writeContent, type Content,
} from './inline.js';

export interface Dentry { ino: number; cookie: number }

/** Open readdir streams one directory keeps a cursor for; the oldest is dropped (and rescans) past this. */
export const DIR_CURSORS_MAX = 16;

/**
 * Where a readdir stream stopped: a live iterator over the entries and the
 * entry it pulled but could not hand out. A Map iterator visits insertions made
 * after it was created and skips what was deleted before it got there, which is
 * what telldir/seekdir ask: no entry twice, none skipped that existed throughout.
 */
interface DirCursor { it: Iterator<[string, Dentry]>; pending: [string, Dentry] | null }

/**
 * A directory's names. Cookies grow with each insertion, and the Map keeps
 * insertion order, so entries are in cookie order and readdir can resume after
 * removals. A stream that stopped at cookie c resumes in O(1) from the cursor
 * kept under c; any other cookie (seekdir, a dropped cursor) scans to it.
 */
export class Directory {
  readonly entries = new Map<string, Dentry>();
  private nextCookie = 3; // 1 and 2 belong to '.' and '..'
  private cursors: Map<number, DirCursor> | null = null;   // made by the first stream that stops early
  /** Entries all walks have stepped through, handed out or not: the cost readdir pays (tests read it). */
  steps = 0;
  /** Told of every name added or removed (fs/changes.ts: the next commit logs it). */
  onChange: ((name: string) => void) | null = null;
  constructor(public parent: number) {}
  get(name: string): Dentry | undefined { return this.entries.get(name); }
  add(name: string, ino: number): void { this.entries.set(name, { ino, cookie: this.nextCookie++ }); this.onChange?.(name); }
  remove(name: string): void { this.entries.delete(name); this.onChange?.(name); }
  get size(): number { return this.entries.size; }

  /**
   * Hand entries with cookie >= `cookie` to `take`, in cookie order, until it
   * refuses one or none are left; the refused one is where the stream resumes.
   */
  walk(cookie: number, take: (name: string, d: Dentry) => boolean): void {
    if (cookie >= this.nextCookie) return;   // past every entry ever made: the end, without a scan
    const cur = this.cursors?.get(cookie);
    if (cur) this.cursors!.delete(cookie);
    const it = cur?.it ?? this.entries.entries();
    let pending = cur?.pending ?? null;
    let resume = cookie;
    for (;;) {
      let e = pending;
      pending = null;
      if (!e) {
        const r = it.next();
        if (r.done) return;
        e = r.value;
      }
      this.steps++;
      const [name, d] = e;
      if (d.cookie < cookie || this.entries.get(name) !== d) continue;   // before the start, or removed since pulled
      if (!take(name, d)) { this.keepCursor(resume, { it, pending: e }); return; }
      resume = d.cookie + 1;
    }
  }

  private keepCursor(cookie: number, cur: DirCursor): void {
    const cursors = (this.cursors ??= new Map());
    if (cursors.size >= DIR_CURSORS_MAX && !cursors.has(cookie)) cursors.delete(cursors.keys().next().value!);
    cursors.set(cookie, cur);
  }
}

export interface InodeOps {
  readonly dt: number;
  /** Copies into target[at..]: bytes copied or -errno (file.ts readInto). */
  readInto(pc: PageCache, node: Inode, off: number, target: Uint8Array, at: number, len: number): number;
  /** Views over the pages (file.ts viewData): bytes shown or -errno. */
  view(pc: PageCache, node: Inode, off: number, len: number, out: Buffer[], shown?: (pfn: number, count: number) => void): number;
  write(pc: PageCache, node: Inode, off: number, data: Uint8Array): number;
  setsize(pc: PageCache, node: Inode, size: number): number;
  fallocate(pc: PageCache, node: Inode, mode: number, off: number, len: number): number;
  seek(pc: PageCache, node: Inode, off: number, whence: number): number;
  /** Child lookup for directories; -ENOTDIR for everything else. */
  child(node: Inode, name: string): Dentry | number;
  isDir: boolean;
  /** Has content, inline or in pages (regular file, symlink target). */
  hasPages: boolean;
}

const eisdir = () => -EISDIR;
const einval = () => -EINVAL;
const enotdir = () => -ENOTDIR;

/** The content of a node with pages (a regular file or symlink; the ops table says so). */
export function contentOf(node: Inode): Content {
  return node as Inode & { pages: RadixPageMap };
}

export const regularOps = {
  dt: DT_REG,
  readInto: (pc, node, off, target, at, len) => readContent(pc, contentOf(node), off, target, at, len),
  view: (pc, node, off, len, out, shown) => viewContent(pc, contentOf(node), off, len, out, shown),
  write: (pc, node, off, data) => writeContent(pc, contentOf(node), off, data),
  setsize: (pc, node, size) => setContentSize(pc, contentOf(node), size),
  fallocate: (pc, node, mode, off, len) => fallocateContent(pc, contentOf(node), mode, off, len),
  seek: (pc, node, off, whence) => seekContent(pc, contentOf(node), off, whence),
  child: enotdir,
  isDir: false,
  hasPages: true,
} as const satisfies InodeOps;

export const directoryOps = {
  dt: DT_DIR,
  readInto: eisdir,
  view: eisdir,
  write: eisdir,
  setsize: eisdir,
  fallocate: eisdir,
  seek: einval,
  child: (node, name) => node.dir!.get(name) ?? -2 /* ENOENT */,
  isDir: true,
  hasPages: false,
} as const satisfies InodeOps;

// A symlink keeps its target like a file (inline or in pages), but only readlink may see it.
export const symlinkOps = {
  dt: DT_LNK, readInto: einval, view: einval, write: einval, setsize: einval, fallocate: einval, seek: einval,
  child: enotdir, isDir: false, hasPages: true,
} as const satisfies InodeOps;

function specialOps(dt: number) {
  return {
    dt, readInto: einval, view: einval, write: einval, setsize: einval, fallocate: einval, seek: einval,
    child: enotdir, isDir: false, hasPages: false,
  } as const satisfies InodeOps;
}
export const fifoOps = specialOps(DT_FIFO);
export const charOps = specialOps(DT_CHR);
export const blockOps = specialOps(DT_BLK);
export const socketOps = specialOps(DT_SOCK);

/** The ops table for a mode, or null for a type pram does not know. */
export function opsFor(mode: number): InodeOps | null {
  switch (mode & S_IFMT) {
    case S_IFREG: return regularOps;
    case S_IFDIR: return directoryOps;
    case S_IFLNK: return symlinkOps;
    case S_IFIFO: return fifoOps;
    case S_IFCHR: return charOps;
    case S_IFBLK: return blockOps;
    case S_IFSOCK: return socketOps;
    default: return null;
  }
}

export class Inode {
  nlink = 0;
  size = 0;
  /** Opens (open/release) and kernel lookups (lookup/forget): an unlinked inode lives while either is > 0. */
  opens = 0;
  lookups = 0;
  /** Made on first use: a loaded inline file (most small files) never needs one (a mount of 10^6 files makes none). */
  private pageMap: RadixPageMap | null;
  /** The change hook a page map gets when it is made (fs/changes.ts). */
  pageHook: ((owner: number, index: number) => void) | null = null;
  /** A loaded large file's pages, adopted by the engine when first asked for (pram/laterpages.ts); then null. */
  private later: LaterPageMap | null = null;
  /** The page map of a file or symlink (made now if it has none yet, its loaded pages adopted now if they wait); null for other types. */
  get pages(): RadixPageMap | null {
    if (this.pageMap !== null || !this.ops.hasPages) return this.pageMap;
    const map = this.later ? this.adoptLater() : new RadixPageMap();
    map.owner = this.ino;
    map.onChange = this.pageHook;
    return (this.pageMap = map);
  }
  /** The page map if one was made or loaded (asking makes none; loaded pages that wait are adopted): what a commit or a load reads. */
  get madePages(): RadixPageMap | null { return this.later ? this.pages : this.pageMap; }
  /** The page map if one was made and adopted: asking adopts nothing (a change hook set on a loaded map). */
  get adoptedPages(): RadixPageMap | null { return this.pageMap; }
  /** Pages the file holds, known without adopting any (stat's blocks, a load's checks). */
  get pageCount(): number { return this.later ? this.later.count : this.pageMap?.count ?? 0; }
  /** Its loaded pages wait for adoption (asking for `pages` or `madePages` adopts them: a 1 GiB file's take milliseconds). */
  get waitsAdoption(): boolean { return this.later !== null; }
  private adoptLater(): RadixPageMap {
    const map = this.later!.build();
    this.later = null;
    if (!(map instanceof RadixPageMap)) assert(false, 'the engine adopts a file into the page map fs/ gives it');
    return map as RadixPageMap;
  }
  /** The whole content while it is small (inline.ts); then `pages` is empty. Never written: replaced. */
  inline: Buffer | null;
  readonly dir: Directory | null;
  private xattrMap: Map<string, Uint8Array> | null = null;
  /** Extended attributes, made on first use (most inodes have none; a mount makes thousands). */
  get xattrs(): Map<string, Uint8Array> { return (this.xattrMap ??= new Map()); }
  get hasXattrs(): boolean { return this.xattrMap !== null && this.xattrMap.size > 0; }
  /** Symlink target, decoded once (the pages hold the persistent copy). */
  target: string | null = null;
  /** Record pages this inode is charged in the space ledger, and those of its xattrs. */
  records = 0;
  xattrRecords = 0;
  /** Record bytes it is charged (its INODE and NAME records in a log), its xattrs' encoded bytes, and its NAME records' bytes. */
  bytes = 0;
  xattrBytes = 0;
  nameBytes = 0;

  constructor(
    readonly ino: number,
    public mode: number,
    readonly ops: InodeOps,
    public uid: number,
    public gid: number,
    public rdev: number,
    public atimeNs: bigint,
    public mtimeNs: bigint,
    public ctimeNs: bigint,
    parent: number,
    pages?: RadixPageMap | LaterPageMap,
  ) {
    // A loaded map is adopted when it holds pages; an empty one is dropped (made again on first use).
    // One the engine adopts on first use waits until then.
    const loaded = ops.hasPages && pages && pages.count > 0 ? pages : null;
    this.pageMap = loaded instanceof RadixPageMap ? loaded : null;
    if (loaded instanceof LaterPageMap) this.later = loaded;
    // A new file starts empty and inline; a loaded one is set up by snapshot.ts.
    this.inline = ops.hasPages && !pages ? NO_BYTES : null;
    this.dir = ops.isDir ? new Directory(parent) : null;
  }
}
