// The FUSE kernel protocol's wire format (linux/fuse.h, protocol 7.38): opcode
// numbers, flag bits, struct sizes and the encoders for the replies pram sends.
// Everything is little-endian (the host's order; FUSE has no byte-order field
// and pram runs on little-endian hosts only, asserted below). Decoding of the
// kernel's requests is in reader.ts; the opcode table is in ops.ts.
import { assert } from '../format/assert.js';

export const FUSE_KERNEL_VERSION = 7;
/** The minor version pram speaks; the kernel may offer more, we answer with min(kernel, ours). */
export const FUSE_KERNEL_MINOR_VERSION = 38;
/** Below this the kernel lacks max_pages (7.28); pram refuses such kernels. */
export const FUSE_MINOR_MIN = 28;
export const FUSE_ROOT_ID = 1;

export const enum Op {
  LOOKUP = 1, FORGET = 2, GETATTR = 3, SETATTR = 4, READLINK = 5, SYMLINK = 6, MKNOD = 8,
  MKDIR = 9, UNLINK = 10, RMDIR = 11, RENAME = 12, LINK = 13, OPEN = 14, READ = 15, WRITE = 16,
  STATFS = 17, RELEASE = 18, FSYNC = 20, SETXATTR = 21, GETXATTR = 22, LISTXATTR = 23,
  REMOVEXATTR = 24, FLUSH = 25, INIT = 26, OPENDIR = 27, READDIR = 28, RELEASEDIR = 29,
  FSYNCDIR = 30, GETLK = 31, SETLK = 32, SETLKW = 33, ACCESS = 34, CREATE = 35, INTERRUPT = 36,
  BMAP = 37, DESTROY = 38, IOCTL = 39, POLL = 40, NOTIFY_REPLY = 41, BATCH_FORGET = 42,
  FALLOCATE = 43, READDIRPLUS = 44, RENAME2 = 45, LSEEK = 46, COPY_FILE_RANGE = 47,
  SETUPMAPPING = 48, REMOVEMAPPING = 49, SYNCFS = 50, TMPFILE = 51,
}

/** fuse_init flags (the `flags` word). */
export const InitFlag = {
  ASYNC_READ: 1 << 0, POSIX_LOCKS: 1 << 1, ATOMIC_O_TRUNC: 1 << 3, EXPORT_SUPPORT: 1 << 4,
  BIG_WRITES: 1 << 5, DONT_MASK: 1 << 6, AUTO_INVAL_DATA: 1 << 12, DO_READDIRPLUS: 1 << 13,
  READDIRPLUS_AUTO: 1 << 14, ASYNC_DIO: 1 << 15, WRITEBACK_CACHE: 1 << 16,
  PARALLEL_DIROPS: 1 << 18, MAX_PAGES: 1 << 22, CACHE_SYMLINKS: 1 << 23, HANDLE_KILLPRIV_V2: 1 << 28,
  INIT_EXT: 1 << 30,
} as const;

/** fuse_init flags2 (the upper word, read and sent only with INIT_EXT). */
export const InitFlag2 = {
  /** FUSE_OVER_IO_URING (1 << 41): requests may come through io_uring ring entries (7.42). */
  OVER_IO_URING: 1 << 9,
} as const;

/** fuse_setattr_in.valid bits. */
export const Fattr = {
  MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5,
  FH: 1 << 6, ATIME_NOW: 1 << 7, MTIME_NOW: 1 << 8, LOCKOWNER: 1 << 9, CTIME: 1 << 10,
  KILL_SUIDGID: 1 << 11,
} as const;

export const FOPEN_KEEP_CACHE = 1 << 1;
/** fuse_write_in.write_flags / fuse_open_in.open_flags: the server clears suid/sgid (KILLPRIV_V2). */
export const FUSE_WRITE_KILL_SUIDGID = 1 << 2, FUSE_OPEN_KILL_SUIDGID = 1 << 0;
export const FOPEN_CACHE_DIR = 1 << 3;
export const RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2, RENAME_WHITEOUT = 4;
export const SEEK_DATA = 3, SEEK_HOLE = 4;

