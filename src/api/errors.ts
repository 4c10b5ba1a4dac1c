// Node-style errors at the edge: errnoError (in open/errors.ts, below api/ so
// the arena opener makes the same errors) and check() for fs/'s results.
import { errnoError } from '../open/errors.js';

export { errnoError, type PramError } from '../open/errors.js';

/** Returns r, or throws the Node-style error for a negative number. */
export function check<T>(r: T | number, syscall: string, path?: string, dest?: string): T {
  if (typeof r === 'number' && r < 0) throw errnoError(r, syscall, path, dest);
  return r as T;
}

/** The most node:fs reads into one Buffer (kIoMaxLength): readFile of a larger file fails as node's does. */
export const READ_FILE_BYTES_MAX = 2 ** 31 - 1;

/** node:fs's ERR_FS_FILE_TOO_LARGE (a RangeError with code), naming the path. */
export function fileTooLarge(size: number, syscall: string, path: string): RangeError & { code: string; syscall: string; path: string } {
  const err = new RangeError(`File size (${size}) is greater than 2 GiB, ${syscall} '${path}'`) as RangeError & { code: string; syscall: string; path: string };
  err.code = 'ERR_FS_FILE_TOO_LARGE';
  err.syscall = syscall;
  err.path = path;
  return err;
}
