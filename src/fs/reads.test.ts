// The read path: readInto (one copy from the arena into the caller's buffer)
// across runs of contiguous pages, holes, EOF, segment boundaries and lazily
// found damage; views over the pages (zero copy), their copy-on-write lifetime
// and their release back to the free pool; what a lazy mount has left to verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EINVAL, EIO, EISDIR } from '../format/errno.js';
import { S_IFREG } from './mode.js';
import { ino, ok, simVolume, type SimVolume } from './testkit.js';
import { Volume, type PageViews } from './volume.js';

const PS = 4096;

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed * 101 + (i >> 12)) & 0xff;
  return b;
}

/** Two files written page by page in turn: their pages alternate, so every page is its own run. */
function interleaved(s: SimVolume, pages: number): { f: number; g: number; data: Buffer } {
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  const g = ino(s.vol.mknod(1, 'g', S_IFREG | 0o644, 0, 0, 0));
  const data = pattern(pages * PS, 1);
  for (let i = 0; i < pages; i++) {
    ok(s.vol.write(f, i * PS, data.subarray(i * PS, (i + 1) * PS)));
    ok(s.vol.write(g, i * PS, Buffer.alloc(PS, 0xee)));
  }
  return { f, g, data };
}

function joined(v: PageViews): Buffer { return Buffer.concat(v.buffers); }

test('readInto copies into the target at its offset, across run boundaries, at any alignment', () => {
  for (const layout of ['contiguous', 'interleaved'] as const) {
    const s = simVolume();
    let f: number, data: Buffer;
    if (layout === 'interleaved') ({ f, data } = interleaved(s, 6));
    else { f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0)); data = pattern(6 * PS, 2); ok(s.vol.write(f, 0, data)); }
    for (const [off, len] of [[0, 6 * PS], [PS - 1, 2], [PS - 100, PS + 200], [3 * PS, PS], [1, 6 * PS - 2], [5 * PS + 7, 10]] as const) {
      const target = Buffer.alloc(len + 20, 0xaa);
      assert.equal(s.vol.readInto(f, off, target, 10, len), len, `${layout} ${off}+${len}`);
      assert.deepEqual(target.subarray(10, 10 + len), data.subarray(off, off + len), `${layout} ${off}+${len}`);
      assert.deepEqual(target.subarray(0, 10), Buffer.alloc(10, 0xaa), 'nothing before the target offset');
      assert.deepEqual(target.subarray(10 + len), Buffer.alloc(10, 0xaa), 'nothing past the asked length');
    }
  }
});

test('readInto: EOF, bad arguments, directories', () => {
  const s = simVolume();
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  ok(s.vol.write(f, 0, pattern(PS + 5, 3)));
  const t = Buffer.alloc(3 * PS);
  assert.equal(s.vol.readInto(f, PS, t, 0, 2 * PS), 5, 'short at EOF');
  assert.deepEqual(t.subarray(0, 5), pattern(PS + 5, 3).subarray(PS));
  assert.equal(s.vol.readInto(f, PS + 5, t, 0, 10), 0, 'at EOF');
  assert.equal(s.vol.readInto(f, 10 * PS, t, 0, 10), 0, 'past EOF');
  assert.equal(s.vol.readInto(f, 0, t, 2 * PS + 1, PS), -EINVAL, 'the target is too small for the length');
  assert.equal(s.vol.readInto(f, -1, t, 0, 1), -EINVAL);
  assert.equal(s.vol.readInto(f, 0, t, -1, 1), -EINVAL);
  assert.equal(s.vol.readInto(1, 0, t, 0, 1), -EISDIR);
  assert.equal(ok(s.vol.read(f, 0, Number.MAX_SAFE_INTEGER)).length, PS + 5, 'read allocates no more than the file holds');
});