/** Struct sizes of protocol 7.38, in bytes (linux/fuse.h). */
export const Size = {
  inHeader: 40, outHeader: 16, attr: 88, entryOut: 128, attrOut: 104, kstatfs: 80,
  initIn: 64, initInCompat: 16, initOut: 64, getattrIn: 16, setattrIn: 88, mknodIn: 16,
  mkdirIn: 8, renameIn: 8, rename2In: 16, linkIn: 8, openIn: 8, createIn: 16, openOut: 16,
  releaseIn: 24, flushIn: 24, readIn: 40, writeIn: 40, writeOut: 8, fsyncIn: 16,
  setxattrInCompat: 8, getxattrIn: 8, getxattrOut: 8, accessIn: 8, interruptIn: 8,
  forgetIn: 8, batchForgetIn: 8, forgetOne: 16, fallocateIn: 32, lseekIn: 24, lseekOut: 8,
  copyFileRangeIn: 56, dirent: 24, direntplus: 152,
} as const;

// Size relationships, checked once when the module loads (STYLE: asserted at load time).
assert(new Uint8Array(new Uint16Array([1]).buffer)[0] === 1, 'FUSE wire encoding assumes a little-endian host');
assert(Size.entryOut === 40 + Size.attr, 'fuse_entry_out = 5 u64 + 2 u32 + fuse_attr');
assert(Size.attrOut === 16 + Size.attr, 'fuse_attr_out = u64 + 2 u32 + fuse_attr');
assert(Size.attr === 6 * 8 + 10 * 4, 'fuse_attr = 6 u64 + 10 u32');
assert(Size.kstatfs === 5 * 8 + 10 * 4, 'fuse_kstatfs = 5 u64 + 10 u32');
assert(Size.direntplus === Size.entryOut + Size.dirent, 'fuse_direntplus = entry_out + dirent');
assert(Size.inHeader === 2 * 4 + 2 * 8 + 3 * 4 + 2 * 2, 'fuse_in_header');
assert(Size.outHeader === 4 + 4 + 8, 'fuse_out_header');

/** The attributes fuse/ needs from fs/ (the shape of fs/'s Attr). */
export interface WireAttr {
  ino: number; mode: number; nlink: number; uid: number; gid: number; rdev: number;
  size: number; blocks: number; blksize: number; atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint;
}

/** Cache lifetimes handed to the kernel. pram is the only writer of its files, so they can be long. */
export interface Validity { entrySec: number; attrSec: number }

const NS = 1_000_000_000n;

function putTime(dv: DataView, secAt: number, nsecAt: number, ns: bigint): void {
  let sec = ns / NS, nsec = ns % NS;
  if (nsec < 0n) { nsec += NS; sec -= 1n; }   // times before 1970 floor towards -inf
  dv.setBigInt64(secAt, sec, true);
  dv.setUint32(nsecAt, Number(nsec), true);
}

/** A u64 from a safe integer, as two u32 halves (no BigInt made: this runs for every attribute sent). */
export function putU64(dv: DataView, at: number, n: number): void {
  dv.setUint32(at, n >>> 0, true);
  dv.setUint32(at + 4, Math.floor(n / 0x1_0000_0000) >>> 0, true);
}

/** struct fuse_attr at `at`. */
export function putAttr(dv: DataView, at: number, a: WireAttr): void {
  putU64(dv, at + 0, a.ino);
  putU64(dv, at + 8, a.size);
  putU64(dv, at + 16, a.blocks);
  putTime(dv, at + 24, at + 48, a.atimeNs);
  putTime(dv, at + 32, at + 52, a.mtimeNs);
  putTime(dv, at + 40, at + 56, a.ctimeNs);
  dv.setUint32(at + 60, a.mode >>> 0, true);
  dv.setUint32(at + 64, a.nlink >>> 0, true);
  dv.setUint32(at + 68, a.uid >>> 0, true);
  dv.setUint32(at + 72, a.gid >>> 0, true);
  dv.setUint32(at + 76, a.rdev >>> 0, true);
  dv.setUint32(at + 80, a.blksize >>> 0, true);
  dv.setUint32(at + 84, 0, true);   // flags: no submount, no DAX
}

/** struct fuse_entry_out at `at` (nodeid = ino, generation 0). */
export function putEntryOut(dv: DataView, at: number, a: WireAttr, v: Validity): void {
  putU64(dv, at + 0, a.ino);
  putU64(dv, at + 8, 0);
  putU64(dv, at + 16, v.entrySec);
  putU64(dv, at + 24, v.attrSec);
  dv.setUint32(at + 32, 0, true);
  dv.setUint32(at + 36, 0, true);
  putAttr(dv, at + 40, a);
}

