// Checks on one path component and on whole paths, with Linux's errno for each
// way a name can be wrong. Kept apart so api/ and fuse/ give the same answers.
import { EINVAL, ENAMETOOLONG, ENOENT } from '../format/errno.js';
import { nameRecordBytes } from '../format/v3.js';
import { NAME_MAX, PATH_MAX } from './mode.js';

/** The NAME record a name takes in a log: what the space ledger charges for it, in bytes. */
export const nameCost = (name: string): number => nameRecordBytes(Buffer.byteLength(name));

/** 0 if `name` may name a new dentry; else -ENAMETOOLONG / -EINVAL / -ENOENT (empty). */
export function checkName(name: string): number {
  if (typeof name !== 'string' || name.length === 0) return -ENOENT;
  // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only when it could matter.
  if (name.length * 3 > NAME_MAX && Buffer.byteLength(name) > NAME_MAX) return -ENAMETOOLONG;
  if (name.includes('/') || name.includes('\0')) return -EINVAL;
  return 0;
}

/** A path too long for PATH_MAX (including its NUL). */
export function pathTooLong(path: string): boolean {
  return path.length >= PATH_MAX || (path.length * 3 >= PATH_MAX && Buffer.byteLength(path) >= PATH_MAX);
}
