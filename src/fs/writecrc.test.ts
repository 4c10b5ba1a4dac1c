// A written page's checksum from the writer's own bytes (issues 13, 14): a
// page written whole by one call gets its crc32c at write time (Pram.written),
// from the caller's buffer, not read back. It must be exactly what a read-back
// gives, for full, partial, overlapping and repeated writes (seeded random);
// what is still Dirty is settled the old way; a sync's image verifies clean
// after a remount, and a bit flipped in such a page afterwards is still found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageFlag } from '../boot/frames.js';
import { crc32c } from '../format/crc.js';
import { Prng } from '../machine/prng.js';
import { Arena } from '../mem/arena.js';
import type { PhysMem } from '../mem/physmem.js';
import { SimRam } from '../mem/simram.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import { stepClock } from './testkit.js';
import { Volume } from './volume.js';

const PS = 4096, PAGES = 1024;

function mountOn(ram: PhysMem): Volume {
  const handoff = ArenaHeaderHandoff.attach(ram);
  if (!(handoff instanceof ArenaHeaderHandoff)) throw new Error(handoff.message);
  return Volume.mount({ mem: ram, handoff, clock: stepClock(), keepMemOpen: true, verify: 'full' });
}

function bytes(n: number, r: Prng): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r.below(256);
  return b;
}

/** Every page of ino that is no longer Dirty holds the checksum a read-back gives; the count of them. */
function checkSettled(vol: Volume, ino: number, what: string): number {
  const { frames, mem } = vol.pram!;
  const img = vol.images().find((n) => n.ino === ino)!;
  let settled = 0;
  for (const [index, pfn] of img.pages.entries()) {
    if (frames.flags[pfn]! & PageFlag.Dirty) continue;
    settled++;
    assert.equal(frames.csum[pfn], crc32c(mem.page(pfn)), `${what}: page ${index} (pfn ${pfn}): its checksum is the read-back's`);
  }
  return settled;
}

/** Seeded writes of whole pages, parts of pages and runs across both, over and again over the same bytes. */
function randomWrites(vol: Volume, ino: number, model: Buffer, r: Prng, n: number, what: string): number {
  let settled = 0;
  for (let i = 0; i < n; i++) {
    const kind = r.below(4);
    const off = kind === 0 ? r.below(64) * PS : r.below(64 * PS);
    const len = kind === 0 ? (1 + r.below(8)) * PS : kind === 1 ? 1 + r.below(PS) : 1 + r.below(12 * PS);
    const data = bytes(len, r);
    assert.equal(vol.write(ino, off, data), len, `${what}: write ${i}`);
    data.copy(model, off);
    settled = checkSettled(vol, ino, `${what}: after write ${i} (${len} bytes at ${off})`);
  }
  return settled;
}

