// Hostile and damaged images (issue 7): each crafted class gives its precise
// message and never a throw, a hang or an over-allocation; a property test
// flips random bits in random pages of saved images and checks that no file
// is ever read back with wrong content without an error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '../format/crc.js';
import { EntryType, FileImageView, LinkPageView, PRAM_MAGIC } from '../format/v1.js';
import { MetaTailView, extentFlags } from '../format/v2.js';
import { ArenaHeaderHandoff, MemoryHandoff } from './handoff.js';
import { boot, byName, contentOf, file, newRam, PS, Rand, root } from './testkit.js';
import type { SimRam } from '../mem/simram.js';

type E = [flags: number, pfn: number, index: number, csum?: number];

/** Write a link page at `at` with these entries (csum of each entry's page unless given). */
function link(mem: SimRam, at: number, entries: E[], next = 0, len = entries.length): void {
  const page = mem.page(at);
  page.fill(0);
  const l = new LinkPageView(page);
  l.len = len; l.linkPfn = next;
  entries.forEach(([flags, pfn, index, csum], i) => {
    const e = l.entry(i);
    e.flags = flags; e.pfn = pfn; e.index = index;
    e.csum = csum ?? (pfn < mem.pageCount ? crc32c(mem.page(pfn)) : 0);
  });
  l.seal();
}

function meta(mem: SimRam, at: number, name: string | Buffer, size = 0, mode = 0o100644, tail?: { ino: number; parent?: number; dataPages?: number; nlink?: number; xattrBytes?: number; xattrPages?: number }): void {
  const page = mem.page(at);
  page.fill(0);
  const f = new FileImageView(page);
  f.size = size; f.mode = mode;
  const raw = Buffer.isBuffer(name) ? name : Buffer.from(name);
  raw.copy(page, 16); f.nameLen = raw.length;
  if (tail) new MetaTailView(page).write({ ino: tail.ino, parent: tail.parent ?? 1, uid: 0, gid: 0, rdev: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n,
    dataPages: tail.dataPages ?? 0, nlink: tail.nlink ?? 1, xattrPages: tail.xattrPages ?? 0, xattrBytes: tail.xattrBytes ?? 0, xattrInline: null });
}

function load(mem: SimRam, head: number, salvage = true) {
  return boot(mem, new MemoryHandoff(head, 1), { salvage });
}
const M = EntryType.Meta, D = EntryType.Data;
const has = (b: ReturnType<typeof load>, re: RegExp) =>
  b.image.losses.some((l) => re.test(l.what)) || b.log.some((l) => re.test(l));

test('hostile: link len over the maximum', () => {
  const mem = newRam(64);
  link(mem, 10, [], 0, 170);
  const b = load(mem, 10);
  assert.ok(has(b, /len 170 over the maximum 169/), b.log.join('\n'));
  assert.equal(b.memblock.reservedCount(), 1);
});

test('hostile: pfns beyond memory and inside the header', () => {
  const mem = newRam(64);
  meta(mem, 11, 'a', PS);
  link(mem, 10, [[M, 11, 0], [D, 1e12, 0, 0]], 0);
  const b = load(mem, 10);
  assert.ok(b.log.includes(`PRAM: pfn:${(1e12).toString(16)} invalid`));
  assert.ok(has(b, /data page 0 .* lost: entry names a pfn outside memory/));
  const h = boot(mem, new MemoryHandoff(70, 1), { salvage: false });
  assert.ok(h.log.includes('PRAM: pfn:46 invalid'));                  // head beyond memory
  link(mem, 10, [[M, 11, 0], [D, 0, 0, 0]]);                          // pfn 0: the header / zero page
  assert.ok(load(mem, 10).log.includes('PRAM: pfn:0 invalid'));
});

test('hostile: two entries claim one pfn, a link page claimed as data', () => {
  const mem = newRam(64);
  meta(mem, 11, 'a', 2 * PS);
  mem.page(12).fill(1);
  link(mem, 10, [[M, 11, 0], [D, 12, 0], [D, 12, 1], [D, 10, 1]]);
  const b = load(mem, 10);
  assert.equal(b.log.filter((l) => l === 'PRAM: pfn:c busy').length, 1);
  assert.ok(b.log.includes('PRAM: pfn:a busy'));
  assert.equal(byName(b.image, 'a').pages.count, 1);
  assert.ok(has(b, /already claimed by another entry/));
  const rfc = load(mem, 10, false);
  assert.ok(rfc.log.includes('PRAM: Reservation failed: -16'));
});

test('hostile: unknown entry type, bad extent length', () => {
  const mem = newRam(64);
  meta(mem, 11, 'a', PS);
  link(mem, 10, [[M, 11, 0], [0x7f, 12, 0], [extentFlags(2, false) & 0xffff | (40 << 16), 13, 0]]);
  const b = load(mem, 10);
  assert.ok(has(b, /unknown type 127/));
  assert.ok(has(b, /extent length outside 2..32/));
  const rfc = load(mem, 10, false);
  assert.ok(rfc.log.some((l) => /Reservation failed|Failed to load/.test(l)));
});

