import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as native from './native.js';

const NATIVE_JS = fileURLToPath(new URL('./native.js', import.meta.url));

test('a shared mapping of a memfd sees and makes writes through the fd', () => {
  const fd = native.memfdCreate('native-test');
  try {
    fs.ftruncateSync(fd, 2 * native.pagesize());
    const m = native.mmap(fd, 0, 2 * native.pagesize(), true);
    m[native.pagesize() + 1] = 0x42;
    native.msync(m, native.pagesize(), 2, true); // an unaligned range inside the mapping
    native.madvise(m, 0, m.length, native.constants.MADV_WILLNEED);
    const r = Buffer.alloc(1);
    fs.readSync(fd, r, 0, 1, native.pagesize() + 1);
    assert.equal(r[0], 0x42);
    fs.writeSync(fd, Buffer.from([0x17]), 0, 1, 5);
    assert.equal(m[5], 0x17);
    const view = m.subarray(100, 200);
    native.munmap(m);
    assert.equal(m.length, 0);
    assert.equal(view.length, 0);
    native.munmap(m); // a second munmap is harmless
  } finally {
    fs.closeSync(fd);
  }
});

test('syscall failures carry code, errno and syscall', () => {
  assert.throws(() => native.flock(987654, native.constants.LOCK_EX), { code: 'EBADF', errno: -9, syscall: 'flock' });
  assert.throws(() => native.mmap(987654, 0, 4096, false), { code: 'EBADF', syscall: 'mmap' });
  assert.throws(() => native.mmap(0, 0, 4 * 1024 ** 3 + 4096, false), { code: 'EINVAL' });
  assert.throws(() => native.munmap(Buffer.alloc(4096)), { code: 'EINVAL', syscall: 'munmap' });
  const fd = fs.openSync('/dev/null', 'r');
  try {
    assert.throws(() => native.ioctl(fd, native.constants.BLKGETSIZE64, Buffer.alloc(8)), { code: 'ENOTTY', syscall: 'ioctl' });
  } finally {
    fs.closeSync(fd);
  }
  const m = native.mmap(native.memfdCreate('range'), 0, 4096, true);
  assert.throws(() => native.msync(m, 4000, 200, true), { code: 'EINVAL' });
  assert.throws(() => native.mmap(-1, 0, 4096, true), { code: 'EBADF' });
  assert.throws(() => native.fallocate(-1, 0, 0, 4096), { code: 'EBADF', syscall: 'fallocate' });
});

test('a held flock gives EWOULDBLOCK to a second open file description', () => {
  const fd = native.memfdCreate('lock');
  const fd2 = fs.openSync(`/proc/self/fd/${fd}`, 'r+');
  try {
    native.flock(fd, native.constants.LOCK_EX | native.constants.LOCK_NB);
    assert.throws(() => native.flock(fd2, native.constants.LOCK_EX | native.constants.LOCK_NB), { code: 'EWOULDBLOCK', syscall: 'flock' });
    native.flock(fd, native.constants.LOCK_UN);
    native.flock(fd2, native.constants.LOCK_EX | native.constants.LOCK_NB);
  } finally {
    fs.closeSync(fd2);
    fs.closeSync(fd);
  }
});

