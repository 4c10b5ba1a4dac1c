// The replay's span store (spans.ts): cuts keep the pieces outside with their
// own crcs, a span over spans replaces what it covers, a hostile range costs
// nothing, and a span that cannot be claimed whole loses only the pages that
// cannot be (each stretch one loss, the indexes poisoned).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BannedRegions } from '../boot/banned.js';
import { Owner, PageFrames } from '../boot/frames.js';
import { Memblock } from '../boot/memblock.js';
import { SPAN_BLOCK } from '../format/v3.js';
import { SimRam } from '../mem/simram.js';
import type { Loss } from './image.js';
import { addSpan, claimSpans, cutSpans, Reserver, SpanCrcs, spanPages, type SpanHolder } from './spans.js';
import { Prng } from '../machine/prng.js';

const holder = (): SpanHolder => ({ blocks: null, poison: null });
const spansOf = (n: SpanHolder) => [...(n.blocks ?? new Map<number, number[]>())].sort((a, b) => a[0] - b[0]).map(([b, s]) => [b, s]);

test('a cut keeps the pieces outside it, each with its own place among the crcs; a span over spans replaces what it covers', () => {
  const n = holder();
  addSpan(n, 0, 1000, 100, 0, 1);
  cutSpans(n, 10, 20);
  assert.deepEqual(spansOf(n), [[0, [0, 1000, 10, 0, 1, 20, 1020, 80, 20, 1]]]);
  cutSpans(n, 0, 5);
  cutSpans(n, 95, 200);
  assert.deepEqual(spansOf(n), [[0, [5, 1005, 5, 5, 1, 20, 1020, 75, 20, 1]]]);
  addSpan(n, 8, 5000, 30, 4096, 0);                       // over the end of the first piece and the start of the second
  assert.deepEqual(spansOf(n), [[0, [5, 1005, 3, 5, 1, 38, 1038, 57, 38, 1, 8, 5000, 30, 4096, 0]]]);
  assert.equal(spanPages(n), 3 + 57 + 30);
  // Blocks: spans in two blocks, one cut across both.
  const m = holder();
  addSpan(m, SPAN_BLOCK - 10, 7000, 10, 0, 0);
  addSpan(m, SPAN_BLOCK, 7010, 10, 4096, 0);
  cutSpans(m, SPAN_BLOCK - 2, SPAN_BLOCK + 3);
  assert.deepEqual(spansOf(m), [[0, [SPAN_BLOCK - 10, 7000, 8, 0, 0]], [1, [SPAN_BLOCK + 3, 7013, 7, 4099, 0]]]);
  cutSpans(m, 0, 2 ** 52);                                 // a hostile range: the node's own blocks, not 2^40 block numbers
  assert.equal(m.blocks!.size, 0);
  // A span clears the poison of what it maps.
  const p = holder();
  p.poison = new Set([3, 4, 50]);
  addSpan(p, 0, 100, 10, 0, 0);
  assert.deepEqual([...p.poison], [50]);
});

test('span crcs stay views of the records; a piece reads its own', () => {
  const c = new SpanCrcs();
  const a = Uint32Array.from([1, 2, 3, 4]), b = Uint32Array.from([9, 8]);
  assert.equal(c.add(a), 0);
  assert.equal(c.add(b), SPAN_BLOCK);
  assert.deepEqual([...c.of(2, 2)], [3, 4]);
  assert.deepEqual([...c.of(SPAN_BLOCK + 1, 1)], [8]);
  assert.throws(() => c.of(3, 2), /crcs 3\+2 of a span of 4/);
});

