// The v3 codec: byte layouts as docs/FORMAT.md §v3 gives them, round trips,
// and every malformed field named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc.js';
import { HeaderView } from './header.js';
import {
  decodePayload, encodeMap, encodeRecord, encodeSpan, framedCrc, MAP_SIZE, LOG_HEADER, LOG_MAGIC, readLogHeader, readRecordHeader, recordCrc, RecordType,
  RECORD_HEADER, SPAN_BLOCK, SPAN_FIXED, spanCrcOf, writeLogHeader, type LogRecord, RunsKind, RUNS_FIXED, RUNS_ENTRY, LOCATE_SIZE,
  ATIMES_FIXED, ATIMES_ENTRY, ATIMES_MAX_ENTRIES, atimesIno, atimesRecord, checkAtimes, decodeAtimesAt, encodeLocate, LOCATE_SLICED, PUBLISHED_SIZE,
  ATIMES_PAGES_FIXED, ATIMES_PAGES_RUN, ATIMES_PAGES_MAX_ENTRIES, atimesOfPage, atimesPageOf, atimesPagesFit
} from './v3.js';

const PS = 4096;

test('log page header: layout, crc, and each damage named', () => {
  const page = Buffer.alloc(PS);
  writeLogHeader(page, { logId: 7, seq: 3, first: 64 });
  assert.equal(page.readUInt32LE(0), LOG_MAGIC);
  assert.equal(page.toString('latin1', 0, 4), 'PLOG');
  assert.equal(page.readUInt32LE(4), 64);                 // first record offset
  assert.equal(page.readBigUInt64LE(8), 7n);              // log id
  assert.equal(page.readBigUInt64LE(16), 3n);             // seq
  assert.equal(page.readUInt32LE(28), crc32c(page.subarray(0, 28)));
  assert.deepEqual(readLogHeader(page), { logId: 7, seq: 3, first: 64 });
  page[17] ^= 1;
  assert.match(readLogHeader(page) as string, /log page header crc saved/);
  page[17] ^= 1;
  page[0] ^= 1;
  assert.match(readLogHeader(page) as string, /not a log page/);
  writeLogHeader(page, { logId: 1, seq: 0, first: 12 });
  assert.match(readLogHeader(page) as string, /first record offset 12 outside the stream/);
});

const samples: LogRecord[] = [
  { type: RecordType.Inode, r: { ino: 5, mode: 0o100644, uid: 1000, gid: 100, rdev: 0, size: 12345, atimeNs: 1n, mtimeNs: 2n,
    ctimeNs: 3n, pages: 4, xattrs: Uint8Array.from([1, 2, 3]), inline: Uint8Array.from([9]) } },
  { type: RecordType.Drop, ino: 2 ** 40 },
  { type: RecordType.Name, r: { parent: 1, ino: 5, name: 'héllo' } },
  { type: RecordType.Name, r: { parent: 3, ino: 0, name: 'gone' } },
  { type: RecordType.Map, r: { ino: 5, index: 2 ** 33, pfn: 2 ** 35, count: 32, csum: 0xdeadbeef, flags: 1 } },
  { type: RecordType.Unmap, r: { ino: 5, index: 64, count: 96 } },
];

test('records round trip, 8-aligned, crc over header and payload (u64 pfns and indexes past 2^32)', () => {
  for (const rec of samples) {
    const b = encodeRecord(rec, 0x1_0000_0009);
    assert.equal(b.length % 8, 0);
    const h = readRecordHeader(b);
    assert.equal(h.type, rec.type);
    assert.equal(h.generation, 9);                        // generation mod 2^32
    const payload = b.subarray(RECORD_HEADER, RECORD_HEADER + h.length);
    assert.equal(h.crc, recordCrc(b.subarray(4, RECORD_HEADER), b.subarray(RECORD_HEADER)));   // payload and its padding
    assert.deepEqual(decodePayload(h.type, payload), rec);
  }
  const map = encodeRecord(samples[4]!, 1);
  assert.equal(map.readBigUInt64LE(RECORD_HEADER + 16), 2n ** 35n);   // pfn as u64
});