export function entryOut(a: WireAttr, v: Validity): Buffer {
  const b = Buffer.alloc(Size.entryOut);
  putEntryOut(view(b), 0, a, v);
  return b;
}

/**
 * The answer to a LOOKUP of a missing name: nodeid 0 with an entry timeout, so
 * the kernel keeps the negative dentry (a bare ENOENT has no timeout and every
 * later access of the name asks again). Safe because every change to pram's
 * names comes through this kernel, which turns the negative dentry positive.
 */
export function negativeEntryOut(v: Validity): Buffer {
  const b = Buffer.alloc(Size.entryOut);
  b.writeBigUInt64LE(BigInt(v.entrySec), 16);
  return b;
}

export function attrOut(a: WireAttr, v: Validity): Buffer {
  const b = Buffer.alloc(Size.attrOut);
  const dv = view(b);
  putU64(dv, 0, v.attrSec);
  putAttr(dv, 16, a);
  return b;
}

export function openOut(fh: number, openFlags: number): Buffer {
  const b = Buffer.alloc(Size.openOut);
  const dv = view(b);
  dv.setBigUint64(0, BigInt(fh), true);
  dv.setUint32(8, openFlags, true);
  return b;
}

/** fuse_write_out, fuse_getxattr_out: a u32 and padding. */
export function u32Out(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

export function u64Out(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n), 0);
  return b;
}

export interface StatFs { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number; namelen: number }

export function statfsOut(s: StatFs): Buffer {
  const b = Buffer.alloc(Size.kstatfs);
  const dv = view(b);
  [s.blocks, s.bfree, s.bavail, s.files, s.ffree].forEach((n, i) => dv.setBigUint64(i * 8, BigInt(n), true));
  dv.setUint32(40, s.bsize, true);
  dv.setUint32(44, s.namelen, true);
  dv.setUint32(48, s.bsize, true);   // frsize: pram has one block size
  return b;
}

export interface InitOut {
  minor: number; maxReadahead: number; flags: number; maxBackground: number;
  congestionThreshold: number; maxWrite: number; timeGranNs: number; maxPages: number;
  /** The upper flag word; the kernel reads it only when `flags` has INIT_EXT. */
  flags2?: number;
}

export function initOut(o: InitOut): Buffer {
  const b = Buffer.alloc(Size.initOut);
  const dv = view(b);
  dv.setUint32(0, FUSE_KERNEL_VERSION, true);
  dv.setUint32(4, o.minor, true);
  dv.setUint32(8, o.maxReadahead, true);
  dv.setUint32(12, o.flags >>> 0, true);
  dv.setUint16(16, o.maxBackground, true);
  dv.setUint16(18, o.congestionThreshold, true);
  dv.setUint32(20, o.maxWrite, true);
  dv.setUint32(24, o.timeGranNs, true);
  dv.setUint16(28, o.maxPages, true);
  dv.setUint16(30, 0, true);   // map_alignment: no DAX
  dv.setUint32(32, (o.flags2 ?? 0) >>> 0, true);
  return b;
}

/** fuse_out_header. `error` is 0 or a negative errno. */
export function outHeader(len: number, error: number, unique: bigint): Buffer {
  const b = Buffer.allocUnsafe(Size.outHeader);
  b.writeUInt32LE(len, 0);
  b.writeInt32LE(error, 4);
  b.writeBigUInt64LE(unique, 8);
  return b;
}

/** Bytes of one fuse_dirent (plus = fuse_direntplus) for a name of `nameBytes` bytes, 8-aligned. */
export function direntSize(nameBytes: number, plus: boolean): number {
  return ((plus ? Size.direntplus : Size.dirent) + nameBytes + 7) & ~7;
}

/** struct fuse_dirent at `at`; the padding after the name is zeroed. Returns the record size. */
export function putDirent(buf: Buffer, at: number, ino: number, off: number, type: number, name: Buffer): number {
  const dv = view(buf);
  dv.setBigUint64(at, BigInt(ino), true);
  dv.setBigUint64(at + 8, BigInt(off), true);
  dv.setUint32(at + 16, name.length, true);
  dv.setUint32(at + 20, type, true);
  name.copy(buf, at + Size.dirent);
  const size = direntSize(name.length, false);
  buf.fill(0, at + Size.dirent + name.length, at + size);
  return size;
}

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
