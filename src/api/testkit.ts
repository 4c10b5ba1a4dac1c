// Helpers for the library's tests that damage an arena on purpose.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Prng } from '../machine/prng.js';
import type { PramFs } from './pramfs.js';
import { mount } from './index.js';

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

/**
 * A file /f of `size` seeded bytes written to a fresh arena `/dev/shm/NAME-PID.pram`, one bit flipped in its page
 * `pick(r)`, the arena mounted lazily: `body` gets the mount, the bytes and the page (unmounted after without a save;
 * the seed printed when it fails; the arena removed).
 */
export async function withFlipped(name: string, seed: number, o: { size: number; arenaBytes: number; extents?: boolean; pick: (r: Prng) => number },
  body: (pfs: PramFs, data: Buffer, page: number) => Promise<void>, pageSize = 4096): Promise<void> {
  const r = new Prng(seed);
  const arena = `/dev/shm/${name}-${process.pid}.pram`;
  const quiet = { cmdline: '', checkpointIntervalMs: 0, systemd: false, warn: () => {} };
  try {
    const data = randomBytes(o.size, r);
    const w = await mount({ arena, extents: o.extents, create: { sizeBytes: o.arenaBytes }, ...quiet });
    await w.writeFile('/f', data);
    await w.unmount();
    const page = o.pick(r);
    flipBitInPage(arena, data.subarray(page * pageSize, page * pageSize + 256), r, pageSize);
    const pfs = await mount({ arena, verify: 'lazy', ...quiet });
    try {
      await body(pfs, data, page);
    } finally {
      await pfs.unmount({ save: false });
    }
  } catch (e) {
    console.log(`SEED=${seed}`);
    throw e;
  } finally {
    fs.rmSync(arena, { force: true });
  }
}
