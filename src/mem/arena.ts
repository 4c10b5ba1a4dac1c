// An arena: real memory that outlives the process — a regular file (usually on
// /dev/shm), a block or character (DAX) device, or a memfd — mapped MAP_SHARED
// in segments of 16 MiB (see DEFAULT_SEGMENT). pfn n lives at byte offset n × pageSize.
// This file owns the mapping and the exclusive lock (checks: arena-checks.ts); what
// the bytes mean (the header in pfn 0, the chain) belongs to format/ and pram/.

import * as fs from 'node:fs';
import type { PhysMem } from './physmem.js';
import * as native from './native.js';
import { ArenaError, charDeviceSize, checkGeometry, checkOwner, checkSize, lockOrThrow, openChecked, wrapOpenError } from './arena-checks.js';

export { ArenaError } from './arena-checks.js';

export type ArenaKind = 'file' | 'blockdev' | 'chardev' | 'memfd';

export interface ArenaGeometry {
  /** Bytes per page; a power of two >= 1024. Default 4096. */
  pageSize?: number;
  /** Largest mapping; a power of two multiple of the page size, at most 4 GiB. Default 16 MiB or one page (tests use less). */
  maxSegmentBytes?: number;
  /** Map and touch every page now (MADV_POPULATE_WRITE) so first writes through the mapping do not fault (default: a memfd, or a created file whose fallocate failed; data goes through the fd otherwise). */
  prefault?: boolean;
}

export interface ArenaCreateOptions extends ArenaGeometry {
  sizeBytes: number;
  pageSize: number;
  /** Replace (and zero) an existing arena file instead of refusing. */
  overwrite?: boolean;
}

export interface ArenaOpenOptions extends ArenaGeometry {
  /** Use only this many bytes; required for a character device whose size is not known. */
  sizeBytes?: number;
}

export interface ArenaFromFdOptions extends ArenaOpenOptions {
  kind?: ArenaKind;
  /** A name for messages, e.g. 'luo:pram'. */
  path?: string;
}


// V8 starts a GC of the whole heap when its external-memory count grows 64 MB past
// its low: a mapping the addon wraps is taken off that count (native/pram_native.c)
// only before its Buffer is made, so one mapping must stay under 64 MB to cost no GC.
// And while young Buffers hold 32 MB (2 semispaces), every typed array made forces a
// young GC: one 16 MiB segment (a small image's header and log) stays below that.
const DEFAULT_SEGMENT = 16 * 1024 * 1024;
const segmentBytes = (opts: ArenaGeometry, pageSize: number): number => opts.maxSegmentBytes ?? Math.max(DEFAULT_SEGMENT, pageSize);

export class Arena implements PhysMem {
  private _pageSize: number;
  private _pageCount = 0;
  private pagesPerSegment = 0;
  // Mapped on first use: an arena maps only the segments it touches.
  private segments: (Buffer | null)[] = [];
  /** Bytes mapped: the size rounded down to whole system pages. */
  private mappedBytes: number;
  private closed = false;
  /** Files' data reads copy out of a mapping of the whole arena (native/mapread.c); PRAM_READ_MAPPED=0: preads. */
  readonly readsMapped: boolean;

  private constructor(
    readonly fd: number,
    readonly path: string,
    readonly kind: ArenaKind,
    readonly sizeBytes: number,
    pageSize: number,
    private segBytes: number,
    private readonly segDefault: boolean,
  ) {
    this._pageSize = pageSize;
    const sys = native.pagesize();
    this.mappedBytes = Math.floor(sizeBytes / sys) * sys;
    this.setPageSize(pageSize);
    this.readsMapped = kind !== 'chardev' && process.env['PRAM_READ_MAPPED'] !== '0' && this.mappedBytes > 0 && native.mapReads(fd, this.mappedBytes);
  }

