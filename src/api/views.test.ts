// The library's read path: reads into the caller's buffer, readFile, streams,
// and zero-copy views (pfs.view, FileHandle.view) with their lifetime rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import type { PramFs } from './pramfs.js';

const PS = 4096;

async function fresh(): Promise<PramFs> {
  return mount({ arena: 'memfd:reads-api-test', create: { sizeBytes: 32 << 20 }, cmdline: '' });
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed * 31 + (i >> 10)) & 0xff;
  return b;
}

test('FileHandle.read copies into the caller\'s buffer at its offset; a range past the buffer is ERR_OUT_OF_RANGE', async () => {
  const pfs = await fresh();
  const data = pattern(3 * PS + 11, 1);
  await pfs.writeFile('/f', data);
  await using h = await pfs.open('/f');
  const buf = Buffer.alloc(PS + 20, 0xaa);
  const r = await h.read(buf, 10, PS, PS - 5);
  assert.equal(r.bytesRead, PS);
  assert.equal(r.buffer, buf);
  assert.deepEqual(buf.subarray(10, 10 + PS), data.subarray(PS - 5, 2 * PS - 5));
  assert.deepEqual(buf.subarray(0, 10), Buffer.alloc(10, 0xaa));
  assert.equal((await h.read(buf, 0, 100, 3 * PS)).bytesRead, 11, 'short at EOF');
  await assert.rejects(h.read(buf, 10, buf.length), { code: 'ERR_OUT_OF_RANGE' });
  const u8 = new Uint8Array(8);
  assert.equal((await h.read({ buffer: u8, position: 0 })).bytesRead, 8);
  assert.deepEqual(Buffer.from(u8), data.subarray(0, 8));
  const u8b = new Uint8Array(16);
  assert.equal((await h.read(u8b, 4, 8, 1)).buffer, u8b, 'a plain Uint8Array is a buffer, not options');
  assert.deepEqual(Buffer.from(u8b.subarray(4, 12)), data.subarray(1, 9));
  const chunks: Buffer[] = [];
  for await (const c of pfs.createReadStream('/f', { start: 3, highWaterMark: 1000 })) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), data.subarray(3));
  assert.deepEqual(await pfs.readFile('/f'), data);
  await pfs.unmount();
});

test('views: pfs.view and FileHandle.view show the bytes without a copy; writes never change a live view', async () => {
  const pfs = await fresh();
  const data = pattern(64 * PS, 2);
  await pfs.writeFile('/big', data);
  using v = await pfs.view('/big', { offset: PS, length: 8 * PS });
  assert.equal(v.offset, PS);
  assert.equal(v.length, 8 * PS);
  assert.equal(v.buffers.length, 1, 'a file written front to back is one run');
  assert.deepEqual(v.buffers[0], data.subarray(PS, 9 * PS));
  const h = await pfs.open('/big', 'r+');
  const hv = await h.view();
  assert.equal(hv.length, data.length, 'default: the whole file');
  await h.write(Buffer.alloc(PS, 0x55), 0, PS, 2 * PS);
  await pfs.truncate('/big', 3 * PS);
  assert.deepEqual(Buffer.concat(v.buffers as Buffer[]), data.subarray(PS, 9 * PS), 'the pfs view is unchanged');
  assert.deepEqual(Buffer.concat(hv.buffers as Buffer[]), data, 'the handle view is unchanged');
  const now = await pfs.readFile('/big');
  assert.equal(now.length, 3 * PS);
  assert.deepEqual(now.subarray(2 * PS), Buffer.alloc(PS, 0x55));
  // Closing the handle releases its views; a released view stays released.
  await h.close();
  assert.equal(hv.released, true);
  hv.release();
  await assert.rejects(pfs.view('/'), { code: 'EISDIR' });
  await assert.rejects(pfs.view('/nope'), { code: 'ENOENT' });
  const w = await pfs.open('/big', 'w');
  await assert.rejects(w.view(), { code: 'EBADF' });
  await w.close();
  await pfs.unmount();
  assert.equal(v.buffers[0]!.length, 0, 'unmount unmaps the arena: a view still held is empty (detached), never stale memory');
});

test('views pin pages only while they live: after release (and close) the free pool is whole again', async () => {
  const pfs = await fresh();
  await pfs.writeFile('/f', pattern(32 * PS, 3));
  await pfs.sync();
  const free = () => pfs.volume.statfs().bfree;
  const base = free();
  for (let round = 0; round < 3; round++) {
    const h = await pfs.open('/f', 'r+');
    const views = [await h.view(), await h.view(0, 4 * PS), await pfs.view('/f')];
    await h.write(pattern(32 * PS, 4 + round), 0, 32 * PS, 0);   // every viewed page copied
    await pfs.sync();
    assert.ok(free() <= base - 32, `round ${round}: the old pages are held by the views (${base - free()} held)`);
    views[2]!.release();
    await h.close();                                              // releases the other two
    assert.equal(free(), base, `round ${round}: every pinned page is back`);
  }
  await pfs.unmount();
});

test('lazy mount with a flipped bit: readFile and views over it are EIO (never short), reads before the damage work', async () => {
  const arena = `/dev/shm/reads-api-lazy-${process.pid}.pram`;
  try {
    let pfs = await mount({ arena, create: { sizeBytes: 16 << 20, overwrite: true }, cmdline: '' });
    const data = pattern(4 * PS, 5);
    await pfs.writeFile('/f', data);
    const ino = (await pfs.stat('/f')).ino;
    const pfn = pfs.volume.images().find((i) => i.ino === ino)!.pages.get(2);
    await pfs.unmount();
    const fd = fs.openSync(arena, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, pfn * PS + 123);
    b[0]! ^= 4;
    fs.writeSync(fd, b, 0, 1, pfn * PS + 123);
    fs.closeSync(fd);
    pfs = await mount({ arena, cmdline: '', verify: 'lazy' });
    await assert.rejects(pfs.readFile('/f'), { code: 'EIO', syscall: 'read', path: '/f' });
    await using h = await pfs.open('/f');
    const buf = Buffer.alloc(4 * PS);
    assert.equal((await h.read(buf, 0, 4 * PS, 0)).bytesRead, 2 * PS);
    assert.deepEqual(buf.subarray(0, 2 * PS), data.subarray(0, 2 * PS));
    await assert.rejects(h.read(buf, 0, PS, 2 * PS), { code: 'EIO' });
    await assert.rejects(pfs.view('/f', { offset: 2 * PS }), { code: 'EIO' });
    await assert.rejects(pfs.view('/f'), { code: 'EIO' }, 'a view is whole or nothing');
    using before = await pfs.view('/f', { length: 2 * PS });
    assert.deepEqual(before.buffers[0], data.subarray(0, 2 * PS));
    await h.close();
    await pfs.unmount({ save: false });
  } finally {
    fs.rmSync(arena, { force: true });
  }
});
