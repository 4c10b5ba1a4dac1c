// A log's stream read from its pages (stream.ts): the bytes equal the pages'
// payloads whatever the way they are read (through the mapping, pread into a
// kept scratch and copied, pread into fresh memory and moved together in
// place), and the typed pass over the page headers and next pointers clears
// exactly the pages the exact check (readLogHeader, readNext) finds sound:
// each kind of damage in a page sends that page, and only it, to the exact check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PhysMem } from '../mem/physmem.js';
import { LOG_HEADER, LOG_NEXT, logPayload, readLogHeader, readNext, writeLogHeader, writeNext } from '../format/v3.js';
import { logPages, streamBytes, walkedBytes, walkLog, type PageCheck, type WalkedPages } from './stream.js';

const PS = 4096, PER = logPayload(PS);

/** Memory over one buffer; `pread` false: no readAt (the mapping only). */
function memOf(bytes: Buffer, pread: boolean): PhysMem {
  const mem: PhysMem = {
    pageSize: PS, pageCount: bytes.length / PS,
    page: (pfn) => bytes.subarray(pfn * PS, (pfn + 1) * PS),
    run: (pfn, count) => bytes.subarray(pfn * PS, (pfn + count) * PS),
    present: () => true, sync: () => {}, close: () => {},
  };
  if (pread) mem.readAt = (pos, target, at, len) => { bytes.copy(target, at, pos, pos + len); return true; };
  return mem;
}

/** A seeded LCG (the seed is printed). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}

/**
 * A log of `count` pages at mostly consecutive pfns (a jump every so often; `scattered`: every page a few pfns after
 * the one before, as a tail of small commits lies among data pages), payloads random; its pages and its stream.
 */
function makeLog(count: number, logId: number, next: () => number, scattered = false): { bytes: Buffer; pages: number[]; stream: Buffer } {
  const pages: number[] = [];
  for (let s = 0, pfn = 3; s < count; s++, pfn++) { if (scattered || next() % 7 === 0) pfn += 1 + (next() % (scattered ? 8 : 3)); pages.push(pfn); }
  const bytes = Buffer.alloc((pages[count - 1]! + 2) * PS), stream = Buffer.alloc(count * PER);
  for (let i = 0; i < stream.length; i += 4) stream.writeUInt32LE(next(), i);
  for (let s = 0; s < count; s++) {
    const page = bytes.subarray(pages[s]! * PS, (pages[s]! + 1) * PS);
    writeLogHeader(page, { logId, seq: s, first: s % 3 === 0 ? 0 : LOG_HEADER + 8 * (s % 50) });
    stream.copy(page, LOG_HEADER, s * PER, (s + 1) * PER);
    writeNext(page, s + 1 < count ? pages[s + 1]! : 0);
  }
  return { bytes, pages, stream };
}

/** lazy.ts checkPage's verdict: page `seq` of the log is sound (header, log id, seq, next pointer). */
function sound(page: Buffer, seq: number, logId: number, pages: readonly number[]): boolean {
  const h = readLogHeader(page);
  if (typeof h === 'string' || h.logId !== logId || h.seq !== seq) return false;
  return !(seq + 1 < pages.length && Number(readNext(page)) !== pages[seq + 1]);
}

test('the stream read every way equals the pages\' payloads; only pages the typed pass cannot clear reach the exact check', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`seed ${seed}`);
  const next = lcg(seed), logId = 2 ** 33 + 77;
  const { bytes, pages, stream } = makeLog(700, logId, next);    // ~2.8 MB of stream: reads from 1 MiB on are moved in place
  for (const [pos, n] of [[0, stream.length], [5000, 2 << 20], [PER - 8, 1 << 20], [100, 3000], [PER * 3 + 17, 9000], [10, PER], [stream.length - 40, 40]] as const) {
    for (const pread of [true, false]) {
      const told: number[] = [];
      const check: PageCheck = { logId, exact: (seq) => { told.push(seq); } };
      const got = streamBytes(memOf(bytes, pread), pages, pos, n, check);
      assert.ok(got && got.equals(stream.subarray(pos, pos + n)), `bytes ${pos}+${n} (pread ${pread})`);
      const s0 = Math.floor(pos / PER), s1 = Math.floor((pos + n - 1) / PER);
      // Without pread each page goes to the exact check (one page too is read with pread: mapping it maps its segment).
      assert.deepEqual(told, pread ? [] : Array.from({ length: s1 - s0 + 1 }, (_, i) => s0 + i), `pages told for ${pos}+${n}`);
    }
  }
  assert.equal(streamBytes(memOf(bytes, true), pages, stream.length - 10, 20), null, 'past the log\'s pages');
});