test('a MAP record is the same bytes as the generic framing would make (u64 halves, one crc over header and payload)', () => {
  for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 7, 2 ** 53 - 1]) {
    const r = { ino: v, index: Math.max(0, v - 5), pfn: v, count: 1, csum: 0xdeadbeef, flags: 1 };
    const p = Buffer.alloc(MAP_SIZE);
    p.writeBigUInt64LE(BigInt(r.ino), 0); p.writeBigUInt64LE(BigInt(r.index), 8); p.writeBigUInt64LE(BigInt(r.pfn), 16);
    p.writeUInt32LE(1, 24); p.writeUInt32LE(r.csum, 28); p.writeUInt32LE(1, 32);
    const want = Buffer.alloc(RECORD_HEADER + MAP_SIZE);
    want.writeUInt16LE(RecordType.Map, 4); want.writeUInt32LE(MAP_SIZE, 8); want.writeUInt32LE(0x1_0000_0009 >>> 0, 12);
    p.copy(want, RECORD_HEADER);
    want.writeUInt32LE(recordCrc(want.subarray(4, RECORD_HEADER), p), 0);
    assert.deepEqual(encodeMap(r, 0x1_0000_0009), want, `values ${v}`);
  }
});

test('malformed payloads are named, never thrown', () => {
  const payload = (rec: LogRecord) => { const b = encodeRecord(rec, 1); return b.subarray(RECORD_HEADER, RECORD_HEADER + readRecordHeader(b).length); };
  assert.match(decodePayload(99, Buffer.alloc(8)) as string, /unknown record type 99/);
  assert.match(decodePayload(RecordType.Map, Buffer.alloc(8)) as string, /MAP payload of 8 bytes/);
  const m = Buffer.from(payload({ type: RecordType.Map, r: { ino: 1, index: 30, pfn: 9, count: 4, csum: 0, flags: 0 } }));
  assert.match(decodePayload(RecordType.Map, m) as string, /crosses a group/);
  const n = Buffer.from(payload({ type: RecordType.Name, r: { parent: 1, ino: 2, name: 'ab' } }));
  n.write('/', 24);
  assert.match(decodePayload(RecordType.Name, n) as string, /not a path component/);
  const u = Buffer.from(payload(samples[5]!));
  u.writeBigUInt64LE(2n ** 60n, 8);
  assert.match(decodePayload(RecordType.Unmap, u) as string, /over 2\^53/);
  const i = Buffer.from(payload(samples[0]!));
  i.writeUInt32LE(50, 64);
  assert.match(decodePayload(RecordType.Inode, i) as string, /do not fill/);
});

