// u64 (v3-base.ts): a u64 field as a number. Below 2^31 it is a small integer (a V8 Smi),
// not a heap number, from the first call on: the first heap number stored in an object's
// field makes V8 box that field in every object of its shape (an inode's ino, size and
// rdev, a dentry's ino: 16 bytes and an allocation each, per file a mount loads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { u64 } from './v3-base.js';

setFlagsFromString('--allow-natives-syntax');
const isSmi = new Function('x', 'return %IsSmi(x)') as (x: unknown) => boolean;

const at = (lo: number, hi: number): Buffer => {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(lo, 4); b.writeUInt32LE(hi, 8);
  return b;
};

test('u64 below 2^31 is a small integer, cold and warm; larger values exact; past 2^53 null', () => {
  for (const v of [0, 1, 12, 100, 0x7fffffff]) {
    const got = u64(at(v, 0), 4);
    assert.equal(got, v);
    assert.ok(isSmi(got), `u64 of ${v} (first calls) is a small integer`);
  }
  for (let v = 0; v < 50_000; v += 7) if (!isSmi(u64(at(v, 0), 4))) assert.fail(`u64 of ${v} (warm) is a heap number`);
  assert.equal(u64(at(0xffffffff, 0), 4), 0xffffffff);
  assert.equal(u64(at(5, 1), 4), 2 ** 32 + 5);
  assert.equal(u64(at(0xffffffff, 0x1fffff), 4), Number.MAX_SAFE_INTEGER);
  assert.equal(u64(at(0, 0x200000), 4), null);
});
