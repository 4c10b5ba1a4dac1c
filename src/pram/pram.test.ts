// The engine on the simulated machine's memory: save -> reserve -> load round
// trips, the RFC's reservation rollback, corruption detection, bounded walks,
// copy-on-write after a checkpoint, extents and lazy verification.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, ENTRY_TYPE_MASK, LinkPageView } from '../format/v1.js';
import { Owner, PageFlag } from '../boot/frames.js';
import { EIO, ENOSPC } from '../format/errno.js';
import { boot, byName, contentOf, file, MemoryHandoff, newRam, PS, Rand, root, type Booted } from './testkit.js';
import type { SimRam } from '../mem/simram.js';

/** Types of every entry of the chain from head, in order. */
function chainTypes(mem: SimRam, head: number): number[] {
  const types: number[] = [];
  for (let pfn = head, n = 0; pfn !== 0 && n < mem.pageCount; n++) {
    const l = new LinkPageView(mem.page(pfn));
    for (let i = 0; i < l.len; i++) types.push(l.entry(i).flags & ENTRY_TYPE_MASK);
    pfn = l.linkPfn;
  }
  return types;
}

function saveFiles(mem: SimRam, h: MemoryHandoff, count = 3, seed = 1): { b: Booted; contents: Map<string, Buffer> } {
  const b = boot(mem, h);
  const r = new Rand(seed);
  const contents = new Map<string, Buffer>();
  const nodes = [root()];
  for (let i = 0; i < count; i++) {
    const c = r.bytes(PS * (i + 1) + 100 * i);
    contents.set(`f${i}`, c);
    nodes.push(file(b.pram, mem, 2 + i, `f${i}`, c));
  }
  assert.equal(b.pram.checkpoint(nodes), 0);
  return { b, contents };
}

test('v1 round trip: save, reserve at boot, load with every byte and the RFC log', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const { contents } = saveFiles(mem, h);
  assert.ok(h.headPfn > 0);
  assert.deepEqual([...new Set(chainTypes(mem, h.headPfn))].sort(), [EntryType.Meta, EntryType.Data]); // RFC-readable
  const b = boot(mem, h);
  assert.equal(b.log[0], 'PRAM: Examining persistent memory...');
  assert.match(b.log[1]!, /^PRAM: \d+ pages reserved$/);
  assert.equal(b.reserved.pages, 1 + 3 + (1 + 3 + 4));       // link + metas + data (1, 3 and 4 pages)
  assert.deepEqual(b.image.losses, []);
  for (const [name, c] of contents) {
    const n = byName(b.image, name);
    assert.deepEqual(contentOf(b.pram, mem, n), c, name);
    assert.equal(n.mode, 0o100644); assert.equal(n.uid, 1000); assert.equal(n.mtimeNs, 22n);
    for (const [, pfn] of n.pages.entries()) assert.ok(b.frames.flags[pfn]! & PageFlag.Frozen, 'adopted pages are frozen');
  }
});

test('sparse file: holes are not stored and read back as holes', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b0 = boot(mem, h);
  const c = Buffer.alloc(PS * 4, 7); c.fill(0, PS, 3 * PS);
  assert.equal(b0.pram.checkpoint([root(), file(b0.pram, mem, 2, 'sparse', c, 1, [1, 2])]), 0);
  const b = boot(mem, h);
  const n = byName(b.image, 'sparse');
  assert.equal(n.pages.count, 2);
  assert.deepEqual(contentOf(b.pram, mem, n), c);
});

test('reservation rollback: an early allocation on a saved page drops the image, nothing stays reserved', () => {
  const mem = newRam(), h = new MemoryHandoff();
  saveFiles(mem, h);
  const victim = new LinkPageView(mem.page(h.headPfn)).entry(4).pfn;   // a data page of f1
  const b = boot(mem, h, { early: [[victim, 1]] });
  assert.ok(b.log.includes(`PRAM: pfn:${victim.toString(16)} busy`), b.log.join('\n'));
  assert.ok(b.log.includes('PRAM: Reservation failed: -16'));
  assert.deepEqual(b.memblock.reservations().map((r) => r.what), ['zero page', 'early']);
  assert.equal(b.frames.countOwned(Owner.Link) + b.frames.countOwned(Owner.Meta) + b.frames.countOwned(Owner.Data), 0);
  assert.equal(b.image.nodes.length, 1);                  // the root only
  assert.match(b.image.losses[0]!.what, /image dropped/);
});

