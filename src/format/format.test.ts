// Golden bytes for the on-memory format: CRC vectors, a hand-assembled link
// page and META page checked one field per row, the arena header, and the same
// arrays cut short at every boundary giving decode errors, never a throw.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cAt, crc32le } from './crc.js';
import { LinkPageView, FileImageView, EntryType, ENTRY_LRU, PRAM_MAGIC, linkLenMax, pageCsum } from './v1.js';
import { decodeFileImage, decodeLinkHeader } from './decode.js';
import { DecodeError, ByteReader, decoding } from './reader.js';
import { MetaTailView, decodeTail, encodeXattrs, decodeXattrs, writeNamePage, decodeNamePage, extentFlags, entryPages, TAIL_OFFSET } from './v2.js';
import { HeaderView, checkHeader, HEADER_MAGIC } from './header.js';
import { hexdump } from './hexdump.js';

const PS = 4096;
const u32 = (b: Buffer, o: number) => b.readUInt32LE(o);
const u64 = (b: Buffer, o: number) => b.readBigUInt64LE(o);

test('crc vectors: Linux conventions, not the standard inverted values', () => {
  const v = Buffer.from('123456789');
  assert.equal(crc32le(v), 0x2dfd2d88);     // crc32_le(0, "123456789")
  assert.equal(crc32c(v), 0x58e3fa20);      // crc32c(0, "123456789")
  assert.notEqual(crc32le(v), 0xcbf43926);  // standard CRC-32 is not what is stored
  assert.notEqual(crc32c(v), 0xe3069283);   // standard CRC-32C likewise
  assert.equal(crc32c(v.subarray(4), crc32c(v.subarray(0, 4))), 0x58e3fa20); // seed chains
});

test('link page: hand-assembled bytes, one field per row', () => {
  const page = Buffer.alloc(PS);
  page.writeUInt32LE(2, 8);                         // len = 2
  page.writeUInt32LE(0x1234, 12);                   // pad = skip pointer (v2)
  page.writeBigUInt64LE(0x77n, 16);                 // link_pfn = 0x77
  page.writeUInt32LE(0x101, 24);                    // entry 0 flags = META|LRU
  page.writeUInt32LE(0xdeadbeef, 28);               // entry 0 csum
  page.writeBigUInt64LE(0x10n, 32);                 // entry 0 pfn
  page.writeBigUInt64LE(0n, 40);                    // entry 0 index
  page.writeUInt32LE(0x102, 48);                    // entry 1 flags = DATA|LRU
  page.writeUInt32LE(0xcafef00d, 52);               // entry 1 csum
  page.writeBigUInt64LE(0x11n, 56);                 // entry 1 pfn
  page.writeBigUInt64LE(5n, 64);                    // entry 1 index
  page.writeUInt32LE(PRAM_MAGIC, 0);                // magic
  page.writeUInt32LE(crc32le(page.subarray(8)), 4); // csum of bytes 8..4095

  const built = Buffer.alloc(PS);
  const l = new LinkPageView(built);
  l.len = 2; l.pad = 0x1234; l.linkPfn = 0x77;
  const e0 = l.entry(0); e0.flags = EntryType.Meta | ENTRY_LRU; e0.csum = 0xdeadbeef; e0.pfn = 0x10; e0.index = 0;
  const e1 = l.entry(1); e1.flags = EntryType.Data | ENTRY_LRU; e1.csum = 0xcafef00d; e1.pfn = 0x11; e1.index = 5;
  l.seal();
  assert.deepEqual(built, page, hexdump(built, 0, 96));
  assert.equal(u32(built, 0), 0x7072616d);          // magic bytes 6d 61 72 70
  assert.deepEqual([...built.subarray(0, 4)], [0x6d, 0x61, 0x72, 0x70]);
  assert.equal(linkLenMax(PS), 169);
  const h = decodeLinkHeader(built);
  assert.deepEqual(h, { len: 2, next: 0x77n, skip: 0x1234 });
  built[100] ^= 1;                                   // any byte in 8..4095 breaks the csum
  assert.equal((decodeLinkHeader(built) as { kind: string }).kind, 'csum');
  built[100] ^= 1; built.writeUInt32LE(170, 8); new LinkPageView(built).seal();
  assert.deepEqual(decodeLinkHeader(built), { kind: 'len', len: 170, max: 169 });
});

