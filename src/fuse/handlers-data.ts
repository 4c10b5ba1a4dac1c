// FUSE operations on open files and directories: open, create, read, write,
// flush, release, fsync, opendir, readdir(plus), releasedir, fsyncdir,
// fallocate, lseek, copy_file_range. File handles are the inode numbers: fs/
// counts opens per inode, which is all it needs to keep an unlinked file alive.
import { EINVAL, EIO, ENOSYS } from '../format/errno.js';
import type { Conn, Request, Result } from './conn.js';
import { HELD_REPLY_BYTES_MIN, WRITE_BYTES_MAX } from './limits.js';
import { isErr, type DirEntry } from './served.js';
import { killPriv } from './handlers-node.js';
import { FUSE_WRITE_CACHE } from './writeback.js';
import {
  FOPEN_KEEP_CACHE, FUSE_OPEN_KILL_SUIDGID, FUSE_WRITE_KILL_SUIDGID, SEEK_DATA, SEEK_HOLE, Size, direntSize, putDirent, putEntryOut,
  u32Out, u64Out, view,
} from './wire.js';
import { S_IFREG } from '../format/mode.js';

const O_TRUNC = 0o1000;
/** copy_file_range answers with a u32 byte count; the kernel clamps too, this keeps us honest. */
export const COPY_BYTES_MAX = 0xfffff000;
/** Entries asked of fs/ per readdir reply: a 4 KiB..1 MiB buffer holds at most size/24 of them. */
export const DIRENTS_PER_REPLY_MAX = 4096;

export function open(s: Conn, q: Request): Result {
  const flags = q.arg.u32('open_in.flags');
  const openFlags = q.arg.u32('open_in.open_flags');
  const r = s.volume.open(q.nodeid);
  if (isErr(r)) return r;
  if (flags & O_TRUNC) {
    // FUSE_ATOMIC_O_TRUNC: the kernel leaves truncation on open to us.
    const mode = openFlags & FUSE_OPEN_KILL_SUIDGID ? killPriv(s, q.nodeid) : undefined;
    const t = s.volume.setattr(q.nodeid, mode === undefined ? { size: 0 } : { size: 0, mode });
    if (isErr(t)) { s.volume.release(q.nodeid); return t; }
  }
  // pram is the only writer of its files, so the kernel's page cache stays valid across opens.
  return s.reply.open(q.nodeid, FOPEN_KEEP_CACHE | (s.writeback?.openFlags(s.volume, flags) ?? 0));
}

export function create(s: Conn, q: Request): Result {
  const flags = q.arg.u32('create_in.flags');
  const mode = q.arg.u32('create_in.mode');
  const made = s.volume.mknod(q.nodeid, q.names[0]!, S_IFREG | (mode & 0o7777), 0, q.uid, q.gid);
  if (isErr(made)) return made;
  const a = s.volume.lookup(q.nodeid, q.names[0]!);   // counted as the kernel counts it (see handlers-node made())
  if (isErr(a)) return a;
  const r = s.volume.open(a.ino);
  if (isErr(r)) { s.volume.forget(a.ino, 1); return r; }
  return s.reply.entryOpen(a, s.validity, a.ino, FOPEN_KEEP_CACHE | (s.writeback?.openFlags(s.volume, flags) ?? 0));
}

/**
 * Reply buffers for READs copied out of the arena, reused: a fresh large
 * allocation is fresh memory, whose first touch costs what the copy saves.
 */
class ReplyBuffers {
  private readonly free: Buffer[] = [];
  /** Taken and not given back: replies not yet written. */
  out = 0;
  take(): Buffer { this.out++; return this.free.pop() ?? Buffer.allocUnsafeSlow(WRITE_BYTES_MAX); }
  give(b: Buffer): void { this.out--; if (this.free.length < REPLY_BUFFERS_KEPT) this.free.push(b); }
}
/**
 * Large replies left to pool threads at once; past that a reply is written at
 * once (the poll reader serves up to 64 requests per wake-up, before any pool
 * thread has sent one: held, each would take a fresh buffer, and fresh memory
 * costs a fault per page). Buffers kept: those, and one for the reply at hand.
 */
const REPLIES_HELD_MAX = 8;
const REPLY_BUFFERS_KEPT = REPLIES_HELD_MAX + 1;
const replyBuffers = new WeakMap<Conn, ReplyBuffers>();

