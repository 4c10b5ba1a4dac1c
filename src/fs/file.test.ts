// Regular-file content: reads, writes, holes, truncate, fallocate, seek, bounds, ENOSPC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EFBIG, EINVAL, EISDIR, ENOSPC, ENXIO, EOPNOTSUPP } from '../format/errno.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, S_IFREG, SEEK_DATA, SEEK_HOLE } from './mode.js';
import { ino, ok, remount, simVolume } from './testkit.js';
import { Owner } from '../boot/frames.js';

const PS = 4096;

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

function newFile(name = 'f') {
  const s = simVolume();
  const f = ino(s.vol.mknod(1, name, S_IFREG | 0o644, 0, 0, 0));
  return { ...s, f };
}

test('write then read back at unaligned offsets across pages', () => {
  const { vol, f } = newFile();
  const data = pattern(3 * PS + 123, 1);
  assert.equal(vol.write(f, 1000, data), data.length);
  assert.equal(ok(vol.getattr(f)).size, 1000 + data.length);
  assert.deepEqual(ok(vol.read(f, 1000, data.length)), data);
  assert.deepEqual(ok(vol.read(f, 0, 1000)), Buffer.alloc(1000));
  const part = ok(vol.read(f, 5000, 10));
  assert.deepEqual(part, data.subarray(4000, 4010));
});

test('read is short at EOF and empty past it', () => {
  const { vol, f } = newFile();
  vol.write(f, 0, Buffer.from('hello'));
  assert.equal(ok(vol.read(f, 2, 100)).toString(), 'llo');
  assert.equal(ok(vol.read(f, 99, 10)).length, 0);
});

test('holes are not stored and read as zeros', () => {
  const { vol, f } = newFile();
  const far = 1024 ** 3; // 1 GiB in
  vol.write(f, far, Buffer.from('x'));
  const a = ok(vol.getattr(f));
  assert.equal(a.size, far + 1);
  assert.equal(a.blocks, PS / 512, 'one page stored');
  assert.deepEqual(ok(vol.read(f, far - 3, 4)), Buffer.from([0, 0, 0, 0x78]));
});

test('SEEK_DATA and SEEK_HOLE find the stored pages', () => {
  const { vol, f } = newFile();
  vol.write(f, 10 * PS, pattern(2 * PS, 2));
  vol.write(f, 20 * PS + 5, Buffer.from('z'));
  assert.equal(vol.seek(f, 0, SEEK_DATA), 10 * PS);
  assert.equal(vol.seek(f, 10 * PS + 7, SEEK_DATA), 10 * PS + 7);
  assert.equal(vol.seek(f, 10 * PS, SEEK_HOLE), 12 * PS);
  assert.equal(vol.seek(f, 13 * PS, SEEK_DATA), 20 * PS);
  assert.equal(vol.seek(f, 20 * PS, SEEK_HOLE), 20 * PS + 6, 'the end of file is a hole');
  assert.equal(vol.seek(f, 20 * PS + 6, SEEK_DATA), -ENXIO);
  assert.equal(vol.seek(f, -1, SEEK_HOLE), -ENXIO);
});

test('truncate down zeroes the cut tail, so extending again reads zeros', () => {
  const { vol, f } = newFile();
  vol.write(f, 0, pattern(2 * PS, 3));
  ok(vol.setattr(f, { size: 100 }));
  assert.equal(ok(vol.getattr(f)).blocks, PS / 512, 'second page freed');
  ok(vol.setattr(f, { size: 2 * PS }));
  const back = ok(vol.read(f, 0, 2 * PS));
  assert.deepEqual(back.subarray(0, 100), pattern(2 * PS, 3).subarray(0, 100));
  assert.deepEqual(back.subarray(100), Buffer.alloc(2 * PS - 100));
});

test('fallocate mode 0 allocates and extends; KEEP_SIZE keeps the size', () => {
  const { vol, f } = newFile();
  assert.equal(vol.fallocate(f, 0, 0, 3 * PS), 0);
  let a = ok(vol.getattr(f));
  assert.equal(a.size, 3 * PS);
  assert.equal(a.blocks, 3 * PS / 512);
  assert.deepEqual(ok(vol.read(f, 0, 3 * PS)), Buffer.alloc(3 * PS));
  assert.equal(vol.fallocate(f, FALLOC_FL_KEEP_SIZE, 3 * PS, 2 * PS), 0);
  a = ok(vol.getattr(f));
  assert.equal(a.size, 3 * PS);
  assert.equal(a.blocks, 5 * PS / 512);
});