test('each kind of damage to a page\'s header or next pointer sends that page alone to the exact check, as it judges it', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`seed ${seed}`);
  const next = lcg(seed), logId = 5;
  const { bytes, pages, stream } = makeLog(400, logId, next);
  const damages: [string, (page: Buffer) => void][] = [
    ['magic', (p) => { p[1]! ^= 4; }],
    ['first offset not 8-aligned (crc kept valid)', (p) => { p.writeUInt32LE(LOG_HEADER + 4, 4); rehead(p); }],
    ['first offset in the next pointer (crc kept valid)', (p) => { p.writeUInt32LE(PS - LOG_NEXT, 4); rehead(p); }],
    ['a byte of the header crc', (p) => { p[29]! ^= 1; }],
    ['a bit of the log id', (p) => { p[9]! ^= 0x40; }],
    ['another log\'s id (crc kept valid)', (p) => { p.writeUInt32LE(6, 8); rehead(p); }],
    ['log id high word (crc kept valid)', (p) => { p.writeUInt32LE(1, 12); rehead(p); }],
    ['another seq (crc kept valid)', (p) => { p.writeUInt32LE(p.readUInt32LE(16) + 1, 16); rehead(p); }],
    ['seq high word (crc kept valid)', (p) => { p.writeUInt32LE(1, 20); rehead(p); }],
    ['next pointer low word', (p) => { p[PS - 8]! ^= 2; }],
    ['next pointer high word', (p) => { p[PS - 3]! ^= 1; }],
    ['the reserved word (crc fails)', (p) => { p[25]! ^= 1; }],
  ];
  for (const [what, damage] of damages) {
    const s = 1 + (next() % (pages.length - 3));
    const copy = Buffer.from(bytes), page = copy.subarray(pages[s]! * PS, (pages[s]! + 1) * PS);
    damage(page);
    assert.equal(sound(page, s, logId, pages), false, `${what}: the damage is one the exact check finds`);
    const told: number[] = [];
    const got = streamBytes(memOf(copy, true), pages, 0, stream.length, { logId, exact: (seq, p, sum) => {
      told.push(seq);
      assert.ok(p.equals(page), `${what}: the page's own bytes`);
      assert.equal(typeof readLogHeader(p, sum ?? undefined), typeof readLogHeader(p), `${what}: the crc passed is the header's`);
    } });
    assert.deepEqual(told, [s], `${what} in page ${s}`);
    assert.ok(got?.subarray(0, s * PER).equals(stream.subarray(0, s * PER)), `${what}: the pages before read as written`);
  }
});

test('walkLog finds the pages logPages finds, from any page on, with pread or without; a damaged header or next pointer breaks the walk as it breaks logPages\'s', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`seed ${seed}`);
  const next = lcg(seed), logId = 2 ** 40 + 3;
  // 700 pages: stretches longer than one pread (256 pages) and jumps between them.
  const { bytes, pages } = makeLog(700, logId, next);
  for (const pread of [true, false]) {
    const mem = memOf(bytes, pread);
    assert.deepEqual(logPages(mem, pages[0]!, pages.length), pages, 'the exact walk (the reference)');
    for (const seq0 of [0, 1, 255, 256, 300, 699]) assert.deepEqual(walkLog(mem, pages[seq0]!, seq0, pages.length, logId), pages.slice(seq0), `from page ${seq0} (pread ${pread})`);
    assert.match(String(walkLog(mem, pages[5]!, 5, pages.length, logId + 1)), /^log page 5 does not belong to the log$/, 'another log\'s id');
    assert.match(String(walkLog(mem, pages[5]!, 4, pages.length, logId)), /^log page 4 does not belong to the log$/, 'started at the wrong seq');
  }
  for (const [what, damage, want] of [
    ['a header bit', (p: Buffer) => { p[17]! ^= 8; }, /^log page S does not belong to the log$/],
    ['a next pointer to a page of the log, out of order', (p: Buffer) => { writeNext(p, pages[1]!); }, /^log page T does not belong to the log$/],
    ['a next pointer past the arena', (p: Buffer) => { p.writeUInt32LE(0xfffffff0, PS - 8); p.writeUInt32LE(0, PS - 4); }, /^log page T is outside the arena$/],
    ['a next pointer over 2^53', (p: Buffer) => { p.writeUInt32LE(0xffffffff, PS - 4); }, /^log page T is outside the arena$/],
  ] as const) {
    for (const s of [3, 255, 256, 500]) {
      const copy = Buffer.from(bytes);
      damage(copy.subarray(pages[s]! * PS, (pages[s]! + 1) * PS));
      const re = new RegExp(want.source.replace('S', String(s)).replace('T', String(s + 1)));
      for (const pread of [true, false]) {
        const got = walkLog(memOf(copy, pread), pages[0]!, 0, pages.length, logId);
        assert.match(String(got), re, `${what} in page ${s} (pread ${pread})`);
      }
    }
  }
});

