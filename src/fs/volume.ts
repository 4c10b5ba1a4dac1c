// The superblock: a mounted pram file system, addressed by inode number like
// the FUSE low-level protocol (fuse/ maps its opcodes 1:1 onto these methods).
// Every method returns a negative errno for an expected failure, else a value.
// Booting the memory and loading the image is mount.ts's job; the namespace,
// content, attribute and image conversions live in namespace.ts, file.ts,
// attrs.ts, snapshot.ts.
import { EINVAL, EIO, ENAMETOOLONG, ENOENT, ENOTDIR } from '../format/errno.js';
import type { PhysMem } from '../mem/physmem.js';
import type { Pram } from '../pram/pram.js';
import type { BannedRegions } from '../boot/banned.js';
import type { Loss, NodeImage } from '../pram/image.js';
import { NOT_FROM_RESERVE, type PageCache } from './file.js';
import { regularOps, type Inode } from './inode.js';
import { installStaged, writeLater } from './staged.js';
import { NAME_MAX } from './mode.js';
import * as ns from './namespace.js';
import type { DirEntry } from './namespace.js';
import { fromImages, toImages } from './snapshot.js';
import { InodeTable, INO_MAX, ROOT_INO, type Attr } from './table.js';
import { LazyTree } from './lazytree.js';
import * as xa from './xattr.js';
import * as attrs from './attrs.js';
import type { VolumeParts } from './parts.js';
import { mountParts, type VolumeOptions } from './mount.js';
import { Checkpointer } from './checkpoint.js';
import { resolvePath, targetOf } from './paths.js';
import { copyWhole, pinnedViews, wholeViews, type PageViews } from './views.js';

export type { Attr } from './table.js';
export type { DirEntry } from './namespace.js';
export type { PageViews } from './views.js';
export interface StatFs { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number; namelen: number }

export type { VolumeEngine, VolumeParts } from './parts.js';
export type { VolumeOptions } from './mount.js';
export { MountError } from './mount.js';

export class Volume {
  readonly rootIno = ROOT_INO as 1;
  private readonly loadLosses: Loss[];
  readonly mem: PhysMem;
  readonly pram: Pram | undefined;
  readonly banned: BannedRegions | undefined;
  private readonly t: InodeTable;
  private readonly pc: PageCache;
  private mounted = true;
  private readonly checkpoints: Checkpointer;
  private readonly parts: VolumeParts;

  constructor(parts: VolumeParts) {
    this.parts = { ...parts, images: [] };   // the loaded images become the inodes: not kept beside them
    this.mem = parts.mem;
    this.pram = parts.pram;
    this.banned = parts.banned;
    this.pc = { mem: parts.mem, engine: parts.engine, pageSize: parts.mem.pageSize, lastPfn: 0 };
    this.readCopy = parts.mem.readAt && parts.mem.preadFd !== undefined ? (i, o, l, t) => this.copyWhole(i, o, l, t) : undefined;
    this.t = new InodeTable(this.pc, parts.clock);
    if (parts.lazy) {
      // A lazy mount: each directory's group when first needed (lazytree.ts), the root's too.
      this.t.lazy = new LazyTree(this.t, parts.lazy, { ...parts.owner, mode: 0o755 });
      this.t.nextIno = Math.max(this.t.nextIno, parts.lazy.maxIno + 1);
      // The root's group loads on first need, as every other directory's does (a real file system reads a directory's
      // entries on first lookup, not at mount): its names, the nodes homed in it and their page maps (12 GiB of large
      // files in the root: ~12 MB of SPAN page crcs). Every other group loads it first (its way up). No group: a new root now.
      const later = parts.lazy.groupOf(ROOT_INO) === ROOT_INO && !parts.lazy.isLoaded(ROOT_INO);
      const made = later || this.t.get(ROOT_INO) ? [] : fromImages(this.t, [], { ...parts.owner, mode: 0o755 });
      this.loadLosses = [...parts.losses, ...made];
    } else this.loadLosses = [...parts.losses, ...fromImages(this.t, parts.images, { ...parts.owner, mode: 0o755 })];
    this.checkpoints = new Checkpointer(this.t, parts.engine, parts.pram, this.loadLosses.length > 0);
  }