export function read(s: Conn, q: Request): Result {
  q.arg.skip(8, 'read_in.fh');
  const offset = q.arg.u64('read_in.offset');
  const length = Math.min(q.arg.u32('read_in.size'), WRITE_BYTES_MAX);
  if (s.volume.readCopy) return readCopied(s, q.nodeid, offset, length, s.volume.readCopy);
  // Views over the arena's pages: the reply's only copy is the kernel's. A small one is written
  // out before anything else runs; a large one is pinned until sent, so the transport may send
  // it from another thread while later requests (writes, truncates) are served.
  if (length < HELD_REPLY_BYTES_MIN) {
    const views = s.volume.readViews(q.nodeid, offset, length);
    if (typeof views === 'number') return views;
    return views.length === 0 ? 0 : views;
  }
  const held = s.volume.view(q.nodeid, offset, length);
  if (typeof held === 'number') return held;
  s.holdUntilSent(held.release);
  return held.buffers.length === 0 ? 0 : held.buffers;
}

/**
 * The reply copied out of the arena through its fd into a reused buffer: the
 * server maps no page of the file (a view's first touch faults each page in,
 * which costs more than the copy). Nothing to pin: the bytes are copied before
 * any other request runs. A large reply is held until sent (the transport may
 * send it from a pool thread); the buffer goes back to the pool once sent.
 */
function readCopied(s: Conn, ino: number, offset: number, length: number, copy: NonNullable<Conn['volume']['readCopy']>): Result {
  let pool = replyBuffers.get(s);
  if (!pool) replyBuffers.set(s, pool = new ReplyBuffers());
  const buf = pool.take();
  const n = copy(ino, offset, length, buf);
  if (n <= 0) { pool.give(buf); return n; }
  const back = pool;
  if (n >= HELD_REPLY_BYTES_MIN && pool.out <= REPLIES_HELD_MAX) s.holdUntilSent(() => back.give(buf));
  else s.whenSent(() => back.give(buf));
  return buf.subarray(0, n);
}

export function write(s: Conn, q: Request): Result {
  q.arg.skip(8, 'write_in.fh');
  const offset = q.arg.u64('write_in.offset');
  const size = q.arg.u32('write_in.size');
  const writeFlags = q.arg.u32('write_in.write_flags');
  if (size > q.rest.length) return -EIO;   // the kernel promised more data than it sent
  if (writeFlags & FUSE_WRITE_KILL_SUIDGID) {
    const mode = killPriv(s, q.nodeid);
    if (mode !== undefined) s.volume.setattr(q.nodeid, { mode });
  }
  // A write from the kernel's cache was acknowledged already: it may use the reserved pages.
  const cached = (writeFlags & FUSE_WRITE_CACHE) !== 0;
  const data = q.rest.subarray(0, size);
  const answered = (n: number): Result => {
    if (cached && (isErr(n) || n < size)) s.log(`fuse: a cached write to inode ${q.nodeid} at ${offset} (${size} bytes) found no room: ${isErr(n) ? n : `${n} stored`}; fsync()/close() of the file report it`);
    return isErr(n) ? n : s.reply.u32(n);
  };
  // A large write is copied into the arena by pool threads (volume.writeLater) while later requests are
  // served; the reply waits for the copy, and the request's buffer (the data) stays the transport's until then.
  if (s.sendLater && s.volume.writeLater) {
    let later: ((r: Result) => void) | null = null;
    if (s.volume.writeLater(q.nodeid, offset, data, { fromReserve: cached }, (n) => later!(answered(n)))) {
      later = s.deferReply();
      return 0;
    }
  }
  return answered(s.volume.write(q.nodeid, offset, data, { fromReserve: cached }));
}

export function flush(): Result {
  // Saving is fsync's job (a checkpoint), and pram keeps no POSIX locks for
  // FLUSH to release, so there is nothing to do: ENOSYS tells the kernel to
  // stop sending FLUSH on close() (fc->no_flush), a round trip saved per close.
  // The kernel still writes back cached pages and reports their errors first.
  return -ENOSYS;
}

export function release(s: Conn, q: Request): Result {
  s.volume.release(q.nodeid);
  return 0;
}

export function fsync(s: Conn, q: Request): Result {
  return s.volume.fsync(q.nodeid);
}

export function opendir(): Result {
  // Readdir needs no handle (cookies carry the stream), so ENOSYS: the kernel
  // stops sending OPENDIR and RELEASEDIR (fc->no_opendir), two round trips less
  // per listing, and keeps listings in its directory cache (FOPEN_CACHE_DIR),
  // which it resets on every change it makes: all of pram's changes pass it.
  return -ENOSYS;
}

