// A pure v1 chain emitted from an arena saved with extents (v2), loaded by the
// RFC-mode loader the simulated machine boots with (no handoff: pram= only,
// the first fault drops the image) and by an independent reader that knows
// only the RFC's META and DATA entries: every file byte for byte. Images v1
// cannot hold are refused naming the path; the arena's own image is untouched.
import { INLINE_MAX } from '../format/inline.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Arena } from '../mem/arena.js';
import { HeaderView } from '../format/header.js';
import { MemoryHandoff } from '../pram/handoff.js';
import { Volume } from '../fs/volume.js';
import { Rand, rfcLoad } from '../pram/testkit.js';
import { emitV1 } from './emit.js';
import { openVolume } from './volume.js';

const PS = 4096;
const arenaPath = (what: string) => `/dev/shm/limits-emit-${process.pid}-${what}.pram`;

/** Files of the test image: sizes around page boundaries, a hole, and enough pages for several link pages. */
function contents(): Map<string, Buffer> {
  const r = new Rand(13);
  const files = new Map<string, Buffer>([
    ['empty', Buffer.alloc(0)], ['one-byte', Buffer.from('x')], ['page', r.bytes(PS)],
    ['three-pages-and-5', r.bytes(3 * PS + 5)], ['big.bin', r.bytes(300 * PS + 77)],
  ]);
  const sparse = Buffer.alloc(10 * PS + 3);
  r.bytes(PS).copy(sparse, 0);
  r.bytes(3).copy(sparse, 10 * PS);            // pages 1..9 are a hole
  files.set('sparse', sparse);
  for (let i = 0; i < 20; i++) files.set(`small-${i}.txt`, r.bytes(1 + i * 97));
  return files;
}

function create(path: string, build: (v: Volume) => void): void {
  const { volume } = openVolume({ arena: path, create: { sizeBytes: 16 << 20 }, extents: true, cmdline: '' });
  build(volume);
  assert.equal(volume.unmount(), 0);
}

function writeFile(v: Volume, parent: number, name: string, data: Buffer): number {
  const a = v.mknod(parent, name, 0o100644, 0, 0, 0);
  assert.ok(typeof a !== 'number', `mknod ${name}: ${a}`);
  // Only the non-zero pages are written, so a hole stays a hole.
  for (let at = 0; at < data.length; at += PS) {
    const part = data.subarray(at, Math.min(data.length, at + PS));
    if (part.some((b) => b !== 0) || at + PS >= data.length) assert.equal(v.write(a.ino, at, part), part.length);
  }
  return a.ino;
}

test('save --format v1: the RFC-mode loader and a v1-only reader get every file byte for byte; the arena image is untouched', () => {
  const path = arenaPath('ok');
  try {
    const want = contents();
    create(path, (v) => { for (const [name, data] of want) writeFile(v, 1, name, data); });
    const before = fs.readFileSync(path);
    const out = emitV1({ arena: path, cmdline: '' });
    assert.equal(out.files, want.size);
    assert.ok(out.headPfn > 0 && out.linkPages >= 2, `several link pages: ${JSON.stringify(out)}`);
    // Pages written for inline bytes only: a v3 arena keeps small files inline across a remount (v2 loads them paged).
    const inlined = [...want.values()].filter((d) => d.length > 0 && d.length <= INLINE_MAX).length;
    assert.equal(out.copies, process.env['PRAM_FORMAT'] === '2' ? 0 : inlined);

    assert.ok(fs.readFileSync(path).subarray(0, PS).equals(before.subarray(0, PS)), 'the header is untouched');
    const mem = Arena.open(path);
    try {
      assert.deepEqual(rfcLoad(mem, out.headPfn), want, 'the v1-only reader');
      const own = new HeaderView(mem.page(0)).current()!.slot.headPfn;
      assert.equal(typeof rfcLoad(mem, own), 'string', 'the arena\'s own chain (extents: one checksum per run) stops the v1 reader');
      // The simulated machine's loader: no handoff, pram= only, RFC mode (the first fault drops the image).
      const rfc = Volume.mount({ mem, handoff: new MemoryHandoff(), cmdline: `pram=${out.headPfn.toString(16)}`, readOnly: true, keepMemOpen: true });
      assert.deepEqual(rfc.losses, []);
      const got = new Map<string, Buffer>();
      for (const n of rfc.images()) {
        if (n.ino === 1) continue;
        const data = rfc.read(n.ino, 0, n.size + 1);
        assert.ok(Buffer.isBuffer(data));
        got.set(n.names[0]!.name, data);
      }
      assert.deepEqual(got, want, 'the RFC-mode loader');
      rfc.detach();
    } finally { mem.close(); }
    // The arena still mounts its own checkpoint, generation unchanged, same files.
    const { volume } = openVolume({ arena: path, cmdline: '', readOnly: true });
    try {
      assert.equal(volume.pram!.stats().generation, out.generation);
      assert.notEqual(volume.pram!.head, out.headPfn, 'the v1 chain is a chain of its own');
      assert.deepEqual(volume.losses, []);
      for (const [name, data] of want) {
        const ino = volume.resolve(`/${name}`);
        assert.ok(ino > 0);
        assert.deepEqual(volume.read(ino, 0, data.length + 1), data, name);
      }
    } finally { volume.detach(); }
  } finally {
    fs.rmSync(path, { force: true });
  }
});

