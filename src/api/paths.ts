// Path handling for the library API: every path is inside the pram volume
// (a relative path is taken from its root), split into parent and last name
// the way the kernel's namei does, and resolved through fs/'s resolve.
import { EEXIST, EINVAL, ENOENT } from '../format/errno.js';
import type { Volume } from '../fs/volume.js';
import { errnoError } from './errors.js';

export type PathLike = string | Buffer | URL;

export function toPath(p: PathLike): string {
  if (typeof p === 'string') return p.startsWith('/') ? p : `/${p}`;
  if (Buffer.isBuffer(p)) return toPath(p.toString('utf8'));
  if (p instanceof URL) return toPath(decodeURIComponent(p.pathname));
  throw Object.assign(new TypeError(`The "path" argument must be of type string, Buffer or URL`), { code: 'ERR_INVALID_ARG_TYPE' });
}

/** The inode at `path`, or a thrown Node-style error for `syscall`. */
export function lookupPath(vol: Volume, path: string, syscall: string, follow = true): number {
  const ino = vol.resolve(path, { follow });
  if (ino < 0) throw errnoError(ino, syscall, path);
  return ino;
}

/** Parent directory inode and last component; '.' / '..' / root as the last name are errors for creation. */
export function parentOf(vol: Volume, path: string, syscall: string): { parent: number; name: string } {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') throw errnoError(-EEXIST, syscall, path);
  const cut = trimmed.lastIndexOf('/');
  const name = trimmed.slice(cut + 1);
  if (name === '.' || name === '..') throw errnoError(name === '.' ? -EINVAL : -EEXIST, syscall, path);
  const dirPath = trimmed.slice(0, cut) || '/';
  const parent = vol.resolve(dirPath, { follow: true });
  if (parent < 0) throw errnoError(parent === -ENOENT ? -ENOENT : parent, syscall, path);
  return { parent, name };
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
