// POSIX constants the file system speaks: file type bits, dirent types, and
// the flag values of rename, setxattr, fallocate and lseek (Linux numbering,
// so fuse/ can pass them through unchanged).

import { S_IFMT } from '../format/mode.js';

export { S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO } from '../format/mode.js';
export const PERM_MASK = 0o7777;

export const DT_UNKNOWN = 0, DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_BLK = 6, DT_REG = 8, DT_LNK = 10, DT_SOCK = 12;

export const RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;
export const XATTR_CREATE = 1, XATTR_REPLACE = 2;
export const FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
export const SEEK_DATA = 3, SEEK_HOLE = 4;

/** Largest file size and offset: every byte position stays an exact JS number. */
export const MAX_FILE_BYTES = Number.MAX_SAFE_INTEGER;
export const NAME_MAX = 255;
export const PATH_MAX = 4096;
export const SYMLOOP_MAX = 40;
export const XATTR_NAME_MAX = 255;
export const XATTR_SIZE_MAX = 65536;

export function fileType(mode: number): number {
  return mode & S_IFMT;
}