test('fallocate PUNCH_HOLE frees whole pages and zeroes partial ends', () => {
  const { vol, f } = newFile();
  const data = pattern(4 * PS, 4);
  vol.write(f, 0, data);
  assert.equal(vol.fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PS - 10, 2 * PS + 20), 0);
  const a = ok(vol.getattr(f));
  assert.equal(a.size, 4 * PS);
  assert.equal(a.blocks, 2 * PS / 512, 'pages 1 and 2 freed, pages 0 and 3 zeroed in part');
  const back = ok(vol.read(f, 0, 4 * PS));
  const expect = Buffer.from(data);
  expect.fill(0, PS - 10, 3 * PS + 10);
  assert.deepEqual(back, expect);
  assert.equal(vol.fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 1), -EOPNOTSUPP, 'punch needs KEEP_SIZE');
  assert.equal(vol.fallocate(f, 0x40, 0, 1), -EOPNOTSUPP);
});

test('bounds: negative offsets are EINVAL, past 2^53 EFBIG', () => {
  const { vol, f } = newFile();
  assert.equal(vol.write(f, -1, Buffer.from('a')), -EINVAL);
  assert.equal(vol.read(f, -1, 1), -EINVAL);
  assert.equal(vol.write(f, 2 ** 53 - 1, Buffer.from('ab')), -EFBIG);
  assert.equal(vol.setattr(f, { size: -5 }), -EINVAL);
  assert.equal(vol.fallocate(f, 0, 0, 0), -EINVAL);
  assert.equal(vol.fallocate(f, 0, 2 ** 53 - 2, 10), -EFBIG);
});

test('content ops on a directory are EISDIR', () => {
  const { vol } = newFile();
  assert.equal(vol.read(1, 0, 10), -EISDIR);
  assert.equal(vol.write(1, 0, Buffer.from('a')), -EISDIR);
  assert.equal(vol.setattr(1, { size: 0 }), -EISDIR);
});

for (const arena of [false, true]) test(`ENOSPC: a write writes what fits, then ENOSPC; every earlier file is intact after remount (${arena ? 'memfd arena' : 'SimRam'})`, () => {
  let s = simVolume({ pageCount: 64, arena });
  const { vol } = s;
  const early = ino(vol.mknod(1, 'early', S_IFREG | 0o600, 0, 0, 0));
  const earlyData = pattern(5 * PS + 7, 5);
  assert.equal(vol.write(early, 0, earlyData), earlyData.length);
  const big = ino(vol.mknod(1, 'big', S_IFREG | 0o600, 0, 0, 0));
  const huge = pattern(200 * PS, 6);
  const n = vol.write(big, 0, huge);
  assert.ok(n > 0 && n < huge.length && n % PS === 0, `partial write of whole pages, got ${n}`);
  assert.equal(vol.write(big, n, huge.subarray(n)), -ENOSPC);
  const free = vol.statfs().bfree;
  assert.equal(vol.fallocate(big, 0, n, 10 * PS), -ENOSPC);
  assert.equal(vol.statfs().bfree, free, 'a failed fallocate gives back what it took');
  // Make room for the checkpoint's metadata, then save and mount again.
  ok(vol.setattr(big, { size: n - 8 * PS }));
  s = remount(s);
  const e2 = ok(s.vol.lookup(1, 'early'));
  assert.deepEqual(ok(s.vol.read(e2.ino, 0, e2.size)), earlyData);
  const b2 = ok(s.vol.lookup(1, 'big'));
  assert.equal(b2.size, n - 8 * PS);
  assert.deepEqual(ok(s.vol.read(b2.ino, 0, b2.size)), huge.subarray(0, n - 8 * PS));
  s.vol.unmount();
  s.ram.close();
});

test('data written before a remount can be overwritten after it (copy-on-write of saved pages)', () => {
  let s = simVolume();
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  s.vol.write(f, 0, pattern(3 * PS, 7));
  s = remount(s);
  const g = ok(s.vol.lookup(1, 'f')).ino;
  s.vol.write(g, PS, Buffer.from('new bytes'));
  const expect = pattern(3 * PS, 7);
  Buffer.from('new bytes').copy(expect, PS);
  assert.deepEqual(ok(s.vol.read(g, 0, 3 * PS)), expect);
  s = remount(s);
  const h = ok(s.vol.lookup(1, 'f')).ino;
  assert.deepEqual(ok(s.vol.read(h, 0, 3 * PS)), expect);
});