test('meta page: RFC file image then the v2 tail', () => {
  const page = Buffer.alloc(PS);
  const f = new FileImageView(page);
  f.size = 5000; f.mode = 0o100644; f.setName('dump.img');
  assert.equal(u64(page, 0), 5000n);                // size @0
  assert.equal(u32(page, 8), 0o100644);             // mode @8
  assert.equal(u32(page, 12), 8);                   // name_len @12
  assert.equal(page.toString('latin1', 16, 24), 'dump.img'); // name @16
  assert.ok(page.subarray(24, 272).every((b) => b === 0));   // rest of name[255] + pad
  new MetaTailView(page).write({ ino: 7, parent: 1, uid: 1000, gid: 100, rdev: 0, atimeNs: 1n, mtimeNs: 2n, ctimeNs: 3n,
    dataPages: 2, nlink: 1, xattrPages: 0, xattrBytes: 0, xattrInline: null });
  assert.equal(u32(page, 272), 0x78746d70);         // tail magic 'pmtx'
  assert.equal(page.readUInt16LE(276), 1);          // tail version
  assert.equal(page.readUInt16LE(278), 96);         // tail fixed size
  assert.equal(u64(page, 280), 7n);                 // ino
  assert.equal(u64(page, 288), 1n);                 // parent ino
  assert.equal(u32(page, 296), 1000);               // uid
  assert.equal(u32(page, 300), 100);                // gid
  assert.equal(u64(page, 304), 0n);                 // rdev
  assert.equal(u64(page, 312), 1n);                 // atime ns
  assert.equal(u64(page, 320), 2n);                 // mtime ns
  assert.equal(u64(page, 328), 3n);                 // ctime ns
  assert.equal(u64(page, 336), 2n);                 // data pages
  assert.equal(u32(page, 344), 1);                  // nlink
  assert.equal(u32(page, 348), 0);                  // xattr pages
  assert.equal(u32(page, 352), 0);                  // xattr bytes
  assert.equal(u32(page, 356), 0);                  // xattr inline bytes
  assert.equal(u32(page, 360), 0);                  // reserved
  assert.equal(u32(page, 364), crc32c(page.subarray(272, 364))); // tail crc
  const d = decodeFileImage(page);
  assert.ok(!(d instanceof DecodeError));
  assert.equal(d.name, 'dump.img');
  assert.equal(d.tail?.ino, 7);
  assert.equal(pageCsum(page), crc32c(page));
  page[300] ^= 0x80;                                 // damaged tail: its own crc says so
  assert.ok(decodeTail(page) instanceof DecodeError);
  page.fill(0xa5, TAIL_OFFSET);                      // RFC page with junk tail: no tail
  assert.equal(decodeTail(page), null);
});

