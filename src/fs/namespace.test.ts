// Names: every file type, name checks, hard links, directories, rename cases,
// symlink resolution, unlinked-but-open inodes, xattrs, readdir cookies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EBUSY, EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENODATA, ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP, EPERM,
} from '../format/errno.js';
import {
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, RENAME_EXCHANGE, RENAME_NOREPLACE, S_IFBLK, S_IFCHR,
  S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, XATTR_CREATE, XATTR_REPLACE,
} from './mode.js';
import { ino, ok, simVolume } from './testkit.js';

test('mknod makes every non-directory type with its mode and rdev', () => {
  const { vol } = simVolume();
  const types: [number, number][] = [[S_IFREG, DT_REG], [S_IFIFO, DT_FIFO], [S_IFCHR, DT_CHR], [S_IFBLK, DT_BLK], [S_IFSOCK, DT_SOCK]];
  for (const [t] of types) {
    const a = ok(vol.mknod(1, `n${t}`, t | 0o640, 0x0801, 12, 34));
    assert.equal(a.mode, t | 0o640);
    assert.equal(a.rdev, 0x0801);
    assert.deepEqual([a.uid, a.gid, a.nlink], [12, 34, 1]);
  }
  assert.equal(ok(vol.mknod(1, 'plain', 0o600, 0, 0, 0)).mode & S_IFMT, S_IFREG, 'no type means regular');
  assert.equal(vol.mknod(1, 'd', S_IFDIR | 0o755, 0, 0, 0), -EINVAL);
  const listed = ok(vol.readdir(1, 0, 100));
  for (const [t, dt] of types) assert.equal(listed.find((e) => e.name === `n${t}`)?.type, dt);
});

test('name checks: EEXIST, ENAMETOOLONG over 255 bytes, EINVAL for / and NUL, ENOENT/ENOTDIR parents', () => {
  const { vol } = simVolume();
  ok(vol.mknod(1, 'a', S_IFREG, 0, 0, 0));
  assert.equal(vol.mknod(1, 'a', S_IFREG, 0, 0, 0), -EEXIST);
  assert.equal(vol.mkdir(1, '.', 0o755, 0, 0), -EEXIST);
  ok(vol.mknod(1, 'x'.repeat(255), S_IFREG, 0, 0, 0));
  assert.equal(vol.mknod(1, 'x'.repeat(256), S_IFREG, 0, 0, 0), -ENAMETOOLONG);
  assert.equal(vol.mknod(1, 'é'.repeat(128), S_IFREG, 0, 0, 0), -ENAMETOOLONG, '256 bytes of UTF-8');
  assert.equal(vol.mknod(1, 'a/b', S_IFREG, 0, 0, 0), -EINVAL);
  assert.equal(vol.mknod(1, 'a\0b', S_IFREG, 0, 0, 0), -EINVAL);
  assert.equal(vol.mknod(999, 'q', S_IFREG, 0, 0, 0), -ENOENT);
  const file = ok(vol.lookup(1, 'a')).ino;
  assert.equal(vol.mknod(file, 'q', S_IFREG, 0, 0, 0), -ENOTDIR);
  assert.equal(vol.lookup(1, 'missing'), -ENOENT);
});

test('directories nest and count links; rmdir needs empty; unlink refuses directories', () => {
  const { vol } = simVolume();
  const a = ino(vol.mkdir(1, 'a', 0o755, 0, 0));
  const b = ino(vol.mkdir(a, 'b', 0o700, 0, 0));
  ok(vol.mknod(b, 'f', S_IFREG, 0, 0, 0));
  assert.equal(ok(vol.getattr(1)).nlink, 3);
  assert.equal(ok(vol.getattr(a)).nlink, 3);
  assert.equal(ok(vol.getattr(b)).nlink, 2);
  assert.equal(ok(vol.lookup(b, '..')).ino, a);
  assert.equal(vol.rmdir(a, 'b'), -ENOTEMPTY);
  assert.equal(vol.unlink(a, 'b'), -EISDIR);
  assert.equal(vol.rmdir(b, 'f'), -ENOTDIR);
  assert.equal(vol.unlink(b, 'f'), 0);
  assert.equal(vol.rmdir(a, 'b'), 0);
  assert.equal(ok(vol.getattr(a)).nlink, 2);
  assert.equal(vol.getattr(b), -ENOENT);
  assert.equal(vol.rmdir(1, '.'), -EINVAL);
});

