// The one place that loads pram's native addon (build/Release/pram_native.node,
// built from native/pram_native.c by `npm ci`). Typed wrappers only: policy is
// in arena.ts and luo.ts. Failed syscalls throw Errors with Node's shape
// (code = errno name, errno = negative number, syscall).

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Addon {
  mmap(fd: number, offset: number | bigint, length: number, writable: boolean): Buffer;
  hugeTable(length: number, counted: boolean): Buffer;
  munmap(buf: Buffer): void;
  munmapLater(bufs: Buffer[]): void;
  msync(buf: Buffer, offset: number, length: number, sync: boolean): void;
  madvise(buf: Buffer, offset: number, length: number, advice: number): void;
  fallocate(fd: number, mode: number, offset: number | bigint, length: number | bigint): void;
  memfdCreate(name: string, flags: number): number;
  flock(fd: number, operation: number): void;
  ioctl(fd: number, request: number, arg: Buffer | number | bigint | null): number;
  pagesize(): number;
  sendUnixDatagram(address: Buffer, data: Buffer, fds: number[]): number;
  crc32cMany(buffers: Uint8Array[], out: Uint32Array, threads: number): void;
  crc32cFile(fd: number, offsets: Float64Array, lengths: Uint32Array, out: Uint32Array, threads: number): void;
  crc32cRanges(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, n: number, out: Uint32Array): void;
  crc32cReadInto(fd: number, pos: number, target: Uint8Array, at: number, len: number, offsets: Uint32Array, lengths: Uint32Array, n: number, out: Uint32Array): void;
  crc32cReadCheck(fd: number, pos: number, target: Uint8Array, at: number, len: number, offsets: Uint32Array, lengths: Uint32Array, n: number, expected: Uint32Array, out: Uint32Array): number;
  crc32cImpl(): string;
  recordFrames(buf: Uint8Array, logId: number, offs: Uint32Array): number;
  recordFields(buf: Uint8Array, at: Uint32Array, count: number, type: Uint16Array, ino: Float64Array, x: Float64Array, n: Uint32Array, m: Uint32Array, others: Uint32Array): number;
  aheadStart(fd: number, pageSize: number, flags: Uint8Array, back: Uint8Array, csum: Uint32Array, state: Int32Array, bits: number): object;
  aheadReadLone(fd: number, pageSize: number, flags: Uint8Array, back: Uint8Array, csum: Uint32Array, bits: number, state: Int32Array,
    pfn: number, count: number, inPage: number, target: Uint8Array, at: number, bytes: number, bad: Uint32Array): number;
  aheadStop(handle: object): void;
  aheadWake(handle: object, last: boolean): void;
  aheadThreads(): number;
  MADV_NORMAL: number; MADV_RANDOM: number; MADV_SEQUENTIAL: number; MADV_WILLNEED: number;
  MADV_DONTNEED: number; MADV_REMOVE: number; MADV_HUGEPAGE: number; MADV_NOHUGEPAGE: number;
  MADV_POPULATE_READ: number; MADV_POPULATE_WRITE: number;
  MFD_CLOEXEC: number; MFD_ALLOW_SEALING: number; MFD_HUGETLB: number;
  LOCK_SH: number; LOCK_EX: number; LOCK_NB: number; LOCK_UN: number;
  FALLOC_FL_KEEP_SIZE: number; FALLOC_FL_PUNCH_HOLE: number;
  BLKGETSIZE64: number;
  uringOpen(devFd: number, queues: number, entriesPerQueue: number, payloadBytes: number,
    onCqe: (qid: number, entry: number, res: number) => void): UringRings;
  uringRegister(handle: object): void;
  uringCommit(handle: object, qid: number, entry: number): void;
  uringStop(handle: object): void;
  fusePollStart(fd: number, onReadable: (status: number) => void): object;
  fusePollStop(handle: object): void;
  readOrErrno(fd: number, buf: Buffer): number;
  writevOrErrno(fd: number, bufs: Uint8Array[]): number;
  pwriteOrErrno(fd: number, bytes: Uint8Array, at: number, len: number, pos: number): number;
  preadOrErrno(fd: number, bytes: Uint8Array, at: number, len: number, pos: number): number;
  mapReads(fd: number, length: number): boolean;
  unmapReads(fd: number): void;
  readArenaOrErrno(fd: number, bytes: Uint8Array, at: number, len: number, pos: number): number;
  mapReadsStats(fd: number): MapReadsStats | null;
}