test('a full volume still saves: what was admitted fits the checkpoint, and the one after it', () => {
  let s = simVolume({ pageCount: 48 });
  let made = 0;
  for (let i = 0; ; i++) {
    const f = s.vol.mknod(1, `f${i}`, S_IFREG | 0o644, 0, 0, 0);
    if (typeof f === 'number') { assert.equal(f, -ENOSPC); break; }
    const n = s.vol.write(f.ino, 0, pattern(4 * PS, i));
    assert.ok(n === 4 * PS || n === -ENOSPC || (n > 0 && n % PS === 0), `write ${i}: ${n}`);
    if (n !== 4 * PS) { assert.equal(s.vol.unlink(1, `f${i}`), 0); break; }
    made++;
  }
  assert.ok(made >= 4, `${made} files`);
  assert.equal(s.vol.statfs().bfree, s.vol.statfs().bavail);
  assert.ok(s.vol.statfs().bavail < 6, 'the volume is full');
  assert.equal(s.vol.sync(), 0, 'the first checkpoint fits');
  assert.equal(s.vol.sync(), 0, 'and the one after it, with the first still holding its pages');
  // Overwriting a checkpointed page copies it: admitted only while the copy fits.
  let w = 0;
  for (let i = 0; i < made; i++) { const r = s.vol.write(s.vol.resolve(`/f${i}`), 0, pattern(PS, 100 + i)); if (r < 0) { assert.equal(r, -ENOSPC); break; } w++; }
  s = remount(s);   // throws unless unmount saved
  for (let i = 0; i < made; i++) {
    const f = s.vol.resolve(`/f${i}`);
    const want = pattern(4 * PS, i);
    if (i < w) want.set(pattern(PS, 100 + i), 0);
    assert.deepEqual(ok(s.vol.read(f, 0, 4 * PS)), want, `f${i}`);
  }
});

test('a full volume refuses mknod, link, xattr growth and fallocate with ENOSPC, changing nothing', () => {
  const s = simVolume({ pageCount: 48 });
  const big = ino(s.vol.mknod(1, 'big', S_IFREG | 0o644, 0, 0, 0));
  while (s.vol.write(big, ok(s.vol.getattr(big)).size, pattern(PS, 1)) > 0);
  // Names until one does not fit: mknod and link cost the same (a record page and its entry).
  let made = 0;
  while (typeof s.vol.mknod(1, `n${made}`, S_IFREG | 0o644, 0, 0, 0) !== 'number') made++;
  assert.equal(s.vol.mknod(1, 'x', S_IFREG | 0o644, 0, 0, 0), -ENOSPC);
  assert.equal(s.vol.resolve('/x'), -2, 'no half-made node');
  assert.equal(s.vol.link(big, 1, 'l'), -ENOSPC);
  assert.equal(ok(s.vol.getattr(big)).nlink, 1);
  assert.equal(s.vol.setxattr(big, 'user.big', Buffer.alloc(8000, 1), 0), -ENOSPC, 'an xattr needing its own pages');
  assert.equal(s.vol.getxattr(big, 'user.big'), -61 /* ENODATA */);
  const size = ok(s.vol.getattr(big)).size;
  assert.equal(s.vol.fallocate(big, 0, size, 4 * PS), -ENOSPC);
  assert.equal(ok(s.vol.getattr(big)).size, size, 'fallocate left nothing half-done');
  assert.equal(s.vol.unmount(), 0);
});

test('room taken outside the ledger: unmount fails with ENOSPC and keeps the volume mounted', () => {
  const s = simVolume({ pageCount: 48 });
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  assert.equal(s.vol.write(f, 0, pattern(2 * PS, 3)), 2 * PS);
  // Something beside the fs (the simulated machine's kernel) takes every free page.
  const pram = s.vol.pram!;
  while (pram.allocator.alloc(Owner.Reserved) >= 0);
  assert.equal(s.vol.statfs().bavail, 0);
  assert.equal(s.vol.unmount(), -ENOSPC);
  assert.ok(s.vol.isMounted, 'still mounted');
});
