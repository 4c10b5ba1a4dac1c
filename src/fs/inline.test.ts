// Small files held inline (fs/inline.ts): every content operation on an inline
// file against the same on a paged file and a plain Buffer model, the boundary
// at INLINE_MAX, views that never change, the v2 round trip (inline bytes in a
// chain data page) and the space ledger's count of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EINVAL, ENOSPC, ENXIO, EOPNOTSUPP } from '../format/errno.js';
import { INLINE_MAX } from '../format/inline.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, S_IFREG, SEEK_DATA, SEEK_HOLE } from './mode.js';
import { ino, ok, remount, simVolume, type SimVolume } from './testkit.js';
import { Volume, type PageViews } from './volume.js';

const PS = 4096;
const ZERO_RANGE = 0x10;

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 29 + seed * 11 + 1) & 0xff;
  return b;
}

/** Arena pages the allocator holds for anyone (data, chain): what a file really costs. */
function used(s: SimVolume): number {
  const a = s.vol.pram!.allocator;
  return s.ram.pageCount - a.freeCount;
}

function file(s: SimVolume, name: string): number {
  return ino(s.vol.mknod(1, name, S_IFREG | 0o644, 0, 0, 0));
}

const blocks = (s: SimVolume, f: number) => ok(s.vol.getattr(f)).blocks;

test('INLINE_MAX - 1 and INLINE_MAX bytes stay inline (no arena page, 1 block); one more byte moves them to a page', () => {
  const s = simVolume();
  for (const n of [1, INLINE_MAX - 1, INLINE_MAX]) {
    const f = file(s, `f${n}`);
    const before = used(s);
    assert.equal(s.vol.write(f, 0, pattern(n, n)), n);
    assert.equal(used(s), before, `${n} bytes take no arena page`);
    assert.equal(blocks(s, f), 1);
    assert.deepEqual(ok(s.vol.read(f, 0, 1000)), pattern(n, n));
  }
  const f = s.vol.resolve(`/f${INLINE_MAX}`);
  const before = used(s);
  assert.equal(s.vol.write(f, INLINE_MAX, Buffer.from([7])), 1);
  assert.equal(used(s), before + 1, 'the bytes moved into one data page');
  assert.equal(blocks(s, f), PS / 512);
  assert.deepEqual(ok(s.vol.read(f, 0, 1000)), Buffer.concat([pattern(INLINE_MAX, INLINE_MAX), Buffer.from([7])]));
  const g = file(s, 'g');
  assert.equal(s.vol.write(g, 0, pattern(INLINE_MAX + 1, 3)), INLINE_MAX + 1);
  assert.equal(blocks(s, g), PS / 512, 'a first write past INLINE_MAX goes straight to pages');
  assert.equal(s.vol.pram!.space.shape.inline, 2, 'the ledger counts the two files still inline');
});

test('truncate: growing past INLINE_MAX moves to pages; shrinking a paged file keeps it paged, except to 0', () => {
  const s = simVolume();
  const f = file(s, 'f');
  s.vol.write(f, 0, Buffer.from('abc'));
  ok(s.vol.setattr(f, { size: 10 }));
  assert.deepEqual(ok(s.vol.read(f, 0, 100)), Buffer.from('abc\0\0\0\0\0\0\0'));
  assert.equal(blocks(s, f), 1);
  ok(s.vol.setattr(f, { size: 2 }));
  assert.equal(ok(s.vol.read(f, 0, 100)).toString(), 'ab');
  ok(s.vol.setattr(f, { size: INLINE_MAX + 1 }));
  assert.equal(blocks(s, f), PS / 512, 'its bytes moved to page 0');
  assert.deepEqual(ok(s.vol.read(f, 0, 1000)), Buffer.concat([Buffer.from('ab'), Buffer.alloc(INLINE_MAX - 1)]));
  ok(s.vol.setattr(f, { size: 5 }));
  assert.equal(blocks(s, f), PS / 512, 'a paged file shrunk stays paged');
  const before = used(s);
  ok(s.vol.setattr(f, { size: 0 }));
  assert.equal(blocks(s, f), 0);
  assert.equal(used(s), before - 1, 'its page went back');
  s.vol.write(f, 0, Buffer.from('new'));
  assert.equal(used(s), before - 1, 'truncated to 0, it is inline again');
  assert.equal(ok(s.vol.read(f, 0, 10)).toString(), 'new');
  const big = file(s, 'big');
  ok(s.vol.setattr(big, { size: 1 << 20 }));
  assert.equal(blocks(s, big), 0, 'an empty file grown past INLINE_MAX is a hole, no page');
});

