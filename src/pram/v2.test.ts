// Format v2 through the engine: every file type with its metadata, hard links,
// xattrs inline and in XATTR pages, the root's attributes, the arena header
// handoff (slots A/B, torn slot), the skip pointer over a damaged link page,
// and orphans moved to /lost+found.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, ENTRY_TYPE_MASK, LinkPageView, linkLenMax } from '../format/v1.js';
import { HeaderView } from '../format/header.js';
import { ArenaHeaderHandoff, MemoryHandoff } from './handoff.js';
import { boot, byName, contentOf, file, newRam, node, PS, Rand, rfcLoad, root } from './testkit.js';
import type { NodeImage } from './image.js';

const sorted = (ns: NodeImage[]) => [...ns].sort((a, b) => a.ino - b.ino);

test('v2 round trip: directories, symlink, devices, hard links, xattrs, owners and times', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  const r = root(); r.mode = 0o40700; r.uid = 5; r.xattrs = [['user.root', Buffer.from('r')]];
  const dir = node(2, 0o40755, [{ parent: 1, name: 'd' }], { uid: 7, gid: 8, atimeNs: 1n << 62n });
  const sub = node(3, 0o40750, [{ parent: 2, name: 'sub' }]);
  const f = file(b.pram, mem, 4, 'f', Buffer.from('hello'), 3);
  f.names.push({ parent: 1, name: 'hard' }, { parent: 2, name: 'hard2' });      // two extra names
  f.xattrs = [['user.small', Buffer.from('x')]];
  const big = Buffer.alloc(9000, 0x5a);                                         // needs XATTR pages
  const g = file(b.pram, mem, 5, 'g', Buffer.alloc(0), 1);
  g.xattrs = [['user.big', big], ['trusted.t', Buffer.alloc(0)]];
  const link = file(b.pram, mem, 6, 'ln', Buffer.from('d/sub/f'), 1); link.mode = 0o120777;
  const fifo = node(7, 0o10644, [{ parent: 2, name: 'fifo' }]);
  const chr = node(8, 0o20600, [{ parent: 2, name: 'null' }], { rdev: 0x103 });
  assert.equal(b.pram.checkpoint([r, dir, sub, f, g, link, fifo, chr]), 0);
  const types = new Set<number>();
  for (let pfn = h.headPfn; pfn; pfn = new LinkPageView(mem.page(pfn)).linkPfn) {
    const l = new LinkPageView(mem.page(pfn));
    for (let i = 0; i < l.len; i++) types.add(l.entry(i).flags & ENTRY_TYPE_MASK);
  }
  assert.deepEqual([...types].sort(), [EntryType.Meta, EntryType.Data, EntryType.Node, EntryType.Name, EntryType.Xattr]);

  const a = boot(mem, h);
  assert.deepEqual(a.image.losses, []);
  const got = sorted(a.image.nodes);
  assert.deepEqual(got.map((n) => n.ino), [1, 2, 3, 4, 5, 6, 7, 8]);
  const [R, D, S, F, G, L, P, C] = got as [NodeImage, NodeImage, NodeImage, NodeImage, NodeImage, NodeImage, NodeImage, NodeImage];
  assert.deepEqual([R.mode, R.uid, R.names, R.xattrs], [0o40700, 5, [], [['user.root', Uint8Array.from([0x72])]]]);
  assert.deepEqual([D.mode, D.uid, D.gid, D.atimeNs, D.names], [0o40755, 7, 8, 1n << 62n, [{ parent: 1, name: 'd' }]]);
  assert.deepEqual(S.names, [{ parent: 2, name: 'sub' }]);
  assert.deepEqual(F.names, [{ parent: 3, name: 'f' }, { parent: 1, name: 'hard' }, { parent: 2, name: 'hard2' }]);
  assert.equal(contentOf(a.pram, mem, F).toString(), 'hello');
  assert.deepEqual(F.xattrs, [['user.small', Uint8Array.from([0x78])]]);
  assert.deepEqual(G.xattrs, [['user.big', Uint8Array.from(big)], ['trusted.t', new Uint8Array(0)]]);
  assert.equal(L.mode, 0o120777);
  assert.equal(contentOf(a.pram, mem, L).toString(), 'd/sub/f');
  assert.equal(P.mode, 0o10644);
  assert.deepEqual([C.mode, C.rdev], [0o20600, 0x103]);
});

test('an image of regular files in the root holds only META and DATA entries (root attributes not saved)', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  const r = root(); r.mode = 0o40700;
  const f = file(b.pram, mem, 2, 'a', Buffer.alloc(10, 1)); f.xattrs = [['user.k', Buffer.from('v')]]; // inline: still v1
  assert.equal(b.pram.checkpoint([r, f]), 0);
  const l = new LinkPageView(mem.page(h.headPfn));
  assert.deepEqual([l.entry(0).type, l.entry(1).type, l.len], [EntryType.Meta, EntryType.Data, 2]);
  const a = boot(mem, h);
  assert.equal(sorted(a.image.nodes)[0]!.mode, 0o40755);          // default root: its mode was not saved
  assert.deepEqual(byName(a.image, 'a').xattrs, [['user.k', Uint8Array.from([0x76])]]);
});

test('RFC-written image without tails: files get inos in the root', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  assert.equal(b.pram.checkpoint([root(), file(b.pram, mem, 9, 'x', Buffer.from('abc'))]), 0);
  const l = new LinkPageView(mem.page(h.headPfn));
  const meta = mem.page(l.entry(0).pfn);
  meta.fill(0xa5, 272);                                              // what an RFC page may hold after its 271 bytes
  l.entry(0).csum = (await_crc(meta)); l.seal();
  const a = boot(mem, h);
  assert.deepEqual(a.image.losses, []);
  const x = byName(a.image, 'x');
  assert.equal(x.ino, 2);
  assert.deepEqual(x.names, [{ parent: 1, name: 'x' }]);
  assert.equal(contentOf(a.pram, mem, x).toString(), 'abc');
});

