// Replies built in place (reply.ts) against wire.ts's encoders, whose bytes
// wire.test.ts checks field by field: the same bytes, also when the shared
// buffer held a different reply just before (nothing of it may show through).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyBuffer } from './reply.js';
import { Size, attrOut, entryOut, negativeEntryOut, openOut, outHeader, u32Out } from './wire.js';

const attr = {
  ino: 0x2_0000_1122, size: 2 ** 40 + 5000, blocks: 2 ** 33 + 16, blksize: 4096, mode: 0o100644, nlink: 2, uid: 1000, gid: 100, rdev: 7,
  atimeNs: 1_700_000_000_000_000_001n, mtimeNs: 1_600_000_000_500_000_000n, ctimeNs: -1n,
};
const v = { entrySec: 3, attrSec: 5 };

/** A buffer whose every byte was written by an earlier reply: 0xff everywhere a field could be stale. */
function dirty(r: ReplyBuffer): void {
  r.entryOpen({ ...attr, ino: 2 ** 53 - 1, size: 2 ** 53 - 1, blocks: 2 ** 53 - 1, mode: 0xffffffff, nlink: 0xffffffff, uid: 0xffffffff, gid: 0xffffffff, rdev: 0xffffffff, blksize: 0xffffffff },
    { entrySec: 2 ** 53 - 1, attrSec: 2 ** 53 - 1 }, 2 ** 53 - 1, 0xffffffff);
  r.header(Size.entryOut + Size.openOut, -1, 2n ** 64n - 1n);
}

/** The in-place reply (header + payload) as a copy, its header filled as the session fills it. */
function framed(r: ReplyBuffer, b: Buffer, unique: bigint): Buffer {
  assert.ok(r.owns(b), 'built in the shared buffer');
  return Buffer.from(r.header(b.length - Size.outHeader, 0, unique));
}

const cases: [string, (r: ReplyBuffer) => Buffer, Buffer][] = [
  ['fuse_entry_out', (r) => r.entry(attr, v), entryOut(attr, v)],
  ['fuse_entry_out of a missing name', (r) => r.negativeEntry(v), negativeEntryOut(v)],
  ['fuse_attr_out', (r) => r.attr(attr, v), attrOut(attr, v)],
  ['fuse_open_out', (r) => r.open(0x1_0000_0007, 0x3), openOut(0x1_0000_0007, 0x3)],
  ['fuse_entry_out + fuse_open_out (CREATE)', (r) => r.entryOpen(attr, v, attr.ino, 0x2), Buffer.concat([entryOut(attr, v), openOut(attr.ino, 0x2)])],
  ['fuse_write_out', (r) => r.u32(4096), u32Out(4096)],
];

for (const [what, build, payload] of cases) {
  test(`${what} built in place equals wire.ts's bytes, header in front`, () => {
    const r = new ReplyBuffer();
    dirty(r);
    const got = framed(r, build(r), 77n);
    assert.deepEqual(got, Buffer.concat([outHeader(Size.outHeader + payload.length, 0, 77n), payload]));
  });
}

test('a header-only reply in place equals outHeader(), whatever the buffer held', () => {
  const r = new ReplyBuffer();
  dirty(r);
  assert.deepEqual(Buffer.from(r.header(0, -2, 99n)), outHeader(16, -2, 99n));
});

test('buffers not built here are not taken for in-place replies', () => {
  const r = new ReplyBuffer();
  assert.equal(r.owns(entryOut(attr, v)), false);
  assert.equal(r.owns(Buffer.alloc(Size.attrOut)), false);
});
