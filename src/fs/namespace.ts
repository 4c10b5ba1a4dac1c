// The namespace: making, linking, unlinking and renaming names, with POSIX's
// errno for every way it can go wrong. mknod is the one primitive that makes
// an inode; mkdir and symlink are thin calls of it.
import {
  EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, EPERM, EBUSY,
} from '../format/errno.js';
import { contentOf, type Inode } from './inode.js';
import { writeContent } from './inline.js';
import { checkName, nameCost } from './names.js';
import { DT_DIR, PATH_MAX, RENAME_EXCHANGE, RENAME_NOREPLACE, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './mode.js';
import { MAP_ENTRIES_MAX, ROOT_INO, type InodeTable } from './table.js';
import { inodeRecordBytes } from '../format/v3.js';

/** The directory inode `parent`, alive, or -errno. */
export function dirOf(t: InodeTable, parent: number): Inode | number {
  const dir = t.get(parent);
  if (!dir) return -ENOENT;
  if (!dir.dir) return -ENOTDIR;
  return dir;
}

function linkName(t: InodeTable, dir: Inode, name: string, node: Inode): void {
  dir.dir!.add(name, node.ino);
  node.nlink++;
  node.nameBytes += nameCost(name);
  if (node.dir) { node.dir.parent = dir.ino; dir.nlink++; }
  t.touch(dir, 'm');
  t.recharge(node);
}

export function mknod(t: InodeTable, parent: number, name: string, mode: number, rdev: number, uid: number, gid: number): Inode | number {
  const dir = dirOf(t, parent);
  if (typeof dir === 'number') return dir;
  if (dir.nlink === 0) return -ENOENT; // a removed directory takes no new names
  if (name === '.' || name === '..') return -EEXIST;
  const bad = checkName(name);
  if (bad) return bad;
  if (dir.dir!.get(name)) return -EEXIST;
  if (t.inodes.size >= MAP_ENTRIES_MAX || dir.dir!.size >= MAP_ENTRIES_MAX) return -ENOSPC;
  if ((mode & S_IFMT) === 0) mode |= S_IFREG;
  const room = t.admit(1, inodeRecordBytes(0) + nameCost(name));   // its META/NODE page (INODE and NAME records) in the next durable step
  if (room < 0) return room;
  const node = t.make(mode, uid, gid, rdev, parent);
  if (node.dir) node.nlink = 1; // '.'; linkName adds the parent's entry
  linkName(t, dir, name, node);
  return node;
}

export function mkdir(t: InodeTable, parent: number, name: string, mode: number, uid: number, gid: number): Inode | number {
  return mknod(t, parent, name, S_IFDIR | (mode & 0o7777), 0, uid, gid);
}

export function symlink(t: InodeTable, parent: number, name: string, target: string, uid: number, gid: number): Inode | number {
  if (target.length === 0) return -ENOENT;
  const bytes = Buffer.from(target, 'utf8');
  if (bytes.length >= PATH_MAX) return -ENAMETOOLONG;
  const node = mknod(t, parent, name, S_IFLNK | 0o777, 0, uid, gid);
  if (typeof node === 'number') return node;
  const n = writeContent(t.pc, contentOf(node), 0, bytes);
  if (n !== bytes.length) {
    // No half-made symlink: take the name back and free what was written.
    unlinkName(t, t.get(parent)!, name, node);
    return n < 0 ? n : -ENOSPC;
  }
  node.target = target;
  return node;
}

export function link(t: InodeTable, ino: number, newParent: number, newName: string): Inode | number {
  const node = t.get(ino);
  if (!node || node.nlink === 0) return -ENOENT;
  if (node.dir) return -EPERM;
  const dir = dirOf(t, newParent);
  if (typeof dir === 'number') return dir;
  if (dir.nlink === 0) return -ENOENT;
  if (newName === '.' || newName === '..') return -EEXIST;
  const bad = checkName(newName);
  if (bad) return bad;
  if (dir.dir!.get(newName)) return -EEXIST;
  if (dir.dir!.size >= MAP_ENTRIES_MAX) return -ENOSPC;
  const room = t.admit(1, nameCost(newName));   // a NAME page (record) for the second and later names
  if (room < 0) return room;
  linkName(t, dir, newName, node);
  t.touch(node, 'c');
  return node;
}

function unlinkName(t: InodeTable, dir: Inode, name: string, node: Inode): void {
  dir.dir!.remove(name);
  node.nameBytes -= nameCost(name);
  if (node.dir) { node.nlink = 0; dir.nlink--; } else node.nlink--;
  t.touch(dir, 'm');
  t.touch(node, 'c');
  t.recharge(node);
  t.maybeEvict(node);
}

function childOf(t: InodeTable, parent: number, name: string): { dir: Inode; node: Inode } | number {
  const dir = dirOf(t, parent);
  if (typeof dir === 'number') return dir;
  const bad = checkName(name);
  if (bad) return bad;
  const d = dir.dir!.get(name);
  if (!d) return -ENOENT;
  return { dir, node: t.get(d.ino)! };
}

export function unlink(t: InodeTable, parent: number, name: string): number {
  if (name === '.' || name === '..') return -EISDIR;
  const c = childOf(t, parent, name);
  if (typeof c === 'number') return c;
  if (c.node.dir) return -EISDIR;
  unlinkName(t, c.dir, name, c.node);
  return 0;
}

export function rmdir(t: InodeTable, parent: number, name: string): number {
  if (name === '.') return -EINVAL;
  if (name === '..') return -ENOTEMPTY;
  const c = childOf(t, parent, name);
  if (typeof c === 'number') return c;
  if (!c.node.dir) return -ENOTDIR;
  if (c.node.dir.size > 0) return -ENOTEMPTY;
  unlinkName(t, c.dir, name, c.node);
  return 0;
}

/** True if `ino` is `ancestor` or lies below it. */
function within(t: InodeTable, ino: number, ancestor: number): boolean {
  for (let cur = ino, steps = 0; steps <= t.inodes.size; steps++) {
    if (cur === ancestor) return true;
    if (cur === ROOT_INO) return false;
    cur = t.get(cur)!.dir!.parent;
  }
  return false;
}

export function rename(t: InodeTable, parent: number, name: string, newParent: number, newName: string, flags: number): number {
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0 || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
  if (name === '.' || name === '..' || newName === '.' || newName === '..') return -EBUSY;
  const src = childOf(t, parent, name);
  if (typeof src === 'number') return src;
  const dstDir = dirOf(t, newParent);
  if (typeof dstDir === 'number') return dstDir;
  if (dstDir.nlink === 0) return -ENOENT;
  const bad = checkName(newName);
  if (bad) return bad;
  const dstEntry = dstDir.dir!.get(newName);
  const dst = dstEntry ? t.get(dstEntry.ino)! : null;
  if (!dst && dstDir !== src.dir && dstDir.dir!.size >= MAP_ENTRIES_MAX) return -ENOSPC;
  const { node } = src;
  // No directory may move below itself.
  if (node.dir && within(t, newParent, node.ino)) return -EINVAL;
  if (flags & RENAME_EXCHANGE) {
    if (!dst) return -ENOENT;
    if (dst.dir && within(t, parent, dst.ino)) return -EINVAL;
    return exchange(t, src.dir, name, node, dstDir, newName, dst);
  }
  const room = t.admit(0, nameCost(newName) - nameCost(name));   // a longer name, a longer NAME record
  if (room < 0) return room;
  if (dst) {
    if (flags & RENAME_NOREPLACE) return -EEXIST;
    if (dst === node) return 0; // two names of one inode: POSIX says do nothing
    if (node.dir && !dst.dir) return -ENOTDIR;
    if (!node.dir && dst.dir) return -EISDIR;
    if (dst.dir && dst.dir.size > 0) return -ENOTEMPTY;
    unlinkName(t, dstDir, newName, dst);
  }
  src.dir.dir!.remove(name);
  if (node.dir) src.dir.nlink--;
  node.nlink--;
  node.nameBytes -= nameCost(name);
  linkName(t, dstDir, newName, node);
  t.touch(src.dir, 'm');
  t.touch(node, 'c');
  return 0;
}

function exchange(t: InodeTable, aDir: Inode, aName: string, a: Inode, bDir: Inode, bName: string, b: Inode): number {
  aDir.dir!.remove(aName);
  bDir.dir!.remove(bName);
  aDir.dir!.add(aName, b.ino);
  bDir.dir!.add(bName, a.ino);
  if (a.dir) { a.dir.parent = bDir.ino; aDir.nlink--; bDir.nlink++; }
  if (b.dir) { b.dir.parent = aDir.ino; bDir.nlink--; aDir.nlink++; }
  const moved = nameCost(bName) - nameCost(aName);   // the same names stay: what one gains the other gives up
  a.nameBytes += moved; b.nameBytes -= moved;
  t.recharge(a); t.recharge(b);
  t.touch(aDir, 'm'); t.touch(bDir, 'm'); t.touch(a, 'c'); t.touch(b, 'c');
  return 0;
}

/** An entry of a directory listing, with the cookie that resumes after it. */
export interface DirEntry { name: string; ino: number; type: number; next: number }

/**
 * Up to `max` entries from `cookie` on, while `fits` accepts them; '.' and '..'
 * first. The stream resumes in O(1) at the `next` of the last entry returned.
 */
export function readdir(t: InodeTable, node: Inode, cookie: number, max: number, fits: (e: DirEntry) => boolean): DirEntry[] | number {
  if (!node.dir) return -ENOTDIR;
  const out: DirEntry[] = [];
  const take = (e: DirEntry) => out.length < max && fits(e) && out.push(e) > 0;
  if (cookie < 1 && !take({ name: '.', ino: node.ino, type: DT_DIR, next: 1 })) return out;
  if (cookie < 2 && !take({ name: '..', ino: node.dir.parent, type: DT_DIR, next: 2 })) return out;
  const dir = node.dir;
  // dtOf may load another group, which can drop a dangling name of this directory (a damaged image): skip it.
  dir.walk(Math.max(cookie, 3), (name, d) => {
    const type = t.dtOf(d.ino);
    return type < 0 || dir.get(name) !== d ? true : take({ name, ino: d.ino, type, next: d.cookie + 1 });
  });
  t.accessed(node);
  return out;
}
