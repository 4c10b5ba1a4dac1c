// FUSE operations on nodes and names: lookup, forget, getattr, setattr, readlink,
// symlink, mknod, mkdir, unlink, rmdir, rename(2), link, access. Each decodes
// its struct, calls fs/ and encodes the reply; POSIX semantics live in fs/.
import { EINVAL, ENOENT } from '../format/errno.js';
import { FuseReader } from './reader.js';
import type { Conn, Request, Result } from './conn.js';
import { isErr, type Attr, type SetAttr } from './served.js';
import { Fattr, RENAME_EXCHANGE, RENAME_NOREPLACE } from './wire.js';
import { S_IFDIR } from '../format/mode.js';

/** Batch forget lists are bounded by the request size; this bounds a malformed count too. */
export const FORGET_BATCH_MAX = 1 << 16;

export function entry(s: Conn, a: Attr | number): Result {
  return isErr(a) ? a : s.reply.entry(a, s.validity);
}

/**
 * The reply to an operation that made a name (mknod, mkdir, symlink, link,
 * create): the kernel counts it as a lookup, so it is answered through
 * fs/'s lookup, which keeps fs/'s count equal to the kernel's (forget
 * subtracts what the kernel counted; an unlinked inode lives until then).
 */
export function made(s: Conn, a: Attr | number, parent: number, name: string): Result {
  return isErr(a) ? a : entry(s, s.volume.lookup(parent, name));
}

export function lookup(s: Conn, q: Request): Result {
  const a = s.volume.lookup(q.nodeid, q.names[0]!);
  return a === -ENOENT ? s.reply.negativeEntry(s.validity) : entry(s, a);
}

export function forget(s: Conn, q: Request): Result {
  s.volume.forget(q.nodeid, q.arg.u64('forget_in.nlookup'));
  return 0;
}

export function batchForget(s: Conn, q: Request): Result {
  const count = Math.min(q.arg.u32('batch_forget_in.count'), FORGET_BATCH_MAX);
  const r = forgetList(q);
  for (let i = 0; i < count && r.remaining >= 16; i++) {
    s.volume.forget(r.u64('forget_one.nodeid'), r.u64('forget_one.nlookup'));
  }
  return 0;
}

/** The forget_one list follows the fixed struct; a reader over `rest` keeps it bounded. */
function forgetList(q: Request): FuseReader {
  return new FuseReader(q.rest, 0, q.rest.length);
}

const S_ISUID = 0o4000, S_ISGID = 0o2000, S_IXGRP = 0o010;

/**
 * What the kernel would do without KILLPRIV_V2 (it tells us when): drop
 * S_ISUID, drop S_ISGID when the group may execute (otherwise it marks
 * mandatory locking), and remove security.capability.
 */
export function killPriv(s: Conn, ino: number, mode?: number): number | undefined {
  s.volume.removexattr(ino, 'security.capability');   // ENODATA is the usual answer
  if (mode === undefined) {
    const a = s.volume.getattr(ino);
    if (isErr(a)) return undefined;
    mode = a.mode;
  }
  let killed = mode & ~S_ISUID;
  if (killed & S_IXGRP) killed &= ~S_ISGID;
  return killed === mode ? undefined : killed;
}

export function getattr(s: Conn, q: Request): Result {
  const a = s.volume.getattr(q.nodeid);
  return isErr(a) ? a : s.reply.attr(a, s.validity);
}

