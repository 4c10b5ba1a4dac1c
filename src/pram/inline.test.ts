// A node's inline bytes (image.ts NodeImage.inline) through the v1/v2 chain
// writer: written into a DATA entry of the chain's own page, loaded back (also
// by the RFC-strict boot) as an ordinary file, freed at the next commit, and
// counted by the cost model the space ledger uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../format/crc.js';
import { ENOSPC } from '../format/errno.js';
import { ENTRY_LRU, ENTRY_TYPE_MASK, EntryType, LinkPageView } from '../format/v1.js';
import { Owner } from '../boot/frames.js';
import { MemoryHandoff } from './handoff.js';
import { chainPagesFor } from './save.js';
import { boot, byName, contentOf, file, newRam, node, PS, root } from './testkit.js';

const tiny = Buffer.from('a hundred bytes or so, held beside the inode while mounted: '.padEnd(100, '.'));

function entries(mem: ReturnType<typeof newRam>, head: number) {
  const out: { flags: number; csum: number; pfn: number; index: number }[] = [];
  for (let pfn = head; pfn; pfn = new LinkPageView(mem.page(pfn)).linkPfn) {
    const l = new LinkPageView(mem.page(pfn));
    for (let i = 0; i < l.len; i++) { const e = l.entry(i); out.push({ flags: e.flags, csum: e.csum, pfn: Number(e.pfn), index: Number(e.index) }); }
  }
  return out;
}

test('inline bytes become a DATA entry (index 0, no LRU, crc32c of the zero-padded page) and load as an ordinary file, also RFC-strict', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  const small = node(2, 0o100644, [{ parent: 1, name: 'small' }], { size: tiny.length, inline: tiny });
  const big = file(b.pram, mem, 3, 'big', Buffer.alloc(PS + 10, 7));
  const empty = node(4, 0o100600, [{ parent: 1, name: 'empty' }], { inline: Buffer.alloc(0) });
  assert.equal(b.pram.checkpoint([root(), small, big, empty]), 0);
  const es = entries(mem, h.headPfn);
  // RFC-compatible tree: no root; META small, DATA small:0, META big, 2x DATA big, META empty.
  assert.deepEqual(es.map((e) => e.flags & ENTRY_TYPE_MASK), [EntryType.Meta, EntryType.Data, EntryType.Meta, EntryType.Data, EntryType.Data, EntryType.Meta]);
  const d = es[1]!;
  assert.equal(d.index, 0);
  assert.equal(d.flags & ENTRY_LRU, 0, 'never in the page cache, as a copy');
  assert.equal(d.csum, crc32c(mem.page(d.pfn)));
  assert.deepEqual(mem.page(d.pfn).subarray(0, tiny.length), tiny);
  assert.ok(mem.page(d.pfn).subarray(tiny.length).every((x) => x === 0), 'zero past the end');

  for (const salvage of [false, true]) {
    const a = boot(mem, h, { salvage });
    assert.deepEqual(a.image.losses, [], `salvage ${salvage}`);
    const s = byName(a.image, 'small');
    assert.equal(s.inline ?? null, null, 'v2 has no inline form: a paged file');
    assert.equal(s.size, tiny.length);
    assert.equal(s.pages.count, 1);
    assert.deepEqual(contentOf(a.pram, mem, s), tiny);
    assert.deepEqual(contentOf(a.pram, mem, byName(a.image, 'big')), Buffer.alloc(PS + 10, 7));
    assert.equal(byName(a.image, 'empty').pages.count, 0);
  }
});

test('the chain owns the inline page: the next commit frees it, so repeated checkpoints hold steady', () => {
  const mem = newRam(), h = new MemoryHandoff();
  const b = boot(mem, h);
  const nodes = [root(), ...Array.from({ length: 10 }, (_, i) => node(2 + i, 0o100644, [{ parent: 1, name: `f${i}` }], { size: tiny.length, inline: tiny }))];
  const free0 = b.allocator.freeCount;
  assert.equal(b.pram.checkpoint(nodes), 0);
  const one = free0 - b.allocator.freeCount;
  assert.equal(one, 10 * 2 + 1, 'a META page and an inline page per file, one link page');
  assert.equal(one, chainPagesFor({ records: 10, bytes: 0, data: 0, copies: 0, inline: 10 }, PS), 'the cost model says as much');
  for (let k = 0; k < 3; k++) assert.equal(b.pram.checkpoint(nodes), 0);
  assert.equal(free0 - b.allocator.freeCount, one);
  for (const e of entries(mem, h.headPfn)) if ((e.flags & ENTRY_TYPE_MASK) === EntryType.Data) assert.equal(b.frames.owner[e.pfn], Owner.Data);
});

test('no room for an inline page: the checkpoint fails with ENOSPC, frees what it took, and the previous one stays', () => {
  const mem = newRam(64), h = new MemoryHandoff();
  const b = boot(mem, h);
  const first = [root(), node(2, 0o100644, [{ parent: 1, name: 'a' }], { size: 3, inline: Buffer.from('abc') })];
  assert.equal(b.pram.checkpoint(first), 0);
  const head = h.headPfn;
  const hog: number[] = [];
  while (b.allocator.freeCount > 3) hog.push(b.allocator.alloc(Owner.Data));
  b.allocator.releaseHeld();
  const free = b.allocator.freeCount;
  const more = [...first, ...[3, 4].map((ino) => node(ino, 0o100644, [{ parent: 1, name: `n${ino}` }], { size: 1, inline: Buffer.from('x') }))];
  assert.equal(b.pram.checkpoint(more), -ENOSPC);
  assert.equal(b.allocator.freeCount, free, 'every page it took went back');
  assert.equal(h.headPfn, head);
  for (const p of hog) b.allocator.free(p);
  const a = boot(mem, h);
  assert.deepEqual(contentOf(a.pram, mem, byName(a.image, 'a')), Buffer.from('abc'));
});

test('chainPagesFor: an inline node is a page and an entry', () => {
  assert.equal(chainPagesFor({ records: 1, bytes: 0, data: 0, copies: 0, inline: 1 }, PS), 3);
  assert.equal(chainPagesFor({ records: 100, bytes: 0, data: 0, copies: 0, inline: 100 }, PS), 200 + 2, '200 entries: two link pages');
});
