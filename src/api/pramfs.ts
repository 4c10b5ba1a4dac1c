// The mounted pram file system as a Node program sees it: node:fs/promises'
// methods over one Volume. Paths resolve inside the volume; errors are Node's.
// Streams are in streams.ts, opening the arena in arena.ts, mount() in index.ts.
import { EEXIST, EIO, EISDIR, ENOENT, ENOSPC, ENOTDIR, EBADF, EROFS } from '../format/errno.js';
import { S_IFDIR, S_IFMT, S_IFREG, XATTR_CREATE, XATTR_REPLACE } from '../fs/mode.js';
import type { Volume } from '../fs/volume.js';
import type { Loss } from '../pram/image.js';
import { READ_FILE_BYTES_MAX, check, errnoError, fileTooLarge } from './errors.js';
import { FileHandle, parseFlags } from './handle.js';
import { joinPath, lookupPath, parentOf, toPath, type PathLike } from './paths.js';
import { BigIntStats, Dirent, Stats } from './stats.js';
import { FileView, type ViewOptions } from './view.js';
import { startBackground } from '../fs/driver.js';
import { createReadStream, createWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';

type Data = string | Uint8Array;
type Enc = BufferEncoding | null | undefined;
const encOf = (o: unknown): Enc => (typeof o === 'string' ? (o as BufferEncoding) : (o as { encoding?: Enc } | undefined)?.encoding);
const toBytes = (d: Data, enc?: Enc) => (typeof d === 'string' ? Buffer.from(d, enc ?? 'utf8') : d);
const timeNs = (t: number | string | Date | bigint): bigint =>
  typeof t === 'bigint' ? t : t instanceof Date ? BigInt(t.getTime()) * 1_000_000n
    : BigInt(Math.round(Number(t) * 1e6)) * 1000n;

/**
 * With interval checkpoints, a change set of this many records (inodes, names,
 * pages: 1 MiB of 4 KiB writes) is committed at the next EARLY_CHECK_MS tick
 * instead of waiting for the interval. The interval stays the longest a change
 * waits; committing sooner only shortens it, and one commit's work stays small.
 */
export const EARLY_CHANGES = 256;
export const EARLY_CHECK_MS = 50;

export class PramFs {
  private timer: NodeJS.Timeout | null = null;
  private early: NodeJS.Timeout | null = null;
  private readonly stopBackground: () => void;
  private readonly uid = process.getuid?.() ?? 0;
  private readonly gid = process.getgid?.() ?? 0;
  private readonly umask = process.umask();

  constructor(readonly volume: Volume, readonly arenaPath: string, checkpointIntervalMs?: number) {
    if (checkpointIntervalMs && checkpointIntervalMs > 0) {
      // Between two API calls (each runs its fs/ work synchronously), and only when something changed.
      this.timer = setInterval(() => { if (this.volume.unsaved()) this.volume.sync(); }, checkpointIntervalMs);
      this.timer.unref();
      // A change set past EARLY_CHANGES is committed before the interval is up: every interval checkpoint then
      // writes at most about that many records, so none blocks the loop long (issue 13), cold JIT included.
      this.early = setInterval(() => this.earlyCheckpoint(), Math.min(EARLY_CHECK_MS, checkpointIntervalMs));
      this.early.unref();
    }
    this.stopBackground = startBackground(volume);
  }

  /**
   * A commit before the interval when the change set is large. One that fails
   * (ENOSPC: the append did not fit, and neither did a whole compaction) is not
   * tried again every tick: early commits wait until a sync has worked.
   */
  private earlyCheckpoint(): void {
    if (this.volume.pendingChanges() < EARLY_CHANGES) { this.earlyFailed = false; return; }
    if (!this.earlyFailed && this.volume.sync() < 0) this.earlyFailed = true;
  }
  private earlyFailed = false;

  /** What the mount could not restore (empty when the image was whole). */
  get losses(): readonly Loss[] { return this.volume.losses; }

  private v(syscall: string, path?: string): Volume {
    if (!this.volume.isMounted) throw errnoError(-EBADF, syscall, path, undefined, 'pram is unmounted');
    return this.volume;
  }

  async open(path: PathLike, flags: string | number = 'r', mode = 0o666): Promise<FileHandle> {
    const p = toPath(path);
    const vol = this.v('open', p);
    const f = parseFlags(flags);
    if (vol.readOnly && (f.write || f.trunc)) throw errnoError(-EROFS, 'open', p);
    let ino = vol.resolve(p, { follow: true });
    if (ino >= 0 && f.create && f.excl) throw errnoError(-EEXIST, 'open', p);
    if (ino === -ENOENT && f.create) {
      const { parent, name } = parentOf(vol, p, 'open');
      ino = check(vol.mknod(parent, name, S_IFREG | (mode & 0o7777 & ~this.umask), 0, this.uid, this.gid), 'open', p).ino;
    }
    if (ino < 0) throw errnoError(ino, 'open', p);
    const a = check(vol.getattr(ino), 'open', p);
    if ((a.mode & S_IFMT) === S_IFDIR && (f.write || f.trunc)) throw errnoError(-EISDIR, 'open', p);
    if (f.trunc && f.write && (a.mode & S_IFMT) === S_IFREG && a.size > 0) check(vol.setattr(ino, { size: 0 }), 'open', p);
    check(vol.open(ino), 'open', p);
    return new FileHandle(vol, ino, p, f);
  }

  readFile(path: PathLike, opts: { encoding: BufferEncoding; flag?: string } | BufferEncoding): Promise<string>;
  readFile(path: PathLike, opts?: { encoding?: null; flag?: string } | null): Promise<Buffer>;
  async readFile(path: PathLike, opts?: { encoding?: Enc; flag?: string } | BufferEncoding | null): Promise<Buffer | string> {
    const p = toPath(path);
    const vol = this.v('open', p);
    const ino = lookupPath(vol, p, 'open');
    const a = check(vol.getattr(ino), 'open', p);
    if ((a.mode & S_IFMT) === S_IFDIR) throw errnoError(-EISDIR, 'read', p);
    if (a.size > READ_FILE_BYTES_MAX) throw fileTooLarge(a.size, 'read', p);
    const data = check(vol.read(ino, 0, a.size), 'read', p);   // one copy, arena -> the new buffer
    if (data.length < a.size) throw errnoError(-EIO, 'read', p);   // stopped at a damaged page: never a silent short file
    const enc = encOf(opts);
    return enc ? data.toString(enc) : data;
  }

  /**
   * Zero-copy: the bytes of a file as read-only views over the arena's pages
   * (one per physically contiguous run), pinned until view.release() (or
   * `using`, or unmount). A write never changes what a live view shows.
   */
  async view(path: PathLike, opts: ViewOptions = {}): Promise<FileView> {
    const p = toPath(path);
    const vol = this.v('open', p);
    const ino = lookupPath(vol, p, 'open');
    const a = check(vol.getattr(ino), 'open', p);
    if ((a.mode & S_IFMT) === S_IFDIR) throw errnoError(-EISDIR, 'read', p);
    const offset = opts.offset ?? 0;
    const length = opts.length ?? Math.max(0, a.size - offset);
    return new FileView(check(vol.view(ino, offset, length), 'read', p), offset);
  }

  async writeFile(path: PathLike, data: Data, opts?: { encoding?: Enc; mode?: number; flag?: string } | BufferEncoding): Promise<void> {
    const o = typeof opts === 'object' ? opts : {};
    const h = await this.open(path, o.flag ?? 'w', o.mode ?? 0o666);
    try { await h.write(toBytes(data, encOf(opts))); } finally { await h.close(); }
  }

  async appendFile(path: PathLike, data: Data, opts?: { encoding?: Enc; mode?: number } | BufferEncoding): Promise<void> {
    const o = typeof opts === 'object' ? opts : {};
    await this.writeFile(path, data, { encoding: encOf(opts), mode: o.mode, flag: 'a' });
  }

  stat(path: PathLike, opts: { bigint: true }): Promise<BigIntStats>;
  stat(path: PathLike, opts?: { bigint?: false }): Promise<Stats>;
  async stat(path: PathLike, opts?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    return this.statOf(toPath(path), true, 'stat', opts?.bigint);
  }

  lstat(path: PathLike, opts: { bigint: true }): Promise<BigIntStats>;
  lstat(path: PathLike, opts?: { bigint?: false }): Promise<Stats>;
  async lstat(path: PathLike, opts?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    return this.statOf(toPath(path), false, 'lstat', opts?.bigint);
  }

  private statOf(p: string, follow: boolean, syscall: string, bigint?: boolean): Stats | BigIntStats {
    const vol = this.v(syscall, p);
    const a = check(vol.getattr(lookupPath(vol, p, syscall, follow)), syscall, p);
    return bigint ? new BigIntStats(a) : new Stats(a);
  }

  async access(path: PathLike, _mode?: number): Promise<void> {
    const p = toPath(path);
    lookupPath(this.v('access', p), p, 'access');
  }

  async mkdir(path: PathLike, opts?: { recursive?: boolean; mode?: number } | number): Promise<string | undefined> {
    const p = toPath(path);
    const vol = this.v('mkdir', p);
    const o = typeof opts === 'number' ? { mode: opts } : opts ?? {};
    const mode = (o.mode ?? 0o777) & ~this.umask;
    if (!o.recursive) {
      const { parent, name } = parentOf(vol, p, 'mkdir');
      check(vol.mkdir(parent, name, mode, this.uid, this.gid), 'mkdir', p);
      return undefined;
    }
    let first: string | undefined;
    let cur = '/';
    let dir = vol.rootIno as number;
    for (const part of p.split('/').filter((c) => c && c !== '.')) {
      cur = joinPath(cur, part);
      const ino = vol.resolve(cur, { follow: true });
      if (ino >= 0) {
        if ((check(vol.getattr(ino), 'mkdir', p).mode & S_IFMT) !== S_IFDIR) throw errnoError(-ENOTDIR, 'mkdir', p);
        dir = ino;
        continue;
      }
      if (ino !== -ENOENT) throw errnoError(ino, 'mkdir', p);
      dir = check(vol.mkdir(dir, part, mode, this.uid, this.gid), 'mkdir', p).ino;
      first ??= cur;
    }
    return first;
  }

  readdir(path: PathLike, opts: { withFileTypes: true }): Promise<Dirent[]>;
  readdir(path: PathLike, opts?: { withFileTypes?: false; encoding?: Enc } | BufferEncoding): Promise<string[]>;
  async readdir(path: PathLike, opts?: { withFileTypes?: boolean; encoding?: Enc } | BufferEncoding): Promise<string[] | Dirent[]> {
    const p = toPath(path);
    const vol = this.v('scandir', p);
    const ino = lookupPath(vol, p, 'scandir');
    const list = check(vol.readdir(ino, 0, Number.MAX_SAFE_INTEGER), 'scandir', p).filter((e) => e.name !== '.' && e.name !== '..');
    if (typeof opts === 'object' && opts?.withFileTypes) return list.map((e) => new Dirent(e.name, p, e.type));
    return list.map((e) => e.name);
  }

  async rename(oldPath: PathLike, newPath: PathLike, flags = 0): Promise<void> {
    const a = toPath(oldPath), b = toPath(newPath);
    const vol = this.v('rename', a);
    const src = parentOf(vol, a, 'rename');
    const dst = parentOf(vol, b, 'rename');
    check(vol.rename(src.parent, src.name, dst.parent, dst.name, flags), 'rename', a, b);
  }

  async unlink(path: PathLike): Promise<void> {
    const p = toPath(path);
    const vol = this.v('unlink', p);
    const { parent, name } = parentOf(vol, p, 'unlink');
    check(vol.unlink(parent, name), 'unlink', p);
  }

  async rmdir(path: PathLike): Promise<void> {
    const p = toPath(path);
    const vol = this.v('rmdir', p);
    const { parent, name } = parentOf(vol, p, 'rmdir');
    check(vol.rmdir(parent, name), 'rmdir', p);
  }

  async rm(path: PathLike, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    const p = toPath(path);
    const vol = this.v('rm', p);
    const ino = vol.resolve(p, { follow: false });
    if (ino === -ENOENT && opts.force) return;
    if (ino < 0) throw errnoError(ino, 'rm', p);
    const isDir = (check(vol.getattr(ino), 'rm', p).mode & S_IFMT) === S_IFDIR;
    if (!isDir) return this.unlink(p);
    if (!opts.recursive) throw Object.assign(errnoError(-EISDIR, 'rm', p, undefined, 'Path is a directory'), { code: 'ERR_FS_EISDIR' });
    for (const name of (await this.readdir(p)) as string[]) await this.rm(joinPath(p, name), opts);
    if (p !== '/') await this.rmdir(p);
  }

  async symlink(target: PathLike, path: PathLike): Promise<void> {
    const p = toPath(path);
    const vol = this.v('symlink', p);
    const { parent, name } = parentOf(vol, p, 'symlink');
    const t = typeof target === 'string' ? target : Buffer.isBuffer(target) ? target.toString() : target.pathname;
    check(vol.symlink(parent, name, t, this.uid, this.gid), 'symlink', t, p);
  }

  async readlink(path: PathLike): Promise<string> {
    const p = toPath(path);
    const vol = this.v('readlink', p);
    return check(vol.readlink(lookupPath(vol, p, 'readlink', false)), 'readlink', p);
  }

  async link(existingPath: PathLike, newPath: PathLike): Promise<void> {
    const a = toPath(existingPath), b = toPath(newPath);
    const vol = this.v('link', a);
    const ino = lookupPath(vol, a, 'link', false);
    const { parent, name } = parentOf(vol, b, 'link');
    check(vol.link(ino, parent, name), 'link', a, b);
  }

  async chmod(path: PathLike, mode: number): Promise<void> { this.setattr(toPath(path), 'chmod', { mode }, true); }
  async lchmod(path: PathLike, mode: number): Promise<void> { this.setattr(toPath(path), 'lchmod', { mode }, false); }
  async chown(path: PathLike, uid: number, gid: number): Promise<void> { this.setattr(toPath(path), 'chown', { uid, gid }, true); }
  async lchown(path: PathLike, uid: number, gid: number): Promise<void> { this.setattr(toPath(path), 'lchown', { uid, gid }, false); }
  async utimes(path: PathLike, atime: number | string | Date | bigint, mtime: number | string | Date | bigint): Promise<void> {
    this.setattr(toPath(path), 'utime', { atimeNs: timeNs(atime), mtimeNs: timeNs(mtime) }, true);
  }
  async lutimes(path: PathLike, atime: number | string | Date | bigint, mtime: number | string | Date | bigint): Promise<void> {
    this.setattr(toPath(path), 'lutime', { atimeNs: timeNs(atime), mtimeNs: timeNs(mtime) }, false);
  }
  async truncate(path: PathLike, len = 0): Promise<void> { this.setattr(toPath(path), 'truncate', { size: len }, true); }

  private setattr(p: string, syscall: string, set: Parameters<Volume['setattr']>[1], follow: boolean): void {
    const vol = this.v(syscall, p);
    check(vol.setattr(lookupPath(vol, p, syscall, follow), set), syscall, p);
  }

  async copyFile(src: PathLike, dest: PathLike, mode = 0): Promise<void> {
    const a = toPath(src), b = toPath(dest);
    const data = (await this.readFile(a)) as Buffer;
    const st = (await this.stat(a)) as Stats;
    await this.writeFile(b, data, { flag: mode & 1 /* COPYFILE_EXCL */ ? 'wx' : 'w', mode: st.mode & 0o7777 });
  }

  async getxattr(path: PathLike, name: string): Promise<Buffer> {
    const p = toPath(path);
    const vol = this.v('getxattr', p);
    return Buffer.from(check(vol.getxattr(lookupPath(vol, p, 'getxattr'), name), 'getxattr', p));
  }

  async setxattr(path: PathLike, name: string, value: Data, opts: { create?: boolean; replace?: boolean } = {}): Promise<void> {
    const p = toPath(path);
    const vol = this.v('setxattr', p);
    const flags = (opts.create ? XATTR_CREATE : 0) | (opts.replace ? XATTR_REPLACE : 0);
    check(vol.setxattr(lookupPath(vol, p, 'setxattr'), name, toBytes(value), flags), 'setxattr', p);
  }

  async listxattr(path: PathLike): Promise<string[]> {
    const p = toPath(path);
    const vol = this.v('listxattr', p);
    return check(vol.listxattr(lookupPath(vol, p, 'listxattr')), 'listxattr', p);
  }

  async removexattr(path: PathLike, name: string): Promise<void> {
    const p = toPath(path);
    const vol = this.v('removexattr', p);
    check(vol.removexattr(lookupPath(vol, p, 'removexattr'), name), 'removexattr', p);
  }

  createReadStream(path: PathLike, opts?: ReadStreamOptions) { return createReadStream(this, toPath(path), opts); }
  createWriteStream(path: PathLike, opts?: WriteStreamOptions) { return createWriteStream(this, toPath(path), opts); }

  /** A checkpoint: everything written so far survives a crash of this process. */
  async sync(): Promise<void> {
    const r = this.v('sync').sync();
    if (r < 0) throw errnoError(r, 'sync', this.arenaPath, undefined, r === -ENOSPC ? 'no room for the checkpoint' : undefined);
  }

  /**
   * Final checkpoint, then unmap and unlock. `{ save: false }` leaves the saved
   * image exactly as it was (read-only uses: ls, cat, check): nothing is written.
   * If the checkpoint fails (ENOSPC) the mount stays usable: free space and call
   * unmount() again, or unmount({ save: false }) to go back to the last checkpoint.
   */
  /** Called once at unmount, before the final save (mount() closes the LUO control socket here). */
  onUnmount: (() => void) | null = null;

  async unmount(opts: { save?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.early) clearInterval(this.early);
    this.timer = this.early = null;
    this.stopBackground();
    this.onUnmount?.();
    this.onUnmount = null;
    if (!this.volume.isMounted) return;
    const r = opts.save === false ? this.volume.detach() : this.volume.unmount();
    if (r < 0) throw errnoError(r, 'umount', this.arenaPath);
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.unmount(); }
}
