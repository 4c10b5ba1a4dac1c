// The in-place log writer against the codec: records put field by field into
// log pages must make the same stream as encodeRecord's buffers laid out as
// docs/FORMAT.md §v3 says (page headers with their `first`, next pointers),
// for seeded random records of every type (SPANs, whose crc skips their page
// crcs, included), crossing pages anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimRam } from '../mem/simram.js';
import { Memblock } from '../boot/memblock.js';
import { BannedRegions } from '../boot/banned.js';
import { PageAllocator } from '../boot/allocator.js';
import { Owner, PageFrames } from '../boot/frames.js';
import {
  encodeRecord, encodeSpan, LOG_HEADER, LOG_NEXT, putDrop, putInode, putMap, putName, putSpan, putUnmap, putAtimes, atimesIno, atimesRecord, readLogHeader, readNext,
  RecordType, SPAN_BLOCK,
  type LogRecord, type RecordOut,
} from '../format/v3.js';
import { LogWriter, type LogCursor } from './log.js';
import { Rand } from './testkit.js';

function machine(pageSize: number, pages: number): { mem: SimRam; allocator: PageAllocator } {
  const mem = new SimRam({ pageSize, pageCount: pages });
  const memblock = new Memblock(PageFrames.forMem(mem), new BannedRegions());
  memblock.reserve(0, 1, Owner.Kernel, 'zero page');
  return { mem, allocator: PageAllocator.fromMemblock(memblock) };
}

const NAME_CHARS = ['a', 'Z', '0', '-', 'é', '日', '🙂'];

function randomRecord(r: Rand): LogRecord {
  const u53 = (): number => (r.below(4) === 0 ? r.below(1000) : (r.next() % 0x200000) * 2 ** 32 + r.next());
  const time = (): bigint => BigInt.asIntN(64, (BigInt(r.next()) << 32n) | BigInt(r.next()));
  switch (r.below(7)) {
    case 0: return { type: RecordType.Inode, r: { ino: u53(), mode: r.next(), uid: r.next(), gid: r.next(), rdev: u53(), size: u53(),
      atimeNs: time(), mtimeNs: time(), ctimeNs: time(), pages: u53(),
      xattrs: r.below(3) === 0 ? r.bytes(r.below(3000)) : new Uint8Array(0), inline: r.bytes(r.below(129)) } };
    case 1: return { type: RecordType.Drop, ino: u53() };
    case 2: {
      let name = '';
      const want = 1 + r.below(60);
      while (Buffer.byteLength(name) < want) name += NAME_CHARS[r.below(NAME_CHARS.length)]!;
      return { type: RecordType.Name, r: { parent: u53(), ino: r.below(2) ? 0 : u53(), name } };
    }
    case 3: {
      const count = 1 + r.below(32), index = r.below(1000) * 32 + r.below(33 - count);
      return { type: RecordType.Map, r: { ino: u53(), index, pfn: u53(), count, csum: r.next(), flags: r.below(2) } };
    }
    case 4: return { type: RecordType.Unmap, r: { ino: u53(), index: u53(), count: u53() } };
    case 5: {
      // ATIMES (minor 4): ascending inos, now and then a record of thousands of entries (crossing pages).
      const n = 1 + (r.below(4) === 0 ? r.below(3000) : r.below(20)), inos: number[] = [], times: bigint[] = [];
      for (let k = 0, ino = 0; k < n; k++) { ino += 1 + r.below(k % 7 === 6 ? 2 ** 20 : 50); inos.push(ino); times.push(time()); }
      return { type: RecordType.Atimes, r: atimesRecord(inos, times) };
    }
    default: {
      // Mostly short (odd and even counts: padded or not), now and then up to a whole block.
      const count = r.below(4) === 0 ? 1 + r.below(SPAN_BLOCK) : 1 + r.below(40);
      const index = r.below(1000) * SPAN_BLOCK + r.below(SPAN_BLOCK + 1 - count);
      const crcs = new Uint32Array(count);
      for (let k = 0; k < count; k++) crcs[k] = r.next();
      return { type: RecordType.Span, r: { ino: u53(), index, pfn: u53(), count, flags: r.below(2), crcs } };
    }
  }
}

function put(o: RecordOut, rec: LogRecord, gen: number): void {
  switch (rec.type) {
    case RecordType.Inode: return putInode(o, rec.r, rec.r.xattrs, rec.r.inline, rec.r.pages, gen);
    case RecordType.Drop: return putDrop(o, rec.ino, gen);
    case RecordType.Name: return putName(o, rec.r.parent, rec.r.ino, rec.r.name, gen);
    case RecordType.Map: return putMap(o, rec.r.ino, rec.r.index, rec.r.pfn, rec.r.count, rec.r.csum, rec.r.flags, gen);
    case RecordType.Unmap: return putUnmap(o, rec.r.ino, rec.r.index, rec.r.count, gen);
    case RecordType.Span: return putSpan(o, rec.r.ino, rec.r.index, rec.r.pfn, rec.r.count, rec.r.flags, rec.r.crcs, gen);
    case RecordType.Atimes: {
      const r = rec.r, inos = Array.from({ length: r.n }, (_, k) => atimesIno(r, k)), times = Array.from({ length: r.n }, (_, k) => r.times[2 * k + 1]!);
      return putAtimes(o, inos, times, 0, r.n, gen);
    }
  }
}