test('a SPAN record: layout, round trip, a crc over all but the page crcs, every malformed field named', () => {
  for (const count of [1, 2, 3, 7, SPAN_BLOCK]) {
    const crcs = Uint32Array.from({ length: count }, (_, k) => (0x9e3779b9 * (k + 1)) >>> 0);
    const r = { ino: 2 ** 40 + 3, index: SPAN_BLOCK * (2 ** 21), pfn: 2 ** 34 + 1, count, flags: 1 };
    const b = encodeSpan(r, crcs, 0x1_0000_0005);
    const h = readRecordHeader(b);
    assert.equal(b.length, RECORD_HEADER + Math.ceil((SPAN_FIXED + 4 * count) / 8) * 8);
    assert.deepEqual([h.type, h.length, h.generation, h.flags], [RecordType.Span, SPAN_FIXED + 4 * count, 5, 0]);
    assert.equal(b.readBigUInt64LE(RECORD_HEADER + 16), 2n ** 34n + 1n);                  // pfn as u64
    assert.equal(b.readUInt32LE(RECORD_HEADER + 24), count);
    assert.equal(b.readUInt32LE(RECORD_HEADER + SPAN_FIXED + 4 * (count - 1)), crcs[count - 1]);   // the last page's crc
    // The page crcs have their own crc (payload @32); the record's: bytes 4..55, then the padding.
    assert.equal(b.readUInt32LE(RECORD_HEADER + 32), crc32c(b.subarray(RECORD_HEADER + SPAN_FIXED, RECORD_HEADER + h.length)));
    assert.equal(b.readUInt32LE(RECORD_HEADER + 36), 0);
    const pad = b.subarray(RECORD_HEADER + h.length);
    assert.equal(h.crc, crc32c(pad, crc32c(b.subarray(4, RECORD_HEADER + SPAN_FIXED))));
    assert.equal(framedCrc(b, 0, h.type, h.length), h.crc);
    assert.equal(spanCrcOf(b.subarray(4, RECORD_HEADER), b.subarray(RECORD_HEADER), h.length), h.crc);   // read in two pieces
    b[RECORD_HEADER + SPAN_FIXED] ^= 0x40;                                               // a page crc: the record holds, the crcs' crc fails
    assert.equal(framedCrc(b, 0, h.type, h.length), h.crc);
    const damaged = decodePayload(h.type, b.subarray(RECORD_HEADER, RECORD_HEADER + h.length)) as { r: { crcs: Uint32Array; crcsDamage?: unknown } };
    assert.equal(damaged.r.crcs[0], (crcs[0]! ^ 0x40) >>> 0);
    assert.deepEqual(damaged.r.crcsDamage, { saved: b.readUInt32LE(RECORD_HEADER + 32), computed: crc32c(b.subarray(RECORD_HEADER + SPAN_FIXED, RECORD_HEADER + h.length)) });
    b[RECORD_HEADER + SPAN_FIXED] ^= 0x40;
    b[RECORD_HEADER + 8] ^= 1;                                                          // the index: caught
    assert.notEqual(framedCrc(b, 0, h.type, h.length), h.crc);
    b[RECORD_HEADER + 8] ^= 1;
    if (pad.length) { pad[2] ^= 1; assert.notEqual(framedCrc(b, 0, h.type, h.length), h.crc); pad[2] ^= 1; }
    assert.deepEqual(decodePayload(h.type, b.subarray(RECORD_HEADER, RECORD_HEADER + h.length)), { type: RecordType.Span, r: { ...r, crcs } });
    assert.deepEqual(encodeRecord({ type: RecordType.Span, r: { ...r, crcs } }, 0x1_0000_0005), b);
  }
  const span = (index: number, count: number, length = SPAN_FIXED + 4 * count) => {
    const p = Buffer.alloc(Math.max(length, SPAN_FIXED));
    p.writeBigUInt64LE(1n, 0); p.writeBigUInt64LE(BigInt(index), 8); p.writeBigUInt64LE(9n, 16); p.writeUInt32LE(count, 24);
    return p;
  };
  assert.match(decodePayload(RecordType.Span, span(SPAN_BLOCK - 1, 2)) as string, /crosses a block of 4096 pages/);
  assert.match(decodePayload(RecordType.Span, span(0, 0)) as string, /crosses a block/);
  assert.match(decodePayload(RecordType.Span, span(0, 4, SPAN_FIXED + 12)) as string, /SPAN of 4 pages in 52 bytes/);
  assert.match(decodePayload(RecordType.Span, Buffer.alloc(8)) as string, /at least 40 expected/);
  const reserved = span(0, 1);
  reserved.writeUInt32LE(1, 36);
  assert.match(decodePayload(RecordType.Span, reserved) as string, /reserved field not 0/);
  assert.throws(() => encodeSpan({ ino: 1, index: SPAN_BLOCK - 1, pfn: 9, count: 2, flags: 0 }, [0, 0], 1), /inside one block/);
});

