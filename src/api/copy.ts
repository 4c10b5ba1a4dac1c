// Copying trees between the host file system and a mounted pram, keeping
// modes, owners, times and symlinks (what `pram put` and `pram get` do; also
// handy for library users seeding a cache from disk).
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { PramFs } from './pramfs.js';
import { joinPath } from './paths.js';
import type { Stats } from './stats.js';
import { progressWanted, publishProgress } from '../format/progress.js';

export interface CopyCount { files: number; dirs: number; links: number; bytes: number }

/** Bytes copied so far of a tree's total, published for the CLI's progress bar. */
interface Progress { op: string; total: number }

/** Host `src` (file, symlink or directory tree) -> pram path `dest` (the new name). */
export async function putTree(pfs: PramFs, src: string, dest: string, count: CopyCount = { files: 0, dirs: 0, links: 0, bytes: 0 }): Promise<CopyCount> {
  const progress = progressWanted() ? { op: `put ${src}`, total: hostTreeBytes(src) } : null;
  try {
    return await putOne(pfs, src, dest, count, progress);
  } finally {
    if (progress) publishProgress(progress.op, progress.total, progress.total);
  }
}

/** Pram `src` -> host path `dest` (the new name). */
export async function getTree(pfs: PramFs, src: string, dest: string, count: CopyCount = { files: 0, dirs: 0, links: 0, bytes: 0 }): Promise<CopyCount> {
  const progress = progressWanted() ? { op: `get ${src}`, total: await pramTreeBytes(pfs, src) } : null;
  try {
    return await getOne(pfs, src, dest, count, progress);
  } finally {
    if (progress) publishProgress(progress.op, progress.total, progress.total);
  }
}

function hostTreeBytes(path: string): number {
  const st = fs.lstatSync(path);
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let sum = 0;
  for (const name of fs.readdirSync(path)) sum += hostTreeBytes(nodePath.join(path, name));
  return sum;
}

async function pramTreeBytes(pfs: PramFs, path: string): Promise<number> {
  const st = (await pfs.lstat(path)) as Stats;
  if (!st.isDirectory()) return st.isFile() ? Number(st.size) : 0;
  let sum = 0;
  for (const name of (await pfs.readdir(path)) as string[]) sum += await pramTreeBytes(pfs, joinPath(path, name));
  return sum;
}

const CHUNK_BYTES = 8 << 20;

async function putOne(pfs: PramFs, src: string, dest: string, count: CopyCount, progress: Progress | null): Promise<CopyCount> {
  const st = fs.lstatSync(src);
  if (st.isSymbolicLink()) {
    await pfs.symlink(fs.readlinkSync(src), dest);
    count.links++;
  } else if (st.isDirectory()) {
    await pfs.mkdir(dest, { mode: st.mode & 0o7777 });
    count.dirs++;
    for (const name of fs.readdirSync(src).sort()) await putOne(pfs, nodePath.join(src, name), joinPath(dest, name), count, progress);
  } else if (st.isFile()) {
    const h = await pfs.open(dest, 'wx', st.mode & 0o7777);
    const fd = fs.openSync(src, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(st.size, 1)));
      for (let pos = 0; ;) {
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        await h.write(buf, 0, n, pos);
        pos += n;
        count.bytes += n;
        if (progress) publishProgress(progress.op, count.bytes, progress.total);
      }
    } finally {
      fs.closeSync(fd);
      await h.close();
    }
    count.files++;
  } else {
    throw Object.assign(new Error(`${src}: not a regular file, directory or symlink; not copied`), { code: 'EINVAL', path: src });
  }
  await pfs.lchmod(dest, st.mode & 0o7777).catch(() => {});
  await pfs.lchown(dest, st.uid, st.gid);
  await pfs.lutimes(dest, st.atime, st.mtime);
  return count;
}

async function getOne(pfs: PramFs, src: string, dest: string, count: CopyCount, progress: Progress | null): Promise<CopyCount> {
  const st = (await pfs.lstat(src)) as Stats;
  if (st.isSymbolicLink()) {
    fs.symlinkSync(await pfs.readlink(src), dest);
    count.links++;
  } else if (st.isDirectory()) {
    fs.mkdirSync(dest, { mode: 0o700 });
    count.dirs++;
    for (const name of (await pfs.readdir(src)) as string[]) await getOne(pfs, joinPath(src, name), nodePath.join(dest, name), count, progress);
    fs.chmodSync(dest, st.mode & 0o7777);
  } else if (st.isFile()) {
    const h = await pfs.open(src, 'r');
    const fd = fs.openSync(dest, 'wx', st.mode & 0o7777);
    try {
      // Zero-copy on our side: the host file is written from views over the arena's pages.
      for (let pos = 0; pos < st.size;) {
        using v = await h.view(pos, Math.min(CHUNK_BYTES, st.size - pos));
        if (v.length === 0) break;
        for (const b of v.buffers) { fs.writeSync(fd, b, 0, b.length, pos); pos += b.length; }
        count.bytes += v.length;
        if (progress) publishProgress(progress.op, count.bytes, progress.total);
      }
      fs.fchmodSync(fd, st.mode & 0o7777);
    } finally {
      fs.closeSync(fd);
      await h.close();
    }
    count.files++;
  } else {
    throw Object.assign(new Error(`${src}: a special file; not copied out`), { code: 'EINVAL', path: src });
  }
  if (process.getuid?.() === 0) fs.lchownSync(dest, st.uid, st.gid);
  fs.lutimesSync(dest, st.atime, st.mtime);
  return count;
}