test('holes in a sparse file read as zeros through readInto and views', () => {
  const s = simVolume();
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  ok(s.vol.write(f, 0, Buffer.alloc(PS, 1)));
  ok(s.vol.write(f, 5 * PS + 10, Buffer.alloc(PS, 2)));   // pages 1..4 a hole, 5 and 6 data
  const expect = Buffer.concat([Buffer.alloc(PS, 1), Buffer.alloc(4 * PS + 10), Buffer.alloc(PS, 2)]);
  const t = Buffer.alloc(expect.length, 0xff);
  assert.equal(s.vol.readInto(f, 0, t, 0, t.length), expect.length);
  assert.deepEqual(t, expect);
  const part = Buffer.alloc(PS, 0xff);
  assert.equal(s.vol.readInto(f, 2 * PS + 3, part, 0, PS), PS);
  assert.deepEqual(part, Buffer.alloc(PS), 'wholly inside the hole');
  const v = ok(s.vol.view(f, 100, expect.length - 100));
  assert.deepEqual(joined(v), expect.subarray(100));
  v.release();
});

test('a run crossing a mapping segment is copied piecewise and viewed as one buffer per segment', () => {
  const s = simVolume({ arena: true, pageCount: 64, maxSegmentBytes: 8 * PS });
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  const data = pattern(24 * PS, 4);
  ok(s.vol.write(f, 0, data));
  const t = Buffer.alloc(data.length);
  assert.equal(s.vol.readInto(f, 0, t, 0, t.length), data.length);
  assert.deepEqual(t, data);
  const v = ok(s.vol.view(f, 0, data.length));
  assert.ok(v.buffers.length >= 3, `split at segment ends (${v.buffers.length} pieces)`);
  assert.deepEqual(joined(v), data);
  v.release();
  s.vol.unmount();
  s.ram.close();
});

test('lazy mode: a flipped bit is EIO for its page only through readInto; a view or FUSE reply over it is EIO', () => {
  const s = simVolume({ pageCount: 256, arena: true });
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  const data = pattern(4 * PS, 5);
  ok(s.vol.write(f, 0, data));
  const pfn = s.vol.images().find((i) => i.ino === f)!.pages.get(2);
  assert.equal(s.vol.unmount(), 0);
  s.ram.page(pfn)[77] ^= 0x10;
  const v = Volume.mount({ mem: s.ram, handoff: s.handoff, keepMemOpen: true, verify: 'lazy' });
  const t = Buffer.alloc(4 * PS);
  assert.equal(v.readInto(f, 0, t, 0, 4 * PS), 2 * PS, 'stops before the damaged page');
  assert.deepEqual(t.subarray(0, 2 * PS), data.subarray(0, 2 * PS));
  assert.equal(v.readInto(f, 2 * PS + 1, t, 0, 10), -EIO);
  assert.equal(v.readInto(f, 3 * PS, t, 0, PS), PS, 'the page after it is fine');
  assert.deepEqual(t.subarray(0, PS), data.subarray(3 * PS));
  assert.equal(v.view(f, 2 * PS, PS), -EIO, 'no view of a damaged page');
  assert.equal(v.view(f, PS, 3 * PS), -EIO, 'a view is whole or nothing');
  assert.equal(v.readViews(f, 0, 4 * PS), -EIO, 'so is a FUSE reply: a short one would read as EOF');
  assert.equal(ok(v.view(f, 0, 2 * PS)).bytes, 2 * PS);
  assert.equal(ok(v.read(f, 0, 4 * PS)).length, 2 * PS);
  assert.ok(v.losses.some((l) => l.path === '/f'), 'the damage is reported with its path');
  v.detach();
  s.ram.close();
});

test('a view never changes: partial and whole-page writes go to copies; reads see the new bytes', () => {
  const s = simVolume();
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  const data = pattern(3 * PS, 6);
  ok(s.vol.write(f, 0, data));
  const v = ok(s.vol.view(f, 0, 3 * PS));
  assert.equal(v.buffers.length, 1, 'one contiguous run, one buffer');
  ok(s.vol.write(f, 10, Buffer.from('partial')));
  ok(s.vol.write(f, PS, Buffer.alloc(PS, 9)));              // whole page: no copy of the old bytes
  assert.equal(s.vol.setattr(f, { size: PS + 1 }) !== null, true);   // truncate: page 2 released while viewed
  ok(s.vol.write(f, 2 * PS, Buffer.alloc(PS, 3)));           // and the slot reused
  assert.deepEqual(joined(v), data, 'the view shows the bytes of when it was made');
  const now = ok(s.vol.read(f, 0, 3 * PS));
  assert.equal(now.subarray(10, 17).toString(), 'partial');
  assert.deepEqual(now.subarray(PS + 1, 2 * PS), Buffer.alloc(PS - 1), 'truncated then extended: zeros');
  assert.deepEqual(now.subarray(2 * PS), Buffer.alloc(PS, 3));
  v.release();
  v.release();   // idempotent
});