test('slot extension 8 (v3 minor 6) is what a log slot is written with; extensions 7, 6, 5, 4, 3 and 2 still read as a log', () => {
  const page = Buffer.alloc(PS);
  const h = new HeaderView(page);
  h.format({ pageSize: PS, pageCount: 256, flags: 0 }, 3);
  const log = { tailPfn: 77, tailOff: 200, logPages: 3 };
  h.writeSlot(0, { generation: 2, headPfn: 9, pages: 4, nodes: 1, log });
  assert.equal(page.readUInt32LE(64 + 32), 8);
  assert.deepEqual(h.readSlot(0)?.log, log);
  for (const ext of [7, 6, 5, 4, 3, 2]) {                                                     // as older prams wrote it
    page.writeUInt32LE(ext, 64 + 32);
    page.writeUInt32LE(crc32c(page.subarray(64, 64 + 60)), 64 + 60);
    assert.deepEqual(h.readSlot(0)?.log, log, `extension ${ext}`);
  }
});

test('slot extension 2 names a log: tail pfn, tail offset, page count', () => {
  const page = Buffer.alloc(PS);
  const h = new HeaderView(page);
  h.format({ pageSize: PS, pageCount: 256, flags: 0 }, 2);
  h.writeSlot(1, { generation: 4, headPfn: 9, pages: 12, nodes: 3, log: { tailPfn: 2 ** 34, tailOff: 1000, logPages: 5 } });
  assert.equal(page.readUInt32LE(128 + 32), 8);            // slot extension 8: a log (2 before SPANs, 3 before INDEX, 4 before RUNS, 5 before ATIMES, 6 before PUBLISHED, 7 before ATIMES_PAGES), the same fields
  assert.equal(page.readBigUInt64LE(128 + 40), 2n ** 34n);  // tail pfn
  assert.equal(page.readUInt32LE(128 + 48), 1000);         // tail offset
  assert.equal(page.readUInt32LE(128 + 52), 5);            // log pages
  assert.deepEqual(h.current()?.slot.log, { tailPfn: 2 ** 34, tailOff: 1000, logPages: 5 });
  assert.equal(h.version, 2);
  h.setVersion(3);
  assert.equal(h.version, 3);
  assert.equal(page.readUInt32LE(28), crc32c(page.subarray(0, 28)));
  assert.ok(LOG_HEADER % 8 === 0);
});

test('RUNS and LOCATE of v3 minor 3: layout, round trip, every malformed field named', () => {
  const runs = Float64Array.from([7, 3, 2 ** 40, 1]);
  const framed = encodeRecord({ type: RecordType.Runs, r: { kind: RunsKind.Data, a: 0, b: 0, runs } }, 9);
  const p = framed.subarray(RECORD_HEADER, RECORD_HEADER + framed.readUInt32LE(8));
  assert.equal(p.length, RUNS_FIXED + 2 * RUNS_ENTRY);
  assert.equal(p.readUInt32LE(0), RunsKind.Data);                   // kind
  assert.equal(p.readUInt32LE(4), 2);                              // runs
  assert.equal(p.readBigUInt64LE(24), 7n);                         // run 0 pfn
  assert.equal(p.readBigUInt64LE(32), 3n);                         // run 0 count
  assert.equal(p.readBigUInt64LE(40), 2n ** 40n);                  // run 1 pfn (past 2^32)
  const back = decodePayload(RecordType.Runs, p);
  assert.ok(typeof back !== 'string' && back.type === RecordType.Runs);
  assert.deepEqual([...back.r.runs], [...runs]);
  const bad = (f: (b: Buffer) => void) => { const b = Buffer.from(p); f(b); return decodePayload(RecordType.Runs, b); };
  assert.match(String(bad((b) => b.writeUInt32LE(4, 0))), /RUNS of kind 4/);
  assert.match(String(bad((b) => b.writeUInt32LE(RunsKind.Homes, 0))), /RUNS HOMES of directory 0/);   // HOMES names its directory in a
  const homes = encodeRecord({ type: RecordType.Runs, r: { kind: RunsKind.Homes, a: 5, b: 0, runs } }, 9);
  const hp = homes.subarray(RECORD_HEADER, RECORD_HEADER + homes.readUInt32LE(8));
  assert.equal(hp.readUInt32LE(0), 3);                             // kind 3 HOMES
  assert.equal(hp.readBigUInt64LE(8), 5n);                         // a: the home directory
  assert.deepEqual((decodePayload(RecordType.Runs, hp) as { r: { runs: Float64Array } }).r.runs, runs);   // runs: first ino, count
  assert.match(String(bad((b) => b.writeUInt32LE(3, 4))), /RUNS of 3 runs/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(0n, 32))), /no pages/);
  assert.match(String(bad((b) => b.writeUInt32LE(RunsKind.Totals, 0))), /RUNS of 2 runs/);   // totals hold no runs
  // LOCATE: RUNS bytes @48 and the index's page @56, both or neither.
  const l = { indexPos: 800, indexBytes: 56, indexRecords: 1, entries: 1, nodes: 3, names: 2, maxIno: 9, runsBytes: 120, indexPfn: 44 };
  const lb = encodeRecord({ type: RecordType.Locate, r: l }, 9).subarray(RECORD_HEADER, RECORD_HEADER + LOCATE_SIZE);
  assert.equal(lb.readBigUInt64LE(48), 120n);                      // RUNS bytes
  assert.equal(lb.readBigUInt64LE(56), 44n);                       // index pfn
  assert.deepEqual((decodePayload(RecordType.Locate, lb) as { r: unknown }).r, l);
  lb.writeBigUInt64LE(0n, 56);
  assert.match(String(decodePayload(RecordType.Locate, lb)), /LOCATE names RUNS without the index's page/);
});