import { crc32c } from '../format/crc.js';
function await_crc(b: Buffer): number { return crc32c(b); }

test('skip pointer: a damaged link page loses only its entries, the chain goes on', () => {
  const mem = newRam(2048), h = new MemoryHandoff();
  const b = boot(mem, h);
  const nodes = [root()];
  const n = 200;                       // one-page files: 400 entries, 3 link pages (169 + 169 + 62)
  for (let i = 0; i < n; i++) nodes.push(file(b.pram, mem, 2 + i, `f${i}`, Buffer.alloc(PS, i & 0xff)));
  assert.equal(b.pram.checkpoint(nodes), 0);
  const second = new LinkPageView(mem.page(h.headPfn)).linkPfn;
  const third = new LinkPageView(mem.page(second)).linkPfn;
  assert.equal(new LinkPageView(mem.page(h.headPfn)).pad, third);  // head's skip pointer
  mem.page(second)[500] ^= 0xff;
  const rfc = boot(mem, h);
  assert.ok(rfc.log.includes('PRAM: Reservation failed: -22'));
  const s = boot(mem, h, { salvage: true });
  const lost = n - (s.image.nodes.length - 1);
  assert.ok(lost > 0 && lost <= linkLenMax(PS) / 2 + 1, `lost ${lost}`);
  assert.ok(s.image.losses.some((l) => /resumed at pfn/.test(l.what)));
  assert.equal(contentOf(s.pram, mem, byName(s.image, `f${n - 1}`))[0], (n - 1) & 0xff);  // from the third link page
});

test('orphans: a lost parent directory moves its children to /lost+found', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  const dir = node(2, 0o40755, [{ parent: 1, name: 'd' }]);
  const f = file(b.pram, mem, 3, 'f', Buffer.from('kept'), 2);
  assert.equal(b.pram.checkpoint([root(), dir, f]), 0);
  const l = new LinkPageView(mem.page(h.headPfn));
  mem.page(l.entry(1).pfn)[0] ^= 1;                                   // dir's NODE page (after the root's)
  const s = boot(mem, h, { salvage: true });
  const moved = byName(s.image, '#3');
  assert.equal(contentOf(s.pram, mem, moved).toString(), 'kept');
  assert.ok(s.image.losses.some((x) => x.path === '/lost+found/#3'));
  assert.ok(s.image.losses.some((x) => /NODE page .* failed crc32c/.test(x.what)));
});

test('arena header handoff: slots alternate, a torn newer slot falls back to the older', () => {
  const mem = newRam();
  const h = ArenaHeaderHandoff.format(mem);
  const b = boot(mem, h, { salvage: true });
  // pfn 0 is reserved by boot(); the header is what it holds.
  assert.equal(b.pram.checkpoint([root(), file(b.pram, mem, 2, 'a', Buffer.from('one'))]), 0);
  const first = h.read()!;
  assert.equal(first.generation, 1);
  const b2 = boot(mem, h, { salvage: true });
  const a = byName(b2.image, 'a');
  const w = b2.pram.writable(a.pages.get(0));
  mem.page(w).write('two'); a.pages.set(0, w);
  assert.equal(b2.pram.checkpoint(b2.image.nodes), 0);
  assert.equal(h.read()!.generation, 2);
  const hv = new HeaderView(mem.page(0));
  assert.deepEqual([hv.readSlot(0)?.generation, hv.readSlot(1)?.generation], [1, 2]);
  mem.page(0)[128 + 9] ^= 1;                                           // tear slot B
  assert.deepEqual(h.read(), first);
  // The generation-1 chain is gone (freed after commit 2), so only a valid-looking head remains; boot must not crash.
  const b3 = boot(mem, h, { salvage: true });
  assert.ok(Array.isArray(b3.image.nodes));
  const bad = ArenaHeaderHandoff.attach(newRam(4));
  assert.ok(!(bad instanceof ArenaHeaderHandoff) && bad.field === 'magic');
});

test('determinism: the same nodes give the same chain bytes', () => {
  const run = () => {
    const mem = newRam(), h = new MemoryHandoff();
    const b = boot(mem, h);
    const r = new Rand(3);
    assert.equal(b.pram.checkpoint([root(), file(b.pram, mem, 2, 'a', r.bytes(3 * PS))]), 0);
    return Buffer.from(mem.page(h.headPfn));
  };
  assert.deepEqual(run(), run());
});

test('the RFC loader reads a pram v1 image: every file, byte for byte', () => {
  const mem = newRam(1024), h = new MemoryHandoff();
  const b = boot(mem, h);
  const r = new Rand(9);
  const want = new Map<string, Buffer>();
  const nodes = [root()];
  for (let i = 0; i < 60; i++) {           // enough entries for several link pages
    const c = r.bytes(PS * (i % 5) + 1 + i * 7);
    want.set(`dump-${i}.img`, c);
    nodes.push(file(b.pram, mem, 2 + i, `dump-${i}.img`, c));
  }
  assert.equal(b.pram.checkpoint(nodes), 0);
  assert.deepEqual(rfcLoad(mem, h.headPfn), want);
  // And a v2 image stops the RFC loader at its first NODE entry, as documented.
  const d = boot(mem, h);
  assert.equal(d.pram.checkpoint([...d.image.nodes, node(500, 0o40755, [{ parent: 1, name: 'dir' }])]), 0);
  assert.equal(rfcLoad(mem, h.headPfn), 'EINVAL type 3');
});