test('pinned pages return to the free pool at release (dirty and checkpointed pages, unlink)', () => {
  const s = simVolume({ pageCount: 256 });
  const free = () => s.vol.pram!.allocator.freeCount;   // pool pages (statfs is net of the ledger's reservation)
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  ok(s.vol.write(f, 0, pattern(8 * PS, 7)));
  assert.equal(s.vol.sync(), 0);
  const base = free();
  // A view of checkpointed pages; they are rewritten (copies), checkpointed twice, then the file goes.
  const a = ok(s.vol.view(f, 0, 8 * PS));
  const b = ok(s.vol.view(f, 2 * PS, PS));                  // a second pin on page 2
  ok(s.vol.write(f, 0, pattern(8 * PS, 8)));
  assert.equal(s.vol.sync(), 0);
  assert.equal(s.vol.sync(), 0);
  assert.equal(free(), base - 8, 'the 8 viewed pages are held while their views live');
  assert.deepEqual(joined(a), pattern(8 * PS, 7));
  a.release();
  assert.equal(free(), base - 1, 'page 2 is still under the second view');
  assert.deepEqual(joined(b), pattern(8 * PS, 7).subarray(2 * PS, 3 * PS));
  b.release();
  assert.equal(free(), base);
  // Dirty (never checkpointed) pages, then unlink while viewed.
  const g = ino(s.vol.mknod(1, 'g', S_IFREG | 0o644, 0, 0, 0));
  ok(s.vol.write(g, 0, pattern(4 * PS, 9)));
  const before = free();
  const c = ok(s.vol.view(g, 0, 4 * PS));
  ok(s.vol.write(g, PS, Buffer.alloc(2, 1)));               // one copy
  assert.equal(free(), before - 1);
  assert.equal(s.vol.unlink(1, 'g'), 0);
  assert.equal(free(), before, 'only the unviewed copy is freed: the 4 viewed pages wait');
  assert.deepEqual(joined(c), pattern(4 * PS, 9));
  c.release();
  assert.equal(free(), before + 4, 'every page of the unlinked file is back');
});

test('views and writes survive a remount as the writes left them', () => {
  let s = simVolume();
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  ok(s.vol.write(f, 0, Buffer.alloc(2 * PS, 1)));
  const v = ok(s.vol.view(f, 0, 2 * PS));
  ok(s.vol.write(f, 0, Buffer.alloc(PS, 2)));
  assert.equal(s.vol.unmount(), 0);
  v.release();   // after unmount: a no-op
  s = { ...s, vol: Volume.mount({ mem: s.ram, handoff: s.handoff, clock: s.clock, keepMemOpen: true }) };
  assert.deepEqual(ok(s.vol.read(f, 0, 2 * PS)), Buffer.concat([Buffer.alloc(PS, 2), Buffer.alloc(PS, 1)]));
});

