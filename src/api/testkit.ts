// Helpers for the library's tests that damage an arena on purpose.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Prng } from '../machine/prng.js';
import type { PramFs } from './pramfs.js';

/**
 * Flips one seeded bit (a byte from r.below(pageSize), then a bit from
 * r.below(8)) of the arena page that begins with `head`, found by its bytes.
 * Returns the page's byte offset in the arena.
 */
export function flipBitInPage(arena: string, head: Uint8Array, r: Prng, pageSize = 4096): number {
  const where = fs.readFileSync(arena).indexOf(head);
  assert.ok(where > 0 && where % pageSize === 0, 'the page is in the arena');
  const fd = fs.openSync(arena, 'r+');
  try {
    const one = Buffer.alloc(1), byte = where + r.below(pageSize);
    fs.readSync(fd, one, 0, 1, byte);
    one[0]! ^= 1 << r.below(8);
    fs.writeSync(fd, one, 0, 1, byte);
  } finally {
    fs.closeSync(fd);
  }
  return where;
}

/**
 * The one loss a damaged file's mount reports for `path`, asserted to be exactly one and to cover `range` (the
 * bytes of the pages that fail); `label` leads its messages. Returned for further checks (its words).
 */
export function oneLoss(pfs: PramFs, path: string, range: { start: number; end: number }, label = ''): PramFs['losses'][number] {
  const losses = pfs.losses.filter((l) => l.path === path);
  assert.equal(losses.length, 1, `${label}one loss names ${path}: ${JSON.stringify(pfs.losses)}`);
  assert.deepEqual(losses[0]!.range, range, `${label}the loss is the pages that fail`);
  return losses[0]!;
}

/** n seeded random bytes (n a multiple of 4). */
export function randomBytes(n: number, r: Prng): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(r.below(0x100000000), i);
  return b;
}

/** Every page of `path` (size bytes) read on its own: its bytes, or the error code its read gave. */
export async function pagesOf(pfs: PramFs, path: string, size: number, pageSize = 4096): Promise<(Buffer | string)[]> {
  const out: (Buffer | string)[] = [];
  await using h = await pfs.open(path);
  for (let off = 0; off < size; off += pageSize) {
    try {
      const b = Buffer.alloc(pageSize);
      assert.equal((await h.read(b, 0, pageSize, off)).bytesRead, pageSize);
      out.push(b);
    } catch (e) { out.push((e as { code: string }).code); }
  }
  return out;
}
