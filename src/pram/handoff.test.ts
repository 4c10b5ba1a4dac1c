// The arena header's slots as the handoff sees them: never-written vs damaged
// slots, the loss or refusal a damaged slot becomes, the second link pfn kept
// in the slot at commit, and reserve resuming there past a damaged head link page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView, SLOT_A_AT, SLOT_B_AT } from '../format/header.js';
import { LinkPageView } from '../format/v1.js';
import { ArenaHeaderHandoff } from './handoff.js';
import { Pram } from './pram.js';
import { boot, file, newRam, root } from './testkit.js';
import { Memblock } from '../boot/memblock.js';
import { BannedRegions } from '../boot/banned.js';
import { Owner, PageFrames } from '../boot/frames.js';
import type { NodeImage } from './image.js';

test('slots: all-zero is never written, a crc failure is damage, the second link pfn round-trips', () => {
  const page = Buffer.alloc(4096);
  const h = new HeaderView(page);
  h.format({ pageSize: 4096, pageCount: 64, flags: 0 });
  assert.deepEqual(h.inspectSlot(0), { state: 'empty' });
  h.writeSlot(0, { generation: 3, headPfn: 9, pages: 4, nodes: 2, secondPfn: 17 });
  h.writeSlot(1, { generation: 4, headPfn: 12, pages: 4, nodes: 2 });          // written before extension 1
  assert.deepEqual(h.readSlot(0), { generation: 3, headPfn: 9, pages: 4, nodes: 2, secondPfn: 17 });
  assert.deepEqual(h.readSlot(1), { generation: 4, headPfn: 12, pages: 4, nodes: 2 });
  assert.equal(page.readUInt32LE(SLOT_A_AT + 32), 1);                          // extension version
  assert.equal(page.readBigUInt64LE(SLOT_A_AT + 40), 17n);                     // second link pfn
  page[SLOT_B_AT + 3] ^= 0x10;
  const st = h.inspectSlot(1);
  assert.equal(st.state, 'damaged');
  assert.equal(h.current()?.which, 0);
  assert.deepEqual(h.survey().damaged.map((d) => d.which), [1]);
});

/** A chain of several link pages: 400 empty files, one META entry each (169 per link page). */
function manyFiles(pram: Pram, mem: ReturnType<typeof newRam>): NodeImage[] {
  const ns = [root()];
  for (let i = 0; i < 400; i++) ns.push(file(pram, mem, i + 2, `f${i}`, Buffer.alloc(0)));
  return ns;
}

function reserveWith(mem: ReturnType<typeof newRam>, head: number, secondPfn?: number) {
  const memblock = new Memblock(PageFrames.forMem(mem), new BannedRegions());
  memblock.reserve(0, 1, Owner.Header, 'arena header');
  return Pram.reserve(mem, memblock, head, () => {}, { salvage: true, firstPfn: 1, secondPfn });
}

test('commit keeps the second link pfn; a damaged head link page then loses only its own entries', () => {
  const mem = newRam(1024);
  const h = ArenaHeaderHandoff.format(mem);
  const b = boot(mem, h, { salvage: true });
  assert.equal(b.pram.checkpoint(manyFiles(b.pram, mem)), 0);
  const saved = h.read()!;
  const second = new LinkPageView(mem.page(saved.headPfn)).linkPfn;
  assert.ok(second > 0, 'the chain has a second link page');
  assert.equal(saved.secondPfn, second);

  const headLen = new LinkPageView(mem.page(saved.headPfn)).len;
  const total = reserveWith(mem, saved.headPfn, saved.secondPfn).entries.length;
  mem.page(saved.headPfn)[100] ^= 4;                                           // head link page damaged
  const without = reserveWith(mem, saved.headPfn);
  assert.match(without.losses[0]!.what, /chain ends here/);
  assert.equal(without.links.length, 0);

  const r = reserveWith(mem, saved.headPfn, saved.secondPfn);
  assert.match(r.losses[0]!.what, new RegExp(`resumed at pfn:${second.toString(16)} \\(the header slot's second link pfn\\)`));
  assert.equal(r.links[0], second);
  assert.equal(r.links.length, 2, 'the skip pointer of the second page is not needed: the chain goes on');
  // The head held 169 entries: only those are lost.
  assert.equal(headLen, 169);
  assert.equal(r.entries.length - 1, total - headLen);                        // - 1: the gap marker
});

test('a damaged slot is a loss naming it and the checkpoint mounted; no valid slot left is a refusal', () => {
  const mem = newRam(256);
  const h = ArenaHeaderHandoff.format(mem);
  assert.deepEqual(h.slotDamage(), { losses: [], refusal: null });            // fresh: nothing damaged
  const b = boot(mem, h, { salvage: true });
  assert.equal(b.pram.checkpoint([root(), file(b.pram, mem, 2, 'a', Buffer.from('one'))]), 0);
  mem.page(0)[SLOT_A_AT + 9] ^= 1;                                             // the only slot
  const only = h.slotDamage();
  assert.deepEqual(only.losses, []);
  assert.match(only.refusal!, /^arena header slot A is damaged \(crc saved 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\) and no slot holds a valid checkpoint: .*'pram format --force'/);
  mem.page(0)[SLOT_A_AT + 9] ^= 1;
  const b2 = boot(mem, h, { salvage: true });
  assert.equal(b2.pram.checkpoint(b2.image.nodes), 0);                        // generation 2 in slot B
  mem.page(0)[SLOT_B_AT + 20] ^= 0x80;
  const newer = h.slotDamage();
  assert.equal(newer.refusal, null);
  assert.equal(newer.losses.length, 1);
  assert.match(newer.losses[0]!.what, /^arena header slot B is damaged \(crc saved 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\); mounted the checkpoint of slot A, generation 1; anything newer may be lost$/);
  // The next commit writes the damaged slot (it is the older one now): the damage is gone, nothing else lost.
  const b3 = boot(mem, h, { salvage: true });
  assert.equal(b3.pram.checkpoint(b3.image.nodes), 0);
  assert.deepEqual(h.slotDamage(), { losses: [], refusal: null });
  assert.deepEqual(h.read(), { headPfn: h.read()!.headPfn, generation: 2, secondPfn: 0 });
});
