// The library API on a memfd arena: node:fs/promises shapes and Node-style errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { mount } from './index.js';
import type { PramFs } from './pramfs.js';

async function fresh(): Promise<PramFs> {
  return mount({ arena: 'memfd:api-test', create: { sizeBytes: 32 << 20 }, cmdline: '' });
}

test('errors carry code, negative errno, syscall, path and node\'s message', async () => {
  const pfs = await fresh();
  await assert.rejects(pfs.readFile('/a'), { code: 'ENOENT', errno: -2, syscall: 'open', path: '/a', message: "ENOENT: no such file or directory, open '/a'" });
  await pfs.mkdir('/d');
  await assert.rejects(pfs.mkdir('/d'), { code: 'EEXIST', errno: -17, syscall: 'mkdir' });
  await assert.rejects(pfs.readFile('/d'), { code: 'EISDIR' });
  await pfs.writeFile('/d/f', 'x');
  await assert.rejects(pfs.rmdir('/d'), { code: 'ENOTEMPTY' });
  await assert.rejects(pfs.readdir('/d/f'), { code: 'ENOTDIR', syscall: 'scandir' });
  await assert.rejects(pfs.writeFile('/' + 'n'.repeat(256), 'x'), { code: 'ENAMETOOLONG' });
  await assert.rejects(pfs.rename('/nope', '/other'), { code: 'ENOENT', path: '/nope', dest: '/other', message: "ENOENT: no such file or directory, rename '/nope' -> '/other'" });
  await pfs.symlink('/loop2', '/loop1');
  await pfs.symlink('/loop1', '/loop2');
  await assert.rejects(pfs.stat('/loop1'), { code: 'ELOOP' });
  await assert.rejects(pfs.getxattr('/d/f', 'user.none'), { code: 'ENODATA' });
  await pfs.unmount();
  await assert.rejects(pfs.readFile('/d/f'), { code: 'EBADF' });
});

test('files, handles, stats, readdir with types, links, rm -r, copyFile, xattrs', async () => {
  const pfs = await fresh();
  await pfs.mkdir('/a/b/c', { recursive: true });
  assert.equal(await pfs.mkdir('/a/b/c', { recursive: true }), undefined);
  await pfs.writeFile('/a/f.txt', 'hello');
  await pfs.appendFile('/a/f.txt', ' world');
  assert.equal(await pfs.readFile('/a/f.txt', 'utf8'), 'hello world');
  await using h = await pfs.open('/a/f.txt', 'r+');
  const { bytesRead, buffer } = await h.read(Buffer.alloc(5), 0, 5, 6);
  assert.equal(buffer.subarray(0, bytesRead).toString(), 'world');
  await h.write('W', 6);
  await h.truncate(7);
  assert.equal(await pfs.readFile('/a/f.txt', 'utf8'), 'hello W');
  const st = await pfs.stat('/a/f.txt');
  assert.ok(st.isFile() && !st.isDirectory());
  assert.equal(st.size, 7);
  assert.ok(st.mtime instanceof Date && Math.abs(st.mtimeMs - Date.now()) < 60_000);
  const big = await pfs.stat('/a/f.txt', { bigint: true });
  assert.equal(typeof big.mtimeNs, 'bigint');
  assert.equal(big.size, 7n);
  await pfs.symlink('f.txt', '/a/l');
  assert.ok((await pfs.lstat('/a/l')).isSymbolicLink());
  assert.equal(await pfs.readlink('/a/l'), 'f.txt');
  await pfs.link('/a/f.txt', '/a/hard');
  assert.equal((await pfs.stat('/a/hard')).nlink, 2);
  const ents = await pfs.readdir('/a', { withFileTypes: true });
  assert.deepEqual(ents.map((e) => [e.name, e.isDirectory(), e.isSymbolicLink()]).sort(), [['b', true, false], ['f.txt', false, false], ['hard', false, false], ['l', false, true]]);
  await pfs.copyFile('/a/f.txt', '/copy');
  await assert.rejects(pfs.copyFile('/a/f.txt', '/copy', 1), { code: 'EEXIST' });
  await pfs.chmod('/copy', 0o600);
  await pfs.utimes('/copy', 1000, new Date(2_000_000));
  const cs = await pfs.stat('/copy');
  assert.equal(cs.mode & 0o777, 0o600);
  assert.equal(cs.atimeMs, 1_000_000);
  assert.equal(cs.mtimeMs, 2_000_000);
  await pfs.setxattr('/copy', 'user.k', 'v');
  assert.deepEqual(await pfs.listxattr('/copy'), ['user.k']);
  assert.equal((await pfs.getxattr('/copy', 'user.k')).toString(), 'v');
  await assert.rejects(pfs.rm('/a'), { code: 'ERR_FS_EISDIR' });
  await pfs.rm('/a', { recursive: true });
  await pfs.rm('/a', { recursive: true, force: true });
  assert.deepEqual(await pfs.readdir('/'), ['copy']);
  await pfs.unmount();
});