/** The log's stream, page headers and links checked as the format says against the records' boundaries (starts and the end). */
function readBack(mem: SimRam, cur: LogCursor, starts: Set<number>): Buffer {
  const ps = mem.pageSize, end = ps - LOG_NEXT, parts: Buffer[] = [];
  let pos = 0;
  cur.pages.forEach((pfn, seq) => {
    const page = mem.page(pfn);
    const h = readLogHeader(page);
    assert.ok(typeof h !== 'string', `page ${seq}: ${h as string}`);
    assert.equal(h.logId, cur.logId);
    assert.equal(h.seq, seq);
    let first = 0;                                        // the first record boundary in this page
    for (let o = LOG_HEADER; o < end; o += 8) if (starts.has(pos + o - LOG_HEADER)) { first = o; break; }
    if (seq > 0) assert.equal(h.first, first, `page ${seq}: first`);
    // The tail page's next is followed by no walk (a dropped session may have set it): only the others are checked.
    if (seq + 1 < cur.pages.length) assert.equal(readNext(page), BigInt(cur.pages[seq + 1]!), `page ${seq}: next`);
    const stop = seq + 1 < cur.pages.length ? end : cur.tailOff;
    parts.push(Buffer.from(page.subarray(LOG_HEADER, stop)));
    pos += stop - LOG_HEADER;
  });
  return Buffer.concat(parts);
}

for (const pageSize of [1024, 4096]) {
  test(`records written in place are encodeRecord's stream, page by page (seeded, ${pageSize}-byte pages)`, () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = new Rand(seed * 7919 + pageSize);
      const { mem, allocator } = machine(pageSize, 4096);
      const w = new LogWriter(mem, allocator);
      const cur = w.begin(seed) as LogCursor;
      const want: Buffer[] = [];
      const starts = new Set<number>();
      let pos = 0;
      for (let session = 0; session < 8; session++) {
        const o = w.open(cur);
        const n = r.below(60), gen = r.next() + 2 ** 32 * r.below(3), kept = r.below(4) !== 0;
        const wrote: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          const rec = randomRecord(r);
          put(o, rec, gen);
          wrote.push(rec.type === RecordType.Span ? encodeSpan(rec.r, rec.r.crcs, gen) : encodeRecord(rec, gen));
        }
        assert.equal(w.close(), 0);
        assert.equal(w.records, n);
        if (!kept) { const free = allocator.freeCount; const taken = w.pagesTaken; w.rollback(); assert.equal(allocator.freeCount, free + taken); continue; }
        w.apply();
        for (const b of wrote) { starts.add(pos); pos += b.length; want.push(b); }
      }
      const stream = Buffer.concat(want);
      assert.equal(cur.bytes, stream.length, `seed ${seed}`);
      starts.add(pos);                                    // a page's first is where the record crossing into it ends: maybe the tail
      assert.ok(readBack(mem, cur, starts).equals(stream), `seed ${seed}: the stream differs from encodeRecord's`);
    }
  });
}

test('a session that runs out of pages gives every page back and leaves the log as it was', () => {
  const { mem, allocator } = machine(1024, 24);
  const w = new LogWriter(mem, allocator);
  const cur = w.begin(3) as LogCursor;
  const r = new Rand(5);
  let o = w.open(cur);
  for (let i = 0; i < 20; i++) putMap(o, 9, i * 32, 100 + i, 1, r.next(), 0, 4);
  assert.equal(w.close(), 0);
  w.apply();
  const pages = [...cur.pages], tailOff = cur.tailOff, bytes = cur.bytes;
  const committed = pages.map((p) => Buffer.from(mem.page(p).subarray(0, mem.pageSize - LOG_NEXT)));
  const free = allocator.freeCount;
  o = w.open(cur);
  for (let i = 0; i < 2000; i++) putName(o, 1, i, `file-${i}`, 5);   // far more than 24 pages hold
  assert.equal(w.records, 2000);
  assert.equal(w.close(), -28);
  assert.equal(allocator.freeCount, free, 'the pages taken went back');
  assert.deepEqual(cur.pages, pages);
  assert.equal(cur.tailOff, tailOff);
  assert.equal(cur.bytes, bytes);
  pages.forEach((p, i) => {
    const at = i === pages.length - 1 ? tailOff : mem.pageSize - LOG_NEXT;
    assert.ok(mem.page(p).subarray(0, at).equals(committed[i]!.subarray(0, at)), `committed bytes of page ${i} unchanged`);
  });
});
