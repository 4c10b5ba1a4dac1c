// Paths over the inode table: an absolute path walked to its ino (symlinks in
// the middle followed, at the end unless told not to), and a symlink's target
// read back from its inline bytes or pages.
import { EINVAL, EIO, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR } from '../format/errno.js';
import type { PageCache } from './file.js';
import { contentOf, type Inode } from './inode.js';
import { readContent } from './inline.js';
import { DT_LNK, NAME_MAX, SYMLOOP_MAX } from './mode.js';
import { pathTooLong } from './names.js';
import { ROOT_INO, type InodeTable } from './table.js';

/** A symlink's target, loaded on first use; -EINVAL for a node that is not one. */
export function targetOf(pc: PageCache, node: Inode): string | number {
  if (node.ops.dt !== DT_LNK) return -EINVAL;
  if (node.target === null) {
    // A loaded symlink: its target is inline or in its pages, checked like any data. A saved
    // size past PATH_MAX or past the pages it has is damage: EIO, never a huge allocation.
    if (node.size > 4096 || (!node.inline && node.size > node.pages!.count * pc.pageSize)) return -EIO;
    const b = Buffer.allocUnsafe(node.size);
    const n = readContent(pc, contentOf(node), 0, b, 0, node.size);
    if (n < 0) return n;
    if (n !== node.size) return -EIO;
    node.target = b.toString('utf8');
  }
  return node.target;
}

/** Absolute path -> ino, or -errno as path resolution in the kernel answers it. */
export function resolvePath(t: InodeTable, pc: PageCache, path: string, follow: boolean): number {
  if (typeof path !== 'string' || !path.startsWith('/')) return -EINVAL;
  if (pathTooLong(path)) return -ENAMETOOLONG;
  const trailingSlash = path.length > 1 && path.endsWith('/');
  const stack = components(path).reverse();
  let cur = ROOT_INO;
  let links = 0;
  while (stack.length > 0) {
    const name = stack.pop()!;
    const dir = t.get(cur)!;
    if (!dir.dir) return -ENOTDIR;
    if (name === '..') { cur = dir.dir.parent; continue; }
    if (Buffer.byteLength(name) > NAME_MAX) return -ENAMETOOLONG;
    const d = dir.dir.get(name);
    if (!d) return -ENOENT;
    const node = t.get(d.ino)!;
    if (node.ops.dt === DT_LNK && (stack.length > 0 || follow || trailingSlash)) {
      if (++links > SYMLOOP_MAX) return -ELOOP;
      const target = targetOf(pc, node);
      if (typeof target === 'number') return target;
      if (target.startsWith('/')) cur = ROOT_INO;
      for (const c of components(target).reverse()) stack.push(c);
      continue;
    }
    cur = d.ino;
  }
  if (trailingSlash && !t.get(cur)!.dir) return -ENOTDIR;
  return cur;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}