test('salvage: a busy page loses only its file range', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const { contents } = saveFiles(mem, h);
  const victim = new LinkPageView(mem.page(h.headPfn)).entry(4).pfn;
  const b = boot(mem, h, { early: [[victim, 1]], salvage: true });
  assert.ok(b.log.some((l) => l.includes('salvage')));
  assert.deepEqual(contentOf(b.pram, mem, byName(b.image, 'f0')), contents.get('f0'));
  assert.deepEqual(contentOf(b.pram, mem, byName(b.image, 'f2')), contents.get('f2'));
  const loss = b.image.losses.find((l) => l.pfn === victim)!;
  assert.equal(loss.path, '/f1');
  assert.deepEqual(loss.range, { start: PS, end: 2 * PS });
  assert.match(loss.what, /reserved by someone else/);
  assert.equal(b.image.losses.length, 1);
  assert.equal(byName(b.image, 'f1').pages.count, 2);
});

test('a corrupted link page is detected (RFC: dropped, with the pfn)', () => {
  const mem = newRam(), h = new MemoryHandoff();
  saveFiles(mem, h);
  mem.page(h.headPfn)[200] ^= 0x10;
  const b = boot(mem, h);
  assert.ok(b.log.includes(`PRAM: pfn:${h.headPfn.toString(16)} corrupted`));
  assert.ok(b.log.includes('PRAM: Reservation failed: -22'));
  assert.equal(b.memblock.reservedCount(), 1);
});

test('a corrupted data page is detected: RFC stops the load, salvage keeps the rest and EIOs the range', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const { contents } = saveFiles(mem, h);
  const bad = new LinkPageView(mem.page(h.headPfn)).entry(3).pfn;  // f1 page 0
  mem.page(bad)[9] ^= 1;
  const rfc = boot(mem, h);
  assert.ok(rfc.log.includes(`PRAM: pfn:${bad.toString(16)} corrupted`));
  assert.ok(rfc.log.includes('PRAM: Failed to load FS tree: -22'));
  assert.ok(!rfc.image.nodes.some((n) => n.names[0]?.name === 'f2'), 'RFC: nothing after the failure');
  const s = boot(mem, h, { salvage: true });
  const f1 = byName(s.image, 'f1');
  assert.equal(s.pram.readable(f1.pages.get(0)), -EIO);
  assert.equal(s.pram.readable(f1.pages.get(1)), 0);
  assert.deepEqual(contentOf(s.pram, mem, byName(s.image, 'f2')), contents.get('f2'));
  const loss = s.image.losses.find((l) => l.pfn === bad)!;
  assert.equal(loss.path, '/f1');
  assert.deepEqual(loss.range, { start: 0, end: PS });
});

test('a cycle in the chain ends the walk with an error', () => {
  const mem = newRam(), h = new MemoryHandoff();
  saveFiles(mem, h);
  const l = new LinkPageView(mem.page(h.headPfn));
  l.linkPfn = h.headPfn; l.seal();                                 // the link page points at itself
  const b = boot(mem, h);
  assert.ok(b.log.includes(`PRAM: pfn:${h.headPfn.toString(16)} revisited`), b.log.join('\n'));
  assert.ok(b.log.includes('PRAM: Reservation failed: -22'));
  const s = boot(mem, h, { salvage: true });
  assert.equal(s.image.nodes.length, 4);                           // the entries before the cycle are kept
  assert.ok(s.image.losses.some((x) => /cycle/.test(x.what)));
});

test('copy on write after a checkpoint: a crash before the next one comes back to the checkpoint', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const { b, contents } = saveFiles(mem, h);
  // Find f0's page: the nodes given to checkpoint are the fs's; rebuild from a load instead.
  const live = boot(mem, h);   // a new owner, as after a restart
  const f0 = byName(live.image, 'f0');
  const old = f0.pages.get(0);
  const w = live.pram.writable(old);
  assert.notEqual(w, old, 'a frozen page is copied before a write');
  mem.page(w).fill(0xee);
  f0.pages.set(0, w);
  assert.equal(live.pram.writable(w), w, 'the copy is not frozen');
  assert.ok(live.pram.stats().deferredFrees >= 1);
  void b;
  // The owner dies here (no checkpoint): the next boot sees the committed state.
  const again = boot(mem, h);
  assert.deepEqual(contentOf(again.pram, mem, byName(again.image, 'f0')), contents.get('f0'));
  // After a checkpoint the new content is what comes back, and the old page was freed.
  assert.equal(live.pram.checkpoint(live.image.nodes), 0);
  assert.equal(live.frames.owner[old], Owner.None);
  const after = boot(mem, h);
  assert.equal(contentOf(after.pram, mem, byName(after.image, 'f0'))[0], 0xee);
});

test('ENOSPC during a checkpoint leaves the previous checkpoint intact', () => {
  const mem = newRam(64), h = new MemoryHandoff();
  const b = boot(mem, h);
  const a = file(b.pram, mem, 2, 'a', Buffer.alloc(PS, 1));
  assert.equal(b.pram.checkpoint([root(), a]), 0);
  const head = h.headPfn, gen = h.generation;
  const nodes = [root(), a];
  let ino = 3;
  for (;;) {   // fill memory with data, leaving no room for meta and link pages
    const pfn = b.pram.allocData();
    if (pfn < 0) { assert.equal(pfn, -ENOSPC); break; }
    const n = file(b.pram, mem, ino++, `x${ino}`, Buffer.alloc(0));
    n.size = PS; n.pages.set(0, pfn); nodes.push(n);
  }
  assert.equal(b.pram.checkpoint(nodes), -ENOSPC);
  assert.deepEqual([h.headPfn, h.generation], [head, gen]);
  const again = boot(mem, h);
  assert.equal(contentOf(again.pram, mem, byName(again.image, 'a'))[0], 1);
});