test('ATIMES of v3 minor 4: layout, round trip, every malformed field named', () => {
  const inos = [3, 9, 2 ** 40 + 1], times = [1_700_000_000_000_000_123n, 0n, -5n];     // (a time before the epoch: stored unsigned, as an INODE's)
  const framed = encodeRecord({ type: RecordType.Atimes, r: atimesRecord(inos, times) }, 9);
  assert.equal(framed.readUInt16LE(4), 10);                        // type 10
  const p = framed.subarray(RECORD_HEADER, RECORD_HEADER + framed.readUInt32LE(8));
  assert.equal(p.length, ATIMES_FIXED + 3 * ATIMES_ENTRY);
  assert.equal(p.readUInt32LE(0), 3);                              // entries
  assert.equal(p.readUInt32LE(4), 0);                              // reserved
  assert.equal(p.readBigUInt64LE(8), 3n);                          // entry 0 ino
  assert.equal(p.readBigUInt64LE(16), 1_700_000_000_000_000_123n); // entry 0 atime (ns)
  assert.equal(p.readBigUInt64LE(40), 2n ** 40n + 1n);             // entry 2 ino (past 2^32)
  assert.equal(p.readBigUInt64LE(48), 2n ** 64n - 5n);             // entry 2 atime
  assert.equal(framed.readUInt32LE(0), framedCrc(framed, 0, RecordType.Atimes, p.length));   // crc over header bytes 4… and the payload
  const back = decodePayload(RecordType.Atimes, p);
  assert.ok(typeof back !== 'string' && back.type === RecordType.Atimes);
  assert.deepEqual([0, 1, 2].map((k) => atimesIno(back.r, k)), inos);
  assert.deepEqual([1, 3, 5].map((k) => back.r.times[k]), [times[0], times[1], 2n ** 64n - 5n]);
  // A view (a lazy mount's tail): the same entries, its inos checked on first use.
  const view = decodeAtimesAt(framed, RECORD_HEADER, p.length, true);
  assert.ok(typeof view !== 'string' && !view.checked && view.words.buffer === framed.buffer);
  assert.equal(checkAtimes(view), null);
  assert.ok(view.checked);
  const unsorted = Buffer.from(framed); unsorted.writeBigUInt64LE(9n, RECORD_HEADER + 8);
  const uv = decodeAtimesAt(unsorted, RECORD_HEADER, p.length, true);
  assert.ok(typeof uv !== 'string');
  assert.match(String(checkAtimes(uv)), /entry 1: ino 9 not above 9/);
  const bad = (f: (b: Buffer) => void) => { const b = Buffer.from(p); f(b); return decodePayload(RecordType.Atimes, b); };
  assert.match(String(bad((b) => b.writeUInt32LE(2, 0))), /ATIMES of 2 entries in 56 bytes/);
  assert.match(String(bad((b) => b.writeUInt32LE(1, 4))), /reserved field not 0/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(9n, 8))), /entry 1: ino 9 not above 9/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(0n, 8))), /entry 0: ino 0 not above 0/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(2n ** 60n, 40))), /entry 2: ino over 2\^53/);
  assert.match(String(decodePayload(RecordType.Atimes, Buffer.alloc(8))), /ATIMES of 0 entries/);
  const over = Buffer.alloc(ATIMES_FIXED); over.writeUInt32LE(ATIMES_MAX_ENTRIES + 1, 0);
  assert.match(String(decodePayload(RecordType.Atimes, over)), /ATIMES of 4097 entries/);
});