test('a walk that keeps its pages holds them whole in seq order; stream bytes out of them (a copy, or moved together in place) equal the stream; none kept without pread', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`seed ${seed}`);
  const next = lcg(seed), logId = 2 ** 35 + 9;
  const { bytes, pages, stream } = makeLog(700, logId, next);
  for (const seq0 of [0, 1, 255, 300, 699]) {
    const keep: WalkedPages = { seq0: -1, bytes: null };
    assert.deepEqual(walkLog(memOf(bytes, true), pages[seq0]!, seq0, pages.length, logId, keep), pages.slice(seq0));
    assert.equal(keep.seq0, seq0);
    assert.equal(keep.bytes?.length, (pages.length - seq0) * PS);
    for (let s = seq0; s < pages.length; s++) {
      assert.ok(keep.bytes!.subarray((s - seq0) * PS, (s - seq0 + 1) * PS).equals(bytes.subarray(pages[s]! * PS, (pages[s]! + 1) * PS)), `page ${s} kept whole (walk from ${seq0})`);
    }
    const from = seq0 * PER, end = stream.length;
    const cases: [number, number][] = [[from, end - from], [from + 17, 40], [end - 9, 9], [from + PER - 3, Math.min(PER + 6, end - from - PER + 3)]];
    for (let k = 0; k < 6; k++) { const pos = from + (next() % (end - from)); cases.push([pos, 1 + (next() % (end - pos))]); }
    for (const [pos, n] of cases) {
      if (n <= 0) continue;
      assert.ok(walkedBytes(keep, PS, pos, n, false)?.equals(stream.subarray(pos, pos + n)), `a copy of ${pos}+${n} (walk from ${seq0})`);
    }
    // In place: the last read (it overwrites the pages it moves payloads over).
    const pos = cases[4]![0], n = end - pos;
    assert.ok(walkedBytes(keep, PS, pos, n, true)?.equals(stream.subarray(pos, pos + n)), `in place ${pos}+${n} (walk from ${seq0})`);
    if (seq0 > 0) assert.equal(walkedBytes(keep, PS, from - 1, 2, false), null, 'bytes before the first page kept: none');
    assert.equal(walkedBytes(keep, PS, end, PER, false), null, 'bytes past the last page kept: none');
  }
  const none: WalkedPages = { seq0: -1, bytes: null };
  assert.deepEqual(walkLog(memOf(bytes, false), pages[5]!, 5, pages.length, logId, none), pages.slice(5), 'the walk without pread');
  assert.equal(none.bytes, null, 'keeps nothing without pread');
  assert.equal(walkedBytes(none, PS, 5 * PER, 10, false), null);
});

test('a walk of a scattered chain reads about its own pages: a page a read after a jump from a stretch\'s first page', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`seed ${seed}`);
  const next = lcg(seed), logId = 77;
  const { bytes, pages } = makeLog(300, logId, next, true);
  const mem = memOf(bytes, true), read = { n: 0, pages: 0 };
  const pread = mem.readAt!;
  mem.readAt = (pos, target, at, len) => { read.n++; read.pages += len / PS; return pread(pos, target, at, len); };
  const keep: WalkedPages = { seq0: -1, bytes: null };
  assert.deepEqual(walkLog(mem, pages[10]!, 10, pages.length, logId, keep), pages.slice(10));
  assert.ok(keep.bytes!.subarray(5 * PS, 6 * PS).equals(bytes.subarray(pages[15]! * PS, (pages[15]! + 1) * PS)), 'page 15 kept whole');
  assert.equal(read.n, 290, 'a read a page');
  assert.ok(read.pages <= 290 + 7, `${read.pages} pages read for 290 (a stretch of 8 a jump read ${8 * 290})`);
});

/** The header's crc made valid again after a field was changed. */
function rehead(p: Buffer): void {
  const h = { first: p.readUInt32LE(4), logId: p.readUInt32LE(8) + p.readUInt32LE(12) * 2 ** 32, seq: p.readUInt32LE(16) + p.readUInt32LE(20) * 2 ** 32 };
  writeLogHeader(p, h);
}
