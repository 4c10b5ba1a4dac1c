// Golden bytes of the replies pram encodes, one field per row, checked against
// the layout of linux/fuse.h 7.38.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes } from './testbytes.js';
import { Size, attrOut, direntSize, entryOut, initOut, outHeader, putDirent, statfsOut } from './wire.js';

// High halves set in ino, size and blocks: both u32 halves of each u64 are checked.
const attr = {
  ino: 0x2_0000_1122, size: 2 ** 40 + 5000, blocks: 2 ** 33 + 16, blksize: 4096, mode: 0o100644, nlink: 2, uid: 1000, gid: 100, rdev: 0,
  atimeNs: 1_700_000_000_000_000_001n, mtimeNs: 1_600_000_000_500_000_000n, ctimeNs: -1n,
};

function attrBytes(b: Bytes): Bytes {
  return b
    .u64(0x2_0000_1122)   // ino
    .u64(2 ** 40 + 5000)  // size
    .u64(2 ** 33 + 16)    // blocks
    .u64(1_700_000_000)   // atime
    .u64(1_600_000_000)   // mtime
    .i64(-1)              // ctime: 1 ns before the epoch is second -1 ...
    .u32(1)               // atimensec
    .u32(500_000_000)     // mtimensec
    .u32(999_999_999)     // ctimensec ... plus 999999999 ns
    .u32(0o100644)        // mode
    .u32(2)               // nlink
    .u32(1000)            // uid
    .u32(100)             // gid
    .u32(0)               // rdev
    .u32(4096)            // blksize
    .u32(0);              // flags
}

test('fuse_out_header golden bytes', () => {
  const want = new Bytes()
    .u32(16)      // len
    .i32(-2)      // error: -ENOENT
    .u64(99n)     // unique
    .build();
  assert.deepEqual(outHeader(16, -2, 99n), want);
});

test('fuse_entry_out golden bytes', () => {
  const want = attrBytes(new Bytes()
    .u64(0x2_0000_1122)  // nodeid
    .u64(0)       // generation
    .u64(3)       // entry_valid
    .u64(5)       // attr_valid
    .u32(0)       // entry_valid_nsec
    .u32(0))      // attr_valid_nsec
    .build();
  assert.equal(want.length, Size.entryOut);
  assert.deepEqual(entryOut(attr, { entrySec: 3, attrSec: 5 }), want);
});

test('fuse_attr_out golden bytes', () => {
  const want = attrBytes(new Bytes()
    .u64(5)       // attr_valid
    .u32(0)       // attr_valid_nsec
    .u32(0))      // dummy
    .build();
  assert.equal(want.length, Size.attrOut);
  assert.deepEqual(attrOut(attr, { entrySec: 3, attrSec: 5 }), want);
});

test('fuse_init_out golden bytes', () => {
  const want = new Bytes()
    .u32(7)          // major
    .u32(38)         // minor
    .u32(131072)     // max_readahead
    .u32(0x12345)    // flags
    .u16(64)         // max_background
    .u16(48)         // congestion_threshold
    .u32(1 << 20)    // max_write
    .u32(1)          // time_gran
    .u16(256)        // max_pages
    .u16(0)          // map_alignment
    .u32(0)          // flags2
    .zeros(28)       // unused[7]
    .build();
  assert.deepEqual(initOut({ minor: 38, maxReadahead: 131072, flags: 0x12345, maxBackground: 64, congestionThreshold: 48, maxWrite: 1 << 20, timeGranNs: 1, maxPages: 256 }), want);
});

test('fuse_kstatfs golden bytes', () => {
  const want = new Bytes()
    .u64(1000)   // blocks
    .u64(900)    // bfree
    .u64(800)    // bavail
    .u64(50)     // files
    .u64(40)     // ffree
    .u32(4096)   // bsize
    .u32(255)    // namelen
    .u32(4096)   // frsize
    .u32(0)      // padding
    .zeros(24)   // spare[6]
    .build();
  assert.deepEqual(statfsOut({ blocks: 1000, bfree: 900, bavail: 800, files: 50, ffree: 40, bsize: 4096, namelen: 255 }), want);
});

test('fuse_dirent golden bytes, padded to 8', () => {
  const buf = Buffer.alloc(40, 0xee);
  const n = putDirent(buf, 0, 9, 3, 8, Buffer.from('abc'));
  const want = new Bytes()
    .u64(9)       // ino
    .u64(3)       // off: the cookie of the next entry
    .u32(3)       // namelen
    .u32(8)       // type: DT_REG
    .raw(Buffer.from('abc'))
    .zeros(5)     // padding to 32
    .build();
  assert.equal(n, 32);
  assert.equal(direntSize(3, false), 32);
  assert.equal(direntSize(8, false), 32);
  assert.equal(direntSize(9, false), 40);
  assert.equal(direntSize(1, true), 160);
  assert.deepEqual(buf.subarray(0, n), want);
  assert.equal(buf[n], 0xee, 'nothing written past the record');
});