test('v3 minor 5: PUBLISHED (type 11: the publishing commit, where the two copies of its step begin, a copy\'s bytes, which copy, zeros after) and LOCATE flagged "in slices" in its header', () => {
  const pr = { generation: 2 ** 33 + 5, first: 123456, second: 2 ** 40, bytes: 4000, copy: 0, pad: 16 };
  const b = encodeRecord({ type: RecordType.Published, r: pr }, 41);
  assert.equal(b.length, RECORD_HEADER + PUBLISHED_SIZE + 16);
  const h = readRecordHeader(b);
  assert.deepEqual({ type: h.type, flags: h.flags, length: h.length, generation: h.generation }, { type: 11, flags: 0, length: 56, generation: 41 });
  assert.equal(b.readBigUInt64LE(16), 2n ** 33n + 5n);                 // the publishing commit's generation (u64)
  assert.equal(b.readBigUInt64LE(24), 123456n);                        // where copy 0's records begin
  assert.equal(b.readBigUInt64LE(32), 2n ** 40n);                      // where copy 1's begin
  assert.equal(b.readBigUInt64LE(40), 4000n);                          // the bytes of a copy's records
  assert.equal(b.readUInt32LE(48), 0);                                 // which copy it ends
  assert.equal(b.readUInt32LE(52), 0);                                 // reserved
  assert.ok(b.subarray(56, 72).every((x) => x === 0), 'zeros after (copy 0: to where copy 1 begins)');
  assert.equal(framedCrc(b, 0, h.type, h.length), h.crc);
  assert.deepEqual(decodePayload(RecordType.Published, b.subarray(RECORD_HEADER)), { type: RecordType.Published, r: pr });
  assert.match(decodePayload(RecordType.Published, b.subarray(RECORD_HEADER, RECORD_HEADER + 8)) as string, /at least 40/);
  const bad = (at: number, v: number) => { const p = Buffer.from(b.subarray(RECORD_HEADER)); p.writeUInt32LE(v, at); return decodePayload(RecordType.Published, p); };
  assert.equal(typeof bad(4, 0xffffffff), 'string', 'over 2^53');
  assert.match(bad(32, 2) as string, /copy 2/);
  assert.match(bad(32, 1) as string, /copy 1.* 16 bytes after/, 'copy 1\'s has no zeros after');
  assert.match(bad(36, 1) as string, /reserved 1/);
  assert.match(bad(24, 9) as string, /of 9 bytes/, 'a copy\'s bytes are whole records: 8-aligned');
  assert.match(bad(20, 0) as string, /copies at 123456 and 0/, 'copy 1 after copy 0');
  assert.match(bad(40, 1) as string, /byte 40 after its fields not 0/);
  const r = { indexPos: 80, indexBytes: 40, nodes: 1, names: 1, maxIno: 1, indexRecords: 1, entries: 1, runsBytes: 0, indexPfn: 0 };
  const plain = encodeLocate(r, 7), sliced = encodeLocate(r, 7, LOCATE_SLICED);
  assert.equal(readRecordHeader(plain).flags, 0);
  assert.equal(readRecordHeader(sliced).flags, LOCATE_SLICED);
  assert.equal(framedCrc(sliced, 0, RecordType.Locate, LOCATE_SIZE), readRecordHeader(sliced).crc, 'the flags are under the crc');
  assert.notEqual(readRecordHeader(sliced).crc, readRecordHeader(plain).crc);
  assert.deepEqual(decodePayload(RecordType.Locate, sliced.subarray(RECORD_HEADER)), decodePayload(RecordType.Locate, plain.subarray(RECORD_HEADER)), 'the payload is the same');
});