export function releasedir(): Result {
  return 0;
}

export function fsyncdir(s: Conn): Result {
  return s.volume.sync();
}

export function readdir(s: Conn, q: Request): Result {
  return dirents(s, q, false);
}

export function readdirplus(s: Conn, q: Request): Result {
  return dirents(s, q, true);
}

/** Pack as many entries as fit in the kernel's buffer; each carries the cookie of the next. */
function dirents(s: Conn, q: Request, plus: boolean): Result {
  q.arg.skip(8, 'read_in.fh');
  const cookie = q.arg.u64('read_in.offset');
  const size = Math.min(q.arg.u32('read_in.size'), WRITE_BYTES_MAX);
  // fs/ hands out entries only while they fit, so the next reply resumes where this one ends (in O(1)).
  let room = size;
  const fits = (d: DirEntry) => { const rec = direntSize(Buffer.byteLength(d.name), plus); return rec <= room && (room -= rec) >= 0; };
  const list = s.volume.readdir(q.nodeid, cookie, Math.min(DIRENTS_PER_REPLY_MAX, Math.ceil(size / Size.dirent)), fits);
  if (isErr(list)) return list;
  const buf = Buffer.alloc(size);
  let at = 0;
  for (const d of list) {
    const name = Buffer.from(d.name, 'utf8');
    const rec = direntSize(name.length, plus);
    if (at + rec > size) break;   // fits said otherwise: a bug in one of the two sizes; never overrun
    if (plus) {
      if (!putPlusEntry(s, q.nodeid, d, buf, at)) continue;   // vanished between readdir and lookup
      at += Size.entryOut;
    }
    at += putDirent(buf, at, d.ino, d.next, d.type, name);
  }
  return at === 0 ? 0 : buf.subarray(0, at);
}

/** The entry_out of a readdirplus record: a lookup, as the kernel counts it ('.' and '..' excepted). */
function putPlusEntry(s: Conn, dir: number, d: DirEntry, buf: Buffer, at: number): boolean {
  if (d.name === '.' || d.name === '..') {
    buf.fill(0, at, at + Size.entryOut);   // nodeid 0: the kernel takes no reference
    return true;
  }
  const a = s.volume.lookup(dir, d.name);
  if (isErr(a)) return false;
  putEntryOut(view(buf), at, a, s.validity);
  return true;
}

export function fallocate(s: Conn, q: Request): Result {
  q.arg.skip(8, 'fallocate_in.fh');
  const offset = q.arg.u64('fallocate_in.offset');
  const length = q.arg.u64('fallocate_in.length');
  const mode = q.arg.u32('fallocate_in.mode');
  return s.volume.fallocate(q.nodeid, mode, offset, length);
}

export function lseek(s: Conn, q: Request): Result {
  q.arg.skip(8, 'lseek_in.fh');
  const offset = q.arg.u64('lseek_in.offset');
  const whence = q.arg.u32('lseek_in.whence');
  // SEEK_SET/CUR/END never reach us: the kernel answers them from its own size.
  if (whence !== SEEK_DATA && whence !== SEEK_HOLE) return -EINVAL;
  const r = s.volume.seek(q.nodeid, offset, whence);
  return isErr(r) ? r : u64Out(r);
}

/** Copy in bounded chunks through fs/ (pram has no shared extents to clone). */
export function copyFileRange(s: Conn, q: Request): Result {
  const r = q.arg;
  r.skip(8, 'copy_file_range_in.fh_in');
  const offIn = r.u64('copy_file_range_in.off_in');
  const nodeOut = r.u64('copy_file_range_in.nodeid_out');
  r.skip(8, 'copy_file_range_in.fh_out');
  const offOut = r.u64('copy_file_range_in.off_out');
  const len = Math.min(r.u64('copy_file_range_in.len'), COPY_BYTES_MAX);
  let done = 0;
  while (done < len) {
    const data = s.volume.read(q.nodeid, offIn + done, Math.min(WRITE_BYTES_MAX, len - done));
    if (typeof data === 'number') return done > 0 ? u32Out(done) : data;
    if (data.length === 0) break;   // end of the source file
    const n = s.volume.write(nodeOut, offOut + done, data);
    if (isErr(n)) return done > 0 ? u32Out(done) : n;
    done += n;
    if (n < data.length) break;
  }
  return u32Out(done);
}