test('save --format v1 refuses an image v1 cannot hold, naming the first path and why, and writes nothing', () => {
  const cases: [string, (v: Volume) => void, RegExp][] = [
    ['dir', (v) => { const d = v.mkdir(1, 'etc', 0o755, 0, 0); assert.ok(typeof d !== 'number'); }, /v1 cannot hold \/etc: not a regular file \(a directory\)/],
    ['nested', (v) => { writeFile(v, 1, 'ok', Buffer.from('x')); const ino = writeFile(v, 1, 'f', Buffer.from('y')); assert.ok(typeof v.link(ino, 1, 'g') !== 'number'); }, /v1 cannot hold \/f: a hard link \(2 names\)/],
    ['symlink', (v) => { assert.ok(typeof v.symlink(1, 'l', '/x', 0, 0) !== 'number'); }, /v1 cannot hold \/l: not a regular file \(a symlink\)/],
    ['xattr', (v) => { const ino = writeFile(v, 1, 'tagged', Buffer.from('z')); assert.equal(v.setxattr(ino, 'user.big', Buffer.alloc(5000, 1), 0), 0); },
      /v1 cannot hold \/tagged: xattrs of 50\d\d bytes: v1 keeps at most 3728 bytes/],
  ];
  for (const [what, build, message] of cases) {
    const path = arenaPath(what);
    try {
      create(path, build);
      const before = fs.readFileSync(path);
      assert.throws(() => emitV1({ arena: path, cmdline: '' }), (e: Error & { code?: string; path?: string }) => {
        assert.equal(e.code, 'EOPNOTSUPP', `${what}: ${e.message}`);
        assert.equal(e.path, path);
        assert.match(e.message, message);
        return true;
      });
      assert.ok(fs.readFileSync(path).equals(before), `${what}: nothing written`);
    } finally {
      fs.rmSync(path, { force: true });
    }
  }
});

test('a file in a subdirectory is named by its whole path', () => {
  const path = arenaPath('sub');
  try {
    // A compaction writes a directory before what it names, so the file must be met first: it is in the
    // first commit (the fresh arena's compaction), the directory and the move in an append after it.
    create(path, (v) => { writeFile(v, 1, 'f', Buffer.from('y')); });
    const { volume: v } = openVolume({ arena: path, cmdline: '' });
    const d = v.mkdir(1, 'var', 0o755, 0, 0);
    assert.ok(typeof d !== 'number');
    assert.equal(v.rename(1, 'f', d.ino, 'log', 0), 0);
    assert.ok(typeof v.lookup(d.ino, 'log') !== 'number');
    assert.equal(v.unmount(), 0);
    assert.throws(() => emitV1({ arena: path, cmdline: '' }), { code: 'EOPNOTSUPP', message: /v1 cannot hold \/var\/log: not in the root directory/ });
  } finally {
    fs.rmSync(path, { force: true });
  }
});