test('hard links share the inode; the last unlink frees it; no links to directories', () => {
  const { vol } = simVolume();
  const f = ino(vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  vol.write(f, 0, Buffer.from('shared'));
  const d = ino(vol.mkdir(1, 'd', 0o755, 0, 0));
  assert.equal(ok(vol.link(f, d, 'g')).nlink, 2);
  assert.equal(vol.resolve('/d/g'), f, 'resolve does not count as a kernel lookup');
  assert.equal(vol.link(f, d, 'g'), -EEXIST);
  assert.equal(vol.link(d, 1, 'dd'), -EPERM);
  assert.equal(vol.unlink(1, 'f'), 0);
  assert.equal(ok(vol.getattr(f)).nlink, 1);
  assert.equal(ok(vol.read(f, 0, 10)).toString(), 'shared');
  const free = vol.statfs().bfree;
  assert.equal(vol.unlink(d, 'g'), 0);
  assert.equal(vol.getattr(f), -ENOENT);
  // The room the ledger kept for the file's META page and its inline bytes' page (a v2 chain
  // writes them into one) in the next two checkpoints.
  assert.equal(vol.statfs().bfree, free + 4, 'the room for its pages went back');
  // statfs(2)'s inodes: files = all there can be, ffree = those not in use (df -i: used = files - ffree).
  const st = vol.statfs();
  assert.deepEqual([st.files, st.files - st.ffree], [0xffffffff, 2], 'inodes: the root and d in use (f is gone)');
});

test('an unlinked file lives while open, and dies at release', () => {
  const { vol } = simVolume();
  const f = ino(vol.mknod(1, 'f', S_IFREG, 0, 0, 0));
  vol.write(f, 0, Buffer.from('still here'));
  assert.equal(vol.open(f), 0);
  assert.equal(vol.unlink(1, 'f'), 0);
  assert.equal(ok(vol.getattr(f)).nlink, 0);
  assert.equal(ok(vol.read(f, 0, 20)).toString(), 'still here');
  assert.equal(vol.write(f, 10, Buffer.from('!')), 1);
  vol.release(f);
  assert.equal(vol.getattr(f), -ENOENT);
});

test('a looked-up inode lives until forget (FUSE counts)', () => {
  const { vol } = simVolume();
  ok(vol.mknod(1, 'f', S_IFREG, 0, 0, 0));
  const f = ok(vol.lookup(1, 'f')).ino;
  ok(vol.lookup(1, 'f'));
  vol.unlink(1, 'f');
  vol.forget(f, 1);
  assert.equal(ok(vol.getattr(f)).nlink, 0);
  vol.forget(f, 1);
  assert.equal(vol.getattr(f), -ENOENT);
});

test('symlinks: readlink, resolve follows them, follow:false does not, loops are ELOOP', () => {
  const { vol } = simVolume();
  const d = ino(vol.mkdir(1, 'd', 0o755, 0, 0));
  const f = ino(vol.mknod(d, 'f', S_IFREG, 0, 0, 0));
  const l = ok(vol.symlink(1, 'l', 'd/f', 0, 0));
  assert.equal(l.mode, S_IFLNK | 0o777);
  assert.equal(l.size, 3);
  assert.equal(vol.readlink(l.ino), 'd/f');
  assert.equal(vol.readlink(f), -EINVAL);
  ok(vol.symlink(d, 'up', '../d', 0, 0));
  ok(vol.symlink(d, 'abs', '/d/f', 0, 0));
  assert.equal(vol.resolve('/l'), f);
  assert.equal(vol.resolve('/l', { follow: false }), l.ino);
  assert.equal(vol.resolve('/d/up/up/up/f'), f);
  assert.equal(vol.resolve('/d/abs'), f);
  assert.equal(vol.resolve('/d/./f/'), -ENOTDIR);
  assert.equal(vol.resolve('/d/f/x'), -ENOTDIR);
  assert.equal(vol.resolve('/nope'), -ENOENT);
  assert.equal(vol.resolve('relative'), -EINVAL);
  ok(vol.symlink(1, 'loop1', 'loop2', 0, 0));
  ok(vol.symlink(1, 'loop2', 'loop1', 0, 0));
  assert.equal(vol.resolve('/loop1'), -ELOOP);
  assert.equal(vol.symlink(1, 'empty', '', 0, 0), -ENOENT);
  assert.equal(vol.symlink(1, 'long', 'x'.repeat(4096), 0, 0), -ENAMETOOLONG);
  assert.equal(vol.resolve('/' + 'x'.repeat(256)), -ENAMETOOLONG);
});

test('rename: move, replace a file, POSIX refusals', () => {
  const { vol } = simVolume();
  const a = ino(vol.mkdir(1, 'a', 0o755, 0, 0));
  const b = ino(vol.mkdir(a, 'b', 0o755, 0, 0));
  const f = ino(vol.mknod(1, 'f', S_IFREG, 0, 0, 0));
  const g = ino(vol.mknod(1, 'g', S_IFREG, 0, 0, 0));
  ok(vol.mknod(b, 'inside', S_IFREG, 0, 0, 0));
  const e = ino(vol.mkdir(1, 'e', 0o755, 0, 0));
  assert.equal(vol.rename(1, 'f', 1, 'g', 0), 0, 'replace a file');
  assert.equal(ok(vol.lookup(1, 'g')).ino, f);
  assert.equal(vol.getattr(g), -ENOENT, 'the replaced inode is gone');
  assert.equal(vol.rename(1, 'a', b, 'x', 0), -EINVAL, 'not into its own subtree');
  assert.equal(vol.rename(1, 'a', a, 'x', 0), -EINVAL);
  assert.equal(vol.rename(1, 'e', a, 'b', 0), -ENOTEMPTY);
  assert.equal(vol.rename(1, 'e', 1, 'g', 0), -ENOTDIR);
  assert.equal(vol.rename(1, 'g', 1, 'e', 0), -EISDIR);
  assert.equal(vol.rename(1, 'g', a, 'b', RENAME_NOREPLACE), -EEXIST);
  assert.equal(vol.rename(1, 'nope', 1, 'x', 0), -ENOENT);
  assert.equal(vol.rename(1, 'g', 1, 'x', RENAME_NOREPLACE | RENAME_EXCHANGE), -EINVAL);
  assert.equal(vol.rename(1, '.', 1, 'x', 0), -EBUSY);
  assert.equal(vol.rename(1, 'g', 1, 'x/y', 0), -EINVAL);
  // A directory over an empty directory; link counts follow.
  assert.equal(vol.rename(a, 'b', 1, 'e', 0), 0);
  assert.equal(vol.getattr(e), -ENOENT);
  assert.equal(ok(vol.getattr(a)).nlink, 2);
  assert.equal(ok(vol.getattr(1)).nlink, 4, 'root holds a, e(=b)');
  assert.equal(ok(vol.lookup(b, '..')).ino, 1);
  // Two names of one inode: nothing happens.
  ok(vol.link(f, 1, 'f2'));
  assert.equal(vol.rename(1, 'g', 1, 'f2', 0), 0);
  assert.equal(ok(vol.lookup(1, 'g')).ino, f);
  assert.equal(ok(vol.getattr(f)).nlink, 2);
});

test('RENAME_EXCHANGE swaps a file and a directory atomically', () => {
  const { vol } = simVolume();
  const d = ino(vol.mkdir(1, 'd', 0o755, 0, 0));
  const sub = ino(vol.mkdir(d, 'sub', 0o755, 0, 0));
  const f = ino(vol.mknod(1, 'f', S_IFREG, 0, 0, 0));
  assert.equal(vol.rename(1, 'f', d, 'sub', RENAME_EXCHANGE), 0);
  assert.equal(ok(vol.lookup(1, 'f')).ino, sub);
  assert.equal(ok(vol.lookup(d, 'sub')).ino, f);
  assert.equal(ok(vol.lookup(sub, '..')).ino, 1);
  assert.equal(ok(vol.getattr(1)).nlink, 4);
  assert.equal(ok(vol.getattr(d)).nlink, 2);
  assert.equal(vol.rename(1, 'f', 1, 'none', RENAME_EXCHANGE), -ENOENT);
  assert.equal(vol.rename(1, 'd', d, 'sub', RENAME_EXCHANGE), -EINVAL, 'd cannot go below itself');
});

test('xattrs: create, replace, list, remove, and their errors', () => {
  const { vol } = simVolume();
  const f = ino(vol.mknod(1, 'f', S_IFREG, 0, 0, 0));
  assert.equal(vol.setxattr(f, 'user.a', Buffer.from('1'), 0), 0);
  assert.equal(vol.setxattr(f, 'user.a', Buffer.from('2'), XATTR_CREATE), -EEXIST);
  assert.equal(vol.setxattr(f, 'user.b', Buffer.from('2'), XATTR_REPLACE), -ENODATA);
  assert.equal(vol.setxattr(f, 'user.a', Buffer.from('3'), XATTR_REPLACE), 0);
  assert.equal(vol.setxattr(f, 'nons', Buffer.from('3'), 0), -EOPNOTSUPP);
  assert.deepEqual(Buffer.from(ok(vol.getxattr(f, 'user.a'))).toString(), '3');
  assert.equal(vol.getxattr(f, 'user.zz'), -ENODATA);
  assert.deepEqual(vol.listxattr(f), ['user.a']);
  assert.equal(vol.removexattr(f, 'user.a'), 0);
  assert.equal(vol.removexattr(f, 'user.a'), -ENODATA);
});

test('readdir resumes from its cookie, also after a removal', () => {
  const { vol } = simVolume();
  for (let i = 0; i < 10; i++) ok(vol.mknod(1, `f${i}`, S_IFREG, 0, 0, 0));
  const first = ok(vol.readdir(1, 0, 5));
  assert.deepEqual(first.map((e) => e.name), ['.', '..', 'f0', 'f1', 'f2']);
  assert.equal(first[0]!.type, DT_DIR);
  vol.unlink(1, 'f3');
  const rest = ok(vol.readdir(1, first[4]!.next, 100));
  assert.deepEqual(rest.map((e) => e.name), ['f4', 'f5', 'f6', 'f7', 'f8', 'f9']);
  assert.equal(vol.readdir(ok(vol.lookup(1, 'f0')).ino, 0, 10), -ENOTDIR);
});

test('setattr keeps the file type, sets owners and times; the clock drives ctime/mtime', () => {
  const { vol } = simVolume();
  const a = ok(vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  const b = ok(vol.setattr(a.ino, { mode: 0o4755 | S_IFDIR, uid: 7, gid: 8, atimeNs: 5n, mtimeNs: 6n }));
  assert.equal(b.mode, S_IFREG | 0o4755);
  assert.deepEqual([b.uid, b.gid, b.atimeNs, b.mtimeNs], [7, 8, 5n, 6n]);
  assert.ok(b.ctimeNs > a.ctimeNs);
  vol.write(a.ino, 0, Buffer.from('x'));
  const c = ok(vol.getattr(a.ino));
  assert.ok(c.mtimeNs > b.ctimeNs && c.ctimeNs === c.mtimeNs);
  assert.ok(ok(vol.getattr(1)).mtimeNs >= a.ctimeNs, 'parent mtime moved at create');
});
