// Big writes and the sync after them (issue 13): a sync checksums every page
// written since the last one in one batch (above CRC_THREADED_BYTES_MIN: on
// every core, read through the arena's fd) before it encodes records. What it
// logged must read back and verify after a full mount, an overwrite's sync
// too, and a flipped bit in a page of that batch must still read EIO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { Prng } from '../machine/prng.js';
import { CRC_THREADED_BYTES_MIN } from '../format/crc.js';
import { flipBitInPage } from './testkit.js';

const PS = 4096, MIB = 1 << 20;
const BIG = CRC_THREADED_BYTES_MIN + 8 * MIB;

function content(n: number, r: Prng): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(r.below(0x100000000), i);
  return b;
}

for (const extents of [false, true]) test(`1 MiB writes synced in one batch, then an overwrite synced, read back after a full mount (${extents ? 'runs of 32 pages' : 'a checksum per page'}); a bit flipped in the overwrite reads EIO`, async () => {
  const seed = Number(process.env.SEED ?? 0xb16a1e);
  const r = new Prng(seed);
  const arena = `/dev/shm/libwrite-bigwrite-test-${process.pid}.pram`;
  try {
    const data = content(BIG, r);
    const w = await mount({ arena, extents, create: { sizeBytes: BIG + 64 * MIB }, cmdline: '', checkpointIntervalMs: 0, systemd: false });
    const h = await w.open('/big', 'w+');
    for (let off = 0; off < BIG; off += MIB) await h.write(data, off, MIB, off);
    await w.sync();
    // Overwrite 3 MiB and a bit from an unaligned offset (partial first and last pages), and one lone page.
    const at = 5 * MIB + 1234, len = 3 * MIB + 777, lone = 40 * MIB;
    const patch = content(len + 3, r).subarray(0, len), page = content(PS, r);
    await h.write(patch, 0, len, at);
    await h.write(page, 0, PS, lone);
    patch.copy(data, at);
    page.copy(data, lone);
    await w.sync();
    await h.close();
    await w.unmount({ save: false });   // what the syncs logged, nothing more

    const full = await mount({ arena, cmdline: '', verify: 'full', checkpointIntervalMs: 0, systemd: false });
    try {
      assert.deepEqual(full.losses, [], 'every checksum the syncs logged verifies');
      assert.ok((await full.readFile('/big')).equals(data), 'the file reads as written');
    } finally {
      await full.unmount({ save: false });
    }

    // Flip one bit of the lone page (checksummed in the second sync's batch).
    flipBitInPage(arena, page.subarray(0, 256), r);
    const hurt = await mount({ arena, cmdline: '', verify: 'full', checkpointIntervalMs: 0, systemd: false, warn: () => {} });
    try {
      await using f = await hurt.open('/big');
      await assert.rejects(f.read(Buffer.alloc(PS), 0, PS, lone), { code: 'EIO' }, 'the flipped page reads EIO');
      const b = Buffer.alloc(PS);
      assert.equal((await f.read(b, 0, PS, lone + (extents ? 32 * PS : PS))).bytesRead, PS);
      assert.ok(b.equals(data.subarray(lone + (extents ? 32 * PS : PS), lone + (extents ? 33 : 2) * PS)), 'a page past its run reads as written');
      assert.equal(hurt.losses.filter((l) => l.path === '/big').length, 1, 'one loss names /big');
    } finally {
      await hurt.unmount({ save: false });
    }
  } catch (e) {
    console.log(`SEED=${seed}`);
    throw e;
  } finally {
    fs.rmSync(arena, { force: true });
  }
});
