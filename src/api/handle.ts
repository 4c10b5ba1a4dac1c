// FileHandle: node:fs/promises' handle over one open pram inode. The inode is
// counted open (fs/ keeps an unlinked file alive until close).
import { EBADF, EIO, ENOSPC } from '../format/errno.js';
import type { Volume } from '../fs/volume.js';
import { READ_FILE_BYTES_MAX, check, errnoError, fileTooLarge } from './errors.js';
import { BigIntStats, Stats } from './stats.js';
import { FileView } from './view.js';

export interface OpenFlags { read: boolean; write: boolean; append: boolean; create: boolean; excl: boolean; trunc: boolean }

let nextFd = 1000;

export class FileHandle {
  readonly fd = nextFd++;
  private pos = 0;
  private closed = false;
  private readonly views = new Set<FileView>();

  constructor(private readonly vol: Volume, readonly ino: number, readonly path: string, private readonly flags: OpenFlags) {}

  private live(syscall: string): void {
    if (this.closed || !this.vol.isMounted) throw errnoError(-EBADF, syscall, this.path);
  }

  async read<T extends Uint8Array = Buffer>(buffer?: T | { buffer?: T; offset?: number; length?: number; position?: number | null }, offset?: number, length?: number, position?: number | null): Promise<{ bytesRead: number; buffer: T }> {
    this.live('read');
    if (!this.flags.read) throw errnoError(-EBADF, 'read', this.path);
    let buf: T;
    if (!(buffer instanceof Uint8Array)) {   // a Buffer or any Uint8Array, as node takes
      const o = buffer ?? {};
      buf = o.buffer ?? (Buffer.alloc(16384) as Uint8Array as T);
      offset = o.offset; length = o.length; position = o.position;
    } else buf = buffer;
    const off = offset ?? 0;
    const len = length ?? buf.length - off;
    if (!(Number.isSafeInteger(off) && off >= 0 && Number.isSafeInteger(len) && len >= 0 && off + len <= buf.length)) {
      throw Object.assign(new RangeError(`offset ${off} and length ${len} do not fit a buffer of ${buf.length} bytes`), { code: 'ERR_OUT_OF_RANGE' });
    }
    const at = typeof position === 'number' && position >= 0 ? position : this.pos;
    // One copy: from the arena's pages straight into the caller's buffer.
    const n = check(this.vol.readInto(this.ino, at, buf, off, len), 'read', this.path);
    if (!(typeof position === 'number' && position >= 0)) this.pos += n;
    return { bytesRead: n, buffer: buf };
  }

  /**
   * Zero-copy: the bytes at `offset` (default 0; up to `length`, default to
   * the end) as read-only views over the arena's pages. Valid until released
   * (view.release(), `using`) or this handle is closed; writes never change
   * what a live view shows (README, "Reading without copies").
   */
  async view(offset = 0, length?: number): Promise<FileView> {
    this.live('read');
    if (!this.flags.read) throw errnoError(-EBADF, 'read', this.path);
    const len = length ?? Math.max(0, this.size() - offset);
    const v = new FileView(check(this.vol.view(this.ino, offset, len), 'read', this.path), offset, (x) => this.views.delete(x));
    this.views.add(v);
    return v;
  }

  async write(data: Uint8Array | string, offsetOrPosition?: number | null, lengthOrEncoding?: number | BufferEncoding, position?: number | null): Promise<{ bytesWritten: number; buffer: Uint8Array | string }> {
    this.live('write');
    if (!this.flags.write) throw errnoError(-EBADF, 'write', this.path);
    let bytes: Uint8Array;
    let at: number | null | undefined;
    if (typeof data === 'string') {
      bytes = Buffer.from(data, (lengthOrEncoding as BufferEncoding) ?? 'utf8');
      at = offsetOrPosition;
    } else {
      const off = offsetOrPosition ?? 0;
      const len = typeof lengthOrEncoding === 'number' ? lengthOrEncoding : data.length - off;
      bytes = off === 0 && len === data.length ? data : data.subarray(off, off + len);   // the whole buffer: no view made per write
      at = position;
    }
    const explicit = typeof at === 'number' && at >= 0;
    const where = this.flags.append ? this.size() : explicit ? at! : this.pos;
    const n = bytes.length === 0 ? 0 : check(this.vol.write(this.ino, where, bytes), 'write', this.path);
    if (!explicit || this.flags.append) this.pos = where + n;
    // What fitted is stored; the error says how much (writeFile, streams and copies rely on the throw).
    if (n < bytes.length) throw Object.assign(errnoError(-ENOSPC, 'write', this.path), { bytesWritten: n });
    return { bytesWritten: n, buffer: data };
  }

  private size(): number {
    return check(this.vol.getattr(this.ino), 'fstat', this.path).size;
  }

  async readFile(opts?: { encoding?: BufferEncoding | null } | BufferEncoding | null): Promise<Buffer | string> {
    this.live('read');
    const size = this.size();
    if (size - this.pos > READ_FILE_BYTES_MAX) throw fileTooLarge(size - this.pos, 'read', this.path);
    const data = check(this.vol.read(this.ino, this.pos, Math.max(0, size - this.pos)), 'read', this.path);
    if (data.length < size - this.pos) throw errnoError(-EIO, 'read', this.path);   // stopped at a damaged page
    this.pos += data.length;
    const enc = typeof opts === 'string' ? opts : opts?.encoding;
    return enc ? data.toString(enc) : data;
  }

  async writeFile(data: Uint8Array | string, opts?: { encoding?: BufferEncoding } | BufferEncoding): Promise<void> {
    const enc = typeof opts === 'string' ? opts : opts?.encoding;
    await this.write(typeof data === 'string' ? Buffer.from(data, enc ?? 'utf8') : data);
  }

  stat(opts: { bigint: true }): Promise<BigIntStats>;
  stat(opts?: { bigint?: false }): Promise<Stats>;
  async stat(opts?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    this.live('fstat');
    const a = check(this.vol.getattr(this.ino), 'fstat', this.path);
    return opts?.bigint ? new BigIntStats(a) : new Stats(a);
  }

  async truncate(len = 0): Promise<void> {
    this.live('ftruncate');
    check(this.vol.setattr(this.ino, { size: len }), 'ftruncate', this.path);
  }

  async sync(): Promise<void> {
    this.live('fsync');
    check(this.vol.fsync(this.ino), 'fsync', this.path);
  }

  async datasync(): Promise<void> {
    return this.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const v of [...this.views]) v.release();
    if (this.vol.isMounted) this.vol.release(this.ino);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** 'r', 'w+', 'ax'... or O_* numbers, as node:fs understands them. */
export function parseFlags(flags: string | number = 'r'): OpenFlags {
  if (typeof flags === 'number') {
    const acc = flags & 3;
    return {
      read: acc === 0 || acc === 2, write: acc === 1 || acc === 2, append: (flags & 0o2000) !== 0,
      create: (flags & 0o100) !== 0, excl: (flags & 0o200) !== 0, trunc: (flags & 0o1000) !== 0,
    };
  }
  const f = flags.replace('s', '');
  const plus = f.includes('+');
  const excl = f.includes('x');
  switch (f[0]) {
    case 'r': return { read: true, write: plus, append: false, create: false, excl: false, trunc: false };
    case 'w': return { read: plus, write: true, append: false, create: true, excl, trunc: true };
    case 'a': return { read: plus, write: true, append: true, create: true, excl, trunc: false };
    default: throw Object.assign(new TypeError(`invalid flag '${flags}'`), { code: 'ERR_INVALID_ARG_VALUE' });
  }
}