test('hostile: names (too long, slash, NUL, dot, dotdot) and non-regular META', () => {
  const mem = newRam(64);
  const bad: [string | Buffer, RegExp][] = [
    [Buffer.alloc(0), /empty name/], ['a/b', /'\/'/], [Buffer.from('a\0b'), /NUL/], ['.', /reserved/], ['..', /reserved/],
  ];
  bad.forEach(([n], i) => meta(mem, 20 + i, n));
  meta(mem, 30, 'dir', 0, 0o40755);
  const page31 = mem.page(31); meta(mem, 31, 'long'); page31.writeUInt32LE(300, 12);
  link(mem, 10, [...bad.map((_, i): E => [M, 20 + i, 0]), [M, 30, 0], [M, 31, 0]]);
  const b = load(mem, 10);
  for (const [, re] of bad) assert.ok(has(b, re), String(re));
  assert.ok(has(b, /is not a regular file/));
  assert.ok(has(b, /300 > 255/));
  assert.equal(b.image.nodes.length, 1);
});

test('hostile: sizes that disagree with the data, absurd counts', () => {
  const mem = newRam(64);
  meta(mem, 11, 'a', 10, 0o100644, { ino: 2, dataPages: 2 ** 40, nlink: 4e9, xattrBytes: 2 ** 31 });
  mem.page(12).fill(3); mem.page(13).fill(4);
  link(mem, 10, [[M, 11, 0], [D, 12, 0], [D, 13, 5]]);
  const b = load(mem, 10);
  assert.ok(has(b, /index 5: beyond the file size 10/));
  assert.ok(has(b, /of 1099511627776 data pages missing/));
  assert.ok(has(b, /names lost/));
  assert.ok(has(b, /xattr/));
  assert.equal(byName(b.image, 'a').pages.count, 1);
});

test('hostile: a directory cycle through parents ends in /lost+found', () => {
  const mem = newRam(64);
  meta(mem, 11, 'x', 0, 0o40755, { ino: 2, parent: 3 });
  meta(mem, 12, 'y', 0, 0o40755, { ino: 3, parent: 2 });
  link(mem, 10, [[EntryType.Node, 11, 0], [EntryType.Node, 12, 0]]);
  const b = load(mem, 10);
  assert.ok(b.image.nodes.some((n) => n.names[0]?.name === 'lost+found'));
  assert.equal(b.image.losses.filter((l) => /moved to \/lost\+found/.test(l.what)).length, 2);
});

for (const arena of [false, true]) test(`property (${arena ? 'arena header + slots' : 'sim'}): 500 runs of random bit flips never crash, hang or return wrong content silently`, () => {
  const mem = newRam(256);
  const h = arena ? ArenaHeaderHandoff.format(mem) : new MemoryHandoff();
  const b = boot(mem, h);
  const r = new Rand(42);
  const contents = new Map<string, Buffer>();
  const nodes = [root()];
  for (let i = 0; i < 6; i++) {
    const c = r.bytes(PS * (1 + (i % 3)) + i);
    contents.set(`f${i}`, c);
    nodes.push(file(b.pram, mem, 2 + i, `f${i}`, c));
  }
  assert.equal(b.pram.checkpoint(nodes), 0);
  const pristine = Buffer.from(mem.run(0, mem.pageCount)!);
  const used: number[] = [];
  for (let p = arena ? 0 : 1; p < mem.pageCount; p++) if (p === 0 || b.frames.owner[p] !== 0) used.push(p);
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(used.length - 1), fc.nat(arena ? 8 * 192 - 1 : PS * 8 - 1)), { minLength: 1, maxLength: 4 }),
    fc.boolean(), fc.constantFrom<'full' | 'lazy'>('full', 'lazy'),
    (flips, salvage, verify) => {
      mem.run(0, mem.pageCount)!.set(pristine);
      const touched = new Set<number>();
      for (const [pi, bit] of flips) { const p = used[pi]!; touched.add(p); mem.page(p)[bit >> 3] ^= 1 << (bit & 7); }
      if (arena && !(ArenaHeaderHandoff.attach(mem) instanceof ArenaHeaderHandoff)) return;  // refused, with its reason
      const x = boot(mem, h, { salvage, verify });
      for (const n of x.image.nodes) {
        const name = n.names[0]?.name;
        const want = name ? contents.get(name) : undefined;
        if (!want) continue;
        for (const [i, pfn] of n.pages.entries()) {
          if (x.pram.readable(pfn) < 0) continue;     // reported, not silent
          assert.deepEqual(mem.page(pfn).subarray(0, Math.min(PS, want.length - i * PS)), want.subarray(i * PS, (i + 1) * PS), `${name} page ${i}`);
        }
        assert.equal(n.size, want.length, `${name} size`);
      }
      if (touched.size === 1 && salvage && !touched.has(0)) {
        // Every file whose pages were untouched comes back (a damaged link page may lose its entries).
        const [p] = [...touched];
        if (x.frames.owner[p!] !== 4 /* Link */ && p !== h.read()?.headPfn) {
          for (const [name, c] of contents) {
            const n = x.image.nodes.find((m) => m.names[0]?.name === name);
            if (!n) continue;                            // its meta page was the damaged one
            let mine = false;
            for (const [, pfn] of n.pages.entries()) if (touched.has(pfn)) mine = true;
            if (!mine) assert.deepEqual(contentOf(x.pram, mem, n), c, name);
          }
        }
      }
    }), { numRuns: 500, seed: arena ? 8 : 7 });
});