/**
 * A mapped arena's chunks (2 MiB), how many the thread has filled, how many reads found a chunk not filled
 * (and preaded), whether a fill failed (its reads are all preads since), and what its first fills decided:
 * the mapping kept, or given up (fills cost more than preads here: every read preads).
 */
export interface MapReadsStats { chunks: number; byThread: number; preads: number; broken: boolean; verdict: 'judging' | 'kept' | 'gave up' }

/** FUSE over io_uring's rings (native/fuse_uring.c): entries queue-major, each header at 0 and payload at payloadAt. */
export interface UringRings { handle: object; entries: Buffer[]; payloadAt: number }

/** A syscall failure from the addon. */
export interface SyscallError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

function load(): Addon {
  // dist/mem/native.js -> <package root>/build/Release/pram_native.node
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const file = join(root, 'build', 'Release', 'pram_native.node');
  if (!existsSync(file)) {
    throw new Error(`pram's native addon is not built (${file} is missing): run \`npm ci\` or \`npx node-gyp rebuild\` in ${root}`);
  }
  return createRequire(import.meta.url)(file) as Addon;
}

const addon = load();

export const constants = Object.freeze({
  MADV_NORMAL: addon.MADV_NORMAL, MADV_RANDOM: addon.MADV_RANDOM, MADV_SEQUENTIAL: addon.MADV_SEQUENTIAL,
  MADV_WILLNEED: addon.MADV_WILLNEED, MADV_DONTNEED: addon.MADV_DONTNEED, MADV_REMOVE: addon.MADV_REMOVE,
  MADV_HUGEPAGE: addon.MADV_HUGEPAGE, MADV_NOHUGEPAGE: addon.MADV_NOHUGEPAGE,
  MADV_POPULATE_READ: addon.MADV_POPULATE_READ, MADV_POPULATE_WRITE: addon.MADV_POPULATE_WRITE,
  MFD_CLOEXEC: addon.MFD_CLOEXEC, MFD_ALLOW_SEALING: addon.MFD_ALLOW_SEALING, MFD_HUGETLB: addon.MFD_HUGETLB,
  LOCK_SH: addon.LOCK_SH, LOCK_EX: addon.LOCK_EX, LOCK_NB: addon.LOCK_NB, LOCK_UN: addon.LOCK_UN,
  FALLOC_FL_KEEP_SIZE: addon.FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE: addon.FALLOC_FL_PUNCH_HOLE,
  BLKGETSIZE64: addon.BLKGETSIZE64,
});

/** Largest single mapping the addon accepts (a Buffer's limit in Node 20). */
export const MAX_MAP_BYTES = 4 * 1024 ** 3;

/** A MAP_SHARED mapping of `length` bytes of fd at `offset` (page-aligned); unmapped when collected or by munmap(). */
export function mmap(fd: number, offset: number, length: number, writable: boolean): Buffer {
  return addon.mmap(fd, offset, length, writable);
}

/** Unmaps a Buffer returned by mmap(); afterwards it (and every view of it) has length 0. Idempotent. */
export function munmap(buf: Buffer): void {
  addon.munmap(buf);
}

/**
 * Unmaps mappings from mmap() as munmap() does (every view of them is empty on
 * return), the page-table teardown itself on a thread of its own.
 */
export function munmapLater(bufs: Buffer[]): void {
  addon.munmapLater(bufs);
}

/** msync of buf[offset, offset+length): MS_SYNC if `sync`, else MS_ASYNC. buf may be a view into a mapping. */
export function msync(buf: Buffer, offset = 0, length = buf.length, sync = true): void {
  addon.msync(buf, offset, length, sync);
}

export function madvise(buf: Buffer, offset: number, length: number, advice: number): void {
  addon.madvise(buf, offset, length, advice);
}

