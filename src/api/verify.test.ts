// Verification of data through the library: one bit flipped in a large file
// (saved with a MAP record per page, the default, or in runs of 32 pages; big
// enough that a full mount checks it on every core, with pread) reads EIO
// for exactly the run of pages holding it — after a lazy mount (checked on
// first read, the runs of one read in one batch) and after a full one — every
// other byte reads as written, and both mounts report the same loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { Prng } from '../machine/prng.js';
import type { Loss } from '../pram/image.js';
import { oneLoss, pagesOf, randomBytes, withFlipped } from './testkit.js';

const PS = 4096, MIB = 1 << 20;
const BIG = 72 * MIB;                // above CRC_THREADED_BYTES_MIN: the full mount's batch is threaded

const content = randomBytes;
const pages = (pfs: Awaited<ReturnType<typeof mount>>): Promise<(Buffer | string)[]> => pagesOf(pfs, '/big', BIG, PS);

for (const extents of [false, true]) test(`a flipped bit reads EIO for exactly its run (${extents ? 'runs of 32 pages' : 'a MAP record per page'}), lazily and after a full (threaded) mount, and both report the same loss`, async () => {
  const seed = Number(process.env.SEED ?? 0xb17f11b);
  const r = new Prng(seed);
  const arena = `/dev/shm/verify-api-test-${process.pid}.pram`;
  try {
    const big = content(BIG, r), small = content(10_000, r);
    const w = await mount({ arena, extents, create: { sizeBytes: 128 * MIB }, cmdline: '', checkpointIntervalMs: 0, systemd: false });
    await w.writeFile('/big', big);
    await w.writeFile('/small', small);
    await w.unmount();

    // Flip one bit of a page of /big, found in the arena by its bytes.
    const at = (5000 + r.below(BIG / PS - 5000)) * PS;   // past the first batch of 4096 lone pages a lazy read checks
    const raw = fs.readFileSync(arena);
    const where = raw.indexOf(big.subarray(at, at + 256));
    assert.ok(where > 0 && where % PS === 0, 'the page is in the arena');
    const bit = r.below(PS * 8);
    const fd = fs.openSync(arena, 'r+');
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, where + (bit >> 3));
    one[0]! ^= 1 << (bit & 7);
    fs.writeSync(fd, one, 0, 1, where + (bit >> 3));
    fs.closeSync(fd);

    const seen: Record<string, { losses: Loss[]; bad: number[] }> = {};
    for (const verify of ['lazy', 'full'] as const) {
      const pfs = await mount({ arena, cmdline: '', verify, checkpointIntervalMs: 0, systemd: false, warn: () => {} });
      try {
        // One read of the whole file (many first-touch batches when lazy) stops short at the damaged run.
        await using h = await pfs.open('/big');
        const whole = Buffer.alloc(BIG);
        const got = (await h.read(whole, 0, BIG, 0)).bytesRead;
        assert.ok(got <= at && got > at - 32 * PS, `${verify}: the whole-file read stops before the flip (${got}, flip at ${at})`);
        assert.ok(whole.subarray(0, got).equals(big.subarray(0, got)), `${verify}: what it read is what was written`);
        const all = await pages(pfs);
        const bad = all.flatMap((p, i) => (typeof p === 'string' ? [i] : []));
        for (const [i, p] of all.entries()) if (typeof p !== 'string') assert.ok(p.equals(big.subarray(i * PS, (i + 1) * PS)), `${verify}: page ${i} reads as written`);
        for (const i of bad) assert.equal(all[i], 'EIO', `${verify}: page ${i}`);
        assert.ok(bad.includes(at / PS), `${verify}: the flipped page reads EIO`);
        assert.ok(bad.length <= 32 && bad.at(-1)! - bad[0]! === bad.length - 1, `${verify}: one run of at most 32 pages fails: ${bad}`);
        if (extents) assert.ok(bad.length > 1, `${verify}: a run of pages shares one checksum: ${bad}`);
        assert.equal(got, bad[0]! * PS, `${verify}: the whole-file read ends where the failed run starts`);
        assert.ok((await pfs.readFile('/small')).equals(small), `${verify}: the other file reads`);
        const losses = [oneLoss(pfs, '/big', { start: bad[0]! * PS, end: (bad.at(-1)! + 1) * PS }, `${verify}: `)];
        seen[verify] = { losses, bad };
      } finally {
        await pfs.unmount({ save: false });
      }
    }
    assert.deepEqual(seen.full!.bad, seen.lazy!.bad, 'full (threaded, pread) and lazy (first read) verdicts agree');
    assert.deepEqual(seen.full!.losses[0]!.range, seen.lazy!.losses[0]!.range);
  } catch (e) {
    console.log(`SEED=${seed}`);
    throw e;
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

test('lazy mount, 1 MiB reads (each copied and checked in one step): a page flipped mid-read ends that read short, reads EIO alone, the reads around it give what was written', async () => {
  const SIZE = 8 * MIB;
  // the flipped page inside a 1 MiB read, not its first page
  await withFlipped('verify-api-reads', Number(process.env.SEED ?? 0x1b1ead), { size: SIZE, arenaBytes: 32 * MIB, pick: (r) => 256 + 17 + r.below(5 * 256) }, async (pfs, data, page) => {
    await using h = await pfs.open('/f');
    const buf = Buffer.alloc(MIB);
    for (let off = 0; off < SIZE; off += MIB) {
      buf.fill(0xff);
      const start = Math.floor(page * PS / MIB) * MIB;
      if (off !== start) {
        assert.equal((await h.read(buf, 0, MIB, off)).bytesRead, MIB, `read at ${off}`);
        assert.ok(buf.equals(data.subarray(off, off + MIB)), `read at ${off}: as written`);
        continue;
      }
      const got = (await h.read(buf, 0, MIB, off)).bytesRead;
      assert.equal(got, page * PS - off, 'the read stops at the damaged page');
      assert.ok(buf.subarray(0, got).equals(data.subarray(off, off + got)), 'what it gave is what was written');
      assert.ok(buf.subarray(got).every((b) => b === 0), 'the damaged bytes are not handed out');
      await assert.rejects(h.read(buf, 0, MIB, page * PS), { code: 'EIO' }, 'the damaged page reads EIO');
      const after = (page + 1) * PS;
      assert.equal((await h.read(buf, 0, off + MIB - after, after)).bytesRead, off + MIB - after);
      assert.ok(buf.subarray(0, off + MIB - after).equals(data.subarray(after, off + MIB)), 'the pages after it read as written');
    }
    assert.match(oneLoss(pfs, '/f', { start: page * PS, end: (page + 1) * PS }).what, new RegExp(`data page ${page} `));
  });
});

test('lazy mount, reads at seeded offsets and lengths (lone pages checked in one native call, a partial first or last page among them): every byte as written; a flipped page fails the read that reaches it at exactly that page, reads EIO, reported once', async () => {
  const SIZE = 4 * MIB;
  const seed = Number(process.env.SEED ?? 0x10e7ead);
  await withFlipped('verify-api-lone', seed, { size: SIZE, arenaBytes: 16 * MIB, pick: (r) => 64 + r.below(SIZE / PS - 128) }, async (pfs, data, page) => {
    const r = new Prng(seed + 1);      // the reads' offsets and lengths
    await using h = await pfs.open('/f');
    const buf = Buffer.alloc(3 * PS + 7);
    for (let i = 0; i <= 600; i++) {
      // the first read is of whole pages around the damaged one (checked in the native call); every 20th starts up
      // to two pages before it; the last starts in the page before it and reaches into it
      const near = page * PS - (i === 0 ? PS : i === 600 ? 100 : r.below(2 * PS));
      const off = i % 20 === 0 ? near : r.below(SIZE - 8);
      const len = i === 0 ? 3 * PS : i === 600 ? 200 : 1 + r.below(Math.min(buf.length, SIZE - off));
      const end = Math.min(off + len, SIZE), bad = page * PS;
      if (off < bad + PS && end > bad && off >= bad) {
        await assert.rejects(h.read(buf, 0, len, off), { code: 'EIO' }, `a read from ${off} in the damaged page`);
        continue;
      }
      const want = off < bad && end > bad ? bad - off : end - off;      // short before the damaged page
      assert.equal((await h.read(buf, 0, len, off)).bytesRead, want, `the read of ${len} at ${off}`);
      assert.ok(buf.subarray(0, want).equals(data.subarray(off, off + want)), `the ${want} bytes at ${off} as written`);
    }
    assert.match(oneLoss(pfs, '/f', { start: page * PS, end: (page + 1) * PS }).what, new RegExp(`data page ${page} `));
  });
});