test('collected mappings, unmapped or not, never crash node', () => {
  // A fresh process with --expose-gc: map, unmap some explicitly, drop all, collect, map again.
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', `
    import * as n from ${JSON.stringify(NATIVE_JS)};
    import * as fs from 'node:fs';
    const fd = n.memfdCreate('gc'); fs.ftruncateSync(fd, 1 << 20);
    for (let round = 0; round < 20; round++) {
      let maps = [];
      for (let i = 0; i < 50; i++) { const m = n.mmap(fd, 0, 1 << 20, true); m[i] = i; maps.push(m); if (i % 2) n.munmap(m); }
      maps = null;
      globalThis.gc();
      await new Promise((r) => setImmediate(r));
    }
    const last = n.mmap(fd, 0, 1 << 20, false);
    console.log(last[48], last[49]);
  `], { encoding: 'utf8' });
  assert.equal(out.trim(), '48 49');
});

test('writevOrErrno and pwriteOrErrno write what they are given and answer -errno, never throw, for a bad fd', () => {
  const fd = native.memfdCreate('pram-native-test-writev');
  try {
    assert.equal(native.writevOrErrno(fd, [Buffer.from('ab'), new Uint8Array([99]), Buffer.alloc(0)]), 3);
    assert.equal(native.pwriteOrErrno(fd, Buffer.from('xyz!'), 1, 2, 5), 2);
    const back = Buffer.alloc(7);
    assert.equal(fs.readSync(fd, back, 0, 7, 0), 7);
    assert.deepEqual([...back], [97, 98, 99, 0, 0, 121, 122]);
    assert.throws(() => native.pwriteOrErrno(fd, Buffer.alloc(4), 2, 3, 0), { code: 'ERR_OUT_OF_RANGE' }, 'past the buffer: a RangeError, not a stray read');
    assert.throws(() => native.writevOrErrno(fd, ['text' as unknown as Uint8Array]), { code: 'ERR_INVALID_ARG_TYPE' });
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(native.writevOrErrno(fd, [Buffer.from('a')]), -9, 'EBADF as a value');
  assert.equal(native.pwriteOrErrno(fd, Buffer.from('a'), 0, 1, 0), -9);
});

test('page tables: zeroed, exactly the size asked (huge-page memory from 1 MiB); collected ones are unmapped and never crash node', () => {
  for (const bytes of [4096, (1 << 20) - 1, 1 << 20, (3 << 20) + 5]) {
    const t = new Uint8Array(native.pageTable(bytes));
    assert.equal(t.length, bytes);
    assert.ok(t.every((x) => x === 0), `${bytes} bytes zeroed`);
    t[0] = 1; t[bytes - 1] = 2;
    assert.deepEqual([t[0], t[bytes - 1]], [1, 2]);
  }
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', `
    import * as n from ${JSON.stringify(NATIVE_JS)};
    for (let round = 0; round < 10; round++) {
      let tables = [];
      for (let i = 0; i < 20; i++) { const t = new Uint32Array(n.pageTable(3 << 20)); t[i] = i; t[t.length - 1] = i; tables.push(t); }
      tables = null;
      globalThis.gc();
      await new Promise((r) => setImmediate(r));
    }
    // 200 tables of two touched pages each (up to 2 huge pages): ~800 MB were they never unmapped.
    console.log(new Uint32Array(n.pageTable(3 << 20))[7], process.memoryUsage().rss < 300e6);
  `], { encoding: 'utf8' });
  assert.equal(out.trim(), '0 true');
});

test('page tables not counted (page frames) bring on no full collection; counted ones (as any ArrayBuffer) do; zeroed either way', () => {
  // A fresh process (an old generation still small, as at mount): 256 MiB of tables kept, then some objects made.
  const run = (counted: boolean): { major: number; ok: boolean } => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', `
    import * as n from ${JSON.stringify(NATIVE_JS)};
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    let major = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
    const keep = [];
    for (let i = 0; i < 8; i++) keep.push(new Uint8Array(n.pageTable(32 << 20, ${counted})));
    keep[3][5] = 9;
    const ok = keep.every((t) => t.length === 32 << 20 && t[6] === 0 && t[t.length - 1] === 0) && keep[3][5] === 9;
    const junk = [];
    for (let i = 0; i < 20000; i++) junk.push({ i, s: 'x' + i });
    await new Promise((r) => setTimeout(r, 50));
    console.log(JSON.stringify({ major, ok: ok && junk.length === 20000 }));
  `], { encoding: 'utf8' })) as { major: number; ok: boolean };
  const uncounted = run(false), counted = run(true);
  assert.ok(uncounted.ok && counted.ok, 'zeroed and writable');
  assert.equal(uncounted.major, 0, 'uncounted tables: no full collection');
  assert.ok(counted.major >= 1, `counted tables: V8 collects the whole heap for them (${counted.major})`);
});

test('preadOrErrno reads into [at, at + len), 0 past the end, -errno for a bad fd', () => {
  const fd = native.memfdCreate('pram-native-test-pread');
  try {
    fs.writeSync(fd, Buffer.from('abcdefgh'), 0, 8, 0);
    const into = Buffer.alloc(6, 0x2e);
    assert.equal(native.preadOrErrno(fd, into, 1, 3, 4), 3);
    assert.equal(into.toString(), '.efg..');
    assert.equal(native.preadOrErrno(fd, into, 0, 4, 8), 0, 'at the end');
    assert.throws(() => native.preadOrErrno(fd, into, 4, 3, 0), { code: 'ERR_OUT_OF_RANGE' }, 'past the buffer: never a stray write');
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(native.preadOrErrno(fd, Buffer.alloc(1), 0, 1, 0), -9);
});

test('recordFrames and recordFields refuse arguments of the wrong kind or size, reading nothing past them', () => {
  const b = Buffer.alloc(24), offs = new Uint32Array(4);
  b.writeUInt32LE(8, 8);                                                 // one record of 8 payload bytes, its crc wrong
  assert.equal(native.recordFrames(b, -1, offs), -1);
  assert.throws(() => native.recordFrames(b, -1, new Uint16Array(4) as unknown as Uint32Array), TypeError);
  assert.throws(() => native.recordFrames(b, 2 ** 32, offs), TypeError);
  assert.equal(native.recordFrames(b, -1, new Uint32Array(0)), -3, 'framed: one record, no room for it');
  const cols = (n: number) => [new Uint16Array(n), new Float64Array(n), new Float64Array(n), new Uint32Array(n), new Uint32Array(n)] as const;
  assert.throws(() => native.recordFields(b, Uint32Array.of(0), 2, ...cols(2), new Uint32Array(3)), RangeError, 'count past at');
  assert.throws(() => native.recordFields(b, Uint32Array.of(0), 1, ...cols(0), new Uint32Array(2)), RangeError, 'count past the columns');
  assert.throws(() => native.recordFields(b, Uint32Array.of(0), 1, ...cols(1), new Uint32Array(1)), RangeError, 'others without a slot per record');
  assert.equal(native.recordFields(b, Uint32Array.of(0), 1, ...cols(1), new Uint32Array(2)), -1, 'type 0: another kind');
});
