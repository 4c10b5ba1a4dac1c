// What a lazy mount of a large image must still answer exactly (issue 13):
// SPAN records that cross log pages (every whole 16 MiB block's does) are read
// through one reused scratch, their crcs copied out, so several of them in one
// log keep each its own crcs (a full mount finds no damage, a lazy one reads
// every byte back); an unchanged unmount after a lazy mount leaves the image
// byte for byte, and a change made after a lazy mount is saved by the unmount;
// a flipped bit in a data page of such a span is still found by a full mount,
// that page alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SPAN_BLOCK } from '../format/v3.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { copyRam, newRam, PS } from './livekit.js';
import { stepClock } from './testkit.js';
import { Volume } from './volume.js';

function mountWith(ram: SimRam, verify: 'full' | 'lazy'): Volume {
  const handoff = ArenaHeaderHandoff.attach(ram);
  if (!(handoff instanceof ArenaHeaderHandoff)) throw new Error(handoff.message);
  return Volume.mount({ mem: ram, handoff, clock: stepClock(), keepMemOpen: true, verify });
}

const PAGES = 2 * SPAN_BLOCK + 300;   // two whole blocks and a piece: three SPANs, two of 16 KiB of crcs

/** A RAM holding one big file of seeded bytes, compacted (the spans of a fresh log), then unmounted. */
function bigImage(seed: number): { ram: SimRam; body: Buffer; ino: number } {
  const ram = newRam(PAGES + 2048);
  const vol = mountWith(ram, 'full');
  const made = vol.mknod(1, 'big', 0o100644, 0, 0, 0);
  if (typeof made === 'number') assert.fail(`mknod ${made}`);
  const body = Buffer.from(new Prng(seed).bytes(PAGES * PS));
  assert.equal(vol.write(made.ino, 0, body), body.length);
  (vol as unknown as { checkpoints: { wholeNext: boolean } }).checkpoints.wholeNext = true;   // a compaction: whole blocks as spans
  assert.equal(vol.unmount(), 0);
  return { ram, body, ino: made.ino };
}

function readAll(vol: Volume, ino: number, bytes: number): Buffer {
  const got = vol.read(ino, 0, bytes);
  if (typeof got === 'number') assert.fail(`read ${got}`);
  return got;
}

test('spans whose records cross log pages keep each their own crcs: a full mount finds nothing, a lazy one reads every byte', () => {
  const { ram, body, ino } = bigImage(13);
  for (const verify of ['full', 'lazy'] as const) {
    const vol = mountWith(copyRam(ram), verify);
    assert.deepEqual(vol.losses, [], `${verify}: no losses`);
    assert.ok(readAll(vol, ino, body.length).equals(body), `${verify}: the file reads back`);
    assert.deepEqual(vol.losses, [], `${verify}: no late losses either`);
    vol.detach();
  }
});

test('after a lazy mount: an unchanged unmount leaves the image as it was; a change made after it is saved', () => {
  const { ram, body, ino } = bigImage(14);
  const before = copyRam(ram);
  const lazy = mountWith(ram, 'lazy');
  assert.equal(lazy.unmount(), 0);
  const again = mountWith(ram, 'full');
  assert.deepEqual(again.losses, []);
  assert.ok(readAll(again, ino, body.length).equals(body), 'the unchanged unmount kept the file');
  again.detach();
  for (let pfn = 1; pfn < ram.pageCount; pfn++) {
    if (!Buffer.from(ram.page(pfn)).equals(Buffer.from(before.page(pfn)))) assert.fail(`pfn ${pfn} changed by an unmount with nothing changed`);
  }
  const changed = mountWith(ram, 'lazy');
  const patch = Buffer.alloc(PS, 0x5a);
  assert.equal(changed.write(ino, (SPAN_BLOCK + 7) * PS, patch), PS);
  assert.equal(changed.unmount(), 0);
  const after = mountWith(ram, 'full');
  assert.deepEqual(after.losses, []);
  const want = Buffer.from(body);
  patch.copy(want, (SPAN_BLOCK + 7) * PS);
  assert.ok(readAll(after, ino, want.length).equals(want), 'the change made after the lazy mount was saved');
  after.detach();
});

test('a flipped bit in a data page of a span crossing log pages: a full mount loses that page alone, a lazy one at its read', () => {
  const { ram, body, ino } = bigImage(15);
  const probe = mountWith(copyRam(ram), 'lazy');
  const pfnOf = (probe as unknown as { t: { get(ino: number): { pages: { get(i: number): number } } } }).t.get(ino).pages;
  const index = SPAN_BLOCK + 123, pfn = pfnOf.get(index);
  probe.detach();
  assert.ok(pfn > 0, 'the page is mapped');
  ram.page(pfn)[77]! ^= 0x10;
  const full = mountWith(copyRam(ram), 'full');
  assert.equal(full.losses.length, 1, JSON.stringify(full.losses));
  assert.match(full.losses[0]!.what, new RegExp(`data page ${index} `));
  full.detach();
  const lazy = mountWith(copyRam(ram), 'lazy');
  assert.deepEqual(lazy.losses, [], 'lazy: nothing known at mount');
  assert.ok(readAll(lazy, ino, index * PS).equals(body.subarray(0, index * PS)), 'lazy: the pages before it read back');
  assert.ok(typeof lazy.read(ino, index * PS, PS) === 'number', 'lazy: the damaged page reads an error');
  assert.equal(lazy.losses.length, 1);
  lazy.detach();
});
