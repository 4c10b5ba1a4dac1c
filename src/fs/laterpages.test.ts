// A lazy mount adopts a large file's pages when the file's pages are first
// needed, not when its directory's group loads (pram/laterpages.ts): the
// group's load leaves them unadopted (no page flagged for verification, no
// map built), and everything asked of the file before or after is what a full
// mount answers: stat's blocks, statfs, every byte read, a write, a truncate,
// an unlink that frees its pages, a tail record in it written before the
// mount, a damaged page found on first read with its path and range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { copyRam, dump, growUntilDue, largeAndSmall, mountOn, PS } from './livekit.js';
import type { Volume } from './volume.js';
import type { Inode } from './inode.js';

const PAGES = 700;      // past the 256 pages from which a lazily loaded file waits for its first use

const nodes = (vol: Volume): Map<number, Inode> => (vol as unknown as { t: { inodes: Map<number, Inode> } }).t.inodes;

/** The file's pfns as a full mount maps them. */
function pfnsOf(ram: SimRam, ino: number): number[] {
  const probe = mountOn(copyRam(ram), { verify: 'full' });
  const pfns = [...nodes(probe).get(ino)!.pages!.entries()].map(([, pfn]) => pfn);
  probe.detach();
  return pfns;
}

/** How many of `pfns` the engine has adopted (their frames flagged: Frozen, and Unverified until read). */
const adopted = (vol: Volume, pfns: number[]): number => pfns.filter((pfn) => vol.pram!.frames.flags[pfn] !== 0).length;

/** A RAM holding a large file and a small one in the root, compacted; `tail` then writes a page of the large one in an append. */
function image(seed: number, tail: boolean): { ram: SimRam; body: Buffer; big: number; small: number } {
  const { ram, body, big, small } = largeAndSmall(seed, PAGES);
  if (tail) {
    const v = mountOn(ram, { verify: 'lazy' });
    const patch = Buffer.alloc(PS, 0xa5);
    assert.equal(v.write(big, 300 * PS + 100, patch), PS);
    patch.copy(body, 300 * PS + 100);
    assert.equal(v.sync(), 0);                    // an append after the index: a tail record of the large file
    v.detach();
  }
  return { ram, body, big, small };
}

function readAll(vol: Volume, ino: number, bytes: number): Buffer {
  const got = vol.read(ino, 0, bytes);
  if (typeof got === 'number') assert.fail(`read ${got}`);
  return got;
}

const attrOf = (vol: Volume, ino: number) => { const a = vol.getattr(ino); if (typeof a === 'number') assert.fail(`getattr ${a}`); return a; };

for (const tail of [false, true]) {
  test(`a lazy mount leaves a large file unadopted until its first read; stat, statfs and its bytes are a full mount's (${tail ? 'a tail record in it' : 'no tail'})`, () => {
    const { ram, body, big, small } = image(21, tail);
    const full = mountOn(copyRam(ram), { verify: 'full' });
    const lazy = mountOn(copyRam(ram), { verify: 'lazy' });
    const pfns = pfnsOf(ram, big), smalls = pfnsOf(ram, small);
    assert.ok(lazy.pram!.lazyLog, 'booted lazily');
    assert.equal(adopted(lazy, smalls), 0, 'the mount loads no group: the small file not adopted yet');
    attrOf(lazy, lazy.rootIno);      // the first request loads the root's group
    if (!process.env['PRAM_LATER_PAGES']) assert.equal(adopted(lazy, smalls), 3, 'the root group loaded: the small file adopted');
    assert.equal(adopted(lazy, pfns), 0, 'the large file not');
    assert.equal(lazy.pram!.stats().unverified, full.pram!.stats().unverified + pfns.length + 3, 'its pages count as still to verify');
    assert.deepEqual(attrOf(lazy, big), attrOf(full, big), 'stat of the unadopted file');
    assert.equal(adopted(lazy, pfns), 0, 'stat adopted nothing');
    assert.deepEqual(lazy.statfs(), full.statfs(), 'statfs');
    assert.deepEqual(readAll(lazy, small, 3 * PS), readAll(full, small, 3 * PS));
    const one = lazy.read(big, 5 * PS, 10);
    assert.ok(Buffer.isBuffer(one) && one.equals(body.subarray(5 * PS, 5 * PS + 10)), 'a first read');
    assert.equal(adopted(lazy, pfns), pfns.length, 'the first read adopted the file');
    assert.ok(readAll(lazy, big, body.length).equals(body), 'every byte');
    assert.deepEqual(dump(lazy), dump(full), 'the tree');
    assert.deepEqual(lazy.losses, []);
    full.detach(); lazy.detach();
  });
}

