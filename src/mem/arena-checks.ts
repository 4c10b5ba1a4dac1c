// The arena's checks before anything is mapped (arena.ts): geometry, size,
// ownership and mode, the exclusive lock, and open errors named for the user.
import * as fs from 'node:fs';
import * as native from './native.js';

/** An arena problem, with a Node-style code (EBUSY, EEXIST, EPERM, EACCES, EINVAL, ENOENT...). */
export class ArenaError extends Error {
  override name = 'ArenaError';
  constructor(readonly code: string, message: string, readonly path: string) {
    super(message);
  }
}

export function checkGeometry(path: string, pageSize: number, maxSegmentBytes: number): void {
  if (!Number.isInteger(pageSize) || pageSize < 1024 || (pageSize & (pageSize - 1)) !== 0) {
    throw new ArenaError('EINVAL', `arena ${path}: page size ${pageSize} is not a power of two >= 1024`, path);
  }
  const sys = native.pagesize();
  if (!Number.isSafeInteger(maxSegmentBytes) || maxSegmentBytes > native.MAX_MAP_BYTES || maxSegmentBytes < Math.max(pageSize, sys)
    || maxSegmentBytes % pageSize !== 0 || maxSegmentBytes % sys !== 0) {
    throw new ArenaError('EINVAL', `arena ${path}: segment size ${maxSegmentBytes} must be a multiple of the page size and at most 4 GiB`, path);
  }
}

export function checkSize(path: string, sizeBytes: number, pageSize: number): void {
  const unit = Math.max(pageSize, native.pagesize());
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 2 * pageSize || sizeBytes % unit !== 0) {
    throw new ArenaError('EINVAL', `arena ${path}: size ${sizeBytes} must be a multiple of ${unit} bytes and at least 2 pages`, path);
  }
}

export function openChecked(path: string, flags: number): number {
  try {
    return fs.openSync(path, flags);
  } catch (e) {
    throw wrapOpenError(e, path, 'open');
  }
}

export function wrapOpenError(e: unknown, path: string, what: 'open' | 'create'): Error {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  const why: Record<string, string> = {
    ENOENT: what === 'create' ? 'its directory does not exist' : 'no such file or device',
    EEXIST: 'it already exists (ask to overwrite it)',
    EACCES: 'permission denied',
    ELOOP: 'it is a symbolic link; give the real path',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a component of the path is not a directory',
    EROFS: 'read-only file system',
  };
  return new ArenaError(code, `cannot ${what} arena ${path}: ${why[code] ?? (e as Error).message}`, path);
}

export function lockOrThrow(fd: number, path: string): void {
  try {
    native.flock(fd, native.constants.LOCK_EX | native.constants.LOCK_NB);
  } catch (e) {
    const code = (e as native.SyscallError).code;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') {
      throw new ArenaError('EBUSY', `arena ${path} is in use by another mount`, path);
    }
    throw e;
  }
}

/**
 * Another user's arena, or one others may write, could feed us a crafted image
 * or watch our files: refuse both. root may use devices owned by others (disk group).
 */
export function checkOwner(st: fs.Stats, path: string, device: boolean): void {
  const euid = process.geteuid?.() ?? 0;
  if (device && euid === 0) return;
  if (st.uid !== euid) {
    throw new ArenaError('EPERM', `arena ${path} is owned by uid ${st.uid}, not by this user (uid ${euid}); refusing to use it`, path);
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new ArenaError('EACCES', `arena ${path} is writable by group or others (mode ${mode}); run chmod 600 on it`, path);
  }
}

/** Size of a device-dax character device from sysfs, or null when not exposed. */
export function charDeviceSize(st: fs.Stats): number | null {
  const major = Math.floor(st.rdev / 256) & 0xfff | (Math.floor(st.rdev / 2 ** 32) & ~0xfff);
  const minor = (st.rdev & 0xff) | ((Math.floor(st.rdev / 4096) & 0xfff00));
  try {
    const n = Number(fs.readFileSync(`/sys/dev/char/${major}:${minor}/size`, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