  /** Boots the memory in opts.mem and loads its image; throws an Error with `errno` when it cannot. */
  static mount(opts: VolumeOptions): Volume {
    return new Volume(mountParts(opts));
  }

  /** What could not be restored: found at load, then (lazy verification) on first reads. */
  get losses(): Loss[] {
    const late = this.pram?.lateLosses() ?? [];
    return late.length === 0 ? this.loadLosses : [...this.loadLosses, ...late];
  }

  private node(ino: number): Inode | number {
    return this.t.get(ino) ?? -ENOENT;
  }

  private attrOf(r: Inode | number): Attr | number {
    return typeof r === 'number' ? r : this.t.attr(r);
  }

  lookup(parent: number, name: string): Attr | number {
    const dir = this.node(parent);
    if (typeof dir === 'number') return dir;
    if (!dir.dir) return -ENOTDIR;
    if (Buffer.byteLength(name) > NAME_MAX) return -ENAMETOOLONG;
    const ino = name === '.' ? dir.ino : name === '..' ? dir.dir.parent : dir.dir.get(name)?.ino;
    if (ino === undefined) return -ENOENT;
    const node = this.t.get(ino)!;
    node.lookups++;
    return this.t.attr(node);
  }

  getattr(ino: number): Attr | number {
    return this.attrOf(this.node(ino));
  }