test('fallocate: mode 0 extends inline bytes, KEEP_SIZE past EOF moves to pages, PUNCH_HOLE zeroes, ZERO_RANGE is refused', () => {
  const s = simVolume();
  const f = file(s, 'f');
  s.vol.write(f, 0, Buffer.from('0123456789'));
  assert.equal(s.vol.fallocate(f, 0, 5, 20), 0);
  assert.equal(ok(s.vol.getattr(f)).size, 25);
  assert.equal(blocks(s, f), 1);
  assert.equal(s.vol.fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3), 0);
  assert.deepEqual(ok(s.vol.read(f, 0, 100)), Buffer.concat([Buffer.from('01\0\0\x0056789'), Buffer.alloc(15)]));
  assert.equal(s.vol.fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 3), 0, 'a punch past EOF does nothing');
  assert.equal(s.vol.fallocate(f, ZERO_RANGE, 0, 3), -EOPNOTSUPP);
  assert.equal(s.vol.fallocate(f, 0, 0, 0), -EINVAL);
  assert.equal(s.vol.fallocate(f, 0, -1, 5), -EINVAL);
  assert.equal(s.vol.fallocate(f, FALLOC_FL_KEEP_SIZE, 0, 10), 0, 'inside the size: nothing to keep');
  assert.equal(blocks(s, f), 1);
  assert.equal(s.vol.fallocate(f, FALLOC_FL_KEEP_SIZE, 20, 10), 0);
  assert.equal(ok(s.vol.getattr(f)).size, 25, 'KEEP_SIZE keeps the size');
  assert.equal(blocks(s, f), PS / 512, 'room kept past EOF is a page');
  assert.deepEqual(ok(s.vol.read(f, 0, 100)), Buffer.concat([Buffer.from('01\0\0\x0056789'), Buffer.alloc(15)]));
  const g = file(s, 'g');
  assert.equal(s.vol.fallocate(g, 0, 0, INLINE_MAX + 1), 0);
  assert.equal(blocks(s, g), PS / 512, 'past INLINE_MAX: pages');
});

test('SEEK_DATA/SEEK_HOLE on an inline file: data from 0 to EOF', () => {
  const s = simVolume();
  const f = file(s, 'f');
  assert.equal(s.vol.seek(f, 0, SEEK_DATA), -ENXIO, 'empty');
  s.vol.write(f, 0, Buffer.from('hello'));
  assert.equal(s.vol.seek(f, 0, SEEK_DATA), 0);
  assert.equal(s.vol.seek(f, 3, SEEK_DATA), 3);
  assert.equal(s.vol.seek(f, 0, SEEK_HOLE), 5);
  assert.equal(s.vol.seek(f, 5, SEEK_DATA), -ENXIO);
  assert.equal(s.vol.seek(f, -1, SEEK_HOLE), -ENXIO);
  assert.equal(s.vol.seek(f, 0, 9 as 3), -EINVAL);
});

test('views of an inline file are copies: later writes, truncates and unlink never change them', () => {
  const s = simVolume();
  const f = file(s, 'f');
  s.vol.write(f, 0, Buffer.from('first version'));
  const v = ok(s.vol.view(f, 0, 100)) as PageViews;
  const fuse = ok(s.vol.readViews(f, 6, 7)) as Buffer[];
  s.vol.write(f, 0, Buffer.from('SECOND'));
  ok(s.vol.setattr(f, { size: 3 }));
  s.vol.write(f, 200, Buffer.from('paged now'));
  s.vol.unlink(1, 'f');
  assert.equal(Buffer.concat(v.buffers).toString(), 'first version');
  assert.equal(v.bytes, 13);
  assert.equal(Buffer.concat(fuse).toString(), 'version');
  v.release();
  v.release();
});