test('an unadopted large file unlinked, another truncated and written after a lazy mount: the full remount has the lazy session\'s statfs, free pages and bytes', () => {
  const { ram, body, big } = image(22, true);
  const lazy = mountOn(ram, { verify: 'lazy' });
  const other = (lazy.mknod(1, 'other', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(lazy.write(other, 0, body.subarray(0, 400 * PS)), 400 * PS);
  assert.equal(lazy.sync(), 0);
  lazy.detach();
  // The second lazy mount: `other` (400 pages) and `big` both wait; one is truncated and written, the other unlinked unread.
  const second = mountOn(ram, { verify: 'lazy' });
  const free0 = second.pram!.allocator.freeCount;
  assert.notEqual(typeof second.setattr(other, { size: 100 * PS + 7 }), 'number');
  assert.equal(second.write(other, 50 * PS, Buffer.alloc(PS, 1)), PS);
  assert.equal(second.unlink(1, 'big'), 0);
  assert.equal(second.sync(), 0);
  assert.ok(second.pram!.allocator.freeCount > free0 + PAGES, 'the unlink freed the unadopted file\'s pages');
  const want = Buffer.from(body.subarray(0, 100 * PS + 7));
  Buffer.alloc(PS, 1).copy(want, 50 * PS);
  const had = { fs: second.statfs(), free: second.pram!.allocator.freeCount, tree: dump(second) };
  second.detach();
  const back = mountOn(ram, { verify: 'full' });
  assert.deepEqual(back.losses, []);
  assert.ok(readAll(back, other, want.length).equals(want), 'the truncated and written file');
  assert.deepEqual({ fs: back.statfs(), free: back.pram!.allocator.freeCount, tree: dump(back) }, had, 'statfs, free pages, tree');
  back.detach();
  void big;
});

test('a flipped bit in a page of an unadopted file: its first read fails that page alone, the loss names the file and the range', () => {
  const { ram, body, big } = image(23, false);
  const pfns = pfnsOf(ram, big), pfn = pfns[123]!;
  ram.page(pfn)[17]! ^= 0x10;
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.equal(adopted(lazy, pfns), 0, 'not adopted at the mount');
  assert.deepEqual(lazy.losses, [], 'nothing found before the read');
  assert.equal(lazy.read(big, 123 * PS, PS), -5, 'EIO');
  const ok = lazy.read(big, 124 * PS, PS);
  assert.ok(Buffer.isBuffer(ok) && ok.equals(body.subarray(124 * PS, 125 * PS)), 'the next page reads');
  const late = lazy.losses as { path: string | null; range?: { start: number; end: number } }[];
  assert.equal(late.length, 1);
  assert.equal(late[0]!.path, '/big');
  assert.deepEqual(late[0]!.range, { start: 123 * PS, end: 124 * PS });
  lazy.detach();
});

test('a compaction in slices adopts a file waiting for first use at the start of a slice, never after another node in it (its adoption is a slice\'s cost); every byte as written', () => {
  let big2 = 0;
  const body2 = Buffer.from(new Prng(72).bytes(PAGES * PS));
  const { ram, body, big } = largeAndSmall(71, PAGES, (v) => {
    big2 = (v.mknod(1, 'big2', 0o100644, 0, 0, 0) as { ino: number }).ino;
    assert.equal(v.write(big2, 0, body2), body2.length);
  });
  const pfns = pfnsOf(ram, big), pfns2 = pfnsOf(ram, big2);
  const vol = mountOn(ram, { verify: 'lazy' });
  growUntilDue(vol);                               // loads the root's group: both files wait
  assert.deepEqual([adopted(vol, pfns), adopted(vol, pfns2)], [0, 0], 'both wait');
  // Slices with no time limit: each ends only where a waiting file would be adopted after another node.
  const seen: number[][] = [];
  while (vol.background(1e9)) {
    seen.push([adopted(vol, pfns), adopted(vol, pfns2)]);
    assert.ok(seen.length < 10, 'the compaction ends');
  }
  seen.push([adopted(vol, pfns), adopted(vol, pfns2)]);
  assert.deepEqual(seen.slice(0, 3), [[0, 0], [PAGES, 0], [PAGES, PAGES]], 'the root alone, then each file first in a slice of its own');
  assert.ok(vol.pram!.slices!.sliced, 'every node written');
  assert.equal(vol.sync(), 0);                     // the last step publishes the fresh log
  const again = mountOn(copyRam(ram), { verify: 'lazy' });
  assert.ok(readAll(again, big, body.length).equals(body) && readAll(again, big2, body2.length).equals(body2), 'both files read back');
  assert.deepEqual(again.losses, []);
  again.detach();
  vol.detach();
});