test('ATIMES_PAGES of v3 minor 6: layout, round trip, every malformed field named; each page read back on its own, one that fails its crc or the record named', () => {
  // 600 entries: 256 a page of 4 KiB, over 3 pages in two runs (pfn 40-41, then 90).
  const n = 600, inos = Array.from({ length: n }, (_, k) => 5 + 2 * k), times = inos.map((i) => BigInt(i) * 1000n);
  const pages = Buffer.alloc(3 * PS);
  for (let k = 0; k < n; k++) { pages.writeBigUInt64LE(BigInt(inos[k]!), 16 * k); pages.writeBigUInt64LE(times[k]!, 16 * k + 8); }
  const page = (b: Buffer, j: number) => b.subarray(j * PS, (j + 1) * PS);
  const crcs = Uint32Array.from([0, 1, 2], (j) => crc32c(page(pages, j))), firsts = Float64Array.from([0, 256, 512], (k) => inos[k]!);
  const r = { n, lo: inos[0]!, hi: inos[n - 1]!, runs: [40, 2, 90, 1], firsts, crcs };
  const framed = encodeRecord({ type: RecordType.AtimesPages, r }, 9);
  assert.equal(framed.readUInt16LE(4), 12);                                       // type 12
  const p = framed.subarray(RECORD_HEADER, RECORD_HEADER + framed.readUInt32LE(8));
  assert.equal(p.length, ATIMES_PAGES_FIXED + 2 * ATIMES_PAGES_RUN + 3 * 8 + 3 * 4);   // fixed, 2 runs, 3 first inos, 3 page crcs
  assert.deepEqual([p.readUInt32LE(0), p.readUInt32LE(4), Number(p.readBigUInt64LE(8)), Number(p.readBigUInt64LE(16)), p.readUInt32LE(24), p.readUInt32LE(28)],
    [n, 2, 5, inos[n - 1], 3, 0]);                                                // entries, runs, lowest and highest ino, pages, reserved
  assert.deepEqual([p.readBigUInt64LE(32), p.readBigUInt64LE(40), p.readBigUInt64LE(48), p.readBigUInt64LE(56)], [40n, 2n, 90n, 1n]);
  assert.deepEqual([p.readBigUInt64LE(64), p.readBigUInt64LE(72), p.readBigUInt64LE(80)], [5n, 517n, 1029n]);   // each page's first ino
  assert.equal(p.readUInt32LE(88 + 8), crcs[2]);
  const back = decodePayload(RecordType.AtimesPages, p);
  assert.ok(typeof back !== 'string' && back.type === RecordType.AtimesPages);
  assert.deepEqual({ ...back.r, crcs: [...back.r.crcs], firsts: [...back.r.firsts] }, { ...r, crcs: [...crcs], firsts: [...firsts] });
  assert.equal(atimesPagesFit(back.r, PS), null);
  assert.match(String(atimesPagesFit({ ...back.r, n: 900 }, PS)), /900 entries in 3 pages/);
  assert.deepEqual([atimesPageOf(back.r, 4), atimesPageOf(back.r, 5), atimesPageOf(back.r, 516), atimesPageOf(back.r, 517), atimesPageOf(back.r, 10 ** 6)], [-1, 0, 0, 1, 2]);
  const p2 = atimesOfPage(back.r, 2, page(pages, 2));
  assert.ok(typeof p2 !== 'string');
  assert.deepEqual([p2.n, atimesIno(p2, 0), atimesIno(p2, 87), p2.times[2 * 87 + 1]], [88, inos[512], inos[599], times[599]]);
  // A flipped bit in page 1: that page fails (its 256 entries), the others read.
  const hit = Buffer.from(pages); hit[PS + 100]! ^= 4;
  assert.match(String(atimesOfPage(back.r, 1, page(hit, 1))), /failed crc32c \(saved 0x[0-9a-f]+, computed 0x[0-9a-f]+\)/);
  assert.ok(typeof atimesOfPage(back.r, 0, page(hit, 0)) !== 'string');
  // A page whose crc holds but whose entries are not what the record says.
  const wrong = Buffer.from(page(pages, 1)); wrong.writeBigUInt64LE(2n, 0);
  assert.match(String(atimesOfPage({ ...back.r, crcs: Uint32Array.from([crcs[0]!, crc32c(wrong), crcs[2]!]) }, 1, wrong)), /is malformed: inos 2…1027, not from 517 below 1029/);
  const unsorted = Buffer.from(page(pages, 0)); unsorted.writeBigUInt64LE(9n, 16);
  assert.match(String(atimesOfPage({ ...back.r, crcs: Uint32Array.from([crc32c(unsorted), crcs[1]!, crcs[2]!]) }, 0, unsorted)), /is malformed: ATIMES entry 2: ino 9 not above 9/);
  const bad = (f: (b: Buffer) => void) => { const b = Buffer.from(p); f(b); return decodePayload(RecordType.AtimesPages, b); };
  assert.match(String(bad((b) => b.writeUInt32LE(0, 0))), /ATIMES_PAGES of 0 entries/);
  assert.match(String(bad((b) => b.writeUInt32LE(ATIMES_PAGES_MAX_ENTRIES + 1, 0))), /ATIMES_PAGES of 65537 entries/);
  assert.match(String(bad((b) => b.writeUInt32LE(3, 4))), /3 runs, 3 pages in 100 bytes/);
  assert.match(String(bad((b) => b.writeUInt32LE(1, 28))), /reserved field not 0/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(4n, 16))), /inos 5…4/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(0n, 32))), /run 0: pfn 0/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(3n, 40))), /runs of 4 pages, 3 first inos/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(6n, 64))), /page 0: first ino 6/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(5n, 72))), /page 1: first ino 5/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(2000n, 80))), /page 2: first ino 2000/);
  assert.match(String(bad((b) => b.writeBigUInt64LE(2n ** 60n, 80))), /page 2: first ino over 2\^53/);
  // Read in place as words when 4-aligned, byte by byte when not: the same record, the same refusals.
  for (const shift of [0, 1, 2, 3, 4]) {
    const moved = Buffer.alloc(p.length + 8);
    const at = (4 - (moved.byteOffset % 4)) % 4 + shift, q = moved.subarray(at, at + p.length);
    p.copy(q);
    const d = decodePayload(RecordType.AtimesPages, q);
    assert.ok(typeof d !== 'string' && d.type === RecordType.AtimesPages, `shift ${shift}`);
    assert.deepEqual({ ...d.r, crcs: [...d.r.crcs], firsts: [...d.r.firsts] }, { ...r, crcs: [...crcs], firsts: [...firsts] }, `shift ${shift}`);
    q.writeBigUInt64LE(2n ** 60n, 72);
    assert.match(String(decodePayload(RecordType.AtimesPages, q)), /page 1: first ino over 2\^53/, `shift ${shift}`);
  }
});