  /** Creates a regular file arena (mode 0600), preallocated (pre-touched only where fallocate is missing, or when asked). */
  static create(path: string, opts: ArenaCreateOptions): Arena {
    const { sizeBytes, pageSize } = opts;
    checkGeometry(path, pageSize, segmentBytes(opts, pageSize));
    checkSize(path, sizeBytes, pageSize);
    const C = fs.constants;
    let fd: number;
    let created = false;
    try {
      fd = fs.openSync(path, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      created = true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' || !opts.overwrite) throw wrapOpenError(e, path, 'create');
      fd = openChecked(path, C.O_RDWR | C.O_NOFOLLOW);
    }
    try {
      lockOrThrow(fd, path);
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new ArenaError('EINVAL', `arena ${path} exists and is not a regular file; refusing to overwrite it`, path);
      checkOwner(st, path, false);
      if (!created) fs.ftruncateSync(fd, 0); // overwrite means a zeroed arena
      fs.ftruncateSync(fd, sizeBytes);
      let allocated = true;
      try {
        native.fallocate(fd, 0, 0, sizeBytes);
      } catch (e) {
        const code = (e as native.SyscallError).code;
        if (code === 'ENOSPC') throw new ArenaError('ENOSPC', `arena ${path}: no space for ${sizeBytes} bytes`, path);
        if (code !== 'EOPNOTSUPP') throw e; // a file system without fallocate: the pre-touch allocates
        allocated = false;
      }
      const arena = new Arena(fd, path, 'file', sizeBytes, pageSize, segmentBytes(opts, pageSize), opts.maxSegmentBytes === undefined);
      // fallocate already holds every page; data goes through the fd (writeAt/readAt), so mapping
      // them all now (MADV_POPULATE_WRITE: ~1 s of CPU per GiB) would only map what is never touched.
      if (opts.prefault ?? !allocated) arena.prefault();
      return arena;
    } catch (e) {
      fs.closeSync(fd);
      if (created) fs.rmSync(path, { force: true });
      throw e;
    }
  }

  /** Opens an existing arena: a regular file, a block device or a character (DAX) device. */
  static open(path: string, opts: ArenaOpenOptions = {}): Arena {
    const pageSize = opts.pageSize ?? 4096;
    checkGeometry(path, pageSize, segmentBytes(opts, pageSize));
    const fd = openChecked(path, fs.constants.O_RDWR);
    try {
      lockOrThrow(fd, path);
      const st = fs.fstatSync(fd);
      let kind: ArenaKind;
      let size: number;
      if (st.isFile()) {
        kind = 'file';
        size = st.size;
      } else if (st.isBlockDevice()) {
        kind = 'blockdev';
        size = native.blockDeviceSize(fd);
      } else if (st.isCharacterDevice()) {
        kind = 'chardev';
        size = charDeviceSize(st) ?? opts.sizeBytes ?? 0;
        if (size === 0) throw new ArenaError('EINVAL', `arena ${path}: the size of this character device is unknown; give sizeBytes`, path);
      } else {
        throw new ArenaError('EINVAL', `arena ${path} is not a regular file, block device or character device`, path);
      }
      checkOwner(st, path, kind !== 'file');
      return Arena.finish(fd, path, kind, size, pageSize, opts);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** A new memfd arena of sizeBytes (memfd_create + ftruncate + fallocate), owned by this process. */
  static memfd(name: string, sizeBytes: number, opts: ArenaGeometry = {}): Arena {
    const pageSize = opts.pageSize ?? 4096;
    const label = `memfd:${name}`;
    checkGeometry(label, pageSize, segmentBytes(opts, pageSize));
    checkSize(label, sizeBytes, pageSize);
    const fd = native.memfdCreate(name, native.constants.MFD_CLOEXEC);
    try {
      fs.ftruncateSync(fd, sizeBytes);
      try {
        native.fallocate(fd, 0, 0, sizeBytes);
      } catch (e) {
        if ((e as native.SyscallError).code === 'ENOSPC') throw new ArenaError('ENOSPC', `arena ${label}: not enough memory for ${sizeBytes} bytes`, label);
        throw e;
      }
      return Arena.fromFd(fd, { ...opts, pageSize, kind: 'memfd', path: label, prefault: opts.prefault ?? true });
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** An arena over an fd this process already has (a memfd retrieved from LUO); on success it owns fd (close() closes it). */
  static fromFd(fd: number, opts: ArenaFromFdOptions = {}): Arena {
    const pageSize = opts.pageSize ?? 4096;
    const path = opts.path ?? `fd:${fd}`;
    checkGeometry(path, pageSize, segmentBytes(opts, pageSize));
    lockOrThrow(fd, path);
    const st = fs.fstatSync(fd);
    const kind = opts.kind ?? (st.isBlockDevice() ? 'blockdev' : st.isCharacterDevice() ? 'chardev' : 'file');
    const size = kind === 'blockdev' ? native.blockDeviceSize(fd) : kind === 'chardev' ? (charDeviceSize(st) ?? opts.sizeBytes ?? 0) : st.size;
    return Arena.finish(fd, path, kind, size, pageSize, opts);
  }

  private static finish(fd: number, path: string, kind: ArenaKind, size: number, pageSize: number, opts: ArenaOpenOptions): Arena {
    if (opts.sizeBytes !== undefined && opts.sizeBytes < size) size = opts.sizeBytes;
    if (size < 2 * pageSize) {
      throw new ArenaError('EINVAL', `arena ${path} is too small (${size} bytes) for pages of ${pageSize} bytes`, path);
    }
    const arena = new Arena(fd, path, kind, size, pageSize, segmentBytes(opts, pageSize), opts.maxSegmentBytes === undefined);
    if (opts.prefault) arena.prefault();
    return arena;
  }

  get pageSize(): number {
    return this._pageSize;
  }

  get pageCount(): number {
    return this._pageCount;
  }

  /** Segments the arena spans (each at most maxSegmentBytes; each mapped on first use). */
  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Changes the page size once the arena's header has been read (open() cannot
   * know it). The mappings stay: segments are a power-of-two multiple of any page size.
   */
  setPageSize(pageSize: number): void {
    if (this.segDefault && pageSize > this.segBytes) { this.unmapAll(); this.segBytes = pageSize; }
    checkGeometry(this.path, pageSize, this.segBytes);
    this._pageSize = pageSize;
    this._pageCount = Math.floor(this.mappedBytes / pageSize);
    this.pagesPerSegment = this.segBytes / pageSize;
    if (this.segments.length === 0) this.map();
  }

  page(pfn: number): Buffer {
    if (this.closed) throw new Error(`arena ${this.path} used after close()`);
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this._pageCount) {
      throw new RangeError(`pfn ${pfn} is outside arena ${this.path} (0..${this._pageCount - 1})`);
    }
    const i = Math.floor(pfn / this.pagesPerSegment);
    const seg = this.segments[i] ?? this.mapSegment(i);
    const off = (pfn % this.pagesPerSegment) * this._pageSize;
    return seg.subarray(off, off + this._pageSize);
  }

  run(pfn: number, count: number): Buffer | null {
    if (this.closed) throw new Error(`arena ${this.path} used after close()`);
    if (!Number.isInteger(pfn) || !Number.isInteger(count) || count < 1) return null;
    if (pfn < 0 || pfn + count > this._pageCount) return null;
    const segIdx = Math.floor(pfn / this.pagesPerSegment);
    if (Math.floor((pfn + count - 1) / this.pagesPerSegment) !== segIdx) return null;
    const off = (pfn % this.pagesPerSegment) * this._pageSize;
    return (this.segments[segIdx] ?? this.mapSegment(segIdx)).subarray(off, off + count * this._pageSize);
  }

  /** A DAX character device has no read(2); the others read through the page cache the mapping shows. */
  get preadFd(): number | undefined {
    return this.kind === 'chardev' || this.closed ? undefined : this.fd;
  }

  /**
   * pwrite of src[at, at + len) at byte `pos` of the arena (every byte, or
   * false: a DAX device has no write(2), or the write failed; the mapping is
   * the way then). The kernel copies through its own mapping of the pages, so
   * this process takes no page fault: a first touch through our mapping costs
   * more than the copy (bench/lib/firsttouch.mjs), and keeps the pages out of RSS.
   */
  writeAt(pos: number, src: Uint8Array, at: number, len: number): boolean {
    const fd = this.preadFd;
    if (fd === undefined) return false;
    for (let done = 0; done < len;) {
      const n = native.pwriteOrErrno(fd, src, at + done, len - done, pos + done);   // no exception object on failure
      if (n <= 0) return false;
      done += n;
    }
    return true;
  }

  /** writeAt on a libuv pool thread (fs.write); `done` runs on the main thread. src must not change until then. */
  writeAtLater(pos: number, src: Uint8Array, at: number, len: number, done: (ok: boolean) => void): boolean {
    const fd = this.preadFd;
    if (fd === undefined) return false;
    const step = (off: number): void => {
      fs.write(fd, src, at + off, len - off, pos + off, (err, n) => {
        if (err || n === 0) return done(false);
        if (off + n < len) return step(off + n);
        done(true);
      });
    };
    step(0);
    return true;
  }

  /** pread into target[at, at + len) from byte `pos` of the arena, as writeAt writes (false: use the mapping). */
  readAt(pos: number, target: Uint8Array, at: number, len: number): boolean {
    return this.readThrough(native.preadOrErrno, pos, target, at, len);
  }

  /** readAt for a file's data: out of the reads' mapping (readsMapped; its chunks filled ahead of large reads in order), else pread. */
  readDataAt(pos: number, target: Uint8Array, at: number, len: number): boolean {
    return this.readThrough(native.readArenaOrErrno, pos, target, at, len);
  }

  private readThrough(read: typeof native.preadOrErrno, pos: number, target: Uint8Array, at: number, len: number): boolean {
    const fd = this.preadFd;
    if (fd === undefined) return false;
    for (let done = 0; done < len;) {
      const n = read(fd, target, at + done, len - done, pos + done);   // no exception object on failure
      if (n <= 0) return false;   // 0: past the file's end, only the mapping shows these bytes
      done += n;
    }
    return true;
  }

  present(pfn: number): boolean {
    return Number.isInteger(pfn) && pfn >= 0 && pfn < this._pageCount;
  }

  /**
   * Writes every page back to its backing store. A block device goes through
   * the page cache, which a kexec does not keep, so it is fsync'd as well.
   * Linux's msync(MS_SYNC) of a shared file mapping is fdatasync of its range:
   * one call covers every segment (an msync each cost ~4 us: 3 ms at 12 GiB).
   * A DAX device has no fsync: its segments are msync'd.
   */
  sync(): void {
    if (this.closed) throw new Error(`arena ${this.path} used after close()`);
    if (this.kind === 'chardev') {
      for (const seg of this.segments) if (seg) native.msync(seg, 0, seg.length, true);
    } else if (this.kind === 'blockdev') fs.fsyncSync(this.fd);
    else fs.fdatasyncSync(this.fd);
  }

  /**
   * Unmaps and closes the fd, which releases the lock. Views taken earlier become
   * empty at once; the page tables of what was touched are torn down on a thread
   * (a million files' log: ~15 ms an unmount need not wait for).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const mapped = this.segments.filter((seg): seg is Buffer => seg !== null);
    this.segments = [];
    native.munmapLater(mapped);
    if (this.readsMapped) native.unmapReads(this.fd);   // out of the addon's registry before the fd number is free again
    // The mappings still hold the open file (and so its flock) until the thread unmaps them: unlocked now.
    native.flock(this.fd, native.constants.LOCK_UN);
    fs.closeSync(this.fd);
  }

  get maxSegmentBytes(): number {
    return this.segBytes;
  }

  private unmapAll(): void {
    for (const seg of this.segments) if (seg) native.munmap(seg);
    this.segments = [];
  }

  private map(): void {
    // Only whole system pages can be mapped; a tail shorter than a pfn is never addressed.
    this.segments = new Array<Buffer | null>(Math.ceil(this.mappedBytes / this.maxSegmentBytes)).fill(null);
  }

  private mapSegment(i: number): Buffer {
    const off = i * this.maxSegmentBytes;
    const seg = native.mmap(this.fd, off, Math.min(this.maxSegmentBytes, this.mappedBytes - off), true);
    this.segments[i] = seg;
    return seg;
  }

  /** Faults every page in writable, so the first real writes do not stall. */
  private prefault(): void {
    const step = native.pagesize();
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i] ?? this.mapSegment(i);
      try {
        native.madvise(seg, 0, seg.length, native.constants.MADV_POPULATE_WRITE);
      } catch {
        // Kernels before 5.14: touch one byte per page (write back what is there).
        for (let i = 0; i < seg.length; i += step) seg[i] = seg[i]!;
      }
    }
  }
}
