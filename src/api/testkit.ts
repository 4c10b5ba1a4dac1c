// Helpers for the library's tests that damage an arena on purpose.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Prng } from '../machine/prng.js';

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