export function setattr(s: Conn, q: Request): Result {
  const r = q.arg;
  const valid = r.u32('setattr_in.valid');
  r.skip(4 + 8, 'setattr_in.padding,fh');
  const size = r.u64('setattr_in.size');
  r.skip(8, 'setattr_in.lock_owner');
  const atime = r.i64big('setattr_in.atime'), mtime = r.i64big('setattr_in.mtime'), ctime = r.i64big('setattr_in.ctime');
  const atimensec = r.u32('setattr_in.atimensec'), mtimensec = r.u32('setattr_in.mtimensec'), ctimensec = r.u32('setattr_in.ctimensec');
  const mode = r.u32('setattr_in.mode');
  r.skip(4, 'setattr_in.unused4');
  const uid = r.u32('setattr_in.uid'), gid = r.u32('setattr_in.gid');
  const set: SetAttr = {};
  if (valid & Fattr.MODE) set.mode = mode;
  if (valid & Fattr.KILL_SUIDGID) {
    const killed = killPriv(s, q.nodeid, set.mode);
    if (killed !== undefined) set.mode = killed;
  }
  if (valid & Fattr.UID) set.uid = uid;
  if (valid & Fattr.GID) set.gid = gid;
  if (valid & Fattr.SIZE) set.size = size;
  const now = (valid & (Fattr.ATIME_NOW | Fattr.MTIME_NOW)) ? s.clock() : 0n;
  if (valid & Fattr.ATIME_NOW) set.atimeNs = now;
  else if (valid & Fattr.ATIME) set.atimeNs = ns(atime, atimensec);
  if (valid & Fattr.MTIME_NOW) set.mtimeNs = now;
  else if (valid & Fattr.MTIME) set.mtimeNs = ns(mtime, mtimensec);
  if (valid & Fattr.CTIME) set.ctimeNs = ns(ctime, ctimensec);
  const a = s.volume.setattr(q.nodeid, set);
  return isErr(a) ? a : s.reply.attr(a, s.validity);
}

function ns(sec: bigint, nsec: number): bigint {
  return sec * 1_000_000_000n + BigInt(nsec);
}

export function readlink(s: Conn, q: Request): Result {
  const t = s.volume.readlink(q.nodeid);
  return typeof t === 'number' ? t : Buffer.from(t, 'utf8');
}

export function symlink(s: Conn, q: Request): Result {
  return made(s, s.volume.symlink(q.nodeid, q.names[0]!, q.names[1]!, q.uid, q.gid), q.nodeid, q.names[0]!);
}

export function mknod(s: Conn, q: Request): Result {
  const mode = q.arg.u32('mknod_in.mode');
  const rdev = q.arg.u32('mknod_in.rdev');
  // umask: the kernel already applied it (FUSE_DONT_MASK is not negotiated).
  return made(s, s.volume.mknod(q.nodeid, q.names[0]!, mode, rdev, q.uid, q.gid), q.nodeid, q.names[0]!);
}

export function mkdir(s: Conn, q: Request): Result {
  const mode = q.arg.u32('mkdir_in.mode');
  return made(s, s.volume.mkdir(q.nodeid, q.names[0]!, S_IFDIR | (mode & 0o7777), q.uid, q.gid), q.nodeid, q.names[0]!);
}

export function unlink(s: Conn, q: Request): Result {
  return s.volume.unlink(q.nodeid, q.names[0]!);
}

export function rmdir(s: Conn, q: Request): Result {
  return s.volume.rmdir(q.nodeid, q.names[0]!);
}

export function rename(s: Conn, q: Request): Result {
  const newdir = q.arg.u64('rename_in.newdir');
  return s.volume.rename(q.nodeid, q.names[0]!, newdir, q.names[1]!, 0);
}

export function rename2(s: Conn, q: Request): Result {
  const newdir = q.arg.u64('rename2_in.newdir');
  const flags = q.arg.u32('rename2_in.flags');
  // RENAME_WHITEOUT (overlayfs) and unknown bits are not supported.
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return -EINVAL;
  return s.volume.rename(q.nodeid, q.names[0]!, newdir, q.names[1]!, flags);
}

export function link(s: Conn, q: Request): Result {
  const old = q.arg.u64('link_in.oldnodeid');
  return made(s, s.volume.link(old, q.nodeid, q.names[0]!), q.nodeid, q.names[0]!);
}

export function access(s: Conn, q: Request): Result {
  // With default_permissions the kernel checks modes itself and rarely asks;
  // when it does, the node must exist.
  const a = s.volume.getattr(q.nodeid);
  return isErr(a) ? a : 0;
}