test('span crcs across log pages stay in the pages: a piece is gathered from its own place, over the pages\' stream bounds', () => {
  // Three log pages whose streams are bytes [16, 4088) of each; crcs k = 1000 + k, from byte 4000 of the first page on.
  const pages = [0, 1, 2].map(() => Buffer.alloc(4096, 0xee));
  const stream = pages.map((page, i) => ({ pfn: 10 + i, start: 16, end: 4088, first: 0, page }));
  let seg = 0, off = 4000;
  for (let k = 0; k < 2000; k++) {
    if (off >= 4088) { seg++; off = 16; }
    pages[seg]!.writeUInt32LE(1000 + k, off); off += 4;
  }
  const c = new SpanCrcs();
  c.stream = stream;
  assert.equal(c.add(Uint32Array.from([7, 7])), 0);
  const at = c.addAt(0, 4000, 2000);
  assert.equal(at, SPAN_BLOCK);
  const want = (from: number, n: number) => Array.from({ length: n }, (_, k) => 1000 + from + k);
  assert.deepEqual([...c.of(at, 2000)], want(0, 2000));
  assert.deepEqual([...c.of(at + 21, 3)], want(21, 3));          // across the first page's end
  assert.deepEqual([...c.of(at + 1050, 950)], want(1050, 950)); // from the second page over into the third
  assert.deepEqual([...c.of(0, 2)], [7, 7]);
  assert.throws(() => c.of(at + 1950, 51), /crcs 1950\+51 of a span of 2000/);
  c.reset();
  assert.equal(c.addAt(1, 20, 1), 0);
  assert.deepEqual([...c.of(0, 1)], [pages[1]!.readUInt32LE(20)]);
});

test('a span that cannot be claimed whole: the pages that can are kept (as pieces), each stretch that cannot is one loss, its indexes poisoned', () => {
  const ram = new SimRam({ pageSize: 4096, pageCount: 256 });
  const frames = new PageFrames(256);
  const mb = new Memblock(frames, new BannedRegions());
  mb.banWhileReserving = false;
  mb.reserve(0, 1, Owner.Header, 'header');
  mb.reserve(50, 2, Owner.Meta, 'a log page');
  const n = holder();
  addSpan(n, 0, 40, 20, 0, 0);                              // pfns 40..59: 50 and 51 are taken
  addSpan(n, 100, 250, 10, 4096, 0);                        // pfns 250..259: past the arena from 256
  addSpan(n, 200, 100, 10, 8192, 0);                        // fine
  const r = new Reserver(ram, mb), losses: Loss[] = [];
  claimSpans(7, n, r, losses);
  r.flush();
  assert.deepEqual(spansOf(n), [[0, [0, 40, 10, 0, 0, 12, 52, 8, 12, 0, 100, 250, 6, 4096, 0, 200, 100, 10, 8192, 0]]]);
  assert.deepEqual(losses.map((l) => [l.pfn, l.what]), [
    [50, 'ino 7: data pages 10-11 lost: SPAN names pfn:32+2, already claimed by another run or a log page'],
    [null, 'ino 7: data pages 106-109 lost: SPAN names pfn:100+4, outside the arena or inside the header'],
  ]);
  assert.deepEqual([...n.poison!].sort((a, b) => a - b), [10, 11, 106, 107, 108, 109]);
  assert.equal(r.pages, 10 + 8 + 6 + 10);
  for (const pfn of [40, 49, 52, 59, 250, 255, 100, 109]) assert.equal(frames.owner[pfn], Owner.Data, `pfn ${pfn} claimed`);
  assert.equal(frames.owner[50], Owner.Meta);
});