test('symlinks: a short target is inline, a long one in pages; both read back, also after a v2 remount', () => {
  let s = simVolume();
  const before = used(s);
  ok(s.vol.symlink(1, 'short', 'a/b/c', 0, 0));
  assert.equal(used(s), before, 'no arena page for a short target');
  const long = 'dir/'.repeat(50) + 'end';
  ok(s.vol.symlink(1, 'long', long, 0, 0));
  assert.equal(used(s), before + 1);
  assert.equal(s.vol.readlink(s.vol.resolve('/short', { follow: false })), 'a/b/c');
  s = remount(s);
  assert.deepEqual(s.vol.losses, []);
  assert.equal(s.vol.readlink(s.vol.resolve('/short', { follow: false })), 'a/b/c');
  assert.equal(s.vol.readlink(s.vol.resolve('/long', { follow: false })), long);
});

test('v2 round trip: inline files of 0, 1, 100 and INLINE_MAX bytes come back byte for byte (as ordinary files)', (t) => {
  // A v2 arena (PRAM_FORMAT=2: header version 2, chains); a v3 arena keeps them inline (fs/live.test.ts).
  process.env['PRAM_FORMAT'] = '2';
  t.after(() => { delete process.env['PRAM_FORMAT']; });
  let s = simVolume({ arena: true });
  const sizes = [0, 1, 100, INLINE_MAX];
  for (const n of sizes) s.vol.write(file(s, `f${n}`), 0, pattern(n, n));
  assert.equal(s.vol.sync(), 0);
  for (const n of sizes) s.vol.write(s.vol.resolve(`/f${n}`), 0, Buffer.from('changed after the checkpoint, not saved'.slice(0, n)));
  s.vol.detach();
  s = { ...s, vol: Volume.mount({ mem: s.ram, handoff: s.handoff, clock: s.clock, keepMemOpen: true }) };
  assert.deepEqual(s.vol.losses, []);
  for (const n of sizes) {
    const f = s.vol.resolve(`/f${n}`);
    assert.deepEqual(ok(s.vol.read(f, 0, 1000)), pattern(n, n), `f${n}`);
    assert.equal(blocks(s, f), n === 0 ? 0 : PS / 512, 'v2 has no inline form: loaded into a page');
  }
  // Written again, a loaded small file stays paged; an empty one is inline.
  const f0 = s.vol.resolve('/f0');
  const before = used(s);
  s.vol.write(f0, 0, Buffer.from('x'));
  assert.equal(used(s), before);
  s.vol.unmount();
  s.ram.close();
});

test('a v2 checkpoint gives back the pages it wrote for inline bytes at the next commit', () => {
  const s = simVolume();
  const files = 20;
  for (let i = 0; i < files; i++) s.vol.write(file(s, `f${i}`), 0, pattern(100, i));
  const base = used(s);
  assert.equal(base, 1, 'before any checkpoint: only the arena header page');
  ok(s.vol.sync());
  const one = used(s) - base;
  // Per file: its META page and its inline bytes' page; plus one link page (an RFC-compatible tree saves no root).
  assert.equal(one, 2 * files + 1);
  ok(s.vol.sync());
  ok(s.vol.sync());
  assert.equal(used(s) - base, one, 'each commit frees the previous chain, inline pages included');
  console.log(`# v2: a 100-byte file costs ${((one - 1) / files) * PS} bytes of arena (${(one - 1) / files} pages)`);
});

