// Regression tests of the loader's error branches: a bad entry loses only
// what it must, and every loss names its file by path — including, in RFC
// mode, every file after the page where the load stops.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkPageView } from '../format/v1.js';
import { boot, byName, contentOf, file, MemoryHandoff, newRam, PS, Rand, root } from './testkit.js';
import type { SimRam } from '../mem/simram.js';

/** Saves /a /b /c (3 pages each); /a is saved with a size of 1000 bytes, so pages 1 and 2 lie past its end. */
function pastSizeImage(mem: SimRam, h: MemoryHandoff): Map<string, Buffer> {
  const b = boot(mem, h);
  const r = new Rand(3);
  const contents = new Map<string, Buffer>();
  const nodes = [root()];
  ['a', 'b', 'c'].forEach((name, i) => {
    const c = r.bytes(3 * PS - 10);
    contents.set(name, c);
    nodes.push(file(b.pram, mem, 2 + i, name, c));
  });
  nodes[1]!.size = 1000;   // what fallocate KEEP_SIZE leaves: pages past the size
  assert.equal(b.pram.checkpoint(nodes), 0);
  return contents;
}

for (const salvage of [false, true]) test(`load branch 'data page beyond the file size' (${salvage ? 'salvage' : 'RFC'} mode): drops only those pages, the rest of the chain loads`, () => {
  const mem = newRam(), h = new MemoryHandoff();
  const contents = pastSizeImage(mem, h);
  const x = boot(mem, h, { salvage });
  assert.deepEqual(x.image.nodes.map((n) => n.names[0]?.name ?? '/').sort(), ['/', 'a', 'b', 'c']);
  assert.deepEqual(contentOf(x.pram, mem, byName(x.image, 'b')), contents.get('b'));
  assert.deepEqual(contentOf(x.pram, mem, byName(x.image, 'c')), contents.get('c'));
  assert.deepEqual(contentOf(x.pram, mem, byName(x.image, 'a')), contents.get('a')!.subarray(0, 1000));
  const dropped = x.image.losses.filter((l) => /beyond the file size 1000: dropped/.test(l.what));
  assert.deepEqual(dropped.map((l) => [l.path, l.range]), [['/a', { start: PS, end: 2 * PS }], ['/a', { start: 2 * PS, end: 3 * PS }]]);
  assert.ok(!x.log.some((l) => /Failed to load/.test(l)), 'not a load failure');
  for (const l of x.image.losses) assert.equal(l.path, '/a', l.what);
});

test("load branch 'RFC mode stops at a corrupted page': every file after it is named by path, with the pages not loaded", () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  const r = new Rand(5);
  const nodes = [root(), ...['f0', 'f1', 'f2', 'f3'].map((n, i) => file(b.pram, mem, 2 + i, n, r.bytes(3 * PS)))];
  assert.equal(b.pram.checkpoint(nodes), 0);
  const bad = new LinkPageView(mem.page(h.headPfn)).entry(5).pfn;   // [META f0][D][D][D][META f1][D f1:0]
  mem.page(bad)[1] ^= 4;
  const x = boot(mem, h, { salvage: false });
  assert.ok(x.log.includes('PRAM: Failed to load FS tree: -22'));
  const byPath = (p: string) => x.image.losses.filter((l) => l.path === p).map((l) => l.what);
  assert.ok(byPath('/f1').some((w) => /data page 0 .*failed crc32c/.test(w)), JSON.stringify(x.image.losses));
  assert.ok(byPath('/f1').some((w) => /2 data page\(s\) at indexes 1-2 .* not loaded: the load stopped/.test(w)));
  for (const p of ['/f2', '/f3']) assert.ok(byPath(p).some((w) => /file lost with its 3 data page\(s\): the load stopped at pfn:/.test(w)), p);
  assert.ok(x.image.losses.every((l) => l.path !== null), 'every loss names a path');
});