/** Tables from this size on go on huge pages (smaller ones touch too few pages to pay for zeroing 2 MiB). */
const HUGE_TABLE_BYTES = 1 << 20;

/**
 * A zeroed buffer for a table with an entry per page of an arena (page frames)
 * or a large log's copy: filled at mount for every page an image holds, where
 * a first touch per 4 KiB costs ~10-30 us on a VM (12 GiB of data: ~4 600 of
 * them), so a large one is anonymous memory on a 2 MiB boundary advised onto
 * huge pages (THP "madvise" mode; native hugeTable): a touch per 2 MiB. V8
 * counts it as any ArrayBuffer (a dropped table is freed by a collection), unless
 * `counted` is false: a table kept as long as the mount (page frames) is left out
 * of V8's external memory, which it weighs against an old generation still small
 * at mount (a 4 GiB arena's 6.6 MB of frames brought on a 7-9 ms full collection
 * in its lazy mount). Advice only: where the kernel has no huge page to give, the table is the same.
 */
export function pageTable(bytes: number, counted = true): ArrayBuffer {
  if (bytes >= HUGE_TABLE_BYTES) {
    try { return addon.hugeTable(bytes, counted).buffer as ArrayBuffer; } catch { /* no room for the mapping: the heap's */ }
  }
  return new ArrayBuffer(bytes);
}

export function fallocate(fd: number, mode: number, offset: number, length: number): void {
  addon.fallocate(fd, mode, offset, length);
}

/** out[i] = crc32c of buffers[i] (Linux's convention: seed 0, no final inversion), on up to `threads` threads (native/crc32c.c). */
export function crc32cMany(buffers: Uint8Array[], out: Uint32Array, threads: number): void {
  addon.crc32cMany(buffers, out, threads);
}

/** out[i] = crc32c of fd's bytes [offsets[i], offsets[i] + lengths[i]), read with pread (never mapped), on up to `threads` threads. */
export function crc32cFile(fd: number, offsets: Float64Array, lengths: Uint32Array, out: Uint32Array, threads: number): void {
  addon.crc32cFile(fd, offsets, lengths, out, threads);
}

/** out[i] = crc32c of buf[offsets[i], offsets[i] + lengths[i]) for i < n, in one call on this thread (no view per range). */
export function crc32cRanges(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, n: number, out: Uint32Array): void {
  addon.crc32cRanges(buf, offsets, lengths, n, out);
}

/**
 * The v3 records of buf framed (each header whole, its padded payload in buf, its generation logId unless logId is
 * -1) and every crc checked, a SPAN's framed crc and its page crcs' crc too (native/records.c): how many, their first
 * bytes in offs; -1 when anything does not frame or check; -2 - n when offs is shorter than the n records (called again
 * with room: no crc summed).
 */
export function recordFrames(buf: Uint8Array, logId: number, offs: Uint32Array): number {
  return addon.recordFrames(buf, logId, offs);
}

/**
 * The fields of the framed records at buf[at[k]], k < count, into the columns (format/v3-peek.ts RecordFields), each
 * payload checked as its decoder checks it: the first k refused, or -1. others (count + 1 slots): how many records
 * of a kind but the six came before it, then their ks. A record past buf throws a RangeError (the caller's:
 * recordFrames framed them).
 */
export function recordFields(buf: Uint8Array, at: Uint32Array, count: number, type: Uint16Array, ino: Float64Array, x: Float64Array, n: Uint32Array, m: Uint32Array, others: Uint32Array): number {
  return addon.recordFields(buf, at, count, type, ino, x, n, m, others);
}

/** Which code sums crc32c: "fold" (AVX-512 VPCLMULQDQ), "crc32" (SSE4.2 streams) or "table". */
export function crc32cImpl(): string {
  return addon.crc32cImpl();
}

/**
 * pread of fd's [pos, pos + len) into target[at..], and out[i] = crc32c of
 * target[at + offsets[i], + lengths[i]) for i < n: each range summed right
 * after the chunk its bytes end in is copied. Throws the pread's error.
 */