test('fromImages: inline bytes across the seam make an inline file; bad inline images are reported', () => {
  const s = simVolume();
  const f = file(s, 'f');
  s.vol.write(f, 0, Buffer.from('tiny'));
  const images = s.vol.images();
  const img = images.find((n) => n.ino === f)!;
  assert.equal(Buffer.from(img.inline!).toString(), 'tiny');
  assert.equal(img.pages.count, 0);
  const t = simVolume();
  const parts = (images: typeof img[]) => ({ mem: t.ram, engine: t.vol.pram!, images, losses: [], clock: t.clock, owner: { uid: 0, gid: 0 }, space: () => ({ total: 1, free: 1 }), close: () => {}, pram: t.vol.pram });
  const ctor = s.vol.constructor as new (p: ReturnType<typeof parts>) => typeof s.vol;
  const inlineBefore = t.vol.pram!.space.shape.inline;
  const v = new ctor(parts(images));
  assert.deepEqual(v.losses, []);
  assert.equal(ok(v.read(f, 0, 10)).toString(), 'tiny');
  assert.equal(ok(v.getattr(f)).blocks, 1, 'inline');
  assert.equal(t.vol.pram!.space.shape.inline, inlineBefore + 1, 'the ledger counts it');
  // A loader that always fills the field (empty for a paged file) changes nothing.
  const paged = { ...img, ino: 52, names: [{ parent: 1, name: 'holes' }], inline: new Uint8Array(0), size: 1 << 20 };
  const u = new ctor(parts([images.find((n) => n.ino === 1)!, paged]));
  assert.deepEqual(u.losses, []);
  assert.deepEqual([ok(u.getattr(52)).size, ok(u.getattr(52)).blocks], [1 << 20, 0]);
  const bad = [
    { ...img, ino: 50, names: [{ parent: 1, name: 'long' }], inline: Buffer.alloc(INLINE_MAX + 1), size: INLINE_MAX + 1 },
    { ...img, ino: 51, names: [{ parent: 1, name: 'short' }], inline: Buffer.from('abc'), size: 9 },
  ];
  const w = new ctor(parts([images.find((n) => n.ino === 1)!, ...bad]));
  assert.equal(w.losses.length, 2);
  assert.match(w.losses[0]!.what, /inline bytes dropped/);
  assert.match(w.losses[1]!.what, /size 9 but 3 inline bytes/);
  assert.equal(ok(w.read(w.resolve('/short'), 0, 10)).toString(), 'abc');
});

test('ENOSPC: a full volume refuses an empty file its first inline bytes, changing nothing, and a checkpoint still fits', () => {
  const s = simVolume({ pageCount: 48 });
  let made = 0;
  for (;; made++) {
    const f = s.vol.mknod(1, `f${made}`, S_IFREG | 0o644, 0, 0, 0);
    if (typeof f === 'number') { assert.equal(f, -ENOSPC); break; }
  }
  assert.ok(made > 5, `${made} empty files fitted`);
  // Room for two more records: the first files get their bytes until the ledger says no.
  for (const i of [made - 1, made - 2]) s.vol.unlink(1, `f${i}`);
  made -= 2;
  let written = 0;
  for (; written < made; written++) {
    const f = s.vol.resolve(`/f${written}`);
    const r = s.vol.write(f, 0, pattern(50, written));
    if (r < 0) {
      assert.equal(r, -ENOSPC);
      assert.deepEqual([ok(s.vol.getattr(f)).size, blocks(s, f)], [0, 0], 'nothing written');
      break;
    }
  }
  assert.ok(written >= 1 && written < made, `${written} of ${made} got their bytes`);
  assert.equal(s.vol.sync(), 0, 'the ledger kept room for the checkpoint');
  assert.equal(s.vol.sync(), 0, 'and for the one after');
  // Growing an inline file within INLINE_MAX needs no new room.
  assert.equal(s.vol.write(s.vol.resolve('/f0'), 50, Buffer.from('more')), 4);
  assert.equal(s.vol.sync(), 0);
  const inl = s.vol.pram!.space.shape.inline;
  assert.equal(inl, written);
  const t = remount(s);
  assert.deepEqual(ok(t.vol.read(t.vol.resolve('/f0'), 0, 100)), Buffer.concat([pattern(50, 0), Buffer.from('more')]));
  for (let i = 1; i < written; i++) assert.deepEqual(ok(t.vol.read(t.vol.resolve(`/f${i}`), 0, 100)), pattern(50, i), `f${i}`);
  assert.equal(t.vol.pram!.space.shape.inline, 0, 'loaded from v2: paged files now');
  // An inline file's count goes back when it is unlinked.
  t.vol.unlink(1, 'f0');
  const g = file(t, 'g');
  assert.equal(t.vol.write(g, 0, Buffer.from('x')), 1);
  assert.equal(t.vol.pram!.space.shape.inline, 1);
  t.vol.unlink(1, 'g');
  assert.equal(t.vol.pram!.space.shape.inline, 0);
});

type Op =
  | { k: 'write'; off: number; len: number; seed: number }
  | { k: 'size'; size: number }
  | { k: 'falloc'; mode: number; off: number; len: number }
  | { k: 'view'; off: number; len: number };

