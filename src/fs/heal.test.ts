// Through the file system: an image with pages past a file's size loses only
// those pages (every other file loads, every loss has a path), and a write
// that covers a whole damaged page heals it without reading it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EIO } from '../format/errno.js';
import { S_IFREG } from './mode.js';
import { ino, ok, simVolume } from './testkit.js';
import { Volume } from './volume.js';

test("load branch 'data page beyond the file size': /b and /c still load, the loss names /a", () => {
  const s = simVolume({ pageSize: 1024, pageCount: 200 });
  for (const n of ['a', 'b', 'c']) ok(s.vol.write(ino(s.vol.mknod(1, n, S_IFREG | 0o644, 0, 0, 0)), 0, Buffer.alloc(3000, n.charCodeAt(0))));
  const imgs = s.vol.images();
  imgs.find((i) => i.names[0]?.name === 'a')!.size = 1000;
  assert.equal(s.vol.pram!.checkpoint(imgs), 0);
  s.vol.detach();
  const v = Volume.mount({ mem: s.ram, handoff: s.handoff, keepMemOpen: true });
  assert.deepEqual(ok(v.readdir(1, 0, 10)).map((e) => e.name).sort(), ['.', '..', 'a', 'b', 'c']);
  assert.deepEqual(ok(v.read(ino(v.lookup(1, 'c')), 0, 5000)), Buffer.alloc(3000, 'c'.charCodeAt(0)));
  assert.ok(v.losses.length > 0);
  for (const l of v.losses) assert.equal(l.path, '/a', l.what);
});

for (const verify of ['full', 'lazy'] as const) test(`a whole-page write heals a damaged page without reading it (${verify})`, () => {
  const s = simVolume({ pageCount: 256, arena: true });   // salvage mode: the damaged page stays in its file
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  ok(s.vol.write(f, 0, Buffer.alloc(3 * 4096, 7)));
  const pfn = s.vol.images().find((i) => i.ino === f)!.pages.get(1);
  assert.equal(s.vol.unmount(), 0);
  s.ram.page(pfn)[100] ^= 1;                               // bit rot in page 1
  const v = Volume.mount({ mem: s.ram, handoff: s.handoff, keepMemOpen: true, verify });
  assert.equal(v.read(f, 4096, 10), -EIO);
  assert.equal(v.write(f, 4096, Buffer.alloc(10, 1)), -EIO, 'a partial write must not launder the damage');
  assert.equal(v.write(f, 4096, Buffer.alloc(4096, 9)), 4096);
  assert.deepEqual(ok(v.read(f, 4096, 4096)), Buffer.alloc(4096, 9));
  assert.deepEqual(ok(v.read(f, 0, 4096)), Buffer.alloc(4096, 7));
});