test('loss paths from the tails\' counts are absolute', () => {
  const mem = newRam(), h = new MemoryHandoff();
  pastSizeImage(mem, h);
  // Drop /b's last DATA entry from the link page: its tail says 3 pages, 2 are found.
  const l = new LinkPageView(mem.page(h.headPfn));
  const last = 7;                                   // [META a][D][D][D][META b][D][D][D b:2][META c]...
  assert.equal(l.entry(last + 1).flags & 0xff, 1);
  for (let i = last; i < l.len - 1; i++) { const s = l.entry(i + 1), d = l.entry(i); d.flags = s.flags; d.csum = s.csum; d.pfn = s.pfn; d.index = s.index; }
  l.len = l.len - 1; l.seal();
  const x = boot(mem, h, { salvage: true });
  const miss = x.image.losses.find((m) => /data pages missing/.test(m.what));
  assert.ok(miss, JSON.stringify(x.image.losses));
  assert.equal(miss.path, '/b');
});

test("load branch 'damaged link page skipped': nothing is attributed across the gap; the cut file reads EIO, not zeros or another file's bytes", () => {
  const mem = newRam(1024), h = new MemoryHandoff();
  const b = boot(mem, h);
  const r = new Rand(9);
  const contents = new Map<string, Buffer>();
  const nodes = [root()];
  for (let i = 0; i < 200; i++) {             // [META][DATA][DATA] per file: 169-entry link pages split files
    const c = r.bytes(2 * PS - 10);
    contents.set(`f${i}`, c);
    nodes.push(file(b.pram, mem, 2 + i, `f${i}`, c));
  }
  assert.equal(b.pram.checkpoint(nodes), 0);
  const second = new LinkPageView(mem.page(h.headPfn)).linkPfn;
  mem.page(second)[100] ^= 1;                 // the second link page fails its csum: salvage skips it
  const x = boot(mem, h, { salvage: true });
  let eio = 0, ok = 0;
  for (const n of x.image.nodes) {
    const name = n.names[0]?.name;
    if (!name || !contents.has(name)) continue;
    if ([0, 1].some((i) => n.pages.get(i) === 0 || x.pram.readable(n.pages.get(i)) < 0)) { eio++; continue; }
    assert.deepEqual(contentOf(x.pram, mem, n), contents.get(name), `${name}: right bytes or an error`);
    ok++;
  }
  assert.ok(eio >= 1 && ok > 100, `eio ${eio} ok ${ok}`);
  const cut = x.image.losses.find((l) => /read EIO until rewritten/.test(l.what));
  assert.ok(cut && cut.path?.startsWith('/f'), JSON.stringify(x.image.losses));
  const cutNode = byName(x.image, cut.path!.slice(1));
  assert.equal(x.pram.readable(cutNode.pages.get(cut.range!.start / PS)), -5);
  assert.ok(x.image.losses.some((l) => /belong to a file whose entries were lost: dropped/.test(l.what)));
});

test('a read-only load (pram map, ls) of an image with a lost link page writes nothing; the cut pages still read EIO', () => {
  const mem = newRam(1024), h = new MemoryHandoff();
  for (let pfn = 0; pfn < mem.pageCount; pfn++) mem.page(pfn).fill(0x5a); // free pages hold old bytes, not zeros
  const b = boot(mem, h);
  const r = new Rand(9);
  const nodes = [root()];
  for (let i = 0; i < 200; i++) nodes.push(file(b.pram, mem, 2 + i, `f${i}`, r.bytes(2 * PS - 10)));
  assert.equal(b.pram.checkpoint(nodes), 0);
  mem.page(new LinkPageView(mem.page(h.headPfn)).linkPfn)[100] ^= 1;
  const bytes = () => Buffer.concat(Array.from({ length: mem.pageCount }, (_, pfn) => Buffer.from(mem.page(pfn))));
  const before = bytes();
  const x = boot(mem, h, { salvage: true, readOnly: true });
  const cut = x.image.losses.find((l) => /read EIO until rewritten/.test(l.what));
  assert.ok(cut, JSON.stringify(x.image.losses));
  assert.equal(x.pram.readable(byName(x.image, cut.path!.slice(1)).pages.get(cut.range!.start / PS)), -5);
  assert.ok(bytes().equals(before), 'not one byte of the memory changed');
});
