import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Arena, ArenaError } from './arena.js';

const ARENA_JS = fileURLToPath(new URL('./arena.js', import.meta.url));
const dir = fs.mkdtempSync(join(os.tmpdir(), 'pram-arena-'));
let n = 0;
const fresh = () => join(dir, `a${n++}.arena`);
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs an ES module snippet in a fresh node with `Arena` in scope; returns stdout. */
function child(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', `import { Arena } from ${JSON.stringify(ARENA_JS)};\n${code}`], { encoding: 'utf8' });
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    fs.readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

test('data written by one process is read back by another', () => {
  const path = fresh();
  child(`
    const a = Arena.create(${JSON.stringify(path)}, { sizeBytes: 64 * 4096, pageSize: 4096 });
    for (let pfn = 1; pfn < a.pageCount; pfn++) a.page(pfn).fill(pfn & 0xff).writeUInt32LE(pfn * 7919, 8);
    a.sync();
    a.close();
  `);
  const out = child(`
    const a = Arena.open(${JSON.stringify(path)});
    const bad = [];
    for (let pfn = 1; pfn < a.pageCount; pfn++) {
      const p = a.page(pfn);
      if (p[0] !== (pfn & 0xff) || p[4095] !== (pfn & 0xff) || p.readUInt32LE(8) !== pfn * 7919) bad.push(pfn);
    }
    console.log(JSON.stringify({ pages: a.pageCount, bad, kind: a.kind }));
    a.close();
  `);
  assert.deepEqual(JSON.parse(out), { pages: 64, bad: [], kind: 'file' });
  // pfn n lives at byte offset n * pageSize
  assert.equal(readAt(path, 37 * 4096, 1)[0], 37);
  assert.equal(readAt(path, 38 * 4096 - 1, 1)[0], 37);
});

test('an arena file is created with mode 0600 whatever the umask', () => {
  const path = fresh();
  const old = process.umask(0);
  try {
    Arena.create(path, { sizeBytes: 8192, pageSize: 4096 }).close();
  } finally {
    process.umask(old);
  }
  assert.equal(fs.statSync(path).mode & 0o777, 0o600);
});

test('a second opener gets EBUSY naming the path, and nothing is touched', () => {
  const path = fresh();
  const a = Arena.create(path, { sizeBytes: 16 * 4096, pageSize: 4096 });
  a.page(2).fill(0x5a);
  a.sync();
  const before = fs.statSync(path);
  // in this process (a separate open file description)...
  assert.throws(() => Arena.open(path), (e: unknown) => e instanceof ArenaError && e.code === 'EBUSY' && e.message === `arena ${path} is in use by another mount`);
  assert.throws(() => Arena.create(path, { sizeBytes: 8192, pageSize: 4096, overwrite: true }), { code: 'EBUSY' });
  // ...and from another process
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { Arena } from ${JSON.stringify(ARENA_JS)}; try { Arena.open(${JSON.stringify(path)}); } catch (e) { console.log(e.code); }`], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'EBUSY');
  const after = fs.statSync(path);
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.equal(readAt(path, 2 * 4096, 1)[0], 0x5a);
  a.close();
  // closing releases the lock
  const b = Arena.open(path);
  assert.equal(b.page(2)[100], 0x5a);
  b.close();
});

test('segments: pages never straddle one, runs do not cross one, offsets stay n * pageSize', () => {
  const path = fresh();
  const a = Arena.create(path, { sizeBytes: 10 * 4096, pageSize: 4096, maxSegmentBytes: 4 * 4096 });
  assert.equal(a.segmentCount, 3);
  assert.equal(a.pageCount, 10);
  for (let pfn = 0; pfn < 10; pfn++) a.page(pfn).fill(pfn + 1);
  assert.equal(a.run(2, 2)!.length, 2 * 4096);
  assert.equal(a.run(3, 2), null);
  assert.equal(a.run(4, 4)![4 * 4096 - 1], 8);
  assert.equal(a.run(7, 2), null);
  assert.equal(a.run(8, 2)!.length, 2 * 4096);
  assert.equal(a.run(8, 3), null);
  assert.throws(() => a.page(10), RangeError);
  assert.equal(a.present(9), true);
  assert.equal(a.present(10), false);
  a.sync();
  a.close();
  for (let pfn = 0; pfn < 10; pfn++) assert.equal(readAt(path, pfn * 4096 + 4095, 1)[0], pfn + 1, `pfn ${pfn}`);
  // the same bytes through one large segment
  const b = Arena.open(path, { pageSize: 4096 });
  assert.equal(b.segmentCount, 1);
  assert.equal(b.run(3, 2)![4096], 5);
  b.close();
  // a segment size that is not a multiple of the page size is refused
  assert.throws(() => Arena.open(path, { pageSize: 8192, maxSegmentBytes: 3 * 4096 }), { code: 'EINVAL' });
});

test('setPageSize regroups the same mapping', () => {
  const path = fresh();
  const a = Arena.create(path, { sizeBytes: 8 * 4096, pageSize: 4096 });
  a.page(1).fill(7);
  a.setPageSize(1024);
  assert.equal(a.pageCount, 32);
  assert.equal(a.page(4)[0], 7);
  assert.equal(a.page(3)[0], 0);
  a.setPageSize(16384);
  assert.equal(a.pageCount, 2);
  assert.equal(a.page(0)[4096], 7);
  a.close();
});

test('close empties every view and releases the file', () => {
  const path = fresh();
  const a = Arena.create(path, { sizeBytes: 4 * 4096, pageSize: 4096 });
  const view = a.page(1);
  view[0] = 1;
  a.close();
  assert.equal(view.length, 0);
  assert.equal(view[0], undefined);
  assert.throws(() => a.page(1));
  a.close(); // idempotent
});

test('create refuses an existing file unless asked, and overwrite zeroes it', () => {
  const path = fresh();
  const a = Arena.create(path, { sizeBytes: 4 * 4096, pageSize: 4096 });
  a.page(1).fill(3);
  a.close();
  assert.throws(() => Arena.create(path, { sizeBytes: 4 * 4096, pageSize: 4096 }), (e: unknown) =>
    e instanceof ArenaError && e.code === 'EEXIST' && e.message.includes(path));
  assert.equal(readAt(path, 4096, 1)[0], 3);
  const b = Arena.create(path, { sizeBytes: 8 * 4096, pageSize: 4096, overwrite: true });
  assert.equal(b.pageCount, 8);
  assert.equal(b.page(1)[0], 0);
  b.close();
});

test('memfd arena: created, mapped, locked, and reopened from its fd', () => {
  const a = Arena.memfd('pram-test', 16 * 4096);
  assert.equal(a.kind, 'memfd');
  assert.equal(a.path, 'memfd:pram-test');
  assert.equal(a.pageCount, 16);
  assert.equal(fs.fstatSync(a.fd).size, 16 * 4096);
  a.page(15).fill(0xee);
  // a second open file description of the same memfd cannot take it
  const fd2 = fs.openSync(`/proc/self/fd/${a.fd}`, 'r+');
  assert.throws(() => Arena.fromFd(fd2, { kind: 'memfd', path: 'luo:test' }), { code: 'EBUSY', message: 'arena luo:test is in use by another mount' });
  a.close();
  const b = Arena.fromFd(fd2, { kind: 'memfd', path: 'luo:test' });
  assert.equal(b.kind, 'memfd');
  assert.equal(b.pageCount, 16);
  assert.equal(b.page(15)[4095], 0xee);
  b.close();
});

test('writeAt/readAt move bytes through the fd, coherent with the mapping, across segments; false past the end or once closed', () => {
  for (const make of [() => Arena.create(fresh(), { sizeBytes: 32 * 4096, pageSize: 4096, maxSegmentBytes: 8 * 4096, prefault: false }),
    () => Arena.memfd('pram-arena-test-fdio', 32 * 4096, { pageSize: 4096, maxSegmentBytes: 8 * 4096, prefault: false })]) {
    const a = make();
    const src = Buffer.alloc(5 * 4096 + 300);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7 + 3) & 0xff;
    // pfn 6 + 100 bytes .. pfn 11: crosses the segment boundary at pfn 8.
    assert.equal(a.writeAt(6 * 4096 + 100, src, 0, src.length), true);
    assert.deepEqual(a.page(6).subarray(100, 4096), src.subarray(0, 4096 - 100), 'the mapping shows what the fd wrote');
    assert.deepEqual(a.page(9), src.subarray(3 * 4096 - 100, 4 * 4096 - 100));
    a.page(10).fill(0xab, 0, 50);
    const back = Buffer.alloc(src.length + 10);
    assert.equal(a.readAt(6 * 4096 + 100, back, 10, src.length), true);
    assert.deepEqual(back.subarray(10 + 4 * 4096 - 100, 10 + 4 * 4096 - 50), Buffer.alloc(50, 0xab), 'the fd shows what the mapping wrote');
    assert.deepEqual(back.subarray(10, 10 + 4096), src.subarray(0, 4096));
    assert.equal(a.readAt(32 * 4096 - 10, back, 0, 20), false, 'past the end: not read');
    a.close();
    assert.equal(a.writeAt(4096, src, 0, 10), false, 'closed: no fd');
    assert.equal(a.readAt(4096, back, 0, 10), false);
  }
});

test('bad paths give clear errors with codes', () => {
  const missingDir = join(dir, 'no-such-dir', 'x.arena');
  assert.throws(() => Arena.create(missingDir, { sizeBytes: 8192, pageSize: 4096 }), (e: unknown) =>
    e instanceof ArenaError && e.code === 'ENOENT' && e.message.includes(missingDir));
  assert.throws(() => Arena.open(join(dir, 'missing.arena')), { code: 'ENOENT' });
  assert.throws(() => Arena.open(dir), { code: 'EISDIR' });
  const link = join(dir, 'link.arena');
  const target = fresh();
  Arena.create(target, { sizeBytes: 8192, pageSize: 4096 }).close();
  fs.symlinkSync(target, link);
  assert.throws(() => Arena.create(link, { sizeBytes: 8192, pageSize: 4096, overwrite: true }), { code: 'ELOOP' });
  assert.throws(() => Arena.create(fresh(), { sizeBytes: 5000, pageSize: 4096 }), { code: 'EINVAL' });
  assert.throws(() => Arena.create(fresh(), { sizeBytes: 8192, pageSize: 3000 }), { code: 'EINVAL' });
  // too small for two pages
  const tiny = fresh();
  fs.writeFileSync(tiny, Buffer.alloc(4096), { mode: 0o600 });
  assert.throws(() => Arena.open(tiny), { code: 'EINVAL' });
  // a character device without a known size
  assert.throws(() => Arena.open('/dev/null'), { code: 'EINVAL' });
});

test('an arena writable by group or others is refused with EACCES', () => {
  const path = fresh();
  Arena.create(path, { sizeBytes: 8192, pageSize: 4096 }).close();
  fs.chmodSync(path, 0o620);
  assert.throws(() => Arena.open(path), (e: unknown) => e instanceof ArenaError && e.code === 'EACCES' && /mode 0620/.test(e.message));
  fs.chmodSync(path, 0o600);
  Arena.open(path).close();
});

test('an arena owned by another user is refused with EPERM', (t) => {
  if (process.geteuid?.() !== 0) return t.skip('needs root to chown');
  const path = fresh();
  Arena.create(path, { sizeBytes: 8192, pageSize: 4096 }).close();
  fs.chownSync(path, 65534, 65534);
  assert.throws(() => Arena.open(path), (e: unknown) => e instanceof ArenaError && e.code === 'EPERM' && e.message.includes('uid 65534'));
});

test('block device arena: size from BLKGETSIZE64, sync reaches the device', (t) => {
  if (process.geteuid?.() !== 0) return t.skip('needs root for a loop device');
  const img = fresh();
  fs.writeFileSync(img, Buffer.alloc(256 * 1024));
  let loop: string;
  try {
    loop = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
  } catch {
    return t.skip('no loop devices here');
  }
  try {
    const a = Arena.open(loop, { pageSize: 4096 });
    assert.equal(a.kind, 'blockdev');
    assert.equal(a.sizeBytes, 256 * 1024);
    assert.equal(a.pageCount, 64);
    a.page(63).fill(0x77);
    a.sync();
    a.close();
  } finally {
    execFileSync('losetup', ['-d', loop]);
  }
  assert.equal(readAt(img, 63 * 4096 + 10, 1)[0], 0x77);
});

// V8 collects the whole heap when its external-memory count grows 64 MB at once; a
// mapping is taken off that count (pram_native.c), which holds only for mappings under
// 64 MB: 16 MiB segments by default. A mount of a large arena paid one such GC each.
test('mapping a 1 GiB arena page by page in default segments runs no major GC; one 1 GiB segment does', () => {
  const path = fresh();
  fs.writeFileSync(path, '');
  fs.truncateSync(path, 1 << 30); // sparse: mapping costs no memory
  const majorGcs = (segment: string) => Number(child(`
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    let major = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
    const a = Arena.open(${JSON.stringify(path)}, { pageSize: 4096${segment} });
    for (let pfn = 0; pfn < a.pageCount; pfn += 4096) a.page(pfn)[0] = 1;
    await new Promise((r) => setTimeout(r, 300));
    a.close();
    await new Promise((r) => setTimeout(r, 100));
    console.log(major);`).trim());
  assert.equal(majorGcs(''), 0);
  assert.ok(majorGcs(', maxSegmentBytes: 1 << 30') >= 1, 'the control (one mapping over 64 MB) shows the GC this test looks for');
});

test('a page size above the default segment gets segments of one page, also when the header sets it after open', () => {
  const path = fresh();
  const big = 64 << 20;
  Arena.create(path, { sizeBytes: 4 * big, pageSize: big, prefault: false }).close();
  const a = Arena.open(path, { pageSize: 4096 });
  a.page(0).writeUInt32LE(0xfeed, 0);
  a.setPageSize(big);
  assert.equal(a.maxSegmentBytes, big);
  assert.equal(a.pageCount, 4);
  assert.equal(a.page(0).readUInt32LE(0), 0xfeed);
  a.page(3).writeUInt32LE(7, big - 4);
  a.close();
  assert.equal(readAt(path, 4 * big - 4, 4).readUInt32LE(0), 7);
});

/** This process's resident shared-memory pages (tmpfs mappings), in bytes. */
function rssShmem(): number {
  const m = /RssShmem:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  assert.ok(m, 'RssShmem in /proc/self/status');
  return Number(m[1]) * 1024;
}

test('create fallocates every page but maps none (data goes through the fd); prefault: true maps them all', () => {
  const SIZE = 64 << 20;
  for (const prefault of [undefined, true]) {
    const path = `/dev/shm/libwrite-arena-test-${process.pid}.arena`;
    try {
      const before = rssShmem();
      const a = Arena.create(path, { sizeBytes: SIZE, pageSize: 4096, prefault });
      const mapped = rssShmem() - before;
      assert.ok(fs.fstatSync(a.fd).blocks * 512 >= SIZE, 'every page allocated');
      if (prefault) assert.ok(mapped >= SIZE * 0.9, `prefault: every page mapped (${mapped} bytes)`);
      else assert.ok(mapped < SIZE / 8, `no pre-touch: ${mapped} bytes mapped`);
      const b = Buffer.alloc(8192, 0x5a);
      assert.ok(a.writeAt(SIZE - 8192, b, 0, b.length), 'a write through the fd');
      assert.ok(a.page(SIZE / 4096 - 1).equals(b.subarray(4096)), 'the mapping shows it');
      a.close();
    } finally {
      fs.rmSync(path, { force: true });
    }
  }
});

test('close: every view is empty and the lock is released at once, though the unmapping runs on a thread', () => {
  const path = fresh();
  for (let round = 0; round < 20; round++) {
    const a = round === 0 ? Arena.create(path, { sizeBytes: 64 * 4096, pageSize: 4096, maxSegmentBytes: 8 * 4096 }) : Arena.open(path, { maxSegmentBytes: 8 * 4096 });
    const views = [a.page(1), a.page(20), a.page(63)];
    views[1]![0] = round;
    a.close();
    for (const v of views) assert.equal(v.length, 0, 'a view taken before close is empty after it');
    // Reopened at once: the old mappings (still held by the unmapping thread) hold no lock.
    const b = Arena.open(path, { maxSegmentBytes: 8 * 4096 });
    assert.equal(b.page(20)[0], round, 'what was written through the closed mapping is in the file');
    b.close();
  }
});