test('meta page: hostile names and lengths are decode errors', () => {
  const page = Buffer.alloc(PS);
  const f = new FileImageView(page);
  f.mode = 0o100644;
  for (const [raw, why] of [['a/b', "'/'"], ['a\0b', 'NUL'], ['.', 'reserved'], ['..', 'reserved']] as const) {
    page.fill(0, 16, 271); page.write(raw, 16, 'latin1'); f.nameLen = raw.length;
    const d = decodeFileImage(page);
    assert.ok(d instanceof DecodeError, raw);
    assert.match(d.message, new RegExp(why.replace(/[.']/g, '.')));
  }
  f.nameLen = 256;
  assert.match((decodeFileImage(page) as DecodeError).message, /256 > 255/);
});

test('cut short at every boundary: decode errors, never a throw', () => {
  const page = Buffer.alloc(PS);
  const f = new FileImageView(page);
  f.size = 1; f.mode = 0o100600; f.setName('x');
  for (let n = 0; n < 17; n++) {
    const d = decodeFileImage(page.subarray(0, n));
    assert.ok(d instanceof DecodeError && d.kind === 'short', `cut at ${n}`);
  }
  const name = Buffer.alloc(1024);
  writeNamePage(name, { target: 3, parent: 2, name: 'link' });
  assert.deepEqual(decodeNamePage(name), { target: 3, parent: 2, name: 'link' });
  for (let n = 0; n < 28; n++) assert.ok(decodeNamePage(name.subarray(0, n)) instanceof DecodeError, `NAME cut at ${n}`);
  const blob = encodeXattrs([['user.a', Buffer.from('1')], ['user.bb', Buffer.alloc(0)]]);
  assert.deepEqual(decodeXattrs(blob), [['user.a', Uint8Array.from([0x31])], ['user.bb', new Uint8Array(0)]]);
  for (let n = 1; n < blob.length; n++) {
    if (n === 15) continue; // exactly after the first record: a valid shorter blob
    assert.ok(decodeXattrs(blob.subarray(0, n)) instanceof DecodeError, `xattr cut at ${n}`);
  }
  const r = new ByteReader(Buffer.from([1, 2, 3]));
  assert.ok(decoding(() => r.u32('x')) instanceof DecodeError);
  const big = Buffer.alloc(8, 0xff);
  assert.equal((decoding(() => new ByteReader(big).u64('pfn')) as DecodeError).kind, 'overflow');
});

test('extent flags carry the run length in the upper bits', () => {
  assert.equal(extentFlags(32, true), 0x00200106);   // count 32 << 16 | LRU | type 6
  assert.equal(entryPages(extentFlags(5, false)), 5);
  assert.equal(entryPages(0x102), 1);
});

test('arena header: layout, slots, attach checks in order', () => {
  const page = Buffer.alloc(PS);
  const h = new HeaderView(page);
  h.format({ pageSize: PS, pageCount: 256, flags: 1 });
  assert.equal(u32(page, 0), HEADER_MAGIC);         // magic 'PRAM'
  assert.equal(page.toString('latin1', 0, 4), 'PRAM');
  assert.equal(u32(page, 4), 9);                    // format version (9, v3 minor 6: slots may name v3 logs with SPAN, LOCATE, INDEX, RUNS, ATIMES, PUBLISHED and ATIMES_PAGES records)
  assert.equal(u32(page, 8), PS);                   // page size
  assert.equal(u32(page, 12), 1);                   // flags: extents
  assert.equal(u64(page, 16), 256n);                // page count
  assert.equal(u32(page, 28), crc32c(page.subarray(0, 28))); // header crc
  assert.equal(checkHeader(page, { pageSize: PS, pageCount: 256 }), null);
  assert.equal(h.current(), null);                  // no checkpoint yet
  h.writeSlot(0, { generation: 1, headPfn: 9, pages: 3, nodes: 1 });
  h.writeSlot(1, { generation: 2, headPfn: 12, pages: 4, nodes: 2 });
  assert.equal(u64(page, 64), 1n);                  // slot A generation
  assert.equal(u64(page, 72), 9n);                  // slot A head pfn
  assert.equal(u64(page, 128), 2n);                 // slot B generation
  assert.deepEqual(h.current(), { which: 1, slot: { generation: 2, headPfn: 12, pages: 4, nodes: 2 } });
  page[130] ^= 1;                                   // torn slot B: A is used
  assert.equal(h.current()?.slot.headPfn, 9);
  assert.equal(checkHeader(page, { pageSize: PS, pageCount: 255 })?.field, 'pageCount');
  assert.equal(checkHeader(page, { pageSize: 8192, pageCount: 256 })?.field, 'pageSize');
  page[20] = 1;                                      // inside the crc range, after geometry
  assert.equal(checkHeader(page, { pageSize: PS, pageCount: 256 + 2 ** 32 })?.field, 'crc');
  page.writeUInt32LE(10, 4);
  assert.match(checkHeader(page, { pageSize: PS, pageCount: 256 })!.message, /version 10, this pram reads versions 2, 3, 4, 5, 6, 7, 8 and 9/);
  page.writeUInt32LE(0, 0);
  assert.equal(checkHeader(page, { pageSize: PS, pageCount: 256 })?.field, 'magic');
});

test('crc32cAt equals crc32c of the subarray: every length across the JS and library paths, any offset and seed', () => {
  const buf = Buffer.alloc(1024);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 23;
  for (let len = 0; len <= 600; len += len < 40 ? 1 : 37) {
    for (const off of [0, 1, 3, 8, 13]) {
      for (const seed of [0, 0xffffffff, 0x12345678]) {
        assert.equal(crc32cAt(buf, off, len, seed), crc32c(buf.subarray(off, off + len), seed), `off ${off} len ${len} seed ${seed}`);
      }
    }
  }
});