test('streams write and read a file in chunks', async () => {
  const pfs = await fresh();
  const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
  await pipeline(Readable.from(chunks), pfs.createWriteStream('/s.bin'));
  const got: Buffer[] = [];
  for await (const c of pfs.createReadStream('/s.bin', { highWaterMark: 7777 })) got.push(c as Buffer);
  assert.deepEqual(Buffer.concat(got), Buffer.concat(chunks));
  const part: Buffer[] = [];
  for await (const c of pfs.createReadStream('/s.bin', { start: 10, end: 19 })) part.push(c as Buffer);
  assert.deepEqual(Buffer.concat(part), Buffer.alloc(10, 0));
  await pfs.unmount();
});

test('an unlinked file stays readable through its open handle', async () => {
  const pfs = await fresh();
  await pfs.writeFile('/tmp', 'still here');
  const h = await pfs.open('/tmp', 'r');
  await pfs.unlink('/tmp');
  await assert.rejects(pfs.stat('/tmp'), { code: 'ENOENT' });
  assert.equal(await h.readFile('utf8'), 'still here');
  await h.close();
  await pfs.unmount();
});


test('readFile of a sparse file past 2 GiB fails like node:fs (ERR_FS_FILE_TOO_LARGE naming the path), not a bare RangeError', async () => {
  const pfs = await fresh();
  await pfs.writeFile('/big', 'x');
  await pfs.truncate('/big', 3 * 2 ** 30);
  await assert.rejects(pfs.readFile('/big'), (e: Error & { code?: string; path?: string }) => {
    assert.equal(e.code, 'ERR_FS_FILE_TOO_LARGE');
    assert.equal(e.path, '/big');
    assert.match(e.message, /File size \(3221225472\) is greater than 2 GiB, read '\/big'/);
    return true;
  });
  const h = await pfs.open('/big', 'r');
  await assert.rejects(h.readFile(), { code: 'ERR_FS_FILE_TOO_LARGE' });
  await h.close();
  await pfs.unmount({ save: false });
});

test('a read-only mount answers EROFS to every change, saves nothing, and the next mount finds the image as it was', async () => {
  const arena = `/dev/shm/api-readonly-${process.pid}.pram`;
  try {
    let pfs = await mount({ arena, create: { sizeBytes: 16 << 20, overwrite: true }, cmdline: '' });
    await pfs.mkdir('/d');
    await pfs.writeFile('/d/f', 'kept');
    await pfs.unmount();
    const before = fs.readFileSync(arena);
    pfs = await mount({ arena, cmdline: '', readOnly: true, checkpointIntervalMs: 1 });
    assert.equal(await pfs.readFile('/d/f', 'utf8'), 'kept');
    const refused: [string, () => Promise<unknown>][] = [
      ['writeFile', () => pfs.writeFile('/d/f', 'lost')],
      ['create', () => pfs.writeFile('/d/new', 'x')],
      ['open w', () => pfs.open('/d/f', 'r+')],
      ['truncate', () => pfs.truncate('/d/f', 1)],
      ['mkdir', () => pfs.mkdir('/e')],
      ['rename', () => pfs.rename('/d/f', '/d/g')],
      ['unlink', () => pfs.unlink('/d/f')],
      ['rmdir', () => pfs.rmdir('/d')],
      ['chmod', () => pfs.chmod('/d/f', 0o600)],
      ['utimes', () => pfs.utimes('/d/f', 1, 1)],
      ['symlink', () => pfs.symlink('/d/f', '/s')],
      ['link', () => pfs.link('/d/f', '/h')],
      ['setxattr', () => pfs.setxattr('/d/f', 'user.a', Buffer.from('v'))],
    ];
    for (const [what, change] of refused) await assert.rejects(change(), { code: 'EROFS' }, what);
    await pfs.sync();
    await new Promise((r) => setTimeout(r, 50));   // interval checkpoints and background work would run here
    await pfs.unmount();
    assert.ok(fs.readFileSync(arena).equals(before), 'not a byte of the arena changed');
    pfs = await mount({ arena, cmdline: '' });
    assert.deepEqual(await pfs.readdir('/'), ['d']);
    assert.deepEqual(await pfs.readdir('/d'), ['f']);
    assert.equal(await pfs.readFile('/d/f', 'utf8'), 'kept');
    assert.equal((await pfs.stat('/d/f')).mode & 0o777, 0o644);
    await pfs.unmount();
  } finally {
    fs.rmSync(arena, { force: true });
  }
});
