// Whether the kernel may cache a mount's writes (FUSE writeback cache). A
// cached write() returns before the server sees it, so it is a promise the
// server has to keep later. pram keeps it with the space ledger: the kernel's
// dirty bytes for the mount are bounded (its bdi's max_bytes, strict), the
// server keeps that much reserved, and a write the kernel sends from its cache
// (FUSE_WRITE_CACHE) may draw on the reservation. When the room left (net of
// the reservation) is below the headroom, an open for writing gets
// FOPEN_DIRECT_IO instead: its writes reach the server synchronously and one
// that does not fit fails with ENOSPC at write(), as on tmpfs. A cached write
// that still finds no room (a writer that kept a file open across the
// threshold and wrote past the reservation) fails its WRITE: the kernel keeps
// that error for the file and returns it from fsync() and close(); the server
// logs it. docs/RELIABILITY.md explains the choice and its measurements.
import * as fs from 'node:fs';
import type { ServedVolume } from './served.js';
import { findMount } from './kmount.js';

/** fuse_open_out.open_flags: this open bypasses the page cache. */
export const FOPEN_DIRECT_IO = 1 << 0;
/** fuse_write_in.write_flags: a delayed write from the page cache (already acknowledged). */
export const FUSE_WRITE_CACHE = 1 << 0;
const O_ACCMODE = 3, O_RDONLY = 0;

/** headroom: cache while room is ample; off: never cache writes (every write() synchronous). */
export type WritebackMode = 'headroom' | 'off';

/** The kernel's dirty-byte bound for a mount is half the reservation (the bound is a target, not exact). */
const RESERVE_PER_DIRTY_BYTE = 2;
export const HEADROOM_BYTES_MIN = 1 << 20;
export const HEADROOM_BYTES_MAX = 64 << 20;

/** A sixteenth of the volume, within [1 MiB, 64 MiB]: a reservation the kernel's cache fits in. */
export function headroomBytes(totalBytes: number): number {
  return Math.min(HEADROOM_BYTES_MAX, Math.max(HEADROOM_BYTES_MIN, Math.floor(totalBytes / 16)));
}

export class WritebackPolicy {
  /** Opens answered with FOPEN_DIRECT_IO because room was short (for tests and --debug). */
  directOpens = 0;

  constructor(public mode: WritebackMode, public headroomPages = 0) {}

  /** Whether INIT may offer the writeback cache at all. */
  get cache(): boolean { return this.mode === 'headroom'; }

  /** FOPEN_DIRECT_IO for an open with write access when the room is below the headroom, else 0. */
  openFlags(volume: ServedVolume, openFlags: number): number {
    if (!this.cache || (openFlags & O_ACCMODE) === O_RDONLY) return 0;
    if (volume.statfs().bavail >= this.headroomPages) return 0;
    this.directOpens++;
    return FOPEN_DIRECT_IO;
  }
}

/**
 * Size the headroom for the volume, reserve it in the ledger and bound the
 * kernel's dirty bytes for the mount at `dir` to fit in it. Falls back to no
 * writeback cache when the bound cannot be set: an unbounded cache could
 * promise more than any reservation.
 */
export function armWriteback(policy: WritebackPolicy, volume: ServedVolume, dir: string, log: (line: string) => void): void {
  if (!policy.cache) return;
  const st = volume.statfs();
  const bytes = headroomBytes(st.blocks * st.bsize);
  const bound = volume.reserveWriteback ? boundDirtyBytes(dir, bytes) : null;
  if (bound === null) {
    policy.mode = 'off';
    log(`pram: cannot bound the kernel's dirty bytes for ${dir} (sysfs bdi max_bytes); writes go to the server synchronously`);
    return;
  }
  policy.headroomPages = Math.ceil(bytes / st.bsize);
  volume.reserveWriteback!(policy.headroomPages);
}

/** The sysfs directory of the mount's backing device info (its dirty bound, its readahead), or null. */
function bdiDir(dir: string): string | null {
  // From mountinfo, not stat(): the server has not started answering yet.
  // A fuseblk mount's bdi is named after its block device, with a suffix (fs/fuse/inode.c).
  const m = findMount(dir);
  if (!m || !/^\d+:\d+$/.test(m.dev)) return null;
  // The type carries pram's subtype (fuseblk.pram): the bdi of the loop device under it is not the mount's.
  return `/sys/class/bdi/${m.dev}${m.fsType.split('.')[0] === 'fuseblk' ? '-fuseblk' : ''}`;
}

/**
 * Bound the kernel's dirty bytes for the mount at `dir` (its bdi is named
 * after the mount's device number): max_bytes with strict_limit. Returns the
 * bound set, or null when sysfs refused (not root, an older kernel).
 */
export function boundDirtyBytes(dir: string, reservedBytes: number): number | null {
  const bdi = bdiDir(dir);
  if (!bdi) return null;
  const bytes = Math.floor(reservedBytes / RESERVE_PER_DIRTY_BYTE);
  try {
    fs.writeFileSync(`${bdi}/strict_limit`, '1');
    fs.writeFileSync(`${bdi}/max_bytes`, String(bytes));
    return Number(fs.readFileSync(`${bdi}/max_bytes`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The kernel's readahead window for the mount (KiB). FUSE_INIT can only lower
 * it below the kernel's default of 128 KiB; a sequential reader then waits on
 * one 128 KiB READ round trip after another. A window of several max_pages
 * requests keeps a few 1 MiB READs in flight (the server answers them while
 * the reader copies). Random readers are unaffected: the kernel detects them.
 */
export const READAHEAD_KIB = 4096;

/** Set the mount's readahead to `kib`; returns the window set, or null when sysfs refused (it stays at the kernel's). */
export function setReadahead(dir: string, kib = READAHEAD_KIB): number | null {
  const bdi = bdiDir(dir);
  if (!bdi) return null;
  try {
    fs.writeFileSync(`${bdi}/read_ahead_kb`, String(kib));
    return Number(fs.readFileSync(`${bdi}/read_ahead_kb`, 'utf8'));
  } catch {
    return null;
  }
}