test('extents: contiguous runs become EXTENT entries and round trip', () => {
  const mem = newRam(1024), h = new MemoryHandoff();
  const b = boot(mem, h, { extents: true });
  const c = new Rand(5).bytes(PS * 100 + 17);
  assert.equal(b.pram.checkpoint([root(), file(b.pram, mem, 2, 'big', c)]), 0);
  const types = chainTypes(mem, h.headPfn);
  assert.deepEqual(types, [EntryType.Meta, EntryType.Extent, EntryType.Extent, EntryType.Extent, EntryType.Extent]); // 32+32+32+5
  const full = boot(mem, h, { extents: true });
  assert.deepEqual(contentOf(full.pram, mem, byName(full.image, 'big')), c);
  const lazy = boot(mem, h, { extents: true, verify: 'lazy' });
  const big = byName(lazy.image, 'big');
  mem.page(big.pages.get(40))[0] ^= 1;             // damage inside the second run
  assert.equal(lazy.pram.readable(big.pages.get(0)), 0);
  assert.equal(lazy.pram.readable(big.pages.get(33)), -EIO);
  const loss = lazy.pram.stats().losses[0]!;
  assert.equal(loss.path, '/big');
  assert.deepEqual(loss.range, { start: 32 * PS, end: 64 * PS });
});

test('lazy verification: only link and meta pages at load, a damaged page caught on first read', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const { contents } = saveFiles(mem, h);
  const f2pfn = new LinkPageView(mem.page(h.headPfn)).entry(8).pfn;  // f2 page 1
  mem.page(f2pfn)[100] ^= 4;
  const b = boot(mem, h, { verify: 'lazy' });
  assert.deepEqual(b.image.losses, []);
  assert.ok(b.frames.flags[f2pfn]! & PageFlag.Unverified);
  assert.deepEqual(contentOf(b.pram, mem, byName(b.image, 'f0')), contents.get('f0'));
  assert.equal(b.pram.readable(f2pfn), -EIO);
  assert.equal(b.pram.readable(f2pfn), -EIO);              // stays bad
  const [loss] = b.pram.stats().losses;
  assert.equal(loss!.path, '/f2');
  assert.deepEqual(loss!.range, { start: PS, end: 2 * PS });
  // Saved again without reading: the damage stays detectable in the next image.
  assert.equal(b.pram.checkpoint(b.image.nodes), 0);
  const next = boot(mem, h, { salvage: true });
  assert.ok(next.image.losses.some((l) => l.path === '/f2' && /failed crc32c/.test(l.what)));
});

test('banned data pages are copied to allowed pages for the chain, LRU cleared', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  const f = file(b.pram, mem, 2, 'f', Buffer.alloc(PS, 9));
  const pfn = f.pages.get(0);
  b.banned.add(pfn, pfn);
  assert.equal(b.pram.checkpoint([root(), f]), 0);
  const e = new LinkPageView(mem.page(h.headPfn)).entry(1);
  assert.notEqual(e.pfn, pfn);
  assert.equal(e.flags, EntryType.Data);                    // no LRU bit
  assert.equal(b.allocator.heldCount, 0);                   // held banned pages were released
  const again = boot(mem, h, { banned: [[pfn, pfn]] });
  assert.equal(contentOf(again.pram, mem, byName(again.image, 'f'))[0], 9);
});

test('writable(whole): a full overwrite neither copies nor verifies, and heals a damaged page', () => {
  const mem = newRam(), h = new MemoryHandoff();
  saveFiles(mem, h);
  const bad = new LinkPageView(mem.page(h.headPfn)).entry(1).pfn;   // f0 page 0
  mem.page(bad)[0] ^= 1;
  const b = boot(mem, h, { verify: 'lazy' });
  const f0 = byName(b.image, 'f0');
  assert.equal(b.pram.writable(bad), -EIO);                          // a partial write needs the old bytes
  const w = b.pram.writable(bad, true);
  assert.ok(w > 0 && w !== bad);
  assert.equal(b.pram.readable(w), 0);
  mem.page(w).fill(0x33); f0.pages.set(0, w);
  assert.equal(b.pram.checkpoint(b.image.nodes), 0);
  const again = boot(mem, h, { salvage: true });
  assert.deepEqual(again.image.losses, []);
  assert.equal(contentOf(again.pram, mem, byName(again.image, 'f0'))[0], 0x33);
});
