// What fuse/ needs from the file system it serves: the subset of fs/'s Volume
// (docs/ARCHITECTURE.md, "fs/ API") that the FUSE operations map onto. fs/'s
// Volume satisfies it structurally; the unit tests serve a small double.
// Every method returns a negative errno for an expected failure.
import type { StatFs, WireAttr } from './wire.js';

export type Attr = WireAttr;
export interface DirEntry { name: string; ino: number; type: number; next: number }
/** Views over a file's storage that stay valid until released. */
export interface HeldViews { readonly buffers: Buffer[]; release(): void }
export interface SetAttr { mode?: number; uid?: number; gid?: number; size?: number; atimeNs?: bigint; mtimeNs?: bigint; ctimeNs?: bigint }

export interface ServedVolume {
  readonly rootIno: number;
  lookup(parent: number, name: string): Attr | number;
  getattr(ino: number): Attr | number;
  setattr(ino: number, set: SetAttr): Attr | number;
  mknod(parent: number, name: string, mode: number, rdev: number, uid: number, gid: number): Attr | number;
  mkdir(parent: number, name: string, mode: number, uid: number, gid: number): Attr | number;
  symlink(parent: number, name: string, target: string, uid: number, gid: number): Attr | number;
  readlink(ino: number): string | number;
  link(ino: number, newParent: number, newName: string): Attr | number;
  unlink(parent: number, name: string): number;
  rmdir(parent: number, name: string): number;
  rename(parent: number, name: string, newParent: number, newName: string, flags: number): number;
  read(ino: number, offset: number, length: number): Uint8Array | number;
  /** The same bytes as read() as views over the file's storage, no copy: valid only until the next call that may write. */
  readViews(ino: number, offset: number, length: number): Buffer[] | number;
  /** Like readViews, but the views stay valid (the pages pinned: writes go to copies, frees wait) until release(). */
  view(ino: number, offset: number, length: number): HeldViews | number;
  /** Present when copying beats views (no page mapped into the server): readViews' bytes into target, whole or -errno. */
  readonly readCopy?: ((ino: number, offset: number, length: number, target: Uint8Array) => number) | undefined;
  /** `fromReserve`: the kernel acknowledged this write already (it may use the pages reserved for that). */
  write(ino: number, offset: number, data: Uint8Array, opts?: { fromReserve?: boolean }): number;
  /** write() with the copy on pool threads: `done` gets its result later; false: not taken (write at once). */
  writeLater?(ino: number, offset: number, data: Uint8Array, opts: { fromReserve?: boolean }, done: (n: number) => void): boolean;
  /** Keep `pages` reserved for writes the kernel caches; returns the pages reserved (absent: nothing reserved). */
  reserveWriteback?(pages: number): number;
  fallocate(ino: number, mode: number, offset: number, length: number): number;
  seek(ino: number, offset: number, whence: 3 | 4): number;
  /** Entries from `cookie` while fewer than `max` and `fits` accepts them; the first refused is where the next call starts. */
  readdir(ino: number, cookie: number, max: number, fits?: (e: DirEntry) => boolean): DirEntry[] | number;
  getxattr(ino: number, name: string): Uint8Array | number;
  setxattr(ino: number, name: string, value: Uint8Array, flags: number): number;
  listxattr(ino: number): string[] | number;
  removexattr(ino: number, name: string): number;
  open(ino: number): number;
  release(ino: number): void;
  forget(ino: number, nlookup: number): void;
  statfs(): StatFs;
  fsync(ino: number): number;
  sync(): number;
  /** Something changed since the last checkpoint (the interval skips the save when not). */
  unsaved(): boolean;
  /** Background work between requests (fs/driver.ts): absent in the test double. */
  readonly isMounted?: boolean;
  background?(budgetMs: number): boolean;
  driveBackground?(): void;
}

export function isErr(r: unknown): r is number {
  return typeof r === 'number' && r < 0;
}