export function crc32cReadInto(fd: number, pos: number, target: Uint8Array, at: number, len: number, offsets: Uint32Array, lengths: Uint32Array, n: number, out: Uint32Array): void {
  addon.crc32cReadInto(fd, pos, target, at, len, offsets, lengths, n, out);
}

/**
 * crc32cReadInto's copy, each range checked against expected[i] (ranges in
 * order, none overlapping): returns how many match from the first, g;
 * out[i] = expected[i] for i < g, out[g] = range g's crc32c when g < n.
 */
export function crc32cReadCheck(fd: number, pos: number, target: Uint8Array, at: number, len: number, offsets: Uint32Array, lengths: Uint32Array, n: number, expected: Uint32Array, out: Uint32Array): number {
  return addon.crc32cReadCheck(fd, pos, target, at, len, offsets, lengths, n, expected, out);
}

/**
 * A thread checking a lazy mount's unverified pages ahead of its readers
 * (native/ahead.c), a block of 512 pfns at a time in arena order: the verdict
 * of block b in state[b] (shared memory). It reads flags, back (run-head
 * distances) and csum (expected sums, a run's at its first pfn) as they are;
 * bits: the flags' unverified | bad << 8 | dirty << 16, | AHEAD_WAITS when
 * sums come later (an index-led mount: aheadWake after each).
 */
export function aheadStart(fd: number, pageSize: number, flags: Uint8Array, back: Uint8Array, csum: Uint32Array, state: Int32Array, bits: number): object {
  return addon.aheadStart(fd, pageSize, flags, back, csum, state, bits);
}

/**
 * A read's first check of lone pages, in one call (verify.ts readInto): pages pfn..pfn+count-1 copied from byte
 * inPage of the first through fd into target[at, + bytes), each unverified one (flags, bits as aheadStart's)
 * checked against its own sum in csum unless state (the checking thread's verdicts, or empty) holds its block good;
 * the verdict words asked as ahead.ts checkedAhead does. Returns count (all readable; the unverified ones verified),
 * g < count (page g failed its sum, bad[0] its crc; the pages before it verified, none after), -1 when it is not
 * done so (no page unverified, or a run's page, a damaged one, a partial unverified page: nothing done), or -errno
 * (the read failed; nothing marked).
 */
export function aheadReadLone(fd: number, pageSize: number, flags: Uint8Array, back: Uint8Array, csum: Uint32Array, bits: number, state: Int32Array,
  pfn: number, count: number, inPage: number, target: Uint8Array, at: number, bytes: number, bad: Uint32Array): number {
  return addon.aheadReadLone(fd, pageSize, flags, back, csum, bits, state, pfn, count, inPage, target, at, bytes, bad);
}

/** Stops and joins the thread (its current block finishes first); again: nothing. */
export function aheadStop(handle: object): void {
  addon.aheadStop(handle);
}

/** Bits for aheadStart: sums come later; the thread sleeps between walks until aheadWake(h, true). */
export const AHEAD_WAITS = 1 << 24;

/** Sums came for blocks marked FREE again: the thread walks once more; last: none come after, it ends after that walk. */
export function aheadWake(handle: object, last: boolean): void {
  addon.aheadWake(handle, last);
}

/** Checking threads started and not yet stopped in this process. */
export function aheadThreads(): number {
  return addon.aheadThreads();
}

/** memfd_create(2); flags default to MFD_CLOEXEC. */
export function memfdCreate(name: string, flags: number = addon.MFD_CLOEXEC): number {
  return addon.memfdCreate(name, flags);
}

/** flock(2). LOCK_EX|LOCK_NB on a held lock throws with code 'EWOULDBLOCK'. */
export function flock(fd: number, operation: number): void {
  addon.flock(fd, operation);
}

/** A generic ioctl: `arg` is the argument struct (read and written in place), an integer, or null. */
export function ioctl(fd: number, request: number, arg: Buffer | number | bigint | null): number {
  return addon.ioctl(fd, request, arg);
}

/**
 * One datagram to a unix socket, with `fds` in SCM_RIGHTS. `address` is
 * sun_path as sent: a leading NUL byte for an abstract name, no trailing NUL.
 */
export function sendUnixDatagram(address: Buffer, data: Buffer, fds: number[] = []): number {
  return addon.sendUnixDatagram(address, data, fds);
}