test('lazy mode, one read of 4 MiB copied and checked a chunk at a time (native read_ranges): a flipped bit deep in a later chunk stops the read before its run, EIO there once, every other byte as written', () => {
  const pages = 1024;
  for (const [start, damaged] of [[0, 1024 / 4 + 200], [3, 1024 / 2 + 17], [5, 1024 - 9]] as const) {
    const s = simVolume({ pageCount: pages + 400, arena: true });
    const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
    const data = pattern(pages * PS, 7);
    ok(s.vol.write(f, 0, data));
    const pfns = s.vol.images().find((i) => i.ino === f)!.pages;
    assert.equal(pfns.get(pages - 1), pfns.get(0) + pages - 1, 'the file is one stretch of pages: one read covers several chunks');
    assert.equal(s.vol.unmount(), 0);
    s.ram.page(pfns.get(damaged))[1234] ^= 0x04;
    const v = Volume.mount({ mem: s.ram, handoff: s.handoff, keepMemOpen: true, verify: 'lazy' });
    const t = Buffer.alloc((pages - start) * PS, 0x5a);
    const n = v.readInto(f, start * PS, t, 0, t.length);
    const where = `read from page ${start}, page ${damaged} damaged`;
    assert.ok(n > 0 && n % PS === 0, `${where}: a short read of whole pages (${n})`);
    const first = start + n / PS;                      // the damaged run's first page
    assert.ok(first <= damaged && first > damaged - 32, `${where}: stops at the damaged page's run (page ${first})`);
    assert.deepEqual(t.subarray(0, n), data.subarray(start * PS, first * PS), `${where}: the bytes before it as written`);
    assert.ok(t.subarray(n).every((b) => b === 0), `${where}: nothing of the damaged run or after it handed out`);
    assert.equal(v.readInto(f, damaged * PS, t, 0, PS), -EIO, `${where}: the damaged page reads EIO`);
    assert.equal(v.readInto(f, first * PS, t, 0, PS), -EIO, `${where}: so does its run's first`);
    let after = damaged + 1;
    while (after < pages && v.readInto(f, after * PS, t, 0, PS) === -EIO) after++;
    assert.ok(after - first <= 32, `${where}: only the damaged run is lost`);
    if (after < pages) {
      assert.equal(v.readInto(f, after * PS, t, 0, (pages - after) * PS), (pages - after) * PS, `${where}: the pages after the run read whole`);
      assert.deepEqual(t.subarray(0, (pages - after) * PS), data.subarray(after * PS), `${where}: as written`);
    }
    assert.equal(v.losses.filter((l) => l.path === '/f').length, 1, `${where}: reported once`);
    v.detach();
    s.ram.close();
  }
});

test('lazy mode after first touch: no page is left unverified, so reads take the same path as a full mount', () => {
  const s = simVolume({ pageCount: 256, arena: true });
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  ok(s.vol.write(f, 0, pattern(32 * PS, 10)));
  assert.equal(s.vol.unmount(), 0);
  const v = Volume.mount({ mem: s.ram, handoff: s.handoff, keepMemOpen: true, verify: 'lazy' });
  ok(v.getattr(v.rootIno));      // the first request loads the root's group
  assert.ok(v.pram!.stats().unverified >= 32, 'lazy: unverified once the file is loaded');
  const t = Buffer.alloc(32 * PS);
  assert.equal(v.readInto(f, 0, t, 0, t.length), t.length);
  assert.equal(v.pram!.stats().unverified, 0, 'first touch verified every page');
  assert.deepEqual(t, pattern(32 * PS, 10));
  v.detach();
  s.ram.close();
});

test('lazy mode: stats().unverified counts only pages the files still hold unverified, not those replaced by writes or released', () => {
  const s = simVolume({ pageCount: 512, arena: true });
  const { f, g, data } = interleaved(s, 32);
  assert.equal(s.vol.unmount(), 0);
  const v = Volume.mount({ mem: s.ram, handoff: s.handoff, keepMemOpen: true, verify: 'lazy' });
  const unverified = (): number => v.pram!.stats().unverified;
  ok(v.getattr(v.rootIno));      // the first request loads the root's group
  assert.equal(unverified(), 64, 'lazy: every data page unverified once the files are loaded');
  const fresh = pattern(8 * PS, 20);
  for (let i = 0; i < 8; i++) assert.equal(v.write(f, i * PS, fresh.subarray(i * PS, (i + 1) * PS)), PS);
  assert.equal(unverified(), 56, 'a page written whole is verified by that write: its old copy waits for the commit, unread');
  assert.equal(v.write(f, 8 * PS + 100, Buffer.alloc(10, 0xaa)), 10);
  assert.equal(unverified(), 55, 'a partial write verifies the page it keeps');
  assert.equal(ok(v.setattr(g, { size: 0 })).size, 0);
  assert.equal(unverified(), 23, "a truncated file's released pages no longer count");
  const want = Buffer.concat([fresh, data.subarray(8 * PS)]);
  want.fill(0xaa, 8 * PS + 100, 8 * PS + 110);
  assert.deepEqual(ok(v.read(f, 0, 32 * PS)), want);
  assert.equal(unverified(), 0, 'the read verified the rest');
  assert.equal(v.sync(), 0);
  assert.equal(unverified(), 0);
  v.detach();
  s.ram.close();
});