const pos = fc.oneof(fc.integer({ min: 0, max: INLINE_MAX + 4 }), fc.constantFrom(INLINE_MAX - 1, INLINE_MAX, INLINE_MAX + 1), fc.integer({ min: 0, max: 3 * PS }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('write' as const), off: pos, len: fc.integer({ min: 0, max: 40 }), seed: fc.nat(255) }),
  fc.record({ k: fc.constant('write' as const), off: pos, len: pos, seed: fc.nat(255) }),
  fc.record({ k: fc.constant('size' as const), size: pos }),
  fc.record({ k: fc.constant('falloc' as const), mode: fc.constantFrom(0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE), off: pos, len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ k: fc.constant('view' as const), off: pos, len: pos }),
);

/** Apply an op to a Buffer model (POSIX semantics). */
function modelApply(m: Buffer, op: Op): Buffer {
  switch (op.k) {
    case 'write': {
      if (op.len === 0) return m;
      const out = Buffer.alloc(Math.max(m.length, op.off + op.len));
      m.copy(out);
      pattern(op.len, op.seed).copy(out, op.off);
      return out;
    }
    case 'size': { const out = Buffer.alloc(op.size); m.copy(out, 0, 0, Math.min(op.size, m.length)); return out; }
    case 'falloc': {
      if (op.mode === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) { const out = Buffer.from(m); if (op.off < m.length) out.fill(0, op.off, Math.min(m.length, op.off + op.len)); return out; }
      if (op.mode === 0 && op.off + op.len > m.length) { const out = Buffer.alloc(op.off + op.len); m.copy(out); return out; }
      return m;
    }
    case 'view': return m;
  }
}

test('model: random ops on a file that starts inline and one that starts paged match a Buffer; views never change', () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
    const s = simVolume({ pageCount: 256 });
    const a = file(s, 'inline');
    const b = file(s, 'paged');
    ok(s.vol.fallocate(b, FALLOC_FL_KEEP_SIZE, 0, 1));   // room kept past EOF: paged from the start
    assert.equal(blocks(s, b), PS / 512);
    let m = Buffer.alloc(0);
    const views: { v: PageViews; want: Buffer }[] = [];
    for (const op of ops) {
      for (const f of [a, b]) {
        const r = op.k === 'write' ? s.vol.write(f, op.off, pattern(op.len, op.seed))
          : op.k === 'size' ? (typeof s.vol.setattr(f, { size: op.size }) === 'number' ? -1 : 0)
            : op.k === 'falloc' ? s.vol.fallocate(f, op.mode, op.off, op.len)
              : 0;
        assert.ok(r >= 0, `${JSON.stringify(op)}: ${r}`);
        if (op.k === 'view') {
          const v = ok(s.vol.view(f, op.off, op.len)) as PageViews;
          views.push({ v, want: m.subarray(Math.min(op.off, m.length), Math.min(op.off + op.len, m.length)) });
        }
      }
      m = modelApply(m, op);
      for (const f of [a, b]) {
        assert.equal(ok(s.vol.getattr(f)).size, m.length);
        assert.deepEqual(ok(s.vol.read(f, 0, m.length + 10)), m, `${f === a ? 'inline' : 'paged'} after ${JSON.stringify(op)}`);
        const d = s.vol.seek(f, 0, SEEK_DATA);
        if (m.length === 0) assert.equal(d, -ENXIO);
        else if (d >= 0) assert.ok(m.subarray(0, d).every((x) => x === 0), 'SEEK_DATA skips only zeros');
        const h = s.vol.seek(f, 0, SEEK_HOLE);
        if (m.length > 0) assert.ok(h >= 0 && h <= m.length);
      }
    }
    for (const { v, want } of views) { assert.deepEqual(Buffer.concat(v.buffers), want); v.release(); }
    assert.equal(s.vol.sync(), 0);
    const t = remount(s);
    for (const name of ['inline', 'paged']) assert.deepEqual(ok(t.vol.read(t.vol.resolve(`/${name}`), 0, m.length + 10)), m, `${name} after remount`);
    t.vol.unmount();
  }), { numRuns: 150 });
});