  setattr(ino: number, set: attrs.AttrChange): Attr | number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : attrs.setattr(this.t, this.pc, node, set);
  }

  mknod(parent: number, name: string, mode: number, rdev: number, uid: number, gid: number): Attr | number {
    if ((mode & 0o170000) === 0o040000) return -EINVAL; // directories come from mkdir
    return this.attrOf(ns.mknod(this.t, parent, name, mode, rdev, uid, gid));
  }

  mkdir(parent: number, name: string, mode: number, uid: number, gid: number): Attr | number {
    return this.attrOf(ns.mkdir(this.t, parent, name, mode, uid, gid));
  }

  symlink(parent: number, name: string, target: string, uid: number, gid: number): Attr | number {
    return this.attrOf(ns.symlink(this.t, parent, name, target, uid, gid));
  }

  readlink(ino: number): string | number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : targetOf(this.pc, node);
  }

  link(ino: number, newParent: number, newName: string): Attr | number {
    return this.attrOf(ns.link(this.t, ino, newParent, newName));
  }

  unlink(parent: number, name: string): number {
    return ns.unlink(this.t, parent, name);
  }

  rmdir(parent: number, name: string): number {
    return ns.rmdir(this.t, parent, name);
  }

  rename(parent: number, name: string, newParent: number, newName: string, flags: number): number {
    return ns.rename(this.t, parent, name, newParent, newName, flags);
  }

  /** A new buffer with up to `length` bytes at `offset` (short at EOF or before a damaged page); one copy (readInto). */
  read(ino: number, offset: number, length: number): Buffer | number {
    const node = this.node(ino);
    if (typeof node === 'number') return node;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) return -EINVAL;
    // Never allocate past the end of the file, whatever length was asked for.
    const out = Buffer.allocUnsafe(Math.max(0, Math.min(length, node.size - offset)));
    const n = this.readInto(ino, offset, out, 0, out.length);
    return n < 0 ? n : n === out.length ? out : out.subarray(0, n);
  }

  /**
   * Copies up to `length` bytes at `offset` straight from the arena into
   * target[targetOffset..]: bytes copied (short at EOF, or before a damaged
   * page), or -errno (-EIO when the first page is damaged, -EINVAL for a
   * bad position or a target too small for `length`).
   */
  readInto(ino: number, offset: number, target: Uint8Array, targetOffset: number, length: number): number {
    const node = this.node(ino);
    if (typeof node === 'number') return node;
    const r = node.ops.readInto(this.pc, node, offset, target, targetOffset, length);
    if (r >= 0) this.t.accessed(node);
    return r;
  }

  /**
   * Read-only views over the file's own pages for `length` bytes at `offset`
   * (clipped at EOF), one per physically contiguous run (holes as zeroed
   * buffers); -EIO when any page of the range is damaged (a view is whole or
   * nothing). The pages are pinned until release(): a write to them goes to a
   * copy and a truncate or unlink frees them only then, so a view never changes.
   * A small file held inline (inline.ts) is shown as a copy: nothing to pin.
   */
  view(ino: number, offset: number, length: number): PageViews | number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : pinnedViews(this.t, this.pc, this.parts.engine, node, offset, length, () => this.mounted);
  }

  /**
   * The bytes wholeViews would show (clipped at EOF; -EIO when a page of the
   * range is damaged, never a short count), copied into target. Present only
   * when the memory copies out without mapping (an arena's fd): there a copy
   * costs less than views whose first touch faults every page in (FUSE READ).
   */
  readonly readCopy: ((ino: number, offset: number, length: number, target: Uint8Array) => number) | undefined;

  private copyWhole(ino: number, offset: number, length: number, target: Uint8Array): number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : copyWhole(this.t, this.pc, node, offset, length, target);
  }

  /**
   * Views like view(), but nothing is pinned: valid only until the next call
   * that may write (FUSE writes the READ reply from them at once).
   */
  readViews(ino: number, offset: number, length: number): Buffer[] | number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : wholeViews(this.t, this.pc, node, offset, length);
  }

  /**
   * `fromReserve`: the kernel already acknowledged this write (FUSE writeback);
   * it may use the pages the ledger keeps reserved for that.
   */
  write(ino: number, offset: number, data: Uint8Array, opts: { fromReserve?: boolean } = NOT_FROM_RESERVE): number {
    const node = this.node(ino);
    if (typeof node === 'number') return node;
    this.pc.fromReserve = opts.fromReserve === true;
    let r: number;
    try { r = node.ops.write(this.pc, node, offset, data); } finally { this.pc.fromReserve = false; }
    if (r > 0) this.t.touch(node, 'm');
    return r;
  }

  /**
   * write() of a large run in two steps (staged.ts): the whole pages it covers
   * are filled through the arena's fd on a pool thread, then the write is
   * applied as write() would apply it at that moment; `done` gets write()'s
   * result, never synchronously. False: not staged (small, not a regular file,
   * no fd, no room), nothing done: the caller writes at once.
   */
  writeLater(ino: number, offset: number, data: Uint8Array, opts: { fromReserve?: boolean }, done: (n: number) => void): boolean {
    const node = this.node(ino);
    if (typeof node === 'number' || node.ops !== regularOps) return false;
    return writeLater(this.pc, offset, data, opts.fromReserve === true, (w, filled) => {
      if (!this.mounted) return done(-EIO);   // the engine and its pages are gone
      const now = this.node(ino);
      done(installStaged(this.t, this.pc, now, w, filled, opts.fromReserve === true, () => this.write(ino, w.off, w.data, opts)));
    });
  }

  fallocate(ino: number, mode: number, offset: number, length: number): number {
    const node = this.node(ino);
    if (typeof node === 'number') return node;
    const before = node.size;
    const r = node.ops.fallocate(this.pc, node, mode, offset, length);
    if (r === 0) this.t.touch(node, node.size !== before || mode !== 0 ? 'm' : 'c');
    return r;
  }

  seek(ino: number, offset: number, whence: 3 | 4): number {
    const node = this.node(ino);
    if (typeof node === 'number') return node;
    return node.ops.seek(this.pc, node, offset, whence);
  }

  /**
   * Up to `max` entries from `cookie` on, each with the cookie of the next, while
   * `fits` accepts them (a FUSE reply buffer). The stream resumes in O(1) at the
   * `next` of the last entry returned (fs/inode.ts Directory.walk).
   */
  readdir(ino: number, cookie: number, max: number, fits: (e: DirEntry) => boolean = () => true): DirEntry[] | number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : ns.readdir(this.t, node, cookie, max, fits);
  }

  getxattr(ino: number, name: string): Uint8Array | number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : xa.getxattr(node, name);
  }

  setxattr(ino: number, name: string, value: Uint8Array, flags: number): number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : attrs.setxattr(this.t, node, name, value, flags);
  }

  listxattr(ino: number): string[] | number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : xa.listxattr(node);
  }

  removexattr(ino: number, name: string): number {
    const node = this.node(ino);
    return typeof node === 'number' ? node : attrs.removexattr(this.t, node, name);
  }

  open(ino: number): number {
    const node = this.node(ino);
    if (typeof node === 'number') return node;
    node.opens++;
    return 0;
  }

  release(ino: number): void {
    const node = this.t.get(ino);
    if (!node || node.opens === 0) return;
    node.opens--;
    this.t.maybeEvict(node);
  }

  forget(ino: number, nlookup: number): void {
    const node = this.t.get(ino);
    if (!node) return;
    node.lookups = Math.max(0, node.lookups - nlookup);
    this.t.maybeEvict(node);
  }

  /** Keep `pages` reserved for writes acknowledged before they are stored (FUSE writeback); the pages reserved now. */
  reserveWriteback(pages: number): number {
    return this.pram ? this.pram.space.reserve(pages) : 0;
  }

  /**
   * statfs(2)'s figures. Free pages are shown net of the ledger's reservations: what a new write can still get.
   * Inodes as statfs(2) counts them: files = all there can be (the numbers 1..2^32-1), ffree = those not in use
   * (a full and a lazy mount agree; the next number given may be past a freed one), so `df -i` shows the used ones.
   */
  statfs(): StatFs {
    const { total } = this.parts.space();
    const used = this.t.inodes.size + (this.t.lazy?.unloaded ?? 0);
    const free = this.pram ? Math.max(0, this.pram.space.room()) : this.parts.space().free;
    return { bsize: this.pc.pageSize, blocks: total, bfree: free, bavail: free, files: INO_MAX, ffree: Math.max(0, INO_MAX - used), namelen: NAME_MAX };
  }

  fsync(ino: number): number {
    if (!this.t.get(ino)) return -ENOENT;
    return this.sync();
  }

  /** The tree made durable (checkpoint.ts): a commit of what changed, or a whole checkpoint; 0 or -errno. */
  sync(): number {
    return this.mounted ? this.checkpoints.sync() : -EINVAL;
  }

  /** Background work between requests for about budgetMs, never needed for safety (checkpoint.ts): true when more is to do now. */
  background(budgetMs: number): boolean {
    return this.mounted && this.checkpoints.background(budgetMs);
  }

  /** From now on a driver calls background() between requests: a due compaction waits for its slices. */
  driveBackground(): void {
    this.checkpoints.drive();
  }

  /** About how many records the next commit writes; 0 without a change tracker (checkpoint.ts). */
  pendingChanges(): number {
    return this.mounted ? this.checkpoints.pending() : 0;
  }

  /** Something a checkpoint saves changed since the last one (an interval checkpoint is skipped when not). */
  unsaved(): boolean {
    return this.mounted && this.checkpoints.unsaved();
  }

  /**
   * Final checkpoint, then close. When the checkpoint fails (-ENOSPC: no room
   * for the chain) the volume stays mounted, so the caller can free space and
   * try again, or give up with detach() (back to the previous checkpoint).
   */
  unmount(): number {
    // The unmount's commit writes a due compaction whole (Pram.commit): the next mount then finds an index.
    const r = this.mounted ? this.checkpoints.sync(true) : -EINVAL;
    return r < 0 ? r : this.detach();
  }

  /** Close without a checkpoint: the memory keeps the last saved image, byte for byte. */
  detach(): number {
    if (!this.mounted) return -EINVAL;
    this.mounted = false;
    this.parts.close();
    return 0;
  }

  get isMounted(): boolean { return this.mounted; }
  /** Changes answer EROFS (readonly.ts). */
  get readOnly(): boolean { return false; }

  /** The images a checkpoint would save now (for check and info). */
  images(): NodeImage[] {
    return toImages(this.t);
  }

  /** Absolute path -> ino, following symlinks in the middle (and at the end unless follow is false). */
  resolve(path: string, opts: { follow?: boolean } = {}): number {
    return resolvePath(this.t, this.pc, path, opts.follow ?? true);
  }
}