for (const on of ['sim', 'arena'] as const) test(`a page's checksum taken at write time equals a read-back's (full, partial, overlapping, repeated writes; ${on === 'sim' ? 'simulated RAM' : 'a memfd arena written through its fd'}); the synced image verifies clean`, () => {
  const seed = Number(process.env.SEED ?? 0x5eed);
  const r = new Prng(seed);
  const ram = on === 'sim' ? new SimRam({ pageSize: PS, pageCount: PAGES }) : Arena.memfd('writecrc-test', PS * PAGES, { pageSize: PS });
  ArenaHeaderHandoff.format(ram, 0, 3);
  try {
    const vol = mountOn(ram);
    const ino = (vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
    const model = Buffer.alloc(80 * PS);
    const settled = randomWrites(vol, ino, model, r, 120, `seed ${seed}`);
    assert.ok(settled > 0, `seed ${seed}: some pages were checksummed at write time`);
    assert.equal(vol.sync(), 0);
    // Again after the commit: checkpointed pages are copied on write, whole ones checksummed from the bytes.
    randomWrites(vol, ino, model, r, 40, `seed ${seed}, after a sync`);
    assert.equal(vol.sync(), 0);
    const size = (vol.getattr(ino) as { size: number }).size;
    assert.equal(vol.detach(), 0);

    const back = mountOn(ram);
    assert.deepEqual(back.losses, [], `seed ${seed}: the synced image verifies`);
    const got = back.read(ino, 0, size) as Buffer;
    assert.ok(got.equals(model.subarray(0, size)), `seed ${seed}: the file reads as written`);
    back.detach();
  } finally {
    if (ram instanceof Arena) ram.close();
  }
});

test('a bit flipped in a page whose checksum was taken from the writer\'s bytes is found at the next full mount', () => {
  const ram = new SimRam({ pageSize: PS, pageCount: PAGES });
  ArenaHeaderHandoff.format(ram, 0, 3);
  const vol = mountOn(ram);
  const ino = (vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.write(ino, 0, Buffer.alloc(4 * PS, 0x5a)), 4 * PS);
  const pfn = vol.images().find((n) => n.ino === ino)!.pages.get(2);
  assert.equal(vol.pram!.frames.flags[pfn]! & PageFlag.Dirty, 0, 'checksummed at write time');
  assert.equal(vol.sync(), 0);
  assert.equal(vol.detach(), 0);
  ram.page(pfn)[100]! ^= 0x10;
  const back = mountOn(ram);
  assert.equal(back.read(ino, 2 * PS, PS), -5, 'the flipped page reads EIO');
  assert.ok((back.read(ino, 0, PS) as Buffer).equals(Buffer.alloc(PS, 0x5a)), 'its neighbour reads as written');
});

test('a staged write (filled on a pool thread through the fd) takes its whole pages\' checksums from the written bytes', async () => {
  const r = new Prng(0x57a9ed);
  const ram = Arena.memfd('writecrc-staged-test', PS * PAGES, { pageSize: PS });
  ArenaHeaderHandoff.format(ram, 0, 3);
  try {
    const vol = mountOn(ram);
    const ino = (vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
    const model = Buffer.alloc(100 * PS);
    for (const [off, len] of [[PS / 2, 64 * PS], [0, 40 * PS], [3 * PS + 7, 33 * PS + 100]] as const) {
      const data = bytes(len, r);
      const n = await new Promise<number>((done) => { assert.ok(vol.writeLater(ino, off, data, {}, done), 'staged'); });
      assert.equal(n, len);
      data.copy(model, off);
      assert.ok(checkSettled(vol, ino, `staged ${len} at ${off}`) >= Math.floor(len / PS) - 1, 'its whole pages checksummed at install');
    }
    assert.equal(vol.sync(), 0);
    const size = (vol.getattr(ino) as { size: number }).size;
    assert.equal(vol.detach(), 0);
    const back = mountOn(ram);
    assert.deepEqual(back.losses, []);
    assert.ok((back.read(ino, 0, size) as Buffer).equals(model.subarray(0, size)), 'the file reads as written');
    back.detach();
  } finally {
    ram.close();
  }
});

test('a write over many holes takes its pages in runs: consecutive pfns, checksummed from the bytes, off the settling queue; no run free: falls back to one page at a time', () => {
  const ram = new SimRam({ pageSize: PS, pageCount: PAGES });
  ArenaHeaderHandoff.format(ram, 0, 3);
  const vol = mountOn(ram);
  const settler = vol.pram!.slices!.settler!;
  const ino = (vol.mknod(1, 'f', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.sync(), 0);
  const data = bytes(100 * PS, new Prng(3));
  assert.equal(vol.write(ino, 0, data), data.length);
  const pages = vol.images().find((n) => n.ino === ino)!.pages;
  const first = pages.get(0);
  for (let i = 0; i < 100; i++) assert.equal(pages.get(i), first + i, `page ${i}: the run's pfn`);
  assert.equal(checkSettled(vol, ino, 'a run'), 100, 'every page checksummed at write time');
  assert.equal(settler.pending, 0, 'nothing left to settle');
  // No run free (the engine says so): the pages are taken one by one as before.
  const engine = vol.pram! as unknown as { allocDataRun(hint: number, count: number): number };
  let refused = 0;
  engine.allocDataRun = () => { refused++; return -28; };
  const more = bytes(16 * PS, new Prng(4));
  const n = vol.write(ino, 200 * PS, more);
  assert.equal(n, 16 * PS);
  assert.ok(refused > 0, 'a run was asked for');
  assert.equal(checkSettled(vol, ino, 'single pages'), 100 + n / PS);
  assert.equal(vol.sync(), 0);
  const size = (vol.getattr(ino) as { size: number }).size;
  assert.equal(vol.detach(), 0);
  const back = mountOn(ram);
  assert.deepEqual(back.losses, []);
  const got = back.read(ino, 0, size) as Buffer;
  assert.ok(got.subarray(0, 100 * PS).equals(data) && got.subarray(200 * PS, 200 * PS + n).equals(more.subarray(0, n)), 'reads as written');
});
