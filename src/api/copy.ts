// Copying trees between the host file system and a mounted pram, keeping
// modes, owners, times and symlinks (what `pram put` and `pram get` do; also
// handy for library users seeding a cache from disk).
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { PramFs } from './pramfs.js';
import { joinPath } from './paths.js';
import type { Stats } from './stats.js';

export interface CopyCount { files: number; dirs: number; links: number; bytes: number }

const CHUNK_BYTES = 8 << 20;

/** Host `src` (file, symlink or directory tree) -> pram path `dest` (the new name). */
export async function putTree(pfs: PramFs, src: string, dest: string, count: CopyCount = { files: 0, dirs: 0, links: 0, bytes: 0 }): Promise<CopyCount> {
  const st = fs.lstatSync(src);
  if (st.isSymbolicLink()) {
    await pfs.symlink(fs.readlinkSync(src), dest);
    count.links++;
  } else if (st.isDirectory()) {
    await pfs.mkdir(dest, { mode: st.mode & 0o7777 });
    count.dirs++;
    for (const name of fs.readdirSync(src).sort()) await putTree(pfs, nodePath.join(src, name), joinPath(dest, name), count);
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

/** Pram `src` -> host path `dest` (the new name). */
export async function getTree(pfs: PramFs, src: string, dest: string, count: CopyCount = { files: 0, dirs: 0, links: 0, bytes: 0 }): Promise<CopyCount> {
  const st = (await pfs.lstat(src)) as Stats;
  if (st.isSymbolicLink()) {
    fs.symlinkSync(await pfs.readlink(src), dest);
    count.links++;
  } else if (st.isDirectory()) {
    fs.mkdirSync(dest, { mode: 0o700 });
    count.dirs++;
    for (const name of (await pfs.readdir(src)) as string[]) await getTree(pfs, joinPath(src, name), nodePath.join(dest, name), count);
    fs.chmodSync(dest, st.mode & 0o7777);
  } else if (st.isFile()) {
    const h = await pfs.open(src, 'r');
    const fd = fs.openSync(dest, 'wx', st.mode & 0o7777);
    try {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(st.size, 1)));
      for (let pos = 0; pos < st.size;) {
        const { bytesRead } = await h.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        fs.writeSync(fd, buf, 0, bytesRead, pos);
        pos += bytesRead;
        count.bytes += bytesRead;
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
