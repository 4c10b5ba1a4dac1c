// FUSE operations on the connection and the whole file system: init (the
// negotiation), destroy, statfs, syncfs, interrupt, and the extended attributes.
import { E2BIG, EIO, EOPNOTSUPP, ERANGE } from '../format/errno.js';
import type { Conn, Request, Result } from './conn.js';
import { WRITE_BYTES_MAX } from './limits.js';
import { isErr } from './served.js';
import { FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION, FUSE_MINOR_MIN, InitFlag, InitFlag2, initOut, statfsOut, u32Out } from './wire.js';

/** What pram asks of the kernel; only bits the kernel offers are kept. */
export const INIT_FLAGS_WANTED =
  InitFlag.ASYNC_READ | InitFlag.ATOMIC_O_TRUNC | InitFlag.BIG_WRITES | InitFlag.DO_READDIRPLUS |
  InitFlag.READDIRPLUS_AUTO | InitFlag.WRITEBACK_CACHE | InitFlag.PARALLEL_DIROPS |
  InitFlag.MAX_PAGES | InitFlag.CACHE_SYMLINKS | InitFlag.HANDLE_KILLPRIV_V2;
// HANDLE_KILLPRIV_V2: FUSE otherwise clears SB_NOSEC and the kernel asks
// GETXATTR security.capability before every write(2) — a round trip per 4 KiB
// dd block. With it, the kernel flags the writes, truncates and chowns that
// must drop suid/sgid/capabilities, and killPriv() (handlers-node.ts) does it.
/** 256 pages of 4 KiB = 1 MiB writes. */
export const MAX_PAGES = 256;
/** Background requests (readahead, writeback) the kernel may queue; bounded like everything. */
export const BACKGROUND_MAX = 64;
export const XATTR_VALUE_BYTES_MAX = 64 * 1024;

export function init(s: Conn, q: Request): Result {
  const major = q.arg.u32('init_in.major');
  const minor = q.arg.u32('init_in.minor');
  const maxReadahead = q.arg.u32('init_in.max_readahead');
  const flags = q.arg.u32('init_in.flags');
  if (major > FUSE_KERNEL_VERSION) {
    // The kernel will ask again with our major (fuse.h: version negotiation).
    return Buffer.from(initOut({ minor: FUSE_KERNEL_MINOR_VERSION, maxReadahead: 0, flags: 0, maxBackground: 0, congestionThreshold: 0, maxWrite: 0, timeGranNs: 0, maxPages: 0 }).subarray(0, 8));
  }
  if (major < FUSE_KERNEL_VERSION || minor < FUSE_MINOR_MIN) {
    s.log(`fuse: kernel speaks FUSE ${major}.${minor}; pram needs ${FUSE_KERNEL_VERSION}.${FUSE_MINOR_MIN} or later`);
    return -EIO;
  }
  s.minor = Math.min(minor, FUSE_KERNEL_MINOR_VERSION);
  s.initialized = true;
  // flags2 follows the compat struct in the 64-byte fuse_init_in (7.36+, with INIT_EXT).
  const flags2 = flags & InitFlag.INIT_EXT && q.rest.length >= 4 ? q.rest.readUInt32LE(0) : 0;
  s.uring.offered = (flags2 & InitFlag2.OVER_IO_URING) !== 0;
  // Ask for io_uring only with rings ready to register: once granted, the
  // kernel holds every request back until each queue has an entry (uring.ts).
  s.uring.granted = s.uring.ready && s.uring.offered;
  if (s.uring.granted && s.uring.start) s.whenSent(s.uring.start);
  return initOut({
    minor: s.minor,
    maxReadahead: Math.min(maxReadahead, WRITE_BYTES_MAX),
    flags: (flags & INIT_FLAGS_WANTED & (s.writeback && !s.writeback.cache ? ~InitFlag.WRITEBACK_CACHE : ~0)) | (s.uring.granted ? InitFlag.INIT_EXT : 0),
    flags2: s.uring.granted ? InitFlag2.OVER_IO_URING : 0,
    maxBackground: BACKGROUND_MAX,
    congestionThreshold: (BACKGROUND_MAX * 3) / 4,
    maxWrite: WRITE_BYTES_MAX,
    timeGranNs: 1,
    maxPages: MAX_PAGES,
  });
}

export function destroy(s: Conn): Result {
  s.destroyed = true;
  return 0;
}

export function statfs(s: Conn): Result {
  return statfsOut(s.volume.statfs());
}

export function syncfs(s: Conn): Result {
  return s.volume.sync();
}

/**
 * Requests are handled synchronously, one at a time: by the time an INTERRUPT
 * is read, the request it names has been answered or will be answered by the
 * handler already holding it. So there is nothing to cancel and no reply (the
 * kernel expects none unless we answer EAGAIN to be asked again).
 */
export function interrupt(): Result {
  return 0;
}

/**
 * POSIX ACLs are not negotiated (FUSE_POSIX_ACL), so the kernel would store
 * them as opaque bytes without applying them: cp -a would "set" an ACL and
 * skip its chmod. EOPNOTSUPP makes such programs fall back to the mode bits.
 */
function aclName(name: string): boolean {
  return name === 'system.posix_acl_access' || name === 'system.posix_acl_default';
}

/** getxattr/listxattr: size 0 asks for the length; a too-small buffer is ERANGE. */
function sized(want: number, value: Buffer): Result {
  if (want === 0) return u32Out(value.length);
  if (value.length > want) return -ERANGE;
  return value;
}

export function getxattr(s: Conn, q: Request): Result {
  const want = q.arg.u32('getxattr_in.size');
  if (aclName(q.names[0]!)) return -EOPNOTSUPP;
  const v = s.volume.getxattr(q.nodeid, q.names[0]!);
  if (typeof v === 'number') return v;
  return sized(want, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
}

export function listxattr(s: Conn, q: Request): Result {
  const want = q.arg.u32('getxattr_in.size');
  const names = s.volume.listxattr(q.nodeid);
  if (isErr(names)) return names;
  return sized(want, Buffer.from(names.map((n) => n + '\0').join(''), 'utf8'));
}

export function setxattr(s: Conn, q: Request): Result {
  // FUSE_SETXATTR_EXT is not negotiated: the compat 8-byte struct (size, flags).
  const size = q.arg.u32('setxattr_in.size');
  const flags = q.arg.u32('setxattr_in.flags');
  if (aclName(q.names[0]!)) return -EOPNOTSUPP;
  if (size > XATTR_VALUE_BYTES_MAX) return -E2BIG;
  if (size > q.rest.length) return -EIO;
  return s.volume.setxattr(q.nodeid, q.names[0]!, new Uint8Array(q.rest.subarray(0, size))   /* a copy: the request buffer is reused */, flags);
}

export function removexattr(s: Conn, q: Request): Result {
  return s.volume.removexattr(q.nodeid, q.names[0]!);
}