test('a thin SPAN\'s crcs: read once for a run of its pieces, into the lazy log\'s scratch (none kept), again only after another\'s were read', () => {
  const c = new SpanCrcs(), reads: number[] = [], scratch = new Uint32Array(SPAN_BLOCK);
  // The lazy log's reader: a view of one scratch, overwritten by each read (entry p's crc k: 1000 p + k).
  c.later = (pos, count, keep) => {
    assert.equal(keep, false, 'no crcs kept');
    reads.push(pos);
    for (let k = 0; k < count; k++) scratch[k] = 1000 * pos + k;
    return scratch.subarray(0, count);
  };
  const thin = (pos: number, count: number) => c.addRecord({ ino: 5, index: 0, pfn: 100, count, flags: 0, crcs: new Uint32Array(0), crcsPos: pos } as Parameters<SpanCrcs['addRecord']>[0]);
  const a = thin(1, 64), b = thin(2, 32), own = c.add(Uint32Array.from([7, 8, 9]));
  assert.equal(reads.length, 0, 'nothing read when kept');
  assert.deepEqual(Array.from(c.of(a, 4)), [1000, 1001, 1002, 1003]);
  assert.deepEqual(Array.from(c.of(a + 10, 3)), [1010, 1011, 1012], 'the next piece: the same read');
  assert.deepEqual(Array.from(c.of(own + 1, 2)), [8, 9], 'a span\'s own crcs read nothing');
  assert.deepEqual(Array.from(c.of(a + 60, 4)), [1060, 1061, 1062, 1063]);
  assert.deepEqual(reads, [1], 'one read for the run of pieces');
  assert.deepEqual(Array.from(c.of(b + 31, 1)), [2031]);
  assert.deepEqual(Array.from(c.of(a + 20, 2)), [1020, 1021], 'read again after another\'s overwrote the scratch');
  assert.deepEqual(reads, [1, 2, 1]);
  assert.deepEqual(Array.from(c.ofRecord({ ino: 5, index: 0, pfn: 1, count: 2, flags: 0, crcs: new Uint32Array(0), crcsPos: 3 } as Parameters<SpanCrcs['addRecord']>[0])), [3000, 3001]);
  assert.deepEqual(Array.from(c.of(a + 5, 1)), [1005], 'a record\'s read overwrites the scratch too');
  assert.deepEqual(reads, [1, 2, 1, 3, 1]);
});

/** cutSpans as it was (a copy of the block's other spans for each cut): the reference for the cut in place. */
function cutSpansCopying(n: SpanHolder, from: number, end: number): void {
  if (!n.blocks || end <= from) return;
  for (const [b, spans] of [...n.blocks]) {
    const kept: number[] = [];
    for (let k = 0; k < spans.length; k += 5) {
      const index = spans[k]!, pfn = spans[k + 1]!, count = spans[k + 2]!, crcAt = spans[k + 3]!, flags = spans[k + 4]!;
      if (index >= end || index + count <= from) { kept.push(index, pfn, count, crcAt, flags); continue; }
      if (index < from) kept.push(index, pfn, from - index, crcAt, flags);
      const right = end - index;
      if (right < count) kept.push(end, pfn + right, count - right, crcAt + right, flags);
    }
    if (kept.length) n.blocks.set(b, kept); else n.blocks.delete(b);
  }
}

test('a cut in place leaves each block the spans, in the order, a copy of the rest left (seeded spans over two blocks, cuts of any size)', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed}`);
  const rng = new Prng(seed);
  let cut = 0;
  for (let round = 0; round < 200; round++) {
    const a = holder(), b = holder();
    for (let s = 0; s < 30; s++) {
      const op = rng.below(3), index = rng.below(2 * SPAN_BLOCK - 64), count = 1 + rng.below(Math.min(200, SPAN_BLOCK - (index % SPAN_BLOCK)));
      if (op === 0) {
        const to = index + 1 + rng.below(rng.chance(0.2) ? 3 * SPAN_BLOCK : 300);
        cutSpans(a, index, to); cutSpansCopying(b, index, to); cut++;
      } else {
        // addSpan's own cut is cutSpans: the reference cuts first, then places the span as addSpan does.
        addSpan(a, index, 5000 + index, count, 10 * s, s & 1);
        cutSpansCopying(b, index, index + count);
        const spans = (b.blocks ??= new Map()).get(Math.floor(index / SPAN_BLOCK));
        if (spans) spans.push(index, 5000 + index, count, 10 * s, s & 1); else b.blocks.set(Math.floor(index / SPAN_BLOCK), [index, 5000 + index, count, 10 * s, s & 1]);
      }
      assert.deepEqual(a.blocks && [...a.blocks], b.blocks && [...b.blocks], `seed ${seed} round ${round} step ${s}`);
    }
  }
  assert.ok(cut > 1000);
});