export function pagesize(): number {
  return addon.pagesize();
}

/** BLKGETSIZE64: the size in bytes of a block device. */
export function blockDeviceSize(fd: number): number {
  const out = Buffer.alloc(8);
  addon.ioctl(fd, addon.BLKGETSIZE64, out);
  return Number(endianness() === 'LE' ? out.readBigUInt64LE(0) : out.readBigUInt64BE(0));
}

export function isSyscallError(e: unknown): e is SyscallError {
  return e instanceof Error && typeof (e as SyscallError).code === 'string' && typeof (e as SyscallError).syscall === 'string';
}

/**
 * FUSE over io_uring, the native half (native/fuse_uring.c): rings and entry
 * memory (open), REGISTER of every entry after FUSE_INIT (register), a reply
 * written into an entry sent with COMMIT_AND_FETCH (commit), threads ended and
 * rings closed (stop). onCqe runs on the main thread for each completion.
 */
export const fuseUring = {
  open: (devFd: number, queues: number, entriesPerQueue: number, payloadBytes: number, onCqe: (qid: number, entry: number, res: number) => void): UringRings =>
    addon.uringOpen(devFd, queues, entriesPerQueue, payloadBytes, onCqe),
  register: (handle: object): void => addon.uringRegister(handle),
  commit: (handle: object, qid: number, entry: number): void => addon.uringCommit(handle, qid, entry),
  stop: (handle: object): void => addon.uringStop(handle),
};

/**
 * The /dev/fuse reader's wake-up (native/fuse_poll.c): makes `fd` non-blocking
 * and calls onReadable(status) on the main thread whenever it is readable
 * (status < 0: a libuv error, e.g. POLLERR, after which it is called no more).
 * Keeps the event loop alive until stop().
 */
export function pollReadable(fd: number, onReadable: (status: number) => void): { stop(): void } {
  const handle = addon.fusePollStart(fd, onReadable);
  return { stop: () => addon.fusePollStop(handle) };
}

/** read(2) into the whole of `buf`: bytes read, or -errno (EAGAIN on an empty non-blocking fd is a value, not an exception). */
export function readOrErrno(fd: number, buf: Buffer): number {
  return addon.readOrErrno(fd, buf);
}

/** writev(2) of `bufs` (at most 64): bytes written, or -errno (a FUSE reply's ENOENT/ENODEV are values, not exceptions). */
export function writevOrErrno(fd: number, bufs: Uint8Array[]): number {
  return addon.writevOrErrno(fd, bufs);
}

/** pwrite(2) of bytes[at, at + len) at byte `pos`: bytes written, or -errno. */
export function pwriteOrErrno(fd: number, bytes: Uint8Array, at: number, len: number, pos: number): number {
  return addon.pwriteOrErrno(fd, bytes, at, len, pos);
}

/** pread(2) into bytes[at, at + len) from byte `pos`: bytes read (0 past the end), or -errno. */
export function preadOrErrno(fd: number, bytes: Uint8Array, at: number, len: number, pos: number): number {
  return addon.preadOrErrno(fd, bytes, at, len, pos);
}

/**
 * Reads of fd's [0, length) through one read-only mapping from now on, its page tables filled by a
 * thread ahead of the last large read in order (native/mapread.c): false when that cannot be (they stay preads).
 */
export function mapReads(fd: number, length: number): boolean {
  return addon.mapReads(fd, length);
}

/** fd's reads are preads again and its mapping goes; before the fd is closed. */
export function unmapReads(fd: number): void {
  addon.unmapReads(fd);
}

/** fd's [pos, pos + len) into bytes[at..]: through its mapping (mapReads), else pread -> bytes read, or -errno. */
export function readArenaOrErrno(fd: number, bytes: Uint8Array, at: number, len: number, pos: number): number {
  return addon.readArenaOrErrno(fd, bytes, at, len, pos);
}

/** How a mapped fd's page tables were filled so far; null: its reads are preads. */
export function mapReadsStats(fd: number): MapReadsStats | null {
  return addon.mapReadsStats(fd);
}
