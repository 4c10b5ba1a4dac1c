import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { openArena, parseArenaName } from './arena.js';
import { openVolume } from './volume.js';

const file = (what: string) => `/dev/shm/refactor-open-${process.pid}-${what}.pram`;

test('an arena name is parsed once: memfd:, luo:, else a path; an empty name is a clear error', () => {
  assert.deepEqual(parseArenaName('memfd:a'), { kind: 'memfd', name: 'a', text: 'memfd:a' });
  assert.deepEqual(parseArenaName('luo:b'), { kind: 'luo', name: 'b', text: 'luo:b' });
  assert.deepEqual(parseArenaName('/dev/pmem0'), { kind: 'path', path: '/dev/pmem0', text: '/dev/pmem0' });
  assert.throws(() => parseArenaName('memfd:'), { code: 'EINVAL', message: /memfd:: give a name after memfd:/ });
});

test('a header of another format version gets a version error (before its page size is used), nothing written', () => {
  const path = file('version');
  try {
    openArena(path, { sizeBytes: 4 << 20 }).mem.close();
    const fd = fs.openSync(path, 'r+');
    const b = Buffer.alloc(8);
    b.writeUInt32LE(9, 0);        // format version 9 ...
    b.writeUInt32LE(3000, 4);     // ... with a page size no mapping can take (was applied before the version was read)
    fs.writeSync(fd, b, 0, 8, 4);
    fs.closeSync(fd);
    const before = fs.readFileSync(path);
    assert.throws(() => openArena(path), (e: Error & { code?: string; path?: string }) => {
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.path, path);
      assert.match(e.message, /arena format version 9, this pram reads versions 2, 3, 4, 5, 6, 7 and 8/);
      return true;
    });
    assert.ok(fs.readFileSync(path).equals(before), 'the arena is unchanged');
  } finally {
    fs.rmSync(path, { force: true });
  }
});

test('a missing arena without a size: ENOENT naming it; openVolume keeps extents on a created arena', () => {
  assert.throws(() => openArena(file('missing')), { code: 'ENOENT', message: /does not exist/ });
  const { volume, arena } = openVolume({ arena: 'memfd:refactor-extents', create: { sizeBytes: 4 << 20 }, extents: true, cmdline: '' });
  try {
    assert.equal(arena.handoff.flags & 1, 1, 'the header records extents');
    assert.equal(arena.created, true);
    assert.equal(volume.pram?.opts.extents, true);
  } finally {
    volume.detach();
  }
});
